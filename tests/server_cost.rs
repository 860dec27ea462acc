//! What the server pays, as a run reports it (`server` in the result and in
//! the timeline), against what is read from outside ftpload: pyftpdlib (one
//! process, started by the test) found by its listening socket, its CPU
//! over the run agreeing with its `/proc/PID/stat` read before and after;
//! the embedded target by its own threads; `--server-pid` and
//! `--no-server-watch` through the binary.

use std::process::Command;
use std::time::Duration;

use ftpload::proto::Mode;
use ftpload::scenario::Overrides;

use crate::util::common::{self, run_bounded, Ran};
use crate::util::harness::{assert_no_errors, mode, run_scenario, temp_dir};

const BIN: &str = env!("CARGO_BIN_EXE_ftpload");

/// CPU seconds (user + system, its reaped children's too) of `pid`, read
/// from `/proc/PID/stat` as `ps` would: the outside view.
fn cpu_s(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let f: Vec<f64> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|v| v.parse().unwrap())
        .collect();
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    f.iter().sum::<f64>() / ticks
}

/// A run keeps pyftpdlib busy for 4 s; the CPU ftpload reports for it over
/// the run and the CPU read from outside, before and after, agree within
/// 10%. pyftpdlib is found without asking: the process holding the socket
/// that listens on the target's port.
#[test]
fn pyftpdlib_cpu_agrees_with_its_proc_stat_read_from_outside() {
    let root = temp_dir("server-cost-pyftpd");
    common::make_files(&root, &[("1k.bin", 1024), ("100k.bin", 100 * 1024)]);
    let server = common::PyFtpd::start(&root, "ftpuser", "ftppass", 17900..=17999);
    let toml = r#"
[files]
"1k.bin" = "1KiB"
"100k.bin" = "100KiB"
[run]
duration = "4s"
[[group]]
users = 3
session = "per_iteration"
ops = ["retr 1k.bin", "retr 100k.bin", "list"]
"#;
    let o = Overrides {
        target: Some(format!("ftp://ftpuser@{}", server.addr)),
        password: Some("ftppass".into()),
        modes: vec![Mode::Passive],
        ..Overrides::default()
    };
    let before = cpu_s(server.pid());
    let ran = run_scenario(toml, &o, "server-cost-pyftpd");
    let after = cpu_s(server.pid());
    assert_no_errors(mode(&ran.result, Mode::Passive), "pyftpdlib");
    let s = ran.result.server.as_ref().expect("pyftpdlib watched");
    assert_eq!(s.source, "process", "{s:?}");
    assert!(
        s.watched.contains(&format!("process {} (", server.pid())),
        "the listener found: {s:?}"
    );
    assert_eq!(
        (s.processes_start, s.processes_peak),
        (Some(1), Some(1)),
        "{s:?}"
    );
    let outside = after - before;
    assert!(outside >= 0.5, "too little CPU to compare: {outside} s");
    assert!(
        (s.cpu_s - outside).abs() <= 0.1 * outside,
        "ftpload says {} s, /proc read from outside {outside} s",
        s.cpu_s
    );
    assert_eq!(s.mode, Some(Mode::Passive));
    let sessions = mode(&ran.result, Mode::Passive).counters.sessions;
    let per = s.per_session.cpu_ms.unwrap();
    assert!(
        (per - s.cpu_s * 1e3 / sessions as f64).abs() < 1e-9,
        "{s:?}"
    );
    // Every second of the load has the server's CPU in it.
    let seconds: Vec<f64> = ran
        .result
        .timeline
        .iter()
        .filter_map(|i| i.server.map(|x| x.cpu_s))
        .collect();
    assert!(seconds.len() >= 3, "{seconds:?}");
    assert!(
        seconds.iter().sum::<f64>() <= s.cpu_s + 1e-6,
        "{seconds:?} {s:?}"
    );
    println!(
        "pyftpdlib: ftpload {:.2} s, outside {outside:.2} s, {per:.2} ms per session",
        s.cpu_s
    );
}

/// The embedded target is watched by its own runtime threads: CPU only,
/// its memory being the generator's too.
#[test]
fn the_embedded_target_is_watched_by_its_threads() {
    let toml = "[run]\nduration = \"2s\"\n[[group]]\nusers = 2\nsession = \"per_iteration\"\nops = [\"noop\"]\n";
    let ran = run_scenario(toml, &Overrides::default(), "server-cost-embedded");
    let s = ran
        .result
        .server
        .as_ref()
        .expect("the embedded target watched");
    assert_eq!(s.source, "threads");
    assert!(s.cpu_s > 0.0, "{s:?}");
    assert_eq!(s.memory_peak_bytes, None, "its memory is the generator's");
    assert!(
        ran.json["server"]["per_session"]["cpu_ms"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}

/// `--server-pid` watches the process given (a `sleep`: one process,
/// nearly no CPU), and `--no-server-watch` nothing.
#[test]
fn server_pid_and_no_server_watch() {
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let dir = temp_dir("server-cost-flags");
    let run = |extra: &[&str], out: &str| {
        let out = dir.join(out);
        let mut c = Command::new(BIN);
        c.args([
            "run",
            "scenarios/smoke.toml",
            "--duration",
            "1s",
            "-q",
            "--out",
        ])
        .arg(&out)
        .args(extra)
        .current_dir(common::repo_root());
        let r = Ran::from(run_bounded(c, None, Duration::from_secs(60)).unwrap());
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let j: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        j
    };
    let pid = sleeper.id().to_string();
    let j = run(&["--server-pid", &pid], "pid.json");
    let s = &j["server"];
    assert_eq!(s["source"], "process", "{s}");
    assert_eq!(
        s["watched"],
        format!("process {pid} (sleep) and its children")
    );
    assert_eq!(s["processes_peak"], 1, "{s}");
    assert!(s["cpu_s"].as_f64().unwrap() < 0.05, "{s}");
    let j = run(&["--no-server-watch"], "none.json");
    assert!(j.get("server").is_none(), "{}", j["server"]);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
}
