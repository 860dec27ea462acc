//! The JSON result against its documentation (docs/result-schema.md): every
//! field is present with its documented type (in closed and open loop), the
//! document names every field the code writes (so it cannot silently fall
//! behind), results merge exactly, an unknown schema version is refused, and
//! no password is ever written.

mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ftpload::metrics::exhaustion::{self, Exhaustion};
use ftpload::metrics::{ErrorClass, Metric, Step};
use ftpload::proto::{Mode, PortRange, Verb};
use ftpload::result::timeline::{Interval, ModeInterval};
use ftpload::result::{
    decode_hdr, encode_hdr, ChannelsResult, ErrorEntry, MetricResult, ModeResult, RunResult,
    SCHEMA_VERSION,
};
use ftpload::scenario::{Overrides, Plan};
use hdrhistogram::Histogram;
use serde_json::Value;

/// Short, but in all three modes the embedded target serves, with a download,
/// an upload, a listing and a hold, so every metric has samples and, the holds
/// making each client's iterations last 100 ms more, the run lasts long
/// enough (over half a second) for gauge samples and a timeline.
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
ops = ["retr 1k.bin", "stor 2KiB", "list", "hold 100ms"]
"#;

const MODES_USED: [&str; 3] = ["passive", "epsv", "active"];

/// The embedded target's default passive range, which SCENARIO declares.
const DEFAULT_PASSIVE: &str = "20000-27999";

/// Exhaustion on the embedded target in about a second: six clients hold PASV
/// channels for a second on a range of three ports, so at most three holds
/// work and the other clients get 425 (libunftp has no free passive port). The
/// failed iterations use up the budget at once, so the run ends with the holds.
/// Each test gets its own range: tests run in parallel, and would otherwise
/// take each other's ports. The ranges sit outside the default 20000-27999
/// (the other tests' embedded targets) and below the ephemeral ports.
fn exhaustion_scenario(first: u16) -> String {
    format!(
        r#"
[embedded]
passive_ports = "{first}-{last}"

[run]
iterations = 12
ramp_up = "0s"

[[group]]
users = 6
mode = "passive"
ops = ["hold 1s"]
"#,
        last = first + 2
    )
}
const EXHAUSTION_USERS: u64 = 6;
const EXHAUSTION_ITERATIONS: u64 = 12;

const METRIC_FIELDS: [&str; 10] = [
    "unit", "count", "min", "mean", "p50", "p90", "p99", "p999", "max", "hdr",
];

const COUNTER_FIELDS: [&str; 17] = [
    "sessions",
    "sessions_failed",
    "iterations",
    "iterations_failed",
    "transfers",
    "transfers_failed",
    "channels_opened",
    "commands",
    "holds",
    "bytes_down",
    "bytes_up",
    "pasv_address_mismatch",
    "active_from_port_20",
    "active_from_other_port",
    "late",
    "dropped",
    "unstarted",
];

const GENERATOR_FIELDS: [&str; 6] = [
    "workers",
    "cpu_s",
    "cpu_utilisation",
    "schedule_lag_p99_us",
    "bottleneck",
    "reasons",
];

const TOP_FIELDS: [&str; 13] = [
    "schema_version",
    "tool",
    "scenario_name",
    "started_at",
    "ended_at",
    "duration_s",
    "interrupted",
    "cut_off",
    "target",
    "scenario",
    "modes",
    "timeline",
    "generator",
];

const SCENARIO_FIELDS: [&str; 14] = [
    "name",
    "source",
    "target",
    "declared_passive",
    "files",
    "stop",
    "open_loop",
    "seed",
    "ramp_up",
    "retry_pause",
    "workers",
    "timeouts",
    "data",
    "groups",
];

/// `scenario.open_loop` when it is not null, and each of its `stages`.
const OPEN_LOOP_FIELDS: [&str; 4] = ["rate", "stages", "arrival", "max_wait"];
const STAGE_FIELDS: [&str; 2] = ["duration", "rate"];

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

const MODE_FIELDS: [&str; 4] = ["metrics", "counters", "errors", "channels"];

const CHANNEL_FIELDS: [&str; 15] = [
    "reuse_interval",
    "pending",
    "open",
    "in_use",
    "peak_pending",
    "peak_open",
    "peak_in_use",
    "server_ports",
    "distinct_server_ports",
    "server_port_min",
    "server_port_max",
    "declared_range",
    "outside_declared_range",
    "peak_range_utilisation",
    "exhaustion",
];

/// The channel gauges, sampled every 100 ms, with the peak each one has.
const GAUGES: [(&str, &str); 3] = [
    ("pending", "peak_pending"),
    ("open", "peak_open"),
    ("in_use", "peak_in_use"),
];

const EXHAUSTION_FIELDS: [&str; 6] = [
    "at_s",
    "signature",
    "evidence",
    "clients",
    "pending",
    "open",
];

const INTERVAL_FIELDS: [&str; 6] = ["t_s", "clients", "offered", "started", "time_wait", "modes"];

/// `metrics` is left out of an interval in which nothing was timed.
const MODE_INTERVAL_FIELDS: [&str; 9] = [
    "sessions",
    "transfers",
    "errors",
    "iterations",
    "bytes",
    "sessions_open",
    "peak_pending",
    "peak_open",
    "metrics",
];

const INTERVAL_METRIC_FIELDS: [&str; 5] = ["count", "p50", "p99", "max", "hdr"];

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

/// A mode's key set and each of its metric objects, in the form the document
/// gives them; returns the `metrics` object for the caller's count checks.
fn check_mode_metrics<'a>(mode: &str, m: &'a Value) -> &'a Value {
    assert_eq!(keys(m), set(&MODE_FIELDS), "{mode}");
    let metrics = &m["metrics"];
    let names: Vec<&str> = Metric::ALL.iter().map(|x| x.as_str()).collect();
    assert_eq!(keys(metrics), set(&names), "{mode}: metrics");
    for metric in Metric::ALL {
        let (unit, high) = if metric == Metric::Throughput {
            ("B/s", 1_000_000_000_000)
        } else {
            ("us", 3_600_000_000)
        };
        let at = format!("{mode}.{}", metric.as_str());
        check_metric_object(&at, &metrics[metric.as_str()], unit, high);
    }
    metrics
}

/// A metric object (one of the 8 metrics, or a histogram of `channels`): its
/// fields and types, and its summary agreeing with its own `hdr`. Returns the
/// decoded histogram.
fn check_metric_object(at: &str, x: &Value, unit: &str, high: u64) -> Histogram<u64> {
    assert_eq!(keys(x), set(&METRIC_FIELDS), "{at}: fields");
    assert_eq!(str_at(x, "unit"), unit, "{at}");
    assert!(x["mean"].is_f64(), "{at}: mean is a float: {}", x["mean"]);
    let [count, min, p50, p90, p99, p999, max] =
        ["count", "min", "p50", "p90", "p99", "p999", "max"].map(|f| u64_at(x, f));
    let mean = x["mean"].as_f64().unwrap();
    let hdr = str_at(x, "hdr");
    assert!(hdr.starts_with("HISTFAAA"), "{at}: hdr {hdr:.20}");
    let h = decode_hdr(hdr).unwrap_or_else(|e| panic!("{at}: {e}"));
    assert_eq!(h.len(), count, "{at}: hdr count");
    assert_eq!(h.sigfig(), 3, "{at}");
    assert_eq!(h.low(), 1, "{at}");
    assert!(h.high() >= high, "{at}: high {}", h.high());
    if count == 0 {
        assert_eq!([min, p50, p90, p99, p999, max], [0; 6], "{at}: empty");
        assert_eq!(mean, 0.0, "{at}: empty");
        return h;
    }
    assert!(
        min <= p50 && p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max,
        "{at}: {min} {p50} {p90} {p99} {p999} {max}"
    );
    assert!(
        min as f64 <= mean && mean <= max as f64,
        "{at}: mean {mean}"
    );
    assert_eq!(h.max(), max, "{at}: hdr max");
    assert_eq!(h.min(), min, "{at}: hdr min");
    assert_eq!(h.value_at_quantile(0.5), p50, "{at}: hdr p50");
    assert_eq!(h.value_at_quantile(0.99), p99, "{at}: hdr p99");
    assert_eq!(h.mean(), mean, "{at}: hdr mean");
    h
}

/// `server_ports`: inclusive `[first, last]` runs, ascending, neither
/// overlapping nor touching.
fn port_runs(at: &str, v: &Value) -> Vec<[u16; 2]> {
    let runs: Vec<[u16; 2]> = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{at}: server_ports is not [[first, last], ...]: {e}: {v}"));
    for r in &runs {
        assert!(r[0] <= r[1], "{at}: run {r:?}");
    }
    for w in runs.windows(2) {
        assert!(
            u32::from(w[0][1]) + 1 < u32::from(w[1][0]),
            "{at}: runs must ascend, neither overlapping nor touching: {w:?}"
        );
    }
    runs
}

fn port_set(runs: &[[u16; 2]]) -> BTreeSet<u16> {
    runs.iter().flat_map(|r| r[0]..=r[1]).collect()
}

/// Every exhaustion signature, each from a failure that matches it (the
/// table of docs/result-schema.md, from src/metrics/exhaustion.rs).
fn known_signatures() -> BTreeSet<&'static str> {
    let reply = |code, command| ErrorClass::Reply { code, command };
    let cases = [
        (reply(500, Some(Verb::Pasv)), "500 OOPS: vsf_sysutil_bind"),
        (
            reply(425, Some(Verb::Epsv)),
            "425 All reserved TCP ports are busy",
        ),
        (
            reply(425, Some(Verb::Pasv)),
            "425 No data connection established",
        ),
        (
            reply(425, Some(Verb::Pasv)),
            "425 Can't open passive connection",
        ),
        (
            reply(425, Some(Verb::Retr)),
            "425 Can't open data connection",
        ),
        (reply(421, None), "421 Data connection Timed Out"),
        (reply(421, None), "421 Too many connections"),
        (ErrorClass::NoBanner, ""),
        (
            ErrorClass::AddrInUse {
                step: Step::DataSetup,
            },
            "",
        ),
        (
            ErrorClass::AddrNotAvailable {
                step: Step::Connect,
            },
            "",
        ),
        (
            ErrorClass::FileLimit {
                step: Step::DataAccept,
            },
            "",
        ),
        (
            ErrorClass::Refused {
                step: Step::DataConnect,
            },
            "",
        ),
        (
            ErrorClass::Timeout {
                step: Step::DataConnect,
            },
            "",
        ),
        (
            ErrorClass::Timeout {
                step: Step::DataAccept,
            },
            "",
        ),
    ];
    let mut all: BTreeSet<&'static str> = cases
        .iter()
        .map(|(c, text)| {
            exhaustion::signature(c, text)
                .unwrap_or_else(|| panic!("{c:?} {text:?} is a sign of exhaustion"))
        })
        .collect();
    assert_eq!(all.len(), cases.len(), "one case per signature");
    all.insert(exhaustion::OUTSIDE_RANGE);
    all
}

/// The `exhaustion` object: its fields and types.
fn check_exhaustion(at: &str, e: &Value, users: u64, duration_s: f64) {
    assert_eq!(keys(e), set(&EXHAUSTION_FIELDS), "{at}: exhaustion fields");
    assert!(e["at_s"].is_f64(), "{at}: at_s is a float: {}", e["at_s"]);
    let t = e["at_s"].as_f64().unwrap();
    assert!((0.0..=duration_s).contains(&t), "{at}: at_s {t}");
    let sig = str_at(e, "signature");
    assert!(
        known_signatures().contains(sig),
        "{at}: unknown signature {sig:?}"
    );
    assert!(!str_at(e, "evidence").is_empty(), "{at}: evidence");
    assert!(u64_at(e, "clients") <= users, "{at}: clients {e}");
    u64_at(e, "pending");
    u64_at(e, "open");
}

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

/// A mode's `channels`: every field with its type, and the relations the
/// document states between them. `declared` is `scenario.declared_passive`.
fn check_channels(at: &str, mode: Mode, c: &Value, declared: &Value, j: &Value) {
    let at = format!("{at}.channels");
    assert_eq!(keys(c), set(&CHANNEL_FIELDS), "{at}: fields");
    check_metric_object(
        &format!("{at}.reuse_interval"),
        &c["reuse_interval"],
        "us",
        3_600_000_000,
    );
    let mut samples = None;
    for (gauge, peak) in GAUGES {
        let h = check_metric_object(&format!("{at}.{gauge}"), &c[gauge], "channels", 10_000_000);
        // The gauges are sampled together, every 100 ms.
        assert_eq!(
            *samples.get_or_insert(h.len()),
            h.len(),
            "{at}.{gauge}: samples"
        );
        // A peak is the largest sample (exactly, at these sizes).
        assert_eq!(u64_at(c, peak), u64_at(&c[gauge], "max"), "{at}.{peak}");
    }
    let [pending, open, in_use] = GAUGES.map(|(_, p)| u64_at(c, p));
    assert!(
        pending.max(open) <= in_use && in_use <= pending + open,
        "{at}: peaks {pending} {open} {in_use}"
    );

    let runs = port_runs(&at, &c["server_ports"]);
    let distinct: u64 = runs.iter().map(|r| u64::from(r[1] - r[0]) + 1).sum();
    assert_eq!(u64_at(c, "distinct_server_ports"), distinct, "{at}");
    match (runs.first(), runs.last()) {
        (Some(first), Some(last)) => {
            assert_eq!(u64_at(c, "server_port_min"), u64::from(first[0]), "{at}");
            assert_eq!(u64_at(c, "server_port_max"), u64::from(last[1]), "{at}");
        }
        _ => {
            assert!(
                c["server_port_min"].is_null(),
                "{at}: {}",
                c["server_port_min"]
            );
            assert!(
                c["server_port_max"].is_null(),
                "{at}: {}",
                c["server_port_max"]
            );
        }
    }
    if mode.is_active() {
        // Active modes announce no server port.
        assert!(runs.is_empty(), "{at}: {runs:?}");
        assert_eq!(u64_at(&c["reuse_interval"], "count"), 0, "{at}");
    }

    assert_eq!(
        c["declared_range"], *declared,
        "{at}: declared_range is scenario.declared_passive"
    );
    let range: Option<PortRange> = declared.as_str().map(|s| s.parse().unwrap());
    let outside = u64_at(c, "outside_declared_range");
    match range {
        Some(r) if runs.iter().any(|x| !r.contains(x[0]) || !r.contains(x[1])) => {
            assert!(outside > 0, "{at}: ports outside {r} not counted")
        }
        Some(_) => {}
        None => assert_eq!(outside, 0, "{at}: nothing declared, nothing outside"),
    }
    let utilisation = &c["peak_range_utilisation"];
    match range.filter(|_| !mode.is_active()) {
        Some(r) => {
            let want = in_use as f64 / f64::from(r.size());
            let got = utilisation
                .as_f64()
                .unwrap_or_else(|| panic!("{at}: utilisation is a number: {utilisation}"));
            assert!(utilisation.is_f64(), "{at}: {utilisation}");
            assert!((got - want).abs() <= 1e-12, "{at}: {got} != {want}");
        }
        None => assert!(utilisation.is_null(), "{at}: {utilisation}"),
    }

    let e = &c["exhaustion"];
    if !e.is_null() {
        let users = j["scenario"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| u64_at(g, "users"))
            .sum();
        check_exhaustion(&at, e, users, j["duration_s"].as_f64().unwrap());
    }
}

/// The `timeline`: one interval per second, every field with its type, and
/// its totals against the modes'.
fn check_timeline(j: &Value, users: u64) {
    let tl = j["timeline"].as_array().expect("timeline is an array");
    assert!(!tl.is_empty(), "a run of over 100 ms has a timeline");
    let modes = keys(&j["modes"]);
    let duration = j["duration_s"].as_f64().unwrap();
    let mut last = 0;
    let mut sums: BTreeMap<&str, [u64; 5]> = BTreeMap::new();
    let mut peaks: BTreeMap<&str, [u64; 2]> = BTreeMap::new();
    let mut metric_counts: BTreeMap<(String, String), u64> = BTreeMap::new();
    let open_loop = !j["scenario"]["open_loop"].is_null();
    let mut started = 0;
    for i in tl {
        assert_eq!(keys(i), set(&INTERVAL_FIELDS), "interval fields: {i}");
        let t = u64_at(i, "t_s");
        assert!(t > last, "t_s increases: {last} then {t}");
        last = t;
        assert!(u64_at(i, "clients") <= users, "{i}");
        u64_at(i, "time_wait");
        started += u64_at(i, "started");
        assert_eq!(
            i["offered"].is_u64(),
            open_loop,
            "offered is a count in open loop, null in closed: {i}"
        );
        assert_eq!(
            keys(&i["modes"]),
            modes,
            "every mode of the plan, every second: {i}"
        );
        for (m, v) in i["modes"].as_object().unwrap() {
            let mut want = set(&MODE_INTERVAL_FIELDS);
            if v.get("metrics").is_none() {
                want.remove("metrics");
            }
            assert_eq!(keys(v), want, "{m} at {t}: {v}");
            let s = sums.entry(m).or_default();
            assert!(v["sessions_open"].as_i64().unwrap() >= 0, "{m} at {t}: {v}");
            for (k, f) in ["sessions", "transfers", "errors", "iterations", "bytes"]
                .iter()
                .enumerate()
            {
                s[k] += u64_at(v, f);
            }
            for (metric, x) in v["metrics"].as_object().into_iter().flatten() {
                assert_eq!(keys(x), set(&INTERVAL_METRIC_FIELDS), "{m}.{metric} at {t}");
                let h = decode_hdr(str_at(x, "hdr")).unwrap();
                assert_eq!(h.len(), u64_at(x, "count"), "{m}.{metric} at {t}");
                assert!(!h.is_empty(), "an interval lists only metrics it timed");
                assert_eq!(h.value_at_quantile(0.99), u64_at(x, "p99"));
                *metric_counts
                    .entry((m.clone(), metric.clone()))
                    .or_default() += h.len();
            }
            let p = peaks.entry(m).or_default();
            p[0] = p[0].max(u64_at(v, "peak_pending"));
            p[1] = p[1].max(u64_at(v, "peak_open"));
        }
    }
    assert!(
        last as f64 <= duration.ceil(),
        "the last t_s {last} is within the run's {duration} s"
    );
    // The interval histograms add up to the run's, metric by metric.
    for ((m, metric), n) in &metric_counts {
        assert_eq!(
            *n,
            u64_at(&j["modes"][m.as_str()]["metrics"][metric.as_str()], "count"),
            "{m}.{metric}: the intervals' counts add up to the run's"
        );
    }
    let mut iterations_total = 0;
    for (m, [sessions, transfers, errors, iterations, bytes]) in sums {
        let mode = &j["modes"][m];
        let c = &mode["counters"];
        let error_count: u64 = mode["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| u64_at(e, "count"))
            .sum();
        // The intervals add up to the run's totals: nothing recorded after
        // the last whole second is lost.
        assert_eq!(sessions, u64_at(c, "sessions"), "{m}: timeline sessions");
        assert_eq!(transfers, u64_at(c, "transfers"), "{m}: timeline transfers");
        assert_eq!(errors, error_count, "{m}: timeline errors");
        let done = u64_at(c, "iterations") + u64_at(c, "iterations_failed");
        assert_eq!(iterations, done, "{m}: timeline iterations");
        let moved = u64_at(c, "bytes_down") + u64_at(c, "bytes_up");
        assert_eq!(bytes, moved, "{m}: timeline bytes");
        iterations_total += done;
        let ch = &mode["channels"];
        assert_eq!(
            peaks[m],
            [u64_at(ch, "peak_pending"), u64_at(ch, "peak_open")],
            "{m}: the timeline's peaks are the run's"
        );
    }
    assert!(
        started >= iterations_total,
        "every iteration that ended was started: {started} < {iterations_total}"
    );
}

/// What merging two modes' `channels` must give: histograms add, peaks take
/// the larger, port sets unite, outside counts add, the earlier exhaustion.
fn assert_channels_merged(
    at: &str,
    mode: Mode,
    a: &ChannelsResult,
    b: &ChannelsResult,
    m: &ChannelsResult,
) {
    let histograms: [(&str, &MetricResult, &MetricResult, &MetricResult); 4] = [
        (
            "reuse_interval",
            &a.reuse_interval,
            &b.reuse_interval,
            &m.reuse_interval,
        ),
        ("pending", &a.pending, &b.pending, &m.pending),
        ("open", &a.open, &b.open, &m.open),
        ("in_use", &a.in_use, &b.in_use, &m.in_use),
    ];
    for (name, x, y, z) in histograms {
        let at = format!("{at}.{name}");
        let mut sum = decode_hdr(&x.hdr).unwrap();
        sum.add(decode_hdr(&y.hdr).unwrap()).unwrap();
        assert_eq!(decode_hdr(&z.hdr).unwrap(), sum, "{at}: merged hdr");
        assert_eq!(z.count, x.count + y.count, "{at}: count");
        assert_eq!(z.unit, x.unit, "{at}: unit");
        if !sum.is_empty() {
            assert_eq!((z.min, z.max), (sum.min(), sum.max()), "{at}: min max");
            assert_eq!(z.p99, sum.value_at_quantile(0.99), "{at}: p99");
        }
    }
    assert_eq!(m.peak_pending, a.peak_pending.max(b.peak_pending), "{at}");
    assert_eq!(m.peak_open, a.peak_open.max(b.peak_open), "{at}");
    assert_eq!(m.peak_in_use, a.peak_in_use.max(b.peak_in_use), "{at}");
    let union: BTreeSet<u16> = port_set(&a.server_ports)
        .union(&port_set(&b.server_ports))
        .copied()
        .collect();
    assert_eq!(port_set(&m.server_ports), union, "{at}: ports unite");
    assert_eq!(m.distinct_server_ports as usize, union.len(), "{at}");
    assert_eq!(m.server_port_min, union.first().copied(), "{at}");
    assert_eq!(m.server_port_max, union.last().copied(), "{at}");
    assert_eq!(
        m.outside_declared_range,
        a.outside_declared_range + b.outside_declared_range,
        "{at}"
    );
    assert_eq!(m.declared_range, a.declared_range.or(b.declared_range));
    let utilisation = m
        .declared_range
        .filter(|_| !mode.is_active())
        .map(|r| m.peak_in_use as f64 / f64::from(r.size()));
    assert_eq!(m.peak_range_utilisation, utilisation, "{at}: recomputed");
    let earliest = match (&a.exhaustion, &b.exhaustion) {
        (Some(x), Some(y)) => Some(if y.at_s < x.at_s { y } else { x }),
        (x, y) => x.as_ref().or(y.as_ref()),
    };
    assert_eq!(
        m.exhaustion.as_ref(),
        earliest,
        "{at}: the earliest exhaustion"
    );
}

/// What merging two timelines must give: intervals of the same `t_s` add
/// field by field (gauges too); the others are taken as they are; by `t_s`.
fn assert_timeline_merged(a: &[Interval], b: &[Interval], merged: &[Interval]) {
    let mut want: BTreeMap<u32, Interval> = BTreeMap::new();
    for i in a.iter().chain(b) {
        let w = want.entry(i.t_s).or_insert_with(|| Interval {
            t_s: i.t_s,
            ..Interval::default()
        });
        w.clients += i.clients;
        w.time_wait += i.time_wait;
        w.started += i.started;
        if let Some(o) = i.offered {
            w.offered = Some(w.offered.unwrap_or(0) + o);
        }
        for (mode, x) in &i.modes {
            let e = w.modes.entry(*mode).or_default();
            e.sessions += x.sessions;
            e.transfers += x.transfers;
            e.errors += x.errors;
            e.iterations += x.iterations;
            e.bytes += x.bytes;
            e.sessions_open += x.sessions_open;
            e.peak_pending += x.peak_pending;
            e.peak_open += x.peak_open;
            // Interval histograms add: the merged count is the sum, and the
            // merged histogram holds both sides' values.
            for (metric, m) in &x.metrics {
                let h = decode_hdr(&m.hdr).unwrap();
                match e.metrics.get_mut(metric) {
                    Some(have) => {
                        let mut sum = decode_hdr(&have.hdr).unwrap();
                        sum.add(&h).unwrap();
                        have.count += m.count;
                        have.max = have.max.max(m.max);
                        have.hdr = encode_hdr(&sum);
                    }
                    None => {
                        e.metrics.insert(*metric, m.clone());
                    }
                }
            }
        }
    }
    let want: Vec<Interval> = want.into_values().collect();
    assert_eq!(merged.len(), want.len(), "timelines merge by t_s");
    for (m, w) in merged.iter().zip(&want) {
        assert_eq!(
            (m.t_s, m.clients, m.time_wait, m.started, m.offered),
            (w.t_s, w.clients, w.time_wait, w.started, w.offered),
            "second {}",
            w.t_s
        );
        assert_eq!(
            m.modes.keys().collect::<Vec<_>>(),
            w.modes.keys().collect::<Vec<_>>()
        );
        for (mode, mm) in &m.modes {
            let ww = &w.modes[mode];
            assert_eq!(
                (
                    mm.sessions,
                    mm.transfers,
                    mm.errors,
                    mm.iterations,
                    mm.peak_pending,
                    mm.peak_open
                ),
                (
                    ww.sessions,
                    ww.transfers,
                    ww.errors,
                    ww.iterations,
                    ww.peak_pending,
                    ww.peak_open
                ),
                "second {} {mode}",
                w.t_s
            );
            assert_eq!(
                mm.metrics.keys().collect::<Vec<_>>(),
                ww.metrics.keys().collect::<Vec<_>>()
            );
            for (metric, x) in &mm.metrics {
                let y = &ww.metrics[metric];
                let (hx, hy) = (decode_hdr(&x.hdr).unwrap(), decode_hdr(&y.hdr).unwrap());
                assert_eq!(
                    (x.count, x.max),
                    (y.count, y.max),
                    "second {} {mode} {metric:?}",
                    w.t_s
                );
                assert_eq!(hx.len(), x.count);
                assert_eq!(hx.value_at_quantile(0.99), hy.value_at_quantile(0.99));
                assert_eq!(x.p99, hx.value_at_quantile(0.99), "p99 recomputed");
            }
        }
    }
}

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
        serde_json::json!(["retr 1k.bin", "stor 2048", "list", "hold 100ms"])
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
    let mut top = set(&TOP_FIELDS);
    if j.get("kernel").is_some() {
        top.insert("kernel");
    }
    assert_eq!(keys(j), top, "top-level fields");
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

/// An open-loop run: `scenario.open_loop` with its fields, every metric with
/// samples (the schedule's lag too), the corrected times at least the plain
/// ones, the open-loop counters, and every key written documented.
#[test]
fn open_loop_run_has_its_plan_lag_and_corrected_times() {
    let ran = harness::run_scenario(OPEN_SCENARIO, &Overrides::default(), "schema-open");
    let j = &ran.json;
    let mut top = set(&TOP_FIELDS);
    if j.get("kernel").is_some() {
        top.insert("kernel");
    }
    assert_eq!(keys(j), top, "top-level fields");

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
            assert!(
                u64_at(&metrics[metric.as_str()], "count") > 0,
                "{at}: no samples"
            );
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
            (t.counters.late, t.counters.dropped),
            (2 * m.counters.late, 2 * m.counters.dropped),
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

/// Every signature exhaustion can have is listed in the document verbatim.
#[test]
fn every_exhaustion_signature_is_documented() {
    let doc = doc();
    for sig in known_signatures() {
        assert!(
            doc.contains(&format!("`{sig}`")),
            "docs/result-schema.md does not list the exhaustion signature {sig:?}"
        );
    }
    // Failures that are not exhaustion have no signature.
    for (class, text) in [
        (
            ErrorClass::Reply {
                code: 550,
                command: Some(Verb::Retr),
            },
            "550 No such file",
        ),
        (
            ErrorClass::Closed {
                step: Step::Transfer,
            },
            "",
        ),
        (
            ErrorClass::Reset {
                step: Step::DataConnect,
            },
            "",
        ),
    ] {
        assert_eq!(exhaustion::signature(&class, text), None, "{class:?}");
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
    // The open-loop counters add like the rest.
    pa.counters.late = 4;
    pa.counters.dropped = 1;
    pb.counters.late = 5;
    pb.counters.dropped = 2;
    // Channels: exhaustion in both (b's earlier), in a only, and ports
    // outside the range in both.
    let ex = |at_s, who: &str| Exhaustion {
        at_s,
        signature: exhaustion::OUTSIDE_RANGE.into(),
        evidence: who.into(),
        clients: 3,
        pending: 1,
        open: 0,
    };
    let ca = &mut a.modes.get_mut(&Mode::Passive).unwrap().channels;
    ca.exhaustion = Some(ex(0.25, "a"));
    ca.outside_declared_range = 2;
    let cb = &mut b.modes.get_mut(&Mode::Passive).unwrap().channels;
    cb.exhaustion = Some(ex(0.125, "b"));
    cb.outside_declared_range = 3;
    a.modes.get_mut(&Mode::Epsv).unwrap().channels.exhaustion = Some(ex(0.5, "a"));
    // Timeline: a second only b has, with a mode only it has.
    b.timeline.push(Interval {
        t_s: 99,
        clients: 1,
        offered: Some(3),
        started: 2,
        time_wait: 7,
        modes: BTreeMap::from([(
            Mode::Eprt,
            ModeInterval {
                sessions: 1,
                transfers: 2,
                errors: 3,
                iterations: 2,
                bytes: 5,
                sessions_open: 1,
                peak_pending: 4,
                peak_open: 5,
                metrics: BTreeMap::new(),
            },
        )]),
    });

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
        assert_eq!(
            cm.keys().map(String::as_str).collect::<BTreeSet<_>>(),
            set(&COUNTER_FIELDS)
        );
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
            // The smaller of the non-empty ones' (closed-loop runs have no
            // schedule_lag: an empty merge stays empty, with 0).
            let nonempty_min = [&ha, &hb]
                .iter()
                .filter(|h| !h.is_empty())
                .map(|h| h.min())
                .min()
                .unwrap_or(0);
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
        // Channels: histograms add, peaks take the larger, port sets unite,
        // outside counts add, the earliest exhaustion is kept.
        let m = &merged.modes[&mode].channels;
        match (a.modes.get(&mode), b.modes.get(&mode)) {
            (Some(x), Some(y)) => {
                assert_channels_merged(mode.as_str(), mode, &x.channels, &y.channels, m)
            }
            (Some(x), None) | (None, Some(x)) => assert_eq!(m, &x.channels, "{mode}"),
            (None, None) => unreachable!(),
        }
    }
    let passive = &merged.modes[&Mode::Passive].channels;
    assert_eq!(passive.exhaustion, Some(ex(0.125, "b")), "the earlier");
    assert_eq!(passive.outside_declared_range, 5);
    let epsv = &merged.modes[&Mode::Epsv].channels;
    assert_eq!(epsv.exhaustion, Some(ex(0.5, "a")), "the only one");
    // The timeline adds by t_s; the second only b has is taken as it is.
    assert_timeline_merged(&a.timeline, &b.timeline, &merged.timeline);
    assert_eq!(merged.timeline.last(), b.timeline.last());
    // Errors add by class; the first sample is kept.
    let e = error(&merged, Mode::Passive, retr425).expect("425 merged");
    assert_eq!(e.count, 5);
    assert_eq!(e.sample.as_deref(), Some("425 from a"));
    let e = error(&merged, Mode::Passive, accept).expect("timeout merged");
    assert_eq!((e.count, e.sample.as_deref()), (1, None));
    assert_eq!(merged.modes[&Mode::Passive].errors.len(), 2);
    let pc = &merged.modes[&Mode::Passive].counters;
    assert_eq!((pc.late, pc.dropped), (9, 3), "late and dropped add");
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
        let (c2, c1) = (&twice.modes[&mode].channels, &merged.modes[&mode].channels);
        assert_channels_merged(mode.as_str(), mode, c1, c1, c2);
        assert_eq!(c2.pending.count, 2 * c1.pending.count);
        assert_eq!(
            (c2.peak_in_use, &c2.server_ports, &c2.exhaustion),
            (c1.peak_in_use, &c1.server_ports, &c1.exhaustion),
            "{mode}: peaks, ports and exhaustion are their own maximum, union, earliest"
        );
    }
    assert_eq!(twice.error_count(), 12);
    assert_timeline_merged(&merged.timeline, &merged.timeline, &twice.timeline);
}

/// Two runs that each exhausted their range: the merged channels hold both
/// ranges' ports, the larger peaks and the earlier exhaustion.
#[test]
fn merging_exhausted_runs_keeps_the_earliest_exhaustion() {
    let a = harness::run_scenario(
        &exhaustion_scenario(17710),
        &Overrides::default(),
        "merge-ex-a",
    )
    .result;
    let b = harness::run_scenario(
        &exhaustion_scenario(17720),
        &Overrides::default(),
        "merge-ex-b",
    )
    .result;
    let mut merged = a.clone();
    merged.try_merge(&b).unwrap();
    let (ca, cb, cm) = (
        &a.modes[&Mode::Passive].channels,
        &b.modes[&Mode::Passive].channels,
        &merged.modes[&Mode::Passive].channels,
    );
    assert!(
        ca.exhaustion.is_some() && cb.exhaustion.is_some(),
        "{ca:?} {cb:?}"
    );
    assert_channels_merged("passive", Mode::Passive, ca, cb, cm);
    // Both ranges' ports; the range is the first result's, and the
    // utilisation is the larger peak over it.
    assert!(!ca.server_ports.is_empty() && !cb.server_ports.is_empty());
    assert_eq!(
        cm.distinct_server_ports,
        ca.distinct_server_ports + cb.distinct_server_ports
    );
    assert_eq!(cm.declared_range, Some("17710-17712".parse().unwrap()));
    assert_eq!(
        cm.peak_range_utilisation,
        Some(ca.peak_in_use.max(cb.peak_in_use) as f64 / 3.0)
    );
    let first = [&ca.exhaustion, &cb.exhaustion]
        .into_iter()
        .flatten()
        .min_by(|x, y| x.at_s.total_cmp(&y.at_s))
        .unwrap();
    assert_eq!(cm.exhaustion.as_ref(), Some(first));
    assert_timeline_merged(&a.timeline, &b.timeline, &merged.timeline);
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
        s.record_value(Metric::ScheduleLag, v);
        whole.record(v).unwrap();
    }
    let mut a = template.clone();
    a.modes
        .insert(Mode::Epsv, ModeResult::from_stats(&sa, Mode::Epsv, None));
    let mut b = template.clone();
    b.modes
        .insert(Mode::Epsv, ModeResult::from_stats(&sb, Mode::Epsv, None));
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
    let lag = &a.modes[&Mode::Epsv].metrics[&Metric::ScheduleLag];
    assert_eq!(decode_hdr(&lag.hdr).unwrap(), whole, "schedule_lag adds");
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
