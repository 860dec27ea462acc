//! Stage by stage: for a run ramped in stages (of rate or of users), what
//! each stage offered, what the server achieved, and the p99 latencies over
//! the stage, merged exactly from the timeline's interval histograms. This
//! is the capacity planner's view: the stage where achieved falls behind
//! offered, or p99 climbs, is where the server stops keeping up.

use hdrhistogram::Histogram;
use serde_json::Value;
use std::fmt::Write as _;
use std::time::Duration;

use super::format::micros;
use crate::metrics::Metric;
use crate::result::{decode_full, RunResult};

/// One stage's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct StageRow {
    /// "1", "2", ... and "after" for the grace period past the last stage.
    pub name: String,
    pub from_s: f64,
    pub to_s: f64,
    /// What the scenario asked for: "20→100/s" or "0→6 users".
    pub target: String,
    /// Per second over the stage: arrivals offered (open loop), iterations
    /// started and iterations ended; the last two unknown in a result from
    /// before the timeline counted them.
    pub offered_per_s: Option<f64>,
    pub started_per_s: Option<f64>,
    pub achieved_per_s: Option<f64>,
    pub errors: u64,
    pub clients_max: u64,
    pub p99_session_setup_us: Option<u64>,
    pub p99_iteration_corrected_us: Option<u64>,
    pub p99_schedule_lag_us: Option<u64>,
}

/// The stages the run's plan had, as (duration, where it starts, where it ends, unit).
fn plan_stages(scenario: &Value) -> Option<Vec<(Duration, f64, f64, &'static str)>> {
    let dur = |s: &Value| {
        s["duration"]
            .as_str()
            .and_then(|d| humantime::parse_duration(d).ok())
    };
    let mut out = Vec::new();
    if let Some(stages) = scenario["user_stages"].as_array() {
        let mut from = 0.0;
        for s in stages {
            let to = s["users"].as_f64()?;
            out.push((dur(s)?, from, to, " users"));
            from = to;
        }
    } else if let Some(stages) = scenario["open_loop"]["stages"].as_array() {
        let mut from = scenario["open_loop"]["rate"].as_f64()?;
        for s in stages {
            let to = s["rate"].as_f64()?;
            out.push((dur(s)?, from, to, "/s"));
            from = to;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// One row per stage, plus "after" when the timeline runs past the last.
pub fn rows(r: &RunResult) -> Vec<StageRow> {
    let Some(stages) = plan_stages(&r.scenario) else {
        return Vec::new();
    };
    let mut windows = Vec::new();
    let mut start = 0.0;
    for (i, (d, from, to, unit)) in stages.iter().enumerate() {
        let end = start + d.as_secs_f64();
        windows.push((
            (i + 1).to_string(),
            start,
            end,
            format!("{from:.0}→{to:.0}{unit}"),
        ));
        start = end;
    }
    if r.timeline.iter().any(|i| f64::from(i.t_s) > start) {
        let last = r.timeline.last().map(|i| f64::from(i.t_s)).unwrap_or(start);
        windows.push(("after".into(), start, last, "grace".into()));
    }
    windows
        .into_iter()
        .map(|(name, from_s, to_s, target)| row(r, name, from_s, to_s, target))
        .collect()
}

fn row(r: &RunResult, name: String, from_s: f64, to_s: f64, target: String) -> StageRow {
    let secs = (to_s - from_s).max(1e-9);
    // An interval belongs to the stage its end falls in.
    let intervals: Vec<_> = r
        .timeline
        .iter()
        .filter(|i| f64::from(i.t_s) > from_s && f64::from(i.t_s) <= to_s)
        .collect();
    let p99 = |metric: Metric| {
        let mut h: Option<Histogram<u64>> = None;
        for i in &intervals {
            for (mode, m) in &i.modes {
                let Some(x) = m.metrics.get(&metric) else {
                    continue;
                };
                let Ok(part) = decode_full(metric, *mode, &x.hdr) else {
                    continue;
                };
                match &mut h {
                    Some(h) => {
                        let _ = h.add(&part);
                    }
                    None => h = Some(part),
                }
            }
        }
        h.filter(|h| !h.is_empty())
            .map(|h| h.value_at_quantile(0.99))
    };
    let sum = |f: &dyn Fn(&crate::result::timeline::ModeInterval) -> u64| -> u64 {
        intervals.iter().flat_map(|i| i.modes.values()).map(f).sum()
    };
    let per_s = |n: Option<u64>| n.map(|n| n as f64 / secs);
    let offered: Option<u64> = intervals
        .iter()
        .map(|i| i.offered)
        .sum::<Option<u64>>()
        .filter(|_| !intervals.is_empty());
    StageRow {
        name,
        from_s,
        to_s,
        target,
        offered_per_s: offered.map(|o| o as f64 / secs),
        started_per_s: per_s(intervals.iter().map(|i| i.started.get()).sum()),
        achieved_per_s: per_s(
            intervals
                .iter()
                .flat_map(|i| i.modes.values())
                .map(|m| m.iterations.get())
                .sum(),
        ),
        errors: sum(&|m| m.errors),
        clients_max: intervals.iter().map(|i| i.clients).max().unwrap_or(0),
        p99_session_setup_us: p99(Metric::SessionSetup),
        p99_iteration_corrected_us: p99(Metric::IterationCorrected),
        p99_schedule_lag_us: p99(Metric::ScheduleLag),
    }
}

/// The stage table as aligned text (terminal) or markdown (report).
pub fn render(r: &RunResult, markdown: bool) -> String {
    let rows = rows(r);
    if rows.is_empty() {
        return String::new();
    }
    let opt = |v: Option<u64>| v.map(micros).unwrap_or_else(|| "-".into());
    let mut table = vec![[
        "stage",
        "seconds",
        "target",
        "offered/s",
        "started/s",
        "achieved/s",
        "errors",
        "clients max",
        "session_setup p99",
        "iteration_corrected p99",
        "schedule_lag p99",
    ]
    .map(String::from)
    .to_vec()];
    for s in &rows {
        table.push(vec![
            s.name.clone(),
            format!("{:.0}–{:.0}", s.from_s, s.to_s),
            s.target.clone(),
            s.offered_per_s
                .map(|o| format!("{o:.1}"))
                .unwrap_or_else(|| "-".into()),
            s.started_per_s
                .map_or_else(|| "unknown".into(), |v| format!("{v:.1}")),
            s.achieved_per_s
                .map_or_else(|| "unknown".into(), |v| format!("{v:.1}")),
            s.errors.to_string(),
            s.clients_max.to_string(),
            opt(s.p99_session_setup_us),
            opt(s.p99_iteration_corrected_us),
            opt(s.p99_schedule_lag_us),
        ]);
    }
    let mut out = String::new();
    if markdown {
        for (i, row) in table.iter().enumerate() {
            let _ = writeln!(out, "| {} |", row.join(" | "));
            if i == 0 {
                let _ = writeln!(out, "|{}", "---|".repeat(row.len()));
            }
        }
    } else {
        out.push_str("\nper stage (rates per second over the stage; p99 over its intervals):\n");
        out.push_str(&super::format::align(&table));
    }
    out
}
