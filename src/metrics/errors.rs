//! Failure classes. Exhaustion shows up as very different symptoms (a 425, a
//! refused data connection, `EADDRNOTAVAIL`, a session with no banner), and a
//! user needs to see which, so a failure is a typed class, never one "error".

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::proto::Verb;

/// Where in a session a failure happened: each network step has its own timeout,
/// so a timeout is only meaningful together with its step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Connect,
    Banner,
    Login,
    /// A command outside login and data transfer (TYPE, SIZE, NOOP).
    Command,
    /// The PASV/EPSV/PORT/EPRT exchange.
    DataSetup,
    /// Passive: our connect to the announced port.
    DataConnect,
    /// Active: waiting for the server to connect to our listener.
    DataAccept,
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
            Step::Command => "command",
            Step::DataSetup => "data_setup",
            Step::DataConnect => "data_connect",
            Step::DataAccept => "data_accept",
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
    /// Any other OS error, by errno.
    Os {
        step: Step,
        errno: i32,
    },
}

impl ErrorClass {
    /// A stable, human-readable key, used by the terminal summary.
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
