//! Executors: who starts which iteration, and when. The closed-loop executor
//! here runs each virtual client's iterations back to back; an open-loop one
//! can sit beside it, handing the same client an intended start time instead.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

use crate::client::{Sink, Target, VirtualClient};
use crate::metrics::shard::Registry;
use crate::metrics::{Counters, ModeStats, Recorder};
use crate::proto::Mode;
use crate::scenario::{Plan, SessionModel, Stop};

/// How long iterations still running at the deadline may take to finish
/// before they are cut off; they are counted either way.
pub const GRACE: Duration = Duration::from_secs(10);

impl Sink for Arc<Registry> {
    fn record(&self, mode: Mode, f: impl FnOnce(&mut ModeStats)) {
        self.with_shard(|r| f(r.mode(mode)));
    }
}

/// What the progress display sees once a tick.
#[derive(Debug, Clone, Copy)]
pub struct Tick {
    pub elapsed: Duration,
    pub counters: Counters,
    pub errors: u64,
    pub clients_running: u64,
}

/// A finished (or interrupted) run: the merged recorder and its times.
#[derive(Debug)]
pub struct RunOutcome {
    pub recorder: Recorder,
    pub started: SystemTime,
    pub ended: SystemTime,
    pub elapsed: Duration,
    /// Stopped by Ctrl-C (or a cancel request) before its planned end.
    pub interrupted: bool,
    /// Virtual clients still mid-iteration when the grace period ran out.
    pub cut_off: u64,
}

/// A handle to stop a run early from outside (Ctrl-C, a test).
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Runs the plan's closed-loop population against `addr` on a runtime of its
/// own, whose worker threads each own a recorder shard.
pub fn run(
    plan: &Plan,
    addr: SocketAddr,
    cancel: &Cancel,
    on_tick: &mut dyn FnMut(Tick),
) -> std::io::Result<RunOutcome> {
    let registry = Registry::new();
    let reg = registry.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(plan.workers)
        .thread_name("ftpload-worker")
        .on_thread_start(move || reg.register_current_thread())
        .enable_all()
        .build()?;
    let (user, password) = plan.target.credentials();
    let target = Arc::new(Target {
        addr,
        user: user.to_string(),
        password: password.to_string(),
        timeouts: plan.timeouts,
        data: plan.data.clone(),
    });
    let started = SystemTime::now();
    let t0 = Instant::now();
    let interrupted = rt.block_on(closed_loop(plan, target, &registry, cancel, t0, on_tick));
    let (interrupted, cut_off) = interrupted;
    // Dropping the runtime ends every task, so nothing records after the snapshot.
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(RunOutcome {
        recorder: registry.snapshot(),
        started,
        ended: SystemTime::now(),
        elapsed: t0.elapsed(),
        interrupted,
        cut_off,
    })
}

async fn closed_loop(
    plan: &Plan,
    target: Arc<Target>,
    registry: &Arc<Registry>,
    cancel: &Cancel,
    t0: Instant,
    on_tick: &mut dyn FnMut(Tick),
) -> (bool, u64) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let budget = Arc::new(AtomicU64::new(match plan.stop {
        Stop::Iterations(n) => n,
        Stop::Duration(_) => u64::MAX,
    }));
    let deadline = match plan.stop {
        Stop::Duration(d) => Some(t0 + d),
        Stop::Iterations(_) => None,
    };
    let running = Arc::new(AtomicU64::new(0));
    let total = plan.total_users().max(1);
    let mut tasks = tokio::task::JoinSet::new();
    let mut k = 0u64;
    for g in &plan.groups {
        let ops: Arc<[crate::scenario::Op]> = g.ops.clone().into();
        for mode in g.client_modes() {
            let vc = VirtualClient { id: k, mode };
            let delay = plan.ramp_up.mul_f64(k as f64 / total as f64);
            let ctx = Ctx {
                target: target.clone(),
                sink: registry.clone(),
                ops: ops.clone(),
                session: g.session,
                budget: budget.clone(),
                deadline,
                stop: stop_rx.clone(),
                running: running.clone(),
            };
            tasks.spawn(async move {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = wait_stop(ctx.stop.clone()) => return,
                }
                ctx.running.fetch_add(1, Ordering::Relaxed);
                client_loop(vc, &ctx).await;
                ctx.running.fetch_sub(1, Ordering::Relaxed);
            });
            k += 1;
        }
    }

    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    let mut interrupted = false;
    let mut grace_end: Option<tokio::time::Instant> = None;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            done = tasks.join_next() => {
                if done.is_none() {
                    break;
                }
            }
            _ = ticker.tick() => {
                let (counters, errors) = registry.totals();
                on_tick(Tick { elapsed: t0.elapsed(), counters, errors, clients_running: running.load(Ordering::Relaxed) });
                if cancel.is_cancelled() {
                    interrupted = true;
                    break;
                }
                let now = Instant::now();
                if grace_end.is_none() && deadline.is_some_and(|d| now >= d) {
                    let _ = stop_tx.send(true);
                    grace_end = Some(tokio::time::Instant::now() + GRACE);
                }
                if grace_end.is_some_and(|g| tokio::time::Instant::now() >= g) {
                    break;
                }
            }
            _ = &mut ctrl_c => {
                cancel.cancel();
                interrupted = true;
                break;
            }
        }
    }
    let _ = stop_tx.send(true);
    let cut_off = running.load(Ordering::Relaxed);
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    (interrupted, if interrupted { 0 } else { cut_off })
}

struct Ctx {
    target: Arc<Target>,
    sink: Arc<Registry>,
    ops: Arc<[crate::scenario::Op]>,
    session: SessionModel,
    budget: Arc<AtomicU64>,
    deadline: Option<Instant>,
    stop: watch::Receiver<bool>,
    running: Arc<AtomicU64>,
}

impl Ctx {
    /// Takes one iteration from the budget, unless the run is over.
    fn next_iteration(&self) -> bool {
        if *self.stop.borrow() || self.deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        self.budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }
}

async fn wait_stop(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

async fn client_loop(vc: VirtualClient, ctx: &Ctx) {
    let t = &*ctx.target;
    let sink = &ctx.sink;
    let mut session = None;
    while ctx.next_iteration() {
        if session.is_none() {
            session = vc.open_session(t, sink).await;
        }
        let ok = match session.as_mut() {
            Some(c) => vc.run_ops(c, &ctx.ops, t, sink).await,
            None => false,
        };
        sink.record(vc.mode, |s| {
            if ok {
                s.counters.iterations += 1
            } else {
                s.counters.iterations_failed += 1
            }
        });
        if !ok {
            session = None;
        } else if ctx.session == SessionModel::PerIteration {
            if let Some(c) = session.take() {
                vc.close(c, sink).await;
            }
        }
    }
    if let Some(c) = session.take() {
        vc.close(c, sink).await;
    }
}
