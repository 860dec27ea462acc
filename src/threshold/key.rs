//! A threshold as written, parsed: its key (what is measured) and its
//! bound (a comparison and a value in the metric's unit).

use std::time::Duration;

use crate::metrics::Metric;
use crate::proto::Mode;
use crate::result::MetricResult;
use crate::scenario::units::{parse_bandwidth, parse_duration, parse_size};
use crate::scenario::ThresholdSpec;

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

    pub(super) fn of(self, m: &MetricResult) -> f64 {
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

    pub(super) fn holds(self, v: f64, bound: f64) -> bool {
        match self {
            Cmp::Lt => v < bound,
            Cmp::Le => v <= bound,
            Cmp::Gt => v > bound,
            Cmp::Ge => v >= bound,
        }
    }

    /// An upper bound: the worst of several values is the largest.
    pub(super) fn is_upper(self) -> bool {
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
