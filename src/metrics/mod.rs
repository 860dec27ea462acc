//! What a run measures: HDR histograms per transfer mode and metric, counters,
//! and classified failures. Everything here adds (`AddAssign`), so worker
//! threads, interval ticks, shards and machines combine the same exact way.

mod channels;
mod count;
pub mod exhaustion;
pub mod generator;
pub mod live;
pub mod ops;
pub mod sessions;
pub mod shard;
pub mod sources;
pub mod tls;

/// The failure vocabulary is the protocol layer's; counted here.
pub use crate::proto::{ErrorClass, Step};
pub use channels::{ChannelMetric, ChannelStats, PortSet};
pub use count::Count;
pub use exhaustion::Exhaustion;
pub use live::Live;
pub use ops::{OpStats, Ops, OP_METRICS};
pub use sessions::{SessionLimit, SessionStats};
pub use sources::{SourceCounts, Sources};
pub use tls::TlsStats;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::AddAssign;
use std::time::Duration;

use crate::proto::Mode;

/// Latencies are recorded in microseconds, from 1 µs to one hour.
pub const LATENCY_MAX_US: u64 = 3_600_000_000;
/// Throughput is recorded in bytes per second, up to 1 TB/s.
pub const THROUGHPUT_MAX: u64 = 1_000_000_000_000;
/// Three significant figures: 0.1% precision, which is finer than loopback jitter.
pub const SIGFIG: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    TcpConnect,
    Banner,
    Login,
    /// FTPS: the control connection's TLS handshake (after `AUTH TLS`'s
    /// 234, or at connect for implicit FTPS).
    TlsHandshake,
    /// Connect start to the 230: what a user waits before the first command.
    SessionSetup,
    /// PASV/EPSV/PORT/EPRT sent until the data socket is connected or accepted.
    DataSetup,
    /// FTPS with `PROT P`: a data channel's TLS handshake, after its TCP
    /// connection (not part of `data_setup`).
    DataTlsHandshake,
    /// Transfer command sent until the first data byte (downloads and listings)
    /// or until the server's go-ahead 1xx (uploads).
    FirstByte,
    /// Transfer command sent until the final 226.
    Transfer,
    /// Bytes per second of one transfer, from its command to the end of its
    /// data (what a user got; from the first byte, a transfer arriving in
    /// one read has no measurable span).
    Throughput,
    /// One iteration (a pass through a group's operations, login included
    /// when each iteration logs in), from its actual start to its end.
    Iteration,
    /// The same, from its intended start: in open loop, what a user arriving
    /// on schedule waited, including time the generator could not start it
    /// (coordinated omission corrected). Equal to `iteration` in closed loop.
    IterationCorrected,
    /// Open loop: actual start minus intended start, the generator's own lag.
    ScheduleLag,
}

impl Metric {
    pub const ALL: [Metric; 13] = [
        Metric::TcpConnect,
        Metric::Banner,
        Metric::Login,
        Metric::TlsHandshake,
        Metric::SessionSetup,
        Metric::DataSetup,
        Metric::DataTlsHandshake,
        Metric::FirstByte,
        Metric::Transfer,
        Metric::Throughput,
        Metric::Iteration,
        Metric::IterationCorrected,
        Metric::ScheduleLag,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::TcpConnect => "tcp_connect",
            Metric::Banner => "banner",
            Metric::Login => "login",
            Metric::TlsHandshake => "tls_handshake",
            Metric::SessionSetup => "session_setup",
            Metric::DataSetup => "data_setup",
            Metric::DataTlsHandshake => "data_tls_handshake",
            Metric::FirstByte => "first_byte",
            Metric::Transfer => "transfer",
            Metric::Throughput => "throughput",
            Metric::Iteration => "iteration",
            Metric::IterationCorrected => "iteration_corrected",
            Metric::ScheduleLag => "schedule_lag",
        }
    }

    /// Unit of the recorded values: "us" for latencies, "B/s" for throughput.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::Throughput => "B/s",
            _ => "us",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    pub fn new_histogram(self) -> Histogram<u64> {
        let max = match self {
            Metric::Throughput => THROUGHPUT_MAX,
            _ => LATENCY_MAX_US,
        };
        Histogram::new_with_bounds(1, max, SIGFIG).expect("static histogram bounds are valid")
    }
}

/// Counts that are not latencies. Integers, so they add exactly; those
/// added after the first committed results are [`Count`]s, unknown when
/// read from a result without them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Sessions that reached 230.
    pub sessions: u64,
    /// Sessions that failed before 230.
    pub sessions_failed: u64,
    /// Iterations (passes through a group's operation list) that ran to the end.
    pub iterations: u64,
    pub iterations_failed: u64,
    /// Data transfers (RETR, STOR, LIST, NLST) that ended in a 2xx.
    pub transfers: u64,
    pub transfers_failed: u64,
    /// Data connections made for transfers (our connect to the announced
    /// port, or the server's connect-back): against `transfers` +
    /// `transfers_failed`, how many data channels a firewall let through.
    #[serde(default = "Count::unknown")]
    pub channels_opened: Count,
    /// Control-only commands (SIZE, NOOP) that succeeded.
    pub commands: u64,
    /// Data channels negotiated and held unconnected ("hold" operations).
    #[serde(default = "Count::unknown")]
    pub holds: Count,
    pub bytes_down: u64,
    pub bytes_up: u64,
    /// A 227 named an address other than the control connection's peer.
    pub pasv_address_mismatch: u64,
    /// Active data connections whose server source port was 20 (the RFC 959 default) or not.
    pub active_from_port_20: u64,
    pub active_from_other_port: u64,
    /// Open loop: arrivals that started more than [`LATE`] after their
    /// intended time, and arrivals dropped because no client freed up in time.
    #[serde(default = "Count::unknown")]
    pub late: Count,
    #[serde(default = "Count::unknown")]
    pub dropped: Count,
    /// Open loop: arrivals still waiting for a client when the run was cut
    /// off (grace period over, or interrupted): they ran nothing.
    #[serde(default = "Count::unknown")]
    pub unstarted: Count,
}

/// An open-loop arrival starting this much after its intended time is late.
pub const LATE: Duration = Duration::from_millis(10);

impl AddAssign for Counters {
    fn add_assign(&mut self, o: Counters) {
        self.sessions += o.sessions;
        self.sessions_failed += o.sessions_failed;
        self.iterations += o.iterations;
        self.iterations_failed += o.iterations_failed;
        self.transfers += o.transfers;
        self.transfers_failed += o.transfers_failed;
        self.channels_opened += o.channels_opened;
        self.commands += o.commands;
        self.holds += o.holds;
        self.bytes_down += o.bytes_down;
        self.bytes_up += o.bytes_up;
        self.pasv_address_mismatch += o.pasv_address_mismatch;
        self.active_from_port_20 += o.active_from_port_20;
        self.active_from_other_port += o.active_from_other_port;
        self.late += o.late;
        self.dropped += o.dropped;
        self.unstarted += o.unstarted;
    }
}

/// How often one class of failure happened, with the first message seen, so a
/// person reading the result sees the server's own words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorStat {
    pub count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<String>,
}

impl AddAssign for ErrorStat {
    fn add_assign(&mut self, o: ErrorStat) {
        self.count += o.count;
        if self.sample.is_none() {
            self.sample = o.sample;
        }
    }
}

/// An empty histogram of each metric, for a metric with nothing recorded.
fn empty(m: Metric) -> &'static Histogram<u64> {
    static EMPTY: std::sync::OnceLock<[Histogram<u64>; 13]> = std::sync::OnceLock::new();
    &EMPTY.get_or_init(|| Metric::ALL.map(Metric::new_histogram))[m.index()]
}

/// Everything measured for one transfer mode.
#[derive(Debug, Clone, Default)]
pub struct ModeStats {
    /// Made at a metric's first value: each holds 8,704 counters (68 KiB)
    /// however few values, and the sampler starts every shard afresh each
    /// second, so zeroing eleven of them per mode, shard and second was a
    /// page fault storm (40% of a short run's CPU) for metrics never used.
    hists: [Option<Histogram<u64>>; 13],
    pub counters: Counters,
    pub errors: BTreeMap<ErrorClass, ErrorStat>,
    pub channels: ChannelStats,
    /// First byte, transfer and throughput per operation as written.
    pub ops: Ops,
    /// Logged-in sessions at their peak, and refusals by the server's session limit.
    pub sessions: SessionStats,
    /// Per source address, when the run spreads over several.
    pub sources: Sources,
    /// FTPS: handshakes, versions and suites, data-channel resumption.
    pub tls: TlsStats,
}

/// Records `v` clamped into the histogram's range: a value out of range is
/// counted at the edge rather than lost.
fn record_clamped(h: &mut Histogram<u64>, v: u64) {
    h.record(v.clamp(1, h.high()))
        .expect("value clamped into range");
}

/// Whole microseconds, saturating: the unit of every latency histogram.
fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl ModeStats {
    pub fn histogram(&self, m: Metric) -> &Histogram<u64> {
        self.hists[m.index()].as_ref().unwrap_or_else(|| empty(m))
    }

    /// Replaces a histogram, for results read back from JSON.
    pub fn set_histogram(&mut self, m: Metric, h: Histogram<u64>) {
        self.hists[m.index()] = Some(h);
    }

    fn histogram_mut(&mut self, m: Metric) -> &mut Histogram<u64> {
        self.hists[m.index()].get_or_insert_with(|| m.new_histogram())
    }

    pub fn record_duration(&mut self, m: Metric, d: Duration) {
        self.record_value(m, micros(d));
    }

    /// A transfer metric of operation `op`: into the mode's histogram and
    /// the operation's own, so the operations add up to the mode.
    pub fn record_op_duration(&mut self, op: &str, m: Metric, d: Duration) {
        self.record_op_value(op, m, micros(d));
    }

    pub fn record_op_value(&mut self, op: &str, m: Metric, v: u64) {
        self.ops.get_or_insert(op).record_value(m, v);
        self.record_value(m, v);
    }

    /// Values outside the histogram's range are clamped rather than lost, so
    /// every event is counted: a count must equal the operations done.
    pub fn record_value(&mut self, m: Metric, v: u64) {
        record_clamped(self.histogram_mut(m), v);
    }

    pub fn record_error(&mut self, class: ErrorClass, sample: impl FnOnce() -> String) {
        let e = self.errors.entry(class).or_default();
        if e.sample.is_none() {
            e.sample = Some(sample());
        }
        e.count += 1;
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().map(|e| e.count).sum()
    }
}

impl AddAssign<&ModeStats> for ModeStats {
    fn add_assign(&mut self, o: &ModeStats) {
        for m in Metric::ALL {
            if let Some(b) = &o.hists[m.index()] {
                self.histogram_mut(m)
                    .add(b)
                    .expect("histograms share bounds");
            }
        }
        self.counters += o.counters;
        for (k, v) in &o.errors {
            *self.errors.entry(*k).or_default() += v.clone();
        }
        self.channels += &o.channels;
        self.ops += &o.ops;
        self.sessions += &o.sessions;
        self.sources += &o.sources;
        self.tls += &o.tls;
    }
}

/// All modes' statistics. A mode's section exists once anything was recorded for it.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    modes: [Option<Box<ModeStats>>; 4],
}

impl Recorder {
    pub fn mode(&mut self, m: Mode) -> &mut ModeStats {
        self.modes[m.index()].get_or_insert_with(Default::default)
    }

    pub fn get(&self, m: Mode) -> Option<&ModeStats> {
        self.modes[m.index()].as_deref()
    }

    pub fn iter(&self) -> impl Iterator<Item = (Mode, &ModeStats)> {
        Mode::ALL
            .into_iter()
            .filter_map(|m| self.get(m).map(|s| (m, s)))
    }
}

impl AddAssign<&Recorder> for Recorder {
    fn add_assign(&mut self, o: &Recorder) {
        for m in Mode::ALL {
            if let Some(s) = o.get(m) {
                *self.mode(m) += s;
            }
        }
    }
}

/// A run's numbers per client group, plus the run-wide samples that belong
/// to no group (the data-channel gauges): the combined view, per mode, is
/// their exact sum, so a group's figures and the whole run's never disagree.
#[derive(Debug, Clone, Default)]
pub struct Grouped {
    pub groups: Vec<Recorder>,
    pub run: Recorder,
}

impl Grouped {
    /// Group `g`'s recorder, made on first use.
    pub fn group(&mut self, g: usize) -> &mut Recorder {
        if self.groups.len() <= g {
            self.groups.resize_with(g + 1, Recorder::default);
        }
        &mut self.groups[g]
    }

    /// Every group and the run-wide samples together, per mode.
    pub fn combined(&self) -> Recorder {
        let mut all = self.run.clone();
        for g in &self.groups {
            all += g;
        }
        all
    }

    /// Counters and error counts per mode over all groups, without merging
    /// histograms: cheap enough for every tick.
    pub fn counters_by_mode(&self) -> [(Counters, u64); 4] {
        let mut out = [(Counters::default(), 0); 4];
        for r in self.groups.iter().chain([&self.run]) {
            for (m, st) in r.iter() {
                out[m.index()].0 += st.counters;
                out[m.index()].1 += st.error_count();
            }
        }
        out
    }
}

impl AddAssign<&Grouped> for Grouped {
    fn add_assign(&mut self, o: &Grouped) {
        for (g, r) in o.groups.iter().enumerate() {
            *self.group(g) += r;
        }
        self.run += &o.run;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_add_up_to_the_combined_view() {
        let mut shard_a = Grouped::default();
        let mut shard_b = Grouped::default();
        shard_a.group(0).mode(Mode::Passive).counters.sessions += 2;
        shard_b.group(1).mode(Mode::Passive).counters.sessions += 3;
        shard_b
            .group(1)
            .mode(Mode::Active)
            .record_value(Metric::Transfer, 9);
        shard_b.run.mode(Mode::Passive).channels.sample(1, 1, 2);
        shard_a += &shard_b;
        assert_eq!(shard_a.groups.len(), 2);
        let all = shard_a.combined();
        assert_eq!(all.get(Mode::Passive).unwrap().counters.sessions, 5);
        assert_eq!(
            shard_a.counters_by_mode()[Mode::Passive.index()].0.sessions,
            5
        );
        assert_eq!(
            all.get(Mode::Active)
                .unwrap()
                .histogram(Metric::Transfer)
                .len(),
            1
        );
        assert_eq!(
            shard_a.groups[0]
                .get(Mode::Active)
                .map(|s| s.counters.sessions),
            None
        );
    }

    #[test]
    fn merging_equals_recording_in_one_place() {
        let mut a = Recorder::default();
        let mut b = Recorder::default();
        let mut whole = Recorder::default();
        for i in 1..=1000u64 {
            let r = if i % 3 == 0 { &mut a } else { &mut b };
            r.mode(Mode::Passive).record_value(Metric::Transfer, i * 7);
            whole
                .mode(Mode::Passive)
                .record_value(Metric::Transfer, i * 7);
        }
        a.mode(Mode::Active).record_error(
            ErrorClass::Reply {
                code: 425,
                command: Some(crate::proto::Verb::Retr),
            },
            || "425 no".into(),
        );
        a += &b;
        let h = a.get(Mode::Passive).unwrap().histogram(Metric::Transfer);
        let w = whole
            .get(Mode::Passive)
            .unwrap()
            .histogram(Metric::Transfer);
        assert_eq!(h.len(), 1000);
        assert_eq!(h.value_at_quantile(0.99), w.value_at_quantile(0.99));
        assert_eq!(a.get(Mode::Active).unwrap().error_count(), 1);
        assert!(a.get(Mode::Epsv).is_none());
    }

    #[test]
    fn out_of_range_values_are_clamped_not_lost() {
        let mut s = ModeStats::default();
        s.record_value(Metric::Transfer, 0);
        s.record_value(Metric::Transfer, u64::MAX);
        s.record_duration(Metric::Banner, Duration::from_secs(100_000));
        assert_eq!(s.histogram(Metric::Transfer).len(), 2);
        assert_eq!(s.histogram(Metric::Banner).len(), 1);
    }
}
