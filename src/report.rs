//! Reading results back: a markdown table over several runs (one row per run
//! and mode, with active's overhead against passive), and exact merging of
//! runs made on several machines.

use std::fmt::Write as _;
use std::path::Path;

use crate::metrics::Metric;
use crate::proto::Mode;
use crate::result::{ModeResult, ResultError, RunResult};
use crate::summary::format::{bytes, micros};

/// A name for the server of a run: its banner, or the target's address.
fn server_label(r: &RunResult) -> String {
    // pure-ftpd's banner starts with a rule of dashes.
    let b = r
        .target
        .banner
        .trim_matches(|c: char| c == '-' || c.is_whitespace());
    if r.target.kind == "embedded" {
        "embedded (libunftp)".into()
    } else if b.is_empty() {
        format!("{}:{}", r.target.host, r.target.port)
    } else {
        b.chars().take(40).collect()
    }
}

fn p(m: &ModeResult, metric: Metric, q: fn(&crate::result::MetricResult) -> u64) -> String {
    let Some(x) = m.metrics.get(&metric) else {
        return "-".into();
    };
    if x.count == 0 {
        "-".into()
    } else if metric == Metric::Throughput {
        format!("{}/s", bytes(q(x)))
    } else {
        micros(q(x))
    }
}

fn ratio(a: u64, b: u64) -> String {
    if b == 0 || a == 0 {
        "-".into()
    } else {
        format!("{:.2}×", a as f64 / b as f64)
    }
}

/// One markdown table over the given runs.
pub fn markdown(runs: &[(String, RunResult)]) -> String {
    let mut out = String::new();
    out.push_str("| run | server | mode | session setup p50 / p99 | data setup p50 / p99 | transfer p50 | throughput p50 | sessions | transfers | errors |\n");
    out.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for (name, r) in runs {
        for (mode, m) in &r.modes {
            let _ = writeln!(
                out,
                "| {name} | {} | {mode} | {} / {} | {} / {} | {} | {} | {} | {} | {} |",
                server_label(r),
                p(m, Metric::SessionSetup, |x| x.p50),
                p(m, Metric::SessionSetup, |x| x.p99),
                p(m, Metric::DataSetup, |x| x.p50),
                p(m, Metric::DataSetup, |x| x.p99),
                p(m, Metric::Transfer, |x| x.p50),
                p(m, Metric::Throughput, |x| x.p50),
                m.counters.sessions,
                m.counters.transfers,
                m.error_count(),
            );
        }
    }
    out.push_str(
        "\nActive against passive, same run (p50 ratios; above 1× means active is slower):\n\n",
    );
    out.push_str("| run | server | data setup: active / passive | eprt / epsv | transfer: active / passive | eprt / epsv |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for (name, r) in runs {
        let get = |mode: Mode, metric: Metric| {
            r.modes
                .get(&mode)
                .and_then(|m| m.metrics.get(&metric))
                .map(|x| x.p50)
                .unwrap_or(0)
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} |",
            server_label(r),
            ratio(
                get(Mode::Active, Metric::DataSetup),
                get(Mode::Passive, Metric::DataSetup)
            ),
            ratio(
                get(Mode::Eprt, Metric::DataSetup),
                get(Mode::Epsv, Metric::DataSetup)
            ),
            ratio(
                get(Mode::Active, Metric::Transfer),
                get(Mode::Passive, Metric::Transfer)
            ),
            ratio(
                get(Mode::Eprt, Metric::Transfer),
                get(Mode::Epsv, Metric::Transfer)
            ),
        );
    }
    for (name, r) in runs {
        let stages = crate::summary::stages::render(r, true);
        if !stages.is_empty() {
            let _ = write!(out, "\nStages of {name} (rates per second over each stage; p99 merged from the timeline's interval histograms):\n\n{stages}");
        }
    }
    out
}

pub fn read_all(paths: &[impl AsRef<Path>]) -> Result<Vec<(String, RunResult)>, ResultError> {
    paths
        .iter()
        .map(|p| {
            let p = p.as_ref();
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            RunResult::read(p).map(|r| (name, r))
        })
        .collect()
}

/// Merges runs exactly: histograms and counters add.
pub fn merge(runs: Vec<(String, RunResult)>) -> Result<Option<RunResult>, ResultError> {
    let mut it = runs.into_iter().map(|(_, r)| r);
    let Some(mut total) = it.next() else {
        return Ok(None);
    };
    for r in it {
        total.try_merge(&r)?;
    }
    Ok(Some(total))
}
