//! Runs scenarios through the library, as `ftpload run` does, and reads back
//! the JSON it wrote: tests check the file a user would get.

use std::path::PathBuf;

use ftpload::metrics::Metric;
use ftpload::proto::Mode;
use ftpload::result::{ModeResult, RunResult};
use ftpload::run::{self, Status};
use ftpload::scenario::{Overrides, Plan};

pub struct Ran {
    pub result: RunResult,
    pub json: serde_json::Value,
    pub status: Status,
    pub path: PathBuf,
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "ftpload-test-{tag}-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn run_scenario(toml: &str, o: &Overrides, tag: &str) -> Ran {
    let dir = temp_dir(tag);
    let scenario = dir.join(format!("{tag}.toml"));
    std::fs::write(&scenario, toml).unwrap();
    let plan = Plan::load(&scenario, o).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join("result.json");
    let f = run::run(
        &plan,
        &run::Options {
            out: Some(out.clone()),
            quiet: true,
            cancel: Default::default(),
        },
    )
    .unwrap_or_else(|e| panic!("run failed: {e}"));
    let text = std::fs::read_to_string(&out).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let result = RunResult::read(&out).unwrap();
    assert_eq!(result, f.result, "the file holds what the run returned");
    Ran {
        result,
        json,
        status: f.status,
        path: out,
    }
}

pub fn mode(r: &RunResult, m: Mode) -> &ModeResult {
    r.modes
        .get(&m)
        .unwrap_or_else(|| panic!("no {m} section in {:?}", r.modes.keys()))
}

pub fn count(s: &ModeResult, m: Metric) -> u64 {
    s.metrics[&m].count
}

/// Every data-channel metric counted `n` transfers: each transfer moved
/// bytes, so it has a setup, a first byte, a duration and a throughput.
pub fn assert_transfer_counts(s: &ModeResult, n: u64, what: &str) {
    for metric in [
        Metric::DataSetup,
        Metric::FirstByte,
        Metric::Transfer,
        Metric::Throughput,
    ] {
        assert_eq!(count(s, metric), n, "{what} {metric:?}");
    }
}

pub fn assert_no_errors(s: &ModeResult, what: &str) {
    assert!(s.errors.is_empty(), "{what}: errors {:#?}", s.errors);
}
