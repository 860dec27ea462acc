//! The closed-loop executor: each virtual client runs its iterations back to
//! back, the next starting when the last ends; how many run is the plan's
//! users, reached over the ramp-up, or moved by user stages.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::{wait_stop, Ctx};
use crate::client::{Env, Sink, VirtualClient};
use crate::metrics::Metric;
use crate::proto::Mode;
use crate::scenario::load::UserStages;
use crate::scenario::{Plan, SessionModel};

/// Starts every client of the plan, in an order that interleaves the
/// groups by weight, so a ramp (or a stage) brings every group up in
/// proportion. One task starts them at their times and then waits for
/// them all: a client's task exists from its start, not from the run's, so
/// a ramp of 50,000 holds no 50,000 sleeping tasks and the memory a
/// session costs grows with the sessions, where the sampler sees it.
pub(super) fn spawn(plan: &Plan, ctxs: &[Arc<Ctx>], tasks: &mut JoinSet<()>) {
    let total = plan.total_users().max(1);
    // With user stages, each client waits for its turn instead.
    let ramp = plan.user_stages.is_none().then_some(plan.ramp_up);
    let order: Vec<(u64, usize, Mode)> = super::own_clients(plan).collect();
    let groups: Vec<VirtualClient> = plan
        .groups
        .iter()
        .map(|g| VirtualClient {
            id: 0,
            mode: Mode::Passive,
            bandwidth: g.bandwidth,
            think: g.think,
            transfers_per_session: g.transfers_per_session,
        })
        .collect();
    let (seed, stages) = (plan.seed, plan.user_stages.clone().map(Arc::new));
    let ctxs = ctxs.to_vec();
    tasks.spawn(async move {
        let start = tokio::time::Instant::now();
        let mut clients = JoinSet::new();
        for (k, gi, mode) in order {
            let ctx = ctxs[gi].clone();
            if let Some(r) = ramp {
                let at = start + r.mul_f64(k as f64 / total as f64);
                if !pause(
                    &ctx,
                    at.saturating_duration_since(tokio::time::Instant::now()),
                )
                .await
                {
                    break;
                }
            }
            let vc = VirtualClient {
                id: k,
                mode,
                ..groups[gi]
            };
            let stages = stages.clone();
            let rt = ctx.runtime(k).clone();
            clients.spawn_on(
                async move {
                    client_loop(&vc, &ctx, seed, stages.as_deref()).await;
                },
                &rt,
            );
        }
        while clients.join_next().await.is_some() {}
    });
}

/// One closed-loop client: iterations back to back until the run ends. With
/// user stages, client `id` runs only while the stage wants more than `id`
/// users; otherwise it quits its session and sleeps until its turn comes.
/// It borrows the client: an async fn keeps its arguments in its future,
/// and every idle client's task would carry a second copy.
async fn client_loop(vc: &VirtualClient, ctx: &Ctx, seed: u64, stages: Option<&UserStages>) {
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
                if pause(ctx, wake.saturating_duration_since(Instant::now())).await {
                    continue;
                }
                break;
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
            pause(ctx, ctx.retry_pause).await;
        } else if ctx.session == SessionModel::PerIteration {
            if let Some(c) = session.take() {
                vc.close(c, &env).await;
            }
        }
        // Think time also between iterations, as Locust's wait_time and k6's
        // sleep: a group of one operation would otherwise never pause. Not
        // part of the iteration's time.
        if let (true, Some(t)) = (ok, &vc.think) {
            pause(ctx, t.sample(&mut rng)).await;
        }
    }
    if let Some(c) = session.take() {
        vc.close(c, &env).await;
    }
    if running {
        ctx.live.client_stopped();
    }
}

/// Sleeps for `d` unless the run stops first; false when it stopped. Every
/// pause of a client (its ramp-up turn, a stage, a retry, think time).
async fn pause(ctx: &Ctx, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = wait_stop(ctx.stop.clone()) => false,
    }
}
