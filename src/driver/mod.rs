//! Executors: who starts which iteration, and when. The closed loop
//! ([`closed`]) runs each virtual client's iterations back to back; the open
//! loop ([`open`]) starts arrivals on a schedule, handing the same client an
//! intended start time instead. The [`supervisor`] starts one of them and
//! watches the run to its end, with the [`sampler`] turning each second into
//! a timeline interval.
//!
//! The clients run on the [`pool`]'s worker threads, a runtime each, and
//! each thread owns a recorder shard, so recording takes no contended lock;
//! the supervisor and the executors' starters on a small runtime of their own.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

mod closed;
mod open;
mod pool;
mod sampler;
mod supervisor;
mod wrr;

pub use wrr::{client_modes, modes, own_clients, Wrr};

use crate::client::{Sink, Target};
use crate::metrics::shard::Registry;
use crate::metrics::{Counters, Live, ModeStats, Recorder};
use crate::proto::Mode;
use crate::result::timeline::Interval;
use crate::scenario::{Op, Plan, SessionModel};

/// A request to stop a run early, from outside: the CLI cancels it on
/// SIGINT or SIGTERM, a test whenever it likes. Clones share one token.
pub type Cancel = tokio_util::sync::CancellationToken;

/// How long iterations still running at the deadline may take to finish
/// before they are cut off; they are counted either way.
pub const GRACE: Duration = Duration::from_secs(10);

/// Gauges are sampled this often; the timeline and progress tick every second.
pub(crate) const SAMPLE: Duration = Duration::from_millis(100);

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
    /// Stopped by a cancel request (SIGINT, SIGTERM) before its planned end.
    pub interrupted: bool,
    /// Virtual clients still mid-iteration when the grace period ran out.
    pub cut_off: u64,
    /// CPU seconds the generator's worker threads used.
    pub cpu_s: f64,
    /// The generator's resident memory over the run.
    pub memory: crate::metrics::generator::Memory,
}

/// Runs the plan against `addr` until it ends or `cancel` fires, on runtimes
/// of its own: the clients on the pool's worker threads, each owning a
/// recorder shard.
pub fn run(
    plan: &Plan,
    addr: SocketAddr,
    tls: Option<crate::proto::tls::TlsClient>,
    cancel: &Cancel,
    on_tick: &mut dyn FnMut(Tick),
) -> std::io::Result<RunOutcome> {
    crate::sys::keep_freed_memory();
    let registry = Registry::new();
    let reg = registry.clone();
    let threads = Arc::new(crate::metrics::generator::Threads::default());
    let th = threads.clone();
    let pool = pool::Pool::start(plan.workers, &registry, &threads)?;
    // The supervisor and the starters: they sleep until a ramp step, an
    // arrival's spawn or the deadline, so one thread is plenty.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("ftpload-control")
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
        sources: plan.source_ips.clone(),
        tls,
    });
    let started = SystemTime::now();
    let t0 = Instant::now();
    let live = Arc::new(Live::new(t0));
    // Before the clients: its memory baseline must not hold their tasks.
    let mut sampler = sampler::Sampler::new(&modes(plan), plan.open_loop.is_some());
    let (done_tx, done) = std::sync::mpsc::channel();
    let supervisor = rt.spawn(supervisor::supervise(
        Arc::new(plan.clone()),
        target,
        registry.clone(),
        live.clone(),
        cancel.clone(),
        pool.handles(),
        done_tx,
    ));
    let timeline = sample_until_done(&mut sampler, &done, &registry, &live, on_tick);
    let ended = match rt.block_on(supervisor) {
        Ok(ended) => ended,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    let cpu_s = threads.cpu_s();
    // Ending the runtimes ends every task, so nothing records after the snapshot.
    rt.shutdown_timeout(Duration::from_secs(1));
    pool.stop();
    let grouped = registry.snapshot();
    Ok(RunOutcome {
        recorder: grouped.combined(),
        groups: grouped.groups,
        timeline,
        started,
        ended: SystemTime::now(),
        elapsed: t0.elapsed(),
        interrupted: ended.interrupted,
        cut_off: ended.cut_off,
        cpu_s,
        memory: sampler.memory,
    })
}

/// The run's sample clock, on the caller's thread: every [`SAMPLE`] the
/// sampler reads the gauges, and each second closes a timeline interval and
/// shows a tick, until the supervisor's task drops its end of `done`.
///
/// A thread waiting on a channel with a timeout wakes once a sample, and at
/// once when the run ends. A tokio interval
/// cost more: its 100 ms deadline sits on the timer wheel's second level,
/// so the worker holding the driver woke twice a tick, and a supervisor in
/// `block_on` on this thread woke three threads a tick; an idle second cost
/// 1.4-1.9 ms of CPU on this machine, where one wake costs about 40 µs.
fn sample_until_done(
    sampler: &mut sampler::Sampler,
    done: &std::sync::mpsc::Receiver<()>,
    registry: &Arc<Registry>,
    live: &Live,
    on_tick: &mut dyn FnMut(Tick),
) -> Vec<Interval> {
    let mut timeline = Vec::new();
    let mut next = live.start() + SAMPLE;
    loop {
        let now = Instant::now();
        if now < next {
            match done.recv_timeout(next - now) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                // Dropped: the supervisor has ended (or panicked).
                _ => break,
            }
        }
        // A late sample is skipped, not made up by a burst taken at once.
        while next <= now {
            next += SAMPLE;
        }
        if let Some(point) = sampler.sample(registry, live) {
            let (counters, errors) = registry.totals();
            on_tick(Tick {
                elapsed: live.elapsed(),
                counters,
                errors,
                clients_running: live.clients(),
            });
            timeline.push(point);
        }
    }
    timeline.extend(sampler.finish(registry, live));
    timeline
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
    /// The worker threads' runtimes, one of which each client runs on.
    runtimes: Arc<[tokio::runtime::Handle]>,
}

impl Ctx {
    /// The runtime client `id` runs on, for its whole life.
    fn runtime(&self, id: u64) -> &tokio::runtime::Handle {
        pool::runtime_of(&self.runtimes, id)
    }

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
