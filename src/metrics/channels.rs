//! What data channels did, beyond their timings: which server ports were
//! announced, how soon each came round again, how many channels were pending
//! and open at once, and the first sign of exhaustion.

use hdrhistogram::Histogram;
use std::ops::AddAssign;

use super::exhaustion::Exhaustion;
use super::{LATENCY_MAX_US, SIGFIG};

/// A set of TCP ports: 8 KiB of bits, so it merges exactly (by OR) and
/// answers "how many distinct ports" without a hash map per thread.
#[derive(Clone)]
pub struct PortSet(Box<[u64; 1024]>);

impl Default for PortSet {
    fn default() -> Self {
        PortSet(Box::new([0; 1024]))
    }
}

impl std::fmt::Debug for PortSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PortSet({} ports)", self.len())
    }
}

impl PortSet {
    pub fn insert(&mut self, p: u16) {
        self.0[usize::from(p) / 64] |= 1 << (p % 64);
    }

    pub fn contains(&self, p: u16) -> bool {
        self.0[usize::from(p) / 64] & (1 << (p % 64)) != 0
    }

    pub fn len(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
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
        for (a, b) in self.0.iter_mut().zip(o.0.iter()) {
            *a |= b;
        }
    }
}

/// Gauges count channels; a million at once is far beyond one machine.
const GAUGE_MAX: u64 = 10_000_000;

fn gauge_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, GAUGE_MAX, SIGFIG).expect("static bounds")
}

#[derive(Debug, Clone)]
pub struct ChannelStats {
    /// Time between two announcements of the same server port, in µs.
    pub reuse_interval: Histogram<u64>,
    /// Samples, every tick, of channels pending (announced or listening, not
    /// yet connected), open (connected), and both (what a range must hold).
    pub pending: Histogram<u64>,
    pub open: Histogram<u64>,
    pub in_use: Histogram<u64>,
    pub peak_pending: i64,
    pub peak_open: i64,
    pub peak_in_use: i64,
    /// Server ports announced in 227/229 replies.
    pub ports: PortSet,
    /// Announcements outside the range the scenario declared for the server.
    pub outside_declared: u64,
    pub exhaustion: Option<Exhaustion>,
}

impl Default for ChannelStats {
    fn default() -> Self {
        ChannelStats {
            reuse_interval: Histogram::new_with_bounds(1, LATENCY_MAX_US, SIGFIG)
                .expect("static bounds"),
            pending: gauge_histogram(),
            open: gauge_histogram(),
            in_use: gauge_histogram(),
            peak_pending: 0,
            peak_open: 0,
            peak_in_use: 0,
            ports: PortSet::default(),
            outside_declared: 0,
            exhaustion: None,
        }
    }
}

impl ChannelStats {
    /// Records one sample of the gauges (zero is a value too: idle time counts).
    pub fn sample(&mut self, pending: i64, open: i64, in_use: i64) {
        let rec = |h: &mut Histogram<u64>, v: i64| {
            let v = (v.max(0) as u64).min(GAUGE_MAX);
            h.record(v).expect("clamped into range");
        };
        rec(&mut self.pending, pending);
        rec(&mut self.open, open);
        rec(&mut self.in_use, in_use);
        self.peak_pending = self.peak_pending.max(pending);
        self.peak_open = self.peak_open.max(open);
        self.peak_in_use = self.peak_in_use.max(in_use);
    }

    pub fn record_reuse(&mut self, us: u64) {
        let v = us.clamp(1, self.reuse_interval.high());
        self.reuse_interval.record(v).expect("clamped into range");
    }
}

impl AddAssign<&ChannelStats> for ChannelStats {
    fn add_assign(&mut self, o: &ChannelStats) {
        for (a, b) in [
            (&mut self.reuse_interval, &o.reuse_interval),
            (&mut self.pending, &o.pending),
            (&mut self.open, &o.open),
            (&mut self.in_use, &o.in_use),
        ] {
            a.add(b).expect("histograms share bounds");
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
