//! `ftpload run`: the flags a user reaches for most, layered over the
//! scenario file, and the exit code a CI job acts on.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::signal::Signals;
use super::{exit, said_fallback, TargetArgs, AFTER_HELP};
use crate::result::write;
use crate::run::{self, RunError, Status};
use crate::scenario::units::{parse_duration, parse_positive_duration};
use crate::scenario::{Overrides, Plan};
use crate::threshold;

#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct RunArgs {
    /// Scenario file (TOML); see scenarios/reference.toml for every key.
    pub scenario: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Total virtual clients, split over the groups in proportion.
    #[arg(long, value_name = "N")]
    pub users: Option<u32>,
    /// Run length including ramp-up, e.g. 30s, 2m.
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration, conflicts_with = "iterations", allow_hyphen_values = true)]
    pub duration: Option<Duration>,
    /// Total iterations over all clients (one iteration = one pass through a group's ops).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub iterations: Option<u64>,
    /// Spread client starts over this long, e.g. 5s (a connect burst overflows small listen queues).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub ramp_up: Option<Duration>,
    /// Open loop: start this many iterations per second whatever the server
    /// does (e.g. 50/s, 300/m), each on a client of its own; a group's users
    /// cap its clients at once. Latency is then also measured from each
    /// iteration's intended start (coordinated omission corrected).
    #[arg(long, value_name = "RATE", value_parser = crate::scenario::load::parse_rate)]
    pub rate: Option<f64>,
    /// Seed for every random choice (Poisson arrivals, think times, operation
    /// mixes), so a run repeats exactly.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Run only the I-th of N disjoint slices of the clients, arrivals and
    /// iterations (e.g. 2/4), each client keeping the id, mode, start time
    /// and random draws it has in the whole run: N shards, on one machine or
    /// several, together make the one run; `ftpload merge` their results.
    /// `auto`: I and N from a Slurm job array's task (SLURM_ARRAY_TASK_ID,
    /// _COUNT, _MIN) or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX
    /// (with --shard-count N).
    #[arg(long, value_name = "I/N|auto", value_parser = crate::scenario::ShardArg::parse)]
    pub shard: Option<crate::scenario::ShardArg>,
    /// Hold the load until this instant, so shards started apart (by a
    /// cluster's scheduler) begin together: RFC 3339 UTC
    /// (2026-11-26T14:00:00Z), or +30s from now. A shard that comes after
    /// it starts at once and says it was late; each records its skew.
    #[arg(long, value_name = "TIME", value_parser = |s: &str| crate::scenario::parse_start_at(s, std::time::SystemTime::now()))]
    pub start_at: Option<std::time::SystemTime>,
    /// How many shards the run has, for --shard auto under a Kubernetes
    /// Indexed Job (its completions); checked against Slurm's count.
    #[arg(long, value_name = "N", requires = "shard", value_parser = clap::value_parser!(u32).range(1..))]
    pub shard_count: Option<u32>,
    /// Run as N shard processes on this machine (`--shard 1/N` to `N/N`,
    /// each its own process with its own open-file limit) and merge their
    /// results exactly into one; the thresholds are judged on the merge.
    #[arg(long, value_name = "N", conflicts_with = "shard", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub local_shards: Option<u32>,
    /// Worker threads of the load generator (default: one per core).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Connect to the address a 227 reply names even when it differs from the
    /// server's (off by default: a NAT'd server lies, another host is a bounce risk).
    #[arg(long)]
    pub follow_pasv_address: bool,
    /// Result file (default: results/<UTC time>-<scenario>.json); `-`
    /// writes it to stdout as one JSON document (the summary then goes to
    /// stderr), for a shard whose log is its only way out.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write the result into this folder as <scenario>.json, or as
    /// <scenario>-shard-I-of-N.json for a shard: a shared folder a job
    /// array's shards all write to, one file each, for `ftpload merge DIR`.
    #[arg(long, value_name = "DIR", conflicts_with = "out")]
    pub out_dir: Option<PathBuf>,
    /// A pass/fail criterion, e.g. 'session_setup.p99=< 50ms' or
    /// 'errors.rate=< 0.001' (repeatable; replaces the scenario's
    /// [thresholds] entry of the same key). Any breach exits 99.
    #[arg(long, value_name = "KEY=BOUND")]
    pub threshold: Vec<String>,
    /// Also write the thresholds as JUnit XML (one test case each), for
    /// GitLab and Jenkins.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write the result as CSV files into this folder: summary.csv (per
    /// mode and operation), timeline.csv (per second and mode), counters.csv.
    #[arg(long, value_name = "DIR")]
    pub csv: Option<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// No progress line.
    #[arg(long, short)]
    pub quiet: bool,
}

/// What of the server to watch for its cost, each second: by default the
/// embedded target's threads, or the process listening on the target's
/// port when it runs on this host.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Watch this local process and its children as the server (CPU user
    /// and system, reaped children's too; memory; processes; descriptors),
    /// instead of the one found listening on the target's port.
    #[arg(long, value_name = "PID", conflicts_with_all = ["server_metrics", "no_server_watch"])]
    pub server_pid: Option<i32>,
    /// Scrape a Prometheus exporter on the server's host each second
    /// (node_exporter: the host's CPU and memory), e.g.
    /// http://10.0.0.5:9100/metrics.
    #[arg(long, value_name = "URL", conflicts_with = "no_server_watch")]
    pub server_metrics: Option<String>,
    /// Do not watch the server at all.
    #[arg(long)]
    pub no_server_watch: bool,
}

impl ServerArgs {
    /// The plan's [`ServerWatch`], the URL checked.
    pub fn watch(&self) -> Result<crate::scenario::ServerWatch, super::UsageError> {
        use crate::scenario::ServerWatch;
        Ok(
            match (self.server_pid, &self.server_metrics, self.no_server_watch) {
                (_, _, true) => ServerWatch::Off,
                (Some(pid), _, _) => ServerWatch::Pid(pid),
                (None, Some(url), _) => ServerWatch::Exporter(
                    crate::server::prom::check_url(url)
                        .map_err(|e| super::UsageError(format!("--server-metrics {url}: {e}")))?,
                ),
                (None, None, false) => ServerWatch::Auto,
            },
        )
    }
}

pub(super) fn execute(a: RunArgs, signals: &Signals) -> anyhow::Result<ExitCode> {
    let o = Overrides {
        users: a.users,
        duration: a.duration,
        iterations: a.iterations,
        ramp_up: a.ramp_up,
        workers: a.workers,
        follow_pasv_address: a.follow_pasv_address,
        rate: a.rate,
        seed: a.seed,
        start_at: a.start_at,
        shard: a
            .shard
            .map(|s| s.resolve(a.shard_count, |k| std::env::var(k).ok()))
            .transpose()
            .map_err(super::UsageError)?,
        server_watch: a.server.watch()?,
        ..a.target.clone().overrides()?
    };
    let plan = Plan::load(&a.scenario, &o)?;
    let thresholds = threshold::from_plan(&plan, &a.threshold)?;
    if let Some(dir) = &a.out_dir {
        write::check_dir("--out-dir", dir)?;
    }
    let a = RunArgs {
        out: a.out.clone().or_else(|| in_out_dir(&a, &plan)),
        ..a
    };
    check_outputs(&a, &plan)?;
    if let Some(n) = a.local_shards {
        return super::shards::run(n, &plan, &thresholds, &a, signals);
    }
    let cancel = signals.cancel();
    let aborted = std::cell::RefCell::new(None::<String>);
    let hooks = run::Hooks {
        tick: Box::new(|t| {
            if aborted.borrow().is_some() {
                return;
            }
            if let Some(lost) = threshold::lost_early(&thresholds, t.elapsed, &t.counters, t.errors)
            {
                eprintln!(
                    "\nthreshold {} {} {} lost: stopping the run (abort_on_fail)",
                    lost.key,
                    lost.cmp.as_str(),
                    lost.bound_text
                );
                *aborted.borrow_mut() = Some(lost.key.clone());
                cancel.cancel();
            }
        }),
        judge: Box::new(|r| {
            r.thresholds = threshold::evaluate(&thresholds, r);
            r.aborted_by_threshold = aborted.borrow().clone();
        }),
    };
    let f = run::run_with(
        &plan,
        &run::Options {
            out: a.out.clone(),
            quiet: a.quiet,
            cancel: signals.cancel(),
        },
        hooks,
    )
    .map_err(|e| match e {
        RunError::Result(_) => anyhow::Error::new(e),
        e => anyhow::Error::new(e).context(format!("run of {} failed", a.scenario.display())),
    })?;
    finish(f, &a, signals)
}

/// The result's path under `--out-dir`: named by the scenario and the
/// shard, so a rerun of one array task replaces its own file only.
fn in_out_dir(a: &RunArgs, plan: &Plan) -> Option<PathBuf> {
    let name = match plan.shard {
        Some(s) => format!("{}-shard-{}-of-{}.json", plan.name, s.index, s.count),
        None => format!("{}.json", plan.name),
    };
    Some(a.out_dir.as_ref()?.join(name))
}

/// Every output checked before the run, so a typo'd path costs a second.
fn check_outputs(a: &RunArgs, plan: &Plan) -> Result<(), write::Unwritable> {
    match &a.out {
        Some(out) => write::check_file("--out", out)?,
        None => write::check_file(
            "result file",
            &crate::result::default_path(&plan.name, std::time::SystemTime::now()),
        )?,
    }
    if let Some(path) = &a.junit {
        write::check_file("--junit", path)?;
    }
    if let Some(dir) = &a.csv {
        write::check_dir("--csv", dir)?;
    }
    Ok(())
}

/// What every run ends with, one process or merged shards: the summary and
/// thresholds printed, the reports written (each to its fallback when the
/// disk filled up meanwhile), and the exit code a CI job acts on.
pub(super) fn finish(f: run::Finished, a: &RunArgs, signals: &Signals) -> anyhow::Result<ExitCode> {
    let text = format!(
        "{}{}",
        crate::summary::render(&f.result),
        threshold::render(&f.result.thresholds)
    );
    let to_stdout = super::say(&text, a.out.as_deref());
    // The result is written; the reports follow it, each to its fallback
    // when the disk filled up meanwhile (exit 3 then, as for the result).
    let mut fell_back = said_fallback("the result", &f.path, f.write_error.as_ref());
    if let Some(path) = &a.junit {
        let s = write::or_fallback(path, |p| {
            threshold::junit::write(p, &f.result)
                .map_err(|e| anyhow::anyhow!("cannot write JUnit report {}: {e}", p.display()))
        })?;
        fell_back |= said_fallback("the JUnit report", &s.path, s.failed.as_ref());
    }
    if let Some(dir) = &a.csv {
        let s = write::or_fallback(dir, |d| crate::report::csv::write(d, &f.result))?;
        fell_back |= said_fallback("the CSV files", &s.path, s.failed.as_ref());
    }
    if f.write_error.is_none() && !to_stdout {
        println!("\nresult written to {}", f.path.display());
    }
    if fell_back {
        return Ok(ExitCode::from(exit::RUN));
    }
    let breached = f.result.thresholds.iter().filter(|t| !t.pass).count();
    if let Some(key) = &f.result.aborted_by_threshold {
        eprintln!(
            "threshold {key} stopped the run (abort_on_fail): the result holds what ran until then"
        );
        return Ok(ExitCode::from(exit::THRESHOLDS));
    }
    if breached > 0 && f.status != Status::Interrupted {
        if let Status::Failures(_) = f.status {
            eprintln!("{}", failures_line(&f.result));
        }
        eprintln!(
            "{breached} of {} thresholds failed",
            f.result.thresholds.len()
        );
        return Ok(ExitCode::from(exit::THRESHOLDS));
    }
    Ok(ExitCode::from(match f.status {
        Status::Clean => exit::OK,
        Status::Failures(_) => {
            eprintln!("{}", failures_line(&f.result));
            exit::FAILURES
        }
        Status::Interrupted => {
            eprintln!("interrupted: the result holds what ran until then");
            signals.exit_code()
        }
    }))
}

/// The line under a run that recorded failures: errors by class, and
/// iterations cut off unfinished, which no class counts.
fn failures_line(r: &crate::result::RunResult) -> String {
    let errors = format!(
        "{} failures recorded (see \"errors by class\" above)",
        r.error_count()
    );
    match (r.error_count(), r.cut_off.get().unwrap_or(0)) {
        (_, 0) => errors,
        (0, cut) => format!("{cut} iterations cut off unfinished (see \"CUT OFF\" above)"),
        (_, cut) => format!("{errors}; {cut} iterations cut off unfinished"),
    }
}
