//! The sampler: every 100 ms it reads the live gauges (data channels pending
//! and open) into each mode's histograms, and every second it closes a
//! timeline interval from what the shards recorded since the last one. Its
//! own concern, apart from the supervisor that calls it: what a second of
//! the run looks like in the result.

use std::sync::Arc;
use std::time::Duration;

use crate::metrics::generator::Memory;
use crate::metrics::live::Peaks;
use crate::metrics::shard::Registry;
use crate::metrics::{ChannelStats, Live, ModeStats, Recorder};
use crate::proto::Mode;
use crate::result::timeline::{Interval, ModeInterval};

/// Samples the live gauges into each mode's histograms every 100 ms, and
/// every second closes a timeline interval.
pub(super) struct Sampler {
    modes: Vec<Mode>,
    open_loop: bool,
    /// Samples since the last interval closed.
    samples: u32,
    /// The end of the open interval, in whole seconds since the start.
    t_s: u32,
    second: [Peaks; 4],
    last_started_offered: (u64, u64),
    /// The gauges' samples and each mode's peak of logged-in sessions, kept
    /// here for the whole run and added to the registry once, at the end:
    /// in a shard, which starts afresh each second, they made three 112 KiB
    /// histograms per mode to zero and merge every second.
    gauges: [ChannelStats; 4],
    peak_logged_in: [i64; 4],
    /// The generator's resident memory, read with each interval.
    pub(super) memory: Memory,
}

impl Sampler {
    pub(super) fn new(modes: &[Mode], open_loop: bool) -> Sampler {
        Sampler {
            modes: modes.to_vec(),
            open_loop,
            samples: 0,
            t_s: 1,
            second: Default::default(),
            last_started_offered: (0, 0),
            gauges: Default::default(),
            peak_logged_in: [0; 4],
            // Made before the first client, so what clients cost is above it.
            memory: Memory::new(crate::sys::resident_bytes().unwrap_or(0)),
        }
    }

    pub(super) fn sample(&mut self, registry: &Arc<Registry>, live: &Live) -> Option<Interval> {
        self.gauges(live);
        self.samples += 1;
        (live.elapsed() >= Duration::from_secs(self.t_s.into()))
            .then(|| self.interval(registry, live))
    }

    /// The gauges' peaks since the last call.
    fn gauges(&mut self, live: &Live) {
        for &m in &self.modes {
            let p = live.take_peaks(m);
            let s = &mut self.second[m.index()];
            s.pending = s.pending.max(p.pending);
            s.open = s.open.max(p.open);
            self.gauges[m.index()].sample(p.pending, p.open, p.in_use);
            let peak = &mut self.peak_logged_in[m.index()];
            *peak = (*peak).max(p.sessions);
        }
    }

    fn interval(&mut self, registry: &Arc<Registry>, live: &Live) -> Interval {
        // What the shards recorded since the last interval is this
        // interval's numbers, histograms included.
        let delta = registry.drain().combined();
        self.close(delta, live)
    }

    fn close(&mut self, delta: Recorder, live: &Live) -> Interval {
        let empty = ModeStats::default();
        let mut modes = std::collections::BTreeMap::new();
        for &m in &self.modes {
            let d = delta.get(m).unwrap_or(&empty);
            let peaks = std::mem::take(&mut self.second[m.index()]);
            modes.insert(m, ModeInterval::from_stats(d, live.sessions_open(m), peaks));
        }
        self.samples = 0;
        let t_s = self.t_s;
        // Whole seconds the sampler missed (a stalled thread) are skipped.
        self.t_s = (live.elapsed().as_secs() as u32 + 1).max(t_s + 1);
        if let Some(bytes) = crate::sys::resident_bytes() {
            let sessions = self
                .modes
                .iter()
                .map(|&m| live.sessions_open(m))
                .sum::<i64>();
            self.memory.sample(bytes, sessions.max(0) as u64);
        }
        let (started, offered) = live.started_offered();
        let (s0, o0) = std::mem::replace(&mut self.last_started_offered, (started, offered));
        Interval {
            t_s,
            clients: live.clients(),
            offered: self.open_loop.then_some(offered - o0),
            started: (started - s0).into(),
            // The namespace's count, a counter the kernel keeps: 11.6 µs at
            // any table size, where walking /proc/net/tcp for the target's
            // sockets took 72.8 ms a second at 106,203 of them.
            time_wait: crate::kernel::time_wait_here().unwrap_or(0),
            modes,
            // Filled in after the run from the server's own watch.
            server: None,
        }
    }

    /// The partial last second: samples since the last interval, or counts
    /// recorded after it (iterations finishing in the grace period).
    pub(super) fn finish(&mut self, registry: &Arc<Registry>, live: &Live) -> Option<Interval> {
        let delta = registry.drain().combined();
        let recorded = delta.iter().next().is_some();
        // Sessions logged in since the last sample (in the last 100 ms)
        // still count in the peak; into the total, after the drain, so they
        // make no interval of their own, as the gauges.
        for &m in &self.modes {
            let peak = &mut self.peak_logged_in[m.index()];
            *peak = (*peak).max(live.take_peaks(m).sessions);
        }
        registry.with_shard(|r| {
            for &m in &self.modes {
                let s = r.run.mode(m);
                s.channels += &self.gauges[m.index()];
                s.sessions.peak_logged_in = s
                    .sessions
                    .peak_logged_in
                    .max(self.peak_logged_in[m.index()]);
            }
        });
        (self.samples > 0 || recorded).then(|| self.close(delta, live))
    }
}
