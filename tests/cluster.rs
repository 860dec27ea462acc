//! A sharded run on a real Slurm cluster: `deploy/slurm/local-cluster.sh`
//! starts a single-node cluster from Debian's packages (slurmctld, slurmd,
//! munge), `ftpload serve` is the target, and `deploy/slurm/submit.sh` runs
//! `scenarios/distributed.toml` as a job array of 4 shards
//! (`shards.sbatch`, `--shard auto`, `--start-at`, `--out-dir`) and the merge
//! after it (`merge.sbatch`, `--dependency=afterok`). Then:
//!
//! - every shard ran its own slice (1/4 to 4/4), clean, from Slurm's
//!   environment, and held its load for the one instant submit.sh computed;
//! - the merged result is the whole run (no `shard` left), its counters
//!   the sums of the shards', and every histogram of it (per mode, metric
//!   and operation) the shards' histograms added: decoded and added by an
//!   independent decoder, Python's `hdrh`, bucket by bucket;
//! - the start skew is recorded: each shard's, and the merge's least and
//!   most over the four shards.
//!
//! The committed run of results/examples/slurm-4-shards is checked the same
//! way first, on any machine.
//!
//! Needs root (the daemons, and the packages on a fresh machine, which the
//! script installs). A cluster that cannot start is skipped and said so;
//! with FTPLOAD_REQUIRE_SLURM=1 (scripts/test sets it) it fails instead. A
//! binary of its own with its own small harness, as tests/netns.rs, so the
//! skip is printed rather than captured. A cluster already running (the
//! script's default folder) is used and left running; one it started, it
//! stops.

#[allow(dead_code)]
#[path = "util/common.rs"]
mod common;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use serde_json::Value;

const NAME: &str = "cluster::slurm_array_of_four_shards_merges_into_their_sum";
const REQUIRE_VAR: &str = "FTPLOAD_REQUIRE_SLURM";
const BIN: &str = env!("CARGO_BIN_EXE_ftpload");
const SHARDS: u64 = 4;
/// Starting the daemons takes 2 s here; installing the packages on a fresh
/// machine, a minute or two.
const START_TIMEOUT: Duration = Duration::from_secs(600);
/// 5 s of lead, 3 s of load, the merge: 20 s here.
const JOB_WAIT_SECS: u64 = 180;

fn main() {
    let root = common::repo_root();
    // The committed 4-shard run first: checked the same way, Slurm or not.
    let committed = catch_unwind(AssertUnwindSafe(|| committed_example(&root)));
    let name = "cluster::the_committed_example_is_the_sum_of_its_shards";
    if committed.is_err() {
        println!("test {name} ... FAILED\n\ntest result: FAILED. 0 passed; 1 failed");
        std::process::exit(101);
    }
    println!("test {name} ... ok");
    let script = root.join("deploy/slurm/local-cluster.sh");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return skip("needs root: Slurm's daemons (and, on a fresh machine, its packages)");
    }
    let started = match start_cluster(&script) {
        Ok(started) => started,
        Err(why) => return skip(&format!("Slurm cannot start here: {why}")),
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| slurm_array(&root)));
    if started {
        let _ = Command::new(&script).arg("stop").status();
    }
    match outcome {
        Ok(()) => println!("test {NAME} ... ok\n\ntest result: ok. 2 passed; 0 failed; 0 skipped"),
        Err(_) => {
            println!("test {NAME} ... FAILED\n\ntest result: FAILED. 1 passed; 1 failed");
            std::process::exit(101);
        }
    }
}

fn skip(reason: &str) {
    if std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1") {
        println!("test {NAME} ... FAILED");
        eprintln!("{NAME}: {reason} ({REQUIRE_VAR}=1: a skip is a failure)");
        std::process::exit(101);
    }
    println!("test {NAME} ... skipped: {reason}\n\ntest result: ok. 1 passed; 0 failed; 1 skipped");
}

/// Starts the cluster unless it runs already: whether this test started it.
fn start_cluster(script: &Path) -> Result<bool, String> {
    let status = Command::new(script).arg("status").output();
    let up = status
        .as_ref()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("slurmctld running"));
    if up {
        println!("{NAME}: a local Slurm runs already; using it and leaving it running");
        return Ok(false);
    }
    let mut c = Command::new(script);
    c.arg("start");
    let out = common::run_bounded(c, None, START_TIMEOUT)?;
    if !out.status.success() {
        return Err(format!(
            "local-cluster.sh start failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(true)
}

/// The slurm.conf the script wrote, as `local-cluster.sh env` says.
fn slurm_conf(root: &Path) -> String {
    let out = Command::new(root.join("deploy/slurm/local-cluster.sh"))
        .arg("env")
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    line.trim()
        .strip_prefix("export SLURM_CONF=")
        .unwrap_or_else(|| panic!("local-cluster.sh env said {line:?}"))
        .to_string()
}

/// `ftpload serve` on a free port with the scenario's files: the child and
/// its URL (from "serving ftp://ftpload@127.0.0.1:PORT (password ...").
fn serve() -> (Child, String) {
    let files = [
        "--port",
        "0",
        "--file",
        "1k.bin=1KiB",
        "--file",
        "64k.bin=64KiB",
    ];
    let (child, line) = common::start_serve(BIN, &files);
    let url = line
        .strip_prefix("serving ")
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("serve said {line:?}"))
        .to_string();
    (child, url)
}

fn slurm_array(root: &Path) {
    let conf = slurm_conf(root);
    let (mut server, url) = serve();
    let results = std::env::temp_dir().join(format!("ftpload-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&results);
    let mut c = Command::new(root.join("deploy/slurm/submit.sh"));
    c.current_dir(root)
        .env("SLURM_CONF", &conf)
        .env("FTPLOAD", BIN)
        .env("FTPLOAD_PASSWORD", "ftpload")
        .args(["--shards", &SHARDS.to_string(), "--lead", "5"])
        .args(["--wait", &JOB_WAIT_SECS.to_string(), "--results"])
        .arg(&results)
        .args(["scenarios/distributed.toml", "--target", &url])
        .args(["--duration", "3s", "--ramp-up", "0s"]);
    let out = common::run_bounded(c, None, Duration::from_secs(JOB_WAIT_SECS + 60));
    let _ = server.kill();
    let _ = server.wait();
    let out = out.unwrap_or_else(|e| panic!("{e}"));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let logs = || read_logs(&results.join("logs"));
    assert!(out.status.success(), "submit.sh: {said}\n{}", logs());

    let shards: Vec<Value> = (1..=SHARDS)
        .map(|i| read(&results.join(format!("distributed-shard-{i}-of-{SHARDS}.json"))))
        .collect();
    let merged = read(&results.join("merged.json"));
    check_shards(NAME, &shards, &merged);
    check_sums(&shards, &merged);
    check_histograms(NAME, &shards, &merged);
    let _ = std::fs::remove_dir_all(&results);
}

/// results/examples/slurm-4-shards (scripts/results/slurm-example.sh): the
/// merge committed there is the sum of the four shards committed beside it.
fn committed_example(root: &Path) {
    let dir = root.join("results/examples/slurm-4-shards");
    let shards: Vec<Value> = (1..=SHARDS)
        .map(|i| read(&dir.join(format!("distributed-shard-{i}-of-{SHARDS}.json"))))
        .collect();
    let merged = read(&dir.join("merged.json"));
    let name = "cluster::the_committed_example_is_the_sum_of_its_shards";
    check_shards(name, &shards, &merged);
    check_sums(&shards, &merged);
    check_histograms(name, &shards, &merged);
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_logs(dir: &Path) -> String {
    let mut all = String::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        all += &format!("== {}\n{text}\n", e.path().display());
    }
    all
}

/// Each shard its own slice, clean, held for the one instant; the merge
/// the whole run with the least and the most skew of the four.
fn check_shards(name: &str, shards: &[Value], merged: &Value) {
    let requested = &merged["start_at"]["requested"];
    assert!(requested.is_string(), "{}", merged["start_at"]);
    let mut skews = Vec::new();
    for (i, s) in (1..).zip(shards) {
        assert_eq!(s["scenario"]["shard"]["index"], i);
        assert_eq!(s["scenario"]["shard"]["count"], SHARDS);
        assert_eq!(
            &s["start_at"]["requested"], requested,
            "one instant for all"
        );
        assert_eq!(
            s["start_at"]["late"], 0,
            "shard {i} started late: {}",
            s["start_at"]
        );
        let skew = s["start_at"]["skew_ms_min"].as_f64().unwrap();
        assert!(skew >= 0.0, "shard {i} began before the instant: {skew} ms");
        skews.push(skew);
        for (mode, m) in s["modes"].as_object().unwrap() {
            let errors: u64 = m["errors"]
                .as_object()
                .map_or(0, |e| e.values().map(|v| v.as_u64().unwrap_or(0)).sum());
            assert_eq!(errors, 0, "shard {i} {mode}: {}", m["errors"]);
        }
    }
    let s = &merged["start_at"];
    assert_eq!(s["shards"], SHARDS, "{s}");
    assert_eq!(s["late"], 0, "{s}");
    let least = skews.iter().cloned().fold(f64::INFINITY, f64::min);
    let most = skews.iter().cloned().fold(0.0, f64::max);
    assert_eq!(s["skew_ms_min"].as_f64(), Some(least), "{s}");
    assert_eq!(s["skew_ms_max"].as_f64(), Some(most), "{s}");
    assert!(merged["scenario"].get("shard").is_none(), "the whole run");
    // Each shard's own line, kept through the merge as the shard wrote it.
    let lines = merged["shards"].as_array().expect("the merge's shards");
    assert_eq!(lines.len() as u64, SHARDS, "{lines:?}");
    for (line, s) in lines.iter().zip(shards) {
        assert_eq!(line, &s["shards"][0], "a shard's line, merged");
    }
    println!("{name}: start skew {least:.3} to {most:.3} ms over {SHARDS} shards");
}

/// Every counter of every mode: the merge's is the shards' sum, and
/// something ran in each mode.
fn check_sums(shards: &[Value], merged: &Value) {
    let modes = merged["modes"].as_object().unwrap();
    assert!(
        modes.len() >= 3,
        "passive, epsv and active: {:?}",
        modes.keys()
    );
    for (mode, m) in modes {
        for (counter, value) in m["counters"].as_object().unwrap() {
            let sum: u64 = shards
                .iter()
                .map(|s| s["modes"][mode]["counters"][counter].as_u64().unwrap_or(0))
                .sum();
            assert_eq!(value.as_u64(), Some(sum), "{mode} {counter}");
        }
        assert!(
            m["counters"]["transfers"].as_u64().unwrap() > 0,
            "{mode}: no transfer"
        );
    }
}

/// Every histogram (`hdr`) in a mode's metrics and operations, by path.
fn histograms(v: &Value, path: &str, out: &mut BTreeMap<String, String>) {
    if let Value::Object(o) = v {
        if let Some(Value::String(h)) = o.get("hdr") {
            out.insert(path.to_string(), h.clone());
        }
        for (k, x) in o {
            histograms(x, &format!("{path}.{k}"), out);
        }
    }
}

/// Python's `hdrh` adds the shards' histograms and compares the sum with
/// the merge's, bucket by bucket (every value's count): our merge checked
/// by someone else's decoder and arithmetic.
fn check_histograms(name: &str, shards: &[Value], merged: &Value) {
    let mut ours = BTreeMap::new();
    histograms(&merged["modes"], "modes", &mut ours);
    let parts: Vec<BTreeMap<String, String>> = shards
        .iter()
        .map(|s| {
            let mut h = BTreeMap::new();
            histograms(&s["modes"], "modes", &mut h);
            h
        })
        .collect();
    // One line per histogram, tab-separated (an operation's name has a
    // space): its path, the merge's, then each shard's ("-" where a shard
    // has none).
    let mut input = String::new();
    for (path, h) in &ours {
        input += &format!("{path}\t{h}");
        for p in &parts {
            input += &format!("\t{}", p.get(path).map_or("-", String::as_str));
        }
        input += "\n";
    }
    let mut cmd = Command::new(common::ensure_pyenv());
    cmd.args(["-c", PY_ADD]);
    let out = common::run_bounded(cmd, Some(input.into_bytes()), Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("{e}"));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python hdrh: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checked: u64 = said
        .lines()
        .find_map(|l| l.strip_prefix("equal "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("python hdrh said {said:?}"));
    assert_eq!(checked as usize, ours.len(), "{said}");
    assert!(checked >= 30, "too few histograms to mean much: {checked}");
    println!("{name}: {checked} merged histograms equal the shards' sums (Python hdrh)");
}

const PY_ADD: &str = r#"
import sys
from hdrh.histogram import HdrHistogram
equal = 0
for line in sys.stdin.read().splitlines():
    path, merged, *shards = line.split("\t")
    m = HdrHistogram.decode(merged)
    parts = [HdrHistogram.decode(s) for s in shards if s != "-"]
    total = HdrHistogram(m.lowest_trackable_value, m.highest_trackable_value, m.significant_figures)
    for p in parts:
        total.add(p)
    def buckets(h):
        return [(v.value_iterated_to, v.count_at_value_iterated_to) for v in h.get_recorded_iterator()]
    if m.get_total_count() != total.get_total_count() or buckets(m) != buckets(total):
        print(f"{path}: merged {m.get_total_count()} values, the shards' sum {total.get_total_count()}; buckets differ")
        sys.exit(1)
    equal += 1
print(f"equal {equal}")
"#;
