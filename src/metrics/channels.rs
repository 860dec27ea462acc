//! What data channels did, beyond their timings: which server ports were
//! announced, how soon each came round again, how many channels were pending
//! and open at once, and the first sign of exhaustion.

use hdrhistogram::Histogram;
use std::ops::AddAssign;

use super::exhaustion::Exhaustion;
use super::{LATENCY_MAX_US, SIGFIG};

/// A set of TCP ports: 8 KiB of bits once a port is in it, so it merges
/// exactly (by OR) and answers "how many distinct ports" without a hash map
/// per thread. Empty until then: the sampler starts every shard afresh each
/// second, and most modes of most shards never see a passive port.
#[derive(Clone, Default)]
pub struct PortSet(Option<Box<[u64; 1024]>>);

impl std::fmt::Debug for PortSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PortSet({} ports)", self.len())
    }
}

impl PortSet {
    pub fn insert(&mut self, p: u16) {
        self.0.get_or_insert_with(|| Box::new([0; 1024]))[usize::from(p) / 64] |= 1 << (p % 64);
    }

    pub fn contains(&self, p: u16) -> bool {
        self.0
            .as_ref()
            .is_some_and(|w| w[usize::from(p) / 64] & (1 << (p % 64)) != 0)
    }

    pub fn len(&self) -> u32 {
        self.0
            .as_ref()
            .map_or(0, |w| w.iter().map(|w| w.count_ones()).sum())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ports as inclusive runs `[first, last]`, compact for ranges.
    pub fn runs(&self) -> Vec<[u16; 2]> {
        let mut out: Vec<[u16; 2]> = Vec::new();
        for p in 0..=u16::MAX {
            if !self.contains(p) {
                continue;
            }
            match out.last_mut() {
                Some(r) if r[1].checked_add(1) == Some(p) => r[1] = p,
                _ => out.push([p, p]),
            }
        }
        out
    }

    pub fn from_runs(runs: &[[u16; 2]]) -> PortSet {
        let mut s = PortSet::default();
        for r in runs {
            for p in r[0]..=r[1] {
                s.insert(p);
            }
        }
        s
    }
}

/// Adding two sets is their union.
impl AddAssign<&PortSet> for PortSet {
    #[allow(clippy::suspicious_op_assign_impl)]
    fn add_assign(&mut self, o: &PortSet) {
        let Some(theirs) = &o.0 else { return };
        match &mut self.0 {
            Some(ours) => {
                for (a, b) in ours.iter_mut().zip(theirs.iter()) {
                    *a |= b;
                }
            }
            None => self.0 = Some(theirs.clone()),
        }
    }
}

/// Gauges count channels; a million at once is far beyond one machine.
const GAUGE_MAX: u64 = 10_000_000;

/// The channel histograms, in [`ChannelStats::hists`]' order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelMetric {
    /// Time between two announcements of the same server port, in µs.
    ReuseInterval,
    /// Samples, every tick, of channels pending (announced or listening, not
    /// yet connected), open (connected), and both (what a range must hold).
    Pending,
    Open,
    InUse,
}

impl ChannelMetric {
    pub const ALL: [ChannelMetric; 4] = [
        ChannelMetric::ReuseInterval,
        ChannelMetric::Pending,
        ChannelMetric::Open,
        ChannelMetric::InUse,
    ];

    fn new_histogram(self) -> Histogram<u64> {
        let high = match self {
            ChannelMetric::ReuseInterval => LATENCY_MAX_US,
            _ => GAUGE_MAX,
        };
        Histogram::new_with_bounds(1, high, SIGFIG).expect("static bounds")
    }
}

/// An empty histogram of each kind, for one with nothing recorded.
fn empty(m: ChannelMetric) -> &'static Histogram<u64> {
    static EMPTY: std::sync::OnceLock<[Histogram<u64>; 4]> = std::sync::OnceLock::new();
    &EMPTY.get_or_init(|| ChannelMetric::ALL.map(ChannelMetric::new_histogram))[m as usize]
}

#[derive(Debug, Clone, Default)]
pub struct ChannelStats {
    /// Made at the first value, as `ModeStats`' are: the gauges' hold
    /// 14,336 counters (112 KiB) each, and a shard's stats start afresh
    /// each second.
    hists: [Option<Histogram<u64>>; 4],
    pub peak_pending: i64,
    pub peak_open: i64,
    pub peak_in_use: i64,
    /// Server ports announced in 227/229 replies.
    pub ports: PortSet,
    /// Announcements outside the range the scenario declared for the server.
    pub outside_declared: u64,
    pub exhaustion: Option<Exhaustion>,
}

impl ChannelStats {
    pub fn histogram(&self, m: ChannelMetric) -> &Histogram<u64> {
        self.hists[m as usize].as_ref().unwrap_or_else(|| empty(m))
    }

    pub fn histogram_mut(&mut self, m: ChannelMetric) -> &mut Histogram<u64> {
        self.hists[m as usize].get_or_insert_with(|| m.new_histogram())
    }

    /// Records one sample of the gauges (zero is a value too: idle time counts).
    pub fn sample(&mut self, pending: i64, open: i64, in_use: i64) {
        for (m, v) in [
            (ChannelMetric::Pending, pending),
            (ChannelMetric::Open, open),
            (ChannelMetric::InUse, in_use),
        ] {
            let v = (v.max(0) as u64).min(GAUGE_MAX);
            self.histogram_mut(m).record(v).expect("clamped into range");
        }
        self.peak_pending = self.peak_pending.max(pending);
        self.peak_open = self.peak_open.max(open);
        self.peak_in_use = self.peak_in_use.max(in_use);
    }

    pub fn record_reuse(&mut self, us: u64) {
        let h = self.histogram_mut(ChannelMetric::ReuseInterval);
        let v = us.clamp(1, h.high());
        h.record(v).expect("clamped into range");
    }
}

impl AddAssign<&ChannelStats> for ChannelStats {
    fn add_assign(&mut self, o: &ChannelStats) {
        // As `ModeStats` merges its own: a histogram only where `o` has one.
        for m in ChannelMetric::ALL {
            if let Some(b) = &o.hists[m as usize] {
                self.histogram_mut(m)
                    .add(b)
                    .expect("histograms share bounds");
            }
        }
        self.peak_pending = self.peak_pending.max(o.peak_pending);
        self.peak_open = self.peak_open.max(o.peak_open);
        self.peak_in_use = self.peak_in_use.max(o.peak_in_use);
        self.ports += &o.ports;
        self.outside_declared += o.outside_declared;
        self.exhaustion = Exhaustion::earliest(self.exhaustion.take(), o.exhaustion.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_sets_merge_and_print_as_runs() {
        let mut a = PortSet::default();
        for p in [30000, 30001, 30002, 43697] {
            a.insert(p);
        }
        let mut b = PortSet::default();
        b.insert(30003);
        b.insert(65535);
        a += &b;
        assert_eq!(a.len(), 6);
        let runs = a.runs();
        assert_eq!(runs, vec![[30000, 30003], [43697, 43697], [65535, 65535]]);
        assert_eq!(PortSet::from_runs(&runs).len(), 6);
    }
}
