//! A mode's statistics to and from the JSON result: each histogram
//! summarised and encoded whole, the counters and errors, and back again,
//! decoding every histogram, which is what makes merging exact.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use super::{
    decode_full, encode_hdr, ChannelsResult, ErrorEntry, MetricResult, ModeResult, ResultError,
};
use crate::metrics::{Counters, ErrorStat, Metric, ModeStats, OP_METRICS};
use crate::proto::{Mode, PortRange};

impl MetricResult {
    pub fn from_histogram(m: Metric, h: &Histogram<u64>) -> MetricResult {
        let q = |q: f64| {
            if h.is_empty() {
                0
            } else {
                h.value_at_quantile(q)
            }
        };
        MetricResult {
            unit: m.unit().to_string(),
            count: h.len(),
            min: if h.is_empty() { 0 } else { h.min() },
            mean: if h.is_empty() { 0.0 } else { h.mean() },
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: if h.is_empty() { 0 } else { h.max() },
            hdr: encode_hdr(h),
        }
    }
}

impl ModeResult {
    pub fn from_stats(s: &ModeStats, mode: Mode, declared: Option<PortRange>) -> ModeResult {
        ModeResult {
            channels: ChannelsResult::from_stats(&s.channels, mode, declared),
            metrics: metrics_of(s),
            counters: s.counters,
            errors: errors_of(s),
            operations: s
                .ops
                .0
                .iter()
                .map(|(name, o)| {
                    let metrics = OP_METRICS
                        .into_iter()
                        .filter_map(|m| {
                            o.histogram(m)
                                .map(|h| (m, MetricResult::from_histogram(m, h)))
                        })
                        .collect();
                    (name.clone(), metrics)
                })
                .collect(),
            sessions: Some(s.sessions.clone()),
            tls: (!s.tls.is_empty()).then(|| s.tls.clone()),
        }
    }

    /// Back to live statistics, decoding every histogram: the way to merge exactly.
    pub fn to_stats(&self, mode: Mode) -> Result<ModeStats, ResultError> {
        let mut s = stats_of(mode, &self.metrics, self.counters, &self.errors)?;
        s.channels = self.channels.to_stats(mode)?;
        s.sessions = self.sessions.clone().unwrap_or_default();
        s.tls = self.tls.clone().unwrap_or_default();
        for (name, metrics) in &self.operations {
            let o = s.ops.get_or_insert(name);
            for (m, r) in metrics {
                o.set_histogram(*m, decode_full(*m, mode, &r.hdr)?);
            }
        }
        Ok(s)
    }

    pub fn error_count(&self) -> u64 {
        self.errors.iter().map(|e| e.count).sum()
    }
}

/// Every metric of `s`, summarised and with its histogram.
pub(super) fn metrics_of(s: &ModeStats) -> BTreeMap<Metric, MetricResult> {
    Metric::ALL
        .into_iter()
        .map(|m| (m, MetricResult::from_histogram(m, s.histogram(m))))
        .collect()
}

pub(super) fn errors_of(s: &ModeStats) -> Vec<ErrorEntry> {
    s.errors
        .iter()
        .map(|(c, e)| ErrorEntry {
            class: *c,
            count: e.count,
            sample: e.sample.clone(),
        })
        .collect()
}

/// Live statistics from a result's metrics, counters and errors (no channels).
pub(super) fn stats_of(
    mode: Mode,
    metrics: &BTreeMap<Metric, MetricResult>,
    counters: Counters,
    errors: &[ErrorEntry],
) -> Result<ModeStats, ResultError> {
    let mut s = ModeStats::default();
    for (m, r) in metrics {
        s.set_histogram(*m, decode_full(*m, mode, &r.hdr)?);
    }
    s.counters = counters;
    for e in errors {
        *s.errors.entry(e.class).or_default() += ErrorStat {
            count: e.count,
            sample: e.sample.clone(),
        };
    }
    Ok(s)
}
