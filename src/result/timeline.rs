//! The run second by second: how load, rates and latency moved over time, so
//! the moment a range ran out, or a stage pushed the server over, can be read
//! against what was happening then. Each interval keeps its own histograms,
//! so intervals from several machines merge as exactly as the totals.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{decode_full, encode_hdr, ResultError};
use crate::metrics::Metric;
use crate::proto::Mode;

/// One metric over one interval: the quantiles people read, and the histogram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntervalMetric {
    pub count: u64,
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
    /// base64 of the HdrHistogram V2 + DEFLATE encoding, as in `modes`.
    pub hdr: String,
}

impl IntervalMetric {
    pub fn from_histogram(h: &Histogram<u64>) -> IntervalMetric {
        IntervalMetric {
            count: h.len(),
            p50: h.value_at_quantile(0.5),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
            hdr: encode_hdr(h),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModeInterval {
    /// Sessions that reached 230, transfers that ended well, and failures, in this interval.
    pub sessions: u64,
    pub transfers: u64,
    pub errors: u64,
    /// Iterations that ended in this interval, well or not: the rate achieved.
    #[serde(default)]
    pub iterations: u64,
    /// Bytes moved by transfers that ended in this interval, both ways.
    #[serde(default)]
    pub bytes: u64,
    /// Sessions logged in at the end of the interval.
    #[serde(default)]
    pub sessions_open: i64,
    /// Most data channels pending (announced or listening, not connected) and open at once.
    pub peak_pending: i64,
    pub peak_open: i64,
    /// The metrics recorded in this interval (those with no value are left out).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<Metric, IntervalMetric>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// End of the interval, in seconds since the start of the run.
    pub t_s: u32,
    /// Virtual clients running at the end of the interval.
    pub clients: u64,
    /// Open loop: arrivals whose intended start fell in this interval (the
    /// rate offered). `null` in closed loop, where nothing is offered ahead.
    #[serde(default)]
    pub offered: Option<u64>,
    /// Iterations started in this interval.
    #[serde(default)]
    pub started: u64,
    /// TCP sockets in TIME_WAIT toward the target (when it is on this host).
    pub time_wait: u64,
    pub modes: BTreeMap<Mode, ModeInterval>,
}

/// Adds `b` into `a` second by second, as another machine's share of the same
/// run: counts and histograms add, and so do gauges (the machines' loads
/// stack up). On error `a` is unchanged.
pub fn merge(a: &mut Vec<Interval>, b: &[Interval]) -> Result<(), ResultError> {
    let mut out = a.clone();
    for x in b {
        let Some(i) = out.iter_mut().find(|i| i.t_s == x.t_s) else {
            out.push(x.clone());
            continue;
        };
        i.clients += x.clients;
        i.time_wait += x.time_wait;
        i.started += x.started;
        i.offered = match (i.offered, x.offered) {
            (None, None) => None,
            (p, q) => Some(p.unwrap_or(0) + q.unwrap_or(0)),
        };
        for (m, v) in &x.modes {
            let e = i.modes.entry(*m).or_default();
            e.sessions += v.sessions;
            e.transfers += v.transfers;
            e.errors += v.errors;
            e.iterations += v.iterations;
            e.bytes += v.bytes;
            e.sessions_open += v.sessions_open;
            e.peak_pending += v.peak_pending;
            e.peak_open += v.peak_open;
            for (metric, theirs) in &v.metrics {
                let merged = match e.metrics.get(metric) {
                    Some(ours) => {
                        let mut h = decode_full(*metric, *m, &ours.hdr)?;
                        h.add(decode_full(*metric, *m, &theirs.hdr)?)
                            .map_err(|err| ResultError::Hdr {
                                mode: *m,
                                metric: metric.as_str(),
                                message: format!("{err:?}"),
                            })?;
                        IntervalMetric::from_histogram(&h)
                    }
                    None => theirs.clone(),
                };
                e.metrics.insert(*metric, merged);
            }
        }
    }
    out.sort_by_key(|i| i.t_s);
    *a = out;
    Ok(())
}
