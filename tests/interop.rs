//! Interop against the real servers the project's harness runs
//! (`scripts/targets/ftpd`): vsftpd, pure-ftpd, proftpd and pyftpdlib, each in
//! all four modes with RETR, STOR and LIST, asserting bytes moved and zero
//! errors; and vsftpd in passive and active mode with the clients spread
//! over 8 source addresses (`--source-ips`), exact sessions per address.
//!
//! A server that is not running is skipped, and said so on the output; with
//! FTPLOAD_REQUIRE_SERVERS=1 (as `.ci/run` sets) a missing server fails.
//! Its own small harness, so the skip notice is printed rather than captured.

// Shared with the integration tests; this binary reads only the counts.
#[allow(dead_code)]
#[path = "util/harness.rs"]
mod harness;
#[path = "util/sources.rs"]
mod sources;

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use ftpload::metrics::Metric;
use ftpload::proto::Mode;
use ftpload::scenario::Overrides;

const SERVERS: [&str; 4] = ["vsftpd", "pure-ftpd", "proftpd", "pyftpdlib"];
const ITERATIONS: u64 = 8;
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

fn check(server: &str, port: &str, mode: Mode) {
    // pyftpdlib 2.2.0 loses some of its own active connects when several
    // sessions connect back at once (see docs/servers.md), so one client there.
    let users = if server == "pyftpdlib" && mode.is_active() {
        1
    } else {
        2
    };
    let toml = format!(
        r#"
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
    );
    let o = Overrides {
        target: Some(format!("ftp://ftpuser@127.0.0.1:{port}")),
        password: Some("ftppass".into()),
        modes: vec![mode],
        ..Overrides::default()
    };
    let ran = harness::run_scenario(&toml, &o, &format!("interop-{server}-{mode}"));
    let s = harness::mode(&ran.result, mode);
    harness::assert_no_errors(s, &format!("{server} {mode}"));
    let c = &s.counters;
    assert_eq!(c.iterations, ITERATIONS);
    assert_eq!(c.transfers, ITERATIONS * 4);
    assert_eq!(c.bytes_up, ITERATIONS * 64 * 1024);
    let retr = ITERATIONS * (1024 + 1024 * 1024);
    assert!(
        c.bytes_down > retr,
        "listing bytes missing: {} <= {retr}",
        c.bytes_down
    );
    assert_eq!(harness::count(s, Metric::SessionSetup), ITERATIONS);
    assert_eq!(harness::count(s, Metric::Transfer), ITERATIONS * 4);
    assert_eq!(harness::count(s, Metric::DataSetup), ITERATIONS * 4);
}

/// vsftpd with the clients spread over 8 source addresses: it refuses a
/// passive data connection from another address than the control
/// connection's (`425 Security: Bad IP connecting.`) and a PORT naming
/// another, so no error in either mode is the proof that each data
/// connection leaves from (or listens on) its control connection's
/// address. Persistent sessions: one login per client, so each address's
/// sessions are exactly its clients, k mod 8.
fn check_sources(port: &str, mode: Mode) {
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
}

/// One check of a list: its name, its server, and what it runs on the
/// server's control port.
type Check = (String, &'static str, Box<dyn Fn(&str)>);

fn main() {
    let require = std::env::var("FTPLOAD_REQUIRE_SERVERS").is_ok_and(|v| v == "1");
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut checks: Vec<Check> = Vec::new();
    for server in SERVERS {
        for mode in Mode::ALL {
            let f = move |port: &str| check(server, port, mode);
            checks.push((format!("interop::{server}::{mode}"), server, Box::new(f)));
        }
    }
    for mode in [Mode::Passive, Mode::Active] {
        let f = move |port: &str| check_sources(port, mode);
        let name = format!("interop::vsftpd::source-ips::{mode}");
        checks.push((name, "vsftpd", Box::new(f)));
    }
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut states = HashMap::new();
    for (name, server, run) in &checks {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let state = states.entry(*server).or_insert_with(|| running(server));
        let Some(state) = state else {
            if require {
                println!(
                    "test {name} ... FAILED: {server} is not running (FTPLOAD_REQUIRE_SERVERS=1)"
                );
                failed += 1;
            } else {
                println!("test {name} ... skipped: {server} is not running");
                skipped += 1;
            }
            continue;
        };
        let port = state.get("port").cloned().unwrap_or_default();
        match catch_unwind(AssertUnwindSafe(|| run(&port))) {
            Ok(()) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    if skipped > 0 {
        println!("\nSKIPPED {skipped} interop checks: their servers are not running. To run them:\n  {HOW}");
    }
    println!("\n{passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 {
        std::process::exit(1);
    }
}
