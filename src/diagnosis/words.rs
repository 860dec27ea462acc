//! Every failure's words, written once: the name of an [`ErrorClass`] (its
//! `Display`, as "errors by class" lists it), the phrase of a [`Cause`] in
//! the run summary's data-channel lines. Exhaustion's signatures
//! (`metrics::exhaustion`) match on the same causes. The probe's verdict sentences build on the same causes
//! and add what only the probe knows.

use std::fmt;
use std::time::Duration;

use super::Cause;
use crate::proto::{ErrorClass, Mode, Step};

impl ErrorClass {
    /// The class's name: a stable, human-readable key ("timeout at
    /// data_connect"), as "errors by class" and the probe list it.
    pub fn label(&self) -> String {
        match self {
            ErrorClass::Reply { code, command } => match command {
                Some(c) => format!("reply {code} to {c}"),
                // Only a reply in place of the banner has no command.
                None => format!("reply {code} at banner"),
            },
            ErrorClass::NoBanner => "connected, no banner".into(),
            ErrorClass::Refused { step } => format!("refused at {}", step.as_str()),
            ErrorClass::Timeout { step } => format!("timeout at {}", step.as_str()),
            ErrorClass::AddrNotAvailable { step } => {
                format!("EADDRNOTAVAIL at {}", step.as_str())
            }
            ErrorClass::AddrInUse { step } => format!("EADDRINUSE at {}", step.as_str()),
            ErrorClass::FileLimit { step } => format!("EMFILE/ENFILE at {}", step.as_str()),
            ErrorClass::Reset { step } => format!("reset at {}", step.as_str()),
            ErrorClass::Closed { step } => format!("closed by server at {}", step.as_str()),
            ErrorClass::Protocol { step } => format!("bad reply at {}", step.as_str()),
            ErrorClass::Tls { step } => format!("TLS failed at {}", step.as_str()),
            ErrorClass::TlsCertificate { step } => {
                format!("certificate not trusted at {}", step.as_str())
            }
            ErrorClass::TlsReuseRequired { command } => match command {
                Some(c) => format!("TLS session reuse required (522 to {c})"),
                None => "TLS session reuse required (522)".into(),
            },
            ErrorClass::Os { step, errno } => format!("os error {errno} at {}", step.as_str()),
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// The timeouts a phrase may name, as the run's plan wrote them ("2s").
pub struct Waits<'a> {
    pub data_connect: &'a str,
    pub accept: &'a str,
    pub reply: &'a str,
}

impl Cause {
    /// What a count of failures with this cause did, as the run summary's
    /// data-channel line reads after the count ("6 connects to the announced
    /// port timed out after 2s ..."); `class` is one of them, for its code
    /// and command.
    pub fn phrase(self, mode: Mode, class: &ErrorClass, w: &Waits) -> String {
        let reply = match *class {
            ErrorClass::Reply {
                code,
                command: Some(v),
            } => format!("replies {code} to {v}"),
            ErrorClass::Reply { code, .. } => format!("replies {code}"),
            _ => String::new(),
        };
        let cmds = mode.verb();
        match self {
            Cause::DataConnectTimeout => format!(
                "connects to the announced port timed out after {} (filtered: a firewall drops them)",
                w.data_connect
            ),
            Cause::DataConnectRefused => {
                "connects to the announced port were refused (nothing listens there)".into()
            }
            Cause::DataConnectUnreachable => {
                "connects found no route to the announced address".into()
            }
            Cause::AcceptTimeout => format!(
                "connect-backs from the server never arrived within {} (a firewall in front of this client drops them?)",
                w.accept
            ),
            Cause::PortReplyTimeout => format!(
                "{cmds} got no reply within {} (servers that connect back before answering hang here when the connect-back is dropped)",
                w.reply
            ),
            Cause::ReplyTimeout => format!("{cmds} got no reply within {}", w.reply),
            Cause::ConnectBackFailed => {
                format!("{reply} (the server could not connect back to our listener)")
            }
            Cause::DataRejected => {
                format!("{reply} (the server refused or dropped our data connection)")
            }
            Cause::NotImplemented => format!("{reply} (not implemented by the server)"),
            Cause::ServerReply if matches!(class, ErrorClass::Reply { command: Some(v), .. } if *v == cmds) => {
                format!("{reply} (the server refused the data channel)")
            }
            Cause::ServerReply => {
                format!("{reply} (the server could not open or keep the data connection)")
            }
            Cause::ClientResources if matches!(class, ErrorClass::AddrInUse { step: Step::DataSetup }) => {
                "active listeners found no free port in the client's range".into()
            }
            Cause::TlsReuseRequired => format!(
                "data channels refused for not resuming the control connection's TLS session ({reply}; vsftpd's require_ssl_reuse, proftpd without TLSOptions NoSessionReuseRequired: keep tls_resume on; a TLS 1.3 ticket is used once, and proftpd sends none after an upload, so a session's third upload cannot resume there)"
            ),
            Cause::TlsUntrusted => {
                "TLS handshakes refused the server's certificate (give --ca-file, or --insecure for a test server)".into()
            }
            _ => format!("failures: {class}"),
        }
    }
}

/// Under a no-banner "exhaustion" when this host's kernel, which holds the
/// target's listen queue, counted no overflow and no SYN cookie: the queue
/// was not full, so the server accepted and stayed silent.
pub const NO_BANNER_WITHOUT_OVERFLOW: &str = "but this host's kernel counted no listen overflow and no SYN cookie over the run: the server accepted these connections and never answered (hung after accept, or not an FTP server)";

/// The summary's note on iterations a run stopped at its end, still running
/// past the grace period. No timeout classified them (theirs outlasts the
/// grace), so this note is the only trace of a data channel that stalled, or
/// a server that went silent, near the end of a run.
pub fn cut_off(n: u64, grace: Duration) -> String {
    format!(
        "CUT OFF: {n} iteration{s} still running {grace}s after the deadline {were} stopped unfinished: a stalled transfer or a server that stopped answering, not classified because its timeout (transfer_idle, reply) outlasts the grace; counted in neither iterations nor errors, and the run exits 1",
        s = if n == 1 { "" } else { "s" },
        grace = grace.as_secs(),
        were = if n == 1 { "was" } else { "were" },
    )
}

/// Whether a refused login names a cap on sessions rather than the
/// credentials: proftpd's `MaxClients` and `MaxClientsPerHost` answer PASS
/// with 530, the code of a wrong password, and only the words differ.
pub fn names_a_session_limit(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    ["maximum number", "too many"].iter().any(|w| t.contains(w))
}

/// Which session limit a refusal names, from the server's own words (each
/// server's, as docs/servers.md quotes them); `cap` is the embedded
/// target's `max_connections` when the run set one.
pub fn session_limit(text: &str, cap: Option<u64>) -> String {
    let t = text.to_ascii_lowercase();
    let known: [(&str, &str); 7] = [
        ("too many connected users", "vsftpd's max_clients"),
        (
            "too many connections from your internet address",
            "vsftpd's max_per_ip",
        ),
        ("users (the maximum)", "pure-ftpd's -c (maximum clients)"),
        ("from this ip", "pure-ftpd's -C (maximum clients per IP)"),
        ("maximum number of allowed clients", "proftpd's MaxClients"),
        (
            "from your host are already connected",
            "proftpd's MaxClientsPerHost",
        ),
        (
            "too many connections from the same ip",
            "pyftpdlib's max_cons_per_ip",
        ),
    ];
    if let Some((_, name)) = known.iter().find(|(w, _)| t.contains(w)) {
        return (*name).to_string();
    }
    // The embedded target's words exactly (src/embedded/accept.rs); pyftpdlib
    // says more after the same three words.
    if t.trim_end().ends_with("421 too many connections") {
        return match cap {
            Some(n) => format!("the embedded target's max_connections ({n})"),
            None => "the embedded target's max_connections".into(),
        };
    }
    if t.contains("too many connections") {
        return "pyftpdlib's max_cons".into();
    }
    "the server's session limit".into()
}

impl Step {
    /// Where a session was refused, as a sentence says it.
    pub fn refused_at(self) -> &'static str {
        match self {
            Step::Banner => "at the banner",
            Step::Login => "at login",
            _ => "while connecting",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_off_note_says_how_many_and_why() {
        let one = cut_off(1, Duration::from_secs(10));
        assert!(
            one.starts_with(
                "CUT OFF: 1 iteration still running 10s after the deadline was stopped"
            ),
            "{one}"
        );
        let two = cut_off(2, Duration::from_secs(10));
        assert!(
            two.contains("2 iterations still running 10s after the deadline were stopped"),
            "{two}"
        );
        assert!(two.contains("transfer_idle"), "{two}");
    }

    use crate::proto::Verb;

    /// Each server's refusal, in its own words (docs/servers.md), is the
    /// session limit and names its limit; a wrong password stays a refused
    /// login.
    #[test]
    fn each_session_limit_is_named_from_the_servers_words() {
        let banner = |code| ErrorClass::Reply {
            code,
            command: None,
        };
        let pass = |code| ErrorClass::Reply {
            code,
            command: Some(Verb::Pass),
        };
        let cases = [
            (banner(421), "421 There are too many connected users, please try later.", "vsftpd's max_clients"),
            (banner(421), "421 There are too many connections from your internet address.", "vsftpd's max_per_ip"),
            (banner(421), "421 Too many connections", "the embedded target's max_connections (3)"),
            (banner(421), "421 3 users (the maximum) are already logged in, sorry", "pure-ftpd's -c (maximum clients)"),
            (banner(421), "421 Too many connections (2) from this IP", "pure-ftpd's -C (maximum clients per IP)"),
            (pass(530), "530 Sorry, the maximum number of allowed clients (5) are already connected.", "proftpd's MaxClients"),
            (pass(530), "530 Sorry, the maximum number of clients (5) from your host are already connected.", "proftpd's MaxClientsPerHost"),
            (banner(421), "421 Too many connections. Service temporarily unavailable.", "pyftpdlib's max_cons"),
            (banner(421), "421 Too many connections from the same IP address.", "pyftpdlib's max_cons_per_ip"),
            (banner(421), "421 Service not available, closing control connection.", "the server's session limit"),
        ];
        for (class, text, name) in cases {
            let sample = format!("banner: unexpected reply to (none): {text}");
            assert_eq!(
                Cause::of(None, &class, &sample),
                Cause::SessionLimit,
                "{text}"
            );
            assert_eq!(session_limit(&sample, Some(3)), name, "{text}");
        }
        assert_eq!(
            Cause::of(
                None,
                &pass(530),
                "login: unexpected reply to PASS: 530 Login incorrect."
            ),
            Cause::LoginRefused
        );
        // Another code in place of the banner is not a limit.
        assert_eq!(
            Cause::of(None, &banner(500), "500 OOPS: vsftpd: cannot locate user"),
            Cause::ServerReply
        );
        assert_eq!(banner(421).label(), "reply 421 at banner");
    }
}
