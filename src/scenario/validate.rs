//! The pieces [`Plan::parse`](super::Plan::parse) validates a scenario with,
//! one per part of the plan: each takes its section of the file and the
//! flags that override it, and returns its part or a message (which the
//! parser locates: at `[run]`, or in the file as a whole).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use super::file::{DataSection, RunSection, ScenarioFile, TimeoutsSection};
use super::load::{OpenLoop, Stage, UserStage, UserStages};
use super::plan::{DEFAULT_MAX_WAIT, DEFAULT_RAMP_PER_CLIENT};
use super::units::{HumanDuration, Size};
use super::url::{external_target, UrlError};
use super::{GroupPlan, Overrides, SourceIps, Stop, TargetPlan, EMBEDDED_PASSWORD, EMBEDDED_USER};
use crate::proto::{DataOptions, PortRange, Timeouts};
use toml::Spanned;

/// The scenario's name: `name`, else the file's stem. It names the result file.
pub(super) fn name(name: Option<&str>, path: &Path) -> Result<String, String> {
    let name = name.map(str::to_string).unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".into())
    });
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(format!("name {name:?} must be non-empty ASCII letters, digits, '-', '_' or '.': it names the result file"));
    }
    Ok(name)
}

impl TargetPlan {
    /// The target `--target` or `[target] url` names, else the embedded one
    /// as `[embedded]` sets it up.
    /// An error comes with where the URL is written in the file, or `None`
    /// when `--target` gave it.
    pub(super) fn from_file(
        f: &ScenarioFile,
        o: &Overrides,
    ) -> Result<TargetPlan, (Option<Range<usize>>, UrlError)> {
        let (url, span) = match (&o.target, f.target.as_ref().and_then(|t| t.url.as_ref())) {
            (Some(flag), _) => (Some(flag.clone()), None),
            (None, Some(u)) => (Some(u.get_ref().clone()), Some(u.span())),
            (None, None) => (None, None),
        };
        match url {
            None => Ok(TargetPlan::Embedded {
                passive_ports: f.embedded.passive_ports.unwrap_or(PortRange {
                    first: 20000,
                    last: 27999,
                }),
                max_connections: f.embedded.max_connections,
                threads: f.embedded.threads.unwrap_or(1).max(1),
                login_delay: f.embedded.login_delay.map(|d| d.0),
                user: EMBEDDED_USER.into(),
                password: EMBEDDED_PASSWORD.into(),
            }),
            Some(url) => external_target(&url, o.password.clone()).map_err(|e| (span, e)),
        }
    }
}

/// The passive range the target is known to have: the embedded target's
/// own, else the one declared by flag or in `[target]`.
pub(super) fn declared_passive(
    f: &ScenarioFile,
    target: &TargetPlan,
    o: &Overrides,
) -> Option<PortRange> {
    match target {
        TargetPlan::Embedded { passive_ports, .. } => Some(*passive_ports),
        TargetPlan::External { .. } => o
            .passive_range
            .or(f.target.as_ref().and_then(|t| t.passive_range)),
    }
}

/// The source addresses: `--source-ips` (parsed and checked local by the
/// flag's parser), else `[target] source_ips`, parsed and checked here; in
/// either case of the target's family when its address is known now (the
/// embedded target's, or a literal one; a host name is checked once
/// resolved, by `run`). An error comes with where the list is written in
/// the file, or `None` when a flag is at fault.
pub(super) fn source_ips(
    f: &ScenarioFile,
    o: &Overrides,
    target: &TargetPlan,
) -> Result<Option<SourceIps>, (Option<Range<usize>>, String)> {
    let written = f.target.as_ref().and_then(|t| t.source_ips.as_ref());
    let (ips, span) = match (&o.source_ips, written) {
        (Some(flag), _) => (flag.clone(), None),
        (None, Some(w)) => (
            SourceIps::parse_local(w.get_ref()).map_err(|e| (Some(w.span()), e))?,
            Some(w.span()),
        ),
        (None, None) => return Ok(None),
    };
    let known = match target {
        TargetPlan::Embedded { .. } => Some(std::net::IpAddr::from([127, 0, 0, 1])),
        TargetPlan::External { host, .. } => host.parse().ok(),
    };
    if let Some(ip) = known {
        ips.check_family(ip).map_err(|e| (span, e))?;
    }
    Ok(Some(ips))
}

impl Stop {
    /// When the run ends: a flag wins over `[run]`, which must name one of
    /// duration and iterations; stages (`stages_length`) set the run's
    /// length unless it ends by count.
    pub(super) fn from_run(
        run: &RunSection,
        o: &Overrides,
        stages_length: Option<Duration>,
    ) -> Result<Stop, String> {
        let iterations = o
            .iterations
            .or(run.iterations.as_ref().map(|n| *n.get_ref()));
        let duration = o
            .duration
            .or(run.duration.as_ref().map(|d| d.get_ref().0))
            .or_else(|| {
                stages_length
                    .filter(|_| iterations.is_none())
                    .filter(|d| !d.is_zero())
            });
        match (duration, iterations) {
            (Some(d), None) if !d.is_zero() => Ok(Stop::Duration(d)),
            (None, Some(n)) if n > 0 => Ok(Stop::Iterations(n)),
            (Some(d), Some(_)) if o.duration.is_some() => Ok(Stop::Duration(d)),
            (Some(_), Some(n)) if o.iterations.is_some() => Ok(Stop::Iterations(n)),
            (Some(_), Some(_)) => Err("[run] sets both duration and iterations: keep one".into()),
            (None, None) => {
                Err("[run] needs duration (e.g. \"30s\") or iterations (e.g. 100)".into())
            }
            _ => Err("[run] duration and iterations must be above zero".into()),
        }
    }
}

/// A `[run]` duration or iterations of zero (that no flag replaces), pointed
/// at where it is written: a run of nothing is a typo, not a request.
pub(super) fn stop_above_zero(run: &RunSection, o: &Overrides) -> Result<(), Spanned<String>> {
    if let Some(d) = run.duration.as_ref().filter(|d| d.get_ref().0.is_zero()) {
        if o.duration.is_none() && o.iterations.is_none() {
            return Err(Spanned::new(
                d.span(),
                "run.duration: a run must last above zero, e.g. duration = \"30s\"".into(),
            ));
        }
    }
    if let Some(n) = run.iterations.as_ref().filter(|n| *n.get_ref() == 0) {
        if o.duration.is_none() && o.iterations.is_none() {
            return Err(Spanned::new(
                n.span(),
                "run.iterations: a run must make at least one iteration, e.g. iterations = 100"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// The load generator's worker threads: 1 to 256, one per core by default.
pub(super) fn workers(run: &RunSection, o: &Overrides) -> Result<usize, String> {
    let workers = o.workers.or(run.workers).unwrap_or_else(default_workers);
    if workers == 0 || workers > 256 {
        return Err(format!("[run] workers = {workers}: expected 1 to 256"));
    }
    Ok(workers)
}

fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// How long client starts are spread over: as set, else
/// [`DEFAULT_RAMP_PER_CLIENT`] apart for `users` clients, capped.
pub(super) fn ramp_up(
    run: &RunSection,
    o: &Overrides,
    users: u64,
    stop: Stop,
) -> Result<Duration, String> {
    let ramp = o
        .ramp_up
        .or(run.ramp_up.map(|d| d.0))
        .unwrap_or_else(|| default_ramp_up(users, stop));
    // Clients whose start falls after the end would never run: a run that
    // looks full in its plan and is empty in its numbers.
    match stop {
        Stop::Duration(d) if ramp > d => Err(format!(
            "ramp_up ({}) is longer than the run's duration ({}): the last clients would start after the end; shorten ramp_up or lengthen duration",
            humantime::format_duration(ramp),
            humantime::format_duration(d)
        )),
        _ => Ok(ramp),
    }
}

fn default_ramp_up(users: u64, stop: Stop) -> Duration {
    let cap = match stop {
        Stop::Duration(d) => (d / 4).min(Duration::from_secs(10)),
        Stop::Iterations(_) => Duration::from_secs(10),
    };
    let gaps = u32::try_from(users.saturating_sub(1)).unwrap_or(u32::MAX);
    DEFAULT_RAMP_PER_CLIENT.saturating_mul(gaps).min(cap)
}

impl OpenLoop {
    /// The open-loop part of `[run]`, when it asks for a rate.
    pub(super) fn from_run(run: &RunSection, o: &Overrides) -> Result<Option<OpenLoop>, String> {
        let rate = o.rate.or(run.rate.map(|r| r.0));
        if run.stages.iter().any(|s| s.users.is_some()) {
            return Ok(None);
        }
        if rate.is_none() && run.stages.is_empty() {
            if run.arrival.is_some() || run.max_wait.is_some() {
                return Err(
                    "[run] arrival and max_wait need an open loop: set rate or stages".into(),
                );
            }
            return Ok(None);
        }
        let mut stages = Vec::new();
        for (i, s) in run.stages.iter().enumerate() {
            let Some(rate) = s.rate else {
                return Err(format!("[[run.stages]] {i} has no rate: open-loop stages each need one, e.g. rate = \"100/s\""));
            };
            stages.push(Stage {
                duration: s.duration.0,
                rate: rate.0,
            });
        }
        if stages.iter().any(|s| s.duration.is_zero()) {
            return Err("[[run.stages]] duration must be above zero".into());
        }
        let rate = rate.unwrap_or(0.0);
        if rate == 0.0 && stages.iter().all(|s| s.rate == 0.0) {
            return Err("[run] rate and every stage's rate are zero: nothing would arrive".into());
        }
        Ok(Some(OpenLoop {
            rate,
            stages,
            arrival: run.arrival.unwrap_or_default(),
            max_wait: run.max_wait.map(|d| d.0).unwrap_or(DEFAULT_MAX_WAIT),
        }))
    }
}

impl UserStages {
    /// Closed-loop stages, when `[[run.stages]]` give users rather than rates.
    pub(super) fn from_run(run: &RunSection, o: &Overrides) -> Result<Option<UserStages>, String> {
        if run.stages.iter().all(|s| s.users.is_none()) {
            return Ok(None);
        }
        if o.rate.is_some() || run.rate.is_some() {
            return Err("[[run.stages]] give users (closed loop) but [run] or --rate sets a rate (open loop): pick one".into());
        }
        if run.ramp_up.is_some() || o.ramp_up.is_some() {
            return Err("[[run.stages]] with users shape the ramp themselves: drop ramp_up".into());
        }
        if o.users.is_some() {
            return Err(
                "--users conflicts with [[run.stages]] users: the stages say how many run".into(),
            );
        }
        let mut stages = Vec::new();
        for (i, s) in run.stages.iter().enumerate() {
            let (Some(users), None) = (s.users, s.rate) else {
                return Err(format!("[[run.stages]] {i}: give users (closed loop) in every stage, or rate (open loop) in every stage, not both"));
            };
            if s.duration.0.is_zero() {
                return Err("[[run.stages]] duration must be above zero".into());
            }
            stages.push(UserStage {
                duration: s.duration.0,
                users,
            });
        }
        let stages = UserStages(stages);
        if stages.max_users() == 0 {
            return Err("every stage has users = 0: nobody would run".into());
        }
        Ok(Some(stages))
    }
}

/// `[files]` in bytes, each a plain file name.
pub(super) fn files(files: &BTreeMap<String, Size>) -> Result<BTreeMap<String, u64>, String> {
    for name in files.keys() {
        if name.is_empty() || name.contains(['/', '\\', '\r', '\n']) || name == "." || name == ".."
        {
            return Err(format!(
                "[files] {name:?}: a file name must be a plain name, without '/'"
            ));
        }
    }
    Ok(files.iter().map(|(k, v)| (k.clone(), v.0)).collect())
}

/// `[timeouts]`, each one the default where not set.
pub(super) fn timeouts(t: &TimeoutsSection) -> Timeouts {
    let d = Timeouts::default();
    let pick = |v: Option<HumanDuration>, def: Duration| v.map(|v| v.0).unwrap_or(def);
    Timeouts {
        connect: pick(t.connect, d.connect),
        banner: pick(t.banner, d.banner),
        reply: pick(t.reply, d.reply),
        data_connect: pick(t.data_connect, d.data_connect),
        accept: pick(t.accept, d.accept),
        transfer_idle: pick(t.transfer_idle, d.transfer_idle),
        tls_handshake: pick(t.tls_handshake, d.tls_handshake),
    }
}

/// `[data]`, with the flags'.
pub(super) fn data(d: &DataSection, o: &Overrides) -> DataOptions {
    DataOptions {
        follow_pasv_address: o.follow_pasv_address || d.follow_pasv_address,
        active_ports: o.active_ports.or(d.active_ports),
    }
}

/// Results report per group, so no two groups share a name.
pub(super) fn distinct_names(groups: &[GroupPlan]) -> Result<(), String> {
    for (i, g) in groups.iter().enumerate() {
        if groups[..i].iter().any(|h| h.name == g.name) {
            return Err(format!(
                "two groups are named {:?}: results report per group, so names must differ",
                g.name
            ));
        }
    }
    Ok(())
}

/// Splits `total` users (`--users`, or the largest stage) over the groups in
/// proportion to their own counts.
pub(super) fn spread_users(groups: &mut [GroupPlan], total: u32) -> Result<(), String> {
    if (total as usize) < groups.len() {
        return Err(format!(
            "--users {total} is fewer than the {} groups",
            groups.len()
        ));
    }
    let sum: u64 = groups.iter().map(|g| u64::from(g.users)).sum();
    let mut given = 0u32;
    let n = groups.len();
    for (i, g) in groups.iter_mut().enumerate() {
        let share = if i + 1 == n {
            total - given
        } else {
            ((u64::from(total) * u64::from(g.users)) / sum).max(1) as u32
        };
        g.users = share.max(1);
        given += g.users;
    }
    Ok(())
}

/// `[thresholds]` as written, in key order; `at` says where each is (for
/// errors). Their grammar and meaning are checked by the `threshold` module,
/// which knows the metrics and the plan's modes and operations.
pub fn thresholds(
    t: &BTreeMap<String, toml::Spanned<super::file::ThresholdEntry>>,
    at: impl Fn(std::ops::Range<usize>) -> String,
) -> Vec<super::ThresholdSpec> {
    use super::file::ThresholdEntry;
    t.iter()
        .map(|(key, e)| {
            let (bound, abort_on_fail, delay) = match e.get_ref() {
                ThresholdEntry::Bound(b) => (b.clone(), false, None),
                ThresholdEntry::Full(f) => (
                    f.threshold.clone(),
                    f.abort_on_fail,
                    f.delay_abort_eval.map(|d| d.0),
                ),
            };
            super::ThresholdSpec {
                key: key.clone(),
                bound,
                abort_on_fail,
                delay_abort_eval: delay.unwrap_or(Duration::ZERO),
                at: at(e.span()),
            }
        })
        .collect()
}

/// The most virtual users one run may hold. Each holds a socket, and this
/// machine's open-file limit is 20,000 per process, so a million is far past
/// any run that can start; the driver keeps a list entry per user and the
/// file budget counts them, so a plan of u32::MAX users would allocate
/// gigabytes before saying anything (found by fuzzing the loader).
pub const MAX_USERS: u64 = 1_000_000;

pub(super) fn users_within_max(users: u64) -> Result<(), String> {
    match users <= MAX_USERS {
        true => Ok(()),
        false => Err(format!(
            "{users} users in all: at most {MAX_USERS} in one process (each holds a socket); split a bigger run over processes and merge their results"
        )),
    }
}
