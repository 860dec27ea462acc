//! The `run` command from plan to written result: start the embedded target
//! when no target is given, check the target answers and holds the files the
//! scenario reads (an unmeasured set-up phase), drive the load, then write the
//! result whatever happened, so nothing gathered is lost.

mod start;

use std::net::SocketAddr;
use std::path::PathBuf;

use start::{hold_until, set_up, tls_client, watch_server};

use crate::driver::{self, Cancel};
use crate::embedded::{EmbeddedConfig, EmbeddedError, EmbeddedServer};
use crate::proto::tls::TlsSetupError;
use crate::proto::{resolve, Mode, ProtoError, ResolveError};
use crate::result::{self, ResultError, RunResult, TargetInfo, Tool, SCHEMA_VERSION};
use crate::scenario::{Plan, TargetPlan};
use crate::server::Watch;
use crate::summary::Progress;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// FTPS could not be set up (a CA file unreadable, no trust store).
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    /// Says the protocol error in its words, as a leaf: those words are
    /// what a user acts on (and tests read), and `ProtoError` has no source.
    #[error("target {addr} is not usable: {error}")]
    Unreachable { addr: SocketAddr, error: ProtoError },
    /// The server answered and said no: not unreachable, and not fixed by
    /// retrying (the probe says the same, `login_refused`).
    #[error(
        "the server at {addr} refused the login as {user}: {reply}: check the user and password"
    )]
    LoginRefused {
        addr: SocketAddr,
        user: String,
        reply: String,
    },
    #[error("set-up on {addr}: {message}")]
    Setup { addr: SocketAddr, message: String },
    #[error("this run needs about {needed} open files ({why}), but the limit is {limit}: lower the users or raise `ulimit -n` (hard limit)")]
    FileLimit {
        needed: u64,
        limit: u64,
        why: String,
    },
    /// `--source-ips` of another family than the address the target's
    /// name resolved to: bad input, found once resolved.
    #[error("{0}")]
    SourceFamily(String),
    /// PASV or PORT against an IPv6 target: neither can carry an IPv6
    /// address (RFC 2428), so the run is refused before it starts.
    #[error("mode {mode} cannot work against {addr}: {verb} cannot carry an IPv6 address (RFC 2428); use {instead}")]
    Ipv4Only {
        mode: Mode,
        addr: SocketAddr,
        verb: &'static str,
        instead: Mode,
    },
    #[error("cannot start the load runtime: {0}")]
    Runtime(std::io::Error),
    /// `--server-pid` or `--server-metrics` could not be read before the
    /// run: bad input, nothing ran.
    #[error("cannot watch the server")]
    ServerWatch(#[from] crate::server::WatchError),
    #[error(transparent)]
    Result(#[from] ResultError),
}

/// How the run ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Clean,
    /// Finished, with this many failures recorded (iterations cut off
    /// unfinished at the end included).
    Failures(u64),
    Interrupted,
}

impl Status {
    /// How a finished result ended: one run's, or shards' merged.
    pub fn of(r: &RunResult) -> Status {
        if r.interrupted {
            return Status::Interrupted;
        }
        // An iteration cut off unfinished is a failure no class counted.
        match r.error_count() + r.cut_off.get().unwrap_or(0) {
            0 => Status::Clean,
            n => Status::Failures(n),
        }
    }
}

pub struct Options {
    pub out: Option<PathBuf>,
    pub quiet: bool,
    /// Stops the run early; what ran until then is written, marked
    /// `interrupted`. The CLI cancels it on SIGINT or SIGTERM.
    pub cancel: Cancel,
}

pub struct Finished {
    pub result: RunResult,
    /// Where the result was written: the requested path, or a fallback.
    pub path: PathBuf,
    /// Why the requested path could not be written, when the fallback was used.
    pub write_error: Option<ResultError>,
    pub status: Status,
}

/// What a caller adds to a run: a look at the totals each tick (to stop it
/// early through `Options::cancel`), and a last word on the result before
/// it is written (the thresholds' outcomes).
pub struct Hooks<'a> {
    pub tick: Box<dyn FnMut(&driver::Tick) + 'a>,
    pub judge: Box<dyn FnOnce(&mut RunResult) + 'a>,
}

impl Default for Hooks<'_> {
    fn default() -> Self {
        Hooks {
            tick: Box::new(|_| {}),
            judge: Box::new(|_| {}),
        }
    }
}

pub fn run(plan: &Plan, opts: &Options) -> Result<Finished, RunError> {
    run_with(plan, opts, Hooks::default())
}

pub fn run_with(plan: &Plan, opts: &Options, hooks: Hooks) -> Result<Finished, RunError> {
    let Hooks {
        tick: mut on_tick,
        judge,
    } = hooks;
    check_file_budget(plan)?;
    let embedded = match &plan.target {
        TargetPlan::Embedded {
            passive_ports,
            max_connections,
            threads,
            login_delay,
            user,
            password,
        } => Some(EmbeddedServer::start(EmbeddedConfig {
            passive_ports: passive_ports.first..=passive_ports.last,
            user: user.clone(),
            password: password.clone(),
            files: plan.files.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            max_connections: *max_connections,
            runtime_threads: *threads,
            login_delay: *login_delay,
            tls: plan.tls.is_some(),
            ..EmbeddedConfig::default()
        })?),
        TargetPlan::External { .. } => None,
    };
    let (addr, info) = match (&plan.target, &embedded) {
        (
            TargetPlan::External {
                host, port, user, ..
            },
            _,
        ) => (
            resolve(host, *port)?,
            TargetInfo {
                kind: "external".into(),
                host: host.clone(),
                port: *port,
                user: user.clone(),
                banner: String::new(),
                family: String::new(),
            },
        ),
        (TargetPlan::Embedded { user, .. }, Some(s)) => (
            s.addr(),
            TargetInfo {
                kind: "embedded".into(),
                host: s.addr().ip().to_string(),
                port: s.addr().port(),
                user: user.clone(),
                banner: String::new(),
                family: String::new(),
            },
        ),
        (TargetPlan::Embedded { .. }, None) => unreachable!("embedded target started above"),
    };
    if let Some(s) = &plan.source_ips {
        s.check_family(addr.ip()).map_err(RunError::SourceFamily)?;
    }
    if addr.is_ipv6() {
        for mode in driver::modes(plan) {
            let (verb, instead) = match mode {
                Mode::Passive => ("PASV", Mode::Epsv),
                Mode::Active => ("PORT", Mode::Eprt),
                _ => continue,
            };
            return Err(RunError::Ipv4Only {
                mode,
                addr,
                verb,
                instead,
            });
        }
    }
    let tls = tls_client(plan, embedded.as_ref())?;
    // Watched from before the set-up session to after the last session
    // ends, so the server's whole share of the run is in it.
    let watch = watch_server(plan, addr, embedded.is_some())?;
    let banner = set_up(plan, addr, tls.as_ref(), embedded.is_none())?;

    let kernel_before = crate::kernel::is_local(addr.ip())
        .then(|| crate::kernel::Sample::take(None))
        .flatten();
    let start_at = plan
        .start_at
        .map(|at| hold_until(at, &opts.cancel, opts.quiet));
    let mut progress = Progress::new(plan.stop, opts.quiet);
    let stop = plan.stop;
    let load_began = std::time::Instant::now();
    let outcome = driver::run(plan, addr, tls, &opts.cancel, &mut |t| {
        on_tick(&t);
        progress.tick(&t, stop)
    })
    .map_err(RunError::Runtime)?;
    progress.finish();
    let server = watch.map(Watch::finish);
    let kernel = kernel_before.and_then(|before| {
        crate::kernel::Sample::take(Some(addr.ip())).map(|after| before.delta(&after))
    });
    drop(embedded);

    let mut result = RunResult {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "ftpload".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        scenario_name: plan.name.clone(),
        started_at: result::rfc3339(outcome.started),
        ended_at: result::rfc3339(outcome.ended),
        duration_s: outcome.elapsed.as_secs_f64(),
        interrupted: outcome.interrupted,
        cut_off: outcome.cut_off.into(),
        target: TargetInfo {
            banner,
            family: result::family(addr).into(),
            ..info
        },
        scenario: serde_json::to_value(plan).unwrap_or_default(),
        modes: RunResult::modes_from(&outcome.recorder, plan.declared_passive),
        groups: group_results(plan, &outcome.groups),
        sources: result::sources::from_recorder(&outcome.recorder),
        generator: Some(generator_check(plan, &outcome)),
        timeline: outcome.timeline,
        kernel,
        thresholds: Vec::new(),
        aborted_by_threshold: None,
        start_at,
        shards: Vec::new(),
        server: None,
    };
    if let Some(series) = &server {
        result.server = result::server::ServerResult::of(series, &result.modes);
        let offset = load_began.saturating_duration_since(series.started);
        result::server::into_timeline(series, offset, &mut result.timeline);
    }
    if let Some(s) = plan.shard {
        let host = result::shards::host_name();
        result.shards = vec![result::shards::ShardFigures::of(
            &result, s.index, s.count, host,
        )];
    }
    judge(&mut result);
    let wanted = opts
        .out
        .clone()
        .unwrap_or_else(|| result::default_path(&plan.name, outcome.started));
    // A disk filled during the run must not lose it: fall back to the
    // temporary directory and say so (the folder was checked before the run).
    let saved = result::write::or_fallback(&wanted, |p| result.write_atomic(p))?;
    let (path, write_error) = (saved.path, saved.failed);
    let status = Status::of(&result);
    Ok(Finished {
        result,
        path,
        write_error,
        status,
    })
}

/// Counts sockets before starting: a client holds a control connection and,
/// if its group moves data, a data connection and, in active mode, a
/// listener; the in-process embedded target holds as many again in this
/// same process.
fn check_file_budget(plan: &Plan) -> Result<(), RunError> {
    let limit = crate::sys::raise_nofile_limit();
    let per_client: u64 = driver::own_clients(plan)
        .map(
            |(_, g, m)| match (plan.groups[g].uses_data(), m.is_active()) {
                (false, _) => 1,
                (true, false) => 2,
                (true, true) => 3,
            },
        )
        .sum();
    let embedded = matches!(plan.target, TargetPlan::Embedded { .. });
    let server = if embedded { 3 * plan.own_users() } else { 0 };
    let needed = per_client + server + 64;
    if needed > limit {
        return Err(RunError::FileLimit {
            needed,
            limit,
            why: format!(
                "{} clients use {per_client}{}",
                plan.own_users(),
                if embedded {
                    format!(", the embedded target in this process about {server}")
                } else {
                    String::new()
                }
            ),
        });
    }
    Ok(())
}

/// One session before the run: proves the target answers and accepts the
/// credentials (so a typo fails in a second with a clear message, not as a
/// million errors), and on an external target uploads the declared files that
/// are missing or of the wrong size.
/// The generator's CPU and (open loop) schedule lag against their limits.
fn generator_check(
    plan: &Plan,
    outcome: &driver::RunOutcome,
) -> crate::metrics::generator::GeneratorCheck {
    use crate::metrics::Metric;
    let lag = plan.open_loop.as_ref().and_then(|_| {
        outcome
            .recorder
            .iter()
            .map(|(_, s)| s.histogram(Metric::ScheduleLag))
            .filter(|h| !h.is_empty())
            .map(|h| h.value_at_quantile(0.99))
            .max()
    });
    let mut check = crate::metrics::generator::GeneratorCheck::judge(
        plan.workers,
        outcome.cpu_s,
        outcome.elapsed,
        lag,
    );
    let mut memory = outcome.memory.clone();
    memory.includes_target = matches!(plan.target, TargetPlan::Embedded { .. });
    check.memory = Some(memory);
    check
}

/// Each group's own figures, when there is more than one group (with one,
/// they would repeat `modes`).
fn group_results(plan: &Plan, groups: &[crate::metrics::Recorder]) -> Vec<result::GroupResult> {
    if plan.groups.len() < 2 {
        return Vec::new();
    }
    let empty = crate::metrics::Recorder::default();
    plan.groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            result::GroupResult::from_recorder(&g.name, g.users, groups.get(i).unwrap_or(&empty))
        })
        .collect()
}
