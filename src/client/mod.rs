//! What one virtual client does: connect, read the banner, log in, run its
//! operations each on a fresh data channel in its mode, and quit, timing each
//! phase. It stores no numbers itself: every measurement goes to a [`Sink`],
//! so the client knows nothing of threads, shards or scheduling.

mod record;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use crate::metrics::{Live, Metric, ModeStats, Step};
use crate::proto::data::Channel;
use crate::proto::session::{self, Dial, Opened};
use crate::proto::tls::TlsClient;
use crate::proto::{Command, Control, DataOptions, Mode, PortRange, ProtoError, Timeouts};
use crate::scenario::think::Think;
use crate::scenario::{Mix, Op};
use rand::rngs::SmallRng;
use rand::SeedableRng;

/// Where measurements go. The driver's sink is a per-thread shard.
pub trait Sink {
    fn record(&self, mode: Mode, f: impl FnOnce(&mut ModeStats));
}

/// Everything a client needs to know about its target, shared by all clients.
/// Its `Debug` leaves the password out, as the plan's does.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub user: String,
    pub password: String,
    pub timeouts: Timeouts,
    pub data: DataOptions,
    /// The passive range the server is configured with, when known: a port
    /// announced outside it is the silent exhaustion of proftpd and pyftpdlib.
    pub declared_passive: Option<PortRange>,
    /// Local addresses the clients leave from (`--source-ips`).
    pub sources: Option<crate::scenario::SourceIps>,
    /// FTPS: how sessions secure their connections.
    pub tls: Option<TlsClient>,
}

impl Target {
    /// The source address of client `id`, when the run spreads clients
    /// over several.
    pub fn source_for(&self, id: u64) -> Option<std::net::IpAddr> {
        self.sources.as_ref().map(|s| s.for_client(id))
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("addr", &self.addr)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// What every client of a run shares: the target, where numbers go, and the
/// run's live gauges.
pub struct Env<'a, S> {
    pub target: &'a Target,
    pub sink: &'a S,
    pub live: &'a Live,
}

/// One virtual client: its identity (for its upload file name) and its mode.
#[derive(Debug, Clone, Copy)]
pub struct VirtualClient {
    pub id: u64,
    pub mode: Mode,
    /// Bytes per second its data channels may move at most.
    pub bandwidth: Option<u64>,
    /// Pause between two operations.
    pub think: Option<Think>,
    /// Quit and log in again after this many data transfers (1: a new login
    /// per transfer); `None`: as long as the session model keeps it.
    pub transfers_per_session: Option<u32>,
}

/// A logged-in control connection, and the data transfers made over it.
/// It counts itself in the run's open sessions while it lives.
pub struct Session<'a> {
    pub ctrl: Control,
    transfers: u32,
    live: &'a Live,
    mode: Mode,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        self.live.session(self.mode, -1);
    }
}

/// The random draws of client `id` (think times): its own stream, derived
/// from the run's seed, so a run repeats exactly however tasks interleave.
pub fn client_rng(seed: u64, id: u64) -> SmallRng {
    SmallRng::seed_from_u64(seed ^ id.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

impl VirtualClient {
    /// Connects and logs in, recording the session-setup phases or the failure.
    ///
    /// Boxed, as are [`VirtualClient::close`] and each operation but `idle`:
    /// a task's future is as large as its largest await point, and an idle
    /// session spends its life awaiting none of these. Unboxed, every idle
    /// client's task carried the login's and the transfer's state machines
    /// (2.4 KB); one allocation per login or operation is far cheaper than
    /// the syscalls around it.
    pub fn open_session<'s, 'a: 's, S: Sink>(
        &'s self,
        env: &'s Env<'a, S>,
    ) -> Pin<Box<impl Future<Output = Option<Session<'a>>> + 's>> {
        Box::pin(self.login(env))
    }

    async fn login<'a, S: Sink>(&self, env: &Env<'a, S>) -> Option<Session<'a>> {
        let t = env.target;
        let src = t.source_for(self.id);
        let dial = Dial {
            addr: t.addr,
            from: src,
            timeouts: t.timeouts,
            tls: t.tls.as_ref(),
        };
        let r = session::open(dial, &t.user, &t.password).await;
        match r {
            Ok(Opened {
                ctrl: mut c,
                phases: p,
                ..
            }) => {
                env.sink.record(self.mode, |s| {
                    s.record_duration(Metric::TcpConnect, p.connect);
                    s.record_duration(Metric::Banner, p.banner);
                    s.record_duration(Metric::Login, p.login);
                    s.record_duration(Metric::SessionSetup, p.setup);
                    if let Some((hs, took)) = &p.tls {
                        s.record_duration(Metric::TlsHandshake, *took);
                        s.tls.control(hs);
                    }
                    s.counters.sessions += 1;
                    if let Some(c) = s.sources.at(src) {
                        c.sessions += 1;
                    }
                });
                // Binary type once per session, so byte counts are exact on every server.
                match c.expect(&Command::TypeImage, Step::Command, 2).await {
                    Ok(_) => {
                        env.live.session(self.mode, 1);
                        Some(Session {
                            ctrl: c,
                            transfers: 0,
                            live: env.live,
                            mode: self.mode,
                        })
                    }
                    Err(e) => {
                        self.fail(env, &e);
                        None
                    }
                }
            }
            Err(e) => {
                env.sink.record(self.mode, |s| {
                    s.counters.sessions_failed += 1;
                    if let Some(c) = s.sources.at(src) {
                        c.sessions_failed += 1;
                    }
                });
                self.fail(env, &e);
                None
            }
        }
    }

    /// Runs one pass through `ops`, logging in first when there is no
    /// session (and again after `transfers_per_session` transfers). Stops at
    /// the first failure and returns false, with the session dropped: after
    /// a timeout or a broken data channel its state is unknown, so it is not
    /// reused on a guess.
    pub async fn run_ops<'a, S: Sink>(
        &self,
        session: &mut Option<Session<'a>>,
        ops: &[Op],
        mix: Option<&Mix>,
        env: &Env<'a, S>,
        rng: &mut SmallRng,
    ) -> bool {
        if session.is_none() {
            *session = self.open_session(env).await;
            if session.is_none() {
                return false;
            }
        }
        let steps = mix.map_or(ops.len(), |m| m.steps as usize);
        let mut seq = ops.iter();
        for i in 0..steps {
            let op = match mix {
                Some(m) => m.draw(rng).clone(),
                None => match seq.next() {
                    Some(op) => op.clone(),
                    None => break,
                },
            };
            if op == Op::Quit {
                break;
            }
            if i > 0 {
                if let Some(t) = &self.think {
                    tokio::time::sleep(t.sample(rng)).await;
                }
            }
            if session.is_none() {
                *session = self.open_session(env).await;
            }
            let Some(s) = session.as_mut() else {
                return false;
            };
            let r = match op {
                Op::Idle(d) => {
                    tokio::time::sleep(d).await;
                    Ok(())
                }
                _ => Box::pin(self.run_op(&mut s.ctrl, &op, env, rng)).await,
            };
            if let Err(e) = r {
                self.fail(env, &e);
                *session = None;
                return false;
            }
            if op.uses_data() && !matches!(op, Op::Hold(_)) {
                s.transfers += 1;
                if self.transfers_per_session.is_some_and(|n| s.transfers >= n) {
                    if let Some(s) = session.take() {
                        self.close(s, env).await;
                    }
                }
            }
        }
        true
    }

    async fn run_op<S: Sink>(
        &self,
        c: &mut Control,
        op: &Op,
        env: &Env<'_, S>,
        rng: &mut SmallRng,
    ) -> Result<(), ProtoError> {
        let upload_name;
        let (cmd, upload) = match op {
            Op::Retr(f) => (Command::Retr(f.draw(rng)), None),
            Op::Stor(n) => {
                upload_name = format!("ftpload-upload-{}.bin", self.id);
                (Command::Stor(&upload_name), Some(n.draw(rng)))
            }
            Op::List(d) => (Command::List(d.as_deref()), None),
            Op::Nlst(d) => (Command::Nlst(d.as_deref()), None),
            Op::Size(f) => return self.control_only(c, &Command::Size(f), env).await,
            Op::Noop => return self.control_only(c, &Command::Noop, env).await,
            Op::Mdtm(f) => return self.control_only(c, &Command::Mdtm(f), env).await,
            Op::Cwd(d) => return self.control_only(c, &Command::Cwd(d), env).await,
            Op::Pwd => return self.control_only(c, &Command::Pwd, env).await,
            Op::Dele(f) => {
                let own = format!("ftpload-upload-{}.bin", self.id);
                let name = f.as_deref().unwrap_or(&own);
                return self.control_only(c, &Command::Dele(name), env).await;
            }
            Op::Quit => return Ok(()),
            // Slept in `run_ops`, unboxed: an idle client awaits nothing else.
            Op::Idle(_) => return Ok(()),
            Op::Hold(d) => {
                let mut ch = Channel::new(self.mode, &env.target.data, env.live);
                let r = ch.hold(c, *d).await;
                self.note_channel(env, &ch.info, |s| {
                    if r.is_ok() {
                        s.counters.holds += 1;
                    }
                });
                return r;
            }
        };
        let mut ch = Channel::new(self.mode, &env.target.data, env.live);
        ch.bandwidth = self.bandwidth;
        let name = op.name(match cmd {
            Command::Retr(f) => Some(f),
            _ => None,
        });
        let r = ch.transfer(c, cmd, upload).await;
        self.note_channel(env, &ch.info, |s| {
            s.counters.channels_opened += u64::from(ch.info.connected);
            match &r {
                Ok(x) => record::record_transfer(s, &name, x, upload.is_some()),
                Err(_) => s.counters.transfers_failed += 1,
            }
        });
        r.map(|_| ())
    }

    async fn control_only<S: Sink>(
        &self,
        c: &mut Control,
        cmd: &Command<'_>,
        env: &Env<'_, S>,
    ) -> Result<(), ProtoError> {
        c.expect(cmd, Step::Command, 2).await?;
        env.sink.record(self.mode, |s| s.counters.commands += 1);
        Ok(())
    }

    /// Quits politely; a failure here is recorded but the session still
    /// counted. Boxed for the reason [`VirtualClient::open_session`] is.
    pub fn close<'s, S: Sink>(
        &'s self,
        mut s: Session<'s>,
        env: &'s Env<'_, S>,
    ) -> Pin<Box<impl Future<Output = ()> + 's>> {
        Box::pin(async move {
            // The session's count drops with `s`, after the QUIT.
            if let Err(e) = s.ctrl.quit().await {
                self.fail(env, &e);
            }
        })
    }
}
