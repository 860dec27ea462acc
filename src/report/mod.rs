//! Reading results back: a markdown table over several runs (one row per run
//! and mode, with active's overhead against passive), the HTML report with
//! its charts (`html`, `charts`, `svg`, `spectrum`), a result as CSV files
//! (`csv`), and exact merging of runs made on several machines.

mod charts;
pub mod csv;
mod html;
mod spectrum;
mod svg;

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
    out.push_str(&server_table(runs));
    for (name, r) in runs {
        let stages = crate::summary::stages::render(r, true);
        if !stages.is_empty() {
            let _ = write!(out, "\nStages of {name} (rates per second over each stage; p99 merged from the timeline's interval histograms):\n\n{stages}");
        }
    }
    out
}

/// What the server paid in each run that watched it (`server`), one row
/// per run; empty when none did.
fn server_table(runs: &[(String, RunResult)]) -> String {
    let mut out = String::new();
    let watched: Vec<_> = runs
        .iter()
        .filter_map(|(n, r)| Some((n, r, r.server.as_ref()?)))
        .collect();
    if watched.is_empty() {
        return out;
    }
    out.push_str("\nWhat the server paid (its `server`; per data channel: all its CPU over the channels):\n\n");
    out.push_str("| run | server | watched | mode | CPU s | CPU / session ms | CPU / data channel ms | memory / session | processes / session | fds / session |\n");
    out.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    let opt = |v: Option<f64>, digits: usize| v.map_or("-".into(), |x| format!("{x:.digits$}"));
    for (name, r, s) in watched {
        let p = &s.per_session;
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {:.2} | {} | {} | {} | {} | {} |",
            server_label(r),
            s.source,
            s.mode.map_or("all".to_string(), |m| m.to_string()),
            s.cpu_s,
            opt(p.cpu_ms, 3),
            opt(s.cpu_ms_per_data_channel, 3),
            p.memory_bytes
                .map_or("-".into(), crate::summary::format::bytes),
            opt(p.processes, 2),
            opt(p.fds, 2),
        );
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

/// A result as read for the HTML report: its name, the typed result, and
/// the file's JSON as written, for the fields this version does not type
/// (thresholds, recorded by a newer writer).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub name: String,
    pub run: RunResult,
    pub raw: serde_json::Value,
}

fn load(p: &Path) -> Result<Loaded, ResultError> {
    let run = RunResult::read(p)?;
    let text = std::fs::read_to_string(p).map_err(|error| ResultError::Read {
        path: p.to_path_buf(),
        error,
    })?;
    let raw = serde_json::from_str(&text).map_err(|e| ResultError::Parse {
        path: p.to_path_buf(),
        message: e.to_string(),
    })?;
    let name = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Loaded { name, run, raw })
}

/// Reads results for the HTML report.
pub fn load_all(paths: &[impl AsRef<Path>]) -> Result<Vec<Loaded>, ResultError> {
    paths.iter().map(|p| load(p.as_ref())).collect()
}

/// The HTML report over the given results: one self-contained page.
pub fn html(runs: &[Loaded]) -> String {
    html::page(runs)
}

/// Each chart of the HTML report as its own `<svg>` (title, svg), every one
/// `CHART_SIZE` pixels: what the browser test draws and checks one by one.
pub fn chart_svgs(runs: &[Loaded]) -> Vec<(String, String)> {
    let typed: Vec<(String, RunResult)> = runs
        .iter()
        .map(|l| (l.name.clone(), l.run.clone()))
        .collect();
    charts::all(&typed)
        .into_iter()
        .map(|(_, c)| (c.title.clone(), c.render()))
        .collect()
}

/// Width and height of every chart of the HTML report, in CSS pixels.
pub const CHART_SIZE: (u32, u32) = (charts::WIDTH as u32, charts::HEIGHT as u32);

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
