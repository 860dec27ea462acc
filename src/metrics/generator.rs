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
        let thread_cpu = || {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: a valid clock id and a pointer to a live timespec.
            unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
            ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
        };
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
