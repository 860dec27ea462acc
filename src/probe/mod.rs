//! `ftpload probe`: a one-shot diagnosis of a server's data connections, for
//! the classic FTP firewall failures (a server firewall that drops its passive
//! ports, a client firewall that drops active connect-backs, a NAT'd server
//! announcing its private address). It logs in, lists the server's features,
//! samples its passive ports, then tries each mode on a session of its own
//! with short timeouts, and says in words what failed, why, and what to change.
//!
//! It speaks FTP only through [`crate::proto`], as a load run does, so what
//! the probe sees is what `run` will meet.

mod check;
mod classify;
pub mod findings;
mod print;
mod verdict;

use std::net::SocketAddr;
use std::time::Duration;

pub use findings::{Cause, Report, Status, PROBE_VERSION};
pub use print::text;

use crate::proto::{DataOptions, ErrorClass, Mode, ResolveError};

/// What to probe and how.
#[derive(Clone)]
pub struct Options {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// The modes to check, each once, in the order passive, epsv, active, eprt.
    pub modes: Vec<Mode>,
    /// A file to RETR in every mode, after LIST.
    pub path: Option<String>,
    /// The timeout of every network step.
    pub timeout: Duration,
    /// How many PASV (or EPSV) replies to collect ports from.
    pub pasv_samples: u32,
    /// Whether to follow a 227's address, and the active listeners' ports.
    pub data: DataOptions,
    /// FTPS, as the URL's scheme says.
    pub tls: Option<crate::proto::tls::TlsClient>,
}

// Manual so the password never lands in a log or a panic message.
impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("modes", &self.modes)
            .field("path", &self.path)
            .field("timeout", &self.timeout)
            .field("pasv_samples", &self.pasv_samples)
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("cannot start the probe's runtime: {0}")]
    Runtime(std::io::Error),
}

/// Runs every check, in sequence, and judges the findings. A server that
/// cannot be reached or logged into is a finding (status `unreachable`), not
/// an error: only a host that does not resolve is.
pub fn run(o: &Options) -> Result<Report, ProbeError> {
    let addr = crate::proto::resolve(&o.host, o.port)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ProbeError::Runtime)?;
    let mut modes = o.modes.clone();
    modes.sort();
    modes.dedup();
    let o = &Options { modes, ..o.clone() };
    let mut report = rt.block_on(probe(o, addr));
    report.verdict = verdict::judge(&report);
    Ok(report)
}

/// The target as a URL without its password, for the report.
fn url(o: &Options) -> String {
    use crate::proto::tls::TlsMode;
    let scheme = match o.tls.as_ref().map(|t| t.mode) {
        None => "ftp",
        Some(TlsMode::Explicit) => "ftpes",
        Some(TlsMode::Implicit) => "ftps",
    };
    if o.host.contains(':') {
        format!("{scheme}://{}@[{}]:{}", o.user, o.host, o.port)
    } else {
        format!("{scheme}://{}@{}:{}", o.user, o.host, o.port)
    }
}

async fn probe(o: &Options, addr: SocketAddr) -> Report {
    let first = check::first_session(o, addr).await;
    let mut modes = std::collections::BTreeMap::new();
    if first.control.logged_in {
        for &m in &o.modes {
            modes.insert(m, check::check_mode(o, addr, m).await);
        }
        if o.tls.is_some() {
            check::against_plain(o, addr, &mut modes).await;
        }
    }
    let refused = first.control.failure.as_ref().is_some_and(|f| {
        // A session limit that answers PASS refuses the login too.
        f.cause == Cause::LoginRefused
            || (f.cause == Cause::SessionLimit
                && matches!(
                    f.class,
                    ErrorClass::Reply {
                        command: Some(_),
                        ..
                    }
                ))
    });
    let status = if !first.control.logged_in && refused {
        Status::LoginRefused
    } else if !first.control.logged_in {
        Status::Unreachable
    } else if modes.values().all(|m| m.works) {
        Status::Ok
    } else {
        Status::ModesFailed
    };
    Report {
        probe_version: PROBE_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        target: findings::Target {
            url: url(o),
            host: o.host.clone(),
            port: o.port,
            user: o.user.clone(),
            addr,
            family: crate::result::family(addr),
        },
        timeout_ms: u64::try_from(o.timeout.as_millis()).unwrap_or(u64::MAX),
        follow_pasv_address: o.data.follow_pasv_address,
        path: o.path.clone(),
        status,
        control: first.control,
        banner: first.banner,
        feat: first.feat,
        passive_ports: first.passive_ports,
        modes,
        verdict: Vec::new(),
    }
}
