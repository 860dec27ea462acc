//! The protocol layer's vocabulary of failure: where in a session it happened
//! ([`Step`]), what kind it was ([`ErrorClass`]), and the error the protocol
//! code returns ([`ProtoError`]), which always knows its class.
//!
//! Exhaustion has many faces (a 425, a refused data connection,
//! `EADDRNOTAVAIL`, a session with no banner), and a user needs to see which,
//! so a failure is a typed class, never one "error". The classes live here,
//! below `metrics` (which counts them) and `diagnosis` (which puts them into
//! words), because the protocol code is what tells them apart.

use serde::{Deserialize, Serialize};
use std::io;

use super::command::{InvalidArgument, Verb};
use super::reply::{Reply, ReplyError};

/// Where in a session a failure happened: each network step has its own timeout,
/// so a timeout is only meaningful together with its step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Connect,
    Banner,
    Login,
    /// FTPS: the control connection's TLS handshake (after `AUTH TLS`, or at
    /// connect for implicit FTPS).
    TlsHandshake,
    /// A command outside login and data transfer (TYPE, SIZE, NOOP).
    Command,
    /// The PASV/EPSV/PORT/EPRT exchange.
    DataSetup,
    /// Passive: our connect to the announced port.
    DataConnect,
    /// Active: waiting for the server to connect to our listener.
    DataAccept,
    /// FTPS: a data channel's TLS handshake.
    DataTlsHandshake,
    /// Bytes moving on the data channel, or waiting for the final 226.
    Transfer,
    Quit,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Connect => "connect",
            Step::Banner => "banner",
            Step::Login => "login",
            Step::TlsHandshake => "tls_handshake",
            Step::Command => "command",
            Step::DataSetup => "data_setup",
            Step::DataConnect => "data_connect",
            Step::DataAccept => "data_accept",
            Step::DataTlsHandshake => "data_tls_handshake",
            Step::Transfer => "transfer",
            Step::Quit => "quit",
        }
    }
}

/// One class of failure. The set is closed and small so that a recorder can
/// count by class without allocating, and results from many machines merge by key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum ErrorClass {
    /// A negative or unexpected reply; `command` is what it answered (none for
    /// an unsolicited reply or the banner).
    Reply {
        code: u16,
        command: Option<Verb>,
    },
    /// TCP connected, but the banner never came within its timeout: the classic
    /// sign of an overflowed listen queue answered by syncookies.
    NoBanner,
    Refused {
        step: Step,
    },
    Timeout {
        step: Step,
    },
    /// `EADDRNOTAVAIL`: the client ran out of local ports.
    AddrNotAvailable {
        step: Step,
    },
    /// `EADDRINUSE`: every port of the active range was taken.
    AddrInUse {
        step: Step,
    },
    /// `EMFILE`/`ENFILE`: the client ran out of file descriptors.
    FileLimit {
        step: Step,
    },
    Reset {
        step: Step,
    },
    /// The server closed a connection where a reply or data was due.
    Closed {
        step: Step,
    },
    /// A reply the codec rejected: malformed, oversize, or a 227/229 without an address.
    Protocol {
        step: Step,
    },
    /// A TLS handshake that failed: an alert from the server, or a
    /// protocol error.
    Tls {
        step: Step,
    },
    /// The server's certificate was not trusted (`--ca-file`, `--insecure`).
    TlsCertificate {
        step: Step,
    },
    /// The server refused a data channel that did not resume the control
    /// connection's TLS session (vsftpd's `require_ssl_reuse`: "522 SSL
    /// connection failed: session reuse required"). A class of its own: it
    /// is a configuration to match, not a fault of the server or the load.
    TlsReuseRequired {
        command: Option<Verb>,
    },
    /// Any other OS error, by errno.
    Os {
        step: Step,
        errno: i32,
    },
}

impl ErrorClass {
    /// The step the class names (a reply names a command instead).
    pub fn step(&self) -> Option<Step> {
        use ErrorClass::*;
        match *self {
            Refused { step }
            | Timeout { step }
            | AddrNotAvailable { step }
            | AddrInUse { step }
            | FileLimit { step }
            | Reset { step }
            | Closed { step }
            | Protocol { step }
            | Tls { step }
            | TlsCertificate { step }
            | Os { step, .. } => Some(step),
            NoBanner => Some(Step::Banner),
            Reply { .. } | TlsReuseRequired { .. } => None,
        }
    }
}

/// What protocol code returns, always with its step. Its message is data
/// (a result's error sample, the probe's finding), so it says the OS or
/// codec error in its own words and, to be printed once, does not also
/// expose it as `source()`.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    #[error("{step}: {error}", step = step.as_str())]
    Io { step: Step, error: io::Error },
    #[error("{step}: timed out", step = step.as_str())]
    Timeout { step: Step },
    /// The step's timeout expired with part of a reply read: a server that
    /// drips its reply, or stops in the middle of one. Not silence, so never
    /// [`ErrorClass::NoBanner`], whose usual cause is a full listen queue.
    #[error("{step}: timed out with {got} bytes of a reply but not its end", step = step.as_str())]
    Unfinished { step: Step, got: usize },
    #[error("{step}: connection closed by server", step = step.as_str())]
    Closed { step: Step },
    #[error("{step}: {error}", step = step.as_str())]
    Reply { step: Step, error: ReplyError },
    /// A well-formed reply that was not the one the step needed.
    #[error("{step}: unexpected reply to {}: {reply}", command.map(|v| v.as_str()).unwrap_or("(none)"), step = step.as_str())]
    Unexpected {
        step: Step,
        command: Option<Verb>,
        reply: Reply,
    },
    #[error(transparent)]
    Argument(#[from] InvalidArgument),
    /// A mode that cannot work over this control connection (PORT over IPv6).
    #[error("{0}")]
    Unsupported(&'static str),
    /// The server refused a transfer (425, 426, 522) whose data channel's
    /// TLS handshake was a full one, not a resumption of the control
    /// connection's session: what servers requiring reuse do.
    #[error("transfer: the server refused a data channel that did not resume the control connection's TLS session: {reply}")]
    NotResumed { command: Verb, reply: Reply },
    /// A TLS handshake failed; `certificate`: because the server's
    /// certificate was not trusted.
    #[error("{step}: TLS: {error}", step = step.as_str())]
    Tls {
        step: Step,
        error: String,
        certificate: bool,
    },
}

impl ProtoError {
    pub fn io(step: Step, error: io::Error) -> Self {
        if error.kind() == io::ErrorKind::UnexpectedEof {
            return ProtoError::Closed { step };
        }
        ProtoError::Io { step, error }
    }

    /// A failed TLS handshake: rustls' own error when it is one, else the
    /// connection's (reset, closed) as for any other step.
    pub fn tls(step: Step, error: io::Error) -> Self {
        let certificate = match error
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        {
            Some(rustls::Error::InvalidCertificate(_)) => true,
            Some(_) => false,
            None => return ProtoError::io(step, error),
        };
        let error = match certificate {
            true => format!("{error} (the server's certificate is not trusted: give its CA with --ca-file, or --insecure for a test server)"),
            false => error.to_string(),
        };
        ProtoError::Tls {
            step,
            error,
            certificate,
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            ProtoError::Tls {
                step, certificate, ..
            } => match certificate {
                true => ErrorClass::TlsCertificate { step: *step },
                false => ErrorClass::Tls { step: *step },
            },
            ProtoError::Unexpected { reply, command, .. }
                if reply.code == 522 && reply.text.to_ascii_lowercase().contains("reuse") =>
            {
                ErrorClass::TlsReuseRequired { command: *command }
            }
            ProtoError::NotResumed { command, .. } => ErrorClass::TlsReuseRequired {
                command: Some(*command),
            },
            ProtoError::Io { step, error } => classify_io(*step, error),
            ProtoError::Timeout { step: Step::Banner } => ErrorClass::NoBanner,
            ProtoError::Timeout { step } | ProtoError::Unfinished { step, .. } => {
                ErrorClass::Timeout { step: *step }
            }
            ProtoError::Closed { step } => ErrorClass::Closed { step: *step },
            ProtoError::Reply { step, .. } => ErrorClass::Protocol { step: *step },
            ProtoError::Unexpected { reply, command, .. } => ErrorClass::Reply {
                code: reply.code,
                command: *command,
            },
            ProtoError::Argument(_) | ProtoError::Unsupported(_) => ErrorClass::Protocol {
                step: Step::Command,
            },
        }
    }
}

fn classify_io(step: Step, e: &io::Error) -> ErrorClass {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => ErrorClass::Refused { step },
        Some(libc::EADDRNOTAVAIL) => ErrorClass::AddrNotAvailable { step },
        Some(libc::EADDRINUSE) => ErrorClass::AddrInUse { step },
        Some(libc::EMFILE) | Some(libc::ENFILE) => ErrorClass::FileLimit { step },
        Some(libc::ECONNRESET) | Some(libc::EPIPE) => ErrorClass::Reset { step },
        Some(libc::ETIMEDOUT) => ErrorClass::Timeout { step },
        Some(errno) => ErrorClass::Os { step, errno },
        None => match e.kind() {
            io::ErrorKind::UnexpectedEof => ErrorClass::Closed { step },
            io::ErrorKind::TimedOut => ErrorClass::Timeout { step },
            io::ErrorKind::ConnectionRefused => ErrorClass::Refused { step },
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => {
                ErrorClass::Reset { step }
            }
            _ => ErrorClass::Os { step, errno: 0 },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_exhaustion_errnos_apart() {
        let c =
            |errno| ProtoError::io(Step::DataConnect, io::Error::from_raw_os_error(errno)).class();
        assert_eq!(
            c(libc::ECONNREFUSED),
            ErrorClass::Refused {
                step: Step::DataConnect
            }
        );
        assert_eq!(
            c(libc::EADDRNOTAVAIL),
            ErrorClass::AddrNotAvailable {
                step: Step::DataConnect
            }
        );
        assert_eq!(
            c(libc::EADDRINUSE),
            ErrorClass::AddrInUse {
                step: Step::DataConnect
            }
        );
        assert_eq!(
            c(libc::EMFILE),
            ErrorClass::FileLimit {
                step: Step::DataConnect
            }
        );
        assert_eq!(
            c(libc::ENFILE),
            ErrorClass::FileLimit {
                step: Step::DataConnect
            }
        );
        assert_eq!(
            ProtoError::Timeout { step: Step::Banner }.class(),
            ErrorClass::NoBanner
        );
    }

    /// Both ways a server refuses a data channel for not resuming the TLS
    /// session are one class: vsftpd's words, and any 425/426/522 after a
    /// full handshake (proftpd's "425 Unable to build data connection").
    #[test]
    fn a_refused_unresumed_channel_is_tls_reuse_required() {
        let want = ErrorClass::TlsReuseRequired {
            command: Some(Verb::Stor),
        };
        let vsftpd = ProtoError::Unexpected {
            step: Step::Transfer,
            command: Some(Verb::Stor),
            reply: Reply {
                code: 522,
                text: "SSL connection failed: session reuse required".into(),
            },
        };
        assert_eq!(vsftpd.class(), want);
        let proftpd = ProtoError::NotResumed {
            command: Verb::Stor,
            reply: Reply {
                code: 425,
                text: "Unable to build data connection: Operation not permitted".into(),
            },
        };
        assert_eq!(proftpd.class(), want);
        assert!(proftpd.to_string().contains("did not resume"), "{proftpd}");
    }

    #[test]
    fn a_banner_begun_but_unfinished_is_a_timeout_not_no_banner() {
        let e = ProtoError::Unfinished {
            step: Step::Banner,
            got: 7,
        };
        assert_eq!(e.class(), ErrorClass::Timeout { step: Step::Banner });
        assert_eq!(
            e.to_string(),
            "banner: timed out with 7 bytes of a reply but not its end"
        );
    }
}
