//! `--csv DIR` as a CI job meets it: a short embedded run of
//! scenarios/smoke.toml writes summary.csv, timeline.csv and counters.csv
//! whose rows, parsed back, say what the JSON result says; `report RESULT
//! --csv DIR` writes the same files from the result; several results, or a
//! folder that cannot be written, are refused with their exit codes.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ftpload::result::RunResult;

use crate::util::common;
use crate::util::harness::temp_dir;

const BIN: &str = env!("CARGO_BIN_EXE_ftpload");

fn ftpload(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut c = Command::new(BIN);
    c.args(args).current_dir(dir);
    let r = common::run_bounded(c, None, Duration::from_secs(120)).unwrap();
    (
        r.status.code(),
        String::from_utf8_lossy(&r.stdout).into_owned(),
        String::from_utf8_lossy(&r.stderr).into_owned(),
    )
}

/// A CSV file's header and rows, parsed by the `csv` crate.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[test]
fn a_run_writes_csv_files_that_match_its_result() {
    let dir = temp_dir("export-csv");
    let smoke = common::repo_root().join("scenarios/smoke.toml");
    let (code, stdout, stderr) = ftpload(
        &dir,
        &[
            "run",
            smoke.to_str().unwrap(),
            "--duration",
            "2s",
            "-q",
            "--out",
            "r.json",
            "--csv",
            "csv",
        ],
    );
    assert!(
        code == Some(0) || code == Some(1),
        "exit {code:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    let r = RunResult::read(&dir.join("r.json")).unwrap();
    assert!(!r.modes.is_empty());

    // summary.csv: a row per mode, operation (or none) and metric, each
    // count the result's.
    let (header, rows) = read_csv(&dir.join("csv/summary.csv"));
    assert_eq!(
        header,
        [
            "mode",
            "operation",
            "metric",
            "unit",
            "count",
            "min",
            "mean",
            "p50",
            "p90",
            "p99",
            "p999",
            "max"
        ]
    );
    let expected: usize = r
        .modes
        .values()
        .map(|m| m.metrics.len() + m.operations.values().map(|o| o.len()).sum::<usize>())
        .sum();
    assert_eq!(rows.len(), expected);
    let mut ops = 0;
    for row in &rows {
        let (mode, op, metric) = (&row[0], &row[1], &row[2]);
        let m = r
            .modes
            .iter()
            .find(|(k, _)| k.to_string() == *mode)
            .unwrap_or_else(|| panic!("mode {mode} not in the result"))
            .1;
        let metrics = if op.is_empty() {
            &m.metrics
        } else {
            ops += 1;
            &m.operations[op]
        };
        let x = metrics
            .iter()
            .find(|(k, _)| k.as_str() == metric)
            .unwrap_or_else(|| panic!("{mode} {op:?} {metric} not in the result"))
            .1;
        assert_eq!(row[3], x.unit, "{row:?}");
        assert_eq!(row[4], x.count.to_string(), "{row:?}");
        if x.count > 0 {
            assert_eq!(row[9], x.p99.to_string(), "{row:?}");
        }
    }
    assert!(ops > 0, "smoke's operations are in summary.csv");

    // timeline.csv: a row per second and mode of the result's timeline.
    let (header, rows) = read_csv(&dir.join("csv/timeline.csv"));
    assert_eq!(header.len(), 14);
    assert_eq!(header[..2], ["t_s", "mode"]);
    let expected: Vec<(String, String)> = r
        .timeline
        .iter()
        .flat_map(|i| i.modes.keys().map(|m| (i.t_s.to_string(), m.to_string())))
        .collect();
    assert!(!expected.is_empty());
    let got: Vec<(String, String)> = rows.iter().map(|x| (x[0].clone(), x[1].clone())).collect();
    assert_eq!(got, expected);
    let transfers: u64 = rows.iter().map(|x| x[4].parse::<u64>().unwrap()).sum();
    let in_timeline: u64 = r
        .timeline
        .iter()
        .flat_map(|i| i.modes.values())
        .map(|m| m.transfers)
        .sum();
    assert_eq!(transfers, in_timeline);

    // counters.csv: a row per mode.
    let (header, rows) = read_csv(&dir.join("csv/counters.csv"));
    assert_eq!(header[..2], ["mode", "sessions"]);
    assert_eq!(rows.len(), r.modes.len());
    for (row, (mode, m)) in rows.iter().zip(&r.modes) {
        assert_eq!(row[0], mode.to_string());
        assert_eq!(row[1], m.counters.sessions.to_string());
    }

    // The same files from the result, by `report`.
    let (code, stdout, stderr) = ftpload(&dir, &["report", "r.json", "--csv", "again"]);
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("summary.csv"), "{stdout}");
    for f in ["summary.csv", "timeline.csv", "counters.csv"] {
        assert_eq!(
            std::fs::read(dir.join("csv").join(f)).unwrap(),
            std::fs::read(dir.join("again").join(f)).unwrap(),
            "{f}"
        );
    }

    // Several results are refused (2); a folder that is a file is found
    // before anything is read (2), named, its cause said once.
    let (code, _, stderr) = ftpload(&dir, &["report", "r.json", "r.json", "--csv", "x"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--csv takes one result"), "{stderr}");
    std::fs::write(dir.join("blocked"), "").unwrap();
    let (code, _, stderr) = ftpload(&dir, &["report", "r.json", "--csv", "blocked"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "--csv blocked is not writable: blocked is a file, not a folder; nothing ran"
        ),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
