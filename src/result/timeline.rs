//! The run second by second: how load, rates and latency moved over time, so
//! the moment a range ran out, or a stage pushed the server over, can be read
//! against what was happening then. Each interval keeps its own histograms,
//! so intervals from several machines merge as exactly as the totals.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use std::ops::AddAssign;

use super::{decode_full, encode_hdr, ResultError};
use crate::metrics::live::Peaks;
use crate::metrics::{Count, Metric, ModeStats};
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
    #[serde(default = "Count::unknown")]
    pub iterations: Count,
    /// Bytes moved by transfers that ended in this interval, both ways.
    #[serde(default = "Count::unknown")]
    pub bytes: Count,
    /// Sessions logged in at the end of the interval.
    #[serde(default = "Count::unknown")]
    pub sessions_open: Count<i64>,
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
    #[serde(default = "Count::unknown")]
    pub started: Count,
    /// TCP sockets in TIME_WAIT toward the target (when it is on this host).
    pub time_wait: u64,
    pub modes: BTreeMap<Mode, ModeInterval>,
    /// What the server used in this second, when it was watched (schema 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<super::server::ServerSecond>,
}

impl ModeInterval {
    /// One mode's interval from what its recorders gathered in it (`delta`)
    /// and the gauges read at its end.
    pub fn from_stats(delta: &ModeStats, sessions_open: i64, peaks: Peaks) -> ModeInterval {
        let c = delta.counters;
        ModeInterval {
            sessions: c.sessions,
            transfers: c.transfers,
            errors: delta.error_count(),
            iterations: (c.iterations + c.iterations_failed).into(),
            bytes: (c.bytes_down + c.bytes_up).into(),
            sessions_open: sessions_open.into(),
            peak_pending: peaks.pending,
            peak_open: peaks.open,
            metrics: Metric::ALL
                .into_iter()
                .filter(|&m| !delta.histogram(m).is_empty())
                .map(|m| (m, IntervalMetric::from_histogram(delta.histogram(m))))
                .collect(),
        }
    }
}

/// An interval with its histograms decoded: the form that adds, as
/// `ModeStats` is for the run's totals. `Interval` is the form written.
struct Decoded {
    interval: Interval,
    metrics: BTreeMap<(Mode, Metric), Histogram<u64>>,
}

impl Decoded {
    fn of(i: &Interval) -> Result<Decoded, ResultError> {
        let mut metrics = BTreeMap::new();
        for (&mode, m) in &i.modes {
            for (&metric, v) in &m.metrics {
                metrics.insert((mode, metric), decode_full(metric, mode, &v.hdr)?);
            }
        }
        Ok(Decoded {
            interval: i.clone(),
            metrics,
        })
    }

    fn encode(mut self) -> Interval {
        for ((mode, metric), h) in &self.metrics {
            if let Some(m) = self.interval.modes.get_mut(mode) {
                m.metrics.insert(*metric, IntervalMetric::from_histogram(h));
            }
        }
        self.interval
    }
}

/// Another machine's share of the same second: counts and histograms add,
/// and so do gauges (the machines' loads stack up).
impl AddAssign<&Decoded> for Decoded {
    fn add_assign(&mut self, o: &Decoded) {
        let (i, x) = (&mut self.interval, &o.interval);
        i.clients += x.clients;
        i.time_wait += x.time_wait;
        i.started += x.started;
        i.offered = match (i.offered, x.offered) {
            (None, None) => None,
            (p, q) => Some(p.unwrap_or(0) + q.unwrap_or(0)),
        };
        for (m, v) in &x.modes {
            *i.modes.entry(*m).or_default() += v;
        }
        // Every shard watched the same server: its second is not added.
        i.server = i.server.or(x.server);
        for (k, h) in &o.metrics {
            match self.metrics.get_mut(k) {
                // Decoded with the metric's full bounds: adding cannot overflow.
                Some(ours) => *ours += h,
                None => {
                    self.metrics.insert(*k, h.clone());
                }
            }
        }
    }
}

/// The counts and gauges of a mode's second; its histograms add in
/// [`Decoded`], which holds them decoded.
impl AddAssign<&ModeInterval> for ModeInterval {
    fn add_assign(&mut self, v: &ModeInterval) {
        self.sessions += v.sessions;
        self.transfers += v.transfers;
        self.errors += v.errors;
        self.iterations += v.iterations;
        self.bytes += v.bytes;
        self.sessions_open += v.sessions_open;
        self.peak_pending += v.peak_pending;
        self.peak_open += v.peak_open;
    }
}

/// Adds `b` into `a` second by second, as another machine's share of the same
/// run. On error (a histogram that does not decode) `a` is unchanged.
/// The most sessions of `mode` logged in at the end of any second. On a
/// merged timeline, where shards' seconds have added, the whole run's peak
/// (at the timeline's resolution), which no shard's own peak shows.
pub fn peak_sessions_open(tl: &[Interval], mode: Mode) -> Option<i64> {
    tl.iter()
        .filter_map(|i| i.modes.get(&mode)?.sessions_open.get())
        .max()
}

pub fn merge(a: &mut Vec<Interval>, b: &[Interval]) -> Result<(), ResultError> {
    let mut out = a.clone();
    for x in b {
        match out.iter_mut().find(|i| i.t_s == x.t_s) {
            Some(i) => {
                let mut ours = Decoded::of(i)?;
                ours += &Decoded::of(x)?;
                *i = ours.encode();
            }
            None => out.push(x.clone()),
        }
    }
    out.sort_by_key(|i| i.t_s);
    *a = out;
    Ok(())
}
