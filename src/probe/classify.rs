//! Classifying a failure: from the protocol layer's error to its cause (by
//! [`Cause::of`], as the run summary does), the connection it happened on,
//! and how long the failing step ran. Pure, so every rule is unit tested.

use std::time::Duration;

use super::findings::{ms, Cause, Connection, Failure, ReplyText};
use crate::metrics::Step;
use crate::proto::data::ChannelInfo;
use crate::proto::{Mode, ProtoError};

/// A failure with its cause, connection and evidence. `exchange` is how long
/// the whole exchange ran; a data connect or accept is timed from its own start.
pub(super) fn failure(
    mode: Option<Mode>,
    e: &ProtoError,
    exchange: Duration,
    info: Option<&ChannelInfo>,
) -> Failure {
    let class = e.class();
    let step = class.step();
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
        // Only the protocol error knows a mode cannot work at all here.
        cause: match e {
            ProtoError::Unsupported(_) => Cause::Unsupported,
            _ => Cause::of(mode, &class, reply.as_ref().map_or("", |r| r.text.as_str())),
        },
        class,
        connection,
        after_ms: ms(after),
        reply,
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ErrorClass;
    use crate::proto::reply::ReplyError;
    use crate::proto::{Reply, Verb};
    use crate::result::ErrorEntry;

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

    /// The protocol error the client would have met for `class`.
    fn error_for(class: ErrorClass, text: &str) -> ProtoError {
        let io = |step, errno| ProtoError::io(step, std::io::Error::from_raw_os_error(errno));
        match class {
            ErrorClass::Reply { code, command } => ProtoError::Unexpected {
                step: Step::DataSetup,
                command,
                reply: Reply {
                    code,
                    text: text.into(),
                },
            },
            ErrorClass::NoBanner => ProtoError::Timeout { step: Step::Banner },
            ErrorClass::Timeout { step } => ProtoError::Timeout { step },
            ErrorClass::Closed { step } => ProtoError::Closed { step },
            ErrorClass::Protocol { step } => ProtoError::Reply {
                step,
                error: ReplyError::BadPasv { text: text.into() },
            },
            ErrorClass::Refused { step } => io(step, libc::ECONNREFUSED),
            ErrorClass::AddrNotAvailable { step } => io(step, libc::EADDRNOTAVAIL),
            ErrorClass::AddrInUse { step } => io(step, libc::EADDRINUSE),
            ErrorClass::FileLimit { step } => io(step, libc::EMFILE),
            ErrorClass::Reset { step } => io(step, libc::ECONNRESET),
            ErrorClass::Os { step, errno } => io(step, errno),
            ErrorClass::Tls { step } | ErrorClass::TlsCertificate { step } => ProtoError::Tls {
                step,
                error: text.into(),
                certificate: matches!(class, ErrorClass::TlsCertificate { .. }),
            },
            ErrorClass::TlsReuseRequired { command } => ProtoError::Unexpected {
                step: Step::Transfer,
                command,
                reply: Reply {
                    code: 522,
                    text: "SSL connection failed: session reuse required".into(),
                },
            },
        }
    }

    /// Every class at every step, and replies of the codes that mean
    /// something to the commands that meet them, in every mode: the probe
    /// (from the protocol error) and the run summary (from the recorded
    /// class and sample) name the same cause.
    #[test]
    fn probe_and_summary_give_every_failure_the_same_cause() {
        use crate::metrics::Step as S;
        let steps = [
            S::Connect,
            S::Banner,
            S::Login,
            S::Command,
            S::DataSetup,
            S::DataConnect,
            S::DataAccept,
            S::Transfer,
            S::Quit,
        ];
        let mut classes = vec![ErrorClass::NoBanner];
        for step in steps {
            classes.extend([
                ErrorClass::Refused { step },
                ErrorClass::Timeout { step },
                ErrorClass::AddrNotAvailable { step },
                ErrorClass::AddrInUse { step },
                ErrorClass::FileLimit { step },
                ErrorClass::Reset { step },
                ErrorClass::Closed { step },
                ErrorClass::Protocol { step },
                ErrorClass::Os {
                    step,
                    errno: libc::ENETUNREACH,
                },
                ErrorClass::Os {
                    step,
                    errno: libc::EHOSTUNREACH,
                },
                ErrorClass::Os {
                    step,
                    errno: libc::EPERM,
                },
            ]);
        }
        let verbs = [
            None,
            Some(Verb::User),
            Some(Verb::Pass),
            Some(Verb::Type),
            Some(Verb::Pasv),
            Some(Verb::Epsv),
            Some(Verb::Port),
            Some(Verb::Eprt),
            Some(Verb::List),
            Some(Verb::Retr),
            Some(Verb::Stor),
        ];
        let replies = [
            (421, "Service not available"),
            (425, "Can't open data connection."),
            (426, "Connection closed; transfer aborted."),
            (450, "File unavailable"),
            (500, "OOPS: vsf_sysutil_bind"),
            (500, "Command not implemented"),
            (502, "Active mode not enabled."),
            (522, "Network protocol not supported"),
            (530, "Login incorrect."),
            (550, "No such file"),
        ];
        // A banner that never comes is its own class, never a timeout.
        classes.retain(|c| *c != ErrorClass::Timeout { step: S::Banner });
        let mut cases = Vec::new();
        for c in classes {
            cases.push((c, "something went wrong"));
        }
        for command in verbs {
            for (code, text) in replies {
                cases.push((ErrorClass::Reply { code, command }, text));
            }
        }
        let mut checked = 0;
        for (class, text) in cases {
            let e = error_for(class, text);
            assert_eq!(e.class(), class, "{e}");
            for mode in Mode::ALL {
                let probe = failure(Some(mode), &e, Duration::ZERO, None).cause;
                // What a run records: the class, and the error's words as its sample.
                let recorded = ErrorEntry {
                    class,
                    count: 1,
                    sample: Some(e.to_string()),
                };
                let summary = crate::summary::channels::cause_of(mode, &recorded);
                assert_eq!(probe, summary, "{class:?} in {mode} mode ({e})");
                checked += 1;
            }
        }
        assert_eq!(checked, (1 + 9 * 11 - 1 + 11 * 10) * 4);
    }
}
