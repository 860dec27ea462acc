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

use crate::metrics::Metric;
use crate::proto::Mode;
use crate::result::RunResult;
use crate::run::{self, RunError, Status};
use crate::scenario::{Overrides, Plan, ScenarioError};
use crate::summary::format::{bytes, micros};

/// Bumped on any change a reader of capacity.json could notice.
pub const SCHEMA_VERSION: u32 = 1;

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
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
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
    } else {
        return Ok(());
    };
    Err(CapacityError::Usage(why.into()))
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> CapacityError + '_ {
    |source| CapacityError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Runs the levels in order until one breaks, `max` held, or Ctrl-C; `on_step`
/// sees each finished step. Returns what capacity.json holds, and its folder.
pub fn search(
    s: &Search,
    on_step: &mut dyn FnMut(&StepResult),
) -> Result<(Capacity, PathBuf), CapacityError> {
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
    std::fs::create_dir_all(&dir).map_err(write_error(&dir))?;
    save(&dir, &c)?;
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
                eprintln!("warning: {e}; the step was saved to {}", f.path.display());
                f.path
            }
        };
        let step = judge(users, &f.result, &s.limits, result_file);
        on_step(&step);
        let held = step.held;
        *if held {
            &mut c.highest_held
        } else {
            &mut c.first_broken
        } = Some(users);
        c.steps.push(step);
        save(&dir, &c)?;
        if !held {
            break;
        }
    }
    save(&dir, &c)?;
    Ok((c, dir))
}

/// Judges one finished step against the limits, mode by mode.
pub fn judge(users: u32, r: &RunResult, l: &Limits, result_file: PathBuf) -> StepResult {
    let max = [
        l.max_error_rate,
        l.max_p99_session_setup_us as f64,
        l.max_p99_data_setup_us as f64,
    ];
    // Per limit, the worst mode's value. No mode, or a mode where nothing
    // finished, is no evidence that the level held: error rate 1.
    let mut worst = [(1.0, None), (0.0, None), (0.0, None)];
    let (mut sessions, mut transfers) = (0, 0);
    for (i, (&m, x)) in r.modes.iter().enumerate() {
        let c = &x.counters;
        sessions += c.sessions;
        transfers += c.transfers;
        // The worse of two rates: failed iterations, and failed logins. With
        // persistent sessions a client that cannot log in at all fails few
        // iterations next to the many of those that can, yet the level has
        // not held for it.
        let rate = |failed: u64, ok: u64| match failed + ok {
            0 => 1.0,
            n => failed as f64 / n as f64,
        };
        let values = [
            rate(c.iterations_failed, c.iterations).max(if c.sessions + c.sessions_failed == 0 {
                0.0
            } else {
                rate(c.sessions_failed, c.sessions)
            }),
            x.metrics.get(&Metric::SessionSetup).map_or(0, |v| v.p99) as f64,
            x.metrics.get(&Metric::DataSetup).map_or(0, |v| v.p99) as f64,
        ];
        for (w, v) in worst.iter_mut().zip(values) {
            if i == 0 || v > w.0 {
                *w = (v, Some(m));
            }
        }
    }
    let mut broken_limits: Vec<Breach> = (0..3)
        .filter(|&k| worst[k].0 > max[k])
        .map(|k| Breach {
            limit: LIMITS[k].into(),
            mode: worst[k].1.filter(|_| r.modes.len() > 1),
            value: worst[k].0,
            max: max[k],
        })
        .collect();
    // The slowest transfer of any mode against the rate each user must keep.
    if let Some(min) = l.min_throughput {
        let slowest = r
            .modes
            .iter()
            .filter_map(|(m, x)| {
                x.metrics
                    .get(&Metric::Throughput)
                    .filter(|t| t.count > 0)
                    .map(|t| (t.min, *m))
            })
            .min();
        if let Some((v, m)) = slowest.filter(|(v, _)| *v < min) {
            broken_limits.push(Breach {
                limit: "min_throughput".into(),
                mode: Some(m).filter(|_| r.modes.len() > 1),
                value: v as f64,
                max: min as f64,
            });
        }
    }
    let secs = r.duration_s.max(1e-3);
    StepResult {
        users,
        held: broken_limits.is_empty(),
        broken_limits,
        sessions_per_s: sessions as f64 / secs,
        transfers_per_s: transfers as f64 / secs,
        error_rate: worst[0].0,
        p99_session_setup_us: worst[1].0 as u64,
        p99_data_setup_us: worst[2].0 as u64,
        result_file,
    }
}

impl Breach {
    /// "p99 data setup in active mode (1.52s > 1.00s, 1.5×)".
    pub fn describe(&self) -> String {
        let show = |v: f64| match self.limit.as_str() {
            "error_rate" => format!("{:.2}%", v * 100.0),
            "min_throughput" => format!("{}/s", bytes(v as u64)),
            _ => micros(v as u64),
        };
        if self.limit == "min_throughput" {
            let mode = self
                .mode
                .map(|m| format!(" in {m} mode"))
                .unwrap_or_default();
            return format!(
                "a transfer{mode} below its rate ({} < {})",
                show(self.value),
                show(self.max)
            );
        }
        let mode = self
            .mode
            .map(|m| format!(" in {m} mode"))
            .unwrap_or_default();
        let (value, max) = (show(self.value), show(self.max));
        let times = match self.max > 0.0 {
            true => format!(", {:.1}×", self.value / self.max),
            false => String::new(),
        };
        format!(
            "{}{mode} ({value} > {max}{times})",
            self.limit.replace('_', " ")
        )
    }
}

fn breaches(s: &StepResult) -> String {
    let b: Vec<String> = s.broken_limits.iter().map(Breach::describe).collect();
    b.join("; ")
}

pub const TABLE_HEADER: &str =
    "  users  sessions/s  transfers/s  error rate  p99 session setup  p99 data setup  verdict";

/// One row, fixed-width, so rows can be printed as steps finish.
pub fn table_row(s: &StepResult) -> String {
    let verdict = match s.held {
        true => "held".to_string(),
        false => format!("BROKE: {}", breaches(s)),
    };
    format!(
        "{:>7}  {:>10.1}  {:>11.1}  {:>9.2}%  {:>17}  {:>14}  {verdict}",
        s.users,
        s.sessions_per_s,
        s.transfers_per_s,
        s.error_rate * 100.0,
        micros(s.p99_session_setup_us),
        micros(s.p99_data_setup_us),
    )
}

/// The one-line answer.
pub fn verdict(c: &Capacity) -> String {
    let held = match c.highest_held {
        Some(n) => format!("held up to {n} users"),
        None => "held at no level".to_string(),
    };
    match (c.steps.iter().find(|s| !s.held), c.interrupted) {
        (Some(s), _) => format!("{held}; broke at {}: {}", s.users, breaches(s)),
        (None, true) => format!("{held}; interrupted before the search ended"),
        (None, false) => format!("{held} (--max {}): no limit broke", c.max),
    }
}

fn save(dir: &Path, c: &Capacity) -> Result<(), CapacityError> {
    let mut csv = String::from("users,held,broken_limits,sessions_per_s,transfers_per_s,error_rate,p99_session_setup_us,p99_data_setup_us,result_file\n");
    for s in &c.steps {
        let broken: Vec<&str> = s.broken_limits.iter().map(|b| b.limit.as_str()).collect();
        csv += &format!(
            "{},{},{},{:.3},{:.3},{:.6},{},{},{}\n",
            s.users,
            s.held,
            broken.join(";"),
            s.sessions_per_s,
            s.transfers_per_s,
            s.error_rate,
            s.p99_session_setup_us,
            s.p99_data_setup_us,
            s.result_file.display()
        );
    }
    let (json, csv_path) = (dir.join("capacity.json"), dir.join("capacity.csv"));
    crate::result::write::json(&json, c).map_err(write_error(&json))?;
    crate::result::write::atomic(&csv_path, |w| w.write_all(csv.as_bytes()))
        .map_err(write_error(&csv_path))
}
