//! The supervisor: while the executors run the clients, it watches the run
//! from above. It stops the run at its deadline, gives iterations still
//! running a grace period, and ends at once on cancellation (a signal caught
//! by the CLI, or a test). It runs as a task on the run's own workers and
//! wakes only for those moments: the sample clock is the caller's thread
//! (see [`super::run`]), so an idle run wakes no worker.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{closed, open, Cancel, Ctx, GroupSink, GRACE};
use crate::client::Target;
use crate::metrics::shard::Registry;
use crate::metrics::Live;
use crate::scenario::{Plan, Stop};

/// How a supervised run ended.
pub(super) struct Ended {
    pub interrupted: bool,
    /// Clients still mid-iteration when the grace period ran out.
    pub cut_off: u64,
}

/// Starts the plan's executor (open or closed loop) and supervises it to
/// the end. The caller has started `live`'s clock.
pub(super) async fn supervise(
    plan: Arc<Plan>,
    target: Arc<Target>,
    registry: Arc<Registry>,
    live: Arc<Live>,
    cancel: Cancel,
    runtimes: Arc<[tokio::runtime::Handle]>,
    // Dropped when this ends, which ends the caller's sample clock.
    _done: std::sync::mpsc::Sender<()>,
) -> Ended {
    let plan = &*plan;
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
                runtimes: runtimes.clone(),
            })
        })
        .collect();
    let mut tasks = JoinSet::new();
    match &plan.open_loop {
        Some(ol) => open::spawn(plan, ol, ctxs, stop_rx, &mut tasks),
        None => closed::spawn(plan, &ctxs, &mut tasks),
    }

    let mut interrupted = false;
    // Far enough never to come, for a run that ends by its iteration count.
    let never = tokio::time::Instant::now() + std::time::Duration::from_secs(86_400 * 365);
    let mut deadline = deadline.map_or(never, tokio::time::Instant::from_std);
    let mut in_grace = false;
    loop {
        tokio::select! {
            done = tasks.join_next() => {
                if done.is_none() {
                    break;
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                if in_grace {
                    break;
                }
                let _ = stop_tx.send(true);
                in_grace = true;
                deadline = tokio::time::Instant::now() + GRACE;
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
    Ended {
        interrupted,
        cut_off: if interrupted { 0 } else { cut_off },
    }
}
