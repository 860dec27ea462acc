//! Thresholds as a CI job meets them: a short embedded run with one that
//! passes and one that fails by construction (exit 99, both printed, both in
//! the result and in the JUnit report), one with `abort_on_fail` that stops
//! a run early, and bad thresholds refused before anything runs (exit 2).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::util::common;
use crate::util::harness::temp_dir;

const BIN: &str = env!("CARGO_BIN_EXE_ftpload");

/// A scenario whose `session_setup.max` passes by construction: no session
/// of a 2-second run takes ten minutes to set up.
const SCENARIO: &str = r#"
name = "thr"
[files]
"1k.bin" = "1KiB"
[run]
duration = "2s"
[thresholds]
"session_setup.max" = "< 10m"
[[group]]
users = 2
mode = "passive"
ops = ["retr 1k.bin", "list"]
"#;

fn ftpload(dir: &Path, scenario: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let f = dir.join("s.toml");
    std::fs::write(&f, scenario).unwrap();
    let mut c = Command::new(BIN);
    c.arg("run").arg(&f).args(["-q"]).args(args);
    c.current_dir(dir);
    let r = common::run_bounded(c, None, Duration::from_secs(120)).unwrap();
    (
        r.status.code(),
        String::from_utf8_lossy(&r.stdout).into_owned(),
        String::from_utf8_lossy(&r.stderr).into_owned(),
    )
}

#[test]
fn a_breach_exits_99_and_is_printed_recorded_and_reported_as_junit() {
    let dir = temp_dir("thresholds");
    let out = dir.join("r.json");
    let junit = dir.join("junit.xml");
    // No login answers in under a microsecond: this one fails by construction.
    let (code, stdout, stderr) = ftpload(
        &dir,
        SCENARIO,
        &[
            "--out",
            out.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            "--threshold",
            "session_setup.p99=< 1us",
        ],
    );
    assert_eq!(code, Some(99), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("\nthresholds:\n"), "{stdout}");
    assert!(
        stdout.contains("✓ pass session_setup.max < 10m: "),
        "{stdout}"
    );
    assert!(
        stdout.contains("✗ FAIL session_setup.p99 < 1us: "),
        "{stdout}"
    );
    assert!(stderr.contains("1 of 2 thresholds failed"), "{stderr}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let t = json["thresholds"]
        .as_array()
        .expect("thresholds in the result");
    assert_eq!(t.len(), 2, "{t:?}");
    let by_key = |k: &str| t.iter().find(|o| o["key"] == k).unwrap();
    let failed = by_key("session_setup.p99");
    assert_eq!(failed["pass"], false);
    assert_eq!(failed["op"], "<");
    assert_eq!(failed["bound"], "1us");
    assert_eq!(failed["bound_value"], 1.0);
    assert_eq!(failed["unit"], "us");
    assert!(failed["measured"].as_f64().unwrap() >= 1.0, "{failed}");
    assert_eq!(by_key("session_setup.max")["pass"], true);
    assert!(json.get("aborted_by_threshold").is_none());
    let x = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(x.matches("<testcase ").count(), 2, "{x}");
    assert_eq!(x.matches("<failure ").count(), 1, "{x}");
    assert!(x.contains("<testsuite name=\"thr\""), "{x}");
}

#[test]
fn passing_thresholds_exit_0() {
    let dir = temp_dir("thresholds-pass");
    let (code, stdout, stderr) = ftpload(
        &dir,
        SCENARIO,
        &["--out", "r.json", "--threshold", "logins.rate=> 0/s"],
    );
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("✓ pass logins.rate > 0/s: "), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
}

#[test]
fn abort_on_fail_stops_a_lost_run_early() {
    let dir = temp_dir("thresholds-abort");
    let scenario = SCENARIO.replace("duration = \"2s\"", "duration = \"60s\"").replace(
        "\"session_setup.max\" = \"< 10m\"",
        "\"sessions.rate\" = { threshold = \"> 1000000/s\", abort_on_fail = true, delay_abort_eval = \"1s\" }",
    );
    let (code, stdout, stderr) = ftpload(&dir, &scenario, &["--out", "r.json"]);
    assert_eq!(code, Some(99), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stderr.contains("threshold sessions.rate > 1000000/s lost"),
        "{stderr}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    assert_eq!(json["aborted_by_threshold"], "sessions.rate");
    assert_eq!(json["interrupted"], true);
    // Stopped by the threshold, not by the end of the 60 s run.
    let ran = json["duration_s"].as_f64().unwrap();
    assert!(ran < 60.0, "the 60 s run was not stopped: {ran} s");
    assert_eq!(json["thresholds"][0]["pass"], false);
}

#[test]
fn a_bad_threshold_is_refused_before_anything_runs() {
    let dir = temp_dir("thresholds-bad");
    for (flag, says) in [
        ("sesion_setup.p99=< 5ms", "unknown metric \"sesion_setup\""),
        (
            "active.data_setup.p99=< 5ms",
            "mode active is not in this run (its modes: passive)",
        ),
        (
            "retr 2k.bin.throughput.p50=> 1MB/s",
            "\"retr 2k.bin\" is neither a mode of this run (passive) nor an operation of the scenario (list, retr 1k.bin)",
        ),
        ("session_setup.p99=< 50MB/s", "a latency is bounded by a duration"),
    ] {
        let (code, stdout, stderr) =
            ftpload(&dir, SCENARIO, &["--out", "r.json", "--threshold", flag]);
        assert_eq!(code, Some(2), "{flag}: stdout: {stdout}\nstderr: {stderr}");
        assert!(stderr.contains(says), "{flag}: {stderr}");
        assert!(stderr.contains("--threshold: threshold"), "{flag}: {stderr}");
        assert!(!dir.join("r.json").exists(), "{flag}: a result was written");
    }
    // In the file, the error names the file and line.
    let bad = SCENARIO.replace("< 10m", "< 10MB/s");
    let (code, _, stderr) = ftpload(&dir, &bad, &["--out", "r.json"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("s.toml:8: threshold \"session_setup.max\" = \"< 10MB/s\""),
        "{stderr}"
    );
}
