//! The live state of a run that many clients touch at once: data channels
//! pending and open per mode (with their peaks), clients running, and when
//! each server port was last announced. Plain atomics: a gauge is a number
//! every client moves, so there is nothing to shard, and no lock.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::proto::data::ChannelWatch;
use crate::proto::Mode;

#[derive(Debug, Default)]
struct Gauge {
    now: AtomicI64,
    peak: AtomicI64,
}

impl Gauge {
    fn add(&self, d: i64) -> i64 {
        let v = self.now.fetch_add(d, Relaxed) + d;
        if d > 0 {
            self.peak.fetch_max(v, Relaxed);
        }
        v
    }

    /// The peak since the last call, restarting from the current value.
    fn take_peak(&self) -> i64 {
        let now = self.now.load(Relaxed);
        self.peak.swap(now, Relaxed).max(now)
    }
}

#[derive(Debug, Default)]
struct ModeGauges {
    pending: Gauge,
    open: Gauge,
    /// Logged-in control connections.
    sessions: Gauge,
    /// Pending plus open: what a passive range (or the client's active range)
    /// must hold at once on servers that keep a port for the whole transfer.
    in_use: Gauge,
}

/// Peaks of one mode's gauges over an interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Peaks {
    pub pending: i64,
    pub open: i64,
    pub in_use: i64,
    /// Logged-in sessions.
    pub sessions: i64,
}

#[derive(Debug)]
pub struct Live {
    start: Instant,
    modes: [ModeGauges; 4],
    clients: AtomicU64,
    /// Iterations started, and open-loop arrivals whose intended start has
    /// come: the timeline's rates started and offered.
    started: AtomicU64,
    offered: AtomicU64,
    /// Per server port: microseconds since start (plus one) of its last announcement.
    last_use: Box<[AtomicU64]>,
}

impl Default for Live {
    fn default() -> Self {
        Live::new(Instant::now())
    }
}

impl Live {
    pub fn new(start: Instant) -> Live {
        Live {
            start,
            modes: Default::default(),
            clients: AtomicU64::new(0),
            started: AtomicU64::new(0),
            offered: AtomicU64::new(0),
            last_use: (0..=u16::MAX as usize).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    pub fn client_started(&self) {
        self.clients.fetch_add(1, Relaxed);
    }

    pub fn client_stopped(&self) {
        self.clients.fetch_sub(1, Relaxed);
    }

    pub fn clients(&self) -> u64 {
        self.clients.load(Relaxed)
    }

    /// A session of `mode` logged in (`+1`) or ended (`-1`).
    pub fn session(&self, mode: Mode, delta: i64) {
        self.modes[mode.index()].sessions.add(delta);
    }

    /// Sessions of `mode` logged in right now.
    pub fn sessions_open(&self, mode: Mode) -> i64 {
        self.modes[mode.index()].sessions.now.load(Relaxed)
    }

    /// Current (pending, open) data channels of `mode`.
    pub fn channels(&self, mode: Mode) -> (i64, i64) {
        let g = &self.modes[mode.index()];
        (g.pending.now.load(Relaxed), g.open.now.load(Relaxed))
    }

    pub fn iteration_started(&self) {
        self.started.fetch_add(1, Relaxed);
    }

    pub fn arrival_due(&self) {
        self.offered.fetch_add(1, Relaxed);
    }

    /// Iterations started and arrivals offered so far.
    pub fn started_offered(&self) -> (u64, u64) {
        (self.started.load(Relaxed), self.offered.load(Relaxed))
    }

    /// Peaks since the last call for `mode`.
    pub fn take_peaks(&self, mode: Mode) -> Peaks {
        let g = &self.modes[mode.index()];
        Peaks {
            pending: g.pending.take_peak(),
            open: g.open.take_peak(),
            in_use: g.in_use.take_peak(),
            sessions: g.sessions.take_peak(),
        }
    }

    /// Notes that `port` was announced at `at`; returns the time since its
    /// previous announcement, if any: a shrinking reuse interval warns that
    /// the server is cycling through a range that is running out.
    pub fn port_announced(&self, port: u16, at: Instant) -> Option<Duration> {
        let us = at.saturating_duration_since(self.start).as_micros() as u64 + 1;
        // Channels report when they end, not in announcement order: keep the
        // latest announcement, and measure only forward in time.
        let prev = self.last_use[usize::from(port)].fetch_max(us, Relaxed);
        (prev != 0 && us > prev).then(|| Duration::from_micros(us - prev))
    }
}

impl ChannelWatch for Live {
    fn pending(&self, mode: Mode, delta: i64) {
        let g = &self.modes[mode.index()];
        g.pending.add(delta);
        g.in_use.add(delta);
    }

    fn open(&self, mode: Mode, delta: i64) {
        let g = &self.modes[mode.index()];
        g.open.add(delta);
        g.in_use.add(delta);
    }

    fn load(&self, mode: Mode) -> (u64, i64, i64) {
        let (pending, open) = self.channels(mode);
        (self.clients(), pending, open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_and_reuse() {
        let l = Live::default();
        l.pending(Mode::Passive, 1);
        l.pending(Mode::Passive, 1);
        l.pending(Mode::Passive, -1);
        l.open(Mode::Passive, 1);
        assert_eq!(l.channels(Mode::Passive), (1, 1));
        assert_eq!(
            l.take_peaks(Mode::Passive),
            Peaks {
                pending: 2,
                open: 1,
                in_use: 2,
                sessions: 0
            }
        );
        // After a take, the peak restarts from the current value.
        assert_eq!(
            l.take_peaks(Mode::Passive),
            Peaks {
                pending: 1,
                open: 1,
                in_use: 2,
                sessions: 0
            }
        );
        let t0 = l.start() + Duration::from_millis(10);
        assert_eq!(l.port_announced(30000, t0), None);
        let again = l
            .port_announced(30000, t0 + Duration::from_millis(250))
            .unwrap();
        assert_eq!(again, Duration::from_millis(250));
    }
}
