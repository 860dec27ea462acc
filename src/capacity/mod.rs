//! `ftpload capacity`: the question behind the classic "maximum simultaneous
//! users" figure of FTP benchmarks. One run says how a server behaves at one
//! load; someone sizing a machine wants the load at which it stops behaving.
//! So the scenario runs at rising client counts, each step a full `run` with
//! its own result file (a step that broke can be read like any run), until a
//! stated limit breaks. Limits are judged per transfer mode and the worst mode
//! counts: a server that serves passive clients but makes active ones wait has
//! not held.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

mod judge;

pub use judge::{judge, table_row, verdict, TABLE_HEADER};

use crate::proto::Mode;
use crate::result::write::Unwritable;
use crate::run::{self, RunError, Status};
use crate::scenario::{Overrides, Plan, ScenarioError};

/// Bumped on any change a reader of capacity.json could notice.
/// 2: the server's CPU per step and `max_server_cpu`.
pub const SCHEMA_VERSION: u32 = 2;

/// The judged values, in the order of `Limits`' fields and a step's columns.
const LIMITS: [&str; 3] = ["error_rate", "p99_session_setup", "p99_data_setup"];

#[derive(Debug, thiserror::Error)]
pub enum CapacityError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("the step at {users} users could not run")]
    Run { users: u32, source: RunError },
    #[error(transparent)]
    Unwritable(#[from] Unwritable),
    /// The OS's words are its own (a leaf, as `ResultError::Write` is).
    #[error("cannot write {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// The search's outcome, and where capacity.json and capacity.csv went.
pub struct Found {
    pub capacity: Capacity,
    /// The folder asked for, or its fallback when `failed` says why not.
    pub dir: PathBuf,
    pub failed: Option<CapacityError>,
}

/// How levels rise: steps of a fixed size resolve a knee finely; a factor
/// finds its order of magnitude in a few steps when nothing is known yet.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Growth {
    Step(u32),
    Factor(f64),
}

/// A level holds while, in every mode, each value is at most its limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// The worse of failed iterations / all iterations and failed logins / all logins.
    pub max_error_rate: f64,
    pub max_p99_session_setup_us: u64,
    pub max_p99_data_setup_us: u64,
    /// Bytes per second every transfer must reach, if set (dkftpbench's score).
    #[serde(default)]
    pub min_throughput: Option<u64>,
    /// The share of its cores the server may use, if set (`--max-server-cpu`).
    #[serde(default)]
    pub max_server_cpu: Option<f64>,
}

/// A limit broken: the worst mode's value (a fraction, or µs) against it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    /// "error_rate", "p99_session_setup" or "p99_data_setup".
    pub limit: String,
    /// Named only when the run had several modes.
    pub mode: Option<Mode>,
    pub value: f64,
    pub max: f64,
}

/// One level. Rates add over modes; judged values are the worst mode's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    pub users: u32,
    pub held: bool,
    pub broken_limits: Vec<Breach>,
    pub sessions_per_s: f64,
    pub transfers_per_s: f64,
    pub error_rate: f64,
    pub p99_session_setup_us: u64,
    pub p99_data_setup_us: u64,
    /// The server's CPU over the step as a share of its host's cores, and
    /// those cores, when it was watched (the step result's `server`).
    #[serde(default)]
    pub server_cpu_utilisation: Option<f64>,
    #[serde(default)]
    pub server_cores: Option<u32>,
    /// Headroom, extrapolated: the sessions a second one fully busy server
    /// core would hold at this step's cost per session (sessions per second
    /// over the server's CPU seconds per second).
    #[serde(default)]
    pub sessions_per_s_per_server_core: Option<f64>,
    /// The step's full result, relative to capacity.json (absolute if it fell back elsewhere).
    pub result_file: PathBuf,
}

/// capacity.json. Rewritten after every step, so Ctrl-C keeps finished steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    pub schema_version: u32,
    pub scenario_name: String,
    pub limits: Limits,
    pub growth: Growth,
    pub max: u32,
    pub step_duration_s: f64,
    pub steps: Vec<StepResult>,
    pub highest_held: Option<u32>,
    pub first_broken: Option<u32>,
    pub interrupted: bool,
}

pub struct Search {
    pub scenario: PathBuf,
    /// Target, modes and the like; users and duration are set per step.
    pub overrides: Overrides,
    pub start: u32,
    pub growth: Growth,
    pub max: u32,
    pub step_duration: Duration,
    pub limits: Limits,
    pub out_dir: Option<PathBuf>,
    pub quiet: bool,
    /// Stops the search: between steps, or the running step (written, marked
    /// interrupted). The CLI cancels it on SIGINT or SIGTERM.
    pub cancel: crate::driver::Cancel,
}

/// The levels to try: strictly rising, so the search ends; the last is `max`.
pub fn levels(start: u32, growth: Growth, max: u32) -> Vec<u32> {
    let mut v = vec![start.min(max)];
    while let Some(&last) = v.last().filter(|&&l| l < max) {
        let next = match growth {
            Growth::Step(n) => last.saturating_add(n),
            Growth::Factor(f) => ((f64::from(last) * f).round() as u32).max(last + 1),
        };
        v.push(next.min(max));
    }
    v
}

fn check(s: &Search) -> Result<(), CapacityError> {
    let why = if s.start == 0 || s.growth == Growth::Step(0) {
        "--start and --step must be at least 1"
    } else if s.max < s.start {
        "--max must be at least --start"
    } else if matches!(s.growth, Growth::Factor(f) if !(f > 1.0 && f.is_finite())) {
        "--factor must be a number above 1, e.g. 2"
    } else if s.step_duration.is_zero() {
        "--step-duration must be above zero"
    } else if !(0.0..=1.0).contains(&s.limits.max_error_rate) {
        "--max-error-rate is a fraction from 0 to 1, e.g. 0.01"
    } else if s.limits.max_server_cpu.is_some()
        && s.overrides.server_watch == crate::scenario::ServerWatch::Off
    {
        "--max-server-cpu needs the server watched: not with --no-server-watch"
    } else {
        return Ok(());
    };
    Err(CapacityError::Usage(why.into()))
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> CapacityError + '_ {
    |error| CapacityError::Write {
        path: path.to_path_buf(),
        error,
    }
}

/// Runs the levels in order until one breaks, `max` held, or Ctrl-C; `on_step`
/// sees each finished step. Returns what capacity.json holds, and its folder.
pub fn search(s: &Search, on_step: &mut dyn FnMut(&StepResult)) -> Result<Found, CapacityError> {
    check(s)?;
    // Read once, validated per level: the default ramp-up depends on the
    // client count, and an edit to the file mid-search must not mix scenarios.
    let text = std::fs::read_to_string(&s.scenario).map_err(|error| ScenarioError::Read {
        path: s.scenario.clone(),
        error,
    })?;
    let plan_for = |users| {
        let o = Overrides {
            users: Some(users),
            duration: Some(s.step_duration),
            iterations: None,
            ..s.overrides.clone()
        };
        Plan::parse(&text, &s.scenario, &o)
    };
    let name = plan_for(s.start)?.name;
    // results/<UTC time>-<scenario>-capacity/, stamped as run results are.
    let dir = s.out_dir.clone().unwrap_or_else(|| {
        crate::result::default_path(&format!("{name}-capacity"), SystemTime::now())
            .with_extension("")
    });
    let mut c = Capacity {
        schema_version: SCHEMA_VERSION,
        scenario_name: name,
        limits: s.limits,
        growth: s.growth,
        max: s.max,
        step_duration_s: s.step_duration.as_secs_f64(),
        steps: Vec::new(),
        highest_held: None,
        first_broken: None,
        interrupted: false,
    };
    // Checked before any step; from then on only a disk that fills up can
    // stop a write, and the last save falls back (the ones between steps
    // are kept best-effort, and what fails is said once, at the end).
    let what = if s.out_dir.is_some() {
        "--out-dir"
    } else {
        "capacity folder"
    };
    crate::result::write::check_dir(what, &dir)?;
    let _ = save(&dir, &dir, &c);
    let all = levels(s.start, s.growth, s.max);
    for (i, &users) in all.iter().enumerate() {
        if s.cancel.is_cancelled() {
            c.interrupted = true;
            break;
        }
        if !s.quiet {
            let d = humantime::format_duration(s.step_duration);
            eprintln!("step {}/{}: {users} users for {d}", i + 1, all.len());
        }
        let file = format!("step-{users}.json");
        let opts = run::Options {
            out: Some(dir.join(&file)),
            quiet: s.quiet,
            cancel: s.cancel.clone(),
        };
        let f = run::run(&plan_for(users)?, &opts)
            .map_err(|source| CapacityError::Run { users, source })?;
        if f.status == Status::Interrupted {
            eprintln!(
                "interrupted at {users} users; the partial step is in {}",
                f.path.display()
            );
            c.interrupted = true;
            break;
        }
        let result_file = match f.write_error {
            None => PathBuf::from(file),
            Some(e) => {
                eprintln!(
                    "warning: {e}; saved the step to {} instead",
                    f.path.display()
                );
                f.path
            }
        };
        if s.limits.max_server_cpu.is_some()
            && f.result
                .server
                .as_ref()
                .and_then(|x| x.cpu_utilisation)
                .is_none()
        {
            return Err(CapacityError::Usage(format!(
                "--max-server-cpu: the step at {users} users could not see the server's CPU (it is not on this host: give --server-metrics URL, or --server-pid PID)"
            )));
        }
        let step = judge(users, &f.result, &s.limits, result_file);
        on_step(&step);
        let held = step.held;
        *if held {
            &mut c.highest_held
        } else {
            &mut c.first_broken
        } = Some(users);
        c.steps.push(step);
        // Kept after every step, so Ctrl-C keeps the finished ones.
        let _ = save(&dir, &dir, &c);
        if !held {
            break;
        }
    }
    let saved = crate::result::write::or_fallback(&dir, |d| save(d, &dir, &c))?;
    Ok(Found {
        capacity: c,
        dir: saved.path,
        failed: saved.failed,
    })
}

/// Writes capacity.json and capacity.csv into `dir`; step files named
/// relative to `home` (where the steps were written) are named from `dir`.
fn save(dir: &Path, home: &Path, c: &Capacity) -> Result<(), CapacityError> {
    let mut c = c.clone();
    if dir != home {
        for s in c.steps.iter_mut().filter(|s| s.result_file.is_relative()) {
            s.result_file = home.join(&s.result_file);
        }
    }
    let c = &c;
    let mut csv = String::from("users,held,broken_limits,sessions_per_s,transfers_per_s,error_rate,p99_session_setup_us,p99_data_setup_us,server_cpu_utilisation,server_cores,sessions_per_s_per_server_core,result_file\n");
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
    for s in &c.steps {
        let broken: Vec<&str> = s.broken_limits.iter().map(|b| b.limit.as_str()).collect();
        csv += &format!(
            "{},{},{},{:.3},{:.3},{:.6},{},{},{},{},{},{}\n",
            s.users,
            s.held,
            broken.join(";"),
            s.sessions_per_s,
            s.transfers_per_s,
            s.error_rate,
            s.p99_session_setup_us,
            s.p99_data_setup_us,
            opt(s.server_cpu_utilisation),
            s.server_cores.map_or(String::new(), |c| c.to_string()),
            opt(s.sessions_per_s_per_server_core),
            s.result_file.display()
        );
    }
    let (json, csv_path) = (dir.join("capacity.json"), dir.join("capacity.csv"));
    crate::result::write::json(&json, c).map_err(write_error(&json))?;
    crate::result::write::atomic(&csv_path, |w| w.write_all(csv.as_bytes()))
        .map_err(write_error(&csv_path))
}
