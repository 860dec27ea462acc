//! One mapping from what went wrong to why: an [`ErrorClass`] (with the
//! transfer mode and the server's words) becomes a stable [`Cause`], and
//! [`words`] puts causes and classes into words. The run summary, the probe
//! and exhaustion all read failures through here, so a 425 answering PORT
//! is the same failed connect-back wherever it is reported; each adds only
//! its own detail (the probe: ports, listener, the sibling mode; the
//! summary: counts and timeouts).

pub mod words;

use serde::Serialize;

use crate::proto::{ErrorClass, Mode, Step, Verb};

/// A short, stable name for what went wrong; docs/probe.md lists them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    ConnectRefused,
    ConnectTimeout,
    NoBanner,
    LoginRefused,
    /// The server turned the session away because it holds as many as it
    /// will (vsftpd's `max_clients`, the embedded target's
    /// `max_connections`, proftpd's `MaxClients`): a 421 instead of the
    /// banner or to USER/PASS, or a 530 naming a maximum. Not a wrong password.
    SessionLimit,
    /// A fresh session for one mode could not connect or log in.
    SessionFailed,
    DataConnectRefused,
    DataConnectTimeout,
    /// Our data connect found no route to the announced address
    /// (ENETUNREACH, EHOSTUNREACH): a private address followed past a NAT.
    DataConnectUnreachable,
    /// Our data connect failed otherwise (reset, another OS error).
    DataConnectFailed,
    AcceptTimeout,
    /// No reply to a command in time.
    ReplyTimeout,
    /// Active: no reply to PORT/EPRT in time. Servers that connect back
    /// while handling PORT (pyftpdlib, libunftp) hang there when the
    /// connect-back is dropped: the client-firewall failure as they show it.
    PortReplyTimeout,
    /// Active: the server said it could not connect back (425/426).
    ConnectBackFailed,
    /// Passive: we connected, then the server refused the transfer (425/426).
    DataRejected,
    NotImplemented,
    /// RETR of --path got 550 (or 450/553).
    FileUnavailable,
    /// Any other negative reply.
    ServerReply,
    /// The data connection opened, then the transfer stalled or broke.
    TransferBroken,
    /// The server closed or reset the control connection.
    ControlClosed,
    /// A reply ftpload could not parse (a garbled 227, say).
    BadReply,
    /// This client ran out of ports or file descriptors.
    ClientResources,
    /// The mode cannot work over this control connection (PORT over IPv6).
    Unsupported,
    OsError,
    /// FTPS: a TLS handshake failed (an alert, a protocol error).
    TlsFailed,
    /// FTPS: the server's certificate was not trusted.
    TlsUntrusted,
    /// FTPS: the server requires data channels to resume the control
    /// connection's TLS session, and this one did not.
    TlsReuseRequired,
    /// The probe: a mode that fails under TLS with the data connection
    /// filtered, and works in plain FTP: a firewall opens its data ports
    /// through an FTP helper (Linux conntrack's `ftp`), which reads the
    /// 227/229 or PORT/EPRT on the control connection, and TLS hides them.
    TlsHidesFromHelper,
    /// Not a failure: passive worked only because ftpload connected to the
    /// control peer instead of the address the 227 announced.
    NatReplaced,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        use Cause::*;
        match self {
            ConnectRefused => "connect_refused",
            ConnectTimeout => "connect_timeout",
            NoBanner => "no_banner",
            LoginRefused => "login_refused",
            SessionLimit => "session_limit",
            SessionFailed => "session_failed",
            DataConnectRefused => "data_connect_refused",
            DataConnectTimeout => "data_connect_timeout",
            DataConnectUnreachable => "data_connect_unreachable",
            DataConnectFailed => "data_connect_failed",
            AcceptTimeout => "accept_timeout",
            ReplyTimeout => "reply_timeout",
            PortReplyTimeout => "port_reply_timeout",
            ConnectBackFailed => "connect_back_failed",
            DataRejected => "data_rejected",
            NotImplemented => "not_implemented",
            FileUnavailable => "file_unavailable",
            ServerReply => "server_reply",
            TransferBroken => "transfer_broken",
            ControlClosed => "control_closed",
            BadReply => "bad_reply",
            ClientResources => "client_resources",
            Unsupported => "unsupported",
            OsError => "os_error",
            TlsFailed => "tls_failed",
            TlsUntrusted => "tls_untrusted",
            TlsReuseRequired => "tls_reuse_required",
            TlsHidesFromHelper => "tls_hides_from_helper",
            NatReplaced => "nat_replaced",
        }
    }
}

impl Cause {
    /// The cause of a failure of `class` in `mode` (`None`: on the control
    /// connection before any mode), `text` being the reply's words when a
    /// reply ended it (or any text that holds them: a recorded sample).
    pub fn of(mode: Option<Mode>, class: &ErrorClass, text: &str) -> Cause {
        use ErrorClass as C;
        let active = mode.is_some_and(Mode::is_active);
        match *class {
            C::Refused {
                step: Step::Connect,
            } => Cause::ConnectRefused,
            C::Timeout {
                step: Step::Connect,
            } => Cause::ConnectTimeout,
            C::NoBanner => Cause::NoBanner,
            // A reply instead of the banner is the only reply without a command.
            C::Reply {
                code: 421,
                command: None | Some(Verb::User | Verb::Pass),
            } => Cause::SessionLimit,
            C::Reply {
                code: 530,
                command: Some(Verb::User | Verb::Pass),
            } if words::names_a_session_limit(text) => Cause::SessionLimit,
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
                command: Some(v),
            } if v.transfers() && active => Cause::ConnectBackFailed,
            C::Reply {
                code: 425 | 426,
                command: Some(v),
            } if v.transfers() => Cause::DataRejected,
            C::Reply {
                code: 450 | 550 | 553,
                command: Some(Verb::Retr),
            } => Cause::FileUnavailable,
            C::Reply { .. } => Cause::ServerReply,
            C::Os {
                step: Step::DataConnect,
                errno,
            } if errno == libc::ENETUNREACH || errno == libc::EHOSTUNREACH => {
                Cause::DataConnectUnreachable
            }
            C::Refused { .. } | C::Reset { .. } | C::Os { .. }
                if class.step() == Some(Step::DataConnect) =>
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
            C::Protocol { .. } => Cause::BadReply,
            C::AddrInUse { .. } | C::AddrNotAvailable { .. } | C::FileLimit { .. } => {
                Cause::ClientResources
            }
            C::Refused { .. } | C::Os { .. } => Cause::OsError,
            C::Tls { .. } => Cause::TlsFailed,
            C::TlsCertificate { .. } => Cause::TlsUntrusted,
            C::TlsReuseRequired { .. } => Cause::TlsReuseRequired,
        }
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
