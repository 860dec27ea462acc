//! The binary as a user runs it: the README's smoke run, bad input, an
//! unreachable target, Ctrl-C and an unwritable result path, each with the
//! exit code a CI job acts on and a message naming what and where.

use std::process::Command;
use std::time::Duration;

use ftpload::result::decode_hdr;

use crate::util::common;
use crate::util::harness::temp_dir;

const BIN: &str = env!("CARGO_BIN_EXE_ftpload");

fn ftpload(args: &[&str]) -> common::Finished {
    let mut c = Command::new(BIN);
    c.args(args).current_dir(common::repo_root());
    common::run_bounded(c, None, Duration::from_secs(120)).unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn smoke_scenario_measures_every_metric_in_three_modes_and_python_agrees() {
    let dir = temp_dir("smoke");
    let out = dir.join("smoke.json");
    let r = ftpload(&[
        "run",
        "scenarios/smoke.toml",
        "--duration",
        "4s",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(0), "stderr: {}", text(&r.stderr));
    let stdout = text(&r.stdout);
    assert!(stdout.contains("active vs passive"), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(json["schema_version"], ftpload::result::SCHEMA_VERSION);
    assert!(json.to_string().find("\"password\"").is_none());
    for mode in ["passive", "epsv", "active"] {
        let m = &json["modes"][mode];
        assert_eq!(
            m["errors"].as_array().map(Vec::len),
            Some(0),
            "{mode}: {}",
            m["errors"]
        );
        for metric in [
            "tcp_connect",
            "banner",
            "login",
            "session_setup",
            "data_setup",
            "first_byte",
            "transfer",
            "throughput",
        ] {
            let x = &m["metrics"][metric];
            let count = x["count"].as_u64().unwrap();
            assert!(count > 0, "{mode}.{metric} has no samples");
            let b64 = x["hdr"].as_str().unwrap();
            let ours = decode_hdr(b64).unwrap();
            assert_eq!(
                ours.len(),
                count,
                "{mode}.{metric}: hdr count vs summary count"
            );
            let p99 = x["p99"].as_u64().unwrap();
            assert_eq!(ours.value_at_quantile(0.99), p99);
            // An independent implementation reads the same histogram.
            let (py_count, py_p99) = common::python_hdr_decode(b64);
            assert_eq!(py_count, count, "{mode}.{metric}: python count");
            // hdrh ranks the 99th percentile as round(0.99 n), the Rust crate as
            // ceil(0.99 n); at the same rank both must land in the same bucket.
            let rank = ((0.99 * count as f64) + 0.5) as u64;
            let at_rank = value_at_rank(&ours, rank.max(1));
            assert!(
                ours.equivalent(py_p99, at_rank),
                "{mode}.{metric}: python p99 {py_p99} vs ours {at_rank} at rank {rank} (ceil-rank p99 {p99})"
            );
        }
    }
    assert!(json["modes"].get("eprt").is_none());
    // Each operation as written keeps its own transfer histograms, and
    // together they count every transfer of the mode.
    for mode in ["passive", "epsv", "active"] {
        let m = &json["modes"][mode];
        let ops = m["operations"].as_object().unwrap();
        let names: Vec<&str> = ops.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            ["list", "retr 1k.bin", "retr 1m.bin", "stor 64KiB"],
            "{mode}"
        );
        for metric in ["transfer", "first_byte", "throughput"] {
            let sum: u64 = ops
                .values()
                .map(|o| o[metric]["count"].as_u64().unwrap())
                .sum();
            assert_eq!(
                sum,
                m["metrics"][metric]["count"].as_u64().unwrap(),
                "{mode}.{metric}"
            );
        }
        let transfers = m["counters"]["transfers"].as_u64().unwrap();
        let b64: Vec<&str> = ops
            .values()
            .map(|o| o["transfer"]["hdr"].as_str().unwrap())
            .collect();
        let py: u64 = common::python_hdr_counts(&b64).iter().sum();
        assert_eq!(
            py, transfers,
            "{mode}: python's per-operation transfer counts"
        );
    }
    let summary = text(&r.stdout);
    for row in [
        "retr 1m.bin: throughput",
        "stor 64KiB: transfer",
        "logins/s",
    ] {
        assert!(summary.contains(row), "no {row:?} row in\n{summary}");
    }
    // Closed loop: the corrected iteration time would only repeat iteration.
    assert!(!summary.contains("iteration_corrected"), "{summary}");
}

fn value_at_rank(h: &hdrhistogram::Histogram<u64>, rank: u64) -> u64 {
    let mut seen = 0;
    for v in h.iter_recorded() {
        seen += v.count_at_value();
        if seen >= rank {
            return h.highest_equivalent(v.value_iterated_to());
        }
    }
    h.max()
}

#[test]
fn malformed_scenario_exits_2_naming_file_line_column_and_key() {
    let dir = temp_dir("bad");
    let f = dir.join("bad.toml");
    std::fs::write(
        &f,
        "[run]\nduration = \"1s\"\n[[group]]\nusers = 1\nops = [\"noop\"]\ncolour = \"blue\"\n",
    )
    .unwrap();
    let r = ftpload(&["run", f.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(2));
    let e = text(&r.stderr);
    assert!(e.contains(&format!("{}:6:1:", f.display())), "{e}");
    assert!(e.contains("colour"), "{e}");
}

#[test]
fn missing_scenario_file_exits_2() {
    let r = ftpload(&["run", "no/such/scenario.toml"]);
    assert_eq!(r.status.code(), Some(2));
    assert!(text(&r.stderr).contains("no/such/scenario.toml"));
}

#[test]
fn unreachable_target_exits_3_naming_the_address() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = format!("ftp://u:p@127.0.0.1:{port}");
    let r = ftpload(&["run", "scenarios/smoke.toml", "--target", &target, "-q"]);
    assert_eq!(r.status.code(), Some(3));
    let e = text(&r.stderr);
    assert!(
        e.contains(&format!("127.0.0.1:{port}")) && e.to_lowercase().contains("refused"),
        "{e}"
    );
}

#[test]
fn ctrl_c_writes_the_partial_result_and_exits_130() {
    let dir = temp_dir("sigint");
    let out = dir.join("partial.json");
    let mut child = Command::new(BIN)
        .args([
            "run",
            "scenarios/smoke.toml",
            "--duration",
            "60s",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ])
        .current_dir(common::repo_root())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    // SAFETY: sends SIGINT to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "no exit after SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(json["interrupted"], true);
    assert!(
        json["modes"]["passive"]["counters"]["transfers"]
            .as_u64()
            .unwrap()
            > 0
    );
}

/// An unwritable --out is found before the run (exit 2, nothing ran); a disk
/// that fills during the run is tests/output.rs's.
#[test]
fn unwritable_result_path_is_refused_before_the_run() {
    let r = ftpload(&[
        "run",
        "scenarios/smoke.toml",
        "--iterations",
        "3",
        "-q",
        "--out",
        "/proc/ftpload-cannot/r.json",
    ]);
    assert_eq!(r.status.code(), Some(2));
    let e = text(&r.stderr);
    assert!(
        e.contains("--out /proc/ftpload-cannot/r.json is not writable"),
        "{e}"
    );
    assert!(e.contains("nothing ran"), "{e}");
    assert_eq!(text(&r.stdout), "", "no summary: nothing ran");
}

#[test]
fn help_teaches_with_examples_and_exit_codes() {
    let r = ftpload(&["run", "--help"]);
    assert_eq!(r.status.code(), Some(0));
    let h = text(&r.stdout);
    for needle in [
        "--target",
        "--mode",
        "--users",
        "--duration",
        "--iterations",
        "--out",
        "FTPLOAD_PASSWORD",
        "Examples:",
        "Exit codes:",
    ] {
        assert!(h.contains(needle), "--help lacks {needle}");
    }
}

#[test]
fn a_run_needing_more_sockets_than_the_file_limit_stops_before_starting() {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only into `r`.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    let users = (r.rlim_max / 2).min(u32::MAX as u64).to_string();
    let out = ftpload(&["run", "scenarios/smoke.toml", "--users", &users, "-q"]);
    assert_eq!(out.status.code(), Some(3));
    let e = text(&out.stderr);
    assert!(
        e.contains("open files") && e.contains(&r.rlim_max.to_string()),
        "{e}"
    );
}

/// Flags that would make an empty or impossible run are refused before
/// anything runs, naming the flag.
#[test]
fn bad_run_flags_exit_2_naming_the_flag() {
    for (args, words) in [
        (
            &["--iterations", "0"][..],
            &["--iterations", "0 is not in 1.."][..],
        ),
        (
            &["--duration", "-1s"],
            &["--duration", "cannot be negative"],
        ),
        (&["--duration", "0s"], &["--duration", "above zero"]),
        (&["--ramp-up", "-2s"], &["--ramp-up", "cannot be negative"]),
        (
            &["--ramp-up", "20s", "--duration", "5s"],
            &["ramp_up (20s) is longer than the run's duration (5s)"],
        ),
    ] {
        let mut all = vec!["run", "scenarios/smoke.toml", "-q"];
        all.extend_from_slice(args);
        let r = ftpload(&all);
        let e = text(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {e}");
        for w in words {
            assert!(e.contains(w), "{args:?}: want {w:?} in {e}");
        }
    }
}
