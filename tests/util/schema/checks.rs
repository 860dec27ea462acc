//! A run's JSON against the form docs/result-schema.md gives it: closed-loop,
//! exhausted and open-loop runs must all meet the same document, so one set of
//! checks serves them all.

use std::collections::BTreeMap;

use ftpload::metrics::Metric;
use ftpload::proto::{Mode, PortRange};
use ftpload::result::decode_hdr;
use hdrhistogram::Histogram;
use serde_json::Value;

use super::{
    keys, known_signatures, port_runs, set, str_at, u64_at, CHANNEL_FIELDS, EXHAUSTION_FIELDS,
    GAUGES, INTERVAL_FIELDS, INTERVAL_METRIC_FIELDS, METRIC_FIELDS, MODE_FIELDS,
    MODE_INTERVAL_FIELDS,
};

/// A mode's key set and each of its metric objects, in the form the document
/// gives them; returns the `metrics` object for the caller's count checks.
pub fn check_mode_metrics<'a>(mode: &str, m: &'a Value) -> &'a Value {
    // `operations` is there once the mode finished a transfer: each
    // operation's three metrics, in the form of `metrics`, adding up to them.
    let mut fields = set(&MODE_FIELDS);
    if m.get("operations").is_some() {
        fields.insert("operations");
        check_operations(mode, m);
    }
    assert_eq!(keys(m), fields, "{mode}");
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

fn check_operations(mode: &str, m: &Value) {
    let ops = m["operations"].as_object().unwrap();
    assert!(
        !ops.is_empty(),
        "{mode}: an empty operations object is left out"
    );
    for metric in ["first_byte", "transfer", "throughput"] {
        let (unit, high) = if metric == "throughput" {
            ("B/s", 1_000_000_000_000)
        } else {
            ("us", 3_600_000_000)
        };
        let mut sum = 0;
        for (op, o) in ops {
            assert_eq!(
                keys(o),
                set(&["first_byte", "transfer", "throughput"]),
                "{mode}.{op}"
            );
            check_metric_object(&format!("{mode}.{op}.{metric}"), &o[metric], unit, high);
            sum += u64_at(&o[metric], "count");
        }
        assert_eq!(
            sum,
            u64_at(&m["metrics"][metric], "count"),
            "{mode}: operations' {metric}"
        );
    }
}

/// A metric object (one of the 8 metrics, or a histogram of `channels`): its
/// fields and types, and its summary agreeing with its own `hdr`. Returns the
/// decoded histogram.
pub fn check_metric_object(at: &str, x: &Value, unit: &str, high: u64) -> Histogram<u64> {
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

/// The `exhaustion` object: its fields and types.
pub fn check_exhaustion(at: &str, e: &Value, users: u64, duration_s: f64) {
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

/// A mode's `channels`: every field with its type, and the relations the
/// document states between them. `declared` is `scenario.declared_passive`.
pub fn check_channels(at: &str, mode: Mode, c: &Value, declared: &Value, j: &Value) {
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
pub fn check_timeline(j: &Value, users: u64) {
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
        // `server` in the seconds the watch sampled, when it watched.
        let mut want = set(&INTERVAL_FIELDS);
        if i.get("server").is_some() {
            assert!(
                j.get("server").is_some(),
                "a second's server without the run's: {i}"
            );
            assert!(
                i["server"]["cpu_s"].as_f64().is_some_and(|c| c >= 0.0),
                "{i}"
            );
            want.insert("server");
        }
        assert_eq!(keys(i), want, "interval fields: {i}");
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
