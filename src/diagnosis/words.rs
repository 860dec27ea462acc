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
                None => format!("reply {code}"),
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
}
