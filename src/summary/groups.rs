//! The per-group table: one row per group and mode, with the figures that
//! tell groups apart (how many got through, and how long they waited).

use std::fmt::Write as _;

use super::format::{align, micros};
use crate::metrics::Metric;
use crate::result::{GroupModeResult, RunResult};

/// Empty when the run had a single group (the main table already is it).
pub fn render(r: &RunResult) -> String {
    if r.groups.is_empty() {
        return String::new();
    }
    let p = |s: &GroupModeResult, m: Metric| {
        s.metrics
            .get(&m)
            .filter(|x| x.count > 0)
            .map(|x| format!("{} / {}", micros(x.p50), micros(x.p99)))
            .unwrap_or_else(|| "-".into())
    };
    let mut table = vec![[
        "group",
        "mode",
        "users",
        "sessions ok/failed",
        "iterations ok/failed",
        "transfers",
        "errors",
        "session_setup p50 / p99",
        "transfer p50 / p99",
        "iteration_corrected p50 / p99",
    ]
    .map(String::from)
    .to_vec()];
    for g in &r.groups {
        for (m, s) in &g.modes {
            let c = &s.counters;
            table.push(vec![
                g.name.clone(),
                m.to_string(),
                g.users.to_string(),
                format!("{} / {}", c.sessions, c.sessions_failed),
                format!("{} / {}", c.iterations, c.iterations_failed),
                c.transfers.to_string(),
                s.error_count().to_string(),
                p(s, Metric::SessionSetup),
                p(s, Metric::Transfer),
                p(s, Metric::IterationCorrected),
            ]);
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "\nper group (the table above is their sum):");
    out.push_str(&align(&table));
    out
}
