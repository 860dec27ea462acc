//! Thresholds: pass/fail criteria on a run's result, written as a k6 user
//! writes them (`"session_setup.p99" = "< 50ms"`), parsed and checked against
//! the plan before anything runs (`from_plan`), judged on the result at the
//! end (`evaluate`), printed (`render`) and exported as JUnit (`junit`).
//!
//! A key is one of
//! - `[MODE.]METRIC.STAT`: a histogram's statistic, e.g. `passive.data_setup.p99`;
//!   without a mode, every mode must pass and the worst one is shown;
//! - `MODE/BASE.METRIC.STAT`: one mode's statistic over another's, e.g.
//!   `active/passive.data_setup.p50` (a plain number bound);
//! - `[MODE.]OPERATION.METRIC.STAT` with METRIC one of first_byte, transfer,
//!   throughput: one operation's figures, e.g. `retr 1m.bin.throughput.p50`
//!   (the operation as written in the scenario; it may hold dots, so a key
//!   is read from the right);
//! - `[MODE.]errors.rate` (errors per iteration, a fraction),
//!   `[MODE.]sessions.rate` (sessions started per second), `logins.rate`
//!   (sessions that logged in per second), `transfers.rate` (successful
//!   transfers per second).

mod judge;
pub mod junit;
mod key;

pub use judge::{evaluate, lost_early, rate};
pub use key::{Cmp, Count, Stat, Target, Threshold};

use std::fmt::Write as _;
use std::time::Duration;

use crate::proto::Mode;
use crate::result::ThresholdOutcome;
use crate::scenario::{Plan, ThresholdSpec};

/// A threshold that cannot be judged: bad input, nothing ran (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{at}threshold \"{key}\" = \"{bound}\": {message}")]
pub struct ThresholdError {
    /// "s.toml:12: " or "--threshold: ".
    pub at: String,
    pub key: String,
    pub bound: String,
    pub message: String,
}

/// The scenario's thresholds with `--threshold KEY=BOUND` flags added (a
/// flag's key replaces the file's), parsed and checked against the plan:
/// every mode named is one the run has, every operation one the scenario
/// has. Call before anything runs.
pub fn from_plan(plan: &Plan, flags: &[String]) -> Result<Vec<Threshold>, ThresholdError> {
    let mut specs = plan.thresholds.clone();
    for f in flags {
        let Some((key, bound)) = f.split_once('=') else {
            return Err(ThresholdError {
                at: "--threshold: ".into(),
                key: f.clone(),
                bound: String::new(),
                message: "write KEY=BOUND, e.g. --threshold 'session_setup.p99=< 50ms'".into(),
            });
        };
        let spec = ThresholdSpec {
            key: key.trim().to_string(),
            bound: bound.trim().to_string(),
            abort_on_fail: false,
            delay_abort_eval: Duration::ZERO,
            at: "--threshold".into(),
        };
        specs.retain(|s| s.key != spec.key);
        specs.push(spec);
    }
    let modes = crate::driver::modes(plan);
    let ops = plan_operations(plan);
    specs
        .iter()
        .map(|s| {
            let err = |message: String| ThresholdError {
                at: format!("{}: ", s.at),
                key: s.key.clone(),
                bound: s.bound.clone(),
                message,
            };
            let t = Threshold::parse(s).map_err(err)?;
            check(&t, &modes, &ops).map_err(err)?;
            Ok(t)
        })
        .collect()
}

/// Every operation of the plan's groups and mixes, by the names a result
/// counts them under.
fn plan_operations(plan: &Plan) -> Vec<String> {
    let mut v: Vec<String> = plan
        .groups
        .iter()
        .flat_map(|g| {
            let mixed = g.mix.iter().flat_map(|m| m.choices.iter().map(|(o, _)| o));
            g.ops.iter().chain(mixed).flat_map(|o| o.names())
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

fn check(t: &Threshold, modes: &[Mode], ops: &[String]) -> Result<(), String> {
    let names = || {
        modes
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mode_in = |m: &Mode| {
        if modes.contains(m) {
            Ok(())
        } else {
            Err(format!(
                "mode {m} is not in this run (its modes: {})",
                names()
            ))
        }
    };
    match &t.target {
        Target::Metric { mode, op, .. } => {
            if let Some(m) = mode {
                mode_in(m)?;
            }
            if let Some(op) = op {
                if !ops.contains(op) {
                    return Err(format!(
                        "{op:?} is neither a mode of this run ({}) nor an operation of the scenario ({})",
                        names(),
                        ops.join(", ")
                    ));
                }
            }
            Ok(())
        }
        Target::Ratio { mode, base, .. } => {
            mode_in(mode)?;
            mode_in(base)
        }
        Target::Rate { mode, .. } => mode.as_ref().map_or(Ok(()), mode_in),
    }
}

/// A value in its unit, for people.
pub fn show(v: f64, unit: &str) -> String {
    use crate::summary::format;
    match unit {
        "us" => format::micros(v.round() as u64),
        "B/s" => format!("{}/s", format::bytes(v.round() as u64)),
        "ratio" => format!("{v:.2}"),
        "fraction" => format!("{v:.4}"),
        _ => format!("{v:.1}/s"),
    }
}

/// The "thresholds:" block printed after the summary.
pub fn render(outcomes: &[ThresholdOutcome]) -> String {
    let mut out = String::new();
    if outcomes.is_empty() {
        return out;
    }
    out.push_str("\nthresholds:\n");
    for o in outcomes {
        let measured = match o.measured {
            Some(v) => show(v, &o.unit),
            None => "no samples".into(),
        };
        let mode = match (&o.mode, o.key.contains('/')) {
            (Some(m), false) if !o.key.starts_with(m.as_str()) => format!(" ({m})"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {} {} {} {}: {measured}{mode}",
            if o.pass { "✓ pass" } else { "✗ FAIL" },
            o.key,
            o.op,
            o.bound
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Counters, Metric};
    use crate::result::{MetricResult, ModeResult, RunResult};
    use std::collections::BTreeMap;
    use std::path::Path;

    fn spec(key: &str, bound: &str) -> ThresholdSpec {
        ThresholdSpec {
            key: key.into(),
            bound: bound.into(),
            abort_on_fail: false,
            delay_abort_eval: Duration::ZERO,
            at: "t".into(),
        }
    }

    fn parse(key: &str, bound: &str) -> Result<Threshold, String> {
        Threshold::parse(&spec(key, bound))
    }

    #[test]
    fn parses_the_issues_examples() {
        let t = parse("session_setup.p99", "< 50ms").unwrap();
        assert_eq!(
            t.target,
            Target::Metric {
                mode: None,
                op: None,
                metric: Metric::SessionSetup,
                stat: Stat::P99
            }
        );
        assert_eq!(
            (t.cmp, t.bound, t.bound_text.as_str()),
            (Cmp::Lt, 50_000.0, "50ms")
        );
        let t = parse("passive.data_setup.p99", "< 5ms").unwrap();
        assert!(matches!(
            t.target,
            Target::Metric {
                mode: Some(Mode::Passive),
                op: None,
                metric: Metric::DataSetup,
                ..
            }
        ));
        let t = parse("retr 1m.bin.throughput.p50", "> 100MB/s").unwrap();
        assert_eq!(
            t.target,
            Target::Metric {
                mode: None,
                op: Some("retr 1m.bin".into()),
                metric: Metric::Throughput,
                stat: Stat::P50
            }
        );
        assert_eq!((t.cmp, t.bound), (Cmp::Gt, 100e6));
        let t = parse("active.retr 1m.bin.transfer.max", "<= 2s").unwrap();
        assert!(
            matches!(&t.target, Target::Metric { mode: Some(Mode::Active), op: Some(o), .. } if o == "retr 1m.bin")
        );
        let t = parse("errors.rate", "< 0.001").unwrap();
        assert_eq!(
            t.target,
            Target::Rate {
                mode: None,
                count: Count::Errors
            }
        );
        assert_eq!(t.bound, 0.001);
        assert_eq!(parse("errors.rate", "< 0.1%").unwrap().bound, 0.001);
        let t = parse("sessions.rate", "> 200/s").unwrap();
        assert_eq!((t.cmp, t.bound), (Cmp::Gt, 200.0));
        assert_eq!(parse("logins.rate", ">= 600/m").unwrap().bound, 10.0);
        let t = parse("active/passive.data_setup.p50", "< 3").unwrap();
        assert_eq!(
            t.target,
            Target::Ratio {
                mode: Mode::Active,
                base: Mode::Passive,
                metric: Metric::DataSetup,
                stat: Stat::P50
            }
        );
        assert_eq!(
            parse("throughput.min", "> 1GiB/s").unwrap().bound,
            (1u64 << 30) as f64
        );
        assert_eq!(parse("throughput.min", "> 80Mbit/s").unwrap().bound, 10e6);
        // k6's spellings.
        let t = parse("transfer.p(99.9)", "< 1s").unwrap();
        assert!(matches!(
            t.target,
            Target::Metric {
                stat: Stat::P999,
                ..
            }
        ));
        assert!(matches!(
            parse("login.avg", "< 1s").unwrap().target,
            Target::Metric {
                stat: Stat::Mean,
                ..
            }
        ));
    }

    #[test]
    fn says_what_is_wrong() {
        let e = |k: &str, b: &str| parse(k, b).unwrap_err();
        assert!(e("sesion_setup.p99", "< 1ms").contains("unknown metric \"sesion_setup\""));
        assert!(e("session_setup.p98", "< 1ms").contains("unknown statistic \"p98\""));
        assert!(e("session_setup.p99", "< 50MB/s").contains("a latency is bounded by a duration"));
        assert!(e("throughput.p50", "> 5ms").contains("bytes per second"));
        assert!(e("active/passive.data_setup.p50", "< 3ms").contains("plain number"));
        assert!(e("session_setup.p99", "50ms").contains("must start with <"));
        assert!(e("pasive.session_setup.p99", "< 1ms").contains("\"pasive\" is not a mode"));
        assert!(e("bytes.rate", "< 1").contains("unknown rate"));
        assert!(e("p99", "< 1ms").contains("expected METRIC.STAT"));
        let mut s = spec("session_setup.p99", "< 1ms");
        s.abort_on_fail = true;
        assert!(Threshold::parse(&s).unwrap_err().contains("abort_on_fail"));
    }

    const SCENARIO: &str = r#"
    [files]
    "1m.bin" = "1MiB"
    [run]
    duration = "2s"
    [thresholds]
    "session_setup.p99" = "< 50ms"
    "errors.rate" = { threshold = "< 0.01", abort_on_fail = true, delay_abort_eval = "2s" }
    [[group]]
    users = 2
    modes = { passive = 1, active = 1 }
    ops = ["retr 1m.bin", "list"]
    "#;

    fn plan(text: &str) -> Plan {
        Plan::parse(
            text,
            Path::new("s.toml"),
            &crate::scenario::Overrides::default(),
        )
        .unwrap()
    }

    #[test]
    fn checks_modes_and_operations_against_the_plan() {
        let p = plan(SCENARIO);
        let ts = from_plan(&p, &[]).unwrap();
        assert_eq!(ts.len(), 2);
        assert!(ts[0].abort_on_fail && ts[0].delay_abort_eval == Duration::from_secs(2));
        // A flag replaces the file's bound for the same key, or adds one.
        let ts = from_plan(
            &p,
            &[
                "session_setup.p99=< 1us".into(),
                "retr 1m.bin.throughput.p50 = > 1MB/s".into(),
            ],
        )
        .unwrap();
        assert_eq!(ts.len(), 3);
        assert_eq!(ts[1].bound, 1.0);
        let e = |flag: &str| from_plan(&p, &[flag.into()]).unwrap_err().to_string();
        assert!(
            e("epsv.data_setup.p99=< 5ms")
                .contains("mode epsv is not in this run (its modes: passive, active)"),
            "{}",
            e("epsv.data_setup.p99=< 5ms")
        );
        assert!(e("epsv/passive.data_setup.p99=< 5").contains("mode epsv"));
        let m = e("retr 2m.bin.throughput.p50=> 1MB/s");
        assert!(
            m.contains("\"retr 2m.bin\" is neither a mode") && m.contains("list, retr 1m.bin"),
            "{m}"
        );
        assert!(
            m.starts_with("--threshold: threshold \"retr 2m.bin.throughput.p50\""),
            "{m}"
        );
        assert!(e("session_setup.p99").contains("KEY=BOUND"));
        let bad = SCENARIO.replace("< 50ms", "< 50MB/s");
        let m = from_plan(&plan(&bad), &[]).unwrap_err().to_string();
        assert!(
            m.starts_with("s.toml:7: threshold \"session_setup.p99\" = \"< 50MB/s\""),
            "{m}"
        );
    }

    fn metric(p50: u64, p99: u64) -> MetricResult {
        MetricResult {
            unit: "us".into(),
            count: 10,
            min: 1,
            mean: p50 as f64,
            p50,
            p90: p50,
            p99,
            p999: p99,
            max: p99,
            hdr: String::new(),
        }
    }

    fn mode(setup_p99: u64, data_p50: u64, iterations: u64, errors: u64) -> ModeResult {
        let mut metrics = BTreeMap::new();
        metrics.insert(Metric::SessionSetup, metric(100, setup_p99));
        metrics.insert(Metric::DataSetup, metric(data_p50, data_p50 * 2));
        let mut tp = metric(50_000_000, 90_000_000);
        tp.unit = "B/s".into();
        metrics.insert(Metric::Throughput, tp);
        let counters = Counters {
            sessions: iterations,
            iterations,
            transfers: iterations * 2,
            ..Counters::default()
        };
        ModeResult {
            metrics,
            counters,
            errors: (errors > 0)
                .then_some(crate::result::ErrorEntry {
                    class: crate::metrics::ErrorClass::Timeout {
                        step: crate::metrics::Step::Login,
                    },
                    count: errors,
                    sample: None,
                })
                .into_iter()
                .collect(),
            operations: BTreeMap::new(),
            sessions: None,
            tls: None,
            channels: crate::result::ChannelsResult::from_stats(
                &Default::default(),
                Mode::Passive,
                None,
            ),
        }
    }

    fn result() -> RunResult {
        let mut modes = BTreeMap::new();
        modes.insert(Mode::Passive, mode(4_000, 200, 1000, 0));
        modes.insert(Mode::Active, mode(6_000, 500, 990, 10));
        RunResult {
            schema_version: crate::result::SCHEMA_VERSION,
            tool: crate::result::Tool {
                name: "ftpload".into(),
                version: "0".into(),
            },
            scenario_name: "t".into(),
            started_at: "2026-01-01T00:00:00.000000000Z".into(),
            ended_at: "2026-01-01T00:00:10.000000000Z".into(),
            duration_s: 10.0,
            interrupted: false,
            cut_off: 0.into(),
            target: crate::result::TargetInfo {
                kind: "embedded".into(),
                host: "127.0.0.1".into(),
                port: 21,
                user: "u".into(),
                banner: String::new(),
                family: "ipv4".into(),
            },
            scenario: serde_json::Value::Null,
            modes,
            groups: Vec::new(),
            timeline: Vec::new(),
            generator: None,
            sources: Vec::new(),
            kernel: None,
            thresholds: Vec::new(),
            aborted_by_threshold: None,
            start_at: None,
            shards: Vec::new(),
            server: None,
        }
    }

    #[test]
    fn judges_a_result() {
        let r = result();
        let ts: Vec<Threshold> = [
            ("session_setup.p99", "< 5ms"),
            ("passive.session_setup.p99", "< 5ms"),
            ("active/passive.data_setup.p50", "< 3"),
            ("active/passive.data_setup.p50", "< 2"),
            ("throughput.p50", "> 40MB/s"),
            ("errors.rate", "< 0.001"),
            ("passive.errors.rate", "< 0.001"),
            ("sessions.rate", "> 150/s"),
            ("transfers.rate", ">= 398/s"),
            ("retr 1m.bin.throughput.p50", "> 1MB/s"),
        ]
        .iter()
        .map(|(k, b)| parse(k, b).unwrap())
        .collect();
        let o = evaluate(&ts, &r);
        let got: Vec<(bool, Option<f64>, Option<Mode>)> =
            o.iter().map(|o| (o.pass, o.measured, o.mode)).collect();
        assert_eq!(
            got,
            [
                (false, Some(6000.0), Some(Mode::Active)), // the worst mode
                (true, Some(4000.0), Some(Mode::Passive)),
                (true, Some(2.5), Some(Mode::Active)),
                (false, Some(2.5), Some(Mode::Active)),
                (true, Some(50e6), Some(Mode::Passive)), // a lower bound's worst is the least
                (false, Some(10.0 / 1990.0), None),
                (true, Some(0.0), Some(Mode::Passive)),
                (true, Some(199.0), None),
                (true, Some(398.0), None),
                (false, None, None), // no per-operation figures yet
            ]
        );
        let text = render(&o);
        assert!(
            text.contains("✗ FAIL session_setup.p99 < 5ms: 6.00ms (active)"),
            "{text}"
        );
        assert!(
            text.contains("✓ pass active/passive.data_setup.p50 < 3: 2.50"),
            "{text}"
        );
        assert!(text.contains("no samples"), "{text}");
    }

    #[test]
    fn abort_looks_at_the_totals_after_its_delay() {
        let mut s = spec("errors.rate", "< 0.01");
        s.abort_on_fail = true;
        s.delay_abort_eval = Duration::from_secs(5);
        let ts = vec![Threshold::parse(&s).unwrap()];
        let c = Counters {
            iterations: 10,
            ..Counters::default()
        };
        assert!(
            lost_early(&ts, Duration::from_secs(4), &c, 5).is_none(),
            "too early"
        );
        assert_eq!(
            lost_early(&ts, Duration::from_secs(5), &c, 5).unwrap().key,
            "errors.rate"
        );
        assert!(lost_early(&ts, Duration::from_secs(5), &c, 0).is_none());
    }

    #[test]
    fn junit_has_a_case_per_threshold_and_a_failure_per_breach() {
        let mut r = result();
        r.scenario_name = "a<b".into();
        let ts = [
            parse("session_setup.p99", "< 5ms").unwrap(),
            parse("passive.session_setup.p99", "< 5ms").unwrap(),
        ];
        r.thresholds = evaluate(&ts, &r);
        let x = junit::xml(&r);
        assert_eq!(x.matches("<testcase ").count(), 2, "{x}");
        assert_eq!(x.matches("<failure ").count(), 1, "{x}");
        assert!(
            x.contains("testsuite name=\"a&lt;b\" tests=\"2\" failures=\"1\""),
            "{x}"
        );
        assert!(
            x.contains("session_setup.p99 &lt; 5ms: measured 6.00ms (active)"),
            "{x}"
        );
    }
}
