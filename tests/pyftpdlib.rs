//! All four modes against a real server that has EPRT (pyftpdlib, started by
//! the test from the project's own venv), as an external target: the set-up
//! phase, RETR, STOR and LIST, bytes and histogram counts.

use ftpload::metrics::Metric;
use ftpload::proto::Mode;
use ftpload::scenario::{Overrides, Plan};

use crate::util::common;
use crate::util::harness::{self, assert_no_errors, count, mode, run_scenario, temp_dir};

const ITERATIONS: u64 = 12;

fn scenario(extra_file: &str) -> String {
    scenario_with_users(extra_file, 3)
}

fn scenario_with_users(extra_file: &str, users: u32) -> String {
    format!(
        r#"
[files]
"1k.bin" = "1KiB"
"100k.bin" = "100KiB"
{extra_file}
[run]
iterations = {ITERATIONS}
[[group]]
users = {users}
ops = ["retr 1k.bin", "retr 100k.bin", "stor 10KiB", "list"]
"#
    )
}

fn external(server: &common::PyFtpd, m: Mode) -> Overrides {
    Overrides {
        target: Some(format!("ftp://ftpuser@{}", server.addr)),
        password: Some("ftppass".into()),
        modes: vec![m],
        ..Overrides::default()
    }
}

fn check_mode(m: Mode, passive: std::ops::RangeInclusive<u16>) {
    let root = temp_dir(&format!("pyftpd-{m}"));
    common::make_files(&root, &[("1k.bin", 1024), ("100k.bin", 100 * 1024)]);
    let server = common::PyFtpd::start(&root, "ftpuser", "ftppass", passive);
    // pyftpdlib 2.2.0 sometimes never notices that its own active-mode connect
    // completed when several sessions connect back at once (curl shows the
    // same: 3 hangs in 180 with 3 parallel clients, none sequentially); it then
    // answers 421 after 30 s. One client keeps this test about our client.
    let users = if m.is_active() { 1 } else { 3 };
    let ran = run_scenario(
        &scenario_with_users("", users),
        &external(&server, m),
        m.as_str(),
    );
    let s = mode(&ran.result, m);
    assert_no_errors(s, m.as_str());
    let c = &s.counters;
    assert_eq!(c.iterations, ITERATIONS);
    assert_eq!(c.transfers, ITERATIONS * 3 + ITERATIONS);
    assert_eq!(c.bytes_up, ITERATIONS * 10 * 1024);
    assert!(c.bytes_down > ITERATIONS * (1024 + 100 * 1024));
    assert_eq!(count(s, Metric::SessionSetup), ITERATIONS);
    harness::assert_transfer_counts(s, ITERATIONS * 4, m.as_str());
    assert_eq!(ran.json["target"]["kind"], "external");
    // The server really holds what the clients uploaded.
    let uploaded = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("ftpload-upload-")
        })
        .map(|e| e.metadata().unwrap().len())
        .collect::<Vec<_>>();
    assert!(!uploaded.is_empty());
    assert!(uploaded.iter().all(|&n| n == 10 * 1024), "{uploaded:?}");
}

#[test]
fn passive_against_pyftpdlib() {
    check_mode(Mode::Passive, 16000..=16099);
}

#[test]
fn epsv_against_pyftpdlib() {
    check_mode(Mode::Epsv, 16100..=16199);
}

#[test]
fn active_against_pyftpdlib() {
    check_mode(Mode::Active, 16200..=16299);
}

#[test]
fn eprt_against_pyftpdlib() {
    check_mode(Mode::Eprt, 16300..=16399);
}

#[test]
fn set_up_uploads_declared_files_that_are_missing() {
    let root = temp_dir("pyftpd-setup");
    common::make_files(&root, &[("1k.bin", 1024), ("100k.bin", 100 * 1024)]);
    let server = common::PyFtpd::start(&root, "ftpuser", "ftppass", 16400..=16499);
    let toml = scenario("\"gen.bin\" = \"3KiB\"").replace("\"list\"", "\"retr gen.bin\"");
    let ran = run_scenario(&toml, &external(&server, Mode::Epsv), "setup");
    assert_no_errors(mode(&ran.result, Mode::Epsv), "setup");
    assert_eq!(
        std::fs::metadata(root.join("gen.bin")).unwrap().len(),
        3 * 1024
    );
}

#[test]
fn set_up_names_a_missing_undeclared_file() {
    let root = temp_dir("pyftpd-missing");
    let server = common::PyFtpd::start(&root, "ftpuser", "ftppass", 16500..=16599);
    let dir = temp_dir("missing");
    let path = dir.join("m.toml");
    std::fs::write(
        &path,
        "[run]\niterations = 1\n[[group]]\nusers = 1\nops = [\"retr nothere.bin\"]\n",
    )
    .unwrap();
    let plan = Plan::load(&path, &external(&server, Mode::Passive)).unwrap();
    let e = ftpload::run::run(
        &plan,
        &ftpload::run::Options {
            out: Some(dir.join("r.json")),
            quiet: true,
            cancel: Default::default(),
        },
    )
    .err()
    .expect("a missing file stops the run")
    .to_string();
    assert!(
        e.contains("\"nothere.bin\" is missing on the target"),
        "{e}"
    );
}

#[test]
fn wrong_password_fails_fast_with_a_clear_error() {
    let root = temp_dir("pyftpd-badpw");
    let server = common::PyFtpd::start(&root, "ftpuser", "ftppass", 16600..=16699);
    let dir = temp_dir("badpw");
    let path = dir.join("b.toml");
    std::fs::write(
        &path,
        "[run]\niterations = 1\n[[group]]\nusers = 1\nops = [\"list\"]\n",
    )
    .unwrap();
    let mut o = external(&server, Mode::Passive);
    o.password = Some("wrong".into());
    let plan = Plan::load(&path, &o).unwrap();
    let e = ftpload::run::run(
        &plan,
        &ftpload::run::Options {
            out: Some(dir.join("r.json")),
            quiet: true,
            cancel: Default::default(),
        },
    )
    .err()
    .expect("a refused login stops the run")
    .to_string();
    assert!(e.contains("530"), "{e}");
    assert!(e.contains(&server.addr.to_string()), "{e}");
}
