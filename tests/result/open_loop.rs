//! An open-loop result against docs/result-schema.md: `scenario.open_loop`
//! as the plan was validated, from flags or from the file, and a run's
//! schedule lag and corrected times, which merge like every other histogram.
//! What the correction reveals about a stalling server is the top-level
//! `open_loop` module's test.

use std::collections::BTreeSet;
use std::path::Path;

use ftpload::metrics::Metric;
use ftpload::proto::Mode;
use ftpload::result::decode_hdr;
use ftpload::scenario::{Overrides, Plan};
use serde_json::Value;

use crate::util::harness;
use crate::util::schema::checks::{check_channels, check_mode_metrics, check_timeline};
use crate::util::schema::{
    all_keys, assert_documented, doc, keys, set, str_at, top_fields, u64_at, COUNTER_FIELDS,
    MODES_USED, OPEN_LOOP_FIELDS, SCENARIO_FIELDS, STAGE_FIELDS,
};

/// Open loop, short: 30 arrivals a second rising to 60 over half a second,
/// then 60 for the other half (about 50 arrivals, at random from one seed),
/// each a fresh client in its turn of the three modes, at most 3 at once.
const OPEN_SCENARIO: &str = r#"
[files]
"1k.bin" = "1KiB"

[run]
duration = "1s"
rate = "30/s"
arrival = "poisson"
seed = 7
max_wait = "2s"

[[run.stages]]
duration = "500ms"
rate = "60/s"

[[group]]
users = 3
modes = { passive = 1, epsv = 1, active = 1 }
ops = ["retr 1k.bin", "stor 2KiB", "list"]
"#;

/// `scenario.open_loop` of an open-loop plan: its fields and types.
fn check_open_loop(at: &str, ol: &Value) {
    assert_eq!(keys(ol), set(&OPEN_LOOP_FIELDS), "{at}: open_loop fields");
    assert!(ol["rate"].is_f64(), "{at}: rate is a float: {}", ol["rate"]);
    let stages = ol["stages"]
        .as_array()
        .unwrap_or_else(|| panic!("{at}: stages is an array: {}", ol["stages"]));
    for st in stages {
        assert_eq!(keys(st), set(&STAGE_FIELDS), "{at}: stage fields");
        assert!(
            humantime::parse_duration(str_at(st, "duration")).is_ok(),
            "{at}: stage duration is humantime: {st}"
        );
        assert!(st["rate"].is_f64(), "{at}: stage rate is a float: {st}");
    }
    assert!(
        ["uniform", "poisson"].contains(&str_at(ol, "arrival")),
        "{at}: arrival {}",
        ol["arrival"]
    );
    assert!(
        humantime::parse_duration(str_at(ol, "max_wait")).is_ok(),
        "{at}: max_wait is humantime: {}",
        ol["max_wait"]
    );
}

/// Each arrival's corrected time is its lag plus its iteration, so the
/// corrected histogram is at least the plain one at every quantile.
fn assert_corrected_at_least_iteration(at: &str, metrics: &Value) {
    let (it, co) = (&metrics["iteration"], &metrics["iteration_corrected"]);
    assert_eq!(u64_at(co, "count"), u64_at(it, "count"), "{at}: counts");
    for f in ["min", "p50", "p90", "p99", "p999", "max"] {
        assert!(
            u64_at(co, f) >= u64_at(it, f),
            "{at}: iteration_corrected {f} {co} below iteration's {it}"
        );
    }
    assert!(co["mean"].as_f64() >= it["mean"].as_f64(), "{at}: mean");
    let (hi, hc) = (
        decode_hdr(str_at(it, "hdr")).unwrap(),
        decode_hdr(str_at(co, "hdr")).unwrap(),
    );
    if !hi.is_empty() {
        for q in (0..=1000).map(|k| f64::from(k) / 1000.0) {
            assert!(
                hc.value_at_quantile(q) >= hi.value_at_quantile(q),
                "{at}: at quantile {q}"
            );
        }
    }
}

/// An open-loop run: `scenario.open_loop` with its fields, every metric with
/// samples (the schedule's lag too), the corrected times at least the plain
/// ones, the open-loop counters, and every key written documented.
#[test]
fn open_loop_run_has_its_plan_lag_and_corrected_times() {
    let ran = harness::run_scenario(OPEN_SCENARIO, &Overrides::default(), "schema-open");
    let j = &ran.json;
    assert_eq!(keys(j), top_fields(j), "top-level fields");

    let s = &j["scenario"];
    assert_eq!(keys(s), set(&SCENARIO_FIELDS), "scenario fields");
    let ol = &s["open_loop"];
    check_open_loop("scenario.open_loop", ol);
    assert_eq!(
        *ol,
        serde_json::json!({
            "rate": 30.0,
            "stages": [{ "duration": "500ms", "rate": 60.0 }],
            "arrival": "poisson",
            "max_wait": "2s",
        })
    );
    assert_eq!(s["seed"], 7);
    assert_eq!(s["stop"], serde_json::json!({ "duration": "1s" }));

    // The schedule depends on the plan and the seed alone: no more arrivals
    // than it holds (the last ones may meet the stop).
    let plan = Plan::parse(OPEN_SCENARIO, Path::new("open.toml"), &Overrides::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let scheduled = ftpload::schedule::Schedule::new(
        plan.open_loop.as_ref().expect("open loop"),
        plan.seed,
        std::time::Duration::from_secs(1),
    )
    .count() as u64;

    let modes = &j["modes"];
    assert_eq!(keys(modes), set(&MODES_USED), "modes present");
    let mut arrivals = 0;
    for mode in MODES_USED {
        let m = &modes[mode];
        let metrics = check_mode_metrics(mode, m);
        for metric in Metric::ALL {
            let at = format!("{mode}.{}", metric.as_str());
            let n = u64_at(&metrics[metric.as_str()], "count");
            // A plain-FTP run has no handshakes; every other metric has values.
            if matches!(metric, Metric::TlsHandshake | Metric::DataTlsHandshake) {
                assert_eq!(n, 0, "{at}: handshakes in a plain run");
            } else {
                assert!(n > 0, "{at}: no samples");
            }
        }
        let c = &m["counters"];
        assert_eq!(keys(c), set(&COUNTER_FIELDS), "{mode}: counters");
        for f in COUNTER_FIELDS {
            u64_at(c, f);
        }
        // Every arrival that got a client has its lag and both times.
        let ran_iterations = u64_at(c, "iterations") + u64_at(c, "iterations_failed");
        for metric in ["schedule_lag", "iteration", "iteration_corrected"] {
            assert_eq!(
                u64_at(&metrics[metric], "count"),
                ran_iterations,
                "{mode}.{metric}: {c}"
            );
        }
        assert_corrected_at_least_iteration(mode, metrics);
        // Each arrival is a fresh client: one session per iteration.
        assert_eq!(u64_at(c, "sessions"), u64_at(c, "iterations"), "{mode}");
        assert!(u64_at(c, "late") <= ran_iterations, "{mode}: {c}");
        arrivals += ran_iterations + u64_at(c, "dropped");

        let mode_enum: Mode = mode.parse().unwrap();
        check_channels(mode, mode_enum, &m["channels"], &s["declared_passive"], j);
    }
    assert!(
        arrivals > 0 && arrivals <= scheduled,
        "{arrivals} arrivals of {scheduled} scheduled"
    );
    // `users` caps the clients at once.
    check_timeline(j, 3);

    // The document names every key this run wrote, open_loop's included.
    let doc = doc();
    let mut all = BTreeSet::new();
    all_keys(j, "", &mut all);
    for f in OPEN_LOOP_FIELDS.iter().chain(&STAGE_FIELDS) {
        assert!(all.contains(*f), "{f} written");
    }
    for k in &all {
        assert_documented(&doc, k, "the field");
    }

    // Merged with itself, every count doubles, the lag's and the open-loop
    // counters' too, and the plan stays.
    let r = &ran.result;
    let mut twice = r.clone();
    twice.try_merge(r).unwrap();
    assert_eq!(twice.scenario["open_loop"], *ol);
    for (mode, m) in &r.modes {
        let t = &twice.modes[mode];
        for metric in Metric::ALL {
            let (h1, h2) = (
                decode_hdr(&m.metrics[&metric].hdr).unwrap(),
                decode_hdr(&t.metrics[&metric].hdr).unwrap(),
            );
            let mut sum = h1.clone();
            sum.add(&h1).unwrap();
            assert_eq!(h2, sum, "{mode}.{}", metric.as_str());
        }
        assert_eq!(
            (t.counters.late.get(), t.counters.dropped.get()),
            (
                m.counters.late.get().map(|n| 2 * n),
                m.counters.dropped.get().map(|n| 2 * n)
            ),
            "{mode}"
        );
        let tm = serde_json::to_value(&t.metrics).unwrap();
        assert_corrected_at_least_iteration(mode.as_str(), &tm);
    }
}

/// `scenario.open_loop` is the plan as validated: null in closed loop; from
/// `--rate` and `--seed` with the documented defaults; from the file with its
/// rates per second and its stages, which give the duration.
#[test]
fn open_loop_plan_is_written_as_documented() {
    let closed = "[run]\niterations = 1\n[[group]]\nusers = 1\nops = [\"noop\"]\n";
    let parse = |toml: &str, o: &Overrides| {
        let plan =
            Plan::parse(toml, Path::new("open.toml"), o).unwrap_or_else(|e| panic!("{e}: {toml}"));
        let v = serde_json::to_value(&plan).unwrap();
        assert_eq!(keys(&v), set(&SCENARIO_FIELDS), "{toml}");
        if !v["open_loop"].is_null() {
            check_open_loop(toml, &v["open_loop"]);
        }
        v
    };
    assert!(parse(closed, &Overrides::default())["open_loop"].is_null());

    let flags = Overrides {
        rate: Some(60.0),
        seed: Some(3),
        ..Overrides::default()
    };
    assert_eq!(
        parse(closed, &flags)["open_loop"],
        serde_json::json!({
            "rate": 60.0,
            "stages": [],
            "arrival": "uniform",
            "max_wait": "10s",
        })
    );
    assert_eq!(parse(closed, &flags)["seed"], 3);

    let file = r#"
[run]
rate = "300/m"
arrival = "poisson"
max_wait = "250ms"
[[run.stages]]
duration = "1m"
rate = "7200/h"
[[run.stages]]
duration = "30s"
rate = 0
[[group]]
users = 2
ops = ["noop"]
"#;
    let v = parse(file, &Overrides::default());
    assert_eq!(
        v["open_loop"],
        serde_json::json!({
            "rate": 5.0,
            "stages": [
                { "duration": "1m", "rate": 2.0 },
                { "duration": "30s", "rate": 0.0 },
            ],
            "arrival": "poisson",
            "max_wait": "250ms",
        })
    );
    assert_eq!(v["seed"], 0);
    assert_eq!(v["stop"], serde_json::json!({ "duration": "1m 30s" }));
    // Stages alone: the starting rate is 0.0, still a float.
    let stages_only = file.replace("rate = \"300/m\"\n", "");
    let v = parse(&stages_only, &Overrides::default());
    assert_eq!(v["open_loop"]["rate"], serde_json::json!(0.0));
}
