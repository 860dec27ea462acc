//! Interop against the real servers the project's harness runs
//! (`scripts/targets/ftpd`): vsftpd, pure-ftpd, proftpd and pyftpdlib.
//!
//! - **Plain FTP**, on the default instances (2121-2124), which it finds by
//!   their state files: each server in all four modes with RETR, STOR and
//!   LIST, asserting bytes moved and zero errors; and vsftpd in passive and
//!   active mode with the clients spread over 8 source addresses
//!   (`--source-ips`), exact sessions per address.
//! - **FTPS** (tests/interop/tls.rs), on instances it starts itself: each
//!   server with explicit TLS (`ftpes://`) in every mode it has, the
//!   certificate checked against the harness's own (`--ca-file $(ftpd
//!   cert)`), asserting every byte, every handshake (one per session, one
//!   per transfer) and which data channels resumed their control
//!   connection's TLS session; vsftpd and proftpd with implicit TLS
//!   (`ftps://`); vsftpd refusing data channels that do not resume
//!   (`tls_resume = false`: class `tls_reuse_required`), and taking them
//!   when started with FTPD_TLS_REUSE=no.
//! - **IPv6** (tests/interop/ipv6.rs), on instances it starts bound to ::1:
//!   each server with EPSV and EPRT, the result's family `ipv6`; and PASV
//!   and PORT against an IPv6 target refused before the run (exit 2).
//! - **node_exporter** (tests/interop/node_exporter.rs), which it starts on
//!   loopback: `--server-metrics`'s scrape and parse of a real exporter.
//!
//! The instances it starts (tests/interop/own.rs) have harness homes of
//! their own under `target/`, control ports 2151-2164 and the passive range
//! 19500-19999, and are stopped at the end, also when a check fails.
//!
//! A server that is not running (the default instances), or cannot be
//! started (not root, not installed, no fixture), is skipped, and said so on
//! the output; with FTPLOAD_REQUIRE_SERVERS=1 (as `.ci/run` sets) it fails.
//! Its own small harness, so the skip notice is printed rather than captured.
//! Checks run one at a time; each prints `test NAME ... ok`, with what it saw
//! for the FTPS and IPv6 ones.

// Shared with the integration tests; this binary reads only the counts.
#[allow(dead_code)]
#[path = "util/harness.rs"]
mod harness;
#[path = "util/homes.rs"]
mod homes;
#[path = "interop/ipv6.rs"]
mod ipv6;
#[path = "interop/node_exporter.rs"]
mod node_exporter;
#[path = "interop/own.rs"]
mod own;
#[path = "util/sources.rs"]
mod sources;
#[path = "interop/tls.rs"]
mod tls;

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use ftpload::metrics::Metric;
use ftpload::proto::Mode;
use ftpload::result::ModeResult;
use ftpload::scenario::Overrides;

use own::{Instances, Set};

const SERVERS: [&str; 4] = ["vsftpd", "pure-ftpd", "proftpd", "pyftpdlib"];
const ITERATIONS: u64 = 8;
/// Transfers in each iteration of the mix.
const OPS: u64 = 4;
/// The test command installs, starts and afterwards stops the servers.
const HOW: &str = "scripts/test --test interop";

fn ftpd_home() -> PathBuf {
    std::env::var_os("FTPD_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/ftpd"))
}

/// The state file the harness writes for a running server: key=value lines.
fn running(server: &str) -> Option<HashMap<String, String>> {
    let text = std::fs::read_to_string(ftpd_home().join(server).join("state")).ok()?;
    let state: HashMap<String, String> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let port: u16 = state.get("port")?.parse().ok()?;
    // The state file can outlive the server: check that it answers.
    std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    Some(state)
}

/// Virtual clients of a check: pyftpdlib 2.2.0 loses some of its own
/// active connects when several sessions connect back at once (see
/// docs/servers.md), so one client there.
fn users(server: &str, mode: Mode) -> u32 {
    if server == "pyftpdlib" && mode.is_active() {
        1
    } else {
        2
    }
}

/// The mix every transfer check runs, ITERATIONS sessions of login, two
/// downloads, one upload and a listing: one upload per session, as proftpd
/// over TLS 1.3 needs (tests/interop/tls.rs). `target` is more of the
/// `[target]` table (FTPS keys).
fn mix(server: &str, mode: Mode, target: &str) -> String {
    let users = users(server, mode);
    format!(
        r#"
[target]
{target}
[files]
"1k.bin" = "1KiB"
"1m.bin" = "1MiB"
[run]
iterations = {ITERATIONS}
# proftpd holds its 226 back ~10 s unless the client closes its end of the
# data channel at end of file: a client that stopped doing so would time out
# here, a classified error assert_no_errors reports.
[timeouts]
reply = "5s"
[[group]]
users = {users}
ops = ["retr 1k.bin", "retr 1m.bin", "stor 64KiB", "list"]
"#
    )
}

/// Runs the mix against `url` (password ftppass) in `mode`, the
/// certificate checked against `ca` when given.
fn run_mix(
    server: &str,
    url: &str,
    mode: Mode,
    target: &str,
    ca: Option<&Path>,
    tag: &str,
) -> harness::Ran {
    let o = Overrides {
        target: Some(url.to_string()),
        password: Some("ftppass".into()),
        modes: vec![mode],
        ca_file: ca.map(Path::to_path_buf),
        ..Overrides::default()
    };
    harness::run_scenario(&mix(server, mode, target), &o, tag)
}

/// What every run of the mix must show: no error, every session, transfer
/// and byte.
fn assert_mix(s: &ModeResult, what: &str) {
    harness::assert_no_errors(s, what);
    let c = &s.counters;
    assert_eq!(c.iterations, ITERATIONS, "{what}");
    assert_eq!(c.sessions, ITERATIONS, "{what}: one session per iteration");
    assert_eq!(c.transfers, ITERATIONS * OPS, "{what}");
    assert_eq!(c.bytes_up, ITERATIONS * 64 * 1024, "{what}");
    let retr = ITERATIONS * (1024 + 1024 * 1024);
    assert!(
        c.bytes_down > retr,
        "{what}: listing bytes missing: {} <= {retr}",
        c.bytes_down
    );
    assert_eq!(
        harness::count(s, Metric::SessionSetup),
        ITERATIONS,
        "{what}"
    );
    assert_eq!(
        harness::count(s, Metric::Transfer),
        ITERATIONS * OPS,
        "{what}"
    );
    assert_eq!(
        harness::count(s, Metric::DataSetup),
        ITERATIONS * OPS,
        "{what}"
    );
}

fn check(server: &str, port: u16, mode: Mode) -> String {
    let url = format!("ftp://ftpuser@127.0.0.1:{port}");
    let ran = run_mix(
        server,
        &url,
        mode,
        "",
        None,
        &format!("interop-{server}-{mode}"),
    );
    assert_mix(
        harness::mode(&ran.result, mode),
        &format!("{server} {mode}"),
    );
    String::new()
}

/// vsftpd with the clients spread over 8 source addresses: it refuses a
/// passive data connection from another address than the control
/// connection's (`425 Security: Bad IP connecting.`) and a PORT naming
/// another, so no error in either mode is the proof that each data
/// connection leaves from (or listens on) its control connection's
/// address. Persistent sessions: one login per client, so each address's
/// sessions are exactly its clients, k mod 8.
fn check_sources(port: u16, mode: Mode) -> String {
    use sources::{check_counts, SOURCES, USERS};
    let toml = format!(
        r#"
[files]
"1k.bin" = "1KiB"
[run]
duration = "1s"
ramp_up = "0s"
[[group]]
users = {USERS}
session = "persistent"
ops = ["retr 1k.bin", "stor 1KiB", "list"]
"#
    );
    let o = Overrides {
        target: Some(format!("ftp://ftpuser@127.0.0.1:{port}")),
        password: Some("ftppass".into()),
        modes: vec![mode],
        source_ips: Some(ftpload::scenario::SourceIps::parse_local(SOURCES).unwrap()),
        ..Overrides::default()
    };
    let ran = harness::run_scenario(&toml, &o, &format!("interop-sources-{mode}"));
    let s = harness::mode(&ran.result, mode);
    harness::assert_no_errors(s, &format!("vsftpd {mode} from 8 addresses"));
    let c = &s.counters;
    assert_eq!(c.sessions, USERS);
    assert!(c.transfers > 0);
    check_counts(&ran.result, &format!("vsftpd {mode}"));
    String::new()
}

/// What a check runs against.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// A default instance, running already (found by its state file).
    Running(&'static str),
    /// An instance of a set this binary starts.
    Own(Set, &'static str),
    /// A program the check starts itself: its path, and why the check
    /// cannot run when it is not there.
    Program(&'static str, &'static str),
}

/// Where a check runs: the server's control port, and for FTPS the CA file
/// to check its certificate with (its home's `ftpd cert`).
pub struct At {
    pub port: u16,
    pub ca: Option<PathBuf>,
}

/// A check's note, printed after `ok` (empty: none).
pub type Run = Box<dyn Fn(&At) -> String>;

/// One check of a list: its name, what it runs against, and the check.
pub type Check = (String, Needs, Run);

fn main() {
    let code = run();
    std::process::exit(code);
}

/// Runs every check wanted; the instances it started are stopped when it
/// returns or unwinds.
fn run() -> i32 {
    let require = std::env::var("FTPLOAD_REQUIRE_SERVERS").is_ok_and(|v| v == "1");
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f));
    let mut checks: Vec<Check> = Vec::new();
    for server in SERVERS {
        for mode in Mode::ALL {
            let f = move |at: &At| check(server, at.port, mode);
            let name = format!("interop::{server}::{mode}");
            checks.push((name, Needs::Running(server), Box::new(f)));
        }
    }
    for mode in [Mode::Passive, Mode::Active] {
        let f = move |at: &At| check_sources(at.port, mode);
        let name = format!("interop::vsftpd::source-ips::{mode}");
        checks.push((name, Needs::Running("vsftpd"), Box::new(f)));
    }
    checks.extend(tls::checks());
    checks.extend(ipv6::checks());
    checks.extend(node_exporter::checks());
    checks.retain(|(name, _, _)| wanted(name));

    // The sets wanted, each with the servers to start in it, started in
    // the order of their first check.
    let (pkgs, root) = own::shared_paths();
    let mut sets: Vec<(Set, Vec<&str>)> = Vec::new();
    for (_, needs, _) in &checks {
        let Needs::Own(set, server) = *needs else {
            continue;
        };
        if own::missing(set, server, &pkgs, &root).is_some() {
            continue;
        }
        match sets.iter_mut().find(|(s, _)| *s == set) {
            Some((_, servers)) if servers.contains(&server) => {}
            Some((_, servers)) => servers.push(server),
            None => sets.push((set, vec![server])),
        }
    }
    let mut homes: Vec<Instances> = Vec::new();
    let mut certs: HashMap<Set, PathBuf> = HashMap::new();
    let mut failed_start: Vec<(Set, &str, String)> = Vec::new();
    for (set, servers) in &sets {
        let i = Instances::new(*set, &pkgs, &root);
        let mut started = Vec::new();
        for server in servers {
            match i.start(server) {
                Ok(()) => started.push(format!("{server} on {}", set.port(server))),
                Err(e) => failed_start.push((*set, server, e)),
            }
        }
        if set.is_tls() {
            match i.cert() {
                Ok(path) => {
                    certs.insert(*set, path);
                }
                Err(e) => {
                    for server in servers {
                        failed_start.push((*set, server, format!("no certificate: {e}")));
                    }
                }
            }
        }
        println!(
            "instances in {} ({}; on {}, passive {}): {}",
            i.home().display(),
            set.describe(),
            set.bind(),
            set.passive(),
            started.join(", ")
        );
        homes.push(i);
    }

    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut states = HashMap::new();
    for (name, needs, run) in &checks {
        let at = match *needs {
            Needs::Running(server) => {
                let state = states.entry(server).or_insert_with(|| running(server));
                match state.as_ref().and_then(|s| s.get("port")?.parse().ok()) {
                    Some(port) => Ok(At { port, ca: None }),
                    None => Err(format!("{server} is not running")),
                }
            }
            Needs::Program(path, why) if !Path::new(path).exists() => Err(why.to_string()),
            Needs::Program(..) => Ok(At { port: 0, ca: None }),
            Needs::Own(set, server) => match own::missing(set, server, &pkgs, &root) {
                Some(why) => Err(format!("{server}: {why}")),
                None => {
                    if let Some((_, _, e)) = failed_start
                        .iter()
                        .find(|(s, name, _)| *s == set && *name == server)
                    {
                        println!("test {name} ... FAILED: its instance did not start: {e}");
                        failed += 1;
                        continue;
                    }
                    Ok(At {
                        port: set.port(server),
                        ca: certs.get(&set).cloned(),
                    })
                }
            },
        };
        let at = match at {
            Ok(at) => at,
            Err(why) => {
                if require {
                    println!("test {name} ... FAILED: {why} (FTPLOAD_REQUIRE_SERVERS=1)");
                    failed += 1;
                } else {
                    println!("test {name} ... skipped: {why}");
                    skipped += 1;
                }
                continue;
            }
        };
        match catch_unwind(AssertUnwindSafe(|| run(&at))) {
            Ok(note) if note.is_empty() => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Ok(note) => {
                println!("test {name} ... ok: {note}");
                passed += 1;
            }
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    drop(homes);
    if skipped > 0 {
        println!("\nSKIPPED {skipped} interop checks: their servers are not running or cannot be started here. To run them:\n  {HOW}");
    }
    println!("\n{passed} passed, {failed} failed, {skipped} skipped");
    i32::from(failed > 0)
}
