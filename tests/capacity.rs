//! `ftpload capacity` as a user runs it, against the embedded target: a load
//! that holds at every level up to --max, a connection cap that breaks the
//! second level on the error rate, a first level that breaks (exit 1), bad
//! flags (exit 2), and Ctrl-C keeping the finished steps (exit 130).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ftpload::result::RunResult;

use crate::util::common;
use crate::util::harness::temp_dir;

const BIN: &str = env!("CARGO_BIN_EXE_ftpload");

/// A download per iteration and a session per iteration: every column has numbers.
const LIGHT: &str = r#"
name = "cap-light"
[files]
"1k.bin" = "1KiB"
[run]
duration = "1s"
[[group]]
users = 1
ops = ["retr 1k.bin"]
"#;

/// Three sessions at most; each client holds one for the whole step, so the
/// fourth client is refused ("421 Too many connections") over and over.
const CAPPED: &str = r#"
name = "cap-capped"
[embedded]
max_connections = 3
[run]
duration = "1s"
[[group]]
users = 1
session = "persistent"
ops = ["noop"]
"#;

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    dir: PathBuf,
}

/// Runs `ftpload capacity` on `scenario` with `args` (split at spaces).
impl Out {
    /// The exit code, with both outputs shown when it is not the one wanted.
    fn assert_exit(&self, code: i32) {
        assert_eq!(
            self.code,
            Some(code),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
    }
}

fn capacity(tag: &str, scenario: &str, args: &str) -> Out {
    let dir = temp_dir(tag);
    let file = dir.join(format!("{tag}.toml"));
    std::fs::write(&file, scenario).unwrap();
    let out = dir.join("out");
    let mut c = Command::new(BIN);
    c.arg("capacity")
        .arg(&file)
        .args(["-q", "--out-dir", out.to_str().unwrap()])
        .args(args.split_whitespace());
    let r = common::run_bounded(c, None, Duration::from_secs(60)).unwrap();
    Out {
        code: r.status.code(),
        stdout: String::from_utf8_lossy(&r.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&r.stderr).into_owned(),
        dir: out,
    }
}

fn json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("capacity.json")).unwrap()).unwrap()
}

fn users(j: &serde_json::Value) -> Vec<u64> {
    let steps = j["steps"].as_array().unwrap();
    steps.iter().map(|s| s["users"].as_u64().unwrap()).collect()
}

#[test]
fn a_light_load_holds_at_every_level_up_to_max() {
    let o = capacity(
        "cap-hold",
        LIGHT,
        "--start 2 --step 2 --max 6 --step-duration 1s --max-error-rate 0.2 --max-p99-session-setup 10s --max-p99-data-setup 10s",
    );
    o.assert_exit(0);
    assert!(o.stdout.contains("sessions/s"), "{}", o.stdout);
    assert_eq!(o.stdout.matches("  held").count(), 3, "{}", o.stdout);
    assert!(
        o.stdout.contains("held up to 6 users (--max 6)"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("server at 6 users: ")
            && o.stdout.contains(
                "headroom (extrapolated from that step's CPU per session, not measured): about "
            ),
        "{}",
        o.stdout
    );

    let j = json(&o.dir);
    assert_eq!(j["schema_version"], ftpload::capacity::SCHEMA_VERSION);
    assert_eq!(j["scenario_name"], "cap-light");
    assert_eq!(users(&j), [2, 4, 6]);
    assert_eq!(j["highest_held"], 6);
    assert!(j["first_broken"].is_null());
    assert_eq!(j["interrupted"], false);
    for s in j["steps"].as_array().unwrap() {
        assert_eq!(s["held"], true, "{s}");
        assert!(s["sessions_per_s"].as_f64().unwrap() > 0.0, "{s}");
        assert!(s["transfers_per_s"].as_f64().unwrap() > 0.0, "{s}");
        assert!(s["p99_session_setup_us"].as_u64().unwrap() > 0, "{s}");
        assert!(s["p99_data_setup_us"].as_u64().unwrap() > 0, "{s}");
        // The embedded target's threads, watched: its CPU and headroom.
        assert!(s["server_cpu_utilisation"].as_f64().unwrap() > 0.0, "{s}");
        assert!(s["server_cores"].as_u64().unwrap() >= 1, "{s}");
        assert!(
            s["sessions_per_s_per_server_core"].as_f64().unwrap() > 0.0,
            "{s}"
        );
        // Each step is a whole run result, with the level as its client count.
        let r = RunResult::read(&o.dir.join(s["result_file"].as_str().unwrap())).unwrap();
        let planned = r.scenario["groups"][0]["users"].as_u64();
        assert_eq!(planned, s["users"].as_u64());
    }
    let csv = std::fs::read_to_string(o.dir.join("capacity.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[0].starts_with("users,held,"), "{csv}");
    assert!(lines[3].starts_with("6,true,,"), "{csv}");
}

#[test]
fn a_connection_cap_breaks_the_second_level_on_the_error_rate() {
    let o = capacity(
        "cap-break",
        CAPPED,
        "--start 2 --step 2 --max 6 --step-duration 1s --max-p99-session-setup 10s",
    );
    o.assert_exit(0);
    let j = json(&o.dir);
    assert_eq!(users(&j), [2, 4], "the search stops at the first break");
    assert_eq!(j["highest_held"], 2);
    assert_eq!(j["first_broken"], 4);
    let broken = &j["steps"][1]["broken_limits"];
    assert_eq!(broken[0]["limit"], "error_rate", "{broken}");
    assert!(broken[0]["value"].as_f64().unwrap() > 0.01, "{broken}");
    assert_eq!(j["steps"][0]["error_rate"], 0.0);
    assert!(
        o.stdout
            .contains("held up to 2 users; broke at 4: error rate ("),
        "{}",
        o.stdout
    );
    // The step's own result names the refusal.
    let r = RunResult::read(&o.dir.join("step-4.json")).unwrap();
    let samples: Vec<String> = r
        .modes
        .values()
        .flat_map(|m| &m.errors)
        .filter_map(|e| e.sample.clone())
        .collect();
    assert!(samples.iter().any(|s| s.contains("421")), "{samples:?}");
}

#[test]
fn breaking_at_the_first_level_exits_1() {
    let o = capacity("cap-first", CAPPED, "--start 4 --max 4 --step-duration 1s");
    o.assert_exit(1);
    let j = json(&o.dir);
    assert!(j["highest_held"].is_null());
    assert_eq!(j["first_broken"], 4);
    assert!(
        o.stdout.contains("held at no level; broke at 4"),
        "{}",
        o.stdout
    );
}

#[test]
fn bad_flags_exit_2_before_anything_runs() {
    for args in [
        "--factor 1",
        "--step 2 --factor 2",
        "--start 20 --max 10",
        "--max-error-rate 5",
    ] {
        let o = capacity("cap-bad", LIGHT, args);
        assert_eq!(o.code, Some(2), "{args}: {}", o.stderr);
        assert!(!o.dir.join("step-10.json").exists(), "{args}");
    }
}

#[test]
fn ctrl_c_keeps_the_finished_steps_and_exits_130() {
    let dir = temp_dir("cap-sigint");
    let file = dir.join("light.toml");
    std::fs::write(&file, LIGHT).unwrap();
    let out = dir.join("out");
    let mut child = Command::new(BIN)
        .arg("capacity")
        .arg(&file)
        .args(["-q", "--start", "2", "--step", "2", "--max", "10"])
        .args(["--step-duration", "2s", "--max-error-rate", "0.2"])
        .args([
            "--max-p99-session-setup",
            "10s",
            "--max-p99-data-setup",
            "10s",
        ])
        .arg("--out-dir")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the first step to be recorded, then interrupt the second.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(out.join("capacity.json")).is_ok_and(|t| t.contains("\"users\""))
    {
        assert!(Instant::now() < deadline, "no step finished");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: sends SIGINT to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("no exit after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    let j = json(&out);
    assert_eq!(j["interrupted"], true);
    let done = users(&j);
    assert!(!done.is_empty() && done.len() < 5, "{done:?}");
    assert_eq!(j["highest_held"], *done.last().unwrap());
}

#[test]
fn levels_rise_strictly_and_end_at_max() {
    use ftpload::capacity::{levels, Growth};
    assert_eq!(levels(10, Growth::Step(10), 35), [10, 20, 30, 35]);
    assert_eq!(levels(10, Growth::Factor(2.0), 160), [10, 20, 40, 80, 160]);
    assert_eq!(levels(10, Growth::Factor(2.0), 100), [10, 20, 40, 80, 100]);
    assert_eq!(levels(1, Growth::Factor(1.1), 4), [1, 2, 3, 4]);
    assert_eq!(levels(5, Growth::Step(5), 5), [5]);
    assert_eq!(
        levels(4_000_000_000, Growth::Step(u32::MAX), u32::MAX).len(),
        2
    );
}

/// dkftpbench's user: a 1 MB/s line (8 Mbit/s), downloading all the time.
const LINE: &str = r#"
[files]
"256k.bin" = "256KiB"
[[group]]
users = 1
mode = "epsv"
session = "persistent"
bandwidth = "8Mbit/s"
ops = ["retr 256k.bin"]
[run]
duration = "1s"
"#;

/// dkftpbench's score, end to end: asking more than the line gives breaks
/// the first level, naming the slow transfer. Only this side is asserted: the
/// pacer guarantees a capped transfer never beats its cap, while whether a
/// loaded machine keeps 95% of it is a wall clock's say (one such assertion
/// flaked on a fresh clone). The holding side is `capacity::judge`'s unit
/// test, on a real result with its rates set.
#[test]
fn dkftpbench_score_breaks_on_a_rate_above_the_line() {
    let o = capacity(
        "cap-line-high",
        LINE,
        "--start 1 --max 2 --step-duration 2s --min-throughput 16Mbit/s",
    );
    o.assert_exit(1);
    let j = json(&o.dir);
    assert_eq!(j["limits"]["min_throughput"], 2_000_000);
    assert_eq!(
        j["steps"].as_array().unwrap().len(),
        1,
        "stops at the first break"
    );
    let b = &j["steps"][0]["broken_limits"][0];
    assert_eq!(b["limit"], "min_throughput");
    assert!(b["value"].as_f64().unwrap() <= 1_000_000.0 * 1.001, "{b}");
    assert!(o.stdout.contains("below its rate"), "{}", o.stdout);
}

/// `--max-server-cpu`: the server's CPU is judged like any limit. At 0% the
/// first step breaks on it (the embedded target's threads used some CPU),
/// named with its value; with `--no-server-watch` it cannot be judged:
/// exit 2 before anything runs.
#[test]
fn max_server_cpu_breaks_a_level_and_needs_the_server_watched() {
    let o = capacity(
        "cap-server-cpu",
        LIGHT,
        "--start 2 --max 4 --step-duration 1s --max-server-cpu 0% --max-p99-session-setup 10s --max-p99-data-setup 10s",
    );
    o.assert_exit(1);
    assert!(
        o.stdout.contains("broke at 2: server cpu ("),
        "{}",
        o.stdout
    );
    let j = json(&o.dir);
    assert_eq!(j["limits"]["max_server_cpu"], 0.0);
    let step = &j["steps"][0];
    assert_eq!(step["broken_limits"][0]["limit"], "server_cpu", "{step}");
    assert!(
        step["server_cpu_utilisation"].as_f64().unwrap() > 0.0,
        "{step}"
    );
    let csv = std::fs::read_to_string(o.dir.join("capacity.csv")).unwrap();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .contains("server_cpu_utilisation"),
        "{csv}"
    );

    let o = capacity(
        "cap-server-cpu-unwatched",
        LIGHT,
        "--max-server-cpu 80% --no-server-watch",
    );
    o.assert_exit(2);
    assert!(
        o.stderr
            .contains("--max-server-cpu needs the server watched"),
        "{}",
        o.stderr
    );
    let o = capacity("cap-server-cpu-bad", LIGHT, "--max-server-cpu 180%");
    o.assert_exit(2);
    assert!(
        o.stderr.contains("a percentage from 0% to 100%"),
        "{}",
        o.stderr
    );
}
