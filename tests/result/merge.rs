//! Results from several machines merge exactly (docs/result-schema.md,
//! "Merging results"): histograms add, so percentiles come from the merged
//! histogram and never from averaged percentiles; counters and errors add;
//! channels keep the larger peaks, the union of ports and the earliest
//! exhaustion; timelines add second by second; and a merged result is a
//! result like any other.

use std::collections::{BTreeMap, BTreeSet};

use ftpload::metrics::exhaustion::{self, Exhaustion};
use ftpload::metrics::{ErrorClass, Metric, Step};
use ftpload::proto::{Mode, Verb};
use ftpload::result::timeline::{Interval, ModeInterval};
use ftpload::result::{decode_hdr, ErrorEntry, ModeResult, RunResult};
use ftpload::scenario::Overrides;
use hdrhistogram::Histogram;
use serde_json::Value;

use crate::util::schema::merged::{assert_channels_merged, assert_timeline_merged};
use crate::util::schema::{exhaustion_scenario, run, set, COUNTER_FIELDS};
use crate::util::{common, harness};

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
    pa.counters.late = 4.into();
    pa.counters.dropped = 1.into();
    pb.counters.late = 5.into();
    pb.counters.dropped = 2.into();
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
        started: 2.into(),
        time_wait: 7,
        server: None,
        modes: BTreeMap::from([(
            Mode::Eprt,
            ModeInterval {
                sessions: 1,
                transfers: 2,
                errors: 3,
                iterations: 2.into(),
                bytes: 5.into(),
                sessions_open: 1.into(),
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
    assert_eq!(
        (pc.late.get(), pc.dropped.get()),
        (Some(9), Some(3)),
        "late and dropped add"
    );
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

/// Every histogram of a result as (where, base64), operations included.
fn histograms(j: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (mode, m) in j["modes"].as_object().unwrap() {
        for (metric, x) in m["metrics"].as_object().unwrap() {
            out.insert(
                format!("{mode}.{metric}"),
                x["hdr"].as_str().unwrap().into(),
            );
        }
        for (op, metrics) in m["operations"].as_object().into_iter().flatten() {
            for (metric, x) in metrics.as_object().unwrap() {
                out.insert(
                    format!("{mode}.{op}.{metric}"),
                    x["hdr"].as_str().unwrap().into(),
                );
            }
        }
    }
    out
}

/// `ftpload merge` of two real runs: every histogram of the merged file,
/// decoded by an independent implementation (Python's `hdrh`), counts the
/// sum of the two runs' counts, per mode, metric and operation.
#[test]
fn merged_counts_are_the_sums_by_an_independent_decoder() {
    let (a, b) = (run("merge-py-a"), run("merge-py-b"));
    let out = a.path.with_file_name("merged.json");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ftpload"));
    // The helper names each run's scenario after its tag: the same
    // scenario under two names, so the merge is forced.
    cmd.arg("merge")
        .arg(&a.path)
        .arg(&b.path)
        .arg("--out")
        .arg(&out)
        .arg("--force");
    let r = common::run_bounded(cmd, None, std::time::Duration::from_secs(60)).unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let (ha, hb, hm) = (histograms(&a.json), histograms(&b.json), histograms(&m));
    assert!(
        hm.keys().any(|k| k.contains("retr 1k.bin")),
        "per-operation histograms merged too: {:?}",
        hm.keys()
    );
    let names: Vec<&String> = hm.keys().collect();
    let b64 = |h: &BTreeMap<String, String>, k: &str| {
        h.get(k).cloned().unwrap_or_else(|| {
            // A histogram one run lacks counts zero there: an empty one.
            ftpload::result::encode_hdr(&Histogram::<u64>::new(3).unwrap())
        })
    };
    let all: Vec<String> = names
        .iter()
        .flat_map(|k| [b64(&ha, k), b64(&hb, k), hm[*k].clone()])
        .collect();
    let counts = common::python_hdr_counts(&all.iter().map(String::as_str).collect::<Vec<_>>());
    let mut nonzero = 0;
    for (k, c) in names.iter().zip(counts.chunks(3)) {
        assert_eq!(
            c[2],
            c[0] + c[1],
            "{k}: merged {} != {} + {}",
            c[2],
            c[0],
            c[1]
        );
        // The summary's count says the same.
        let (mode, rest) = k.split_once('.').unwrap();
        let x = match rest.rsplit_once('.') {
            Some((op, metric)) if m["modes"][mode]["operations"].get(op).is_some() => {
                &m["modes"][mode]["operations"][op][metric]
            }
            _ => &m["modes"][mode]["metrics"][rest],
        };
        assert_eq!(x["count"].as_u64(), Some(c[2]), "{k}");
        nonzero += usize::from(c[2] > 0);
    }
    assert!(nonzero > 20, "only {nonzero} histograms had values");
}

/// `ftpload merge` refuses results of another scenario (or target), naming
/// both files, unless `--force`: their sum describes no run.
#[test]
fn merging_another_scenario_is_refused_unless_forced() {
    let a = run("merge-refuse-a");
    let mut other = a.json.clone();
    other["scenario_name"] = "other".into();
    let b = a.path.with_file_name("other.json");
    std::fs::write(&b, other.to_string()).unwrap();
    let out = a.path.with_file_name("merged-other.json");
    let merge = |extra: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ftpload"));
        cmd.arg("merge")
            .arg(&a.path)
            .arg(&b)
            .arg("--out")
            .arg(&out)
            .args(extra);
        common::run_bounded(cmd, None, std::time::Duration::from_secs(60)).unwrap()
    };
    let r = merge(&[]);
    let err = String::from_utf8_lossy(&r.stderr).into_owned();
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        err.contains("other.json") && err.contains("\"other\""),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert!(!out.exists(), "nothing is written");
    let r = merge(&["--force"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(out.exists());
}
