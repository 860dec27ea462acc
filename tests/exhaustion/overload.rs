//! Real overload: a server with a low cap on sessions, pushed past it by
//! more closed-loop users than it holds, each holding its session with
//! `idle`: vsftpd's `max_clients` and `max_per_ip` and proftpd's
//! `MaxClients` and `MaxClientsPerHost`, set through the harness's
//! FTPD_MAX_CLIENTS and FTPD_MAX_PER_IP, and the embedded target's
//! `max_connections`. The binary runs as a user runs it, and what it
//! controls is checked: every refusal classified and counted as the session
//! limit (vsftpd and the embedded target: 421 at the banner; proftpd: 530 to
//! PASS), the limit named in the summary; never more sessions logged in at
//! once than the cap; the result written; exit 1. No timings.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ftpload::metrics::{ErrorClass, SessionStats, Step};
use ftpload::proto::{Mode, Verb};
use ftpload::result::{ModeResult, RunResult};

use super::{missing, Check, Home, SMALL_BASE};

/// Users at once, against a cap of fewer sessions.
const USERS: u32 = 8;
/// The control port of the real server's instance for these checks, beside
/// the other harness homes (one at a time).
const PORT: u16 = 2139;
/// The run's length; each user holds its session for most of it.
const DURATION_S: u64 = 4;
/// A generous bound on how long a run takes to end: its duration, the
/// grace for iterations still running, and a loaded machine.
const END_WITHIN: Duration = Duration::from_secs(DURATION_S + 20);

/// How a server turns a session away.
#[derive(Clone, Copy)]
pub enum Refusal {
    /// 421 in place of the banner (vsftpd, the embedded target).
    Banner421,
    /// 530 to PASS, naming the maximum (proftpd).
    Pass530,
}

impl Refusal {
    fn class(self) -> ErrorClass {
        match self {
            Refusal::Banner421 => ErrorClass::Reply {
                code: 421,
                command: None,
            },
            Refusal::Pass530 => ErrorClass::Reply {
                code: 530,
                command: Some(Verb::Pass),
            },
        }
    }

    fn step(self) -> Step {
        match self {
            Refusal::Banner421 => Step::Banner,
            Refusal::Pass530 => Step::Login,
        }
    }

    fn code(self) -> u16 {
        match self {
            Refusal::Banner421 => 421,
            Refusal::Pass530 => 530,
        }
    }
}

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

/// Past the cap: every failure is a refusal by the session limit, as
/// `refusal` says the server makes it, counted as such; never more than `cap` logged in at once; the
/// limit named `words` in the result and `said` in the summary; exit 1. The
/// summary's note, for the report.
fn past_the_cap(
    o: &Outcome,
    cap: u32,
    (words, said): (&str, &str),
    refusal: Refusal,
    what: &str,
) -> String {
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
        .map(|m| m.sessions_open.get().expect("a run writes sessions_open"))
        .max()
        .unwrap_or(0);
    assert!(most <= cap, "{what}: the timeline saw {most} sessions open");
    // Every failure is one refusal: the same class, the same count.
    let classes: Vec<_> = s.errors.iter().map(|e| (e.class, e.count)).collect();
    assert_eq!(classes, vec![(refusal.class(), st.refused)], "{what}");
    assert_eq!(s.counters.sessions_failed, st.refused, "{what}");
    let l = st.limit.as_ref().expect("the first refusal kept");
    assert_eq!((l.step, l.code), (refusal.step(), refusal.code()), "{what}");
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
    let at = format!(
        "refused {} sessions {}",
        st.refused,
        match refusal {
            Refusal::Banner421 => "at the banner (421)",
            Refusal::Pass530 => "at login (530)",
        }
    );
    assert!(
        note.contains(&at)
            && note.contains(said)
            && note.contains(&format!("at most {} sessions", st.peak_logged_in)),
        "{what}: the summary does not say it:\n{}",
        o.stdout
    );
    assert!(
        o.stdout.contains(&refusal.class().label()),
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
    let note = past_the_cap(
        &o,
        CAP,
        (words, &said),
        Refusal::Banner421,
        "embedded, max_connections 3",
    );
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

/// A real server with a session limit set low through the harness
/// (`var`: FTPD_MAX_CLIENTS or FTPD_MAX_PER_IP): an instance of its own,
/// stopped when the check ends.
pub fn real(
    (pkgs, root): (&Path, &Path),
    server: &str,
    var: &'static str,
    words: &str,
    refusal: Refusal,
) -> String {
    const CAP: u32 = 3;
    let mut home = Home::new("ftpd-exhaustion-overload", pkgs, root);
    home.env = vec![(var, CAP.to_string())];
    let passive = ftpload::proto::PortRange {
        first: SMALL_BASE + 60,
        last: SMALL_BASE + 69,
    };
    home.start(server, PORT, passive, None)
        .unwrap_or_else(|e| panic!("{e}"));
    let o = run(&format!("{server}-{var}"), Some(PORT), None, USERS);
    let what = format!("{server}, {var}={CAP}");
    past_the_cap(&o, CAP, (words, words), refusal, &what)
}

/// The checks, by name, with why each cannot run here (if it cannot): the
/// embedded target's cap, then each real server's two limits.
pub fn checks(pkgs: &Path, root: &Path) -> Vec<(String, Option<String>, Check)> {
    use Refusal::{Banner421, Pass530};
    let mut out: Vec<(String, Option<String>, Check)> = vec![(
        "embedded::overload_max_connections".into(),
        None,
        Box::new(embedded_cap),
    )];
    let limits = [
        (
            "vsftpd",
            "max_clients",
            "FTPD_MAX_CLIENTS",
            "vsftpd's max_clients",
            Banner421,
        ),
        (
            "vsftpd",
            "max_per_ip",
            "FTPD_MAX_PER_IP",
            "vsftpd's max_per_ip",
            Banner421,
        ),
        (
            "proftpd",
            "max_clients",
            "FTPD_MAX_CLIENTS",
            "proftpd's MaxClients",
            Pass530,
        ),
        (
            "proftpd",
            "max_per_ip",
            "FTPD_MAX_PER_IP",
            "proftpd's MaxClientsPerHost",
            Pass530,
        ),
    ];
    for (server, check, var, words, refusal) in limits {
        let (p, r) = (pkgs.to_path_buf(), root.to_path_buf());
        out.push((
            format!("{server}::overload_{check}"),
            missing(server, pkgs, root),
            Box::new(move || real((&p, &r), server, var, words, refusal)),
        ));
    }
    out
}
