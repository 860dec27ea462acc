//! Every kind of malformed input, through the real binary: one clear
//! message (the file, line, column and key where there is one; the cause
//! once) and the documented exit code. The cases are one table, so a new
//! one is one line; docs/cli.md's "Bad input" section lists each by name
//! with its exit code, and this test holds the two together.
//!
//! Run with `--nocapture` to see what ftpload printed for each case: the
//! table the issue's closing note quotes.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ftpload::embedded::{EmbeddedConfig, EmbeddedServer};

use crate::util::common;

const BIN: &str = env!("CARGO_BIN_EXE_ftpload");

/// The scenario every case starts from: valid, one second on the embedded
/// target. A case changes one piece of it.
const BASE: &str = r#"[files]
"1k.bin" = "1KiB"
[run]
duration = "1s"
[[group]]
users = 2
modes = { passive = 1 }
ops = ["retr 1k.bin"]
"#;

struct Case {
    name: &'static str,
    /// What the user got wrong, as the docs' table says it.
    input: &'static str,
    /// `(from, to)`: the one change made to [`BASE`] (`("", "")`: none).
    edit: (&'static str, &'static str),
    /// After `run SCENARIO`. `{port}`: a loopback port nothing listens on;
    /// `{wrong}`: an embedded target with another password; `{dir}`: a
    /// folder holding `a-file`, a plain file.
    args: &'static [&'static str],
    /// The exit code the case must end with.
    exit: i32,
    /// Each must be on stderr (`{file}`: the scenario's path, `{port}` as
    /// above); the first is the cause and must be there exactly once.
    says: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    let none = ("", "");
    #[rustfmt::skip]
    let cases = vec![
        Case { name: "toml-syntax", input: "a string left open: `duration = \"1s`", edit: ("\"1s\"", "\"1s"), args: &[], exit: 2, says: &["invalid basic string", "{file}:4:15"] },
        Case { name: "unknown-key", input: "`userz = 3` in a `[[group]]`", edit: ("users = 2", "users = 2\nuserz = 3"), args: &[], exit: 2, says: &["unknown field `userz`", "{file}:7:1: group[0].userz"] },
        Case { name: "wrong-type", input: "`users = \"two\"`", edit: ("users = 2", "users = \"two\""), args: &[], exit: 2, says: &["invalid type: string \"two\"", "{file}:6:9: group[0].users"] },
        Case { name: "zero-duration", input: "`duration = \"0s\"`", edit: ("\"1s\"", "\"0s\""), args: &[], exit: 2, says: &["must last above zero", "{file}:4:12: run.duration"] },
        Case { name: "zero-duration-flag", input: "`--duration 0s`", edit: none, args: &["--duration", "0s"], exit: 2, says: &["must be above zero", "--duration"] },
        Case { name: "zero-iterations", input: "`iterations = 0` instead of a duration", edit: ("duration = \"1s\"", "iterations = 0"), args: &[], exit: 2, says: &["at least one iteration", "{file}:4:14: run.iterations"] },
        Case { name: "negative-duration", input: "`duration = \"-1s\"`", edit: ("\"1s\"", "\"-1s\""), args: &[], exit: 2, says: &["cannot be negative", "{file}:4:12: run.duration"] },
        Case { name: "negative-duration-flag", input: "`--duration -1s`", edit: none, args: &["--duration", "-1s"], exit: 2, says: &["cannot be negative", "--duration"] },
        Case { name: "huge-duration", input: "`duration = \"580000000000y\"`", edit: ("\"1s\"", "\"580000000000y\""), args: &[], exit: 2, says: &["at most 100 years", "{file}:4:12: run.duration"] },
        Case { name: "too-many-users", input: "`users = 2000000`", edit: ("users = 2", "users = 2000000"), args: &[], exit: 2, says: &["2000000 users in all: at most 1000000 in one process", "{file}: "] },
        Case { name: "rate-too-high", input: "`rate = \"5e6/s\"`", edit: ("duration = \"1s\"", "rate = \"5e6/s\"\nduration = \"1s\""), args: &[], exit: 2, says: &["a rate of 5000000/s is above the most one process can offer", "{file}:4:8: run.rate"] },
        Case { name: "rate-too-high-flag", input: "`--rate 2000000/s`", edit: none, args: &["--rate", "2000000/s"], exit: 2, says: &["a rate of 2000000/s is above the most one process can offer", "--rate"] },
        Case { name: "bad-shard-flag", input: "`--shard 3/2`", edit: none, args: &["--shard", "3/2"], exit: 2, says: &["I must be from 1 to N (here N is 2)", "--shard"] },
        Case { name: "empty-mode-mix", input: "`modes = {}`", edit: ("{ passive = 1 }", "{}"), args: &[], exit: 2, says: &["modes has no weight above zero", "{file}:5:1: group 0"] },
        Case { name: "zero-mode-weights", input: "`modes = { passive = 0 }`", edit: ("passive = 1", "passive = 0"), args: &[], exit: 2, says: &["modes has no weight above zero", "{file}:5:1: group 0"] },
        Case { name: "unknown-mode", input: "`modes = { pasive = 1 }` (or `mode = \"pasive\"`)", edit: ("passive = 1", "pasive = 1"), args: &[], exit: 2, says: &["unknown mode \"pasive\"", "{file}:7:11: group[0].modes.pasive"] },
        Case { name: "unknown-mode-flag", input: "`--mode pasive`", edit: none, args: &["--mode", "pasive"], exit: 2, says: &["unknown mode \"pasive\"", "--mode"] },
        Case { name: "url-scheme", input: "`--target http://bob@127.0.0.1:21`", edit: none, args: &["--target", "http://bob@127.0.0.1:21"], exit: 2, says: &["must start with ftp://", "bad target \"http://bob@127.0.0.1:21\""] },
        Case { name: "url-port-range", input: "`--target ftp://bob@127.0.0.1:70000` (or `:0`)", edit: none, args: &["--target", "ftp://bob@127.0.0.1:70000"], exit: 2, says: &["the port must be a number from 1 to 65535", "\"ftp://bob@127.0.0.1:70000\""] },
        Case { name: "url-empty-host", input: "`--target ftp://bob@:21`", edit: none, args: &["--target", "ftp://bob@:21"], exit: 2, says: &["empty host", "\"ftp://bob@:21\""] },
        Case { name: "url-in-file", input: "`[target] url = \"ftp://bob@h:0\"`", edit: ("[files]", "[target]\nurl = \"ftp://bob@h:0\"\n[files]"), args: &[], exit: 2, says: &["the port must be a number from 1 to 65535", "{file}:2:7: target.url"] },
        Case { name: "source-ips-syntax", input: "`--source-ips 127.0.0.2-127.0.0.300`", edit: none, args: &["--source-ips", "127.0.0.2-127.0.0.300"], exit: 2, says: &["\"127.0.0.300\" is not an IPv4 or IPv6 address", "--source-ips"] },
        Case { name: "source-ips-not-local", input: "`--source-ips 203.0.113.7` (an address of no interface here)", edit: none, args: &["--source-ips", "203.0.113.7"], exit: 2, says: &["source address 203.0.113.7 is not an address of this host (bind: EADDRNOTAVAIL)", "--source-ips"] },
        Case { name: "source-ips-family", input: "`--source-ips ::1` against the embedded target (IPv4)", edit: none, args: &["--source-ips", "::1"], exit: 2, says: &["are IPv6 but the target 127.0.0.1 is IPv4"] },
        Case { name: "shard-auto-none", input: "`--shard auto` outside a Slurm job array or a Kubernetes Indexed Job", edit: none, args: &["--shard", "auto"], exit: 2, says: &["--shard auto: neither a Slurm job array"] },
        Case { name: "source-ips-in-file", input: "`[target] source_ips = \"127.0.0.2,127.0.0.2\"`", edit: ("[files]", "[target]\nsource_ips = \"127.0.0.2,127.0.0.2\"\n[files]"), args: &[], exit: 2, says: &["127.0.0.2 is named twice", "{file}:2:14: target.source_ips"] },
        Case { name: "pasv-over-ipv6", input: "`--mode passive --target ftp://bob:pw@[::1]:PORT`", edit: none, args: &["--mode", "passive", "--target", "ftp://bob:pw@[::1]:{port}"], exit: 2, says: &["mode passive cannot work against [::1]:", "PASV cannot carry an IPv6 address (RFC 2428); use epsv"] },
        Case { name: "ca-file-plain", input: "`--ca-file F` with an `ftp://` target", edit: none, args: &["--target", "ftp://bob:pw@127.0.0.1:{port}", "--ca-file", "{dir}/ca.pem"], exit: 2, says: &["--ca-file and --insecure are for FTPS"] },
        Case { name: "ca-file-empty", input: "`--ca-file` a file with no certificate", edit: none, args: &["--target", "ftpes://bob:pw@127.0.0.1:{port}", "--ca-file", "{file}"], exit: 2, says: &["no certificate in it"] },
        Case { name: "unresolvable-host", input: "`--target ftp://bob@nosuchhost.invalid`", edit: none, args: &["--target", "ftp://bob@nosuchhost.invalid"], exit: 3, says: &["cannot resolve target host \"nosuchhost.invalid\"", "RFC 6761"] },
        Case { name: "unreachable-port", input: "`--target` a port nothing listens on", edit: none, args: &["--target", "ftp://bob@127.0.0.1:{port}"], exit: 3, says: &["Connection refused (os error 111)", "127.0.0.1:{port}"] },
        Case { name: "wrong-password", input: "a password the server refuses", edit: none, args: &["--target", "ftp://ftpload@{wrong}"], exit: 3, says: &["530", "refused the login as ftpload"] },
        Case { name: "unwritable-output", input: "`--out` a path under a plain file", edit: none, args: &["--out", "{dir}/a-file/result.json"], exit: 2, says: &["--out {dir}/a-file/result.json is not writable", "nothing ran"] },
    ];
    cases
}

/// Fills a case's placeholders.
struct Places {
    port: String,
    wrong: String,
    dir: String,
}

impl Places {
    fn fill(&self, s: &str, file: &Path) -> String {
        s.replace("{port}", &self.port)
            .replace("{wrong}", &self.wrong)
            .replace("{dir}", &self.dir)
            .replace("{file}", &file.display().to_string())
    }
}

#[test]
fn every_bad_input_says_what_and_where_once_and_exits_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a-file"), "").unwrap();
    // A port nothing listens on: bound, then let go.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let wrong = EmbeddedServer::start(EmbeddedConfig {
        password: "right".into(),
        ..EmbeddedConfig::default()
    })
    .unwrap();
    let places = Places {
        port: port.to_string(),
        wrong: wrong.addr().to_string(),
        dir: dir.path().display().to_string(),
    };
    let docs = bad_input_section();

    let mut failures = Vec::new();
    let mut table = String::from("| case | input | printed | exit |\n|---|---|---|---|\n");
    for case in cases() {
        let (from, to) = case.edit;
        assert!(
            BASE.contains(from),
            "{}: {from:?} is not in BASE",
            case.name
        );
        let scenario = dir.path().join(format!("{}.toml", case.name));
        std::fs::write(&scenario, BASE.replacen(from, to, 1)).unwrap();
        let mut c = Command::new(BIN);
        c.arg("run")
            .arg(&scenario)
            .arg("-q")
            .args(case.args.iter().map(|a| places.fill(a, &scenario)))
            .current_dir(dir.path())
            .env("FTPLOAD_PASSWORD", "secret")
            // Whatever runs the tests (a Slurm job, a Kubernetes pod) must
            // not hand `--shard auto` a slice.
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("JOB_COMPLETION_INDEX");
        let r = common::run_bounded(c, None, Duration::from_secs(60)).unwrap();
        let code = r.status.code();
        let stderr = String::from_utf8_lossy(&r.stderr).into_owned();
        // What ftpload said, without clap's "For more information" hint.
        let shown = stderr
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
            .collect::<Vec<_>>()
            .join(" ⏎ ");
        table += &format!(
            "| {} | {} | {} | {} |\n",
            case.name,
            case.input,
            shown.replace(&places.dir, "$TMP"),
            code.map_or("signal".into(), |c| c.to_string())
        );

        let mut wrong_here = Vec::new();
        if code != Some(case.exit) {
            wrong_here.push(format!("exit {code:?}, want {}", case.exit));
        }
        for (i, s) in case.says.iter().enumerate() {
            let s = places.fill(s, &scenario);
            let n = stderr.matches(s.as_str()).count();
            if n == 0 || (i == 0 && n > 1) {
                wrong_here.push(format!("{s:?} {n} times"));
            }
        }
        // The docs list the case under its name, with the same exit code.
        match docs.iter().find(|row| row[0] == format!("`{}`", case.name)) {
            None => wrong_here.push("not in docs/cli.md's Bad input table".into()),
            Some(row) => {
                let documented = row.last().unwrap();
                let want = case.exit.to_string();
                if *documented != want {
                    wrong_here.push(format!("docs say exit {documented}, the test {want}"));
                }
                if row[1] != case.input {
                    wrong_here.push(format!(
                        "docs say the input is {:?}, the test {:?}",
                        row[1], case.input
                    ));
                }
            }
        }
        if !wrong_here.is_empty() {
            failures.push(format!(
                "{}: {}\n  stderr: {stderr}",
                case.name,
                wrong_here.join("; ")
            ));
        }
    }
    drop(wrong);
    println!("{table}");
    let names: Vec<&str> = cases().iter().map(|c| c.name).collect();
    for row in &docs {
        let name = row[0].trim_matches('`');
        if !names.contains(&name) {
            failures.push(format!(
                "docs/cli.md lists {name}, which the test does not run"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The rows of docs/cli.md's "Bad input" table, each cell trimmed, the
/// header and its rule left out.
fn bad_input_section() -> Vec<Vec<String>> {
    let doc = std::fs::read_to_string(common::repo_root().join("docs/cli.md")).unwrap();
    let section = doc
        .split("\n## Bad input\n")
        .nth(1)
        .expect("docs/cli.md has a \"## Bad input\" section");
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}
