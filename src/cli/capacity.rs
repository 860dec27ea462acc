//! `ftpload capacity`: the search's flags, and its exit code, which says
//! whether any level held rather than whether any run failed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::signal::Signals;
use super::{exit, said_fallback, TargetArgs, UsageError};
use crate::scenario::units::parse_duration;
use crate::scenario::Overrides;

const CAPACITY_HELP: &str = "\
Each step is one `run` of the scenario with --users set to the level and --duration to
--step-duration (ramp-up as the scenario says, or the default), against a fresh embedded
target when there is no --target. Levels rise by --step (start, start+step, ...) or by
--factor (start, start*F, ...); the last level is --max itself. A level holds when, in every
transfer mode, the error rate (the worse of failed iterations / all iterations and failed
logins / all logins) and the p99 session and data setup are within their limits. The search stops at
the first level that breaks.

Writes into --out-dir (default results/<UTC time>-<scenario>-capacity/): step-<users>.json
(each step's full result), capacity.json (limits, steps, highest_held, first_broken) and
capacity.csv (one row per step, for a chart).

Examples:
  ftpload capacity scenarios/smoke.toml --start 10 --factor 2 --max 160 --step-duration 5s
      Try 10, 20, 40, 80, 160 clients against the embedded target, 5 s each.
  FTPLOAD_PASSWORD=secret ftpload capacity scenarios/reference.toml --target ftp://bob@127.0.0.1:2121 --start 50 --step 50 --max 500 --max-p99-session-setup 250ms
      Step an external server up by 50 clients until logins take over 250 ms at p99.

Exit codes: 0 a level held (and a break was found or --max held), 1 even the first level
broke, 2 bad input, 3 could not run, 130 interrupted (completed steps are written).";

#[derive(Debug, Args)]
#[command(after_help = CAPACITY_HELP)]
pub struct CapacityArgs {
    /// Scenario file (TOML); its users and duration are replaced by each step's.
    pub scenario: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Spread each step's client starts over this long (default: the scenario's, or 20 ms per client).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub ramp_up: Option<Duration>,
    /// Clients of the first step.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub start: u32,
    /// Clients added per step (default: --start).
    #[arg(long, value_name = "N", conflicts_with = "factor")]
    pub step: Option<u32>,
    /// Multiply the clients by F per step instead, e.g. 2.
    #[arg(long, value_name = "F")]
    pub factor: Option<f64>,
    /// The highest level tried; the search ends there.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max: u32,
    /// Length of each step including ramp-up.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    pub step_duration: Duration,
    /// Highest failed fraction of iterations and sessions that still holds.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.01)]
    pub max_error_rate: f64,
    /// Highest p99 of connect-to-230 that still holds.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1s")]
    pub max_p99_session_setup: Duration,
    /// Highest p99 of PASV/EPSV/PORT/EPRT-to-connected that still holds.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1s")]
    pub max_p99_data_setup: Duration,
    /// dkftpbench's score: a level also breaks when any transfer moves slower
    /// than this, e.g. 1Mbit/s; give the group the same `bandwidth` cap, and
    /// the highest level that holds is the number of users who each keep
    /// their line's rate.
    #[arg(long, value_name = "BANDWIDTH", value_parser = crate::scenario::units::parse_bandwidth)]
    pub min_throughput: Option<u64>,
    /// Also stop at a level where the server used more than this share of
    /// its host's cores over the step, e.g. 80% (the server must be watched:
    /// on this host, or --server-metrics).
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    pub max_server_cpu: Option<f64>,
    #[command(flatten)]
    pub server: super::run::ServerArgs,
    /// Folder for the step results, capacity.json and capacity.csv.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// No progress lines.
    #[arg(long, short)]
    pub quiet: bool,
}

pub(super) fn execute(a: CapacityArgs, signals: &Signals) -> anyhow::Result<ExitCode> {
    use crate::capacity::{self, CapacityError, Growth, Limits, Search};
    let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    let search = Search {
        scenario: a.scenario,
        overrides: Overrides {
            ramp_up: a.ramp_up,
            server_watch: a.server.watch()?,
            ..a.target.overrides()?
        },
        start: a.start,
        growth: match a.factor {
            Some(f) => Growth::Factor(f),
            None => Growth::Step(a.step.unwrap_or(a.start)),
        },
        max: a.max,
        step_duration: a.step_duration,
        limits: Limits {
            max_error_rate: a.max_error_rate,
            max_p99_session_setup_us: us(a.max_p99_session_setup),
            max_p99_data_setup_us: us(a.max_p99_data_setup),
            min_throughput: a.min_throughput,
            max_server_cpu: a.max_server_cpu,
        },
        out_dir: a.out_dir,
        quiet: a.quiet,
        cancel: signals.cancel(),
    };
    let mut header = false;
    let found = capacity::search(&search, &mut |step| {
        if !std::mem::replace(&mut header, true) {
            println!("{}", capacity::TABLE_HEADER);
        }
        println!("{}", capacity::table_row(step));
    })
    .map_err(|e| match e {
        CapacityError::Usage(m) => anyhow::Error::new(UsageError(m)),
        CapacityError::Scenario(e) => anyhow::Error::new(e),
        CapacityError::Unwritable(e) => anyhow::Error::new(e),
        e => anyhow::Error::new(e),
    })?;
    let c = &found.capacity;
    println!("\n{}", capacity::verdict(c));
    let json = found.dir.join("capacity.json");
    if said_fallback("capacity.json", &json, found.failed.as_ref()) {
        return Ok(ExitCode::from(exit::RUN));
    }
    println!("capacity written to {}", json.display());
    Ok(ExitCode::from(if c.interrupted {
        signals.exit_code()
    } else if c.highest_held.is_none() {
        exit::FAILURES
    } else {
        exit::OK
    }))
}

/// "80%" or "80" as 0.8: a share from 0% to 100%.
fn parse_percent(s: &str) -> Result<f64, String> {
    let n: f64 = s
        .trim()
        .trim_end_matches('%')
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a percentage, e.g. 80%"))?;
    if !(0.0..=100.0).contains(&n) {
        return Err(format!("{s:?}: a percentage from 0% to 100%"));
    }
    Ok(n / 100.0)
}
