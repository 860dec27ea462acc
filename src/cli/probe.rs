//! `ftpload probe`: a target given as a URL alone, with no scenario, and an
//! exit code of its own for modes that fail after a login that worked.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::{exit, read_password, UsageError};
use crate::proto::{Mode, PortRange};
use crate::scenario::units::parse_duration;

const PROBE_HELP: &str = "\
Logs in once (banner, FEAT, --pasv-samples PASV replies without connecting: the passive
ports a server firewall must let through), then checks each mode on a session of its own:
LIST, and RETR of --path when given. Every network step times out after --timeout. A
failure is reported with the replies seen, which connection failed (our connect to the
announced passive port, the server's connect-back to our listener, or the control
connection), whether it was refused, timed out or reset, and after how long. The verdict
names the likely cause and the fix: a server firewall dropping its passive ports, a client
firewall dropping connect-backs, a NAT'd server announcing its private address, a mode the
server does not implement.

Examples:
  FTPLOAD_PASSWORD=secret ftpload probe ftp://bob@192.0.2.10:21 --path pub/1k.bin
      Check all four modes, with a download in each.
  ftpload probe ftp://ftpload:ftpload@127.0.0.1:2121 --mode passive,epsv --json
      Only the passive modes, as one JSON object (fields in docs/probe.md).

Exit codes: 0 every mode asked for works, 2 bad input, 3 could not connect or log in,
4 at least one mode asked for failed (the verdict says which and why).";

/// `ftpload probe`: one-shot diagnosis with short timeouts.
#[derive(Debug, Args)]
#[command(after_help = PROBE_HELP)]
pub struct ProbeArgs {
    /// The server, e.g. ftp://bob@127.0.0.1:2121; the password comes from the
    /// URL, --password-file or FTPLOAD_PASSWORD, as for `run`.
    #[arg(value_name = "URL")]
    pub url: String,
    /// File whose first line is the password.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// A file to download (RETR) in every mode, after the listing.
    #[arg(long, value_name = "FILE")]
    pub path: Option<String>,
    /// Modes to check (default all four): passive (PASV), epsv (EPSV),
    /// active (PORT), eprt (EPRT), comma-separated.
    #[arg(long, value_name = "MODE[,MODE...]", value_delimiter = ',')]
    pub mode: Vec<Mode>,
    /// Timeout of every network step (connect, each reply, data connect,
    /// waiting for a connect-back), e.g. 3s, 500ms.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "3s")]
    pub timeout: Duration,
    /// PASV (or EPSV) commands whose announced ports estimate the passive
    /// range, at most 100 (0: none).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub pasv_samples: u32,
    /// Connect to the address a 227 names even when it is not the server's
    /// (by default ftpload connects to the control connection's peer).
    #[arg(long)]
    pub follow_pasv_address: bool,
    /// Active-mode listener ports, e.g. 40000-40999 (default: any free port).
    #[arg(long, value_name = "FIRST-LAST")]
    pub active_ports: Option<PortRange>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// FTPS (an ftpes:// or ftps:// URL): check the server's certificate
    /// against the certificates in this PEM file only.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<std::path::PathBuf>,
    /// FTPS: do not check the server's certificate (test servers).
    #[arg(long)]
    pub insecure: bool,
}

pub(super) fn execute(a: ProbeArgs) -> anyhow::Result<ExitCode> {
    use crate::probe::{self, Status};
    use crate::scenario::TargetPlan;
    if a.timeout.is_zero() || a.timeout > Duration::from_secs(300) {
        return Err(UsageError("--timeout must be above 0 and at most 5m".into()).into());
    }
    let password = read_password(a.password_file.as_deref())?;
    let TargetPlan::External {
        host,
        port,
        user,
        password,
        tls,
    } = crate::scenario::external_target(&a.url, password)
        .map_err(|e| UsageError(e.to_string()))?
    else {
        unreachable!("external_target makes an external target")
    };
    let tls = match tls {
        None if a.ca_file.is_some() || a.insecure => {
            return Err(UsageError(
                "--ca-file and --insecure are for FTPS: give the URL as ftpes:// (explicit) or ftps:// (implicit)".into(),
            )
            .into())
        }
        None => None,
        Some(mode) => {
            let verify = crate::scenario::tls::verify(a.ca_file, a.insecure).map_err(UsageError)?;
            let settings = crate::proto::tls::TlsSettings {
                mode,
                protect_data: true,
                resume: true,
                verify,
                server_name: host.clone(),
                version: None,
            };
            Some(
                crate::proto::tls::TlsClient::new(&settings)
                    .map_err(|e| UsageError(e.to_string()))?,
            )
        }
    };
    let report = probe::run(&probe::Options {
        host,
        port,
        user,
        password,
        modes: if a.mode.is_empty() {
            Mode::ALL.to_vec()
        } else {
            a.mode
        },
        path: a.path,
        timeout: a.timeout,
        pasv_samples: a.pasv_samples,
        data: crate::proto::DataOptions {
            follow_pasv_address: a.follow_pasv_address,
            active_ports: a.active_ports,
        },
        tls,
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", probe::text(&report));
    }
    Ok(ExitCode::from(match report.status {
        Status::Ok => exit::OK,
        Status::ModesFailed => exit::MODES_FAILED,
        Status::Unreachable | Status::LoginRefused => exit::RUN,
    }))
}
