//! The JSON result against its documentation (docs/result-schema.md): every
//! field is present with its documented type, the document names every field
//! the code writes (so it cannot silently fall behind), an exhausted passive
//! range shows in `channels`, and the document's Rust snippets work. Open
//! loop, merging, error classes and what a result file refuses or never holds
//! have modules of their own beside this one.

use std::collections::BTreeSet;
use std::path::Path;

use ftpload::metrics::exhaustion;
use ftpload::metrics::Metric;
use ftpload::proto::{Mode, PortRange};
use ftpload::result::{ErrorEntry, SCHEMA_VERSION};
use ftpload::scenario::{Overrides, Plan};
use serde_json::Value;

use crate::util::harness;
use crate::util::schema::checks::{
    check_channels, check_exhaustion, check_mode_metrics, check_timeline,
};
use crate::util::schema::{
    all_keys, assert_documented, doc, exhaustion_scenario, keys, port_runs, port_set, run, set,
    str_at, top_fields, u64_at, CHANNEL_FIELDS, COUNTER_FIELDS, DEFAULT_PASSIVE, EXHAUSTION_FIELDS,
    EXHAUSTION_ITERATIONS, EXHAUSTION_USERS, GENERATOR_FIELDS, GENERATOR_MEMORY_FIELDS,
    INTERVAL_FIELDS, INTERVAL_METRIC_FIELDS, KERNEL_FIELDS, MODES_USED, MODE_FIELDS,
    MODE_INTERVAL_FIELDS, OPEN_LOOP_FIELDS, SCENARIO_FIELDS, STAGE_FIELDS,
};

#[test]
fn every_documented_field_is_present_with_its_type() {
    let ran = run("schema-fields");
    let j = &ran.json;

    // Top level.
    let g = &j["generator"];
    assert_eq!(keys(g), set(&GENERATOR_FIELDS), "generator fields");
    u64_at(g, "workers");
    assert!(g["cpu_s"].is_f64() && g["cpu_utilisation"].is_f64(), "{g}");
    assert!(
        g["schedule_lag_p99_us"].is_null() || g["schedule_lag_p99_us"].is_u64(),
        "{g}"
    );
    assert!(
        g["bottleneck"].is_boolean() && g["reasons"].is_array(),
        "{g}"
    );
    assert_eq!(
        g["bottleneck"].as_bool(),
        Some(!g["reasons"].as_array().unwrap().is_empty()),
        "{g}"
    );
    let m = &g["memory"];
    assert_eq!(keys(m), set(&GENERATOR_MEMORY_FIELDS), "generator.memory");
    for f in &GENERATOR_MEMORY_FIELDS[..6] {
        u64_at(m, f);
    }
    // The embedded target runs in this process: said, since its memory counts.
    assert_eq!(m["includes_target"], true, "{m}");
    assert!(u64_at(m, "peak_bytes") >= u64_at(m, "start_bytes"), "{m}");
    // Sessions are counted as they stand at each second's sample: a run of
    // short sessions may have none standing then.
    assert_eq!(
        m["per_session_bytes"].is_u64(),
        u64_at(m, "peak_sessions") > 0,
        "{m}"
    );
    if j.get("kernel").is_some() {
        assert_eq!(keys(&j["kernel"]), set(&KERNEL_FIELDS), "kernel fields");
        for f in KERNEL_FIELDS {
            u64_at(&j["kernel"], f);
        }
    } else {
        // Only where this host's kernel counters cannot be read.
        assert!(std::fs::read_to_string("/proc/net/netstat").is_err());
    }
    assert_eq!(keys(j), top_fields(j), "top-level fields");
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
    assert_eq!(
        keys(t),
        set(&["kind", "host", "port", "user", "banner", "family"])
    );
    assert_eq!(str_at(t, "family"), "ipv4");
    assert!(t["banner"].is_string());
    assert_eq!(str_at(t, "kind"), "embedded");
    assert_eq!(str_at(t, "host"), "127.0.0.1");
    assert!((1..=65535).contains(&u64_at(t, "port")));
    assert_eq!(str_at(t, "user"), "ftpload");

    // Scenario: the validated plan as run.
    let s = &j["scenario"];
    assert_eq!(keys(s), set(&SCENARIO_FIELDS), "scenario fields");
    assert_eq!(str_at(s, "name"), "schema-fields");
    assert!(s["source"].is_string());
    assert_eq!(str_at(&s["target"], "kind"), "embedded");
    assert!(s["target"].get("password").is_none());
    // The embedded target declares its own passive range.
    assert_eq!(str_at(s, "declared_passive"), DEFAULT_PASSIVE);
    assert_eq!(s["declared_passive"], s["target"]["passive_ports"]);
    assert_eq!(s["files"]["1k.bin"], 1024);
    assert_eq!(s["stop"], serde_json::json!({ "iterations": 18 }));
    assert_eq!(str_at(s, "ramp_up"), "0s");
    assert!(s["open_loop"].is_null(), "closed loop: {}", s["open_loop"]);
    assert!(u64_at(s, "workers") >= 1);
    assert_eq!(
        keys(&s["timeouts"]),
        set(&[
            "connect",
            "banner",
            "reply",
            "data_connect",
            "accept",
            "transfer_idle",
            "tls_handshake"
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
        set(&[
            "name",
            "users",
            "modes",
            "session",
            "bandwidth",
            "think",
            "ops",
            "mix"
        ]),
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
        serde_json::json!(["retr 1k.bin", "stor 2KiB", "list", "hold 100ms"])
    );

    // Modes: only those used, each with every metric, counter, the errors and
    // the channels.
    let modes = &j["modes"];
    assert_eq!(keys(modes), set(&MODES_USED), "modes present");
    let mut iterations = 0;
    for mode in MODES_USED {
        let m = &modes[mode];
        let metrics = check_mode_metrics(mode, m);
        for metric in Metric::ALL {
            let at = format!("{mode}.{}", metric.as_str());
            let x = &metrics[metric.as_str()];
            if metric == Metric::ScheduleLag {
                assert_eq!(u64_at(x, "count"), 0, "{at}: closed loop has no schedule");
            } else if matches!(metric, Metric::TlsHandshake | Metric::DataTlsHandshake) {
                // Plain FTP: tests/ftps.rs checks them with TLS.
                assert_eq!(u64_at(x, "count"), 0, "{at}: no TLS here");
            } else {
                assert!(u64_at(x, "count") > 0, "{at}: no samples");
            }
        }
        let c = &m["counters"];
        assert_eq!(keys(c), set(&COUNTER_FIELDS), "{mode}: counters");
        for f in COUNTER_FIELDS {
            u64_at(c, f);
        }
        // Closed loop: every iteration, worked or failed, has its time, and
        // starts when intended, so the corrected time is the same histogram.
        assert_eq!(
            u64_at(&metrics["iteration"], "count"),
            u64_at(c, "iterations") + u64_at(c, "iterations_failed"),
            "{mode}"
        );
        assert_eq!(
            metrics["iteration"], metrics["iteration_corrected"],
            "{mode}: closed loop"
        );
        assert_eq!([u64_at(c, "late"), u64_at(c, "dropped")], [0, 0], "{mode}");
        assert!(m["errors"].is_array(), "{mode}: errors");
        assert_eq!(m["errors"].as_array().unwrap().len(), 0, "{}", m["errors"]);
        iterations += u64_at(c, "iterations");
        // Per-iteration sessions: one login per iteration; 3 transfers and a
        // hold each, the hold being no transfer.
        assert_eq!(u64_at(c, "sessions"), u64_at(c, "iterations"), "{mode}");
        assert_eq!(
            u64_at(c, "transfers"),
            3 * u64_at(c, "iterations"),
            "{mode}"
        );
        assert_eq!(u64_at(c, "holds"), u64_at(c, "iterations"), "{mode}");
        assert_eq!(u64_at(c, "bytes_up"), 2048 * u64_at(c, "iterations"));
        assert_eq!(
            u64_at(&metrics["transfer"], "count"),
            u64_at(c, "transfers")
        );

        let mode_enum: Mode = mode.parse().unwrap();
        let ch = &m["channels"];
        check_channels(mode, mode_enum, ch, &s["declared_passive"], j);
        // Every client held a channel and moved data: the samples saw both.
        assert!(u64_at(&ch["pending"], "count") > 0, "{mode}: samples");
        assert!(u64_at(ch, "peak_pending") >= 1, "{mode}: {ch}");
        assert!(u64_at(ch, "peak_open") >= 1, "{mode}: {ch}");
        assert!(ch["exhaustion"].is_null(), "{mode}: {}", ch["exhaustion"]);
        assert_eq!(u64_at(ch, "outside_declared_range"), 0, "{mode}");
        if !mode_enum.is_active() {
            // The embedded target announces ports from its own range.
            assert!(u64_at(ch, "distinct_server_ports") > 0, "{mode}: {ch}");
            let r: PortRange = DEFAULT_PASSIVE.parse().unwrap();
            for p in port_set(&port_runs(mode, &ch["server_ports"])) {
                assert!(r.contains(p), "{mode}: port {p} outside {r}");
            }
        }
    }
    assert_eq!(iterations, 18);

    // The timeline: second by second, every mode of the plan.
    check_timeline(j, 3);

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
    for f in SCENARIO_FIELDS {
        assert_documented(&doc, f, "the scenario field");
    }
    for f in OPEN_LOOP_FIELDS.iter().chain(&STAGE_FIELDS) {
        assert_documented(&doc, f, "the open_loop field");
    }
    for f in CHANNEL_FIELDS {
        assert_documented(&doc, f, "the channels field");
    }
    for f in EXHAUSTION_FIELDS {
        assert_documented(&doc, f, "the exhaustion field");
    }
    for f in INTERVAL_FIELDS {
        assert_documented(&doc, f, "the timeline field");
    }
    for f in MODE_INTERVAL_FIELDS {
        assert_documented(&doc, f, "the timeline mode field");
    }
    for f in INTERVAL_METRIC_FIELDS {
        assert_documented(&doc, f, "the timeline metric field");
    }
    for f in ["groups", "name", "users"] {
        assert_documented(&doc, f, "the groups field");
    }
    for m in Mode::ALL {
        assert_documented(&doc, m.as_str(), "the mode");
    }
    // Where the scenario's declared range, the hold operation and the open
    // loop come from, and what `late` is measured against.
    for name in [
        "hold",
        "passive_range",
        "--passive-range",
        "channels",
        "--rate",
        "--seed",
        "[[run.stages]]",
        "uniform",
        "poisson",
        "LATE",
    ] {
        assert_documented(&doc, name, "the name");
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

/// A passive range smaller than the clients holding PASV channels: the
/// channels show the range full, and the first 425 is the exhaustion, with
/// when, what and how loaded the run was.
#[test]
fn exhausting_a_passive_range_is_recorded_in_channels() {
    let ran = harness::run_scenario(
        &exhaustion_scenario(17700),
        &Overrides::default(),
        "schema-exhaustion",
    );
    let j = &ran.json;
    assert_eq!(keys(j), top_fields(j), "top-level fields");
    let s = &j["scenario"];
    assert_eq!(keys(s), set(&SCENARIO_FIELDS), "scenario fields");
    assert_eq!(str_at(s, "declared_passive"), "17700-17702");
    assert_eq!(s["groups"][0]["ops"], serde_json::json!(["hold 1s"]));
    assert_eq!(keys(&j["modes"]), set(&["passive"]), "modes present");
    let m = &j["modes"]["passive"];
    assert_eq!(keys(m), set(&MODE_FIELDS));

    // Holds are neither transfers nor metrics; a failed hold is an error.
    let c = &m["counters"];
    assert_eq!(keys(c), set(&COUNTER_FIELDS));
    let holds = u64_at(c, "holds");
    assert!(holds >= 1, "some clients got a port: {c}");
    assert_eq!(holds, u64_at(c, "iterations"), "{c}");
    assert_eq!(
        u64_at(c, "iterations") + u64_at(c, "iterations_failed"),
        EXHAUSTION_ITERATIONS,
        "{c}"
    );
    assert!(u64_at(c, "iterations_failed") >= 1, "some did not: {c}");
    // Failed iterations have their time too.
    assert_eq!(
        u64_at(&m["metrics"]["iteration"], "count"),
        EXHAUSTION_ITERATIONS
    );
    assert_eq!(u64_at(c, "transfers") + u64_at(c, "transfers_failed"), 0);
    for metric in [Metric::DataSetup, Metric::Transfer] {
        assert_eq!(u64_at(&m["metrics"][metric.as_str()], "count"), 0);
    }
    let errors: Vec<ErrorEntry> = serde_json::from_value(m["errors"].clone()).unwrap();
    assert!(!errors.is_empty(), "the failed holds are errors");

    // The channels: the range in use, and the exhaustion.
    let ch = &m["channels"];
    check_channels("passive", Mode::Passive, ch, &s["declared_passive"], j);
    let runs = port_runs("passive", &ch["server_ports"]);
    assert!(!runs.is_empty(), "ports were announced: {ch}");
    let r: PortRange = "17700-17702".parse().unwrap();
    assert!(port_set(&runs).iter().all(|p| r.contains(*p)), "{runs:?}");
    assert_eq!(u64_at(ch, "outside_declared_range"), 0);
    assert!(u64_at(ch, "peak_pending") >= 1, "holds are pending: {ch}");
    assert_eq!(u64_at(ch, "peak_open"), 0, "holds never connect: {ch}");
    let e = &ch["exhaustion"];
    assert!(e.is_object(), "exhaustion recorded: {ch}");
    check_exhaustion("passive", e, EXHAUSTION_USERS, ran.result.duration_s);
    // The evidence is the failure's own message, and the signature the one
    // that message matches.
    let evidence = str_at(e, "evidence");
    let failure = errors
        .iter()
        .find(|x| x.sample.as_deref() == Some(evidence))
        .unwrap_or_else(|| panic!("the evidence {evidence:?} is an error's sample: {errors:?}"));
    assert_eq!(
        exhaustion::signature(&failure.class, evidence),
        Some(str_at(e, "signature"))
    );

    check_timeline(j, EXHAUSTION_USERS);

    // The document names every key this run wrote, exhaustion's included.
    let doc = doc();
    let mut all = BTreeSet::new();
    all_keys(j, "", &mut all);
    for f in EXHAUSTION_FIELDS {
        assert!(all.contains(f), "{f} written");
    }
    for k in &all {
        assert_documented(&doc, k, "the field");
    }
}

/// `declared_passive`: the embedded target's own range; for an external one
/// `--passive-range`, else `[target] passive_range`, else null.
#[test]
fn declared_passive_range_comes_from_the_target() {
    let run = "[run]\niterations = 1\n[[group]]\nusers = 1\nops = [\"noop\"]\n";
    let external =
        |extra: &str| format!("[target]\nurl = \"ftp://anonymous@ftp.example.com\"\n{extra}{run}");
    let in_file = "passive_range = \"30000-30099\"\n";
    let flag = Overrides {
        passive_range: Some("31000-31009".parse().unwrap()),
        ..Overrides::default()
    };
    let none = Overrides::default();
    for (toml, o, want) in [
        (external(""), &none, Value::Null),
        (external(in_file), &none, Value::from("30000-30099")),
        (external(in_file), &flag, Value::from("31000-31009")),
        (external(""), &flag, Value::from("31000-31009")),
        (run.to_string(), &none, Value::from(DEFAULT_PASSIVE)),
        // The embedded target's own range wins over any declared one.
        (
            format!("[target]\n{in_file}[embedded]\npassive_ports = \"20000-20009\"\n{run}"),
            &flag,
            Value::from("20000-20009"),
        ),
    ] {
        let plan = Plan::parse(&toml, Path::new("declared.toml"), o)
            .unwrap_or_else(|e| panic!("{e}: {toml}"));
        let v = serde_json::to_value(&plan).unwrap();
        assert_eq!(keys(&v), set(&SCENARIO_FIELDS), "{toml}");
        assert_eq!(v["declared_passive"], want, "{toml}");
        assert_eq!(
            plan.declared_passive.map(|r| Value::from(r.to_string())),
            want.is_string().then(|| want.clone()),
            "{toml}"
        );
    }
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
