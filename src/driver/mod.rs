//! Executors: who starts which iteration, and when. The closed-loop executor
//! here runs each virtual client's iterations back to back; an open-loop one
//! can sit beside it, handing the same client an intended start time instead.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

mod open;
mod wrr;

pub use wrr::{client_modes, modes, Wrr};

use crate::client::{Env, Sink, Target, VirtualClient};
use crate::metrics::live::Peaks;
use crate::metrics::shard::Registry;
use crate::metrics::{Counters, Live, Metric, ModeStats, Recorder};
use crate::proto::Mode;
use crate::result::timeline::{Interval, IntervalMetric, ModeInterval};
use crate::scenario::load::UserStages;
use crate::scenario::{Op, Plan, SessionModel, Stop};

/// How long iterations still running at the deadline may take to finish
/// before they are cut off; they are counted either way.
pub const GRACE: Duration = Duration::from_secs(10);

/// Gauges are sampled this often; the timeline and progress tick every second.
const SAMPLE: Duration = Duration::from_millis(100);

/// Where one group's clients record: that group's recorder in the calling
/// thread's shard, so a run reports per group as well as combined.
#[derive(Clone)]
struct GroupSink {
    registry: Arc<Registry>,
    group: usize,
}

impl Sink for GroupSink {
    fn record(&self, mode: Mode, f: impl FnOnce(&mut ModeStats)) {
        self.registry
            .with_shard(|r| f(r.group(self.group).mode(mode)));
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
    /// Every group together, per mode.
    pub recorder: Recorder,
    /// Each group's own, in the plan's order.
    pub groups: Vec<Recorder>,
    pub timeline: Vec<Interval>,
    pub started: SystemTime,
    pub ended: SystemTime,
    pub elapsed: Duration,
    /// Stopped by Ctrl-C (or a cancel request) before its planned end.
    pub interrupted: bool,
    /// Virtual clients still mid-iteration when the grace period ran out.
    pub cut_off: u64,
    /// CPU seconds the generator's worker threads used.
    pub cpu_s: f64,
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
    let threads = Arc::new(crate::metrics::generator::Threads::default());
    let th = threads.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(plan.workers)
        .thread_name("ftpload-worker")
        .on_thread_start(move || {
            reg.register_current_thread();
            th.register_current();
        })
        .enable_all()
        .build()?;
    let (user, password) = plan.target.credentials();
    let target = Arc::new(Target {
        addr,
        user: user.to_string(),
        password: password.to_string(),
        timeouts: plan.timeouts,
        data: plan.data.clone(),
        declared_passive: plan.declared_passive,
    });
    let started = SystemTime::now();
    let t0 = Instant::now();
    let live = Arc::new(Live::new(t0));
    let mut timeline = Vec::new();
    let (interrupted, cut_off) = rt.block_on(closed_loop(
        plan,
        target,
        &registry,
        &live,
        cancel,
        &mut timeline,
        on_tick,
    ));
    let cpu_s = threads.cpu_s();
    // Dropping the runtime ends every task, so nothing records after the snapshot.
    rt.shutdown_timeout(Duration::from_secs(1));
    let grouped = registry.snapshot();
    Ok(RunOutcome {
        recorder: grouped.combined(),
        groups: grouped.groups,
        timeline,
        started,
        ended: SystemTime::now(),
        elapsed: t0.elapsed(),
        interrupted,
        cut_off,
        cpu_s,
    })
}

async fn closed_loop(
    plan: &Plan,
    target: Arc<Target>,
    registry: &Arc<Registry>,
    live: &Arc<Live>,
    cancel: &Cancel,
    timeline: &mut Vec<Interval>,
    on_tick: &mut dyn FnMut(Tick),
) -> (bool, u64) {
    let t0 = live.start();
    let (stop_tx, stop_rx) = watch::channel(false);
    let budget = Arc::new(AtomicU64::new(match plan.stop {
        Stop::Iterations(n) => n,
        Stop::Duration(_) => u64::MAX,
    }));
    let deadline = match plan.stop {
        Stop::Duration(d) => Some(t0 + d),
        Stop::Iterations(_) => None,
    };
    let total = plan.total_users().max(1);
    let mut tasks = tokio::task::JoinSet::new();
    // What every client of a group shares, built once per group.
    let ctxs: Vec<Arc<Ctx>> = plan
        .groups
        .iter()
        .enumerate()
        .map(|(group, g)| {
            Arc::new(Ctx {
                target: target.clone(),
                sink: GroupSink {
                    registry: registry.clone(),
                    group,
                },
                live: live.clone(),
                ops: g.ops.clone().into(),
                mix: g.mix.clone().map(Arc::new),
                session: g.session,
                retry_pause: plan.retry_pause,
                budget: budget.clone(),
                deadline,
                stop: stop_rx.clone(),
            })
        })
        .collect();
    if let Some(ol) = &plan.open_loop {
        let (plan, ol, stop, ctxs) = (plan.clone(), ol.clone(), stop_rx.clone(), ctxs.clone());
        tasks.spawn(async move {
            let abort = Arc::new(AtomicBool::new(false));
            let _cancelled = open::SetOnDrop(abort.clone());
            let rt = tokio::runtime::Handle::current();
            let _ = tokio::task::spawn_blocking(move || {
                open::arrivals(&plan, &ol, ctxs, stop, abort, rt)
            })
            .await;
        });
    }
    if plan.open_loop.is_none() {
        // Clients in an order that interleaves the groups by weight, so a
        // ramp (or a stage) brings every group up in proportion.
        let mut modes: Vec<std::vec::IntoIter<Mode>> = plan
            .groups
            .iter()
            .map(|g| client_modes(g).collect::<Vec<_>>().into_iter())
            .collect();
        let mut pick = Wrr::new(plan.groups.iter().map(|g| g.users).collect());
        for k in 0..total {
            let gi = pick.pick();
            let g = &plan.groups[gi];
            let Some(mode) = modes[gi].next() else {
                continue;
            };
            let vc = VirtualClient {
                id: k,
                mode,
                bandwidth: g.bandwidth,
                think: g.think,
                transfers_per_session: g.transfers_per_session,
            };
            let seed = plan.seed;
            // With user stages, each client waits for its turn instead.
            let delay = match plan.user_stages {
                Some(_) => Duration::ZERO,
                None => plan.ramp_up.mul_f64(k as f64 / total as f64),
            };
            let ctx = ctxs[gi].clone();
            let stages = plan.user_stages.clone();
            tasks.spawn(async move {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = wait_stop(ctx.stop.clone()) => return,
                }
                client_loop(vc, &ctx, seed, stages.as_ref()).await;
            });
        }
    }

    let modes = wrr::modes(plan);
    let mut sampler = Sampler::new(&modes, target.addr.ip(), plan.open_loop.is_some());
    let mut ticker = tokio::time::interval(SAMPLE);
    // A late tick is skipped, not made up by a burst of samples taken at once.
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
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
                if let Some(point) = sampler.sample(registry, live) {
                    let (counters, errors) = registry.totals();
                    on_tick(Tick { elapsed: t0.elapsed(), counters, errors, clients_running: live.clients() });
                    timeline.push(point);
                }
                if cancel.is_cancelled() {
                    interrupted = true;
                    break;
                }
                if grace_end.is_none() && deadline.is_some_and(|d| Instant::now() >= d) {
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
    let cut_off = live.clients();
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    timeline.extend(sampler.finish(registry, live));
    (interrupted, if interrupted { 0 } else { cut_off })
}

/// Samples the live gauges into each mode's histograms every 100 ms, and
/// every second closes a timeline interval.
struct Sampler {
    modes: Vec<Mode>,
    target: std::net::IpAddr,
    local: bool,
    open_loop: bool,
    /// Samples since the last interval closed.
    samples: u32,
    /// The end of the open interval, in whole seconds since the start.
    t_s: u32,
    second: [Peaks; 4],
    last_started_offered: (u64, u64),
    /// TIME_WAIT as last read, and whether a read is under way: reading
    /// /proc/net/tcp takes up to a second on a busy host with many sockets,
    /// so it runs beside the sampler, never in its way.
    time_wait: Arc<AtomicU64>,
    reading: Arc<AtomicBool>,
}

impl Sampler {
    fn new(modes: &[Mode], target: std::net::IpAddr, open_loop: bool) -> Sampler {
        let local = crate::kernel::is_local(target);
        // Read once before the load, so the first second has a value.
        let time_wait = if local {
            crate::kernel::time_wait(target)
        } else {
            0
        };
        Sampler {
            modes: modes.to_vec(),
            target,
            local,
            open_loop,
            samples: 0,
            t_s: 1,
            time_wait: Arc::new(AtomicU64::new(time_wait)),
            reading: Arc::default(),
            second: Default::default(),
            last_started_offered: (0, 0),
        }
    }

    fn sample(&mut self, registry: &Arc<Registry>, live: &Live) -> Option<Interval> {
        for &m in &self.modes {
            let p = live.take_peaks(m);
            let s = &mut self.second[m.index()];
            s.pending = s.pending.max(p.pending);
            s.open = s.open.max(p.open);
            registry.with_shard(|r| r.run.mode(m).channels.sample(p.pending, p.open, p.in_use));
        }
        self.samples += 1;
        (live.elapsed() >= Duration::from_secs(self.t_s.into()))
            .then(|| self.interval(registry, live))
    }

    fn interval(&mut self, registry: &Arc<Registry>, live: &Live) -> Interval {
        // What the shards recorded since the last interval is this
        // interval's numbers, histograms included.
        let delta = registry.drain().combined();
        self.close(delta, live)
    }

    fn close(&mut self, delta: Recorder, live: &Live) -> Interval {
        let empty = ModeStats::default();
        let mut modes = std::collections::BTreeMap::new();
        for &m in &self.modes {
            let d = delta.get(m).unwrap_or(&empty);
            let c = d.counters;
            let peaks = std::mem::take(&mut self.second[m.index()]);
            let metrics = Metric::ALL
                .into_iter()
                .filter(|&metric| !d.histogram(metric).is_empty())
                .map(|metric| (metric, IntervalMetric::from_histogram(d.histogram(metric))))
                .collect();
            modes.insert(
                m,
                ModeInterval {
                    sessions: c.sessions,
                    transfers: c.transfers,
                    errors: d.error_count(),
                    iterations: c.iterations + c.iterations_failed,
                    bytes: c.bytes_down + c.bytes_up,
                    sessions_open: live.sessions_open(m),
                    peak_pending: peaks.pending,
                    peak_open: peaks.open,
                    metrics,
                },
            );
        }
        self.samples = 0;
        if self.local && !self.reading.swap(true, Ordering::Relaxed) {
            let (target, tw, reading) = (self.target, self.time_wait.clone(), self.reading.clone());
            tokio::task::spawn_blocking(move || {
                tw.store(crate::kernel::time_wait(target), Ordering::Relaxed);
                reading.store(false, Ordering::Relaxed);
            });
        }
        let t_s = self.t_s;
        // Whole seconds the sampler missed (a stalled thread) are skipped.
        self.t_s = (live.elapsed().as_secs() as u32 + 1).max(t_s + 1);
        let (started, offered) = live.started_offered();
        let (s0, o0) = std::mem::replace(&mut self.last_started_offered, (started, offered));
        Interval {
            t_s,
            clients: live.clients(),
            offered: self.open_loop.then_some(offered - o0),
            started: started - s0,
            time_wait: self.time_wait.load(Ordering::Relaxed),
            modes,
        }
    }

    /// The partial last second: samples since the last interval, or counts
    /// recorded after it (iterations finishing in the grace period).
    fn finish(&mut self, registry: &Arc<Registry>, live: &Live) -> Option<Interval> {
        let delta = registry.drain().combined();
        let recorded = delta.iter().next().is_some();
        (self.samples > 0 || recorded).then(|| self.close(delta, live))
    }
}

struct Ctx {
    target: Arc<Target>,
    sink: GroupSink,
    live: Arc<Live>,
    ops: Arc<[Op]>,
    mix: Option<Arc<crate::scenario::Mix>>,
    session: SessionModel,
    retry_pause: Duration,
    budget: Arc<AtomicU64>,
    deadline: Option<Instant>,
    stop: watch::Receiver<bool>,
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

/// A closed-loop client: iterations back to back until the run ends. With
/// user stages, client `id` runs only while the stage wants more than `id`
/// users; otherwise it quits its session and sleeps until its turn comes.
async fn client_loop(vc: VirtualClient, ctx: &Ctx, seed: u64, stages: Option<&UserStages>) {
    let mut rng = crate::client::client_rng(seed, vc.id);
    let env = Env {
        target: &ctx.target,
        sink: &ctx.sink,
        live: &ctx.live,
    };
    let mut session = None;
    let mut running = false;
    loop {
        if let Some(st) = stages {
            let rank = (vc.id + 1) as f64;
            let t = ctx.live.elapsed().as_secs_f64();
            if st.users_at(t) < rank {
                if let Some(c) = session.take() {
                    vc.close(c, &env).await;
                }
                if std::mem::take(&mut running) {
                    ctx.live.client_stopped();
                }
                let Some(at) = st.when_at_least(rank, t) else {
                    break;
                };
                let wake = ctx.live.start() + Duration::from_secs_f64(at);
                tokio::select! {
                    _ = tokio::time::sleep_until(wake.into()) => continue,
                    _ = wait_stop(ctx.stop.clone()) => break,
                }
            }
        }
        if !ctx.next_iteration() {
            break;
        }
        if !std::mem::replace(&mut running, true) {
            ctx.live.client_started();
        }
        ctx.live.iteration_started();
        let start = Instant::now();
        let ok = vc
            .run_ops(&mut session, &ctx.ops, ctx.mix.as_deref(), &env, &mut rng)
            .await;
        let took = start.elapsed();
        ctx.sink.record(vc.mode, |s| {
            // In closed loop an iteration starts when intended: both are the same.
            s.record_duration(Metric::Iteration, took);
            s.record_duration(Metric::IterationCorrected, took);
            if ok {
                s.counters.iterations += 1
            } else {
                s.counters.iterations_failed += 1
            }
        });
        if !ok {
            session = None;
            tokio::select! {
                _ = tokio::time::sleep(ctx.retry_pause) => {}
                _ = wait_stop(ctx.stop.clone()) => {}
            }
        } else if ctx.session == SessionModel::PerIteration {
            if let Some(c) = session.take() {
                vc.close(c, &env).await;
            }
        }
    }
    if let Some(c) = session.take() {
        vc.close(c, &env).await;
    }
    if running {
        ctx.live.client_stopped();
    }
}
