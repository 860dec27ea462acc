//! `ftpload compare`: two results, and an exit code of its own for a
//! regression, for CI to act on.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{exit, UsageError};
use crate::compare::{self, Thresholds};
use crate::metrics::Metric;
use crate::result::RunResult;

const COMPARE_HELP: &str = "\
Per mode and metric, the change of p50 and p99 from BASE to NEW (latencies are worse higher,
throughput worse lower). A change is a regression only when it is worse by more than
--max-regression percent (or the metric's --max-regression-for) and lies outside the noise
the two runs show themselves: a change is within noise when under 3 × √(a² + b²), a and b
each run's spread (1.4826 × median absolute deviation) of that statistic over its
per-second interval histograms. With fewer than 3 seconds in either run, the threshold
alone decides.

Examples:
  ftpload compare results/base.json results/new.json
  ftpload compare base.json new.json --max-regression 5 --max-regression-for data_setup=20 --format markdown

Exit codes: 0 no regression, 2 bad input (unreadable results, different scenarios or
targets without --force), 5 a regression (the table and the last line name it).";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned table for the terminal.
    Text,
    /// A markdown table for a pull-request comment, its verdict on top.
    Markdown,
}

/// `ftpload compare`.
#[derive(Debug, Args)]
#[command(after_help = COMPARE_HELP)]
pub struct CompareArgs {
    /// The result to compare against (written by `ftpload run`).
    #[arg(value_name = "BASE.json")]
    pub base: PathBuf,
    /// The result to judge.
    #[arg(value_name = "NEW.json")]
    pub new: PathBuf,
    /// Allowed worsening of a metric's p50 or p99, in percent.
    #[arg(long, value_name = "PCT", default_value_t = compare::DEFAULT_MAX_REGRESSION, value_parser = parse_pct)]
    pub max_regression: f64,
    /// Allowed worsening for one metric, e.g. data_setup=20 (repeatable).
    #[arg(long, value_name = "METRIC=PCT", value_parser = parse_override)]
    pub max_regression_for: Vec<(Metric, f64)>,
    /// Output: text (a terminal table) or markdown (for a pull-request comment).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Compare results of different scenarios or targets anyway.
    #[arg(long)]
    pub force: bool,
}

fn parse_pct(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("{s:?} is not a percentage"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("{s:?}: a percentage must be 0 or more"))
    }
}

fn parse_override(s: &str) -> Result<(Metric, f64), String> {
    let (name, pct) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected METRIC=PCT, e.g. data_setup=20"))?;
    let metric = Metric::ALL
        .into_iter()
        .find(|m| m.as_str() == name.trim())
        .ok_or_else(|| {
            let names: Vec<&str> = Metric::ALL.iter().map(|m| m.as_str()).collect();
            format!("unknown metric {name:?}; one of {}", names.join(", "))
        })?;
    Ok((metric, parse_pct(pct)?))
}

pub(super) fn execute(a: CompareArgs) -> anyhow::Result<ExitCode> {
    let read = |p: &PathBuf| RunResult::read(p).map_err(|e| UsageError(e.to_string()));
    let (base, new) = (read(&a.base)?, read(&a.new)?);
    if let Some(why) = compare::mismatch(&base, &new) {
        if !a.force {
            return Err(UsageError(format!("{why}; --force compares them anyway")).into());
        }
        eprintln!("warning: {why}; compared anyway (--force)");
    }
    let t = Thresholds {
        default_pct: a.max_regression,
        per_metric: a.max_regression_for.into_iter().collect(),
    };
    let c = compare::compare(&base, &new, &t);
    let (b, n) = (a.base.display().to_string(), a.new.display().to_string());
    match a.format {
        Format::Text => print!("{}", compare::text(&c, &b, &n)),
        Format::Markdown => print!("{}", compare::markdown(&c, &b, &n)),
    }
    Ok(ExitCode::from(if c.has_regression() {
        exit::REGRESSION
    } else {
        exit::OK
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_parse() {
        assert_eq!(
            parse_override("data_setup=20").unwrap(),
            (Metric::DataSetup, 20.0)
        );
        assert_eq!(parse_override("login=5%").unwrap(), (Metric::Login, 5.0));
        assert!(parse_override("nope=5")
            .unwrap_err()
            .contains("session_setup"));
        assert!(parse_override("login").is_err());
        assert!(parse_override("login=-1").is_err());
    }
}
