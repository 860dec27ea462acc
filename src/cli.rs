//! Command-line flags (clap) and how they map onto the library: flags override
//! the scenario file, then everything is validated once into a `Plan`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::proto::Mode;
use crate::proto::PortRange;
use crate::run::{self, RunError, Status};
use crate::scenario::units::{parse_duration, parse_size};
use crate::scenario::{Overrides, Plan, ScenarioError};
use crate::target::{EmbeddedConfig, EmbeddedServer};

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
    /// Interrupted (Ctrl-C); the partial result was written.
    pub const INTERRUPTED: u8 = 130;
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

Exit codes: 0 clean run, 1 run recorded failures, 2 bad input, 3 could not run, 130 interrupted (partial result written).";

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
    /// Run the embedded FTP target (libunftp) on loopback until Ctrl-C.
    Serve(ServeArgs),
    /// Print a markdown table over result files (one row per run and mode,
    /// and active's overhead against passive).
    Report {
        /// Result files written by `ftpload run`.
        #[arg(required = true)]
        results: Vec<PathBuf>,
    },
    /// Merge result files from several machines exactly (histograms and
    /// counters add) into one.
    Merge {
        #[arg(required = true)]
        results: Vec<PathBuf>,
        /// Where to write the merged result.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Find the most simultaneous users a server holds: run the scenario at
    /// rising client counts until an error-rate or p99 limit breaks.
    Capacity(CapacityArgs),
    /// Diagnose a server's data connections: banner, FEAT, passive ports, and
    /// whether PASV, EPSV, PORT and EPRT work, with the likely cause and fix.
    Probe(ProbeArgs),
}

/// Where the load goes and how its data channels are opened: the same for
/// `run` and `capacity`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Target server, e.g. ftp://bob@127.0.0.1:2121. Without one, the embedded
    /// target is started on 127.0.0.1. The password comes from the URL,
    /// --password-file or the FTPLOAD_PASSWORD environment variable.
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
            ..Overrides::default()
        })
    }
}

#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct RunArgs {
    /// Scenario file (TOML); see scenarios/reference.toml for every key.
    pub scenario: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Total virtual clients, split over the groups in proportion.
    #[arg(long, value_name = "N")]
    pub users: Option<u32>,
    /// Run length including ramp-up, e.g. 30s, 2m.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with = "iterations")]
    pub duration: Option<Duration>,
    /// Total iterations over all clients (one iteration = one pass through a group's ops).
    #[arg(long, value_name = "N")]
    pub iterations: Option<u64>,
    /// Spread client starts over this long, e.g. 5s (a connect burst overflows small listen queues).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub ramp_up: Option<Duration>,
    /// Open loop: start this many iterations per second whatever the server
    /// does (e.g. 50/s, 300/m), each on a client of its own; a group's users
    /// cap its clients at once. Latency is then also measured from each
    /// iteration's intended start (coordinated omission corrected).
    #[arg(long, value_name = "RATE", value_parser = crate::scenario::load::parse_rate)]
    pub rate: Option<f64>,
    /// Seed for every random choice (Poisson arrivals, think times, operation
    /// mixes), so a run repeats exactly.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Worker threads of the load generator (default: one per core).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Connect to the address a 227 reply names even when it differs from the
    /// server's (off by default: a NAT'd server lies, another host is a bounce risk).
    #[arg(long)]
    pub follow_pasv_address: bool,
    /// Result file (default: results/<UTC time>-<scenario>.json).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// No progress line.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Control port on 127.0.0.1 (0: any free port, printed at start).
    #[arg(long, default_value_t = 2121)]
    pub port: u16,
    /// Address to listen on; loopback by default.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Passive data port range.
    #[arg(long, value_name = "FIRST-LAST", default_value = "20000-27999")]
    pub passive_ports: PortRange,
    #[arg(long, default_value = crate::scenario::EMBEDDED_USER)]
    pub user: String,
    #[arg(long, default_value = crate::scenario::EMBEDDED_PASSWORD)]
    pub password: String,
    /// Directory to serve (default: a fresh temporary directory, removed at exit).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// File to generate, NAME=SIZE, e.g. 1m.bin=1MiB; repeatable.
    #[arg(long = "file", value_name = "NAME=SIZE", value_parser = parse_file_spec)]
    pub files: Vec<(String, u64)>,
    /// Sessions beyond this many get "421 Too many connections".
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
}

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
    /// Folder for the step results, capacity.json and capacity.csv.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// No progress lines.
    #[arg(long, short)]
    pub quiet: bool,
}

const PROBE_HELP: &str = "\
Logs in once (banner, FEAT, --pasv-samples PASV replies without connecting: the passive
ports a server firewall must let through), then checks each mode on a session of its own:
LIST, and RETR of --path when given. Every network step times out after --timeout. A
failure is reported with the replies seen, which connection failed (our connect to the
announced passive port, the server's connect-back to our listener, or the control
connection), whether it was refused, timed out or reset, and after how long. The verdict
names the likely cause and the fix: a server firewall dropping its passive ports, a client
firewall dropping connect-backs, a NAT'd server announcing its private address, a mode the
server does not implement.

Examples:
  FTPLOAD_PASSWORD=secret ftpload probe ftp://bob@192.0.2.10:21 --path pub/1k.bin
      Check all four modes, with a download in each.
  ftpload probe ftp://ftpload:ftpload@127.0.0.1:2121 --mode passive,epsv --json
      Only the passive modes, as one JSON object (fields in docs/probe.md).

Exit codes: 0 every mode asked for works, 2 bad input, 3 could not connect or log in,
4 at least one mode asked for failed (the verdict says which and why).";

/// `ftpload probe`: one-shot diagnosis with short timeouts.
#[derive(Debug, Args)]
#[command(after_help = PROBE_HELP)]
pub struct ProbeArgs {
    /// The server, e.g. ftp://bob@127.0.0.1:2121; the password comes from the
    /// URL, --password-file or FTPLOAD_PASSWORD, as for `run`.
    #[arg(value_name = "URL")]
    pub url: String,
    /// File whose first line is the password.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// A file to download (RETR) in every mode, after the listing.
    #[arg(long, value_name = "FILE")]
    pub path: Option<String>,
    /// Modes to check (default all four): passive (PASV), epsv (EPSV),
    /// active (PORT), eprt (EPRT), comma-separated.
    #[arg(long, value_name = "MODE[,MODE...]", value_delimiter = ',')]
    pub mode: Vec<Mode>,
    /// Timeout of every network step (connect, each reply, data connect,
    /// waiting for a connect-back), e.g. 3s, 500ms.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "3s")]
    pub timeout: Duration,
    /// PASV (or EPSV) commands whose announced ports estimate the passive
    /// range, at most 100 (0: none).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub pasv_samples: u32,
    /// Connect to the address a 227 names even when it is not the server's
    /// (by default ftpload connects to the control connection's peer).
    #[arg(long)]
    pub follow_pasv_address: bool,
    /// Active-mode listener ports, e.g. 40000-40999 (default: any free port).
    #[arg(long, value_name = "FIRST-LAST")]
    pub active_ports: Option<PortRange>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_file_spec(s: &str) -> Result<(String, u64), String> {
    let (n, sz) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=SIZE, got {s:?}"))?;
    Ok((n.to_string(), parse_size(sz)?))
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
            .is_some_and(|n| n.starts_with("ftpload-target"));
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
        Cmd::Run(a) => run_cmd(a),
        Cmd::Serve(a) => serve_cmd(a),
        Cmd::Capacity(a) => capacity_cmd(a),
        Cmd::Probe(a) => probe_cmd(a),
        Cmd::Report { results } => {
            let runs = crate::report::read_all(&results).map_err(|e| UsageError(e.to_string()))?;
            print!("{}", crate::report::markdown(&runs));
            Ok(ExitCode::from(exit::OK))
        }
        Cmd::Merge { results, out } => {
            let runs = crate::report::read_all(&results).map_err(|e| UsageError(e.to_string()))?;
            let merged = crate::report::merge(runs)?.expect("clap requires one file");
            merged.write_atomic(&out)?;
            print!("{}", crate::summary::render(&merged));
            println!("\nmerged result written to {}", out.display());
            Ok(ExitCode::from(exit::OK))
        }
    }
}

/// Maps a failure to its exit code: bad input is 2, anything else 3.
pub fn exit_code_for(e: &anyhow::Error) -> ExitCode {
    if e.downcast_ref::<ScenarioError>().is_some() || e.downcast_ref::<UsageError>().is_some() {
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

fn run_cmd(a: RunArgs) -> anyhow::Result<ExitCode> {
    let o = Overrides {
        users: a.users,
        duration: a.duration,
        iterations: a.iterations,
        ramp_up: a.ramp_up,
        workers: a.workers,
        follow_pasv_address: a.follow_pasv_address,
        rate: a.rate,
        seed: a.seed,
        ..a.target.overrides()?
    };
    let plan = Plan::load(&a.scenario, &o)?;
    let f = run::run(
        &plan,
        &run::Options {
            out: a.out,
            quiet: a.quiet,
        },
    )
    .map_err(|e| match e {
        RunError::Result(_) => anyhow::Error::new(e),
        e => anyhow::Error::new(e).context(format!("run of {} failed", a.scenario.display())),
    })?;
    print!("{}", crate::summary::render(&f.result));
    if let Some(e) = &f.write_error {
        eprintln!(
            "error: {e}; the result was saved to {} instead",
            f.path.display()
        );
        return Ok(ExitCode::from(exit::RUN));
    }
    println!("\nresult written to {}", f.path.display());
    Ok(ExitCode::from(match f.status {
        Status::Clean => exit::OK,
        Status::Failures(n) => {
            eprintln!("{n} failures recorded (see \"errors by class\" above)");
            exit::FAILURES
        }
        Status::Interrupted => {
            eprintln!("interrupted: the result holds what ran until then");
            exit::INTERRUPTED
        }
    }))
}

fn serve_cmd(a: ServeArgs) -> anyhow::Result<ExitCode> {
    crate::sys::raise_nofile_limit();
    let cfg = EmbeddedConfig {
        bind: SocketAddr::new(a.bind, a.port),
        passive_ports: a.passive_ports.first..=a.passive_ports.last,
        user: a.user,
        password: a.password,
        root: a.root,
        files: a.files,
        max_connections: a.max_connections,
        ..EmbeddedConfig::default()
    };
    let server = EmbeddedServer::start(cfg).context("cannot start the embedded target")?;
    let c = server.config();
    println!(
        "serving ftp://{}@{} (password {:?}), passive ports {}-{}, root {}; Ctrl-C to stop",
        c.user,
        server.addr(),
        c.password,
        c.passive_ports.start(),
        c.passive_ports.end(),
        server.root().display()
    );
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(tokio::signal::ctrl_c())?;
    server.stop();
    Ok(ExitCode::from(exit::OK))
}

fn capacity_cmd(a: CapacityArgs) -> anyhow::Result<ExitCode> {
    use crate::capacity::{self, CapacityError, Growth, Limits, Search};
    let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    let search = Search {
        scenario: a.scenario,
        overrides: Overrides {
            ramp_up: a.ramp_up,
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
        },
        out_dir: a.out_dir,
        quiet: a.quiet,
    };
    let mut header = false;
    let (c, dir) = capacity::search(&search, &mut |step| {
        if !std::mem::replace(&mut header, true) {
            println!("{}", capacity::TABLE_HEADER);
        }
        println!("{}", capacity::table_row(step));
    })
    .map_err(|e| match e {
        CapacityError::Usage(m) => anyhow::Error::new(UsageError(m)),
        CapacityError::Scenario(e) => anyhow::Error::new(e),
        e => anyhow::Error::new(e),
    })?;
    println!("\n{}", capacity::verdict(&c));
    println!(
        "capacity written to {}",
        dir.join("capacity.json").display()
    );
    Ok(ExitCode::from(if c.interrupted {
        exit::INTERRUPTED
    } else if c.highest_held.is_none() {
        exit::FAILURES
    } else {
        exit::OK
    }))
}

fn probe_cmd(a: ProbeArgs) -> anyhow::Result<ExitCode> {
    use crate::probe::{self, Status};
    use crate::scenario::TargetPlan;
    if a.timeout.is_zero() || a.timeout > Duration::from_secs(300) {
        return Err(UsageError("--timeout must be above 0 and at most 5m".into()).into());
    }
    let password = read_password(a.password_file.as_deref())?;
    let TargetPlan::External {
        host,
        port,
        user,
        password,
    } = crate::scenario::external_target(&a.url, password).map_err(UsageError)?
    else {
        unreachable!("external_target makes an external target")
    };
    let report = probe::run(&probe::Options {
        host,
        port,
        user,
        password,
        modes: if a.mode.is_empty() {
            Mode::ALL.to_vec()
        } else {
            a.mode
        },
        path: a.path,
        timeout: a.timeout,
        pasv_samples: a.pasv_samples,
        data: crate::proto::DataOptions {
            follow_pasv_address: a.follow_pasv_address,
            active_ports: a.active_ports,
        },
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", probe::text(&report));
    }
    Ok(ExitCode::from(match report.status {
        Status::Ok => exit::OK,
        Status::ModesFailed => exit::MODES_FAILED,
        Status::Unreachable => exit::RUN,
    }))
}
