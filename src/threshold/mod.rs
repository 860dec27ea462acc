//! Thresholds: pass/fail criteria on a run's result, written as a k6 user
//! writes them (`"session_setup.p99" = "< 50ms"`), parsed and checked against
//! the plan before anything runs (`from_plan`), judged on the result at the
//! end (`evaluate`), printed (`render`) and exported as JUnit (`junit`).
//!
//! A key is one of
//! - `[MODE.]METRIC.STAT`: a histogram's statistic, e.g. `passive.data_setup.p99`;
//!   without a mode, every mode must pass and the worst one is shown;
//! - `MODE/BASE.METRIC.STAT`: one mode's statistic over another's, e.g.
//!   `active/passive.data_setup.p50` (a plain number bound);
//! - `[MODE.]OPERATION.METRIC.STAT` with METRIC one of first_byte, transfer,
//!   throughput: one operation's figures, e.g. `retr 1m.bin.throughput.p50`
//!   (the operation as written in the scenario; it may hold dots, so a key
//!   is read from the right);
//! - `[MODE.]errors.rate` (errors per iteration, a fraction),
//!   `[MODE.]sessions.rate` (sessions started per second), `logins.rate`
//!   (sessions that logged in per second), `transfers.rate` (successful
//!   transfers per second).

mod judge;
pub mod junit;
mod key;

pub use judge::{evaluate, lost_early, rate};
pub use key::{Cmp, Count, Stat, Target, Threshold};

use std::fmt::Write as _;
use std::time::Duration;

use crate::proto::Mode;
use crate::result::ThresholdOutcome;
use crate::scenario::{Plan, ThresholdSpec};

/// A threshold that cannot be judged: bad input, nothing ran (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{at}threshold \"{key}\" = \"{bound}\": {message}")]
pub struct ThresholdError {
    /// "s.toml:12: " or "--threshold: ".
    pub at: String,
    pub key: String,
    pub bound: String,
    pub message: String,
}

/// The scenario's thresholds with `--threshold KEY=BOUND` flags added (a
/// flag's key replaces the file's), parsed and checked against the plan:
/// every mode named is one the run has, every operation one the scenario
/// has. Call before anything runs.
pub fn from_plan(plan: &Plan, flags: &[String]) -> Result<Vec<Threshold>, ThresholdError> {
    let mut specs = plan.thresholds.clone();
    for f in flags {
        let Some((key, bound)) = f.split_once('=') else {
            return Err(ThresholdError {
                at: "--threshold: ".into(),
                key: f.clone(),
                bound: String::new(),
                message: "write KEY=BOUND, e.g. --threshold 'session_setup.p99=< 50ms'".into(),
            });
        };
        let spec = ThresholdSpec {
            key: key.trim().to_string(),
            bound: bound.trim().to_string(),
            abort_on_fail: false,
            delay_abort_eval: Duration::ZERO,
            at: "--threshold".into(),
        };
        specs.retain(|s| s.key != spec.key);
        specs.push(spec);
    }
    let modes = crate::driver::modes(plan);
    let ops = plan_operations(plan);
    specs
        .iter()
        .map(|s| {
            let err = |message: String| ThresholdError {
                at: format!("{}: ", s.at),
                key: s.key.clone(),
                bound: s.bound.clone(),
                message,
            };
            let t = Threshold::parse(s).map_err(err)?;
            check(&t, &modes, &ops).map_err(err)?;
            Ok(t)
        })
        .collect()
}

/// Every operation of the plan's groups and mixes, as written.
fn plan_operations(plan: &Plan) -> Vec<String> {
    let mut v: Vec<String> = plan
        .groups
        .iter()
        .flat_map(|g| {
            let mixed = g.mix.iter().flat_map(|m| m.choices.iter().map(|(o, _)| o));
            g.ops.iter().chain(mixed).map(|o| o.to_string())
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

fn check(t: &Threshold, modes: &[Mode], ops: &[String]) -> Result<(), String> {
    let names = || {
        modes
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mode_in = |m: &Mode| {
        if modes.contains(m) {
            Ok(())
        } else {
            Err(format!(
                "mode {m} is not in this run (its modes: {})",
                names()
            ))
        }
    };
    match &t.target {
        Target::Metric { mode, op, .. } => {
            if let Some(m) = mode {
                mode_in(m)?;
            }
            if let Some(op) = op {
                if !ops.contains(op) {
                    return Err(format!(
                        "{op:?} is neither a mode of this run ({}) nor an operation of the scenario ({})",
                        names(),
                        ops.join(", ")
                    ));
                }
            }
            Ok(())
        }
        Target::Ratio { mode, base, .. } => {
            mode_in(mode)?;
            mode_in(base)
        }
        Target::Rate { mode, .. } => mode.as_ref().map_or(Ok(()), mode_in),
    }
}

/// A value in its unit, for people.
pub fn show(v: f64, unit: &str) -> String {
    use crate::summary::format;
    match unit {
        "us" => format::micros(v.round() as u64),
        "B/s" => format!("{}/s", format::bytes(v.round() as u64)),
        "ratio" => format!("{v:.2}"),
        "fraction" => format!("{v:.4}"),
        _ => format!("{v:.1}/s"),
    }
}

/// The "thresholds:" block printed after the summary.
pub fn render(outcomes: &[ThresholdOutcome]) -> String {
    let mut out = String::new();
    if outcomes.is_empty() {
        return out;
    }
    out.push_str("\nthresholds:\n");
    for o in outcomes {
        let measured = match o.measured {
            Some(v) => show(v, &o.unit),
            None => "no samples".into(),
        };
        let mode = match (&o.mode, o.key.contains('/')) {
            (Some(m), false) if !o.key.starts_with(m.as_str()) => format!(" ({m})"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {} {} {} {}: {measured}{mode}",
            if o.pass { "✓ pass" } else { "✗ FAIL" },
            o.key,
            o.op,
            o.bound
        );
    }
    out
}

#[cfg(test)]
mod tests;
