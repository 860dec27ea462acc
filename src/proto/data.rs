//! Data channels: negotiating one in a transfer mode, moving the bytes, and
//! the time edges of each step. One function serves all four modes with a
//! `match` where they differ, rather than a copy per mode.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::command::Command;
use super::control::{timed, Control};
use super::error::ProtoError;
use super::reply::{self, Reply};
use crate::metrics::Step;

/// How the data connection is opened: who connects to whom, and with which command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// PASV: the client connects to a port the server opened (RFC 959).
    Passive,
    /// EPSV: as PASV, but the reply carries only a port (RFC 2428).
    Epsv,
    /// PORT: the server connects back to a port the client opened (RFC 959).
    Active,
    /// EPRT: as PORT, with an address family (RFC 2428).
    Eprt,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Passive, Mode::Epsv, Mode::Active, Mode::Eprt];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Passive => "passive",
            Mode::Epsv => "epsv",
            Mode::Active => "active",
            Mode::Eprt => "eprt",
        }
    }

    pub fn is_active(self) -> bool {
        matches!(self, Mode::Active | Mode::Eprt)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown mode {s:?}: expected passive, epsv, active or eprt"))
    }
}

/// An inclusive port range, written "first-last".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    /// Number of ports in the range (never zero).
    pub fn size(&self) -> u32 {
        u32::from(self.last) - u32::from(self.first) + 1
    }

    pub fn contains(&self, p: u16) -> bool {
        (self.first..=self.last).contains(&p)
    }
}

impl FromStr for PortRange {
    type Err = String;
    fn from_str(s: &str) -> Result<PortRange, String> {
        let bad = || format!("bad port range {s:?}: expected FIRST-LAST, e.g. 40000-40999");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let first: u16 = a.trim().parse().map_err(|_| bad())?;
        let last: u16 = b.trim().parse().map_err(|_| bad())?;
        if first == 0 || first > last {
            return Err(bad());
        }
        Ok(PortRange { first, last })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

impl Serialize for PortRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Choices about data channels that hold for a whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DataOptions {
    /// Connect to the address a 227 names even when it is not the control
    /// connection's peer. Off by default: NAT'd servers name addresses that do not
    /// work, and following another host's address is the FTP bounce attack.
    pub follow_pasv_address: bool,
    /// Ports for active-mode listeners; `None` lets the kernel pick.
    pub active_ports: Option<PortRange>,
}

/// What the client learned about one data channel, filled in as it goes, so a
/// failed channel still tells what it had reached.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChannelInfo {
    /// Passive: the address the 227/229 announced.
    pub announced: Option<SocketAddr>,
    /// Passive: the 227 named another host than the control peer.
    pub mismatch: bool,
    /// The client's port: its local port (passive) or its listener (active).
    pub client_port: u16,
    /// Active: the source port the server connected from.
    pub server_source_port: Option<u16>,
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
}

/// Opens a data channel in `mode`, runs `cmd` over it (a download or listing,
/// or an upload of `upload` bytes), and waits for the final reply.
pub async fn transfer(
    ctrl: &mut Control,
    mode: Mode,
    opts: &DataOptions,
    cmd: Command<'_>,
    upload: Option<u64>,
    info: &mut ChannelInfo,
) -> Result<Transferred, ProtoError> {
    let t = ctrl.timeouts;
    let setup_start = Instant::now();
    let (stream, data_ready, command_sent, prelim_at) = if mode.is_active() {
        let listener = bind_active(ctrl.local_addr().ip(), opts.active_ports)?;
        let local = listener
            .local_addr()
            .map_err(|e| ProtoError::io(Step::DataSetup, e))?;
        info.client_port = local.port();
        let announce = match mode {
            Mode::Active => match local {
                SocketAddr::V4(a) => Command::Port(a),
                SocketAddr::V6(_) => {
                    return Err(ProtoError::Unsupported(
                        "PORT cannot name an IPv6 address: use eprt",
                    ))
                }
            },
            _ => Command::Eprt(local),
        };
        ctrl.expect(&announce, Step::DataSetup, 2).await?;
        ctrl.send(&cmd, Step::Transfer).await?;
        let sent = Instant::now();
        let (s, ready, prelim_at) = accept_and_preliminary(ctrl, &listener, &cmd, t.accept).await?;
        info.server_source_port = s.peer_addr().ok().map(|a| a.port());
        (s, ready, sent, prelim_at)
    } else {
        let target = negotiate_passive(ctrl, mode, opts, info).await?;
        let s = timed(Step::DataConnect, t.data_connect, async {
            let sock = if target.is_ipv4() {
                TcpSocket::new_v4()
            } else {
                TcpSocket::new_v6()
            }
            .map_err(|e| ProtoError::io(Step::DataConnect, e))?;
            sock.connect(target)
                .await
                .map_err(|e| ProtoError::io(Step::DataConnect, e))
        })
        .await?;
        let ready = Instant::now();
        info.client_port = s.local_addr().map(|a| a.port()).unwrap_or(0);
        ctrl.send(&cmd, Step::Transfer).await?;
        let sent = Instant::now();
        let r = ctrl.read_reply(Step::Transfer, t.reply).await?;
        require_preliminary(&cmd, r)?;
        (s, ready, sent, Instant::now())
    };

    let (bytes, first_byte, data_done) = match upload {
        None => download(stream, t.transfer_idle).await?,
        Some(n) => {
            let start = prelim_at.max(data_ready);
            let done = upload_bytes(stream, n, t.transfer_idle).await?;
            (n, Some(start), done)
        }
    };
    let r = ctrl.read_reply(Step::Transfer, t.reply).await?;
    if r.class() != 2 {
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
    })
}

fn require_preliminary(cmd: &Command<'_>, r: Reply) -> Result<(), ProtoError> {
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

/// Sends PASV or EPSV and decides where to connect. The control connection's
/// peer is used unless the user opted in to follow the 227's address.
async fn negotiate_passive(
    ctrl: &mut Control,
    mode: Mode,
    opts: &DataOptions,
    info: &mut ChannelInfo,
) -> Result<SocketAddr, ProtoError> {
    let peer = ctrl.peer_addr();
    let (cmd, code) = match mode {
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
    let bad = |source| ProtoError::Reply {
        step: Step::DataSetup,
        source,
    };
    if code == 229 {
        let port = reply::parse_epsv(&r.text).map_err(bad)?;
        let a = SocketAddr::new(peer.ip(), port);
        info.announced = Some(a);
        return Ok(a);
    }
    let a = SocketAddr::V4(reply::parse_pasv(&r.text).map_err(bad)?);
    info.announced = Some(a);
    if a.ip() == peer.ip() {
        return Ok(a);
    }
    info.mismatch = true;
    if opts.follow_pasv_address {
        Ok(a)
    } else {
        Ok(SocketAddr::new(peer.ip(), a.port()))
    }
}

/// Spreads active listeners over the range so concurrent clients do not all
/// probe from its first port.
static NEXT_ACTIVE_PORT: AtomicU32 = AtomicU32::new(0);

/// Binds the active-mode listener on the control connection's local address
/// (servers refuse or misroute a PORT naming another address), within `range`.
fn bind_active(ip: IpAddr, range: Option<PortRange>) -> Result<TcpListener, ProtoError> {
    let step = Step::DataSetup;
    let listen_on = |port: u16| -> std::io::Result<TcpListener> {
        let sock = if ip.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }?;
        // In a fixed range, a closed data connection leaves its port in
        // TIME_WAIT; reuse lets the next listener take it, as servers' passive
        // listeners do. Not for port 0: with SO_REUSEADDR the kernel may hand
        // out a port still used by an established socket.
        sock.set_reuseaddr(port != 0)?;
        sock.bind(SocketAddr::new(ip, port))?;
        sock.listen(1)
    };
    let Some(range) = range else {
        return listen_on(0).map_err(|e| ProtoError::io(step, e));
    };
    let start = NEXT_ACTIVE_PORT.fetch_add(1, Ordering::Relaxed) % range.size();
    let mut last_err = None;
    for i in 0..range.size() {
        let port = range.first as u32 + (start + i) % range.size();
        match listen_on(port as u16) {
            Ok(l) => return Ok(l),
            Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => last_err = Some(e),
            Err(e) => return Err(ProtoError::io(step, e)),
        }
    }
    Err(ProtoError::io(
        step,
        last_err.unwrap_or_else(|| std::io::Error::from_raw_os_error(libc::EADDRINUSE)),
    ))
}

/// Waits for both the server's connection and its 1xx, which real servers send
/// in either order; a negative reply first means no connection is coming.
async fn accept_and_preliminary(
    ctrl: &mut Control,
    listener: &TcpListener,
    cmd: &Command<'_>,
    accept_limit: Duration,
) -> Result<(TcpStream, Instant, Instant), ProtoError> {
    let reply_limit = ctrl.timeouts.reply;
    let accept_deadline = tokio::time::Instant::now() + accept_limit;
    let mut stream: Option<(TcpStream, Instant)> = None;
    let mut prelim: Option<Instant> = None;
    loop {
        tokio::select! {
            a = listener.accept(), if stream.is_none() => {
                let (s, _) = a.map_err(|e| ProtoError::io(Step::DataAccept, e))?;
                stream = Some((s, Instant::now()));
            }
            r = ctrl.read_reply(Step::Transfer, reply_limit), if prelim.is_none() => {
                require_preliminary(cmd, r?)?;
                prelim = Some(Instant::now());
            }
            _ = tokio::time::sleep_until(accept_deadline), if stream.is_none() => {
                return Err(ProtoError::Timeout { step: Step::DataAccept });
            }
        }
        if let (Some(p), true) = (prelim, stream.is_some()) {
            let (s, ready) = stream.take().expect("checked above");
            return Ok((s, ready, p));
        }
    }
}

/// Reads to end of file, then closes at once: proftpd holds its 226 back about
/// 10 s until the client closes its end.
async fn download(
    mut s: TcpStream,
    idle: Duration,
) -> Result<(u64, Option<Instant>, Instant), ProtoError> {
    let mut buf = vec![0u8; 32 * 1024];
    let mut bytes = 0u64;
    let mut first = None;
    loop {
        let n = timed(Step::Transfer, idle, async {
            s.read(&mut buf)
                .await
                .map_err(|e| ProtoError::io(Step::Transfer, e))
        })
        .await?;
        if n == 0 {
            break;
        }
        first.get_or_insert_with(Instant::now);
        bytes += n as u64;
    }
    let done = Instant::now();
    drop(s);
    Ok((bytes, first, done))
}

/// The bytes uploaded: content does not matter to an FTP server, only the count.
static UPLOAD_CHUNK: [u8; 32 * 1024] = [0x5a; 32 * 1024];

async fn upload_bytes(mut s: TcpStream, n: u64, idle: Duration) -> Result<Instant, ProtoError> {
    let mut left = n;
    while left > 0 {
        let k = left.min(UPLOAD_CHUNK.len() as u64) as usize;
        timed(Step::Transfer, idle, async {
            s.write_all(&UPLOAD_CHUNK[..k])
                .await
                .map_err(|e| ProtoError::io(Step::Transfer, e))
        })
        .await?;
        left -= k as u64;
    }
    // The FIN is what tells the server the file is complete.
    timed(Step::Transfer, idle, async {
        s.shutdown()
            .await
            .map_err(|e| ProtoError::io(Step::Transfer, e))
    })
    .await?;
    Ok(Instant::now())
}
