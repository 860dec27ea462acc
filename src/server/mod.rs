//! What the server pays: its CPU, memory, processes and descriptors over a
//! run, read from where operators already look. A local server from its
//! process tree in `/proc` ([`proc`], found by the socket it listens on:
//! [`find`]); the embedded target from its own runtime threads; a remote
//! one from a Prometheus exporter it already runs ([`prom`]). A thread of
//! its own samples once a second ([`Watch`]), off the load's threads.

mod expo;
pub mod find;
pub mod proc;
pub mod prom;

use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How often the server is sampled.
pub const EVERY: Duration = Duration::from_secs(1);
/// A scrape slower than this is a failed sample, not a stalled watch.
const SCRAPE_TIMEOUT: Duration = Duration::from_millis(800);

/// What is watched.
#[derive(Debug, Clone, PartialEq)]
pub enum Watched {
    /// A local process and its descendants (`--server-pid`, or the one
    /// listening on the target's port).
    Process { pid: i32, name: String },
    /// The embedded target: the threads of this process whose name starts
    /// with this prefix. Its memory and descriptors are the generator's
    /// too, so only its CPU is its own.
    Threads { prefix: &'static str },
    /// A Prometheus exporter on the server's host (`--server-metrics`):
    /// process-exporter's one group, or node_exporter's figures, which are
    /// the host's, not the server's alone.
    Exporter { url: String },
}

impl Watched {
    /// The words for what was watched, for the result and the summary.
    pub fn describe(&self) -> String {
        match self {
            Watched::Process { pid, name } => format!("process {pid} ({name}) and its children"),
            Watched::Threads { .. } => "the embedded target's threads".into(),
            Watched::Exporter { url } => format!(
                "the exporter at {url} (process-exporter's group when it has one, else the whole host)"
            ),
        }
    }

    /// "process", "threads" or "exporter".
    pub fn kind(&self) -> &'static str {
        match self {
            Watched::Process { .. } => "process",
            Watched::Threads { .. } => "threads",
            Watched::Exporter { .. } => "exporter",
        }
    }
}

/// The server at one moment; cumulative CPU, the rest gauges. A figure the
/// source cannot give is None.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// Since the watch started.
    pub at: Duration,
    pub cpu_user_s: f64,
    pub cpu_system_s: f64,
    pub memory_bytes: Option<u64>,
    pub processes: Option<u64>,
    pub fds: Option<u64>,
    /// The cores of the server's host: this machine's for a local server,
    /// the exporter's CPUs for a remote one.
    pub cores: Option<u32>,
}

/// This machine's cores, as the scheduler offers them to this process:
/// read once (`available_parallelism` reads the cgroup's files each call),
/// not at every sample.
fn local_cores() -> Option<u32> {
    static CORES: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| {
        std::thread::available_parallelism()
            .ok()
            .map(|n| n.get() as u32)
    })
}

impl Sample {
    pub fn cpu_s(&self) -> f64 {
        self.cpu_user_s + self.cpu_system_s
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("server process {pid}: {error}")]
    Process { pid: i32, error: std::io::Error },
    #[error(transparent)]
    Exporter(#[from] prom::PromError),
    #[error("cannot start the watch's thread: {0}")]
    Thread(std::io::Error),
}

/// Reads `what` once.
pub fn sample(what: &Watched, at: Duration) -> Result<Sample, WatchError> {
    match what {
        Watched::Process { pid, .. } => {
            let t = proc::sample_tree(*pid).map_err(|error| WatchError::Process {
                pid: *pid,
                error: match error.kind() {
                    std::io::ErrorKind::NotFound => std::io::Error::other("no such process"),
                    _ => error,
                },
            })?;
            Ok(Sample {
                at,
                cpu_user_s: t.cpu_user_s,
                cpu_system_s: t.cpu_system_s,
                memory_bytes: Some(t.memory_bytes),
                processes: Some(t.processes),
                fds: Some(t.fds),
                cores: local_cores(),
            })
        }
        Watched::Threads { prefix } => {
            let (cpu_user_s, cpu_system_s) = proc::own_threads_cpu(prefix);
            Ok(Sample {
                at,
                cpu_user_s,
                cpu_system_s,
                cores: local_cores(),
                ..Sample::default()
            })
        }
        Watched::Exporter { url } => Ok(from_exporter(&prom::scrape(url, SCRAPE_TIMEOUT)?, at)),
    }
}

/// An exporter's page as a sample: process-exporter's one group when the
/// page has exactly one (the server's own processes: its CPU, resident
/// memory, processes and descriptors), else node_exporter's host figures
/// (busy CPU, used memory), which count whatever else the host runs.
fn from_exporter(p: &prom::PromSample, at: Duration) -> Sample {
    let cores = Some(p.cpus).filter(|&c| c > 0);
    if let (1, Some(g)) = (p.groups.len(), p.groups.values().next()) {
        return Sample {
            at,
            cpu_user_s: g.cpu_seconds - g.cpu_system_seconds,
            cpu_system_s: g.cpu_system_seconds,
            memory_bytes: g.resident_bytes,
            processes: g.processes,
            fds: g.open_fds,
            cores,
        };
    }
    let mode = |m: &str| p.cpu_seconds_by_mode.get(m).copied().unwrap_or(0.0);
    let user = mode("user") + mode("nice");
    Sample {
        at,
        cpu_user_s: user,
        cpu_system_s: (p.cpu_busy_seconds - user).max(0.0),
        memory_bytes: p
            .memory_total_bytes
            .zip(p.memory_available_bytes)
            .map(|(t, a)| t.saturating_sub(a)),
        processes: p.processes,
        fds: None,
        cores,
    }
}

/// The samples of one watch, the first taken when it started and the last
/// when it stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub what: Watched,
    /// When the watch began: each sample's `at` counts from here.
    pub started: Instant,
    pub samples: Vec<Sample>,
    /// Samples that failed (a scrape timed out, the process went away).
    pub failed: u64,
    /// The first failure, in words.
    pub failure: Option<String>,
}

/// A running watch: a thread sampling every [`EVERY`] until [`Watch::finish`].
pub struct Watch {
    what: Watched,
    started: Instant,
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<Series>,
}

impl Watch {
    /// Takes the first sample here (so a wrong pid or an unreachable
    /// exporter fails before the run), then samples on a thread.
    pub fn start(what: Watched) -> Result<Watch, WatchError> {
        let t0 = Instant::now();
        let first = sample(&what, Duration::ZERO)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let watched = what.clone();
        let thread = std::thread::Builder::new()
            .name("ftpload-server-watch".into())
            .spawn(move || {
                let mut series = Series {
                    what: watched,
                    started: t0,
                    samples: vec![first],
                    failed: 0,
                    failure: None,
                };
                // Each sample at the next whole second since t0, so a slow
                // read does not drift the ones after it.
                let mut next = EVERY;
                loop {
                    let wait = next.saturating_sub(t0.elapsed());
                    let last = !matches!(
                        stopped.recv_timeout(wait),
                        Err(mpsc::RecvTimeoutError::Timeout)
                    );
                    match sample(&series.what, t0.elapsed()) {
                        Ok(s) => series.samples.push(s),
                        Err(e) => {
                            series.failed += 1;
                            series.failure.get_or_insert_with(|| e.to_string());
                        }
                    }
                    if last {
                        return series;
                    }
                    next += EVERY;
                }
            })
            .map_err(WatchError::Thread)?;
        Ok(Watch {
            what,
            started: t0,
            stop,
            thread,
        })
    }

    /// Takes the last sample and returns them all.
    pub fn finish(self) -> Series {
        let _ = self.stop.send(());
        self.thread.join().unwrap_or_else(|_| Series {
            what: self.what,
            started: self.started,
            samples: Vec::new(),
            failed: 1,
            failure: Some("the watch thread panicked".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This process watched while this thread burns 0.6 s of CPU (by the
    /// kernel's own clock for the thread, so a loaded machine only makes it
    /// slower) and at least 1.1 s of wall time: samples at the start, each
    /// second and the end, the CPU risen by what was burnt.
    /// process-exporter's one group is the server; with none, or several,
    /// node_exporter's host figures are.
    #[test]
    fn an_exporter_page_is_its_group_or_its_host() {
        let text = |groups: &str| {
            format!(
                "node_cpu_seconds_total{{cpu=\"0\",mode=\"user\"}} 10\n\
                 node_cpu_seconds_total{{cpu=\"0\",mode=\"system\"}} 4\n\
                 node_cpu_seconds_total{{cpu=\"0\",mode=\"idle\"}} 100\n\
                 node_memory_MemTotal_bytes 1000\nnode_memory_MemAvailable_bytes 400\n{groups}"
            )
        };
        let group = |name: &str| {
            format!(
                "namedprocess_namegroup_cpu_seconds_total{{groupname=\"{name}\",mode=\"user\"}} 1.5\n\
                 namedprocess_namegroup_cpu_seconds_total{{groupname=\"{name}\",mode=\"system\"}} 0.5\n\
                 namedprocess_namegroup_memory_bytes{{groupname=\"{name}\",memtype=\"resident\"}} 77\n\
                 namedprocess_namegroup_num_procs{{groupname=\"{name}\"}} 3\n"
            )
        };
        let at = Duration::ZERO;
        let host = from_exporter(&prom::parse(&text("")).unwrap(), at);
        assert_eq!((host.cpu_user_s, host.cpu_system_s), (10.0, 4.0));
        assert_eq!((host.memory_bytes, host.cores), (Some(600), Some(1)));
        let one = from_exporter(&prom::parse(&text(&group("vsftpd"))).unwrap(), at);
        assert_eq!((one.cpu_user_s, one.cpu_system_s), (1.5, 0.5));
        assert_eq!((one.memory_bytes, one.processes), (Some(77), Some(3)));
        let two = text(&(group("a") + &group("b")));
        assert_eq!(from_exporter(&prom::parse(&two).unwrap(), at), host);
    }

    #[test]
    fn a_watch_samples_each_second_and_at_the_end() {
        let me = std::process::id() as i32;
        let what = Watched::Process {
            pid: me,
            name: proc::name(me),
        };
        let thread_cpu = crate::sys::thread_cpu_s;
        let w = Watch::start(what).unwrap();
        let (t0, c0) = (Instant::now(), thread_cpu());
        let mut x = 0u64;
        while (thread_cpu() - c0 < 0.6 || t0.elapsed() < Duration::from_millis(1100))
            && t0.elapsed() < Duration::from_secs(30)
        {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let s = w.finish();
        assert_eq!(s.failed, 0, "{:?}", s.failure);
        assert!(s.samples.len() >= 3, "{:?}", s.samples);
        let (first, last) = (s.samples[0], *s.samples.last().unwrap());
        assert!(last.cpu_s() - first.cpu_s() >= 0.5, "{first:?} {last:?}");
        assert!(last.at >= Duration::from_millis(1100), "{last:?}");
        assert!(Watch::start(Watched::Process {
            pid: i32::MAX,
            name: String::new()
        })
        .is_err());
    }
}
