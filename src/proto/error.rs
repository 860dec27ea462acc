//! Protocol failures, each tied to the step it happened in, so it can be
//! classified (exhaustion has many faces) rather than lumped together.

use std::io;

use super::command::{InvalidArgument, Verb};
use super::reply::{Reply, ReplyError};
use crate::metrics::{ErrorClass, Step};

#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    #[error("{step}: {source}", step = step.as_str())]
    Io {
        step: Step,
        #[source]
        source: io::Error,
    },
    #[error("{step}: timed out", step = step.as_str())]
    Timeout { step: Step },
    #[error("{step}: connection closed by server", step = step.as_str())]
    Closed { step: Step },
    #[error("{step}: {source}", step = step.as_str())]
    Reply {
        step: Step,
        #[source]
        source: ReplyError,
    },
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
}

impl ProtoError {
    pub fn io(step: Step, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::UnexpectedEof {
            return ProtoError::Closed { step };
        }
        ProtoError::Io { step, source }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            ProtoError::Io { step, source } => classify_io(*step, source),
            ProtoError::Timeout { step: Step::Banner } => ErrorClass::NoBanner,
            ProtoError::Timeout { step } => ErrorClass::Timeout { step: *step },
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
}
