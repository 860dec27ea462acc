//! Real overload: a server with a low cap on sessions (vsftpd's `max_clients`
//! or `max_per_ip`, set through the harness's FTPD_MAX_CLIENTS and
//! FTPD_MAX_PER_IP; the embedded target's `max_connections`), pushed past it
//! by more closed-loop users than it holds, each holding its session with
//! `idle`. The binary runs as a user runs it, and what it controls is
//! checked: every refusal classified and counted as the session limit, at
//! the banner, with the limit named in the summary; never more sessions
//! logged in at once than the cap; the result written; exit 1. No timings.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ftpload::metrics::{ErrorClass, SessionStats, Step};
use ftpload::proto::Mode;
use ftpload::result::{ModeResult, RunResult};

use super::{Instances, SMALL_BASE};

/// Users at once, against a cap of fewer sessions.
const USERS: u32 = 8;
/// vsftpd's instance for these checks, beside the other harness homes.
const VSFTPD_PORT: u16 = 2139;
/// The run's length; each user holds its session for most of it.
const DURATION_S: u64 = 4;
/// A generous bound on how long a run takes to end: its duration, the
/// grace for iterations still running, and a loaded machine.
const END_WITHIN: Duration = Duration::from_secs(DURATION_S + 20);

/// What one run of the binary left: its exit code, stdout, and the result.
struct Outcome {
    code: i32,
    stdout: String,
    result: RunResult,
}

/// `ftpload run` of USERS persistent users, each logging in and holding its
/// session idle; against `target` (a URL, or the embedded target with its
/// `max_connections` set to `cap`).
fn run(tag: &str, target: Option<u16>, cap: Option<u32>, users: u32) -> Outcome {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let embedded = match cap.filter(|_| target.is_none()) {
        Some(n) => format!("[embedded]\nmax_connections = {n}\n"),
        None => String::new(),
    };
    let scenario = format!(
        r#"name = "overload-{tag}"
{embedded}
[run]
duration = "{DURATION_S}s"
ramp_up = "1s"
[[group]]
users = {users}
session = "persistent"
ops = ["idle 3s"]
"#
    );
    let file = dir.path().join("overload.toml");
    std::fs::write(&file, scenario).unwrap();
    let out = dir.path().join("result.json");
    let mut cmd = Command::new("timeout");
    cmd.arg(END_WITHIN.as_secs().to_string())
        .arg(env!("CARGO_BIN_EXE_ftpload"))
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(&out);
    if let Some(port) = target {
        cmd.arg("--target")
            .arg(format!("ftp://ftpuser@127.0.0.1:{port}"))
            .env("FTPLOAD_PASSWORD", "ftppass");
    }
    let t0 = Instant::now();
    let o = cmd.output().expect("ftpload runs");
    let took = t0.elapsed();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&o.stderr);
    let code = o.status.code().unwrap_or(-1);
    assert_ne!(
        code, 124,
        "{tag}: the run did not end within {END_WITHIN:?}"
    );
    assert!(took < END_WITHIN, "{tag}: took {took:?}");
    assert!(
        Path::new(&out).exists(),
        "{tag}: no result written (exit {code})\n{stdout}\n{stderr}"
    );
    let result = RunResult::read(&out).unwrap_or_else(|e| panic!("{tag}: {e}"));
    Outcome {
        code,
        stdout,
        result,
    }
}

fn passive(o: &Outcome) -> &ModeResult {
    o.result
        .modes
        .get(&Mode::Passive)
        .expect("a passive section")
}

fn sessions(s: &ModeResult) -> &SessionStats {
    s.sessions
        .as_ref()
        .expect("a result of this version counts sessions")
}

/// Past the cap: every failure is a refusal by the session limit at the
/// banner, counted as such; never more than `cap` logged in at once; the
/// limit named `words` in the result and `said` in the summary; exit 1. The
/// summary's note, for the report.
fn past_the_cap(o: &Outcome, cap: u32, (words, said): (&str, &str), what: &str) -> String {
    let s = passive(o);
    let st = sessions(s);
    let cap = i64::from(cap);
    assert_eq!(o.code, 1, "{what}: exit {}\n{}", o.code, o.stdout);
    assert!(st.refused > 0, "{what}: no refusal counted\n{}", o.stdout);
    assert!(
        st.peak_logged_in > 0 && st.peak_logged_in <= cap,
        "{what}: {} sessions logged in at once, cap {cap}",
        st.peak_logged_in
    );
    // Sampled once a second, an independent view of the same bound.
    let most = o
        .result
        .timeline
        .iter()
        .filter_map(|i| i.modes.get(&Mode::Passive))
        .map(|m| m.sessions_open)
        .max()
        .unwrap_or(0);
    assert!(most <= cap, "{what}: the timeline saw {most} sessions open");
    // Every failure is one refusal: the same class, the same count.
    let banner_421 = ErrorClass::Reply {
        code: 421,
        command: None,
    };
    let classes: Vec<_> = s.errors.iter().map(|e| (e.class, e.count)).collect();
    assert_eq!(classes, vec![(banner_421, st.refused)], "{what}");
    assert_eq!(s.counters.sessions_failed, st.refused, "{what}");
    let l = st.limit.as_ref().expect("the first refusal kept");
    assert_eq!((l.step, l.code), (Step::Banner, 421), "{what}");
    assert!(l.limit.contains(words), "{what}: {}", l.limit);
    assert!(l.logged_in <= cap, "{what}: {} logged in then", l.logged_in);
    // The summary says which limit, how often, and the peak.
    let note = o
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("SESSION LIMIT (passive)"))
        .take(3)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        note.contains(&format!(
            "refused {} sessions at the banner (421)",
            st.refused
        )) && note.contains(said)
            && note.contains(&format!("at most {} sessions", st.peak_logged_in)),
        "{what}: the summary does not say it:\n{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("reply 421 at banner"),
        "{what}: errors by class:\n{}",
        o.stdout
    );
    format!(
        "exit {}, {} refused, peak {} of {cap} logged in; {}",
        o.code,
        st.refused,
        st.peak_logged_in,
        note.replace('\n', " | ")
    )
}

/// The embedded target's `max_connections`: past it, refused; within it,
/// not at all.
pub fn embedded_cap() -> String {
    const CAP: u32 = 3;
    let o = run("embedded", None, Some(CAP), USERS);
    // The result names the limit from the server's words; the summary
    // adds the cap from the plan.
    let said = format!("the embedded target's max_connections ({CAP})");
    let words = "the embedded target's max_connections";
    let note = past_the_cap(&o, CAP, (words, &said), "embedded, max_connections 3");
    let within = run("embedded-within", None, Some(CAP), CAP);
    let s = passive(&within);
    let st = sessions(s);
    assert_eq!(
        (within.code, st.refused, st.limit.as_ref()),
        (0, 0, None),
        "within the cap: {}",
        within.stdout
    );
    assert_eq!(st.peak_logged_in, i64::from(CAP), "within the cap");
    assert!(
        !within.stdout.contains("SESSION LIMIT"),
        "{}",
        within.stdout
    );
    note
}

/// vsftpd with `max_clients` (or `max_per_ip`) set low through the harness:
/// its own instance, stopped when the check ends.
pub fn vsftpd(pkgs: &Path, root: &Path, var: &'static str, words: &str) -> String {
    const CAP: u32 = 3;
    let mut home = Instances::new("ftpd-exhaustion-overload", pkgs, root);
    home.env = vec![(var, CAP.to_string())];
    let passive = ftpload::proto::PortRange {
        first: SMALL_BASE + 60,
        last: SMALL_BASE + 69,
    };
    home.start("vsftpd", VSFTPD_PORT, passive)
        .unwrap_or_else(|e| panic!("{e}"));
    let o = run(var, Some(VSFTPD_PORT), None, USERS);
    past_the_cap(&o, CAP, (words, words), &format!("vsftpd, {var}={CAP}"))
}
