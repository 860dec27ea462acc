//! `ftpload serve`: the embedded target alone, for other tools to load.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::exit;
use super::signal::Signals;
use crate::embedded::{EmbeddedConfig, EmbeddedServer};
use crate::proto::PortRange;
use crate::scenario::units::parse_size;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Control port on the --bind address (0: any free port, printed at start).
    #[arg(long, default_value_t = 2121)]
    pub port: u16,
    /// Address to listen on; loopback by default.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Passive data port range.
    #[arg(long, value_name = "FIRST-LAST", default_value = "20000-27999")]
    pub passive_ports: PortRange,
    /// The one user the server accepts.
    #[arg(long, default_value = crate::scenario::EMBEDDED_USER)]
    pub user: String,
    /// That user's password (a test server's: it is printed at start).
    #[arg(long, default_value = crate::scenario::EMBEDDED_PASSWORD)]
    pub password: String,
    /// Directory to serve (default: a fresh temporary directory, removed at exit).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// File to generate, NAME=SIZE, e.g. 1m.bin=1MiB; repeatable.
    #[arg(long = "file", value_name = "NAME=SIZE", value_parser = parse_file_spec)]
    pub files: Vec<(String, u64)>,
    /// Sessions beyond this many get "421 Too many connections".
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Share --port with other `ftpload serve --reuse-port` processes
    /// (SO_REUSEPORT; the kernel spreads connections over them): one process
    /// holds at most its open-file limit's sessions, so 50,000 need several.
    /// Give each its own --passive-ports.
    #[arg(long)]
    pub reuse_port: bool,
    /// Serve explicit FTPS (AUTH TLS) beside plain FTP, with a certificate
    /// made at start for 127.0.0.1, ::1 and localhost (written to a file
    /// whose path is printed, for clients' --ca-file), unless --tls-cert
    /// and --tls-key give one.
    #[arg(long)]
    pub tls: bool,
    /// FTPS: the certificate (PEM, chain first) to serve; with --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key", requires = "tls")]
    pub tls_cert: Option<PathBuf>,
    /// FTPS: the private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

fn parse_file_spec(s: &str) -> Result<(String, u64), String> {
    let (n, sz) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=SIZE, got {s:?}"))?;
    Ok((n.to_string(), parse_size(sz)?))
}

pub(super) fn execute(a: ServeArgs, signals: &Signals) -> anyhow::Result<ExitCode> {
    crate::sys::raise_nofile_limit();
    let cfg = EmbeddedConfig {
        bind: SocketAddr::new(a.bind, a.port),
        passive_ports: a.passive_ports.first..=a.passive_ports.last,
        user: a.user,
        password: a.password,
        root: a.root,
        files: a.files,
        max_connections: a.max_connections,
        reuse_port: a.reuse_port,
        tls: a.tls,
        tls_files: a.tls_cert.zip(a.tls_key),
        ..EmbeddedConfig::default()
    };
    let server = EmbeddedServer::start(cfg).context("cannot start the embedded target")?;
    // A made certificate goes to a file a client can trust, removed at exit.
    let cert_file = match server.made_certificate() {
        Some((pem, _key)) => {
            let path = std::env::temp_dir().join(format!(
                "ftpload-serve-{}-{}.pem",
                std::process::id(),
                server.addr().port()
            ));
            std::fs::write(&path, pem)
                .with_context(|| format!("cannot write the certificate to {}", path.display()))?;
            Some(path)
        }
        None => None,
    };
    let c = server.config();
    println!(
        "serving ftp://{}@{} (password {:?}), passive ports {}-{}, root {}; Ctrl-C to stop",
        c.user,
        server.addr(),
        c.password,
        c.passive_ports.start(),
        c.passive_ports.end(),
        server.root().display()
    );
    if server.certificate().is_some() {
        match &cert_file {
            Some(p) => println!(
                "FTPS: explicit (AUTH TLS) with a certificate made at start: {} (give it to clients: ftpload --ca-file, curl --cacert)",
                p.display()
            ),
            None => println!("FTPS: explicit (AUTH TLS) with the given certificate"),
        }
    }
    // Until SIGINT or SIGTERM: either way the server stops and its generated
    // root is removed.
    tokio::runtime::Builder::new_current_thread()
        .build()?
        .block_on(signals.cancel().cancelled());
    server.stop();
    if let Some(p) = cert_file {
        let _ = std::fs::remove_file(p);
    }
    Ok(ExitCode::from(exit::OK))
}
