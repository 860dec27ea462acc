//! Faults no real server produces on demand, from the fault server
//! (tests/util/faults.rs), each driven through a real `ftpload run` of the
//! binary with a few clients: the virtual clients record the exact error
//! class, go on to their next iteration, nothing panics, the run ends in
//! bounded time and writes its result, and memory stays bounded.
//!
//! Each case prints one line (`FAULT | ... | exit N`) for the closing note's
//! table; see them with `cargo test --test integration faults:: -- --nocapture`
//! (with `FAULTS_SHOW=1`, each run's whole output too).

mod data;
mod replies;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ftpload::metrics::ErrorClass;
use ftpload::proto::Mode;
use ftpload::result::{ModeResult, RunResult};

use crate::util::faults::{self, Fault, RETR_BYTES};
use crate::util::harness;

/// Every run here is a few seconds; past this it is a hang.
const RUN_LIMIT: Duration = Duration::from_secs(40);

/// One short run: `users` clients of `mode` doing `op` for `iterations` in all.
#[derive(Clone, Copy)]
pub struct Spec {
    pub mode: Mode,
    pub op: &'static str,
    pub users: u32,
    pub iterations: u32,
    /// `[timeouts]` lines: the one timeout a fault exercises, set short (1 s)
    /// so the run is quick; every other is 10 s, so a loaded machine does
    /// not turn a slow step into another class.
    pub timeouts: &'static str,
    /// A `--duration` instead of `--iterations`.
    pub duration: Option<&'static str>,
}

impl Spec {
    /// `timeouts` as [`Spec::timeouts`].
    pub fn with(mode: Mode, op: &'static str, timeouts: &'static str) -> Spec {
        Spec {
            timeouts,
            ..Spec::new(mode, op)
        }
    }

    pub fn new(mode: Mode, op: &'static str) -> Spec {
        Spec {
            mode,
            op,
            users: 2,
            iterations: 4,
            timeouts: "",
            duration: None,
        }
    }
}

pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub result: RunResult,
    pub took: Duration,
    /// The child's peak resident set (VmHWM), KiB, as last read while it ran.
    pub peak_rss_kib: u64,
    /// Control connections the fault server accepted, its clean first one included.
    pub server_sessions: usize,
}

impl Outcome {
    pub fn mode(&self, m: Mode) -> &ModeResult {
        harness::mode(&self.result, m)
    }

    /// The run summary's headline ("... transfers/s, ... iterations/s, N errors").
    pub fn summary_line(&self) -> &str {
        self.stdout
            .lines()
            .find(|l| l.contains("sessions/s") && l.ends_with("errors"))
            .unwrap_or_else(|| panic!("no summary line in:\n{}", self.stdout))
    }

    /// The "errors by class" lines, trimmed.
    pub fn class_lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .skip_while(|l| !l.starts_with("errors by class"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .map(str::trim)
            .collect()
    }

    /// One row of the closing note's table.
    pub fn report(&self, fault: &str) {
        if std::env::var_os("FAULTS_SHOW").is_some() {
            eprintln!("{}\n{}", self.stdout, self.stderr);
        }
        eprintln!(
            "FAULT | {fault} | {} | {} | exit {}",
            self.class_lines().join("; "),
            self.summary_line(),
            self.code
        );
    }
}

fn scenario(spec: &Spec) -> String {
    let mut timeouts = String::new();
    for key in ["banner", "reply", "data_connect", "accept", "transfer_idle"] {
        if !spec.timeouts.contains(&format!("{key} =")) {
            timeouts.push_str(&format!("{key} = \"10s\"\n"));
        }
    }
    format!(
        "[files]\n\"f.bin\" = {RETR_BYTES}\n[run]\nramp_up = \"0s\"\nretry_pause = \"10ms\"\n\
         [timeouts]\n{timeouts}{}\n[[group]]\nusers = {}\nops = [\"{}\"]\n",
        spec.timeouts, spec.users, spec.op
    )
}

/// Runs the binary against `url`, polling its peak RSS while it runs.
pub fn drive(url: &str, spec: Spec, tag: &str) -> Outcome {
    let dir = harness::temp_dir(tag);
    let file = dir.join("s.toml");
    std::fs::write(&file, scenario(&spec)).unwrap();
    let out: PathBuf = dir.join("r.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ftpload"));
    cmd.arg("run")
        .arg(&file)
        .args(["--target", url, "--mode", spec.mode.as_str(), "-q"])
        .arg("--out")
        .arg(&out);
    match spec.duration {
        Some(d) => cmd.args(["--duration", d]),
        None => cmd.args(["--iterations", &spec.iterations.to_string()]),
    };
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_rss_kib = 0;
    let status = loop {
        if let Some(s) = vm_hwm_kib(&status_file) {
            peak_rss_kib = peak_rss_kib.max(s);
        }
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{tag}: the run did not end within {RUN_LIMIT:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = start.elapsed();
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    assert!(
        !stderr.contains("panicked"),
        "{tag}: ftpload panicked:\n{stderr}"
    );
    let result = RunResult::read(&out)
        .unwrap_or_else(|e| panic!("{tag}: no result at {}: {e}\n{stderr}", out.display()));
    assert!(!result.interrupted, "{tag}");
    Outcome {
        code: status.code().expect("exited, not killed by a signal"),
        stdout,
        stderr,
        result,
        took,
        peak_rss_kib,
        server_sessions: 0,
    }
}

fn vm_hwm_kib(status_file: &str) -> Option<u64> {
    let s = std::fs::read_to_string(status_file).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Starts the fault server and runs `spec` against it.
pub fn run_fault(fault: Fault, spec: Spec, tag: &str) -> Outcome {
    let server = faults::start(fault);
    let mut o = drive(&server.url, spec, tag);
    o.server_sessions = server.sessions.load(std::sync::atomic::Ordering::SeqCst);
    o
}

/// Every failure of the run is `class`, one per iteration, every iteration
/// failed, and the clients went on after the first failure; the run exits 1
/// and lists the class by its words.
pub fn assert_each_iteration_failed_with(o: &Outcome, spec: &Spec, class: ErrorClass) {
    let m = o.mode(spec.mode);
    let n = u64::from(spec.iterations);
    assert!(
        n > u64::from(spec.users),
        "more than one attempt per client"
    );
    assert_eq!(
        m.errors.len(),
        1,
        "one class only: {:#?}\n{}",
        m.errors,
        o.stdout
    );
    assert_eq!(m.errors[0].class, class, "{:#?}", m.errors);
    assert_eq!(m.errors[0].count, n, "{:#?}", m.errors);
    assert_eq!(m.counters.iterations_failed, n, "{:?}", m.counters);
    assert_eq!(m.counters.iterations, 0, "{:?}", m.counters);
    // The set-up session, then a fresh session for each iteration.
    assert_eq!(o.server_sessions, 1 + n as usize, "sessions the server saw");
    assert_eq!(o.code, 1, "exit 1: failures recorded\n{}", o.stderr);
    assert!(
        o.class_lines()
            .iter()
            .any(|l| l.contains(&class.label()) && l.contains(&format!(" {n} "))),
        "{:?}",
        o.class_lines()
    );
    assert!(
        o.summary_line().ends_with(&format!(" {n} errors")),
        "{}",
        o.summary_line()
    );
}

/// The run ended on its own within a few seconds of what its timeouts allow.
pub fn assert_ended_within(o: &Outcome, limit: Duration) {
    assert!(o.took < limit, "took {:?}, bound {limit:?}", o.took);
}
