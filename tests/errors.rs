//! Every error's cause is printed once. An error either says its cause in
//! its own words (a leaf over an OS or codec error) or hands it on as its
//! source for the CLI to print after it, never both: a missing scenario once
//! printed "No such file or directory (os error 2)" twice, a refused
//! connection "Connection refused (os error 111)" three times.

use std::process::Command;
use std::time::Duration;

use ftpload::embedded::{EmbeddedConfig, EmbeddedServer};

use crate::util::common;

const BIN: &str = env!("CARGO_BIN_EXE_ftpload");

struct Failed {
    code: Option<i32>,
    stderr: String,
}

fn ftpload(args: &[&str]) -> Failed {
    let mut c = Command::new(BIN);
    c.args(args)
        .current_dir(common::repo_root())
        .env("FTPLOAD_PASSWORD", "secret");
    let r = common::run_bounded(c, None, Duration::from_secs(60)).unwrap();
    Failed {
        code: r.status.code(),
        stderr: String::from_utf8_lossy(&r.stderr).into_owned(),
    }
}

/// `cause` appears exactly once on stderr, which names `what` too.
fn once(f: &Failed, code: i32, what: &str, cause: &str) {
    assert_eq!(f.code, Some(code), "{}", f.stderr);
    assert!(f.stderr.contains(what), "want {what:?} in\n{}", f.stderr);
    assert_eq!(
        f.stderr.matches(cause).count(),
        1,
        "{cause:?} should appear once in\n{}",
        f.stderr
    );
}

#[test]
fn missing_file_bad_key_refused_port_wrong_password_unwritable_output_each_say_their_cause_once() {
    let dir = tempfile::tempdir().unwrap();

    let missing = dir.path().join("missing.toml");
    let f = ftpload(&["run", missing.to_str().unwrap()]);
    once(
        &f,
        2,
        "missing.toml",
        "No such file or directory (os error 2)",
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "bogus = 1\n[[group]]\nops = [\"noop\"]\n").unwrap();
    let f = ftpload(&["run", bad.to_str().unwrap()]);
    once(&f, 2, "bad.toml:1:1", "unknown field `bogus`");

    // A port nothing listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("ftp://bob@127.0.0.1:{port}");
    let f = ftpload(&["run", "scenarios/smoke.toml", "-q", "--target", &url]);
    once(
        &f,
        3,
        &format!("127.0.0.1:{port}"),
        "Connection refused (os error 111)",
    );

    let server = EmbeddedServer::start(EmbeddedConfig {
        password: "right".into(),
        ..EmbeddedConfig::default()
    })
    .unwrap();
    let url = format!("ftp://ftpload@{}", server.addr());
    let f = ftpload(&["run", "scenarios/smoke.toml", "-q", "--target", &url]);
    once(&f, 3, "login", "530");
    drop(server);

    // A result path under a plain file cannot be made: found before the
    // run (exit 2, nothing ran), not after it.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let out = file.join("result.json");
    let why = format!("{} is a file, not a folder", file.display());
    let f = ftpload(&[
        "run",
        "scenarios/smoke.toml",
        "-q",
        "--duration",
        "1s",
        "--out",
        out.to_str().unwrap(),
    ]);
    once(&f, 2, "result.json", &why);
    assert!(f.stderr.contains("nothing ran"), "{}", f.stderr);
}
