//! The JSON result against its documentation (docs/result-schema.md): every
//! field is present with its documented type, the document names every field
//! the code writes (so it cannot silently fall behind), results merge exactly,
//! an unknown schema version is refused, and no password is ever written.

mod harness;

use std::collections::BTreeSet;
use std::path::Path;

use ftpload::metrics::{ErrorClass, Metric, Step};
use ftpload::proto::{Mode, Verb};
use ftpload::result::{decode_hdr, ErrorEntry, ModeResult, RunResult, SCHEMA_VERSION};
use ftpload::scenario::{Overrides, Plan};
use hdrhistogram::Histogram;
use serde_json::Value;

/// Short, but in all three modes the embedded target serves, with a download,
/// an upload and a listing, so every metric has samples.
const SCENARIO: &str = r#"
[files]
"1k.bin" = "1KiB"

[run]
iterations = 18
# Every client at once: a default ramp-up could leave the last one (the
# active mode's) nothing of the 18 iterations to take.
ramp_up = "0s"

[[group]]
users = 3
modes = { passive = 1, epsv = 1, active = 1 }
ops = ["retr 1k.bin", "stor 2KiB", "list"]
"#;

const MODES_USED: [&str; 3] = ["passive", "epsv", "active"];

const METRIC_FIELDS: [&str; 10] = [
    "unit", "count", "min", "mean", "p50", "p90", "p99", "p999", "max", "hdr",
];

const COUNTER_FIELDS: [&str; 12] = [
    "sessions",
    "sessions_failed",
    "iterations",
    "iterations_failed",
    "transfers",
    "transfers_failed",
    "commands",
    "bytes_down",
    "bytes_up",
    "pasv_address_mismatch",
    "active_from_port_20",
    "active_from_other_port",
];

const TOP_FIELDS: [&str; 10] = [
    "schema_version",
    "tool",
    "scenario_name",
    "started_at",
    "ended_at",
    "duration_s",
    "interrupted",
    "target",
    "scenario",
    "modes",
];

/// Present when the target ran on this host (the embedded one always does)
/// and /proc/net is readable.
const KERNEL_FIELDS: [&str; 8] = [
    "listen_overflows",
    "listen_drops",
    "syncookies_sent",
    "retrans_segs",
    "attempt_fails",
    "estab_resets",
    "out_rsts",
    "time_wait_end",
];

fn run(tag: &str) -> harness::Ran {
    harness::run_scenario(SCENARIO, &Overrides::default(), tag)
}

fn doc() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/result-schema.md");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The document names a field as code: `name`.
fn assert_documented(doc: &str, name: &str, what: &str) {
    assert!(
        doc.contains(&format!("`{name}`")),
        "docs/result-schema.md does not mention {what} `{name}`"
    );
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

fn u64_at(v: &Value, path: &str) -> u64 {
    v[path]
        .as_u64()
        .unwrap_or_else(|| panic!("{path}: not an unsigned integer: {}", v[path]))
}

fn str_at<'a>(v: &'a Value, path: &str) -> &'a str {
    v[path]
        .as_str()
        .unwrap_or_else(|| panic!("{path}: not a string: {}", v[path]))
}

/// Every object key anywhere in `v`, except under `scenario.files`, whose keys
/// are the user's file names.
fn all_keys(v: &Value, path: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{path}.{k}");
                if path != ".scenario.files" {
                    out.insert(k.clone());
                }
                all_keys(x, &p, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| all_keys(x, path, out)),
        _ => {}
    }
}

#[test]
fn every_documented_field_is_present_with_its_type() {
    let ran = run("schema-fields");
    let j = &ran.json;

    // Top level.
    let mut top = set(&TOP_FIELDS);
    if j.get("kernel").is_some() {
        top.insert("kernel");
        assert_eq!(keys(&j["kernel"]), set(&KERNEL_FIELDS), "kernel fields");
        for f in KERNEL_FIELDS {
            u64_at(&j["kernel"], f);
        }
    } else {
        // Only where this host's kernel counters cannot be read.
        assert!(std::fs::read_to_string("/proc/net/netstat").is_err());
    }
    assert_eq!(keys(j), top, "top-level fields");
    assert_eq!(u64_at(j, "schema_version"), u64::from(SCHEMA_VERSION));
    assert_eq!(keys(&j["tool"]), set(&["name", "version"]));
    assert_eq!(str_at(&j["tool"], "name"), "ftpload");
    assert_eq!(str_at(&j["tool"], "version"), env!("CARGO_PKG_VERSION"));
    assert_eq!(str_at(j, "scenario_name"), "schema-fields");
    for t in ["started_at", "ended_at"] {
        let s = str_at(j, t);
        assert!(
            s.len() >= 20 && s.as_bytes()[10] == b'T' && s.ends_with('Z'),
            "{t} {s:?} is not RFC 3339 UTC"
        );
    }
    assert!(str_at(j, "started_at") <= str_at(j, "ended_at"));
    let d = j["duration_s"].as_f64().expect("duration_s is a number");
    assert!(j["duration_s"].is_f64() && d > 0.0 && d < 60.0, "{d}");
    assert_eq!(j["interrupted"], Value::Bool(false));

    // Target: no password, ever.
    let t = &j["target"];
    assert_eq!(keys(t), set(&["kind", "host", "port", "user", "banner"]));
    assert!(t["banner"].is_string());
    assert_eq!(str_at(t, "kind"), "embedded");
    assert_eq!(str_at(t, "host"), "127.0.0.1");
    assert!((1..=65535).contains(&u64_at(t, "port")));
    assert_eq!(str_at(t, "user"), "ftpload");

    // Scenario: the validated plan as run.
    let s = &j["scenario"];
    assert_eq!(
        keys(s),
        set(&[
            "name", "source", "target", "files", "stop", "ramp_up", "workers", "timeouts", "data",
            "groups"
        ]),
        "scenario fields"
    );
    assert_eq!(str_at(s, "name"), "schema-fields");
    assert!(s["source"].is_string());
    assert_eq!(str_at(&s["target"], "kind"), "embedded");
    assert!(s["target"].get("password").is_none());
    assert_eq!(s["files"]["1k.bin"], 1024);
    assert_eq!(s["stop"], serde_json::json!({ "iterations": 18 }));
    assert_eq!(str_at(s, "ramp_up"), "0s");
    assert!(u64_at(s, "workers") >= 1);
    assert_eq!(
        keys(&s["timeouts"]),
        set(&[
            "connect",
            "banner",
            "reply",
            "data_connect",
            "accept",
            "transfer_idle"
        ])
    );
    for (k, v) in s["timeouts"].as_object().unwrap() {
        assert!(v.is_string(), "timeouts.{k} is a humantime string: {v}");
    }
    assert_eq!(
        keys(&s["data"]),
        set(&["follow_pasv_address", "active_ports"])
    );
    assert!(s["data"]["follow_pasv_address"].is_boolean());
    let g = &s["groups"][0];
    assert_eq!(
        keys(g),
        set(&["name", "users", "modes", "session", "ops"]),
        "group fields"
    );
    assert_eq!(g["users"], 3);
    assert_eq!(
        g["modes"],
        serde_json::json!([["passive", 1], ["epsv", 1], ["active", 1]])
    );
    assert_eq!(g["session"], "per_iteration");
    assert_eq!(
        g["ops"],
        serde_json::json!(["retr 1k.bin", "stor 2048", "list"])
    );

    // Modes: only those used, each with every metric, counter and the errors.
    let modes = &j["modes"];
    assert_eq!(keys(modes), set(&MODES_USED), "modes present");
    let mut iterations = 0;
    for mode in MODES_USED {
        let m = &modes[mode];
        assert_eq!(keys(m), set(&["metrics", "counters", "errors"]), "{mode}");
        let metrics = &m["metrics"];
        let names: Vec<&str> = Metric::ALL.iter().map(|x| x.as_str()).collect();
        assert_eq!(keys(metrics), set(&names), "{mode}: metrics");
        for metric in Metric::ALL {
            let x = &metrics[metric.as_str()];
            let at = format!("{mode}.{}", metric.as_str());
            assert_eq!(keys(x), set(&METRIC_FIELDS), "{at}: fields");
            let unit = if metric == Metric::Throughput {
                "B/s"
            } else {
                "us"
            };
            assert_eq!(str_at(x, "unit"), unit, "{at}");
            assert!(x["mean"].is_f64(), "{at}: mean is a float: {}", x["mean"]);
            let [count, min, p50, p90, p99, p999, max] =
                ["count", "min", "p50", "p90", "p99", "p999", "max"].map(|f| u64_at(x, f));
            assert!(count > 0, "{at}: no samples");
            assert!(
                min <= p50 && p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max,
                "{at}: {min} {p50} {p90} {p99} {p999} {max}"
            );
            let mean = x["mean"].as_f64().unwrap();
            assert!(
                min as f64 <= mean && mean <= max as f64,
                "{at}: mean {mean}"
            );
            let hdr = str_at(x, "hdr");
            assert!(hdr.starts_with("HISTFAAA"), "{at}: hdr {hdr:.20}");
            let h = decode_hdr(hdr).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(h.len(), count, "{at}: hdr count");
            assert_eq!(h.max(), max, "{at}: hdr max");
            assert_eq!(h.min(), min, "{at}: hdr min");
            assert_eq!(h.value_at_quantile(0.5), p50, "{at}: hdr p50");
            assert_eq!(h.value_at_quantile(0.99), p99, "{at}: hdr p99");
            assert_eq!(h.mean(), mean, "{at}: hdr mean");
            assert_eq!(h.sigfig(), 3, "{at}");
            assert_eq!(h.low(), 1, "{at}");
            let high = if metric == Metric::Throughput {
                1_000_000_000_000
            } else {
                3_600_000_000
            };
            assert!(h.high() >= high, "{at}: high {}", h.high());
        }
        let c = &m["counters"];
        assert_eq!(keys(c), set(&COUNTER_FIELDS), "{mode}: counters");
        for f in COUNTER_FIELDS {
            u64_at(c, f);
        }
        assert!(m["errors"].is_array(), "{mode}: errors");
        assert_eq!(m["errors"].as_array().unwrap().len(), 0, "{}", m["errors"]);
        iterations += u64_at(c, "iterations");
        // Per-iteration sessions: one login per iteration; 3 transfers each.
        assert_eq!(u64_at(c, "sessions"), u64_at(c, "iterations"), "{mode}");
        assert_eq!(
            u64_at(c, "transfers"),
            3 * u64_at(c, "iterations"),
            "{mode}"
        );
        assert_eq!(u64_at(c, "bytes_up"), 2048 * u64_at(c, "iterations"));
        assert_eq!(
            u64_at(&metrics["transfer"], "count"),
            u64_at(c, "transfers")
        );
    }
    assert_eq!(iterations, 18);

    // The document keeps up with the code: every key the code writes, every
    // metric, counter and mode is named in it, with the current version.
    let doc = doc();
    let mut all = BTreeSet::new();
    all_keys(j, "", &mut all);
    for k in &all {
        assert_documented(&doc, k, "the field");
    }
    for metric in Metric::ALL {
        assert_documented(&doc, metric.as_str(), "the metric");
    }
    for f in COUNTER_FIELDS {
        assert_documented(&doc, f, "the counter");
    }
    for f in KERNEL_FIELDS {
        assert_documented(&doc, f, "the kernel counter");
    }
    for m in Mode::ALL {
        assert_documented(&doc, m.as_str(), "the mode");
    }
    assert!(
        doc.contains(&format!(
            "The current `schema_version` is **{SCHEMA_VERSION}**"
        )),
        "docs/result-schema.md must state the current schema_version {SCHEMA_VERSION}"
    );
    assert!(
        doc.contains(&format!("\"schema_version\": {SCHEMA_VERSION},")),
        "the example in docs/result-schema.md must carry schema_version {SCHEMA_VERSION}"
    );
}

/// One error class of each kind. The `match` below has no wildcard, so a new
/// class fails to compile here until it is added (and documented).
fn one_of_each_class() -> Vec<ErrorClass> {
    let step = Step::DataAccept;
    let all = vec![
        ErrorClass::Reply {
            code: 425,
            command: Some(Verb::Retr),
        },
        ErrorClass::Reply {
            code: 421,
            command: None,
        },
        ErrorClass::NoBanner,
        ErrorClass::Refused { step },
        ErrorClass::Timeout { step },
        ErrorClass::AddrNotAvailable { step },
        ErrorClass::AddrInUse { step },
        ErrorClass::FileLimit { step },
        ErrorClass::Reset { step },
        ErrorClass::Closed { step },
        ErrorClass::Protocol { step },
        ErrorClass::Os { step, errno: 113 },
    ];
    for c in &all {
        match c {
            ErrorClass::Reply { .. }
            | ErrorClass::NoBanner
            | ErrorClass::Refused { .. }
            | ErrorClass::Timeout { .. }
            | ErrorClass::AddrNotAvailable { .. }
            | ErrorClass::AddrInUse { .. }
            | ErrorClass::FileLimit { .. }
            | ErrorClass::Reset { .. }
            | ErrorClass::Closed { .. }
            | ErrorClass::Protocol { .. }
            | ErrorClass::Os { .. } => {}
        }
    }
    all
}

/// Every step, with the same exhaustiveness guard.
fn every_step() -> Vec<Step> {
    let all = vec![
        Step::Connect,
        Step::Banner,
        Step::Login,
        Step::Command,
        Step::DataSetup,
        Step::DataConnect,
        Step::DataAccept,
        Step::Transfer,
        Step::Quit,
    ];
    for s in &all {
        match s {
            Step::Connect
            | Step::Banner
            | Step::Login
            | Step::Command
            | Step::DataSetup
            | Step::DataConnect
            | Step::DataAccept
            | Step::Transfer
            | Step::Quit => {}
        }
    }
    all
}

#[test]
fn every_error_class_and_step_is_documented_and_round_trips() {
    let doc = doc();
    for class in one_of_each_class() {
        let e = ErrorEntry {
            class,
            count: 7,
            sample: Some("the server's words".into()),
        };
        let v = serde_json::to_value(&e).unwrap();
        let name = str_at(&v, "class");
        assert_documented(&doc, name, "the error class");
        for k in keys(&v) {
            assert_documented(&doc, k, "the error field");
        }
        let expected: BTreeSet<&str> = match class {
            ErrorClass::Reply { .. } => set(&["class", "code", "command", "count", "sample"]),
            ErrorClass::NoBanner => set(&["class", "count", "sample"]),
            ErrorClass::Os { .. } => set(&["class", "step", "errno", "count", "sample"]),
            _ => set(&["class", "step", "count", "sample"]),
        };
        assert_eq!(keys(&v), expected, "{v}");
        let back: ErrorEntry = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, e, "{v} round trips");
        // Without a sample the key is absent, and still reads back.
        let bare = ErrorEntry {
            sample: None,
            ..e.clone()
        };
        let v = serde_json::to_value(&bare).unwrap();
        assert!(v.get("sample").is_none(), "{v}");
        assert_eq!(serde_json::from_value::<ErrorEntry>(v).unwrap(), bare);
    }
    let v = serde_json::to_value(ErrorClass::Reply {
        code: 421,
        command: None,
    })
    .unwrap();
    assert_eq!(v["command"], Value::Null, "no command is null: {v}");
    let v = serde_json::to_value(ErrorClass::Reply {
        code: 425,
        command: Some(Verb::Retr),
    })
    .unwrap();
    assert_eq!(v["command"], "RETR", "{v}");
    for step in every_step() {
        let v = serde_json::to_value(ErrorClass::Timeout { step }).unwrap();
        assert_eq!(str_at(&v, "step"), step.as_str());
        assert_documented(&doc, step.as_str(), "the step");
    }
}

/// Counters as name → value, zero for a mode the result does not have.
fn counters(r: &RunResult, m: Mode) -> serde_json::Map<String, Value> {
    let c = r.modes.get(&m).map(|x| x.counters).unwrap_or_default();
    match serde_json::to_value(c).unwrap() {
        Value::Object(o) => o,
        v => panic!("{v}"),
    }
}

fn hist(r: &RunResult, mode: Mode, m: Metric) -> Histogram<u64> {
    let mut h = m.new_histogram();
    if let Some(x) = r.modes.get(&mode) {
        h.add(decode_hdr(&x.metrics[&m].hdr).unwrap()).unwrap();
    }
    h
}

fn error(r: &RunResult, mode: Mode, class: ErrorClass) -> Option<&ErrorEntry> {
    r.modes[&mode].errors.iter().find(|e| e.class == class)
}

#[test]
fn merging_two_runs_adds_exactly() {
    let mut a = run("merge-a").result;
    let mut b = run("merge-b").result;
    // Errors merge by class: one class in both, one only in b.
    let retr425 = ErrorClass::Reply {
        code: 425,
        command: Some(Verb::Retr),
    };
    let accept = ErrorClass::Timeout {
        step: Step::DataAccept,
    };
    let entry = |class, count, sample: Option<&str>| ErrorEntry {
        class,
        count,
        sample: sample.map(String::from),
    };
    let pa = a.modes.get_mut(&Mode::Passive).unwrap();
    pa.errors.push(entry(retr425, 2, Some("425 from a")));
    let pb = b.modes.get_mut(&Mode::Passive).unwrap();
    pb.errors.push(entry(retr425, 3, Some("425 from b")));
    pb.errors.push(entry(accept, 1, None));

    let mut merged = a.clone();
    merged.try_merge(&b).unwrap();

    let mut modes: BTreeSet<Mode> = a.modes.keys().copied().collect();
    modes.extend(b.modes.keys().copied());
    assert_eq!(merged.modes.keys().copied().collect::<BTreeSet<_>>(), modes);
    for &mode in &modes {
        let (ca, cb, cm) = (
            counters(&a, mode),
            counters(&b, mode),
            counters(&merged, mode),
        );
        assert_eq!(cm.len(), COUNTER_FIELDS.len());
        for (k, v) in &cm {
            let sum = ca[k].as_u64().unwrap() + cb[k].as_u64().unwrap();
            assert_eq!(v.as_u64().unwrap(), sum, "{mode} counter {k}");
        }
        for metric in Metric::ALL {
            let at = format!("{mode}.{}", metric.as_str());
            let (ha, hb) = (hist(&a, mode, metric), hist(&b, mode, metric));
            let mut all = ha.clone();
            all.add(&hb).unwrap();
            let r = &merged.modes[&mode].metrics[&metric];
            assert_eq!(r.count, ha.len() + hb.len(), "{at}: count");
            let nonempty_min = [&ha, &hb]
                .iter()
                .filter(|h| !h.is_empty())
                .map(|h| h.min())
                .min()
                .unwrap();
            assert_eq!(r.min, nonempty_min, "{at}: min");
            assert_eq!(r.max, ha.max().max(hb.max()), "{at}: max");
            // Percentiles of the merged histogram, never averages of percentiles.
            assert_eq!(r.p50, all.value_at_quantile(0.5), "{at}: p50");
            assert_eq!(r.p90, all.value_at_quantile(0.9), "{at}: p90");
            assert_eq!(r.p99, all.value_at_quantile(0.99), "{at}: p99");
            assert_eq!(r.p999, all.value_at_quantile(0.999), "{at}: p999");
            assert_eq!(r.mean, all.mean(), "{at}: mean");
            let back = decode_hdr(&r.hdr).unwrap();
            assert_eq!(back, all, "{at}: merged hdr holds every value of both");
        }
    }
    // Errors add by class; the first sample is kept.
    let e = error(&merged, Mode::Passive, retr425).expect("425 merged");
    assert_eq!(e.count, 5);
    assert_eq!(e.sample.as_deref(), Some("425 from a"));
    let e = error(&merged, Mode::Passive, accept).expect("timeout merged");
    assert_eq!((e.count, e.sample.as_deref()), (1, None));
    assert_eq!(merged.modes[&Mode::Passive].errors.len(), 2);
    assert_eq!(merged.error_count(), 6);
    // Kernel counters, when both runs have them, add too.
    if let (Some(ka), Some(kb)) = (&a.kernel, &b.kernel) {
        let v = |k| match serde_json::to_value(k).unwrap() {
            Value::Object(o) => o,
            v => panic!("{v}"),
        };
        let (va, vb) = (v(ka), v(kb));
        for (f, x) in v(merged.kernel.as_ref().expect("merged kernel")) {
            let sum = va[&f].as_u64().unwrap() + vb[&f].as_u64().unwrap();
            assert_eq!(x.as_u64().unwrap(), sum, "kernel {f}");
        }
    }
    // The times widen to cover both runs.
    assert_eq!(
        merged.started_at,
        a.started_at.clone().min(b.started_at.clone())
    );
    assert_eq!(merged.ended_at, a.ended_at.clone().max(b.ended_at.clone()));
    assert_eq!(merged.duration_s, a.duration_s.max(b.duration_s));
    assert!(!merged.interrupted);

    // A merged result is a result like any other: it writes, reads back and
    // merges again. Merging a result with itself doubles every count.
    let dir = harness::temp_dir("merge-write");
    let path = dir.join("merged.json");
    merged.write_atomic(&path).unwrap();
    let reread = RunResult::read(&path).unwrap();
    assert_eq!(reread, merged);
    let mut twice = reread.clone();
    twice.try_merge(&reread).unwrap();
    for &mode in &modes {
        for (k, v) in counters(&twice, mode) {
            assert_eq!(
                v.as_u64().unwrap(),
                2 * counters(&merged, mode)[&k].as_u64().unwrap(),
                "{mode} {k}"
            );
        }
        for metric in Metric::ALL {
            let (m2, m1) = (
                &twice.modes[&mode].metrics[&metric],
                &merged.modes[&mode].metrics[&metric],
            );
            assert_eq!(m2.count, 2 * m1.count);
            assert_eq!((m2.min, m2.max), (m1.min, m1.max));
        }
    }
    assert_eq!(twice.error_count(), 12);
}

#[test]
fn merging_equals_recording_all_values_in_one_place() {
    // Known values split over two results, against all of them in one histogram.
    let template = {
        let mut r = run("merge-known").result;
        r.modes.clear();
        r
    };
    let mut sa = ftpload::metrics::ModeStats::default();
    let mut sb = ftpload::metrics::ModeStats::default();
    let mut whole = Metric::Transfer.new_histogram();
    for i in 1..=5000u64 {
        let v = i * i % 100_003 + 1;
        let s = if i % 7 < 3 { &mut sa } else { &mut sb };
        s.record_value(Metric::Transfer, v);
        s.record_value(Metric::Throughput, v * 1_000);
        whole.record(v).unwrap();
    }
    let mut a = template.clone();
    a.modes.insert(Mode::Epsv, ModeResult::from_stats(&sa));
    let mut b = template.clone();
    b.modes.insert(Mode::Epsv, ModeResult::from_stats(&sb));
    a.try_merge(&b).unwrap();
    let r = &a.modes[&Mode::Epsv].metrics[&Metric::Transfer];
    assert_eq!(r.count, 5000);
    assert_eq!(decode_hdr(&r.hdr).unwrap(), whole);
    for (q, got) in [(0.5, r.p50), (0.9, r.p90), (0.99, r.p99), (0.999, r.p999)] {
        assert_eq!(got, whole.value_at_quantile(q), "p{q}");
    }
    assert_eq!((r.min, r.max), (whole.min(), whole.max()));
    assert_eq!(
        a.modes[&Mode::Epsv].metrics[&Metric::Throughput].count,
        5000
    );
    assert_eq!(a.modes[&Mode::Epsv].metrics[&Metric::Banner].count, 0);
}

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
    std::fs::write(&path, r#"{"schema_version": 2, "runs": []}"#).unwrap();
    let err = RunResult::read(&path).expect_err("refused").to_string();
    assert!(err.contains("schema_version 2"), "{err}");
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

/// The two Rust decoding snippets of docs/result-schema.md, verbatim, so the
/// document's code keeps compiling and working.
#[test]
fn documented_rust_decoding_works() -> Result<(), Box<dyn std::error::Error>> {
    let ran = run("schema-snippets");
    let path = ran.path.as_path();
    let h1 = {
        use ftpload::{
            metrics::Metric,
            proto::Mode,
            result::{decode_hdr, RunResult},
        };

        let r = RunResult::read(path)?; // refuses other schema versions
        let m = &r.modes[&Mode::Passive].metrics[&Metric::Transfer];
        let h = decode_hdr(&m.hdr)?; // hdrhistogram::Histogram<u64>
        println!("{} {}", h.len(), h.value_at_quantile(0.99));
        h
    };
    let b64 = str_at(&ran.json["modes"]["passive"]["metrics"]["transfer"], "hdr");
    let h2 = {
        use base64::Engine;
        use hdrhistogram::serialization::Deserializer;

        let bytes = base64::engine::general_purpose::STANDARD.decode(b64)?;
        let h: hdrhistogram::Histogram<u64> =
            Deserializer::new().deserialize(&mut bytes.as_slice())?;
        h
    };
    assert_eq!(h1, h2);
    assert_eq!(
        h1.len(),
        ran.result.modes[&Mode::Passive].counters.transfers
    );
    Ok(())
}
