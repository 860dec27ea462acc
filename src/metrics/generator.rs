//! The generator checking itself. When the load generator is the bottleneck
//! (its threads out of CPU, or arrivals starting late), its numbers describe
//! the generator, not the server: the result must say so.

use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;

/// Above this share of its worker threads' CPU the generator is saturated.
pub const MAX_CPU: f64 = 0.8;
/// Above this p99 of schedule lag, open-loop arrivals do not start on time.
pub const MAX_LAG_P99: Duration = Duration::from_millis(1);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorCheck {
    pub workers: usize,
    /// CPU seconds the generator's worker threads used over the run.
    pub cpu_s: f64,
    /// `cpu_s` over (run time × workers): 1.0 is every worker busy all the time.
    pub cpu_utilisation: f64,
    /// Open loop: the worst mode's p99 schedule lag, in µs.
    pub schedule_lag_p99_us: Option<u64>,
    /// The generator was the bottleneck; `reasons` says why.
    pub bottleneck: bool,
    pub reasons: Vec<String>,
    /// Its resident memory, and what one logged-in session cost it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
}

/// The generator's resident memory over a run, sampled once a second, to
/// say what a logged-in session costs it: the figure that decides how many
/// idle sessions one machine can hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// Resident bytes before the first client was created.
    pub start_bytes: u64,
    /// The most resident bytes at a sample.
    pub peak_bytes: u64,
    /// Sessions logged in, and resident bytes, at the first sample with any.
    pub first_sessions: u64,
    pub first_bytes: u64,
    /// The most sessions logged in at once at a sample, and the resident
    /// bytes at the last sample with that many.
    pub peak_sessions: u64,
    pub at_peak_sessions_bytes: u64,
    /// What one more logged-in session costs: the growth from the first
    /// sample to the most sessions over the sessions added, so the
    /// recorder's fixed cost (its histograms, made at the first records)
    /// stays out. When every session came up before the first sample (no
    /// ramp), the growth from the start over all sessions: an upper bound.
    /// None without sessions.
    pub per_session_bytes: Option<u64>,
    /// The embedded target ran in this process: its memory is counted too.
    pub includes_target: bool,
}

impl Memory {
    pub fn new(start_bytes: u64) -> Memory {
        Memory {
            start_bytes,
            peak_bytes: start_bytes,
            ..Memory::default()
        }
    }

    /// One sample: resident bytes with `sessions` logged in.
    pub fn sample(&mut self, bytes: u64, sessions: u64) {
        self.peak_bytes = self.peak_bytes.max(bytes);
        if sessions > 0 && self.first_sessions == 0 {
            (self.first_sessions, self.first_bytes) = (sessions, bytes);
        }
        if sessions > 0 && sessions >= self.peak_sessions {
            self.peak_sessions = sessions;
            self.at_peak_sessions_bytes = bytes;
        }
        self.per_session_bytes = self.per_session();
    }

    fn per_session(&self) -> Option<u64> {
        let (bytes, sessions) = if self.peak_sessions > self.first_sessions {
            (self.first_bytes, self.first_sessions)
        } else {
            (self.start_bytes, 0)
        };
        (self.peak_sessions > 0).then(|| {
            self.at_peak_sessions_bytes.saturating_sub(bytes) / (self.peak_sessions - sessions)
        })
    }
}

/// Shards' processes run side by side: their memory and sessions add.
impl std::ops::AddAssign<&Memory> for Memory {
    fn add_assign(&mut self, o: &Memory) {
        self.start_bytes += o.start_bytes;
        self.peak_bytes += o.peak_bytes;
        self.first_sessions += o.first_sessions;
        self.first_bytes += o.first_bytes;
        self.peak_sessions += o.peak_sessions;
        self.at_peak_sessions_bytes += o.at_peak_sessions_bytes;
        self.includes_target |= o.includes_target;
        self.per_session_bytes = self.per_session();
    }
}

/// Shards' checks together: their threads and CPU add, the busiest
/// shard's utilisation and latest start stand for the whole, and any
/// shard that was a bottleneck makes the whole one.
impl std::ops::AddAssign<&GeneratorCheck> for GeneratorCheck {
    fn add_assign(&mut self, o: &GeneratorCheck) {
        self.workers += o.workers;
        self.cpu_s += o.cpu_s;
        self.cpu_utilisation = self.cpu_utilisation.max(o.cpu_utilisation);
        self.schedule_lag_p99_us = self.schedule_lag_p99_us.max(o.schedule_lag_p99_us);
        self.bottleneck |= o.bottleneck;
        for r in &o.reasons {
            if !self.reasons.contains(r) {
                self.reasons.push(r.clone());
            }
        }
        match (&mut self.memory, &o.memory) {
            (Some(m), Some(t)) => *m += t,
            (None, Some(t)) => self.memory = Some(t.clone()),
            _ => {}
        }
    }
}

impl GeneratorCheck {
    pub fn judge(workers: usize, cpu_s: f64, elapsed: Duration, lag_p99_us: Option<u64>) -> Self {
        let cpu_utilisation = cpu_s / (elapsed.as_secs_f64().max(1e-3) * workers.max(1) as f64);
        let mut reasons = Vec::new();
        if cpu_utilisation > MAX_CPU {
            reasons.push(format!(
                "its {workers} worker threads were {:.0}% busy (above {:.0}%)",
                cpu_utilisation * 100.0,
                MAX_CPU * 100.0
            ));
        }
        if let Some(lag) = lag_p99_us.filter(|l| *l > MAX_LAG_P99.as_micros() as u64) {
            reasons.push(format!(
                "open-loop arrivals started late: schedule lag p99 {lag} µs (above {} µs)",
                MAX_LAG_P99.as_micros()
            ));
        }
        GeneratorCheck {
            workers,
            cpu_s,
            cpu_utilisation,
            schedule_lag_p99_us: lag_p99_us,
            bottleneck: !reasons.is_empty(),
            reasons,
            memory: None,
        }
    }
}

/// The worker threads of a run, by Linux thread id, to read their CPU time
/// apart from the embedded target's threads in the same process.
#[derive(Debug, Default)]
pub struct Threads(Mutex<Vec<i64>>);

impl Threads {
    pub fn register_current(&self) {
        // SAFETY: gettid has no arguments and cannot fail.
        let tid = unsafe { libc::syscall(libc::SYS_gettid) };
        self.0.lock().unwrap().push(tid);
    }

    /// CPU seconds (user + system) the registered threads have used.
    pub fn cpu_s(&self) -> f64 {
        // SAFETY: sysconf only reads a configuration value.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|tid| std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok())
            .map(|stat| {
                // Fields after the ")" that closes the thread's name: utime is
                // the 14th field of the line, stime the 15th.
                let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
                let f: Vec<&str> = rest.split_whitespace().collect();
                let n = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
                (n(11) + n(12)) / ticks
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session's cost is the growth from the first sample with sessions
    /// to the last with the most, over the sessions added; without a ramp,
    /// from the start over all. Shards' figures add before the division.
    #[test]
    fn memory_per_session_is_the_growth_over_the_ramp_and_merges() {
        let mut m = Memory::new(10_000);
        m.sample(10_000, 0);
        m.sample(19_000, 1);
        m.sample(30_000, 10);
        m.sample(31_000, 10);
        m.sample(25_000, 5);
        assert_eq!((m.first_sessions, m.first_bytes), (1, 19_000));
        assert_eq!((m.peak_sessions, m.at_peak_sessions_bytes), (10, 31_000));
        assert_eq!(m.peak_bytes, 31_000);
        assert_eq!(m.per_session_bytes, Some((31_000 - 19_000) / 9));
        let mut burst = Memory::new(10_000);
        burst.sample(20_000, 10);
        assert_eq!(burst.per_session_bytes, Some(1_000));
        m += &burst;
        assert_eq!((m.start_bytes, m.peak_sessions), (20_000, 20));
        assert_eq!(m.per_session_bytes, Some((51_000 - 39_000) / 9));
        assert_eq!(Memory::new(5).per_session_bytes, None);
    }

    #[test]
    fn flags_a_saturated_or_late_generator() {
        let ok = GeneratorCheck::judge(2, 0.5, Duration::from_secs(10), Some(300));
        assert!(!ok.bottleneck, "{ok:?}");
        let busy = GeneratorCheck::judge(2, 18.0, Duration::from_secs(10), None);
        assert!(
            busy.bottleneck && busy.reasons[0].contains("90%"),
            "{busy:?}"
        );
        let late = GeneratorCheck::judge(2, 1.0, Duration::from_secs(10), Some(5_000));
        assert!(
            late.bottleneck && late.reasons[0].contains("5000"),
            "{late:?}"
        );
    }

    /// Spins until the kernel's own per-thread clock says 200 ms of CPU were
    /// used, then checks `Threads` read about that much. Waiting on CPU time
    /// rather than wall time keeps it true on a loaded machine, where 200 ms
    /// of wall time may hold a fraction of that in CPU.
    #[test]
    fn reads_this_threads_cpu() {
        let t = Threads::default();
        t.register_current();
        let thread_cpu = crate::sys::thread_cpu_s;
        let (cpu0, start) = (thread_cpu(), std::time::Instant::now());
        let mut x = 0u64;
        while thread_cpu() - cpu0 < 0.2 && start.elapsed() < Duration::from_secs(30) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        let used = thread_cpu();
        let cpu = t.cpu_s();
        // /proc reports whole clock ticks (10 ms): allow three.
        assert!(
            used >= 0.2 && (cpu - used).abs() <= 0.03,
            "{cpu} read, {used} used"
        );
    }
}
