//! The control connection: one TCP stream, a small reused read buffer, and a
//! timeout on every step. Written by hand over tokio's `TcpStream` rather than
//! with `suppaftp`: a load generator needs per-step timeouts, the login and the
//! active-mode accept as separate timed edges, EPRT over IPv4, and a footprint
//! of well under a kilobyte per idle session; suppaftp 12 offers none of these.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::command::Command;
use super::error::ProtoError;
use super::error::Step;
use super::reply::{self, Reply, ReplyLimits};
pub(crate) use super::source::connect_tcp;
use super::tls::{Handshake, SessionTls, Stream, TlsClient};

/// One timeout per network step: a single global timeout would hide which step stalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Timeouts {
    #[serde(with = "humantime_serde_compat")]
    pub connect: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub banner: Duration,
    /// Any reply to a command.
    #[serde(with = "humantime_serde_compat")]
    pub reply: Duration,
    /// Passive: connecting to the announced port.
    #[serde(with = "humantime_serde_compat")]
    pub data_connect: Duration,
    /// Active: waiting for the server to connect back.
    #[serde(with = "humantime_serde_compat")]
    pub accept: Duration,
    /// Longest silence on a data channel while a transfer runs.
    #[serde(with = "humantime_serde_compat")]
    pub transfer_idle: Duration,
    /// FTPS: each TLS handshake, on the control connection and on each data channel.
    #[serde(with = "humantime_serde_compat")]
    pub tls_handshake: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            banner: Duration::from_secs(10),
            reply: Duration::from_secs(10),
            data_connect: Duration::from_secs(5),
            accept: Duration::from_secs(5),
            transfer_idle: Duration::from_secs(30),
            tls_handshake: Duration::from_secs(10),
        }
    }
}

/// Serializes durations as humantime strings ("5s"), as the scenario file writes them.
pub(crate) mod humantime_serde_compat {
    use serde::Serializer;
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

/// Runs `fut` under `limit`, turning expiry into a timeout at `step`.
pub async fn timed<T>(
    step: Step,
    limit: Duration,
    fut: impl Future<Output = Result<T, ProtoError>>,
) -> Result<T, ProtoError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r,
        Err(_) => Err(ProtoError::Timeout { step }),
    }
}

/// One line of a control connection's transcript: a command sent (a password
/// shown as `PASS ****`) or a reply received. Kept only when asked for
/// ([`Control::keep_transcript`]): a diagnosis needs the server's exact words,
/// a load run does not pay for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Exchange {
    Sent { sent: String },
    Received { code: u16, text: String },
}

pub struct Control {
    stream: Stream,
    /// FTPS: the session's TLS, for its data channels once the control
    /// connection is secured. Boxed for the reason `transcript` is.
    tls: Option<Box<SessionTls>>,
    buf: Vec<u8>,
    limits: ReplyLimits,
    local: SocketAddr,
    peer: SocketAddr,
    /// Bound to a source address (`--source-ips`): its data connections
    /// leave from it too (it is `local`'s address). A flag, not a copy of
    /// the address: every idle session carries it.
    bound: bool,
    /// Boxed: only the probe keeps a transcript, and inline the empty `Vec`
    /// would cost every idle load session 16 bytes more.
    #[allow(clippy::box_collection)]
    transcript: Option<Box<Vec<Exchange>>>,
    pub timeouts: Timeouts,
}

impl Control {
    /// TCP connect only; the banner is read separately so that both are timed.
    pub async fn connect(addr: SocketAddr, timeouts: Timeouts) -> Result<Control, ProtoError> {
        Control::connect_from(addr, None, timeouts).await
    }

    /// As [`Control::connect`], from local address `source` when given.
    pub async fn connect_from(
        addr: SocketAddr,
        source: Option<IpAddr>,
        timeouts: Timeouts,
    ) -> Result<Control, ProtoError> {
        let stream = connect_tcp(addr, source, Step::Connect, timeouts.connect).await?;
        // Without NODELAY a short command can sit behind Nagle waiting for a delayed
        // ACK, adding ~40 ms to the very timings this tool exists to measure.
        stream
            .set_nodelay(true)
            .map_err(|e| ProtoError::io(Step::Connect, e))?;
        let local = stream
            .local_addr()
            .map_err(|e| ProtoError::io(Step::Connect, e))?;
        Ok(Control {
            stream: Stream::Plain(stream),
            tls: None,
            buf: Vec::new(),
            limits: ReplyLimits::default(),
            local,
            peer: addr,
            bound: source.is_some(),
            transcript: None,
            timeouts,
        })
    }

    /// Secures the control connection: at once for implicit FTPS, after
    /// `AUTH TLS`'s 234 for explicit. Its data channels then use the same
    /// session's TLS ([`Control::data_tls`]).
    pub async fn secure(mut self, tls: &TlsClient) -> Result<(Control, Handshake), ProtoError> {
        let step = Step::TlsHandshake;
        // Bytes after the 234 and before our ClientHello would be read as
        // TLS records, or lost: no server sends them but a hostile one.
        if !self.buf.is_empty() {
            return Err(ProtoError::Unsupported(
                "the server sent more after its reply to AUTH TLS, before the TLS handshake",
            ));
        }
        let Stream::Plain(tcp) = self.stream else {
            return Err(ProtoError::Unsupported(
                "the control connection is secured already",
            ));
        };
        let session = tls.session();
        let (s, hs) = session
            .handshake(tcp, step, self.timeouts.tls_handshake)
            .await?;
        self.stream = Stream::Tls(s);
        self.tls = Some(Box::new(session));
        Ok((self, hs))
    }

    /// The session's TLS for its data channels: `Some` when the control
    /// connection is secured and `PROT P` was asked for.
    pub fn data_tls(&self) -> Option<&SessionTls> {
        self.tls.as_deref().filter(|t| t.protect_data)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The source address it was bound to (`--source-ips`), if any.
    pub fn source(&self) -> Option<IpAddr> {
        self.bound.then(|| self.local.ip())
    }

    /// From now on, keep every command sent and reply received.
    pub fn keep_transcript(&mut self) {
        self.transcript.get_or_insert_with(Box::default);
    }

    /// What was kept since the last call (empty unless [`Control::keep_transcript`]).
    pub fn take_transcript(&mut self) -> Vec<Exchange> {
        self.transcript
            .as_mut()
            .map(|t| std::mem::take(&mut **t))
            .unwrap_or_default()
    }

    /// Reads the next reply within `limit`; the step names what a timeout or EOF interrupted.
    /// The limit is for the whole reply, not between its bytes, so a server
    /// dripping it cannot hold the client longer; what had arrived by then is
    /// an unfinished reply, told apart from silence.
    pub async fn read_reply(&mut self, step: Step, limit: Duration) -> Result<Reply, ProtoError> {
        match timed(step, limit, self.read_reply_untimed(step)).await {
            // What a decoded reply left behind is drained, so anything here
            // is the start of the reply awaited.
            Err(ProtoError::Timeout { step }) if !self.buf.is_empty() => {
                Err(ProtoError::Unfinished {
                    step,
                    got: self.buf.len(),
                })
            }
            r => r,
        }
    }

    async fn read_reply_untimed(&mut self, step: Step) -> Result<Reply, ProtoError> {
        loop {
            if let Some((r, used)) = reply::decode(&self.buf, &self.limits)
                .map_err(|error| ProtoError::Reply { step, error })?
            {
                self.buf.drain(..used);
                if self.buf.is_empty() {
                    // Give back what a large multi-line reply grew: idle sessions stay small.
                    self.buf = Vec::new();
                }
                if let Some(t) = &mut self.transcript {
                    t.push(Exchange::Received {
                        code: r.code,
                        text: r.text.clone(),
                    });
                }
                return Ok(r);
            }
            // `read_buf` appends only what arrived, so a read cancelled by a timeout
            // or a `select!` leaves the buffer as it was.
            self.buf.reserve(512);
            let n = self
                .stream
                .read_buf(&mut self.buf)
                .await
                .map_err(|e| ProtoError::io(step, e))?;
            if n == 0 {
                return Err(ProtoError::Closed { step });
            }
        }
    }

    pub async fn send(&mut self, cmd: &Command<'_>, step: Step) -> Result<(), ProtoError> {
        // A fresh buffer per command rather than one kept per session: an
        // allocation is cheap beside the send, and idle sessions stay small.
        let mut wbuf = Vec::with_capacity(64);
        cmd.encode(&mut wbuf)?;
        if let Some(t) = &mut self.transcript {
            t.push(Exchange::Sent {
                sent: cmd.to_string(),
            });
        }
        let stream = &mut self.stream;
        timed(step, self.timeouts.reply, async {
            stream
                .write_all(&wbuf)
                .await
                .map_err(|e| ProtoError::io(step, e))
        })
        .await
    }

    /// Sends a command and returns its reply, whatever its code.
    pub async fn command(&mut self, cmd: &Command<'_>, step: Step) -> Result<Reply, ProtoError> {
        self.send(cmd, step).await?;
        self.read_reply(step, self.timeouts.reply).await
    }

    /// Sends a command and requires a reply of the given class (2 for 2xx, 3 for 3xx).
    pub async fn expect(
        &mut self,
        cmd: &Command<'_>,
        step: Step,
        class: u8,
    ) -> Result<Reply, ProtoError> {
        let r = self.command(cmd, step).await?;
        wanted(r, |r: &Reply| r.class() == class, cmd, step)
    }

    /// Sends a command and requires exactly `code` (234 to AUTH TLS).
    pub async fn expect_code(
        &mut self,
        cmd: &Command<'_>,
        step: Step,
        code: u16,
    ) -> Result<Reply, ProtoError> {
        let r = self.command(cmd, step).await?;
        wanted(r, |r: &Reply| r.code == code, cmd, step)
    }

    /// Reads the banner: a 220, or for a server that refuses the session, its
    /// 421. A 120 ("service ready in nnn minutes", RFC 959 5.4) is followed
    /// by the 220; the banner timeout covers both.
    pub async fn banner(&mut self) -> Result<Reply, ProtoError> {
        let deadline = tokio::time::Instant::now() + self.timeouts.banner;
        let unexpected = |reply| ProtoError::Unexpected {
            step: Step::Banner,
            command: None,
            reply,
        };
        let mut waiting: Option<Reply> = None;
        // Bounded by the deadline: each pass reads a reply or times out.
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let r = match (self.read_reply(Step::Banner, left).await, waiting.take()) {
                (Ok(r), _) => r,
                // The server spoke (a 120) and never sent its 220: not silence.
                (Err(ProtoError::Timeout { .. }), Some(w)) => return Err(unexpected(w)),
                (Err(e), _) => return Err(e),
            };
            match r.code {
                220 => return Ok(r),
                120 => waiting = Some(r),
                _ => return Err(unexpected(r)),
            }
        }
    }

    /// USER then PASS (or USER alone where the server needs no password).
    pub async fn login(&mut self, user: &str, password: &str) -> Result<Reply, ProtoError> {
        let r = self.command(&Command::User(user), Step::Login).await?;
        let r = match r.code {
            230 => r,
            331 | 332 => self.command(&Command::Pass(password), Step::Login).await?,
            _ => {
                return Err(ProtoError::Unexpected {
                    step: Step::Login,
                    command: Some(super::Verb::User),
                    reply: r,
                })
            }
        };
        if r.code == 230 || r.code == 202 {
            Ok(r)
        } else {
            Err(ProtoError::Unexpected {
                step: Step::Login,
                command: Some(super::Verb::Pass),
                reply: r,
            })
        }
    }

    /// QUIT, best effort: a session that ends is not failed by a server slow to say goodbye.
    pub async fn quit(&mut self) -> Result<(), ProtoError> {
        // No shutdown before the close: the close sends the same FIN, and a
        // load run would pay one more syscall per session for it.
        let r = self.command(&Command::Quit, Step::Quit).await?;
        if r.class() == 2 {
            Ok(())
        } else {
            Err(ProtoError::Unexpected {
                step: Step::Quit,
                command: Some(super::Verb::Quit),
                reply: r,
            })
        }
    }
}

/// `r` if it is what `ok` wants, else the unexpected reply to `cmd`.
fn wanted(
    r: Reply,
    ok: impl Fn(&Reply) -> bool,
    cmd: &Command<'_>,
    step: Step,
) -> Result<Reply, ProtoError> {
    if ok(&r) {
        Ok(r)
    } else {
        Err(ProtoError::Unexpected {
            step,
            command: Some(cmd.verb()),
            reply: r,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::ErrorClass;

    /// A server that writes `bytes` and then holds the connection silently.
    async fn writes_then_holds(bytes: &'static [u8]) -> SocketAddr {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            s.write_all(bytes).await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        addr
    }

    async fn banner_after(bytes: &'static [u8]) -> ProtoError {
        let addr = writes_then_holds(bytes).await;
        let t = Timeouts {
            banner: Duration::from_millis(200),
            ..Timeouts::default()
        };
        let mut c = Control::connect(addr, t).await.unwrap();
        c.banner().await.unwrap_err()
    }

    #[tokio::test]
    async fn a_banner_cut_short_is_an_unfinished_timeout_and_silence_is_no_banner() {
        let e = banner_after(b"220 hel").await;
        assert_eq!(e.class(), ErrorClass::Timeout { step: Step::Banner });
        assert_eq!(
            e.to_string(),
            "banner: timed out with 7 bytes of a reply but not its end"
        );
        let e = banner_after(b"").await;
        assert_eq!(e.class(), ErrorClass::NoBanner);
        // A multi-line banner with its last line missing is unfinished too.
        let e = banner_after(b"220-welcome\r\n").await;
        assert_eq!(e.class(), ErrorClass::Timeout { step: Step::Banner });
        // 120 then nothing: the 220 it promised never came within the one
        // timeout; the server did speak, so the 120 is what is reported.
        let e = banner_after(b"120 ready in 1 minute\r\n").await;
        assert_eq!(
            e.class(),
            ErrorClass::Reply {
                code: 120,
                command: None
            }
        );
    }

    #[tokio::test]
    async fn a_120_is_followed_by_the_220() {
        let addr = writes_then_holds(b"120 ready soon\r\n220 ready\r\n").await;
        let mut c = Control::connect(addr, Timeouts::default()).await.unwrap();
        assert_eq!(c.banner().await.unwrap().text, "ready");
    }
}
