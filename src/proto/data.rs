//! Data channels: negotiating one in a transfer mode, moving the bytes, and
//! the time edges of each step. One path serves all four modes, with a
//! `match` where they differ, rather than a copy per mode.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use super::bytes::{close_after_upload, download, upload_bytes};
use super::command::Command;
use super::control::{connect_tcp, Control};
use super::error::ProtoError;
use super::error::Step;
use super::listen::bind_active;
use super::mode::{DataOptions, Mode};
use super::reply;
use super::tls::{Handshake, Stream};
use super::wait::{accept_and_preliminary, require_preliminary, secure_and_preliminary};

/// Told when a data channel starts waiting for its connection and when it is
/// connected or closed, as it happens, so a run can see how many are pending
/// and open at any moment: exhaustion is a matter of concurrency.
pub trait ChannelWatch: Send + Sync {
    /// A passive port announced but not yet connected, or an active listener
    /// not yet connected to: `+1` when it starts waiting, `-1` when it stops.
    fn pending(&self, mode: Mode, delta: i64);
    /// A connected data channel: `+1` when connected, `-1` when closed.
    fn open(&self, mode: Mode, delta: i64);
    /// The load at this moment (clients running, channels of `mode` pending
    /// and open), kept with an announcement so an event found later is
    /// reported with the load it happened under.
    fn load(&self, _mode: Mode) -> (u64, i64, i64) {
        (0, 0, 0)
    }
}

/// Watches nothing, for set-up work that is not part of the run.
impl ChannelWatch for () {
    fn pending(&self, _: Mode, _: i64) {}
    fn open(&self, _: Mode, _: i64) {}
}

/// Keeps a gauge raised while alive, so every early return lowers it again.
struct Raised<'a> {
    watch: &'a dyn ChannelWatch,
    mode: Mode,
    open: bool,
}

impl<'a> Raised<'a> {
    fn pending(watch: &'a dyn ChannelWatch, mode: Mode) -> Self {
        watch.pending(mode, 1);
        Raised {
            watch,
            mode,
            open: false,
        }
    }
    fn open(watch: &'a dyn ChannelWatch, mode: Mode) -> Self {
        watch.open(mode, 1);
        Raised {
            watch,
            mode,
            open: true,
        }
    }
}

impl Drop for Raised<'_> {
    fn drop(&mut self) {
        if self.open {
            self.watch.open(self.mode, -1);
        } else {
            self.watch.pending(self.mode, -1);
        }
    }
}

/// What the client learned about one data channel, filled in as it goes, so a
/// failed channel still tells what it had reached.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChannelInfo {
    /// The data connection was made: our connect to the announced port
    /// succeeded (passive), or the server's connect-back arrived (active).
    pub connected: bool,
    /// Passive: the address the 227/229 announced, and when.
    pub announced: Option<SocketAddr>,
    pub announced_at: Option<Instant>,
    /// [`ChannelWatch::load`] when the port was announced.
    pub load_at_announce: (u64, i64, i64),
    /// Passive: the 227 named another host than the control peer.
    pub mismatch: bool,
    /// Active: the port of the client's listener (0 in passive mode: its
    /// local port would cost a `getsockname` per channel, and nothing reads it).
    pub client_port: u16,
    /// Active: the source port the server connected from.
    pub server_source_port: Option<u16>,
    /// Passive: where the client connects, the announced address or the
    /// control peer's with the announced port (see [`DataOptions`]).
    pub data_target: Option<SocketAddr>,
    /// When the channel started waiting for its connection: our connect
    /// (passive) or the transfer command sent (active). A failed connect or
    /// accept is then reported with how long it waited, not how long the
    /// whole exchange took.
    pub waiting_since: Option<Instant>,
}

/// Instants at the edges of one transfer; each metric is a difference of two.
#[derive(Debug, Clone, Copy)]
pub struct Edges {
    pub setup_start: Instant,
    /// The data socket is connected (passive) or accepted (active).
    pub data_ready: Instant,
    pub command_sent: Instant,
    /// First data byte read (downloads), or the moment writing could start (uploads).
    pub first_byte: Option<Instant>,
    pub data_done: Instant,
    pub complete: Instant,
}

#[derive(Debug, Clone, Copy)]
pub struct Transferred {
    pub edges: Edges,
    pub bytes: u64,
    /// FTPS with PROT P: the data channel's handshake.
    pub tls: Option<DataTls>,
}

/// A secured data channel: what its handshake negotiated and how long it took.
#[derive(Debug, Clone, Copy)]
pub struct DataTls {
    pub handshake: Handshake,
    pub took: Duration,
    /// The server closed the channel without a TLS close_notify: a
    /// download ended this way could have been cut short, and only the
    /// 226 says it was not.
    pub unclean: bool,
}

/// One data channel in the making: its mode, the run's data options, who
/// watches it, and what has been learned about it so far.
pub struct Channel<'a> {
    pub mode: Mode,
    pub opts: &'a DataOptions,
    pub watch: &'a dyn ChannelWatch,
    pub info: ChannelInfo,
    /// Bytes per second this channel may move at most (a capped user).
    pub bandwidth: Option<u64>,
}

/// The data connection negotiated but not yet made.
enum Negotiated {
    /// Where to connect.
    Passive(SocketAddr),
    /// Where the server will connect to.
    Active(TcpListener),
}

impl<'a> Channel<'a> {
    pub fn new(mode: Mode, opts: &'a DataOptions, watch: &'a dyn ChannelWatch) -> Self {
        Channel {
            mode,
            opts,
            watch,
            info: ChannelInfo::default(),
            bandwidth: None,
        }
    }

    /// Runs `cmd` over a fresh data channel (a download or listing, or an
    /// upload of `upload` bytes) and waits for the final reply.
    pub async fn transfer(
        &mut self,
        ctrl: &mut Control,
        cmd: Command<'_>,
        upload: Option<u64>,
    ) -> Result<Transferred, ProtoError> {
        let t = ctrl.timeouts;
        let setup_start = Instant::now();
        let negotiated = self.negotiate(ctrl).await?;
        let pending = Raised::pending(self.watch, self.mode);
        // FTPS with PROT P: the data channel's handshake runs once both the
        // connection and the transfer command are there (servers start TLS
        // on it only then), beside the wait for the 1xx, which some servers
        // send only after it.
        let tls = ctrl.data_tls().cloned();
        let (tcp, data_ready, command_sent, prelim_at) = match negotiated {
            Negotiated::Active(listener) => {
                ctrl.send(&cmd, Step::Transfer).await?;
                let sent = Instant::now();
                self.info.waiting_since = Some(sent);
                let (s, from, ready, prelim_at) =
                    accept_and_preliminary(ctrl, &listener, &cmd, t.accept, tls.is_none()).await?;
                self.info.server_source_port = Some(from.port());
                self.info.connected = true;
                (s, ready, sent, prelim_at)
            }
            Negotiated::Passive(target) => {
                self.info.waiting_since = Some(Instant::now());
                // From the control connection's source address, when it
                // was bound to one: vsftpd refuses a data connection from
                // another address (425 Security: Bad IP connecting).
                let from = ctrl.source();
                let s = connect_tcp(target, from, Step::DataConnect, t.data_connect).await?;
                let ready = Instant::now();
                self.info.connected = true;
                ctrl.send(&cmd, Step::Transfer).await?;
                let sent = Instant::now();
                let prelim_at = match tls {
                    Some(_) => None,
                    None => {
                        let r = ctrl.read_reply(Step::Transfer, t.reply).await?;
                        require_preliminary(&cmd, r)?;
                        Some(Instant::now())
                    }
                };
                (s, ready, sent, prelim_at)
            }
        };
        let (stream, prelim_at, secured) = match (tls, prelim_at) {
            (Some(tls), prelim) => {
                let (s, hs, prelim_at) =
                    secure_and_preliminary(ctrl, &tls, tcp, &cmd, prelim).await?;
                (Stream::Tls(s), prelim_at, Some(hs))
            }
            (None, Some(p)) => (Stream::Plain(tcp), p, None),
            (None, None) => unreachable!("a plain channel reads its 1xx first"),
        };
        drop(pending);
        let open = Raised::open(self.watch, self.mode);
        let mut unclean = false;
        let mut uploaded = None;
        let (bytes, first_byte, data_done) = match upload {
            None => {
                let d = download(stream, t.transfer_idle, self.bandwidth).await?;
                unclean = d.unclean;
                (d.bytes, d.first, d.done)
            }
            Some(n) => {
                let secured_at = secured.map_or(data_ready, |h| h.done);
                let start = prelim_at.max(data_ready).max(secured_at);
                let mut stream = stream;
                let done = upload_bytes(&mut stream, n, t.transfer_idle, self.bandwidth).await?;
                uploaded = Some(stream);
                (n, Some(start), done)
            }
        };
        drop(open);
        let r = ctrl.read_reply(Step::Transfer, t.reply).await;
        if let Some(s) = uploaded {
            close_after_upload(s).await;
        }
        let r = r?;
        if r.class() != 2 {
            // A data-connection refusal after a full handshake where a
            // resumed one was due: proftpd says only "425 Unable to build
            // data connection", vsftpd names the reuse itself (522).
            let not_resumed = secured.is_some_and(|h| !h.handshake.resumed);
            if not_resumed && matches!(r.code, 425 | 426 | 522) {
                return Err(ProtoError::NotResumed {
                    command: cmd.verb(),
                    reply: r,
                });
            }
            return Err(ProtoError::Unexpected {
                step: Step::Transfer,
                command: Some(cmd.verb()),
                reply: r,
            });
        }
        Ok(Transferred {
            edges: Edges {
                setup_start,
                data_ready,
                command_sent,
                first_byte,
                data_done,
                complete: Instant::now(),
            },
            bytes,
            tls: secured.map(|h| DataTls {
                handshake: h.handshake,
                took: h.done - h.start,
                unclean,
            }),
        })
    }

    /// Negotiates a data channel and holds it unconnected for `dur`: a
    /// passive port the server keeps listening on, or an active listener of
    /// ours. This is what uses up a passive range (or the client's port range)
    /// without moving bytes.
    pub async fn hold(&mut self, ctrl: &mut Control, dur: Duration) -> Result<(), ProtoError> {
        let negotiated = self.negotiate(ctrl).await?;
        let _pending = Raised::pending(self.watch, self.mode);
        tokio::time::sleep(dur).await;
        drop(negotiated);
        Ok(())
    }

    /// PASV/EPSV, or a listener and PORT/EPRT.
    async fn negotiate(&mut self, ctrl: &mut Control) -> Result<Negotiated, ProtoError> {
        if !self.mode.is_active() {
            return self.negotiate_passive(ctrl).await.map(Negotiated::Passive);
        }
        let listener = bind_active(ctrl.local_addr().ip(), self.opts.active_ports)?;
        let local = listener
            .local_addr()
            .map_err(|e| ProtoError::io(Step::DataSetup, e))?;
        self.info.client_port = local.port();
        let announce = match (self.mode, local) {
            (Mode::Active, SocketAddr::V4(a)) => Command::Port(a),
            (Mode::Active, SocketAddr::V6(_)) => {
                return Err(ProtoError::Unsupported(
                    "PORT cannot carry an IPv6 address (RFC 2428): use eprt",
                ))
            }
            _ => Command::Eprt(local),
        };
        ctrl.expect(&announce, Step::DataSetup, 2).await?;
        Ok(Negotiated::Active(listener))
    }

    /// Sends PASV or EPSV and decides where to connect. The control
    /// connection's peer is used unless the user opted in to follow the 227's address.
    async fn negotiate_passive(&mut self, ctrl: &mut Control) -> Result<SocketAddr, ProtoError> {
        let peer = ctrl.peer_addr();
        if self.mode == Mode::Passive && peer.is_ipv6() {
            return Err(ProtoError::Unsupported(
                "PASV cannot carry an IPv6 address (RFC 2428): use epsv",
            ));
        }
        let (cmd, code) = match self.mode {
            Mode::Epsv => (Command::Epsv, 229),
            _ => (Command::Pasv, 227),
        };
        let r = ctrl.command(&cmd, Step::DataSetup).await?;
        if r.code != code {
            return Err(ProtoError::Unexpected {
                step: Step::DataSetup,
                command: Some(cmd.verb()),
                reply: r,
            });
        }
        let bad = |error| ProtoError::Reply {
            step: Step::DataSetup,
            error,
        };
        let announced = if code == 229 {
            SocketAddr::new(peer.ip(), reply::parse_epsv(&r.text).map_err(bad)?)
        } else {
            SocketAddr::V4(reply::parse_pasv(&r.text).map_err(bad)?)
        };
        self.info.announced = Some(announced);
        self.info.announced_at = Some(Instant::now());
        self.info.load_at_announce = self.watch.load(self.mode);
        let target = if announced.ip() == peer.ip() {
            announced
        } else {
            self.info.mismatch = true;
            if self.opts.follow_pasv_address {
                announced
            } else {
                SocketAddr::new(peer.ip(), announced.port())
            }
        };
        self.info.data_target = Some(target);
        Ok(target)
    }
}
