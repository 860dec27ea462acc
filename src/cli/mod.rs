//! Command-line flags (clap) and how they map onto the library: flags override
//! the scenario file, then everything is validated once into a `Plan`.
//!
//! Each command with flags of its own has them, and its handler, in a file of
//! its own; what they share (the target flags, the password, the exit codes,
//! usage errors) is here.

mod capacity;
mod compare;
mod merge;
mod probe;
mod run;
mod serve;
mod shards;
mod signal;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::proto::Mode;
use crate::proto::PortRange;
use crate::result::write;
use crate::scenario::{Overrides, ScenarioError};

pub use capacity::CapacityArgs;
pub use compare::CompareArgs;
pub use probe::ProbeArgs;
pub use run::RunArgs;
pub use serve::ServeArgs;

/// Exit codes a CI job can act on.
pub mod exit {
    /// The run finished and recorded no failure.
    pub const OK: u8 = 0;
    /// The run finished, but recorded failures (see the result's `errors`).
    pub const FAILURES: u8 = 1;
    /// Bad input: a malformed scenario or flag. Nothing ran.
    pub const USAGE: u8 = 2;
    /// The run could not start or finish: target unreachable, login refused,
    /// result not writable.
    pub const RUN: u8 = 3;
    /// `probe`: logged in, but at least one mode asked for failed.
    pub const MODES_FAILED: u8 = 4;
    /// `compare`: the new result regressed past the threshold and the noise.
    pub const REGRESSION: u8 = 5;
    /// `run`: a threshold failed (k6's code), or one with `abort_on_fail`
    /// stopped the run. Signals (130, 143) come first; failures (1) after.
    pub const THRESHOLDS: u8 = 99;
    /// Interrupted by SIGINT (Ctrl-C); the partial result was written.
    pub const INTERRUPTED: u8 = 130;
    /// Stopped by SIGTERM (a CI cancel, `timeout`, an evicted pod); the
    /// partial result was written.
    pub const TERMINATED: u8 = 143;
}

const AFTER_HELP: &str = "\
Examples:
  ftpload run scenarios/smoke.toml
      Start the embedded FTP server on loopback and load it in passive, EPSV and active mode.
  FTPLOAD_PASSWORD=secret ftpload run scenarios/reference.toml --target ftp://bob@127.0.0.1:2121 --mode epsv --users 50 --duration 1m
      Load an external server with 50 clients in EPSV mode for a minute.
  ftpload serve --port 2121 --passive-ports 30000-30099 --file 1m.bin=1MiB
      Run the embedded target alone, for other tools.
  ftpload probe ftp://bob@127.0.0.1:2121
      Diagnose a server's data connections in the four modes (see `ftpload probe --help`).

Exit codes: 0 clean run, 1 run recorded failures, 2 bad input, 3 could not run, 4 (probe) a mode failed, 5 (compare) a regression, 99 a threshold failed, 130 interrupted by Ctrl-C, 143 by SIGTERM (partial result written).";

#[derive(Debug, Parser)]
#[command(name = "ftpload", version, about = "Load generator and benchmark harness for FTP servers", long_about = "Load generator and benchmark harness for FTP servers.\n\nDrives a population of virtual FTP clients, each in its transfer mode (passive PASV, extended passive EPSV, active PORT, extended active EPRT), and records connection setup, data-channel setup, time to first byte, transfer time and throughput per mode into HDR histograms, written as a mergeable JSON result.", after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run a scenario and write its JSON result.
    Run(RunArgs),
    /// Run the embedded FTP target (libunftp) on loopback until Ctrl-C or SIGTERM.
    Serve(ServeArgs),
    /// Print a markdown table over result files (one row per run and mode,
    /// and active's overhead against passive), or write an HTML report with
    /// charts (--out FILE.html).
    Report {
        /// Result files written by `ftpload run`.
        #[arg(required = true)]
        results: Vec<PathBuf>,
        /// Write the report to this file instead of printing it; a name
        /// ending in .html makes it the HTML report unless --format says otherwise.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// markdown (the table) or html (one self-contained page: percentile
        /// spectra, timeline, ports, thresholds).
        #[arg(long, value_name = "FORMAT")]
        format: Option<ReportFormat>,
        /// Write the one result given as CSV files into this folder instead:
        /// summary.csv, timeline.csv, counters.csv.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["out", "format"])]
        csv: Option<PathBuf>,
    },
    /// Merge result files from several machines exactly (histograms and
    /// counters add) into one.
    Merge {
        /// Result files written by `ftpload run`, of one scenario, or
        /// directories of them (every `*.json` inside): a directory holds a
        /// sharded run's results, and a shard missing from it is an error
        /// naming it.
        #[arg(required = true)]
        results: Vec<PathBuf>,
        /// Where to write the merged result (`-`: stdout, the summary then
        /// to stderr).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Merge results of different scenarios or targets all the same
        /// (refused by default: their sum describes no run).
        #[arg(long)]
        force: bool,
    },
    /// Find the most simultaneous users a server holds: run the scenario at
    /// rising client counts until an error-rate or p99 limit breaks.
    Capacity(CapacityArgs),
    /// Diagnose a server's data connections: banner, FEAT, passive ports, and
    /// whether PASV, EPSV, PORT and EPRT work, with the likely cause and fix.
    Probe(ProbeArgs),
    /// Compare two results per mode and metric; a regression past a
    /// threshold and outside the runs' own noise exits 5.
    Compare(CompareArgs),
}

/// Where the load goes and how its data channels are opened: the same for
/// `run` and `capacity`.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Target server, e.g. ftp://bob@127.0.0.1:2121; ftpes://… for explicit
    /// FTPS (AUTH TLS), ftps://… for implicit FTPS (port 990 by default).
    /// Without one, the embedded target is started on 127.0.0.1. The
    /// password comes from the URL, --password-file or the FTPLOAD_PASSWORD
    /// environment variable.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// File whose first line is the password (keeps it out of `ps` and shell history).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Use this transfer mode for every group: passive (PASV), epsv (EPSV),
    /// active (PORT) or eprt (EPRT). A comma-separated list shares the clients
    /// equally, e.g. --mode passive,active.
    #[arg(long, value_name = "MODE[,MODE...]", value_delimiter = ',')]
    pub mode: Vec<Mode>,
    /// Active-mode listener ports, e.g. 40000-40999 (default: any free port).
    #[arg(long, value_name = "FIRST-LAST")]
    pub active_ports: Option<PortRange>,
    /// The target's configured passive port range, e.g. 30000-30099: ports
    /// announced outside it are counted as silent exhaustion (proftpd and
    /// pyftpdlib announce a port outside their range when it is full).
    #[arg(long, value_name = "FIRST-LAST")]
    pub passive_range: Option<PortRange>,
    /// Spread the clients over these local source addresses, client k
    /// leaving from the (k mod n)-th with its data connections, so the
    /// client has one ephemeral port range (about 28,000 ports) per address
    /// instead of one in all: a range 127.0.0.2-127.0.0.200, a list
    /// 10.0.0.5,10.0.0.6, a block 10.0.1.0/28 (IPv4 or IPv6, the target's
    /// family, at most 1024). Each must be an address of this host.
    #[arg(long, value_name = "ADDRS", value_parser = crate::scenario::SourceIps::parse_local)]
    pub source_ips: Option<crate::scenario::SourceIps>,
    /// FTPS: check the server's certificate against the certificates in
    /// this PEM file only (default: the system's trust store).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// FTPS: do not check the server's certificate at all (self-signed test
    /// servers). The connection is encrypted but not authenticated.
    #[arg(long)]
    pub insecure: bool,
}

impl TargetArgs {
    /// The overrides these flags make; the rest stay as the scenario says.
    fn overrides(self) -> Result<Overrides, UsageError> {
        Ok(Overrides {
            password: read_password(self.password_file.as_deref())?,
            target: self.target,
            modes: self.mode,
            active_ports: self.active_ports,
            passive_range: self.passive_range,
            source_ips: self.source_ips,
            ca_file: self.ca_file,
            insecure: self.insecure,
            ..Overrides::default()
        })
    }
}

/// A panic in a session task of the embedded target's libraries (seen:
/// unftp-sbe-fs unwrapping a send to a client that went away mid-LIST) ends
/// that session only; tokio carries on. Say so in one line, a few times,
/// rather than print a backtrace per session into the progress output.
fn quiet_embedded_panics() {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEEN: AtomicU32 = AtomicU32::new(0);
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_target = std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with(crate::embedded::THREAD_NAME_PREFIX));
        if !in_target {
            return default(info);
        }
        let n = SEEN.fetch_add(1, Ordering::Relaxed);
        if n < 3 {
            eprintln!(
                "embedded target: a session task panicked in the server library ({}); that session is dropped, the run goes on",
                info.location().map(|l| l.to_string()).unwrap_or_default()
            );
        }
    }));
}

/// Runs the parsed command line; the exit code says how it went.
pub fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    quiet_embedded_panics();
    match cli.command {
        Cmd::Run(a) => run::execute(a, &signal::Signals::watch()?),
        Cmd::Serve(a) => serve::execute(a, &signal::Signals::watch()?),
        Cmd::Capacity(a) => capacity::execute(a, &signal::Signals::watch()?),
        Cmd::Probe(a) => probe::execute(a),
        Cmd::Compare(a) => compare::execute(a),
        Cmd::Report {
            results,
            csv: Some(dir),
            ..
        } => report_csv(&results, &dir),
        Cmd::Report {
            results,
            out,
            format,
            csv: None,
        } => report(&results, out, format),
        Cmd::Merge {
            results,
            out,
            force,
        } => merge::execute(results, out, force),
    }
}

/// What `ftpload report` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Markdown,
    Html,
}

fn report(
    results: &[PathBuf],
    out: Option<PathBuf>,
    format: Option<ReportFormat>,
) -> anyhow::Result<ExitCode> {
    let is_html_name = out
        .as_ref()
        .and_then(|o| o.extension())
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
    let format = format.unwrap_or(if is_html_name {
        ReportFormat::Html
    } else {
        ReportFormat::Markdown
    });
    if let Some(path) = &out {
        write::check_file("--out", path)?;
    }
    let text = match format {
        ReportFormat::Markdown => {
            let runs = crate::report::read_all(results).map_err(|e| UsageError(e.to_string()))?;
            crate::report::markdown(&runs)
        }
        ReportFormat::Html => {
            let runs = crate::report::load_all(results).map_err(|e| UsageError(e.to_string()))?;
            crate::report::html(&runs)
        }
    };
    match out {
        None => print!("{text}"),
        Some(path) => {
            let saved = write::or_fallback(&path, |p| {
                write::atomic(p, |w| w.write_all(text.as_bytes()))
                    .map_err(|e| anyhow::anyhow!("cannot write report {}: {e}", p.display()))
            })?;
            if said_fallback("the report", &saved.path, saved.failed.as_ref()) {
                return Ok(ExitCode::from(exit::RUN));
            }
            println!("report written to {}", path.display());
        }
    }
    Ok(ExitCode::from(exit::OK))
}

/// `ftpload report RESULT --csv DIR`: one result's CSV files; several
/// results are refused rather than mixed (one run per folder).
fn report_csv(results: &[PathBuf], dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    let [result] = results else {
        return Err(UsageError(format!(
            "--csv takes one result ({} given): run `ftpload report RESULT --csv DIR` once per result",
            results.len()
        ))
        .into());
    };
    write::check_dir("--csv", dir)?;
    let r = crate::result::RunResult::read(result).map_err(|e| UsageError(e.to_string()))?;
    let saved = write::or_fallback(dir, |d| crate::report::csv::write(d, &r))?;
    if said_fallback("the CSV files", &saved.path, saved.failed.as_ref()) {
        return Ok(ExitCode::from(exit::RUN));
    }
    for p in saved.value {
        println!("CSV written to {}", p.display());
    }
    Ok(ExitCode::from(exit::OK))
}

/// Prints what a person reads (a summary) to stdout, or to stderr when
/// stdout holds the result itself (`--out -`); true in that case.
fn say(text: &str, out: Option<&std::path::Path>) -> bool {
    let to_stdout = out.is_some_and(crate::result::write::is_stdout);
    if to_stdout {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    to_stdout
}

/// Says on stderr where an output went when `failed` kept it from where it
/// was asked; true if so (the command then exits 3).
fn said_fallback(
    what: &str,
    path: &std::path::Path,
    failed: Option<&impl std::fmt::Display>,
) -> bool {
    let Some(e) = failed else { return false };
    eprintln!("error: {e}; saved {what} to {} instead", path.display());
    true
}

/// Maps a failure to its exit code: bad input is 2, anything else 3.
pub fn exit_code_for(e: &anyhow::Error) -> ExitCode {
    if e.downcast_ref::<ScenarioError>().is_some()
        || e.downcast_ref::<UsageError>().is_some()
        || e.downcast_ref::<crate::threshold::ThresholdError>()
            .is_some()
        || e.downcast_ref::<crate::result::write::Unwritable>()
            .is_some()
        || matches!(
            e.downcast_ref::<crate::run::RunError>(),
            Some(
                crate::run::RunError::SourceFamily(_)
                    | crate::run::RunError::Tls(_)
                    | crate::run::RunError::Ipv4Only { .. }
                    | crate::run::RunError::ServerWatch(crate::server::WatchError::Process { .. })
            )
        )
    {
        ExitCode::from(exit::USAGE)
    } else {
        ExitCode::from(exit::RUN)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

/// The password from --password-file (its first line) or FTPLOAD_PASSWORD;
/// never a flag, which would show in `ps` and shell history.
fn read_password(file: Option<&std::path::Path>) -> Result<Option<String>, UsageError> {
    match file {
        Some(f) => std::fs::read_to_string(f)
            .map(|t| Some(t.lines().next().unwrap_or("").to_string()))
            .map_err(|e| UsageError(format!("cannot read --password-file {}: {e}", f.display()))),
        None => Ok(std::env::var("FTPLOAD_PASSWORD").ok()),
    }
}
