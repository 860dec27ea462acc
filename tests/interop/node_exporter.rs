//! node_exporter, for real: Debian's `prometheus-node-exporter` started by
//! this binary on loopback (a free port; never as a service), with its
//! `processes` collector on and its `systemd` one off (no D-Bus here: it
//! would log an error on every scrape), and scraped by
//! `ftpload::server::prom::scrape` as a run would: twice, ~1.5 s apart,
//! while a thread burns CPU. Its figures must be those of this machine: the
//! CPUs, their busy time risen by at least part of the burn, MemTotal as
//! /proc/meminfo has it, available memory below it, TCP sockets in use,
//! processes. And the exporter's landing page (its `/`, an HTML page) is
//! refused as not metrics, saying so. The exporter is killed at the end,
//! also when the check fails, and its output is in the failure message.
//!
//! And a run with `--server-metrics` pointing at it (against the embedded
//! target, 3 s): the result's `server` is the exporter's, its CPU seconds
//! advance over the run, and they appear second by second in the timeline
//! with the host's used memory.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ftpload::server::prom::{scrape, PromError, PromSample};

use crate::harness;
use crate::{At, Check, Needs};

/// Where Debian installs it.
const BIN: &str = "/usr/bin/prometheus-node-exporter";
const MISSING: &str = "prometheus-node-exporter not installed (apt-get install prometheus-node-exporter, or scripts/test installs it)";
/// Each scrape's own timeout, generous for a loaded machine.
const TIMEOUT: Duration = Duration::from_secs(5);

pub fn checks() -> Vec<Check> {
    vec![
        (
            "interop::node_exporter::scrape".into(),
            Needs::Program(BIN, MISSING),
            Box::new(check),
        ),
        (
            "interop::node_exporter::run".into(),
            Needs::Program(BIN, MISSING),
            Box::new(run),
        ),
    ]
}

/// The exporter this check started, killed when dropped.
struct Exporter {
    child: Child,
    log: PathBuf,
    base: String,
}

impl Exporter {
    fn start() -> Exporter {
        // A free port: bound by the kernel's choice, then let go.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let log = harness::temp_dir("interop-node-exporter").join("node_exporter.log");
        let out = File::create(&log).unwrap();
        let child = Command::new(BIN)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(["--collector.processes", "--no-collector.systemd"])
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("{BIN}: {e}"));
        Exporter {
            child,
            log,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// What it said, for a failure message.
    fn said(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        format!("node_exporter's output ({}):\n{text}", self.log.display())
    }

    /// Scrapes its /metrics, failing the check with its output.
    fn scrape(&self) -> PromSample {
        scrape(&self.base, TIMEOUT).unwrap_or_else(|e| panic!("{e}\n{}", self.said()))
    }

    /// Until it answers with figures: 20 s at most, or until it exits.
    fn wait(&mut self) {
        let t0 = Instant::now();
        loop {
            let Err(e) = scrape(&self.base, Duration::from_secs(1)) else {
                return;
            };
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("node_exporter exited ({status}): {e}\n{}", self.said());
            }
            if t0.elapsed() > Duration::from_secs(20) {
                panic!(
                    "node_exporter not answering after 20 s: {e}\n{}",
                    self.said()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// This thread's CPU time, by the kernel's clock for it.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Burns CPU until `go` is false, at least 1 s of its own CPU (a loaded
/// machine only makes that slower) and 30 s of wall time at most; returns
/// the CPU burnt.
fn burn(go: &AtomicBool) -> Duration {
    let (t0, c0) = (Instant::now(), thread_cpu());
    let mut x = 0u64;
    while (go.load(Ordering::Relaxed) || thread_cpu() - c0 < Duration::from_secs(1))
        && t0.elapsed() < Duration::from_secs(30)
    {
        for _ in 0..10_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
    }
    std::hint::black_box(x);
    thread_cpu() - c0
}

/// MemTotal from /proc/meminfo, in bytes: what node_exporter reads.
fn mem_total() -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    kib * 1024
}

fn check(_: &At) -> String {
    let mut ex = Exporter::start();
    ex.wait();
    let go = Arc::new(AtomicBool::new(true));
    let burner = {
        let go = go.clone();
        std::thread::spawn(move || burn(&go))
    };
    let t0 = Instant::now();
    let first = ex.scrape();
    std::thread::sleep(Duration::from_millis(1500));
    go.store(false, Ordering::Relaxed);
    let burnt = burner.join().unwrap();
    let second = ex.scrape();
    let wall = t0.elapsed();
    let said = ex.said();

    for s in [&first, &second] {
        assert!(s.cpus >= 1, "{s:?}");
        for mode in ["user", "system", "idle"] {
            assert!(s.cpu_seconds_by_mode.contains_key(mode), "{mode}: {s:?}");
        }
        let (total, avail) = (s.memory_total_bytes, s.memory_available_bytes);
        assert_eq!(total, Some(mem_total()), "MemTotal: {s:?}");
        assert!(avail.is_some_and(|a| a > 0 && Some(a) <= total), "{s:?}");
        assert!(s.tcp_inuse.is_some_and(|n| n >= 1), "its listener: {s:?}");
        assert!(
            s.sockets_used.is_some() && s.tcp_time_wait.is_some(),
            "{s:?}"
        );
        assert!(s.processes.is_some_and(|n| n >= 2), "it and us: {s:?}");
        assert!(s.groups.is_empty(), "no process-exporter: {s:?}");
    }
    assert_eq!(first.cpus, second.cpus);
    let busy = second.cpu_busy_seconds - first.cpu_busy_seconds;
    // The host's busy time counts this thread's burn (at USER_HZ, 10 ms
    // ticks) and more; half of it is a wide margin for the ticks.
    assert!(
        busy >= burnt.as_secs_f64() / 2.0,
        "busy {busy:.2} s < half of the {burnt:?} burnt: {first:?}\n{second:?}\n{said}"
    );
    for (mode, a) in &first.cpu_seconds_by_mode {
        let b = second.cpu_seconds_by_mode[mode];
        assert!(b >= *a, "{mode} went back: {a} -> {b}");
    }

    // Its landing page: 200, but HTML.
    let e = scrape(&format!("{}/", ex.base), TIMEOUT).unwrap_err();
    assert!(
        matches!(&e, PromError::Http { why, .. } if why.starts_with("an HTML page")),
        "{e}"
    );
    drop(ex);

    let mib = |b: Option<u64>| b.unwrap_or(0) >> 20;
    format!(
        "{} cpus, busy +{busy:.2} s in {:.1} s ({:.2} s burnt here), memory {} of {} MiB available, \
         TCP {} in use {} in TIME_WAIT, {} processes",
        second.cpus,
        wall.as_secs_f64(),
        burnt.as_secs_f64(),
        mib(second.memory_available_bytes),
        mib(second.memory_total_bytes),
        second.tcp_inuse.unwrap_or(0),
        second.tcp_time_wait.unwrap_or(0),
        second.processes.unwrap_or(0),
    )
}

fn run(_: &At) -> String {
    let mut ex = Exporter::start();
    ex.wait();
    let out = harness::temp_dir("interop-node-exporter-run").join("r.json");
    let url = format!("{}/metrics", ex.base);
    let r = Command::new(env!("CARGO_BIN_EXE_ftpload"))
        .args(["run", "scenarios/smoke.toml", "--duration", "3s", "-q"])
        .args(["--server-metrics", &url, "--out"])
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let said = ex.said();
    drop(ex);
    assert!(
        r.status.success(),
        "{}\n{}\n{said}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
    );
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let s = &j["server"];
    assert_eq!(s["source"], "exporter", "{s}");
    assert_eq!(s["failed"], 0, "{s}");
    let cpu = s["cpu_s"].as_f64().unwrap();
    assert!(cpu > 0.0, "the host's busy CPU advanced over the run: {s}");
    let seconds: Vec<&serde_json::Value> = j["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i.get("server"))
        .collect();
    assert!(seconds.len() >= 2, "{seconds:?}");
    for x in &seconds {
        assert!(x["cpu_s"].as_f64().is_some_and(|c| c >= 0.0), "{x}");
        assert!(x["memory_bytes"].as_u64().is_some_and(|m| m > 0), "{x}");
    }
    let per_second: f64 = seconds.iter().map(|x| x["cpu_s"].as_f64().unwrap()).sum();
    assert!(
        per_second > 0.0 && per_second <= cpu + 1e-6,
        "{per_second} of {cpu}"
    );
    format!(
        "host CPU {cpu:.2} s over the run, {} seconds in the timeline ({per_second:.2} s)",
        seconds.len()
    )
}
