//! The comparison for people: an aligned terminal table, or markdown for a
//! pull-request comment with its verdict on top.

use std::fmt::Write as _;

use super::{label, Change, Comparison, Row, Verdict};
use crate::summary::format::{align, value};

fn pct(c: &Change) -> String {
    format!("{:+.1}%", c.pct)
}

fn verdict_cell(r: &Row) -> String {
    let v = r.verdict();
    let which: Vec<&str> = [("p50", &r.p50), ("p99", &r.p99)]
        .into_iter()
        .filter(|(_, c)| c.verdict == v)
        .map(|(s, _)| s)
        .collect();
    match v {
        Verdict::Ok => "ok".into(),
        _ => format!("{} ({})", v.words(), which.join(", ")),
    }
}

fn cells(r: &Row) -> Vec<String> {
    vec![
        r.mode.to_string(),
        label(r),
        format!(
            "{} / {}",
            value(r.metric, r.p50.base),
            value(r.metric, r.p99.base)
        ),
        format!(
            "{} / {}",
            value(r.metric, r.p50.new),
            value(r.metric, r.p99.new)
        ),
        format!("{} / {}", pct(&r.p50), pct(&r.p99)),
        format!("{:.0}%", r.threshold_pct),
        verdict_cell(r),
    ]
}

const HEADER: [&str; 7] = [
    "mode",
    "metric",
    "base p50 / p99",
    "new p50 / p99",
    "change p50 / p99",
    "allowed",
    "verdict",
];

const STATISTIC: &str = "p50 and p99 of each metric over the whole run; latencies are worse higher, throughput worse lower (and judged at p50 only: its p99 is the fastest transfers)";

/// The terminal table.
pub fn text(c: &Comparison, base: &str, new: &str) -> String {
    let mut out = format!(
        "compare {base} (base) → {new} (new)\n{STATISTIC}\n{}\n\n",
        c.noise_line()
    );
    let mut table = vec![HEADER.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    table.extend(c.rows.iter().map(cells));
    out.push_str(&align(&table));
    for n in &c.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let _ = writeln!(out, "\n{}", c.headline());
    out
}

/// A markdown table for a pull-request comment, its verdict on top.
pub fn markdown(c: &Comparison, base: &str, new: &str) -> String {
    let mark = if c.has_regression() { "❌" } else { "✅" };
    let mut out = format!(
        "**{mark} {}** — `{new}` against `{base}`\n\n{STATISTIC}; {}.\n\n",
        c.headline(),
        c.noise_line()
    );
    let _ = writeln!(out, "| {} |", HEADER.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(HEADER.len()));
    for r in &c.rows {
        let _ = writeln!(out, "| {} |", cells(r).join(" | "));
    }
    for n in &c.notes {
        let _ = writeln!(out, "\nNote: {n}");
    }
    out
}
