//! The supervisor: while the executors run the clients, it watches the run
//! from above. Every sample tick it has the sampler read the gauges (and,
//! each second, close a timeline interval and show progress); it stops the
//! run at its deadline, gives iterations still running a grace period, and
//! ends at once on cancellation (a signal caught by the CLI, or a test).

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::sampler::Sampler;
use super::{closed, open, Cancel, Ctx, GroupSink, Tick, GRACE, SAMPLE};
use crate::client::Target;
use crate::metrics::shard::Registry;
use crate::metrics::Live;
use crate::result::timeline::Interval;
use crate::scenario::{Plan, Stop};

/// How a supervised run ended.
pub(super) struct Ended {
    pub interrupted: bool,
    /// Clients still mid-iteration when the grace period ran out.
    pub cut_off: u64,
    pub memory: crate::metrics::generator::Memory,
}

/// Starts the plan's executor (open or closed loop) and supervises it to
/// the end; the timeline's intervals are pushed onto `timeline` as they close.
pub(super) async fn supervise(
    plan: &Plan,
    target: Arc<Target>,
    registry: &Arc<Registry>,
    live: &Arc<Live>,
    cancel: &Cancel,
    timeline: &mut Vec<Interval>,
    on_tick: &mut dyn FnMut(Tick),
) -> Ended {
    let t0 = live.start();
    let (stop_tx, stop_rx) = watch::channel(false);
    let deadline = match plan.stop {
        Stop::Duration(d) => Some(t0 + d),
        Stop::Iterations(_) => None,
    };
    let budget = Arc::new(AtomicU64::new(match plan.stop {
        // A shard makes its share of the iterations.
        Stop::Iterations(n) => plan.own_share(n),
        Stop::Duration(_) => u64::MAX,
    }));
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
    // Before the clients: its memory baseline must not hold their tasks.
    let mut sampler = Sampler::new(&super::modes(plan), plan.open_loop.is_some());
    let mut tasks = JoinSet::new();
    match &plan.open_loop {
        Some(ol) => open::spawn(plan, ol, ctxs, stop_rx, &mut tasks),
        None => closed::spawn(plan, &ctxs, &mut tasks),
    }

    let mut ticker = tokio::time::interval(SAMPLE);
    // A late tick is skipped, not made up by a burst of samples taken at once.
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    ticker.tick().await;
    let mut interrupted = false;
    let mut grace_end: Option<tokio::time::Instant> = None;
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
                if grace_end.is_none() && deadline.is_some_and(|d| Instant::now() >= d) {
                    let _ = stop_tx.send(true);
                    grace_end = Some(tokio::time::Instant::now() + GRACE);
                }
                if grace_end.is_some_and(|g| tokio::time::Instant::now() >= g) {
                    break;
                }
            }
            _ = cancel.cancelled() => {
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
    Ended {
        interrupted,
        cut_off: if interrupted { 0 } else { cut_off },
        memory: sampler.memory,
    }
}
