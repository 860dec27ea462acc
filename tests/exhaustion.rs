//! Exhaustion, as each server shows it: every real server of the project's
//! harness (`scripts/targets/ftpd`) and the embedded target, each given a
//! small passive range and more data channels held at once than it has
//! ports, must be reported exhausted with that server's own signature; with a
//! range far above the concurrency, not at all. The same for a small active
//! port range on the client.
//!
//! The real servers run as instances of their own, beside the default ones
//! the interop tests use: two harness homes (small and large ranges) under
//! `target/`, sharing the default home's unpacked packages and served files
//! through FTPD_PKGS and FTPD_ROOT. They are stopped at the end, also when a
//! check fails, and any left by an interrupted run are stopped at the start.
//!
//! Every passive range and client port range here lies below the kernel's
//! ephemeral ports (32768-60999): a port there can be held by any outgoing
//! connection's TIME_WAIT, which blocks a listener's bind even with
//! SO_REUSEADDR, and would look like exhaustion.
//!
//! Servers whose packages or fixture are missing are skipped and said so;
//! with FTPLOAD_REQUIRE_SERVERS=1 they fail instead. Its own small harness,
//! like tests/interop.rs, so the skip notice is printed rather than captured.

// Shared with the integration tests; this binary reads only the mode results.
#[allow(dead_code)]
#[path = "util/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "util/homes.rs"]
mod homes;
#[path = "exhaustion/overload.rs"]
mod overload;

use std::net::TcpListener;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::Instant;

use ftpload::metrics::exhaustion::OUTSIDE_RANGE;
use ftpload::metrics::{ErrorClass, Exhaustion};
use ftpload::proto::{Mode, PortRange};
use ftpload::result::ModeResult;
use ftpload::scenario::Overrides;
use homes::{shared_paths, Home};

const SERVERS: [&str; 4] = ["vsftpd", "pure-ftpd", "proftpd", "pyftpdlib"];
/// Data channels held at once in every run.
const HOLDERS: u32 = 8;
/// Ports of a small range (fewer than HOLDERS) and of a large one.
const SMALL: u16 = 4;
const LARGE: u16 = 200;
/// Control ports of the small-range and the large-range instances, one per
/// server in SERVERS order.
const SMALL_PORT: u16 = 2131;
const LARGE_PORT: u16 = 2135;
/// Passive ranges: the small ones 19000-19003, 19010-19013, ...; the large
/// ones 19200-19399, 19400-19599, ...; the embedded target's apart.
const SMALL_BASE: u16 = 19000;
const LARGE_BASE: u16 = 19200;
const EMBEDDED_SMALL: u16 = 19040;
const EMBEDDED_LARGE: u16 = 18000;
/// The client's active listener ranges: 3 ports, and 200.
const ACTIVE_SMALL: PortRange = PortRange {
    first: 18900,
    last: 18902,
};
const ACTIVE_LARGE: PortRange = PortRange {
    first: 18600,
    last: 18799,
};
/// Servers checked in active mode too (each costs two runs).
const ACTIVE_SERVERS: [&str; 2] = ["vsftpd", "proftpd"];
/// The test command installs the packages and the fixture first.
const HOW: &str = "scripts/test --test exhaustion";

fn range(first: u16, size: u16) -> PortRange {
    PortRange {
        first,
        last: first + size - 1,
    }
}

fn index(server: &str) -> u16 {
    SERVERS.iter().position(|s| *s == server).unwrap() as u16
}

fn small_range(server: &str) -> PortRange {
    range(SMALL_BASE + 10 * index(server), SMALL)
}

fn large_range(server: &str) -> PortRange {
    range(LARGE_BASE + LARGE * index(server), LARGE)
}

/// Why a server cannot run here, if it cannot (plain FTP).
fn missing(server: &str, pkgs: &Path, root: &Path) -> Option<String> {
    homes::missing(server, false, pkgs, root)
}

/// The target of a run: the embedded server, or a real one on a port.
#[derive(Clone, Copy)]
enum Target {
    Embedded,
    Real(u16),
}

/// HOLDERS persistent clients, started over a second, each holding a data
/// channel in `mode` for 3 s at a time: all hold one at once even when
/// logins are slow on a loaded machine (2 s of slack). About 5 s.
fn hold_run(
    target: Target,
    mode: Mode,
    passive: PortRange,
    active: Option<PortRange>,
    users: u32,
    tag: &str,
) -> ModeResult {
    let embedded = match target {
        Target::Embedded => format!("[embedded]\npassive_ports = \"{passive}\"\n"),
        Target::Real(_) => String::new(),
    };
    let toml = format!(
        r#"
{embedded}
[run]
duration = "2s"
ramp_up = "1s"
[[group]]
users = {users}
session = "persistent"
ops = ["hold 3s"]
"#
    );
    let o = Overrides {
        target: match target {
            Target::Embedded => None,
            Target::Real(port) => Some(format!("ftp://ftpuser@127.0.0.1:{port}")),
        },
        password: matches!(target, Target::Real(_)).then(|| "ftppass".to_string()),
        modes: vec![mode],
        passive_range: matches!(target, Target::Real(_)).then_some(passive),
        active_ports: active,
        ..Overrides::default()
    };
    // Runs one after another on this thread: the driver samples the channel
    // gauges here, into a shard the thread caches under the run's registry
    // id, unique for the process (src/metrics/shard.rs), so no run writes
    // into an earlier one's.
    let ran = harness::run_scenario(&toml, &o, &format!("exhaustion-{tag}"));
    harness::mode(&ran.result, mode).clone()
}

fn describe(e: &Exhaustion) -> String {
    format!(
        "at {:.1}s, {} clients, {} pending: {} [{}]",
        e.at_s, e.clients, e.pending, e.signature, e.evidence
    )
}

fn exhausted<'a>(s: &'a ModeResult, what: &str) -> &'a Exhaustion {
    s.channels.exhaustion.as_ref().unwrap_or_else(|| {
        panic!(
            "{what}: no exhaustion reported (peak pending {}, errors {:?})",
            s.channels.peak_pending, s.errors
        )
    })
}

/// A small passive range, HOLDERS channels: the server's own signature.
fn passive_small(server: &str, target: Target, passive: PortRange) -> String {
    let s = hold_run(target, Mode::Passive, passive, None, HOLDERS, server);
    let what = format!("{server} passive {passive}");
    let e = exhausted(&s, &what);
    let sig = e.signature.as_str();
    match server {
        "embedded" => assert!(sig.starts_with("libunftp: 425"), "{what}: {sig}"),
        "vsftpd" => {
            assert!(sig.starts_with("vsftpd: 500 OOPS"), "{what}: {sig}");
            assert!(e.evidence.contains("OOPS"), "{what}: {}", e.evidence);
        }
        // Its client cap is half its range: it turns the third session away
        // at connect before its 4 ports can all be taken.
        "pure-ftpd" => {
            assert!(
                sig.starts_with("421") && e.evidence.contains("users (the maximum)"),
                "{what}: {sig} [{}]",
                e.evidence
            );
            assert!(
                s.channels.peak_pending <= i64::from(SMALL / 2),
                "{what}: more channels than its cap: {}",
                s.channels.peak_pending
            );
            // Counted, too, as its session limit, by name.
            let limit = s.sessions.as_ref().and_then(|x| x.limit.as_ref());
            assert!(
                limit.is_some_and(|l| l.limit == "pure-ftpd's -c (maximum clients)"),
                "{what}: {limit:?}"
            );
        }
        _ => {
            assert_eq!(sig, OUTSIDE_RANGE, "{what}");
            assert!(s.channels.outside_declared_range > 0, "{what}");
            // "announced port N outside FIRST-LAST"
            let port: u16 = e
                .evidence
                .split_whitespace()
                .nth(2)
                .and_then(|p| p.parse().ok())
                .expect("evidence names the announced port");
            assert!(!passive.contains(port), "{what}: {port} is inside");
            assert!(
                s.errors.is_empty(),
                "{what}: silent, yet errors {:?}",
                s.errors
            );
        }
    }
    describe(e)
}

/// A range far above HOLDERS: no exhaustion, no error, and more channels
/// held at once than a small range has.
fn passive_large(server: &str, target: Target, passive: PortRange) -> String {
    let s = hold_run(target, Mode::Passive, passive, None, HOLDERS, server);
    let what = format!("{server} passive {passive}");
    assert_eq!(s.channels.exhaustion, None, "{what}");
    assert_eq!(s.channels.outside_declared_range, 0, "{what}");
    harness::assert_no_errors(&s, &what);
    assert!(
        s.channels.peak_pending > i64::from(SMALL),
        "{what}: only {} channels held at once ({} sessions, {} holds, session setup {:?})",
        s.channels.peak_pending,
        s.counters.sessions,
        s.counters.holds,
        s.metrics
            .get(&ftpload::metrics::Metric::SessionSetup)
            .map(|m| (m.p50, m.max)),
    );
    format!(
        "none; peak {} pending of {} ports",
        s.channels.peak_pending,
        passive.size()
    )
}

/// pure-ftpd's answer to a range that is really full: the range is shared
/// with listeners of this test on all ports but one, and two sessions (its
/// cap) each hold a channel; the second gets 425 and keeps its session.
fn pure_ftpd_shared(port: u16, passive: PortRange) -> String {
    let taken: Vec<TcpListener> = (passive.first..passive.last)
        .map(|p| {
            TcpListener::bind(("127.0.0.1", p))
                .unwrap_or_else(|e| panic!("cannot take port {p} of {passive}: {e}"))
        })
        .collect();
    let s = hold_run(
        Target::Real(port),
        Mode::Passive,
        passive,
        None,
        u32::from(SMALL / 2),
        "pure-ftpd-shared",
    );
    drop(taken);
    let what = format!("pure-ftpd passive {passive}, {} ports taken", SMALL - 1);
    let e = exhausted(&s, &what);
    assert!(
        e.signature
            .starts_with("pure-ftpd: 425 All reserved TCP ports are busy"),
        "{what}: {}",
        e.signature
    );
    describe(e)
}

/// The client's active ports: EADDRINUSE at the listener, or none.
fn active(server: &str, target: Target, passive: PortRange, small: bool) -> String {
    let ports = if small { ACTIVE_SMALL } else { ACTIVE_LARGE };
    let tag = format!("{server}-active");
    let s = hold_run(target, Mode::Active, passive, Some(ports), HOLDERS, &tag);
    let what = format!("{server} active, client ports {ports}");
    if !small {
        assert_eq!(s.channels.exhaustion, None, "{what}");
        harness::assert_no_errors(&s, &what);
        return format!("none; peak {} pending", s.channels.peak_pending);
    }
    let e = exhausted(&s, &what);
    assert!(
        e.signature.contains("active port range exhausted"),
        "{what}: {}",
        e.signature
    );
    assert!(
        s.errors
            .iter()
            .any(|x| matches!(x.class, ErrorClass::AddrInUse { .. })),
        "{what}: no EADDRINUSE among {:?}",
        s.errors
    );
    assert_eq!(s.channels.peak_pending, i64::from(ports.size()), "{what}");
    describe(e)
}

type Check = Box<dyn Fn() -> String>;

fn main() {
    let t0 = Instant::now();
    let code = run();
    println!("({:.0}s)", t0.elapsed().as_secs_f64());
    std::process::exit(code);
}

/// Runs every check; the instances are stopped when it returns or unwinds.
fn run() -> i32 {
    let require = std::env::var("FTPLOAD_REQUIRE_SERVERS").is_ok_and(|v| v == "1");
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));

    // (name, why it cannot run, the check)
    let mut checks: Vec<(String, Option<String>, Check)> = Vec::new();
    let emb = |size: u16| {
        range(
            if size == SMALL {
                EMBEDDED_SMALL
            } else {
                EMBEDDED_LARGE
            },
            size,
        )
    };
    checks.push((
        "embedded::passive_small".into(),
        None,
        Box::new(move || passive_small("embedded", Target::Embedded, emb(SMALL))),
    ));
    checks.push((
        "embedded::passive_large".into(),
        None,
        Box::new(move || passive_large("embedded", Target::Embedded, emb(LARGE))),
    ));
    checks.push((
        "embedded::active_small".into(),
        None,
        Box::new(move || active("embedded", Target::Embedded, emb(LARGE), true)),
    ));
    checks.push((
        "embedded::active_large".into(),
        None,
        Box::new(move || active("embedded", Target::Embedded, emb(LARGE), false)),
    ));

    let (pkgs, root) = shared_paths();
    // Past a session limit: each check starts the instance it needs.
    checks.extend(overload::checks(&pkgs, &root));
    let mut real_wanted = Vec::new();
    for server in SERVERS {
        let why = missing(server, &pkgs, &root);
        let i = index(server);
        let (small_port, large_port) = (SMALL_PORT + i, LARGE_PORT + i);
        let (small, large) = (small_range(server), large_range(server));
        let mut add = |check: &str, f: Check| {
            let name = format!("{server}::{check}");
            if wanted(&name) && !real_wanted.contains(&server) {
                real_wanted.push(server);
            }
            checks.push((name, why.clone(), f));
        };
        add(
            "passive_small",
            Box::new(move || passive_small(server, Target::Real(small_port), small)),
        );
        add(
            "passive_large",
            Box::new(move || passive_large(server, Target::Real(large_port), large)),
        );
        if server == "pure-ftpd" {
            add(
                "passive_shared_range",
                Box::new(move || pure_ftpd_shared(small_port, small)),
            );
        }
        if ACTIVE_SERVERS.contains(&server) {
            add(
                "active_small",
                Box::new(move || active(server, Target::Real(large_port), large, true)),
            );
            add(
                "active_large",
                Box::new(move || active(server, Target::Real(large_port), large, false)),
            );
        }
    }

    // The instances of the servers that can run and have a check wanted.
    let startable: Vec<&str> = real_wanted
        .iter()
        .copied()
        .filter(|s| missing(s, &pkgs, &root).is_none())
        .collect();
    let mut failed_start: Vec<(&str, String)> = Vec::new();
    let homes = (!startable.is_empty()).then(|| {
        let small = Home::new("ftpd-exhaustion-small", &pkgs, &root);
        let large = Home::new("ftpd-exhaustion-large", &pkgs, &root);
        for s in &startable {
            let i = index(s);
            let r = small
                .start(s, SMALL_PORT + i, small_range(s), None)
                .and_then(|_| large.start(s, LARGE_PORT + i, large_range(s), None));
            if let Err(e) = r {
                failed_start.push((s, e));
            }
        }
        (small, large)
    });

    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut skipped_servers: Vec<String> = Vec::new();
    for (name, why, check) in &checks {
        let name_full = format!("exhaustion::{name}");
        if !wanted(name) {
            continue;
        }
        let server = name.split("::").next().unwrap_or_default();
        if let Some(why) = why {
            if require {
                println!(
                    "test {name_full} ... FAILED: {server}: {why} (FTPLOAD_REQUIRE_SERVERS=1)"
                );
                failed += 1;
            } else {
                println!("test {name_full} ... skipped: {server}: {why}");
                skipped += 1;
                if !skipped_servers.iter().any(|s| s == server) {
                    skipped_servers.push(server.to_string());
                }
            }
            continue;
        }
        if let Some((_, e)) = failed_start.iter().find(|(s, _)| *s == server) {
            println!("test {name_full} ... FAILED: its instance did not start: {e}");
            failed += 1;
            continue;
        }
        match catch_unwind(AssertUnwindSafe(check)) {
            Ok(note) => {
                println!("test {name_full} ... ok: {note}");
                passed += 1;
            }
            Err(_) => {
                println!("test {name_full} ... FAILED");
                failed += 1;
            }
        }
    }
    drop(homes);
    if skipped > 0 {
        println!(
            "\nSKIPPED {skipped} exhaustion checks of {}: their packages or fixture are missing. To run them:\n  {HOW}",
            skipped_servers.join(", ")
        );
    }
    println!("\n{passed} passed, {failed} failed, {skipped} skipped");
    i32::from(failed > 0)
}
