//! `--shard I/N`: N shards together make exactly the one run. Client and
//! arrival `k` keep the mode they have in the whole run, so with two modes
//! alternating, each of two shards runs one mode only: which mode a shard
//! ran shows which clients it took, and its counts show its share. Source
//! addresses (`--source-ips`) go by the same numbers.

use ftpload::proto::Mode;
use ftpload::scenario::{Overrides, Shard};

use crate::util::harness::{assert_no_errors, run_scenario};

fn shard(index: u32, count: u32) -> Overrides {
    Overrides {
        shard: Some(Shard { index, count }),
        ..Overrides::default()
    }
}

/// Per mode of a result: (mode, iterations), modes with none left out.
fn iterations(r: &ftpload::result::RunResult) -> Vec<(Mode, u64)> {
    r.modes
        .iter()
        .map(|(m, s)| (*m, s.counters.iterations))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[test]
fn closed_loop_shards_split_clients_and_iterations_as_the_whole_run_numbers_them() {
    // Four clients alternate passive, epsv, passive, epsv: shard 1/2 takes
    // clients 0 and 2, shard 2/2 clients 1 and 3.
    let toml = r#"
[run]
iterations = 12
[[group]]
users = 4
modes = { passive = 1, epsv = 1 }
ops = ["noop"]
"#;
    let a = run_scenario(toml, &shard(1, 2), "shard-closed-1");
    let b = run_scenario(toml, &shard(2, 2), "shard-closed-2");
    for (r, mode) in [(&a, Mode::Passive), (&b, Mode::Epsv)] {
        assert_no_errors(&r.result.modes[&mode], "shard");
        assert_eq!(
            iterations(&r.result),
            [(mode, 6)],
            "each shard's share, in its clients' mode"
        );
    }
    assert_eq!(
        a.json["scenario"]["shard"],
        serde_json::json!({"index": 1, "count": 2})
    );
    assert_eq!(
        b.json["scenario"]["shard"],
        serde_json::json!({"index": 2, "count": 2})
    );
}

#[test]
fn open_loop_shards_take_every_nth_arrival_of_the_one_schedule() {
    // The group's three clients' modes are passive, active, passive (as
    // weighted round robin spreads them), and arrival k takes mode k mod 3:
    // shard 1/3 takes arrivals 0, 3, 6, ..., all passive; 2/3 all active.
    let toml = r#"
[run]
iterations = 30
rate = "200/s"
arrival = "poisson"
seed = 7
[[group]]
users = 3
modes = { passive = 1, active = 1 }
ops = ["noop"]
"#;
    let whole = run_scenario(toml, &Overrides::default(), "shard-open-all");
    let mut per_mode = std::collections::BTreeMap::new();
    for i in 1..=3 {
        let s = run_scenario(toml, &shard(i, 3), &format!("shard-open-{i}"));
        let got = iterations(&s.result);
        // Arrival k is shard (k mod 3)+1's, with the whole run's mode.
        let mode = |k: u64| [Mode::Passive, Mode::Active, Mode::Passive][(k % 3) as usize];
        let mut want = std::collections::BTreeMap::new();
        for k in (0..30u64).filter(|k| k % 3 == u64::from(i - 1)) {
            *want.entry(mode(k)).or_insert(0u64) += 1;
        }
        let want: Vec<(Mode, u64)> = want.into_iter().collect();
        assert_eq!(got, want, "shard {i}/3");
        for (m, n) in got {
            *per_mode.entry(m).or_insert(0) += n;
        }
    }
    // Together, what the one run did.
    let whole: std::collections::BTreeMap<Mode, u64> =
        iterations(&whole.result).into_iter().collect();
    assert_eq!(per_mode, whole);
}

/// `ftpload run` of `toml` with `args` and `--out`, which must exit 0: its
/// output and the merged result.
fn run_local_shards(
    tag: &str,
    toml: &str,
    args: &[&str],
) -> (crate::util::common::Ran, serde_json::Value) {
    let dir = crate::util::harness::temp_dir(tag);
    let scenario = dir.join("s.toml");
    std::fs::write(&scenario, toml).unwrap();
    let out = dir.join("merged.json");
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_ftpload"));
    c.arg("run")
        .arg(&scenario)
        .args(args)
        .arg("--out")
        .arg(&out);
    let r = crate::util::common::run_bounded(c, None, std::time::Duration::from_secs(120));
    let r = crate::util::common::Ran::from(r.unwrap());
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    let j = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    (r, j)
}

/// `--local-shards 3`: three processes, one merged result with every
/// iteration, judged on the merge (a threshold on the whole run's count).
#[test]
fn local_shards_run_as_processes_and_merge_into_the_whole_run() {
    let (r, j) = run_local_shards(
        "local-shards",
        "[run]\niterations = 30\n[[group]]\nusers = 6\nmodes = { passive = 1, active = 1 }\nops = [\"noop\"]\n",
        &["--local-shards", "3", "--threshold", "errors.rate=< 0.001"],
    );
    assert!(j["scenario"].get("shard").is_none(), "{}", j["scenario"]);
    let total: u64 = ["passive", "active"]
        .iter()
        .map(|m| j["modes"][m]["counters"]["iterations"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 30, "every shard's share");
    assert_eq!(j["thresholds"][0]["pass"], true, "{}", j["thresholds"]);
    assert!(r.stdout.contains("✓ pass errors.rate"), "{}", r.stdout);
    // The shards' own files were merged and removed.
    let kept = r
        .stderr
        .split("results in ")
        .nth(1)
        .and_then(|s| s.split(')').next());
    let kept = kept.unwrap_or_else(|| panic!("no shard folder named: {}", r.stderr));
    assert!(!std::path::Path::new(kept).exists(), "{kept} left behind");
}

/// Source addresses go by the whole run's client number, so shards agree:
/// with 3 addresses, clients 0 to 3 leave from .2, .3, .4 and .2; shard 1/2
/// (clients 0 and 2) from .2 and .4, shard 2/2 (1 and 3) from .3 and .2,
/// not each from its own first two; merged, the one run's 2, 1, 1.
#[test]
fn shards_take_source_addresses_by_the_whole_runs_client_number() {
    let toml = r#"
[target]
source_ips = "127.0.0.2-127.0.0.4"
[run]
duration = "1s"
ramp_up = "0s"
[[group]]
users = 4
session = "persistent"
mode = "passive"
ops = ["noop"]
"#;
    let per = |r: &ftpload::result::RunResult| -> Vec<(String, u64)> {
        r.sources
            .iter()
            .map(|s| (s.address.to_string(), s.counts.sessions))
            .collect()
    };
    let list = |l: &[(&str, u64)]| -> Vec<(String, u64)> {
        l.iter().map(|(a, n)| (a.to_string(), *n)).collect()
    };
    let a = run_scenario(toml, &shard(1, 2), "shard-sources-1");
    let b = run_scenario(toml, &shard(2, 2), "shard-sources-2");
    assert_eq!(per(&a.result), list(&[("127.0.0.2", 1), ("127.0.0.4", 1)]));
    assert_eq!(per(&b.result), list(&[("127.0.0.2", 1), ("127.0.0.3", 1)]));
    let mut merged = a.result.clone();
    merged.try_merge(&b.result).unwrap();
    assert_eq!(
        per(&merged),
        list(&[("127.0.0.2", 2), ("127.0.0.3", 1), ("127.0.0.4", 1)])
    );
}

/// Shards' processes run side by side, so the merged generator's memory
/// and sessions are the sums: ten held sessions over two processes are ten
/// at the merged peak, and a cost per session is derived from the sums.
#[test]
fn local_shards_add_their_generators_memory_and_sessions() {
    let (r, j) = run_local_shards(
        "local-shards-memory",
        "[run]\niterations = 10\nramp_up = \"1s\"\n[[group]]\nusers = 10\nmode = \"passive\"\nops = [\"idle 4s\"]\n",
        &["--local-shards", "2", "--workers", "1"],
    );
    let g = &j["generator"];
    assert_eq!(g["workers"], 2, "one worker in each of two shards: {g}");
    let m = &g["memory"];
    assert_eq!(m["peak_sessions"], 10, "five held in each shard: {m}");
    // Each shard's own peak was five; held together, the whole run's is ten.
    assert_eq!(
        j["modes"]["passive"]["sessions"]["peak_logged_in"], 10,
        "{}",
        j["modes"]["passive"]["sessions"]
    );
    assert!(m["per_session_bytes"].is_u64(), "{m}");
    assert!(r.stdout.contains("generator memory:"), "{}", r.stdout);
}

/// A Slurm job array's tasks, as sbatch starts them: `--shard auto` reads
/// each one's slice from its environment; two write into one directory
/// with `--out-dir`, the third to stdout (`--out -`, as a pod's log) and is
/// saved there by hand; `merge DIR` adds them into the whole run, leaving
/// out its own earlier output. A directory short of a shard, holding one
/// twice, or holding a shard of another seed is refused, naming it.
#[test]
fn shard_auto_from_a_slurm_array_and_merge_of_a_directory() {
    let toml = "[run]\niterations = 30\n[[group]]\nusers = 3\nops = [\"noop\"]\n";
    let dir = crate::util::harness::temp_dir("shard-auto");
    let scenario = dir.join("s.toml");
    std::fs::write(&scenario, toml).unwrap();
    let results = dir.join("results");
    let ftpload = |args: &[&str], env: &[(&str, String)]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_ftpload"));
        c.args(args).envs(env.iter().map(|(k, v)| (k, v)));
        let r = crate::util::common::run_bounded(c, None, std::time::Duration::from_secs(120));
        crate::util::common::Ran::from(r.unwrap())
    };
    let (s, res) = (scenario.to_str().unwrap(), results.to_str().unwrap());
    let slurm = |task: u32| {
        [
            ("SLURM_ARRAY_TASK_ID", task.to_string()),
            ("SLURM_ARRAY_TASK_COUNT", "3".into()),
            ("SLURM_ARRAY_TASK_MIN", "0".into()),
        ]
    };
    // sbatch --array=0-2: task ids 0, 1 and 2.
    for task in 0..2 {
        let r = ftpload(
            &["run", s, "--shard", "auto", "-q", "--out-dir", res],
            &slurm(task),
        );
        assert_eq!(r.code, Some(0), "{}", r.stderr);
    }
    let r = ftpload(
        &["run", s, "--shard", "auto", "-q", "--out", "-"],
        &slurm(2),
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr.contains("SESSIONS") || !r.stderr.is_empty(),
        "the summary on stderr"
    );
    let third: serde_json::Value =
        serde_json::from_str(&r.stdout).expect("stdout is one JSON document");
    std::fs::write(results.join("s-shard-3-of-3.json"), &r.stdout).unwrap();
    for task in 0..3 {
        let path = results.join(format!("s-shard-{}-of-3.json", task + 1));
        let j: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            j["scenario"]["shard"]["index"],
            task + 1,
            "{}",
            path.display()
        );
        assert_eq!(j["scenario"]["shard"]["count"], 3);
    }
    assert_eq!(third["scenario"]["shard"]["index"], 3);
    // An earlier merge's output in the directory is not a shard of it.
    let merged = results.join("merged.json");
    let merge = || ftpload(&["merge", res, "--out", merged.to_str().unwrap()], &[]);
    for _ in 0..2 {
        let m = merge();
        assert_eq!(m.code, Some(0), "{}", m.stderr);
        let j: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&merged).unwrap()).unwrap();
        assert_eq!(j["modes"]["passive"]["counters"]["iterations"], 30);
        assert!(j["scenario"].get("shard").is_none(), "the whole run");
        // Each shard's own line kept, in order, adding up to the whole.
        let lines = j["shards"].as_array().expect("shards");
        let index: Vec<u64> = lines.iter().map(|l| l["index"].as_u64().unwrap()).collect();
        assert_eq!(index, [1, 2, 3], "{lines:?}");
        let sum: u64 = lines
            .iter()
            .map(|l| l["iterations"].as_u64().unwrap())
            .sum();
        assert_eq!(sum, 30, "{lines:?}");
        assert!(
            m.stdout.contains("shards: 3 merged, on 1 host"),
            "{}",
            m.stdout
        );
    }
    std::fs::remove_file(&merged).unwrap();
    let m = ftpload(&["merge", res, "--out", "-"], &[]);
    assert_eq!(m.code, Some(0), "{}", m.stderr);
    let j: serde_json::Value =
        serde_json::from_str(&m.stdout).expect("stdout is one JSON document");
    assert_eq!(j["modes"]["passive"]["counters"]["iterations"], 30);

    // Refused, each naming the shard: twice, of another seed, missing.
    let first = results.join("s-shard-1-of-3.json");
    let copy = results.join("t-copy.json");
    std::fs::copy(&first, &copy).unwrap();
    let m = merge();
    assert_eq!(m.code, Some(2), "{}", m.stderr);
    assert!(
        m.stderr.contains("shard 1/3 is there twice"),
        "{}",
        m.stderr
    );
    std::fs::remove_file(&copy).unwrap();
    let r = ftpload(
        &[
            "run",
            s,
            "--shard",
            "auto",
            "-q",
            "--seed",
            "7",
            "--out-dir",
            res,
        ],
        &slurm(1),
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let m = merge();
    assert_eq!(m.code, Some(2), "{}", m.stderr);
    assert!(
        m.stderr
            .contains("s-shard-2-of-3.json is not a shard of the same run")
            && m.stderr.contains("its seed is 7 against"),
        "{}",
        m.stderr
    );
    std::fs::remove_file(results.join("s-shard-2-of-3.json")).unwrap();
    let m = merge();
    assert_eq!(m.code, Some(2), "{}", m.stderr);
    assert!(m.stderr.contains("shard 2/3 missing"), "{}", m.stderr);
}

/// `--start-at` with `--local-shards 3`: every shard holds its load for the
/// one instant the parent resolved `+2s` to, none starts before it, and the
/// merge keeps the least and the most skew over the three; an instant
/// already past starts the run at once, counted late.
#[test]
fn shards_held_for_one_instant_record_their_skew() {
    let toml = "[run]\niterations = 6\n[[group]]\nusers = 3\nops = [\"noop\"]\n";
    let (r, j) = run_local_shards(
        "start-at",
        toml,
        &["--local-shards", "3", "--start-at", "+2s", "-q"],
    );
    let s = &j["start_at"];
    assert_eq!(s["shards"], 3, "{s}\n{}", r.stderr);
    assert_eq!(s["late"], 0, "{s}");
    let (min, max) = (
        s["skew_ms_min"].as_f64().unwrap(),
        s["skew_ms_max"].as_f64().unwrap(),
    );
    // Each waited for the instant: none began before it.
    assert!(0.0 <= min && min <= max, "{s}");
    assert_eq!(j["scenario"]["start_at"], s["requested"], "{j:#}");
    let (r, j) = run_local_shards(
        "start-late",
        toml,
        &["--start-at", "2026-01-01T00:00:00Z", "-q"],
    );
    assert_eq!(j["start_at"]["late"], 1, "{}", j["start_at"]);
    assert!(r.stderr.contains("had passed"), "{}", r.stderr);
}
