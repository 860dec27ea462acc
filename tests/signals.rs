//! SIGTERM, caught at the CLI's edge like Ctrl-C: CI cancellations, `timeout`
//! and evicted pods send it, and a run stopped that way must still write what
//! it gathered, remove what it made, and say so in its exit code (143).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ftpload");

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ftpload-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Waits, bounded, for `cond`; panics naming `what` if it never holds.
fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `ftpload ARGS` started from the checkout, its output discarded: a run
/// for a test to signal.
fn start(args: &[&str]) -> Child {
    Command::new(BIN)
        .args(args)
        .current_dir(repo_root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Sends `signal` to `child` and waits (bounded) for its exit code.
fn stop(child: &mut Child, signal: i32) -> Option<i32> {
    // SAFETY: sends a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, signal) };
    let mut status = None;
    wait_for("an exit after the signal", Duration::from_secs(30), || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    status.unwrap().code()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn sigterm_writes_the_partial_result_removes_the_embedded_root_and_exits_143() {
    let dir = temp_dir("sigterm-run");
    let out = dir.join("partial.json");
    let mut child = start(&[
        "run",
        "scenarios/smoke.toml",
        "--duration",
        "60s",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    // The embedded target's generated root, named by the process id.
    let root = std::env::temp_dir().join(format!("ftpload-{}-0", child.id()));
    wait_for("the embedded root made", Duration::from_secs(30), || {
        root.is_dir()
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(stop(&mut child, libc::SIGTERM), Some(143));
    let j = json(&out);
    assert_eq!(j["interrupted"], true);
    assert!(
        j["modes"]["passive"]["counters"]["sessions"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(!root.exists(), "{} left behind", root.display());
}

#[test]
fn serve_stopped_by_sigterm_removes_its_root() {
    let (mut child, line) = crate::util::common::start_serve(BIN, &["--port", "0"]);
    // "serving ftp://… root /tmp/ftpload-PID-0; Ctrl-C to stop"
    let root = line
        .split(" root ")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no root in {line:?}"));
    assert!(root.is_dir(), "{line}");
    assert_eq!(stop(&mut child, libc::SIGTERM), Some(0));
    assert!(!root.exists(), "{} left behind", root.display());
}

#[test]
fn capacity_stopped_by_sigterm_keeps_its_steps_and_exits_143() {
    let dir = temp_dir("sigterm-capacity");
    let mut child = start(&[
        "capacity",
        "scenarios/smoke.toml",
        "-q",
        "--step-duration",
        "60s",
        "--out-dir",
        dir.to_str().unwrap(),
    ]);
    let first = dir.join("capacity.json");
    wait_for("capacity.json started", Duration::from_secs(30), || {
        first.exists()
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(stop(&mut child, libc::SIGTERM), Some(143));
    let c = json(&first);
    assert_eq!(c["interrupted"], true);
    // The step that was running is written too, marked interrupted.
    let step = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("step-")
        })
        .expect("the interrupted step's result");
    assert_eq!(json(&step)["interrupted"], true);
}

/// `--local-shards`: SIGTERM to the parent stops every shard, each writes
/// its partial result, and the parent merges them, marked, and exits 143.
#[test]
fn sigterm_stops_local_shards_and_merges_their_partial_results() {
    let dir = temp_dir("sigterm-shards");
    let out = dir.join("merged.json");
    let mut child = start(&[
        "run",
        "scenarios/smoke.toml",
        "--duration",
        "60s",
        "-q",
        "--local-shards",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    // Both shards' embedded targets made their roots: the load is on.
    let shards_dir = std::env::temp_dir().join(format!("ftpload-{}-shards", child.id()));
    wait_for("the shards started", Duration::from_secs(30), || {
        shards_dir.is_dir()
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(stop(&mut child, libc::SIGTERM), Some(143));
    let j = json(&out);
    assert_eq!(j["interrupted"], true);
    assert!(j["scenario"].get("shard").is_none());
    assert!(
        j["modes"]["passive"]["counters"]["sessions"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(!shards_dir.exists(), "{} left behind", shards_dir.display());
}
