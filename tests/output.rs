//! Output safety: every command that writes checks where it will write before
//! any work (exit 2 naming the path, nothing ran), and a write that fails at
//! the end (a disk filled meanwhile) lands in a named fallback file in the
//! temporary directory, said on stderr (exit 3): nothing gathered is lost.
//!
//! Root ignores `chmod`, so an unwritable path is one under a plain file or
//! on a read-only tmpfs, and a full disk is a 64 KiB tmpfs filled up: an
//! empty probe file still fits (the check passes), a result does not.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::util::common::{self, Ran};
use crate::util::tmpfs::Tmpfs;

const BIN: &str = env!("CARGO_BIN_EXE_ftpload");
/// A committed result, as the input of `merge` and `report`.
const RESULT: &str = "results/examples/ramp.json";

/// `ftpload args` with its temporary directory (where fallbacks go) set to `tmp`.
fn ftpload(args: &[&str], tmp: &Path) -> Ran {
    let mut c = Command::new(BIN);
    c.args(args)
        .current_dir(common::repo_root())
        .env("TMPDIR", tmp);
    // One smoke step or run of 1 s; 90 s is the bound on ending, not a timing.
    let r = common::run_bounded(c, None, Duration::from_secs(90)).unwrap();
    let ran = Ran::from(r);
    println!(
        "$ ftpload {}\nexit {:?}\n{}",
        args.join(" "),
        ran.code,
        ran.stderr.trim_end()
    );
    ran
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The fallback stderr names for `what` ("saved the result to X instead").
fn fallback(r: &Ran, what: &str) -> PathBuf {
    let lead = format!("saved {what} to ");
    let path = r
        .stderr
        .split(&lead)
        .nth(1)
        .and_then(|t| t.split(" instead").next())
        .unwrap_or_else(|| panic!("no fallback for {what} in\n{}", r.stderr));
    PathBuf::from(path)
}

fn json(p: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is no JSON: {e}", p.display()))
}

/// Each command refused before any work: exit 2, the flag and path named,
/// nothing printed on stdout, nothing written anywhere.
fn refused(r: &Ran, flag: &str, path: &Path, tmp: &Path) {
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    let said = format!("{flag} {} is not writable: ", path.display());
    assert!(r.stderr.contains(&said), "want {said:?} in\n{}", r.stderr);
    assert!(r.stderr.contains("nothing ran"), "{}", r.stderr);
    assert_eq!(r.stdout, "", "nothing ran, nothing printed");
    assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0, "no fallback");
}

#[test]
fn every_output_path_is_checked_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let plain = dir.path().join("plain");
    std::fs::write(&plain, "").unwrap();
    let bad = |name: &str| plain.join(name);
    let good = dir.path().join("r.json");
    let run = ["run", "scenarios/smoke.toml", "-q", "--duration", "1s"];

    let p = bad("r.json");
    refused(
        &ftpload(&[&run[..], &["--out", s(&p)]].concat(), tmp),
        "--out",
        &p,
        tmp,
    );
    let p = bad("j.xml");
    let args = [&run[..], &["--out", s(&good), "--junit", s(&p)]].concat();
    refused(&ftpload(&args, tmp), "--junit", &p, tmp);
    let p = bad("csv");
    let args = [&run[..], &["--out", s(&good), "--csv", s(&p)]].concat();
    refused(&ftpload(&args, tmp), "--csv", &p, tmp);
    assert!(!good.exists(), "no run ran");

    let p = bad("cap");
    let args = [
        "capacity",
        "scenarios/smoke.toml",
        "-q",
        "--start",
        "1",
        "--max",
        "1",
        "--step-duration",
        "1s",
        "--out-dir",
        s(&p),
    ];
    refused(&ftpload(&args, tmp), "--out-dir", &p, tmp);

    let p = bad("m.json");
    refused(
        &ftpload(&["merge", "--out", s(&p), RESULT], tmp),
        "--out",
        &p,
        tmp,
    );
    let p = bad("r.html");
    refused(
        &ftpload(&["report", RESULT, "--out", s(&p)], tmp),
        "--out",
        &p,
        tmp,
    );
    let p = bad("csv");
    refused(
        &ftpload(&["report", RESULT, "--csv", s(&p)], tmp),
        "--csv",
        &p,
        tmp,
    );
    let p = dir.path().to_path_buf();
    refused(
        &ftpload(&["report", RESULT, "--out", s(&p)], tmp),
        "--out",
        &p,
        tmp,
    );

    // A read-only mount says so.
    let ro = match Tmpfs::mount("64k", "ro") {
        Ok(m) => m,
        Err(why) => {
            println!("skipped the read-only case: {why}");
            return;
        }
    };
    let p = ro.join("r.json");
    let r = ftpload(&[&run[..], &["--out", s(&p)]].concat(), tmp);
    refused(&r, "--out", &p, tmp);
    assert!(r.stderr.contains("Read-only file system"), "{}", r.stderr);
}

#[test]
fn a_disk_full_at_the_end_loses_no_output() {
    let full = match Tmpfs::mount("64k", "") {
        Ok(m) => m,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    full.fill();
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();

    // run: the result, the JUnit report and the CSV files each fall back.
    let (out, junit, csv) = (full.join("r.json"), full.join("j.xml"), full.join("csv"));
    let r = ftpload(
        &[
            "run",
            "scenarios/smoke.toml",
            "-q",
            "--duration",
            "1s",
            "--users",
            "3",
            "--threshold",
            "errors.rate=< 1",
            "--out",
            s(&out),
            "--junit",
            s(&junit),
            "--csv",
            s(&csv),
        ],
        tmp,
    );
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(
        r.stdout.contains("sessions"),
        "the summary is still printed"
    );
    let result = fallback(&r, "the result");
    assert!(result.starts_with(tmp), "{}", result.display());
    assert!(
        r.stderr
            .contains(&format!("cannot write result {}", out.display())),
        "{}",
        r.stderr
    );
    let v = json(&result);
    assert!(v["schema_version"].as_u64().unwrap() > 0);
    assert!(
        v["modes"]["passive"]["counters"]["sessions"]
            .as_u64()
            .unwrap()
            > 0
    );
    let j = std::fs::read_to_string(fallback(&r, "the JUnit report")).unwrap();
    assert!(j.starts_with("<?xml") && j.contains("errors.rate"), "{j}");
    let c = fallback(&r, "the CSV files");
    for name in ftpload::report::csv::FILES {
        assert!(c.join(name).is_file(), "{}/{name}", c.display());
    }
    assert!(!out.exists() && !junit.exists());

    // merge and report, of that saved result.
    let m = full.join("m.json");
    let r = ftpload(&["merge", "--out", s(&m), s(&result)], tmp);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.stderr.contains(&m.display().to_string()), "{}", r.stderr);
    assert_eq!(
        json(&fallback(&r, "the merged result"))["scenario_name"],
        v["scenario_name"]
    );

    let h = full.join("r.html");
    let r = ftpload(&["report", s(&result), "--out", s(&h)], tmp);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    let page = std::fs::read_to_string(fallback(&r, "the report")).unwrap();
    assert!(page.contains("<html") && page.contains("</html>"));

    let r = ftpload(&["report", s(&result), "--csv", s(&full.join("csv2"))], tmp);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    let c = fallback(&r, "the CSV files");
    assert!(c.join("summary.csv").is_file(), "{}", c.display());

    // capacity: the step's result and capacity.json, with the step found
    // from it.
    let cap = full.join("cap");
    let r = ftpload(
        &[
            "capacity",
            "scenarios/smoke.toml",
            "-q",
            "--start",
            "2",
            "--max",
            "2",
            "--step-duration",
            "1s",
            "--out-dir",
            s(&cap),
        ],
        tmp,
    );
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    let step = fallback(&r, "the step");
    assert_eq!(json(&step)["scenario_name"], "smoke");
    let capacity = json(&fallback(&r, "capacity.json"));
    assert_eq!(capacity["steps"][0]["users"], 2);
    assert_eq!(capacity["steps"][0]["result_file"], s(&step));
    assert!(r.stdout.contains("users"), "the table is still printed");
}
