//! `ftpload compare` as a user runs it: two runs of one scenario against the
//! embedded target are no regression; a run against the embedded target
//! slowed on purpose (`[embedded] login_delay`) is flagged with exit 5,
//! naming the metrics, and breaches a `session_setup.p99` threshold with
//! exit 99; results of another scenario are refused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::util::common;
use crate::util::harness::temp_dir;

const BIN: &str = env!("CARGO_BIN_EXE_ftpload");

/// Short, light and logging in every iteration, so `login` has many values.
const SCENARIO: &str = r#"
name = "compare-test"

[files]
"1k.bin" = "1KiB"

[run]
duration = "3s"
ramp_up = "100ms"

[[group]]
name = "g"
users = 2
modes = { passive = 1 }
session = "per_iteration"
ops = ["retr 1k.bin"]
"#;

fn ftpload(args: &[&str]) -> common::Finished {
    let mut c = Command::new(BIN);
    c.args(args).current_dir(common::repo_root());
    common::run_bounded(c, None, Duration::from_secs(120)).unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `toml` (written to `dir`) and returns its result's path.
fn run(dir: &Path, tag: &str, toml: &str) -> PathBuf {
    run_with(dir, tag, toml, &[], 0)
}

/// Runs `toml` with `extra` flags, expecting exit `code`.
fn run_with(dir: &Path, tag: &str, toml: &str, extra: &[&str], code: i32) -> PathBuf {
    let scenario = dir.join(format!("{tag}.toml"));
    std::fs::write(&scenario, toml).unwrap();
    let out = dir.join(format!("{tag}.json"));
    let mut args = vec![
        "run",
        scenario.to_str().unwrap(),
        "-q",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let r = ftpload(&args);
    assert_eq!(
        r.status.code(),
        Some(code),
        "{tag}: {}{}",
        text(&r.stdout),
        text(&r.stderr)
    );
    out
}

fn compare(base: &Path, new: &Path, extra: &[&str]) -> common::Finished {
    let mut args = vec!["compare", base.to_str().unwrap(), new.to_str().unwrap()];
    args.extend_from_slice(extra);
    ftpload(&args)
}

#[test]
fn same_scenario_passes_a_slowed_login_is_flagged_another_scenario_is_refused() {
    let dir = temp_dir("compare");
    let a = run(&dir, "a", SCENARIO);
    let b = run(&dir, "b", SCENARIO);

    // Two runs of the same scenario. The machine is shared, so a run's tail
    // may move a lot between runs; what is tested here is the mechanics, not
    // that this machine is quiet: a generous threshold.
    let r = compare(&a, &b, &["--max-regression", "1000"]);
    let out = text(&r.stdout);
    assert_eq!(r.status.code(), Some(0), "{out}{}", text(&r.stderr));
    assert!(out.contains("no regression"), "{out}");
    assert!(out.contains("per-second intervals"), "{out}");
    assert!(
        out.contains("login") && out.contains("session_setup"),
        "{out}"
    );

    // 50 ms before each 230, against a loopback login of well under 1 ms:
    // flagged with the default threshold, the login metrics named.
    let slow = SCENARIO.replace("[files]", "[embedded]\nlogin_delay = \"50ms\"\n\n[files]");
    // Its p99 session setup cannot be under 40 ms when every login waits
    // 50 ms: the threshold is breached, with the threshold exit code.
    let s = run_with(
        &dir,
        "slow",
        &slow,
        &["--threshold", "session_setup.p99=< 40ms"],
        99,
    );
    let judged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&s).unwrap()).unwrap();
    assert_eq!(
        judged["thresholds"][0]["pass"], false,
        "{}",
        judged["thresholds"]
    );
    let r = compare(&a, &s, &[]);
    let out = text(&r.stdout);
    assert_eq!(r.status.code(), Some(5), "{out}{}", text(&r.stderr));
    let last = out.lines().last().unwrap_or_default();
    assert!(last.starts_with("regression:"), "{out}");
    assert!(last.contains("login (passive)"), "{out}");
    assert!(last.contains("session_setup (passive)"), "{out}");
    let r = compare(&a, &s, &["--format", "markdown"]);
    let md = text(&r.stdout);
    assert_eq!(r.status.code(), Some(5), "{md}");
    assert!(md.starts_with("**❌ regression:"), "{md}");
    assert!(md.contains("| passive | login |"), "{md}");

    // Another scenario: refused without --force, naming both.
    let mut other: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&b).unwrap()).unwrap();
    other["scenario_name"] = "other".into();
    let o = dir.join("other.json");
    std::fs::write(&o, other.to_string()).unwrap();
    let r = compare(&a, &o, &[]);
    let err = text(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        err.contains("\"compare-test\"") && err.contains("\"other\""),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    let r = compare(&a, &o, &["--force", "--max-regression", "1000"]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));

    // A file that is not there: bad input, said once.
    let r = compare(&a, &dir.join("missing.json"), &[]);
    let err = text(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert_eq!(err.matches("missing.json").count(), 1, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
