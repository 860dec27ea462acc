//! Waiting for two things at once on a data channel after the transfer
//! command: its connection (active) or its TLS handshake (FTPS), and the
//! command's 1xx, which real servers send in either order. A negative reply
//! first means nothing more is coming.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::client::TlsStream;

use super::command::Command;
use super::control::Control;
use super::error::{ProtoError, Step};
use super::reply::Reply;
use super::tls::{Handshake, SessionTls};

/// When a data channel's handshake started and ended.
#[derive(Debug, Clone, Copy)]
pub(super) struct Secured {
    pub handshake: Handshake,
    pub start: Instant,
    pub done: Instant,
}

pub(super) fn require_preliminary(cmd: &Command<'_>, r: Reply) -> Result<(), ProtoError> {
    if r.is_preliminary() {
        Ok(())
    } else {
        Err(ProtoError::Unexpected {
            step: Step::Transfer,
            command: Some(cmd.verb()),
            reply: r,
        })
    }
}

/// A data channel's TLS handshake, and the transfer command's 1xx unless it
/// came already (`prelim`), in whichever order they come: a negative reply
/// first means the server gave up on the channel.
pub(super) async fn secure_and_preliminary(
    ctrl: &mut Control,
    tls: &SessionTls,
    tcp: TcpStream,
    cmd: &Command<'_>,
    mut prelim: Option<Instant>,
) -> Result<(Box<TlsStream<TcpStream>>, Secured, Instant), ProtoError> {
    let reply_limit = ctrl.timeouts.reply;
    let start = Instant::now();
    let handshake = tls.handshake(tcp, Step::DataTlsHandshake, ctrl.timeouts.tls_handshake);
    tokio::pin!(handshake);
    let mut secured = None;
    loop {
        tokio::select! {
            h = &mut handshake, if secured.is_none() => {
                let (s, handshake) = h?;
                secured = Some((s, Secured { handshake, start, done: Instant::now() }));
            }
            r = ctrl.read_reply(Step::Transfer, reply_limit), if prelim.is_none() => {
                require_preliminary(cmd, r?)?;
                prelim = Some(Instant::now());
            }
        }
        if let (Some(p), true) = (prelim, secured.is_some()) {
            let (s, h) = secured.take().expect("checked above");
            return Ok((s, h, p));
        }
    }
}

/// Waits for both the server's connection and its 1xx, which real servers send
/// in either order; a negative reply first means no connection is coming.
/// Without `want_preliminary` (FTPS), returns once connected, with the 1xx
/// if it came first: the rest waits beside the TLS handshake.
pub(super) async fn accept_and_preliminary(
    ctrl: &mut Control,
    listener: &TcpListener,
    cmd: &Command<'_>,
    accept_limit: Duration,
    want_preliminary: bool,
) -> Result<(TcpStream, SocketAddr, Instant, Option<Instant>), ProtoError> {
    let reply_limit = ctrl.timeouts.reply;
    let accept_deadline = tokio::time::Instant::now() + accept_limit;
    // With the peer accept(2) already gave: asking the socket again was a
    // `getpeername` per channel.
    let mut stream: Option<(TcpStream, SocketAddr, Instant)> = None;
    let mut prelim: Option<Instant> = None;
    loop {
        // Biased, deadline before reply: when the server sends nothing at all
        // (vsftpd sends its 150 only once connected), the accept deadline and
        // a reply timeout of the same length expire together, and the missing
        // connect-back, not the silence it causes, is what went wrong.
        tokio::select! {
            biased;
            a = listener.accept(), if stream.is_none() => {
                let (s, from) = a.map_err(|e| ProtoError::io(Step::DataAccept, e))?;
                stream = Some((s, from, Instant::now()));
            }
            _ = tokio::time::sleep_until(accept_deadline), if stream.is_none() => {
                return Err(ProtoError::Timeout { step: Step::DataAccept });
            }
            r = ctrl.read_reply(Step::Transfer, reply_limit), if prelim.is_none() => {
                require_preliminary(cmd, r?)?;
                prelim = Some(Instant::now());
            }
        }
        if stream.is_some() && (prelim.is_some() || !want_preliminary) {
            let (s, from, ready) = stream.take().expect("checked above");
            return Ok((s, from, ready, prelim));
        }
    }
}
