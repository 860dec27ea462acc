//! The open-loop executor: arrivals start on the schedule, not when the
//! server lets the last one finish. Each arrival is a client of its own (log
//! in, run the group's operations once, quit); a group's `users` caps how many
//! run at once. An arrival that finds them all busy waits for one, up to
//! `max_wait`, and is counted late; past that it is dropped and counted.
//! Latency is kept both from the actual start and from the intended one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use super::{client_modes, Ctx, Wrr};
use crate::client::{Env, Sink, VirtualClient};
use crate::metrics::{Metric, LATE};
use crate::proto::Mode;
use crate::scenario::load::OpenLoop;
use crate::scenario::Plan;
use crate::schedule::Schedule;

/// A very long run, for schedules that end by iteration count instead.
const NO_END: Duration = Duration::from_secs(365 * 24 * 3600);

struct Group {
    ctx: Arc<Ctx>,
    bandwidth: Option<u64>,
    think: Option<crate::scenario::think::Think>,
    transfers_per_session: Option<u32>,
    clients: Arc<Semaphore>,
    modes: Vec<Mode>,
    next_mode: usize,
}

/// Starts the arrival thread; the task that waits for it tells it to stop
/// (by dropping [`SetOnDrop`]) when the supervisor aborts the run.
pub(super) fn spawn(
    plan: &Plan,
    ol: &OpenLoop,
    ctxs: Vec<Arc<Ctx>>,
    stop: watch::Receiver<bool>,
    tasks: &mut JoinSet<()>,
) {
    let (plan, ol) = (plan.clone(), ol.clone());
    tasks.spawn(async move {
        let abort = Arc::new(AtomicBool::new(false));
        let _cancelled = SetOnDrop(abort.clone());
        let _ = tokio::task::spawn_blocking(move || arrivals(&plan, &ol, ctxs, stop, abort)).await;
    });
}

/// A group's cap on clients at once in this process: its shard's share of
/// the group's users (at least one, so every shard can start its arrivals).
fn own_users(plan: &Plan, users: u32) -> usize {
    plan.own_share(users.into()).max(1) as usize
}

/// Runs the schedule to its end (or the stop signal), then waits for the
/// arrivals still running; `abort` cancels them all.
///
/// It runs on a thread of its own, not as a task: tokio's timer ticks in
/// whole milliseconds, so arrivals it wakes start up to a millisecond late,
/// which would be the generator's own lag in every measurement. A thread
/// sleeping with the OS's timer starts them within tens of microseconds.
fn arrivals(
    plan: &Plan,
    ol: &OpenLoop,
    ctxs: Vec<Arc<Ctx>>,
    stop: watch::Receiver<bool>,
    abort: Arc<AtomicBool>,
) {
    let t0 = ctxs[0].live.start();
    let end = match plan.stop {
        crate::scenario::Stop::Duration(d) => d,
        crate::scenario::Stop::Iterations(_) => NO_END,
    };
    let mut groups: Vec<Group> = plan
        .groups
        .iter()
        .zip(ctxs)
        .map(|(g, ctx)| Group {
            ctx,
            bandwidth: g.bandwidth,
            think: g.think,
            transfers_per_session: g.transfers_per_session,
            clients: Arc::new(Semaphore::new(own_users(plan, g.users))),
            modes: client_modes(g).collect(),
            next_mode: 0,
        })
        .collect();
    let mut pick = Wrr::new(plan.groups.iter().map(|g| g.users).collect());
    let mut running = JoinSet::new();
    for (k, offset) in Schedule::new(ol, plan.seed, end).enumerate() {
        let intended = t0 + offset;
        if !sleep_until(intended, &stop, &abort) {
            break;
        }
        let g = &mut groups[pick.pick()];
        let mode = g.modes[g.next_mode % g.modes.len()];
        g.next_mode += 1;
        // Another shard's arrival: the group and mode it took are kept
        // walking, so this shard's arrivals are exactly the whole run's.
        if !plan.takes(k as u64) {
            continue;
        }
        if !g.ctx.take_iteration() {
            break;
        }
        g.ctx.live.arrival_due();
        let vc = VirtualClient {
            id: k as u64,
            mode,
            bandwidth: g.bandwidth,
            think: g.think,
            transfers_per_session: g.transfers_per_session,
        };
        let seed = plan.seed;
        let (ctx, clients, max_wait) = (g.ctx.clone(), g.clients.clone(), ol.max_wait);
        let on = ctx.runtime(k as u64).clone();
        running.spawn_on(
            async move {
                let waiting = Waiting::new(&ctx, mode);
                let got = tokio::time::timeout(max_wait, clients.acquire_owned()).await;
                waiting.resolved();
                let Ok(Ok(_permit)) = got else {
                    ctx.sink.record(mode, |s| s.counters.dropped += 1);
                    return;
                };
                ctx.live.iteration_started();
                let actual = Instant::now();
                let lag = actual.saturating_duration_since(intended);
                ctx.live.client_started();
                let (ok, end) = one_arrival(vc, &ctx, seed).await;
                ctx.live.client_stopped();
                ctx.sink.record(mode, |s| {
                    s.record_duration(Metric::ScheduleLag, lag);
                    s.counters.late += u64::from(lag > LATE);
                    s.record_duration(Metric::Iteration, end - actual);
                    s.record_duration(
                        Metric::IterationCorrected,
                        end.saturating_duration_since(intended),
                    );
                    if ok {
                        s.counters.iterations += 1;
                    } else {
                        s.counters.iterations_failed += 1;
                    }
                });
            },
            &on,
        );
        // Reap finished arrivals so the set holds only those running.
        while running.try_join_next().is_some() {}
    }
    // Let the arrivals still running finish, unless the run is being cut off
    // (dropping the set cancels them). Checked with the OS's sleep, not a
    // tokio timer: at a cut-off the control runtime is shutting down, and a
    // timer of it polled from here then panics.
    while !abort.load(Ordering::Relaxed) {
        while running.try_join_next().is_some() {}
        if running.is_empty() {
            break;
        }
        std::thread::sleep(POLL);
    }
}

/// An arrival waiting for a free client of its group. If the run is cut off
/// while it waits (the task is dropped), it is counted as `unstarted`, so
/// every arrival taken from the schedule ends up counted somewhere.
struct Waiting<'a> {
    ctx: &'a Ctx,
    mode: Mode,
    resolved: bool,
}

impl<'a> Waiting<'a> {
    fn new(ctx: &'a Ctx, mode: Mode) -> Self {
        Waiting {
            ctx,
            mode,
            resolved: false,
        }
    }

    fn resolved(mut self) {
        self.resolved = true;
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if !self.resolved {
            self.ctx
                .sink
                .record(self.mode, |s| s.counters.unstarted += 1);
        }
    }
}

/// How often the arrival thread looks at the stop and abort signals.
const POLL: Duration = Duration::from_millis(50);

/// Sleeps until `t` with the OS's timer; false if the run stops first.
fn sleep_until(t: Instant, stop: &watch::Receiver<bool>, abort: &AtomicBool) -> bool {
    loop {
        if *stop.borrow() || abort.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= t {
            return true;
        }
        std::thread::sleep((t - now).min(POLL));
    }
}

/// Sets its flag when dropped: when the task awaiting the arrival thread is
/// cancelled, the thread hears of it.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// One arrival's session; returns whether it worked and when its operations
/// ended (the QUIT after them is not timed, as in closed loop).
async fn one_arrival(vc: VirtualClient, ctx: &Ctx, seed: u64) -> (bool, Instant) {
    let env = Env {
        target: &ctx.target,
        sink: &ctx.sink,
        live: &ctx.live,
    };
    let mut rng = crate::client::client_rng(seed, vc.id);
    let mut session = None;
    let ok = vc
        .run_ops(&mut session, &ctx.ops, ctx.mix.as_deref(), &env, &mut rng)
        .await;
    let end = Instant::now();
    if let Some(s) = session {
        vc.close(s, &env).await;
    }
    (ok, end)
}

impl Ctx {
    /// Takes one iteration from the run's budget (for runs that end by count).
    fn take_iteration(&self) -> bool {
        self.budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }
}
