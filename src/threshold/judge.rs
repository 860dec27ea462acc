//! Judging thresholds: on a finished result (`evaluate`), and on the
//! running totals each second for `abort_on_fail` (`lost_early`).

use std::time::Duration;

use super::{Count, Stat, Target, Threshold};
use crate::metrics::{Counters, Metric};
use crate::proto::Mode;
use crate::result::{MetricResult, RunResult, ThresholdOutcome};

/// One operation's metric in one mode, from the result's `operations`.
fn operation_metric<'a>(
    result: &'a RunResult,
    mode: Mode,
    op: &str,
    metric: Metric,
) -> Option<&'a MetricResult> {
    result.modes.get(&mode)?.operations.get(op)?.get(&metric)
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
