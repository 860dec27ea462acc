//! Every file committed under results/ still reads: run results through
//! the library's reader (their `schema_version` one it knows), capacity
//! files as capacity's type, CSV as CSV, and each folder's README naming
//! what is in it. A counter a result does not contain (of a mode, a group
//! or a second of the timeline) reads as unknown, never as 0: not in the
//! result read back, not in the summary, not in counters.csv, not in a merge (issue 13: an old result summarised as "0
//! of 8580 data channels opened").

use std::path::{Path, PathBuf};

use ftpload::metrics::Counters;
use ftpload::result::timeline::{Interval, ModeInterval};
use ftpload::result::{RunResult, OLDEST_READ, SCHEMA_VERSION};
use serde_json::Value;

use crate::util::common;

/// Far more than results/ holds; a walk that finds more is a loop.
const MAX_FILES: usize = 1000;

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        assert!(
            out.len() < MAX_FILES,
            "more than {MAX_FILES} files under results/"
        );
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The committed folders (results/ itself holds only their README; runs
/// written there are git-ignored and not looked at).
fn committed() -> Vec<PathBuf> {
    let root = common::repo_root().join("results");
    let mut files = vec![root.join("README.md")];
    for dir in ["baseline", "exhaustion", "examples", "ci"] {
        walk(&root.join(dir), &mut files);
    }
    files.sort();
    files
}

#[test]
fn every_committed_result_reads_and_no_absent_counter_reads_as_zero() {
    let files = committed();
    let mut runs = 0;
    let mut unknown_seen = 0;
    for path in &files {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!text.trim().is_empty(), "{name} is empty");
        // Each file is named by its folder's README (a step file by its pattern).
        let readme = path.parent().unwrap().join("README.md");
        let folder_readme = path.parent().unwrap().parent().unwrap().join("README.md");
        let file = path.file_name().unwrap().to_string_lossy();
        let named = |r: &Path| {
            std::fs::read_to_string(r).is_ok_and(|t| {
                t.contains(file.as_ref())
                    || (file.starts_with("step-") && t.contains("step-"))
                    || path
                        .parent()
                        .and_then(|d| d.file_name())
                        .is_some_and(|d| t.contains(d.to_string_lossy().as_ref()))
            })
        };
        if file != "README.md" {
            assert!(
                named(&readme) || named(&folder_readme),
                "{name}: no README beside it names it"
            );
        }
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => {
                let raw: Value =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                if raw.get("steps").is_some() {
                    let c: ftpload::capacity::Capacity = serde_json::from_value(raw.clone())
                        .unwrap_or_else(|e| panic!("{name}: not a capacity.json: {e}"));
                    // Version 2 only added optional fields: 1 reads as 2.
                    assert!(
                        (1..=ftpload::capacity::SCHEMA_VERSION).contains(&c.schema_version),
                        "{name}: schema_version {}",
                        c.schema_version
                    );
                    for s in &c.steps {
                        let step = path.parent().unwrap().join(&s.result_file);
                        assert!(
                            step.is_file(),
                            "{name} names {}, which is missing",
                            step.display()
                        );
                    }
                    continue;
                }
                let version = raw["schema_version"].as_u64().unwrap_or(0) as u32;
                assert!(
                    (OLDEST_READ..=SCHEMA_VERSION).contains(&version),
                    "{name}: schema_version {version}"
                );
                let r = RunResult::read(path).unwrap_or_else(|e| panic!("{e}"));
                unknown_seen += absent_counters_are_unknown(&name, &raw, &r);
                runs += 1;
            }
            Some("csv") => {
                let mut rd = csv::Reader::from_reader(text.as_bytes());
                let width = rd.headers().unwrap_or_else(|e| panic!("{name}: {e}")).len();
                assert!(width > 1, "{name}: {width} columns");
                for row in rd.records() {
                    let row = row.unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(row.len(), width, "{name}: {row:?}");
                }
            }
            // Text: a job's output (Slurm's `.log`) is text like the rest.
            Some("md") | Some("txt") | Some("log") => {}
            _ => panic!("{name}: a committed file of a kind this test does not know; teach it"),
        }
    }
    assert!(runs >= 10, "only {runs} results found under results/");
    // The committed version 1 results lack channels_opened: the case this
    // test is for must be among them, or it checks nothing.
    assert!(unknown_seen > 0, "no committed result lacks a counter");
}

/// Each counter of each mode (and group) absent from the file is unknown
/// when read: in the result, in the summary's data-channel line, in
/// counters.csv and in a merge. Returns how many it found.
fn absent_counters_are_unknown(name: &str, raw: &Value, r: &RunResult) -> usize {
    let all: Vec<String> = match serde_json::to_value(Counters::default()).unwrap() {
        Value::Object(o) => o.keys().cloned().collect(),
        v => panic!("counters serialize as {v}"),
    };
    let back = serde_json::to_value(r).unwrap();
    if raw.get("cut_off").is_none() {
        assert_eq!(back["cut_off"], Value::Null, "{name}: cut_off");
    }
    let summary = ftpload::summary::render(r);
    let mut csv = Vec::new();
    ftpload::report::csv::counters(r, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let mut found = 0;
    let mut groups: Vec<(String, &Value, &Value)> = Vec::new();
    for (mode, m) in raw["modes"].as_object().unwrap() {
        groups.push((
            mode.clone(),
            &m["counters"],
            &back["modes"][mode]["counters"],
        ));
    }
    for (gi, g) in raw["groups"].as_array().into_iter().flatten().enumerate() {
        for (mode, m) in g["modes"].as_object().unwrap() {
            let read = &back["groups"][gi]["modes"][mode]["counters"];
            groups.push((format!("group {gi} {mode}"), &m["counters"], read));
        }
    }
    // The timeline's counts too, second by second.
    let keys = |v: Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    let interval_keys = keys(serde_json::to_value(Interval::default()).unwrap());
    let mode_keys = keys(serde_json::to_value(ModeInterval::default()).unwrap());
    for (t, i) in raw["timeline"].as_array().into_iter().flatten().enumerate() {
        let read = &back["timeline"][t];
        for key in interval_keys.iter().filter(|k| i.get(k.as_str()).is_none()) {
            found += 1;
            assert_eq!(
                read[key],
                Value::Null,
                "{name} timeline[{t}]: {key} is absent but reads as {}",
                read[key]
            );
        }
        for (mode, m) in i["modes"].as_object().unwrap() {
            for key in mode_keys.iter().filter(|k| m.get(k.as_str()).is_none()) {
                found += 1;
                let v = &read["modes"][mode][key];
                assert_eq!(
                    *v,
                    Value::Null,
                    "{name} timeline[{t}] {mode}: {key} is absent but reads as {v}"
                );
            }
        }
    }
    for (what, file, read) in groups {
        for key in all.iter().filter(|k| file.get(k.as_str()).is_none()) {
            found += 1;
            assert_eq!(
                read[key],
                Value::Null,
                "{name} {what}: {key} is absent but reads as {}",
                read[key]
            );
        }
    }
    for (mode, m) in raw["modes"].as_object().unwrap() {
        let c = &m["counters"];
        let row = csv
            .lines()
            .find(|l| l.starts_with(&format!("{mode},")))
            .unwrap_or_else(|| panic!("{name}: no {mode} row in\n{csv}"));
        let cells: Vec<&str> = row.split(',').collect();
        for (key, cell) in header.iter().zip(&cells) {
            if *key != "mode" && c.get(*key).is_none() {
                assert_eq!(
                    *cell, "",
                    "{name} {mode}: counters.csv has {cell} for absent {key}"
                );
            }
        }
        let line = summary.lines().find(|l| {
            l.trim_start().starts_with(&format!("{mode}: ")) && l.contains("data channels")
        });
        if let (Some(line), None) = (line, c.get("channels_opened")) {
            assert!(
                line.contains("how many opened unknown") && !line.contains("data channels opened"),
                "{name}: {line}"
            );
        }
    }
    // A merge with it keeps what is unknown unknown (and writes null).
    let mut merged = r.clone();
    merged.try_merge(r).unwrap();
    let merged = serde_json::to_value(&merged).unwrap();
    for (mode, m) in raw["modes"].as_object().unwrap() {
        if m["counters"].get("channels_opened").is_none() {
            assert_eq!(
                merged["modes"][mode]["counters"]["channels_opened"],
                Value::Null,
                "{name}"
            );
        } else {
            let n = m["counters"]["channels_opened"].as_u64().unwrap();
            assert_eq!(
                merged["modes"][mode]["counters"]["channels_opened"],
                2 * n,
                "{name}"
            );
        }
    }
    found
}
