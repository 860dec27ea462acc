//! Every mode the embedded target serves (passive, epsv, active), driven end to
//! end: bytes moved equal the file sizes and each histogram counts exactly
//! the operations done.

use ftpload::metrics::Metric;
use ftpload::proto::Mode;
use ftpload::scenario::Overrides;

use crate::util::harness::{self, assert_no_errors, count, mode, run_scenario};

const ITERATIONS: u64 = 24;
const SCENARIO: &str = r#"
[files]
"1k.bin" = "1KiB"
"100k.bin" = "100KiB"
[run]
iterations = 24
[[group]]
users = 4
ops = ["retr 1k.bin", "retr 100k.bin", "stor 10KiB", "list", "size 1k.bin", "noop"]
"#;

fn check_mode(m: Mode) {
    let o = Overrides {
        modes: vec![m],
        ..Overrides::default()
    };
    let ran = run_scenario(SCENARIO, &o, m.as_str());
    assert_eq!(ran.result.modes.len(), 1, "only {m} was used");
    let s = mode(&ran.result, m);
    assert_no_errors(s, m.as_str());
    let c = &s.counters;
    assert_eq!(c.iterations, ITERATIONS);
    assert_eq!(c.sessions, ITERATIONS, "per_iteration logs in every time");
    assert_eq!(c.transfers, ITERATIONS * 4);
    assert_eq!(c.commands, ITERATIONS * 2);
    assert_eq!(c.bytes_up, ITERATIONS * 10 * 1024);
    // Downloads are RETR of 1 KiB and 100 KiB, plus a listing that is not empty.
    let retr = ITERATIONS * (1024 + 100 * 1024);
    assert!(c.bytes_down > retr, "{} <= {retr}", c.bytes_down);
    for metric in [
        Metric::TcpConnect,
        Metric::Banner,
        Metric::Login,
        Metric::SessionSetup,
    ] {
        assert_eq!(count(s, metric), ITERATIONS, "{m} {metric:?}");
    }
    harness::assert_transfer_counts(s, ITERATIONS * 4, m.as_str());
    if m.is_active() {
        assert_eq!(
            c.active_from_port_20 + c.active_from_other_port,
            ITERATIONS * 4
        );
    }
    assert_eq!(c.pasv_address_mismatch, 0);
    // A small file on loopback moves in well under the ~40 ms of a Nagle /
    // delayed-ACK stall; this guards TCP_NODELAY on both ends, not speed.
    let p50 = s.metrics[&Metric::Transfer].p50;
    assert!(
        p50 < 20_000,
        "{m}: transfer p50 {p50} µs looks like a delayed-ACK stall"
    );
}

#[test]
fn passive_moves_every_byte_and_counts_every_operation() {
    check_mode(Mode::Passive);
}

#[test]
fn epsv_moves_every_byte_and_counts_every_operation() {
    check_mode(Mode::Epsv);
}

#[test]
fn active_moves_every_byte_and_counts_every_operation() {
    check_mode(Mode::Active);
}

#[test]
fn persistent_sessions_log_in_once_per_client() {
    let toml = SCENARIO.replace("users = 4", "users = 3\nsession = \"persistent\"");
    let ran = run_scenario(&toml, &Overrides::default(), "persistent");
    let s = mode(&ran.result, Mode::Passive);
    assert_no_errors(s, "persistent");
    assert_eq!(s.counters.iterations, ITERATIONS);
    assert!(s.counters.sessions <= 3, "{} logins", s.counters.sessions);
    assert_eq!(count(s, Metric::Transfer), ITERATIONS * 4);
}

#[test]
fn embedded_target_has_no_eprt_and_the_run_says_so() {
    let o = Overrides {
        modes: vec![Mode::Eprt],
        iterations: Some(3),
        ..Overrides::default()
    };
    let ran = run_scenario(SCENARIO, &o, "eprt-embedded");
    let s = mode(&ran.result, Mode::Eprt);
    assert_eq!(s.counters.transfers, 0);
    assert!(
        s.errors.iter().any(|e| matches!(
            e.class,
            ftpload::metrics::ErrorClass::Reply {
                code: 500,
                command: Some(ftpload::proto::Verb::Eprt)
            }
        )),
        "{:?}",
        s.errors
    );
    assert_eq!(ran.status, ftpload::run::Status::Failures(s.error_count()));
}

/// `serve --reuse-port`: several targets share one port, as 50,000
/// sessions need (one process holds at most its open-file limit's); a
/// target without it cannot take a port that is in use.
#[test]
fn targets_with_reuse_port_share_one_port_and_others_cannot() {
    use ftpload::embedded::{EmbeddedConfig, EmbeddedServer};
    let cfg = |port, reuse_port| EmbeddedConfig {
        bind: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        reuse_port,
        ..EmbeddedConfig::default()
    };
    let a = EmbeddedServer::start(cfg(0, true)).unwrap();
    let port = a.addr().port();
    let b = EmbeddedServer::start(cfg(port, true));
    assert!(b.is_ok(), "a second --reuse-port target on {port}: {b:?}");
    let c = EmbeddedServer::start(cfg(port, false));
    assert!(c.is_err(), "a plain target took port {port} in use");
    // Sessions through the shared port log in, whichever target takes them.
    let o = Overrides {
        target: Some(format!("ftp://ftpload:ftpload@127.0.0.1:{port}")),
        ..Overrides::default()
    };
    let ran = run_scenario(
        "[run]\niterations = 20\n[[group]]\nusers = 4\nmode = \"passive\"\nops = [\"noop\"]\n",
        &o,
        "reuse-port",
    );
    assert_no_errors(mode(&ran.result, Mode::Passive), "shared port");
    assert_eq!(mode(&ran.result, Mode::Passive).counters.sessions, 20);
    drop(b);
    drop(a);
}
