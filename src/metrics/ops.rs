//! Per-operation figures. `retr 1k.bin`, `retr 1m.bin`, `stor 64KiB` and
//! `list` landing in one `transfer` histogram describe no real transfer (the
//! smoke run's throughput "112 MiB/s p50 / 2.6 GiB/s p99" mixed a kilobyte
//! and a megabyte), so each operation as written in the scenario keeps its
//! own first byte, transfer and throughput, beside the mode's totals (as
//! Locust's per-name rows and k6's tags do). A file drawn by weight counts
//! under the file drawn: `retr 1k.bin:80,1m.bin:20` is two operations.

use std::collections::BTreeMap;
use std::ops::AddAssign;

use hdrhistogram::Histogram;

use super::Metric;

/// The metrics kept per operation: those of one transfer.
pub const OP_METRICS: [Metric; 3] = [Metric::FirstByte, Metric::Transfer, Metric::Throughput];

/// One operation's histograms.
#[derive(Debug, Clone)]
pub struct OpStats {
    hists: [Histogram<u64>; 3],
}

impl Default for OpStats {
    fn default() -> Self {
        OpStats {
            hists: OP_METRICS.map(Metric::new_histogram),
        }
    }
}

fn slot(m: Metric) -> Option<usize> {
    OP_METRICS.iter().position(|x| *x == m)
}

impl OpStats {
    /// The histogram of `m`, if it is one kept per operation.
    pub fn histogram(&self, m: Metric) -> Option<&Histogram<u64>> {
        slot(m).map(|i| &self.hists[i])
    }

    /// Replaces a histogram, for results read back from JSON; other metrics
    /// are not kept per operation and are ignored.
    pub fn set_histogram(&mut self, m: Metric, h: Histogram<u64>) {
        if let Some(i) = slot(m) {
            self.hists[i] = h;
        }
    }

    /// Clamped into range as the mode's own histograms are, so every
    /// transfer is counted.
    pub fn record_value(&mut self, m: Metric, v: u64) {
        if let Some(i) = slot(m) {
            super::record_clamped(&mut self.hists[i], v);
        }
    }
}

impl AddAssign<&OpStats> for OpStats {
    fn add_assign(&mut self, o: &OpStats) {
        for (a, b) in self.hists.iter_mut().zip(&o.hists) {
            a.add(b).expect("histograms share bounds");
        }
    }
}

/// Every operation of a mode, by name.
#[derive(Debug, Clone, Default)]
pub struct Ops(pub BTreeMap<String, OpStats>);

impl Ops {
    /// The operation's stats, made on its first transfer: the name is
    /// allocated once per operation and shard, not per transfer.
    pub fn get_or_insert(&mut self, name: &str) -> &mut OpStats {
        if !self.0.contains_key(name) {
            self.0.insert(name.to_string(), OpStats::default());
        }
        self.0.get_mut(name).expect("inserted above")
    }
}

impl AddAssign<&Ops> for Ops {
    fn add_assign(&mut self, o: &Ops) {
        for (name, s) in &o.0 {
            *self.get_or_insert(name) += s;
        }
    }
}
