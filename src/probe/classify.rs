//! Classifying a failure: from the protocol layer's error and its
//! [`ErrorClass`] to a stable [`Cause`], the connection it happened on, and
//! how long the failing step ran. Pure, so every rule is unit tested.

use std::time::Duration;

use super::findings::{ms, Cause, Connection, Failure, ReplyText};
use crate::metrics::{ErrorClass, Step};
use crate::proto::data::ChannelInfo;
use crate::proto::{Mode, ProtoError, Verb};

/// A failure with its cause, connection and evidence. `exchange` is how long
/// the whole exchange ran; a data connect or accept is timed from its own start.
pub(super) fn failure(
    mode: Option<Mode>,
    e: &ProtoError,
    exchange: Duration,
    info: Option<&ChannelInfo>,
) -> Failure {
    let class = e.class();
    let step = step_of(&class);
    let after = match (step, info.and_then(|i| i.waiting_since)) {
        (Some(Step::DataConnect | Step::DataAccept), Some(since)) => since.elapsed(),
        _ => exchange,
    };
    let reply = match e {
        ProtoError::Unexpected { reply, .. } => Some(ReplyText {
            code: reply.code,
            text: reply.text.clone(),
        }),
        _ => None,
    };
    let connection = match (step, mode) {
        (Some(Step::DataConnect), _) => Connection::PassiveData,
        (Some(Step::DataAccept), _) => Connection::ActiveData,
        (Some(Step::Transfer), Some(m))
            if reply.is_none() && !matches!(e, ProtoError::Reply { .. }) =>
        {
            if m.is_active() {
                Connection::ActiveData
            } else {
                Connection::PassiveData
            }
        }
        _ => Connection::Control,
    };
    Failure {
        cause: cause(mode, e, &class),
        class,
        connection,
        after_ms: ms(after),
        reply,
        message: e.to_string(),
    }
}

/// The step a failure class names (a reply names a command instead).
pub(super) fn step_of(c: &ErrorClass) -> Option<Step> {
    use ErrorClass::*;
    match *c {
        Refused { step }
        | Timeout { step }
        | AddrNotAvailable { step }
        | AddrInUse { step }
        | FileLimit { step }
        | Reset { step }
        | Closed { step }
        | Protocol { step }
        | Os { step, .. } => Some(step),
        NoBanner => Some(Step::Banner),
        Reply { .. } => None,
    }
}

/// The stable cause of a failure, from its class and the reply's words.
fn cause(mode: Option<Mode>, e: &ProtoError, class: &ErrorClass) -> Cause {
    use ErrorClass as C;
    let active = mode.is_some_and(Mode::is_active);
    let text = match e {
        ProtoError::Unexpected { reply, .. } => reply.text.as_str(),
        _ => "",
    };
    match *class {
        C::Refused {
            step: Step::Connect,
        } => Cause::ConnectRefused,
        C::Timeout {
            step: Step::Connect,
        } => Cause::ConnectTimeout,
        C::NoBanner => Cause::NoBanner,
        C::Refused {
            step: Step::DataConnect,
        } => Cause::DataConnectRefused,
        C::Timeout {
            step: Step::DataConnect,
        } => Cause::DataConnectTimeout,
        C::Timeout {
            step: Step::DataAccept,
        } => Cause::AcceptTimeout,
        C::Timeout {
            step: Step::Transfer,
        } => Cause::TransferBroken,
        C::Timeout {
            step: Step::DataSetup,
        } if active => Cause::PortReplyTimeout,
        C::Timeout { .. } => Cause::ReplyTimeout,
        C::Reply {
            command: Some(Verb::User | Verb::Pass),
            ..
        } => Cause::LoginRefused,
        C::Reply {
            code,
            command: Some(v @ (Verb::Pasv | Verb::Epsv | Verb::Port | Verb::Eprt)),
        } => {
            if not_implemented(code, text) {
                Cause::NotImplemented
            } else if code == 425 && matches!(v, Verb::Port | Verb::Eprt) {
                // pyftpdlib connects back while handling PORT.
                Cause::ConnectBackFailed
            } else {
                Cause::ServerReply
            }
        }
        C::Reply {
            code: 425 | 426,
            command: Some(Verb::List | Verb::Retr),
        } if active => Cause::ConnectBackFailed,
        C::Reply {
            code: 425 | 426,
            command: Some(Verb::List | Verb::Retr),
        } => Cause::DataRejected,
        C::Reply {
            code: 450 | 550 | 553,
            command: Some(Verb::Retr),
        } => Cause::FileUnavailable,
        C::Reply { .. } => Cause::ServerReply,
        C::Refused { .. } | C::Reset { .. } | C::Os { .. }
            if step_of(class) == Some(Step::DataConnect) =>
        {
            Cause::DataConnectFailed
        }
        C::Closed {
            step: Step::Transfer,
        }
        | C::Reset {
            step: Step::Transfer,
        } => Cause::TransferBroken,
        C::Closed { .. } | C::Reset { .. } => Cause::ControlClosed,
        C::Protocol { .. } if matches!(e, ProtoError::Unsupported(_)) => Cause::Unsupported,
        C::Protocol { .. } => Cause::BadReply,
        C::AddrInUse { .. } | C::AddrNotAvailable { .. } | C::FileLimit { .. } => {
            Cause::ClientResources
        }
        C::Refused { .. } | C::Os { .. } => Cause::OsError,
    }
}

/// 502 and 504 say so; a 500 is "not implemented" only in words (vsftpd's
/// `500 OOPS` and `500 Illegal PORT command` are refusals); 522 is EPRT's
/// "network protocol not supported".
fn not_implemented(code: u16, text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    match code {
        502 | 504 | 522 => true,
        500 => [
            "not implemented",
            "unknown",
            "not understood",
            "unrecognized",
        ]
        .iter()
        .any(|w| t.contains(w)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Reply;

    fn reply(code: u16, text: &str, verb: Verb, mode: Mode) -> Cause {
        let e = ProtoError::Unexpected {
            step: Step::DataSetup,
            command: Some(verb),
            reply: Reply {
                code,
                text: text.into(),
            },
        };
        failure(Some(mode), &e, Duration::ZERO, None).cause
    }

    #[test]
    fn replies_name_their_cause() {
        use Cause::*;
        assert_eq!(
            reply(500, "Command not implemented", Verb::Eprt, Mode::Eprt),
            NotImplemented
        );
        assert_eq!(
            reply(500, "OOPS: vsf_sysutil_bind", Verb::Pasv, Mode::Passive),
            ServerReply
        );
        assert_eq!(
            reply(500, "Illegal PORT command.", Verb::Port, Mode::Active),
            ServerReply
        );
        assert_eq!(
            reply(502, "Active mode not enabled.", Verb::Port, Mode::Active),
            NotImplemented
        );
        assert_eq!(
            reply(
                425,
                "Can't connect to specified address.",
                Verb::Port,
                Mode::Active
            ),
            ConnectBackFailed
        );
        assert_eq!(
            reply(
                425,
                "Failed to establish connection.",
                Verb::List,
                Mode::Active
            ),
            ConnectBackFailed
        );
        assert_eq!(
            reply(
                425,
                "Security: Bad IP connecting.",
                Verb::List,
                Mode::Passive
            ),
            DataRejected
        );
        assert_eq!(
            reply(
                425,
                "All reserved TCP ports are busy",
                Verb::Pasv,
                Mode::Passive
            ),
            ServerReply
        );
        assert_eq!(
            reply(550, "No such file", Verb::Retr, Mode::Passive),
            FileUnavailable
        );
    }

    #[test]
    fn io_failures_name_their_connection() {
        let refused = ProtoError::io(
            Step::DataConnect,
            std::io::Error::from_raw_os_error(libc::ECONNREFUSED),
        );
        let f = failure(Some(Mode::Passive), &refused, Duration::ZERO, None);
        assert_eq!(
            (f.cause, f.connection),
            (Cause::DataConnectRefused, Connection::PassiveData)
        );
        let accept = ProtoError::Timeout {
            step: Step::DataAccept,
        };
        let f = failure(Some(Mode::Active), &accept, Duration::from_secs(3), None);
        assert_eq!(
            (f.cause, f.connection),
            (Cause::AcceptTimeout, Connection::ActiveData)
        );
        assert_eq!(f.after_ms, 3000.0);
        let port = ProtoError::Timeout {
            step: Step::DataSetup,
        };
        let f = failure(Some(Mode::Eprt), &port, Duration::from_secs(1), None);
        assert_eq!(
            (f.cause, f.connection),
            (Cause::PortReplyTimeout, Connection::Control)
        );
        let f = failure(Some(Mode::Passive), &port, Duration::from_secs(1), None);
        assert_eq!(f.cause, Cause::ReplyTimeout);
        let closed = ProtoError::Closed {
            step: Step::DataSetup,
        };
        let f = failure(Some(Mode::Passive), &closed, Duration::ZERO, None);
        assert_eq!(
            (f.cause, f.connection),
            (Cause::ControlClosed, Connection::Control)
        );
    }
}
