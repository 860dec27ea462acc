//! What a result file refuses and never holds: a file of another
//! `schema_version` is refused before the rest of it is read, and no password
//! is written, neither in the plan nor in an error's sample.

use std::collections::BTreeSet;
use std::path::Path;

use ftpload::result::{RunResult, SCHEMA_VERSION};
use ftpload::scenario::{Overrides, Plan};
use serde_json::Value;

use crate::util::harness;
use crate::util::schema::{all_keys, keys, run, set};

#[test]
fn unknown_schema_version_is_refused() {
    let ran = run("schema-version");
    let mut v = ran.json.clone();
    v["schema_version"] = Value::from(999);
    let path = ran.path.with_file_name("future.json");
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let err = RunResult::read(&path)
        .expect_err("a result of schema_version 999 must be refused")
        .to_string();
    assert!(err.contains("999"), "the error names the version: {err}");
    assert!(
        err.contains(&format!("reads {SCHEMA_VERSION}")),
        "the error names the version this ftpload reads: {err}"
    );
    // The same file at the current version reads.
    v["schema_version"] = Value::from(SCHEMA_VERSION);
    std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    assert_eq!(RunResult::read(&path).unwrap(), ran.result);
}

/// A future version is free to change any field, so the version must be
/// checked before the rest of the file is interpreted.
#[test]
fn unknown_schema_version_is_refused_whatever_the_layout() {
    let dir = harness::temp_dir("schema-layout");
    let path = dir.join("future.json");
    let next = SCHEMA_VERSION + 1;
    std::fs::write(
        &path,
        format!(r#"{{"schema_version": {next}, "runs": []}}"#),
    )
    .unwrap();
    let err = RunResult::read(&path).expect_err("refused").to_string();
    assert!(err.contains(&format!("schema_version {next}")), "{err}");
}

#[test]
fn password_never_written() {
    // The embedded run: no password key anywhere in the file.
    let ran = run("schema-password");
    let text = std::fs::read_to_string(&ran.path).unwrap();
    assert!(!text.contains("\"password\""), "a password key was written");
    let mut all = BTreeSet::new();
    all_keys(&ran.json, "", &mut all);
    assert!(
        !all.iter()
            .any(|k| k.to_ascii_lowercase().contains("password")),
        "{all:?}"
    );

    // An external target, with the password from a flag and from the URL:
    // the plan that becomes `scenario` must not carry it.
    let toml = |url: &str| {
        format!(
            "[target]\nurl = \"{url}\"\n[run]\niterations = 1\n[[group]]\nusers = 1\nops = [\"noop\"]\n"
        )
    };
    let from_flag = Overrides {
        password: Some("s3cret-pw".into()),
        ..Overrides::default()
    };
    for (url, o) in [
        ("ftp://bob@ftp.example.com:2121", &from_flag),
        (
            "ftp://bob:s3cret-pw@ftp.example.com:2121",
            &Overrides::default(),
        ),
    ] {
        let plan = Plan::parse(&toml(url), Path::new("external.toml"), o)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            plan.target.credentials(),
            ("bob", "s3cret-pw"),
            "the plan holds the password"
        );
        let json = serde_json::to_string(&plan).unwrap();
        assert!(!json.contains("s3cret-pw"), "password written: {json}");
        assert!(!json.contains("\"password\""), "{json}");
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["target"]["kind"], "external");
        assert_eq!(v["target"]["user"], "bob");
        assert_eq!(v["target"]["host"], "ftp.example.com");
        assert_eq!(v["target"]["port"], 2121);
        assert_eq!(
            keys(&v["target"]),
            set(&["kind", "host", "port", "user"]),
            "external target fields"
        );
    }
}

/// A password with a CR or LF cannot be sent; the error that says so becomes
/// an error `sample` (and the terminal message), so it must not quote it.
#[test]
fn password_with_cr_is_not_echoed_in_errors() {
    let e = ftpload::proto::Command::Pass("s3cret\rpw")
        .encode(&mut Vec::new())
        .expect_err("CR refused");
    let sample = ftpload::proto::ProtoError::from(e).to_string();
    assert!(!sample.contains("s3cret"), "{sample}");
}
