//! docs/ci.md's job, run as written: the ```sh block that starts with
//! `# ci-job` is extracted and run by `bash -euo pipefail` from the
//! repository root, with this build's binary, a 3-second run and a temporary
//! artifact folder. Its verdict must be pass (0) or a regression (5): the
//! baseline comes from a release build on a quiet machine and this is a debug
//! build on a loaded one, so a regression is legitimate, but a failed
//! threshold (99) means scenarios/ci.toml's bounds are too tight for CI.
//! Then the artifacts the doc promises are checked.

use std::process::Command;
use std::time::Duration;

use crate::util::common::{self, repo_root};
use crate::util::harness::temp_dir;

const BIN: &str = env!("CARGO_BIN_EXE_ftpload");
const MARK: &str = "```sh\n# ci-job\n";

/// The marked block of docs/ci.md, without its fences.
fn job_script() -> String {
    let doc = std::fs::read_to_string(repo_root().join("docs/ci.md")).unwrap();
    let start = doc
        .find(MARK)
        .expect("docs/ci.md has a ```sh block starting with `# ci-job`")
        + "```sh\n".len();
    let len = doc[start..]
        .find("\n```\n")
        .expect("the ci-job block is closed");
    assert_eq!(
        doc.matches(MARK).count(),
        1,
        "docs/ci.md has one ci-job block"
    );
    doc[start..start + len + 1].to_string()
}

/// The keys of scenarios/ci.toml's `[thresholds]`.
fn threshold_keys() -> Vec<String> {
    let text = std::fs::read_to_string(repo_root().join("scenarios/ci.toml")).unwrap();
    let v: toml::Value = toml::from_str(&text).unwrap();
    v["thresholds"]
        .as_table()
        .expect("scenarios/ci.toml has [thresholds]")
        .keys()
        .cloned()
        .collect()
}

#[test]
fn the_ci_job_in_docs_ci_md_runs_and_writes_its_reports() {
    let script = job_script();
    let out = temp_dir("ci-doc");
    let file = out.join("ci-job.sh");
    std::fs::write(&file, &script).unwrap();

    // The block is shellchecked as a bash script where shellcheck is
    // installed (.ci/run installs it); elsewhere this check is skipped.
    if Command::new("shellcheck").arg("--version").output().is_ok() {
        let mut c = Command::new("shellcheck");
        c.args(["--shell=bash", "-"]);
        let r = common::run_bounded(c, Some(script.into_bytes()), Duration::from_secs(60)).unwrap();
        assert!(
            r.status.success(),
            "shellcheck on docs/ci.md's ci-job block:\n{}",
            String::from_utf8_lossy(&r.stdout)
        );
    }

    let mut c = Command::new("bash");
    c.args(["-euo", "pipefail"])
        .arg(&file)
        .current_dir(repo_root())
        .env("FTPLOAD", BIN)
        .env("OUT", &out)
        .env("DURATION", "3s")
        .env_remove("TARGET")
        .env_remove("SCENARIO")
        .env_remove("BASELINE");
    let r = common::run_bounded(c, None, Duration::from_secs(180)).unwrap();
    let stdout = String::from_utf8_lossy(&r.stdout);
    let stderr = String::from_utf8_lossy(&r.stderr);
    let code = r.status.code();
    assert!(
        matches!(code, Some(0) | Some(5)),
        "the ci job exited {code:?}, expected 0 (pass) or 5 (regression)\nstdout: {stdout}\nstderr: {stderr}"
    );

    // junit.xml: one test case per threshold of the scenario, none failed.
    let keys = threshold_keys();
    let junit = std::fs::read_to_string(out.join("junit.xml")).expect("junit.xml written");
    assert_eq!(
        junit.matches("<testcase ").count(),
        keys.len(),
        "one testcase per threshold of scenarios/ci.toml:\n{junit}"
    );
    for k in &keys {
        let escaped = k.replace('&', "&amp;").replace('"', "&quot;");
        assert!(
            junit.contains(&format!("<testcase name=\"{escaped} ")),
            "no testcase for {k}:\n{junit}"
        );
    }
    assert!(!junit.contains("<failure"), "{junit}");

    // new.json: a result of this scenario with its thresholds recorded.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("new.json")).unwrap()).unwrap();
    assert_eq!(json["scenario_name"], "ci");
    assert_eq!(
        json["thresholds"].as_array().map(Vec::len),
        Some(keys.len())
    );

    // compare.md: the verdict on its first line, and it agrees with the exit.
    let md = std::fs::read_to_string(out.join("compare.md")).expect("compare.md written");
    let first = md.lines().next().unwrap_or_default();
    let want = if code == Some(5) {
        "**❌ regression"
    } else {
        "**✅ no regression"
    };
    assert!(first.starts_with(want), "compare.md starts: {first}");
    assert!(md.contains("\n| mode | metric |"), "{md}");

    // report.html: one self-contained page.
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html written");
    assert!(html.contains("<svg"), "report.html has charts");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "report.html names a URL"
    );

    let _ = std::fs::remove_dir_all(&out);
}
