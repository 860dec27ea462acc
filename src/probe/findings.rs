//! What a probe found, as plain data: the JSON printed by `--json` is exactly
//! these types serialized (documented in docs/probe.md), and both the text
//! output and the verdict are computed from them, never from the sockets.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Serialize;

pub use crate::diagnosis::Cause;
use crate::metrics::ErrorClass;
use crate::proto::{Exchange, Mode, Verb};

/// Bumped on any change a reader could notice: a field added, removed,
/// renamed or retyped, a new cause or status, a changed meaning (docs/probe.md).
pub const PROBE_VERSION: u32 = 5;

/// The whole diagnosis of one server.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub probe_version: u32,
    /// ftpload's version.
    pub tool_version: String,
    pub target: Target,
    /// The timeout of every network step, in milliseconds.
    pub timeout_ms: u64,
    pub follow_pasv_address: bool,
    /// The file read with RETR in every mode (`--path`), if any.
    pub path: Option<String>,
    pub status: Status,
    /// The first session: connect, banner, login.
    pub control: ControlFindings,
    /// The banner's full text, lines joined by `\n` (without the code).
    pub banner: Option<String>,
    pub feat: Option<Feat>,
    pub passive_ports: Option<PortSamples>,
    /// One entry per mode asked for, in the order passive, epsv, active, eprt.
    pub modes: BTreeMap<Mode, ModeFindings>,
    /// The diagnosis in words: one entry per group of modes that share a cause.
    pub verdict: Vec<Verdict>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// The URL as given, without a password.
    pub url: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The address `host` resolved to, the one every session connects to.
    pub addr: SocketAddr,
    /// "ipv4" or "ipv6": over IPv6 only EPSV and EPRT can work (RFC 2428).
    pub family: &'static str,
}

/// The probe's outcome, which the exit code reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every mode asked for works.
    Ok,
    /// Logged in, but at least one mode asked for failed.
    ModesFailed,
    /// Could not connect, or got no banner: the server was not reached.
    Unreachable,
    /// Reached, but the server refused the login (a 530 to USER or PASS):
    /// the server is there, the credentials are wrong.
    LoginRefused,
}

impl Status {
    /// No session could log in, so no mode was checked.
    pub fn stopped_at_login(self) -> bool {
        matches!(self, Status::Unreachable | Status::LoginRefused)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ControlFindings {
    /// Where the control connection went: the address a 227 is compared with.
    pub peer: SocketAddr,
    /// Our end of it, where active-mode listeners are bound.
    pub local: Option<SocketAddr>,
    pub connected: bool,
    pub logged_in: bool,
    pub connect_ms: Option<f64>,
    /// From connected to the 220.
    pub banner_ms: Option<f64>,
    /// From the 220 to the 230.
    pub login_ms: Option<f64>,
    /// FTPS: what the control connection's handshake negotiated, and how long it took.
    pub tls: Option<TlsFindings>,
    pub failure: Option<Failure>,
    /// Commands and replies of this session (passwords shown as `PASS ****`).
    pub transcript: Vec<Exchange>,
}

impl ControlFindings {
    /// Nothing done yet: filled in as the session goes.
    pub fn new(peer: SocketAddr) -> ControlFindings {
        ControlFindings {
            peer,
            local: None,
            connected: false,
            logged_in: false,
            connect_ms: None,
            banner_ms: None,
            login_ms: None,
            tls: None,
            failure: None,
            transcript: Vec::new(),
        }
    }
}

/// One TLS handshake, as the probe saw it.
#[derive(Debug, Clone, Serialize)]
pub struct TlsFindings {
    /// Version and cipher suite, "TLSv1.3 TLS13_AES_256_GCM_SHA384".
    pub negotiated: String,
    pub handshake_ms: f64,
    /// A data channel's: it resumed the control connection's session.
    pub resumed: bool,
}

/// The reply to FEAT (RFC 2389).
#[derive(Debug, Clone, Serialize)]
pub struct Feat {
    pub code: u16,
    /// One entry per feature line, trimmed (`"EPSV"`, `"REST STREAM"`, ...);
    /// empty when the server answered FEAT with anything but a 211 list.
    pub features: Vec<String>,
}

impl Feat {
    /// The feature lines of a 211 reply: every line but the first and the
    /// last ("Features:" and "End" on every server seen).
    pub fn from_reply(code: u16, text: &str) -> Feat {
        let lines: Vec<&str> = text.lines().collect();
        let features = if code == 211 && lines.len() > 2 {
            lines[1..lines.len() - 1]
                .iter()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect()
        } else {
            Vec::new()
        };
        Feat { code, features }
    }
}

/// Passive ports announced over several PASV (or EPSV) commands, without
/// connecting: what a firewall in front of the server must let through.
#[derive(Debug, Clone, Serialize)]
pub struct PortSamples {
    /// PASV, or EPSV when only epsv was asked for or PASV failed.
    pub command: Verb,
    pub asked: u32,
    /// Every port announced, in order.
    pub ports: Vec<u16>,
    pub distinct: usize,
    pub min: Option<u16>,
    pub max: Option<u16>,
    /// The distinct hosts the replies named (a 229 names none: the control peer's).
    pub announced_hosts: Vec<IpAddr>,
    /// Why sampling stopped early, if it did.
    pub failure: Option<Failure>,
}

impl PortSamples {
    pub fn new(command: Verb, asked: u32) -> PortSamples {
        PortSamples {
            command,
            asked,
            ports: Vec::new(),
            distinct: 0,
            min: None,
            max: None,
            announced_hosts: Vec::new(),
            failure: None,
        }
    }

    pub fn push(&mut self, announced: SocketAddr) {
        self.ports.push(announced.port());
        let mut seen = self.ports.clone();
        seen.sort_unstable();
        seen.dedup();
        self.distinct = seen.len();
        self.min = seen.first().copied();
        self.max = seen.last().copied();
        if !self.announced_hosts.contains(&announced.ip()) {
            self.announced_hosts.push(announced.ip());
        }
    }
}

/// One mode, checked on a session of its own.
#[derive(Debug, Clone, Serialize)]
pub struct ModeFindings {
    pub works: bool,
    /// Why it failed, or for a working mode a caveat (`nat_replaced`).
    pub cause: Option<Cause>,
    /// PASV, EPSV, PORT or EPRT.
    pub command: Verb,
    /// The control connection's peer in this session.
    pub control_peer: Option<SocketAddr>,
    /// Passive: the address the 227/229 announced (a 229 carries only the port).
    pub announced: Option<SocketAddr>,
    /// Passive: where we connected, or tried to.
    pub data_target: Option<SocketAddr>,
    /// Passive: the 227 named another host than the control peer.
    pub address_mismatch: bool,
    /// ...and ftpload connected to the control peer instead (the default).
    pub address_replaced: bool,
    /// Active: our listener, named in PORT/EPRT.
    pub listener: Option<SocketAddr>,
    /// Active: the source port of the server's connect-back (20 by RFC 959).
    pub server_source_port: Option<u16>,
    pub list: Option<Transfer>,
    /// RETR of `--path`, when given and LIST worked.
    pub retr: Option<Transfer>,
    pub failure: Option<Failure>,
    /// FTPS, when the mode failed with its data connection filtered: the
    /// same mode in plain FTP on a session of its own worked (`true`) or
    /// not. `None`: not tried.
    pub plain_works: Option<bool>,
    pub transcript: Vec<Exchange>,
}

impl ModeFindings {
    pub fn new(mode: Mode) -> ModeFindings {
        ModeFindings {
            works: false,
            cause: None,
            command: mode.verb(),
            control_peer: None,
            announced: None,
            data_target: None,
            address_mismatch: false,
            address_replaced: false,
            listener: None,
            server_source_port: None,
            list: None,
            retr: None,
            failure: None,
            plain_works: None,
            transcript: Vec::new(),
        }
    }
}

/// One transfer that worked.
#[derive(Debug, Clone, Serialize)]
pub struct Transfer {
    pub bytes: u64,
    /// From PASV/EPSV/PORT/EPRT sent to the data connection made.
    pub data_setup_ms: f64,
    /// From PASV/EPSV/PORT/EPRT sent to the final 2xx.
    pub total_ms: f64,
    /// FTPS with `PROT P`: the data channel's handshake.
    pub tls: Option<TlsFindings>,
}

/// Why a step failed, with the evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub cause: Cause,
    /// The error class as `run` counts it: `"class"` (`refused`, `timeout`,
    /// `reset`, `reply`, ...) with its `"step"`, or `"code"` and `"command"`.
    #[serde(flatten)]
    pub class: ErrorClass,
    pub connection: Connection,
    /// How long the failing step ran: from our connect (data_connect), from
    /// the transfer command sent (data_accept), otherwise from the start of
    /// the exchange that failed.
    pub after_ms: f64,
    /// The reply that ended it, if a reply did.
    pub reply: Option<ReplyText>,
    /// The error in ftpload's words.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplyText {
    pub code: u16,
    pub text: String,
}

/// Which connection a failure happened on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    Control,
    /// Our connect to the announced passive port.
    PassiveData,
    /// The server's connect-back to our active listener.
    ActiveData,
}

/// One line of the diagnosis.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The modes it is about (empty when the control connection failed).
    pub modes: Vec<Mode>,
    pub works: bool,
    pub cause: Option<Cause>,
    pub text: String,
}

/// Milliseconds to 0.1 ms: finer says nothing about a network step.
pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e4).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feat_lists_the_lines_between_header_and_end() {
        let f = Feat::from_reply(211, "Features:\n EPSV\n MDTM\n REST STREAM\nEnd");
        assert_eq!(f.features, ["EPSV", "MDTM", "REST STREAM"]);
        assert!(Feat::from_reply(211, "no features").features.is_empty());
        assert!(Feat::from_reply(500, "Unknown command").features.is_empty());
    }

    #[test]
    fn cause_names_match_their_json() {
        for c in [
            Cause::DataConnectTimeout,
            Cause::NatReplaced,
            Cause::OsError,
        ] {
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                serde_json::Value::from(c.as_str())
            );
        }
    }

    #[test]
    fn port_samples_keep_distinct_min_max() {
        let mut s = PortSamples::new(Verb::Pasv, 3);
        for p in [27911, 20013, 27911] {
            s.push(SocketAddr::from(([127, 0, 0, 1], p)));
        }
        assert_eq!((s.distinct, s.min, s.max), (2, Some(20013), Some(27911)));
        assert_eq!(s.announced_hosts.len(), 1);
    }
}
