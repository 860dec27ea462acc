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

pub mod junit;

use std::fmt::Write as _;
use std::time::Duration;

use crate::metrics::{Counters, Metric};
use crate::proto::Mode;
use crate::result::{MetricResult, RunResult, ThresholdOutcome};
use crate::scenario::units::{parse_bandwidth, parse_duration, parse_size};
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

/// The statistics of a histogram a threshold can bound (`MetricResult`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    P50,
    P90,
    P99,
    P999,
    Max,
    Min,
    Mean,
}

impl Stat {
    /// Ours ("p99") and k6's spellings ("p(99)", "avg", "med").
    fn parse(s: &str) -> Option<Stat> {
        Some(match s {
            "p50" | "p(50)" | "med" => Stat::P50,
            "p90" | "p(90)" => Stat::P90,
            "p99" | "p(99)" => Stat::P99,
            "p999" | "p(99.9)" => Stat::P999,
            "max" => Stat::Max,
            "min" => Stat::Min,
            "mean" | "avg" => Stat::Mean,
            _ => return None,
        })
    }

    fn of(self, m: &MetricResult) -> f64 {
        match self {
            Stat::P50 => m.p50 as f64,
            Stat::P90 => m.p90 as f64,
            Stat::P99 => m.p99 as f64,
            Stat::P999 => m.p999 as f64,
            Stat::Max => m.max as f64,
            Stat::Min => m.min as f64,
            Stat::Mean => m.mean,
        }
    }
}

/// The counts a rate threshold divides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Errors per iteration (ok + failed).
    Errors,
    /// Sessions started (logged in or failed) per second.
    Sessions,
    /// Sessions that logged in per second.
    Logins,
    /// Successful transfers per second.
    Transfers,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Metric {
        mode: Option<Mode>,
        op: Option<String>,
        metric: Metric,
        stat: Stat,
    },
    /// `mode`'s statistic divided by `base`'s.
    Ratio {
        mode: Mode,
        base: Mode,
        metric: Metric,
        stat: Stat,
    },
    Rate {
        mode: Option<Mode>,
        count: Count,
    },
}

/// The metrics measured per operation.
const OPERATION_METRICS: [Metric; 3] = [Metric::FirstByte, Metric::Transfer, Metric::Throughput];

impl Target {
    /// The unit of the measured value and the bound.
    pub fn unit(&self) -> &'static str {
        match self {
            Target::Metric { metric, .. } => metric.unit(),
            Target::Ratio { .. } => "ratio",
            Target::Rate {
                count: Count::Errors,
                ..
            } => "fraction",
            Target::Rate { .. } => "/s",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub fn as_str(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }

    fn holds(self, v: f64, bound: f64) -> bool {
        match self {
            Cmp::Lt => v < bound,
            Cmp::Le => v <= bound,
            Cmp::Gt => v > bound,
            Cmp::Ge => v >= bound,
        }
    }

    /// An upper bound: the worst of several values is the largest.
    fn is_upper(self) -> bool {
        matches!(self, Cmp::Lt | Cmp::Le)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub key: String,
    pub target: Target,
    pub cmp: Cmp,
    /// The bound in the target's unit (µs, B/s, a ratio, a fraction, per second).
    pub bound: f64,
    /// The bound's value as written, "50ms".
    pub bound_text: String,
    pub abort_on_fail: bool,
    pub delay_abort_eval: Duration,
}

impl Threshold {
    /// Parses one threshold; the error says what is wrong, without where.
    pub fn parse(spec: &ThresholdSpec) -> Result<Threshold, String> {
        let target = parse_key(spec.key.trim())?;
        let b = spec.bound.trim();
        let (cmp, rest) = if let Some(r) = b.strip_prefix("<=") {
            (Cmp::Le, r)
        } else if let Some(r) = b.strip_prefix(">=") {
            (Cmp::Ge, r)
        } else if let Some(r) = b.strip_prefix('<') {
            (Cmp::Lt, r)
        } else if let Some(r) = b.strip_prefix('>') {
            (Cmp::Gt, r)
        } else {
            return Err("the bound must start with <, <=, > or >=, e.g. \"< 50ms\"".into());
        };
        let rest = rest.trim();
        let bound = parse_bound(&target, rest)?;
        if spec.abort_on_fail && !matches!(target, Target::Rate { mode: None, .. }) {
            return Err("abort_on_fail is judged during the run on errors.rate, sessions.rate, logins.rate and transfers.rate over all modes only; other thresholds are judged at the end".into());
        }
        Ok(Threshold {
            key: spec.key.clone(),
            target,
            cmp,
            bound,
            bound_text: rest.to_string(),
            abort_on_fail: spec.abort_on_fail,
            delay_abort_eval: spec.delay_abort_eval,
        })
    }
}

fn metric_named(s: &str) -> Option<Metric> {
    Metric::ALL.into_iter().find(|m| m.as_str() == s)
}

fn metric_names() -> String {
    Metric::ALL.map(Metric::as_str).join(", ")
}

fn parse_key(k: &str) -> Result<Target, String> {
    if let Some(rest) = k.strip_suffix(".rate") {
        let (mode, what) =
            match rest.rsplit_once('.') {
                Some((m, w)) => (
                    Some(m.parse::<Mode>().map_err(|_| {
                        format!("{m:?} is not a mode (passive, epsv, active, eprt)")
                    })?),
                    w,
                ),
                None => (None, rest),
            };
        let count = match what {
            "errors" => Count::Errors,
            "sessions" => Count::Sessions,
            "logins" => Count::Logins,
            "transfers" => Count::Transfers,
            _ => {
                return Err(format!(
                "unknown rate {what:?}: errors.rate, sessions.rate, logins.rate or transfers.rate"
            ))
            }
        };
        return Ok(Target::Rate { mode, count });
    }
    // k6's "p(99.9)" holds a dot of its own.
    let split = match k.rfind(".p(") {
        Some(i) if k.ends_with(')') => Some((&k[..i], &k[i + 1..])),
        _ => k.rsplit_once('.'),
    };
    let Some((rest, stat)) = split else {
        return Err(format!(
            "expected METRIC.STAT (e.g. session_setup.p99), MODE.METRIC.STAT, MODE/MODE.METRIC.STAT, OPERATION.METRIC.STAT or errors.rate, sessions.rate, logins.rate, transfers.rate; the metrics are {}",
            metric_names()
        ));
    };
    let stat = Stat::parse(stat).ok_or_else(|| {
        format!("unknown statistic {stat:?}: p50, p90, p99, p999, max, min or mean")
    })?;
    let (prefix, metric) = match rest.rsplit_once('.') {
        Some((p, m)) => (Some(p), m),
        None => (None, rest),
    };
    let metric = metric_named(metric).ok_or_else(|| {
        format!(
            "unknown metric {metric:?}: the metrics are {}",
            metric_names()
        )
    })?;
    let Some(prefix) = prefix else {
        return Ok(Target::Metric {
            mode: None,
            op: None,
            metric,
            stat,
        });
    };
    let (first, tail) = match prefix.split_once('.') {
        Some((f, t)) => (f, Some(t)),
        None => (prefix, None),
    };
    if let Some((a, b)) = first.split_once('/') {
        if let (Ok(mode), Ok(base)) = (a.parse::<Mode>(), b.parse::<Mode>()) {
            if tail.is_some() {
                return Err("a ratio of two modes is on a metric, not an operation".into());
            }
            return Ok(Target::Ratio {
                mode,
                base,
                metric,
                stat,
            });
        }
    }
    let (mode, op) = match first.parse::<Mode>() {
        Ok(m) => (Some(m), tail),
        Err(_) => (None, Some(prefix)),
    };
    if let Some(op) = op {
        if !OPERATION_METRICS.contains(&metric) {
            return Err(format!(
                "{op:?} is not a mode (passive, epsv, active, eprt), and an operation has only first_byte, transfer and throughput, not {}",
                metric.as_str()
            ));
        }
    }
    Ok(Target::Metric {
        mode,
        op: op.map(normalise_op),
        metric,
        stat,
    })
}

/// An operation's words, single-spaced, as `Op`'s `Display` writes them.
fn normalise_op(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn parse_bound(t: &Target, v: &str) -> Result<f64, String> {
    let plain = || v.parse::<f64>().ok().filter(|x| x.is_finite());
    match t.unit() {
        "us" => parse_duration(v)
            .map(|d| d.as_secs_f64() * 1e6)
            .map_err(|_| format!("a latency is bounded by a duration, e.g. \"50ms\" or \"1.5s\", not {v:?}")),
        "B/s" => parse_bandwidth(v)
            .ok()
            .or_else(|| v.strip_suffix("/s").and_then(|n| parse_size(n).ok()))
            .map(|n| n as f64)
            .ok_or_else(|| format!("throughput is bounded by bytes per second, e.g. \"100MB/s\", \"1GiB/s\" or \"80Mbit/s\", not {v:?}")),
        "ratio" => plain().ok_or_else(|| {
            format!("a ratio of two modes is bounded by a plain number, e.g. \"< 3\", not {v:?}")
        }),
        "fraction" => v
            .strip_suffix('%')
            .and_then(|p| p.trim().parse::<f64>().ok().map(|p| p / 100.0))
            .or_else(plain)
            .ok_or_else(|| {
                format!("errors.rate is a fraction of iterations, e.g. \"0.001\" or \"0.1%\", not {v:?}")
            }),
        _ => crate::scenario::load::parse_rate(v)
            .map_err(|_| format!("a rate is bounded by a count per time, e.g. \"200/s\" or \"600/m\", not {v:?}")),
    }
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

/// One operation's metric in one mode. Per-operation figures are not in the
/// result yet (`ModeResult.operations`, keyed by the operation as written,
/// is coming): until they are, an operation's threshold measures nothing
/// and fails with "no samples". Wire it as
/// `result.modes.get(&mode)?.operations.get(op)?.get(&metric)`.
fn operation_metric<'a>(
    result: &'a RunResult,
    mode: Mode,
    op: &str,
    metric: Metric,
) -> Option<&'a MetricResult> {
    let _ = (result, mode, op, metric);
    None
}

/// A statistic of one mode's metric (or operation's), when it has samples.
fn stat_of(r: &RunResult, mode: Mode, op: Option<&str>, metric: Metric, stat: Stat) -> Option<f64> {
    let m = match op {
        Some(op) => operation_metric(r, mode, op, metric)?,
        None => r.modes.get(&mode)?.metrics.get(&metric)?,
    };
    (m.count > 0).then(|| stat.of(m))
}

/// A rate over counters, errors and a length of time.
pub fn rate(count: Count, c: &Counters, errors: u64, seconds: f64) -> Option<f64> {
    let per_s = |n: u64| (seconds > 0.0).then(|| n as f64 / seconds);
    match count {
        Count::Errors => Some(errors as f64 / (c.iterations + c.iterations_failed).max(1) as f64),
        Count::Sessions => per_s(c.sessions + c.sessions_failed),
        Count::Logins => per_s(c.sessions),
        Count::Transfers => per_s(c.transfers),
    }
}

/// The measured value and the mode it comes from.
fn measure(t: &Threshold, r: &RunResult) -> (Option<f64>, Option<Mode>) {
    match &t.target {
        Target::Metric {
            mode: Some(m),
            op,
            metric,
            stat,
        } => (stat_of(r, *m, op.as_deref(), *metric, *stat), Some(*m)),
        Target::Metric {
            mode: None,
            op,
            metric,
            stat,
        } => {
            let mut worst: Option<(f64, Mode)> = None;
            for m in r.modes.keys() {
                let Some(v) = stat_of(r, *m, op.as_deref(), *metric, *stat) else {
                    continue;
                };
                let worse = match worst {
                    None => true,
                    Some((w, _)) if t.cmp.is_upper() => v > w,
                    Some((w, _)) => v < w,
                };
                if worse {
                    worst = Some((v, *m));
                }
            }
            (worst.map(|w| w.0), worst.map(|w| w.1))
        }
        Target::Ratio {
            mode,
            base,
            metric,
            stat,
        } => {
            let v = stat_of(r, *mode, None, *metric, *stat);
            let b = stat_of(r, *base, None, *metric, *stat).filter(|b| *b > 0.0);
            (v.zip(b).map(|(v, b)| v / b), Some(*mode))
        }
        Target::Rate { mode, count } => {
            let mut c = Counters::default();
            let mut errors = 0;
            for (m, s) in &r.modes {
                if mode.is_none_or(|want| want == *m) {
                    c += s.counters;
                    errors += s.error_count();
                }
            }
            (rate(*count, &c, errors, r.duration_s), *mode)
        }
    }
}

/// Judges every threshold on a finished run.
pub fn evaluate(ts: &[Threshold], r: &RunResult) -> Vec<ThresholdOutcome> {
    ts.iter()
        .map(|t| {
            let (measured, mode) = measure(t, r);
            ThresholdOutcome {
                key: t.key.clone(),
                op: t.cmp.as_str().into(),
                bound: t.bound_text.clone(),
                bound_value: t.bound,
                measured,
                unit: t.target.unit().into(),
                mode,
                pass: measured.is_some_and(|v| t.cmp.holds(v, t.bound)),
            }
        })
        .collect()
}

/// During the run, each second: the key of the first `abort_on_fail`
/// threshold already lost on the totals so far, once its delay has passed.
pub fn lost_early<'a>(
    ts: &'a [Threshold],
    elapsed: Duration,
    c: &Counters,
    errors: u64,
) -> Option<&'a Threshold> {
    ts.iter().find(|t| {
        let Target::Rate { mode: None, count } = t.target else {
            return false;
        };
        t.abort_on_fail
            && elapsed >= t.delay_abort_eval
            && rate(count, c, errors, elapsed.as_secs_f64())
                .is_some_and(|v| !t.cmp.holds(v, t.bound))
    })
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
