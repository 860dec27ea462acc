//! The classic FTP firewall failures, made real in network namespaces
//! (`scripts/netns/topo`) and loaded with `ftpload run` from the client host:
//! each topology with the embedded target and with vsftpd, each in every mode
//! the server has, with the scenario `scenarios/firewall-<topology>.toml`.
//! The result file must show, per mode, what an operator should see:
//!
//! - server-control-only: passive and EPSV log in and then time out at
//!   `data_connect` (the firewall drops the SYN to the passive port), with
//!   no transfer; active and EPRT transfer without error.
//! - server-range-open: every mode transfers without error.
//! - client-no-inbound: passive and EPSV transfer; active and EPRT time out
//!   waiting for the server to connect back: at `data_accept` on vsftpd
//!   (it answers PORT at once and connects on RETR), at `data_setup` on the
//!   embedded target (libunftp connects before it answers PORT, so the
//!   reply never comes).
//! - nat: every mode transfers, and every passive channel counts a 227
//!   address mismatch (the private address; the client used the control
//!   peer). With --follow-pasv-address passive mode fails at once at
//!   `data_connect` with ENETUNREACH (no route to the private network).
//!
//! - ipv6-open (embedded target: EPSV; vsftpd: EPSV and EPRT), on
//!   2001:db8::/32 with no route out: every byte moved over IPv6, the
//!   result's family `ipv6`; the probe says PASV and PORT cannot carry an
//!   IPv6 address, and a passive run is refused before it starts (exit 2).
//! - server-ftp-helper (embedded target, plain and explicit FTPS on one
//!   port): only the control port is open, with the kernel's FTP conntrack
//!   helper attached. Plain FTP works in every mode; under FTPS passive and
//!   EPSV time out at `data_connect` (the helper cannot read an encrypted
//!   227), active works, and the probe names the helper.
//!
//! - source-ips (embedded target, server-range-open): the client host's
//!   ephemeral range narrowed to 10 ports (its namespace's own
//!   `net.ipv4.ip_local_port_range`), 15 clients holding sessions from one
//!   source address get no more than 10 logged in, the rest failing at
//!   `connect` with EADDRNOTAVAIL, counted as that address's exhaustion;
//!   the same 15 over 3 addresses (`--source-ips`) all log in, 5 each.
//!
//! Needs root, network namespaces and nftables (`scripts/netns/topo install`),
//! and for vsftpd `scripts/targets/ftpd install vsftpd && scripts/targets/ftpd
//! fixture`. Whatever is missing is skipped and said so; with
//! FTPLOAD_REQUIRE_NETNS=1 it fails instead. Its own small harness, like
//! tests/interop.rs, so the skip notice is printed rather than captured; the
//! checks run a few at a time, each in a topology of its own.

// The shared helpers, from tests/util: of `common` only its bounded wait,
// which `netns` uses; `netns` is this binary's alone.
#[allow(dead_code)]
#[path = "util/common.rs"]
mod common;
#[path = "util/netns.rs"]
mod netns;

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ftpload::metrics::{ErrorClass, Step};
use ftpload::proto::Mode;
use ftpload::result::{ModeResult, RunResult};
use netns::{Server, Topology};

/// Checks running at once. Each run keeps 6 to 8 clients busy for about 5 s.
const JOBS: usize = 4;
/// Clients per mode.
const USERS_PER_MODE: usize = 2;
/// A run lasts 5 s plus at most a few seconds of timeouts and set-up.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
const TOPOLOGIES: [&str; 4] = [
    "server-control-only",
    "server-range-open",
    "client-no-inbound",
    "nat",
];
const SERVERS: [Server; 2] = [Server::Embedded, Server::Vsftpd];

struct Ran {
    code: Option<i32>,
    result: RunResult,
    /// ftpload's summary and messages, for failure messages.
    output: String,
}

impl Ran {
    fn mode(&self, m: Mode) -> &ModeResult {
        self.result
            .modes
            .get(&m)
            .unwrap_or_else(|| panic!("no {m} section in the result:\n{}", self.output))
    }
}

fn modes(server: Server) -> Vec<Mode> {
    match server {
        // The embedded target answers EPRT with 500.
        Server::Embedded => vec![Mode::Passive, Mode::Epsv, Mode::Active],
        Server::Vsftpd => Mode::ALL.to_vec(),
    }
}

/// `ftpload run scenarios/firewall-<kind>.toml` on the client host.
fn load(topo: &Topology, modes: &[Mode], extra: &[&str]) -> Ran {
    load_from(topo, &topo.target, modes, extra)
}

/// The same against `target` (the topology's, or it over FTPS).
fn load_from(topo: &Topology, target: &str, modes: &[Mode], extra: &[&str]) -> Ran {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("result.json");
    let scenario: PathBuf =
        netns::repo_root().join(format!("scenarios/firewall-{}.toml", topo.kind));
    let list: Vec<String> = modes.iter().map(|m| m.to_string()).collect();
    let mut cmd = topo.client(env!("CARGO_BIN_EXE_ftpload"));
    cmd.arg("run")
        .arg(&scenario)
        .args(["--target", target, "--mode", &list.join(",")])
        .args(["--users", &(USERS_PER_MODE * modes.len()).to_string()])
        .args(["--workers", "1", "--quiet", "--out"])
        .arg(&out)
        .args(extra)
        .env("FTPLOAD_PASSWORD", &topo.password);
    let f = netns::run_bounded(cmd, RUN_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    let output = format!("{}{}", f.stdout, f.stderr);
    let result = RunResult::read(&out).unwrap_or_else(|e| {
        panic!(
            "{}: no result ({e}), exit {}:\n{output}\nserver log:\n{}",
            topo.name,
            f.status,
            topo.server_log_tail()
        )
    });
    assert_eq!(result.target.host, topo.target_addr.to_string(), "{output}");
    Ran {
        code: f.status.code(),
        result,
        output,
    }
}

/// `ftpload probe --json` on the client host: its exit code and JSON, with
/// the text output (printed by the test, for people reading CI logs).
struct Probed {
    code: Option<i32>,
    json: serde_json::Value,
    text: String,
}

fn probe(topo: &Topology, modes: &[Mode]) -> Probed {
    probe_from(topo, &topo.target, modes, &[])
}

/// The same against `target`, with `extra` flags.
fn probe_from(topo: &Topology, target: &str, modes: &[Mode], extra: &[&str]) -> Probed {
    let list: Vec<String> = modes.iter().map(|m| m.to_string()).collect();
    let run = |json: bool| {
        let mut cmd = topo.client(env!("CARGO_BIN_EXE_ftpload"));
        cmd.args(["probe", target, "--timeout", "2s", "--path", "1k.bin"])
            .args(extra)
            .args(["--mode", &list.join(",")])
            .env("FTPLOAD_PASSWORD", &topo.password);
        if json {
            cmd.arg("--json");
        }
        netns::run_bounded(cmd, RUN_TIMEOUT).unwrap_or_else(|e| panic!("{e}"))
    };
    let f = run(true);
    let json = serde_json::from_str(&f.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: probe --json: {e}
{}{}",
            topo.name, f.stdout, f.stderr
        )
    });
    let text = run(false);
    Probed {
        code: f.status.code(),
        json,
        text: text.stdout,
    }
}

/// The probe's finding for mode `m`: whether it works, and its cause.
fn probed(p: &Probed, m: Mode) -> (bool, Option<String>) {
    let x = &p.json["modes"][m.as_str()];
    (
        x["works"]
            .as_bool()
            .unwrap_or_else(|| panic!("no {m} in the probe:\n{}", p.text)),
        x["cause"].as_str().map(String::from),
    )
}

fn probe_says(p: &Probed, m: Mode, works: bool, cause: Option<&str>, what: &str) {
    assert_eq!(
        probed(p, m),
        (works, cause.map(String::from)),
        "{what}: probe of {m}\n{}",
        p.text
    );
}

/// The run's one-line summary of `m`'s data channels says `words`.
fn line_says(ran: &Ran, m: Mode, words: &str, what: &str) {
    let line = ran
        .output
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{m}: ")))
        .unwrap_or_else(|| panic!("{what}: no data-channel line for {m}\n{}", ran.output));
    assert!(
        line.contains(words),
        "{what} {m}: {line:?} should say {words:?}"
    );
}

fn logged_in(ran: &Ran, m: Mode, what: &str) {
    let s = ran.mode(m);
    assert!(
        s.counters.sessions > 0 && s.counters.sessions_failed == 0,
        "{what} {m}: sessions {} ok, {} failed\n{}",
        s.counters.sessions,
        s.counters.sessions_failed,
        ran.output
    );
}

/// The mode moved data with no failure of any kind.
fn works(ran: &Ran, m: Mode, what: &str) -> u64 {
    logged_in(ran, m, what);
    let s = ran.mode(m);
    let c = &s.counters;
    assert!(
        c.transfers > 0 && c.transfers_failed == 0 && s.errors.is_empty(),
        "{what} {m}: {} transfers, {} failed, errors {:?}\n{}",
        c.transfers,
        c.transfers_failed,
        s.errors,
        ran.output
    );
    c.transfers
}

/// The mode logged in but moved nothing: every data channel failed, every
/// failure with `class`. Returns how many.
fn fails_with(ran: &Ran, m: Mode, class: ErrorClass, what: &str) -> u64 {
    logged_in(ran, m, what);
    let s = ran.mode(m);
    let c = &s.counters;
    let total: u64 = s.errors.iter().map(|e| e.count).sum();
    assert!(
        c.transfers == 0
            && c.transfers_failed > 0
            && s.errors.iter().all(|e| e.class == class)
            && total == c.transfers_failed,
        "{what} {m}: want only {class}, one per failed transfer; got {} transfers, {} failed, errors {:?}\n{}",
        c.transfers,
        c.transfers_failed,
        s.errors,
        ran.output
    );
    total
}

fn exhaustion_says(ran: &Ran, m: Mode, words: &str, what: &str) {
    let e = ran.mode(m).channels.exhaustion.as_ref();
    assert!(
        e.is_some_and(|e| e.signature.contains(words)),
        "{what} {m}: exhaustion {e:?}, want a signature with {words:?}"
    );
}

fn exit_code(ran: &Ran, want: i32, what: &str) {
    assert_eq!(ran.code, Some(want), "{what}: exit code\n{}", ran.output);
}

fn timeout(step: Step) -> ErrorClass {
    ErrorClass::Timeout { step }
}

/// One topology with one server: the load run and what it must show.
/// None when the topology cannot be made here (skip already reported).
fn check(name: &str, kind: &str, server: Server) -> Option<String> {
    if kind == SOURCE_IPS {
        return check_source_ips(name, server);
    }
    if kind == FTP_HELPER {
        return check_ftp_helper(name);
    }
    if kind == IPV6 {
        return check_ipv6(name, server);
    }
    let topo = match Topology::up(kind, server) {
        Ok(t) => t,
        Err(reason) => {
            netns::skip(name, &reason);
            return None;
        }
    };
    let ms = modes(server);
    let p = probe(&topo, &ms);
    let ran = load(&topo, &ms, &[]);
    let what = name;
    let mut note = Vec::new();
    match kind {
        "server-control-only" => {
            assert_eq!(p.code, Some(4), "{what}: probe exit\n{}", p.text);
            exit_code(&ran, 1, what);
            for &m in &ms {
                if m.is_active() {
                    probe_says(&p, m, true, None, what);
                    let n = works(&ran, m, what);
                    line_says(&ran, m, &format!("{n} of {n} data channels opened"), what);
                    note.push(format!("{m} {n} transfers"));
                } else {
                    probe_says(&p, m, false, Some("data_connect_timeout"), what);
                    let n = fails_with(&ran, m, timeout(Step::DataConnect), what);
                    exhaustion_says(&ran, m, "filtered", what);
                    let head =
                        format!("NO DATA CHANNEL EVER OPENED (blocked, not exhausted) ({m})");
                    assert!(
                        ran.output.contains(&head),
                        "{what}: want {head:?}\n{}",
                        ran.output
                    );
                    // Filtered, not full: every announced port in the range.
                    assert_eq!(ran.mode(m).channels.outside_declared_range, 0, "{what} {m}");
                    line_says(
                        &ran,
                        m,
                        &format!("0 of {n} data channels opened: all {n} connects to the announced port timed out after 2s"),
                        what,
                    );
                    note.push(format!("{m} {n}× timeout at data_connect"));
                }
            }
        }
        "server-range-open" => {
            assert_eq!(p.code, Some(0), "{what}: probe exit\n{}", p.text);
            exit_code(&ran, 0, what);
            for &m in &ms {
                probe_says(&p, m, true, None, what);
                let n = works(&ran, m, what);
                line_says(&ran, m, &format!("{n} of {n} data channels opened"), what);
                note.push(format!("{m} {n} transfers"));
            }
        }
        "client-no-inbound" => {
            assert_eq!(p.code, Some(4), "{what}: probe exit\n{}", p.text);
            exit_code(&ran, 1, what);
            for &m in &ms {
                if !m.is_active() {
                    probe_says(&p, m, true, None, what);
                    let n = works(&ran, m, what);
                    note.push(format!("{m} {n} transfers"));
                    continue;
                }
                // libunftp connects back before it answers PORT; vsftpd
                // answers at once and connects after RETR.
                let (step, cause, words) = match server {
                    Server::Embedded => (
                        Step::DataSetup,
                        "port_reply_timeout",
                        "PORT got no reply within 3s",
                    ),
                    Server::Vsftpd => (
                        Step::DataAccept,
                        "accept_timeout",
                        "connect-backs from the server never arrived within 2s",
                    ),
                };
                probe_says(&p, m, false, Some(cause), what);
                let n = fails_with(&ran, m, timeout(step), what);
                if step == Step::DataAccept {
                    exhaustion_says(&ran, m, "never connected back", what);
                }
                line_says(
                    &ran,
                    m,
                    &format!("0 of {n} data channels opened: all {n} {words}"),
                    what,
                );
                note.push(format!("{m} {n}× timeout at {}", step.as_str()));
            }
        }
        "nat" => {
            assert_eq!(p.code, Some(0), "{what}: probe exit\n{}", p.text);
            exit_code(&ran, 0, what);
            for &m in &ms {
                // Passive works only because the 227's private address was
                // replaced by the control peer; EPSV names no address.
                let cause = (m == Mode::Passive).then_some("nat_replaced");
                probe_says(&p, m, true, cause, what);
                let n = works(&ran, m, what);
                let mismatch = ran.mode(m).counters.pasv_address_mismatch;
                // Every 227 named the private address; EPSV names none.
                let want = if m == Mode::Passive { n } else { 0 };
                assert_eq!(mismatch, want, "{what} {m}: 227 mismatches\n{}", ran.output);
                note.push(format!("{m} {n} transfers, {mismatch} mismatches"));
            }
            // A client that trusts the 227 has no route to it.
            let follow = load(
                &topo,
                &[Mode::Passive],
                &["--follow-pasv-address", "--duration", "2s"],
            );
            exit_code(&follow, 1, what);
            let unreachable = ErrorClass::Os {
                step: Step::DataConnect,
                errno: libc::ENETUNREACH,
            };
            let n = fails_with(&follow, Mode::Passive, unreachable, what);
            let s = follow.mode(Mode::Passive);
            assert_eq!(s.counters.pasv_address_mismatch, n, "{what} follow");
            note.push(format!("following the 227: {n}× ENETUNREACH"));
        }
        other => panic!("no check for topology {other}"),
    }
    // What an operator would read: the probe's verdict and the run's lines.
    let verdict: Vec<&str> = p
        .text
        .lines()
        .skip_while(|l| !l.starts_with("verdict"))
        .filter(|l| l.trim_start().starts_with("- "))
        .collect();
    let lines: Vec<&str> = ran
        .output
        .lines()
        .skip_while(|l| !l.starts_with("data channels:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    println!(
        "--- {name}\nprobe (exit {:?}):\n{}\nload run (exit {:?}):\n{}",
        p.code,
        verdict.join("\n"),
        ran.code,
        lines.join("\n")
    );
    Some(note.join(", "))
}

/// The check of the client's port supply growing with source addresses.
const SOURCE_IPS: &str = "source-ips";
/// IPv6 in namespaces, on 2001:db8::/32 (no route out): EPSV and EPRT
/// transfer, PASV and PORT are refused before anything is sent.
const IPV6: &str = "ipv6-open";

/// ipv6-open: EPSV (and EPRT on vsftpd) move every byte over IPv6, the
/// result says the family; the probe says PASV and PORT cannot carry an
/// IPv6 address, and a run in passive mode is refused before it starts.
fn check_ipv6(name: &str, server: Server) -> Option<String> {
    let topo = match Topology::up(IPV6, server) {
        Ok(t) => t,
        Err(reason) => {
            netns::skip(name, &reason);
            return None;
        }
    };
    let what = name;
    let ms: Vec<Mode> = match server {
        Server::Embedded => vec![Mode::Epsv],
        Server::Vsftpd => vec![Mode::Epsv, Mode::Eprt],
    };
    let ran = load(&topo, &ms, &[]);
    exit_code(&ran, 0, what);
    assert_eq!(ran.result.target.family, "ipv6", "{what}");
    let mut note = Vec::new();
    for &m in &ms {
        note.push(format!("{m} {} transfers", works(&ran, m, what)));
    }
    let p = probe(&topo, &[Mode::Passive, Mode::Epsv, Mode::Active]);
    assert_eq!(p.json["target"]["family"], "ipv6", "{what}");
    probe_says(&p, Mode::Epsv, true, None, what);
    for m in [Mode::Passive, Mode::Active] {
        probe_says(&p, m, false, Some("unsupported"), what);
    }
    for (verb, instead) in [("PASV", "epsv"), ("PORT", "eprt")] {
        let said = format!("{verb} cannot carry an IPv6 address (RFC 2428): use {instead}");
        assert!(p.text.contains(&said), "{what}: want {said:?}\n{}", p.text);
    }
    let refused = load_refused(&topo, Mode::Passive);
    assert!(
        refused.contains("PASV cannot carry an IPv6 address (RFC 2428); use epsv"),
        "{what}: {refused}"
    );
    note.push("passive refused before the run".into());
    Some(note.join(", "))
}

/// A run that must be refused before it starts (exit 2): its stderr.
fn load_refused(topo: &Topology, m: Mode) -> String {
    let scenario = netns::repo_root().join(format!("scenarios/firewall-{}.toml", topo.kind));
    let mut cmd = topo.client(env!("CARGO_BIN_EXE_ftpload"));
    cmd.arg("run")
        .arg(&scenario)
        .args(["--target", &topo.target, "--mode", m.as_str(), "--quiet"])
        .env("FTPLOAD_PASSWORD", &topo.password);
    let f = netns::run_bounded(cmd, RUN_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.status.code(), Some(2), "{}{}", f.stdout, f.stderr);
    f.stderr
}

/// The firewall that opens data connections through the kernel's FTP
/// helper: plain FTP passes, FTPS passive does not (embedded target only).
const FTP_HELPER: &str = "server-ftp-helper";

/// server-ftp-helper: plain FTP works in every mode though the passive
/// range is closed (the helper reads each 227/229); under FTPS passive and
/// EPSV time out at data_connect while active works, and the probe says
/// why. Where the kernel has no FTP helper, the topology is skipped.
fn check_ftp_helper(name: &str) -> Option<String> {
    let topo = match Topology::up(FTP_HELPER, Server::Embedded) {
        Ok(t) => t,
        Err(reason) => {
            netns::skip(name, &reason);
            return None;
        }
    };
    let what = name;
    let ms = modes(Server::Embedded);
    let ftps = topo.target.replacen("ftp://", "ftpes://", 1);
    // FTPS first: each 227/229 the helper reads in plain FTP leaves an
    // expectation for its port until a connection uses it, and one left
    // unused (the probe's port samples, a session cut off at the end of a
    // run) would let a later FTPS connection to the same port through.
    let tran = load_from(&topo, &ftps, &ms, &["--insecure"]);
    exit_code(&tran, 1, what);
    let tp = probe_from(&topo, &ftps, &ms, &["--insecure"]);
    assert_eq!(tp.code, Some(4), "{what}: FTPS probe\n{}", tp.text);
    let p = probe(&topo, &ms);
    assert_eq!(p.code, Some(0), "{what}: plain probe\n{}", p.text);
    let plain = p
        .text
        .lines()
        .find(|l| l.contains("every mode asked for works"));
    println!(
        "{what}: plain probe verdict: {}",
        plain.unwrap_or_default().trim()
    );
    let ran = load(&topo, &ms, &[]);
    exit_code(&ran, 0, what);
    let mut note = Vec::new();
    for &m in &ms {
        probe_says(&p, m, true, None, what);
        note.push(format!("plain {m} {} transfers", works(&ran, m, what)));
    }
    for &m in &ms {
        if m.is_active() {
            probe_says(&tp, m, true, None, what);
            note.push(format!("FTPS {m} {} transfers", works(&tran, m, what)));
            continue;
        }
        probe_says(&tp, m, false, Some("tls_hides_from_helper"), what);
        assert_eq!(
            tp.json["modes"][m.as_str()]["plain_works"],
            true,
            "{what} {m}\n{}",
            tp.text
        );
        let n = fails_with(&tran, m, timeout(Step::DataConnect), what);
        note.push(format!("FTPS {m} {n}× timeout at data_connect"));
    }
    let said = "works in plain FTP through the firewall's FTP helper; under TLS the helper cannot see the 227/229: open the passive range";
    assert!(tp.text.contains(said), "{what}: want {said:?}\n{}", tp.text);
    let verdict = tp
        .text
        .lines()
        .find(|l| l.contains(said))
        .unwrap_or_default();
    println!("{what}: FTPS probe verdict: {}", verdict.trim());
    Some(note.join(", "))
}
/// The client host's ephemeral ports in that check: 10.
const NARROW_RANGE: &str = "40000 40009";
const HELD: u64 = 15;

/// Sessions held (persistent, idle) by `HELD` clients from `sources`, in
/// passive mode, with nothing else using the client's ports.
fn hold_sessions(topo: &Topology, sources: &str) -> Ran {
    let dir = tempfile::tempdir().expect("temporary directory");
    let scenario = dir.path().join("held.toml");
    std::fs::write(
        &scenario,
        format!(
            "[run]\nduration = \"3s\"\nramp_up = \"0s\"\n[[group]]\nusers = {HELD}\nsession = \"persistent\"\nmode = \"passive\"\nops = [\"idle 500ms\"]\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("result.json");
    let mut cmd = topo.client(env!("CARGO_BIN_EXE_ftpload"));
    cmd.arg("run")
        .arg(&scenario)
        .args(["--target", &topo.target, "--source-ips", sources])
        .args(["--workers", "1", "--quiet", "--out"])
        .arg(&out)
        .env("FTPLOAD_PASSWORD", &topo.password);
    let f = netns::run_bounded(cmd, RUN_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    let output = format!("{}{}", f.stdout, f.stderr);
    let result = RunResult::read(&out).unwrap_or_else(|e| {
        panic!(
            "{}: no result ({e}), exit {}:\n{output}",
            topo.name, f.status
        )
    });
    Ran {
        code: f.status.code(),
        result,
        output,
    }
}

/// Runs `program args` on the client host, which must succeed.
fn on_client(topo: &Topology, program: &str, args: &[&str]) {
    let mut cmd = topo.client(program);
    cmd.args(args);
    let f = netns::run_bounded(cmd, Duration::from_secs(10)).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        f.status.success(),
        "{program} {args:?} on the client host: {}{}",
        f.stdout,
        f.stderr
    );
}

fn check_source_ips(name: &str, server: Server) -> Option<String> {
    let topo = match Topology::up("server-range-open", server) {
        Ok(t) => t,
        Err(reason) => {
            netns::skip(name, &reason);
            return None;
        }
    };
    let what = name;
    // Addresses of the client host's own, beside its 198.18.0.1: one for the
    // single-address run, three for the spread one, so neither run's
    // TIME_WAIT sockets take the other's ports.
    for a in ["198.18.0.11", "198.18.0.12", "198.18.0.13", "198.18.0.14"] {
        on_client(
            &topo,
            "ip",
            &["addr", "add", &format!("{a}/24"), "dev", "c0"],
        );
    }
    let range = format!("net.ipv4.ip_local_port_range={NARROW_RANGE}");
    on_client(&topo, "sysctl", &["-q", "-w", &range]);

    let one = hold_sessions(&topo, "198.18.0.11");
    exit_code(&one, 1, what);
    let m = one.mode(Mode::Passive);
    let held = m.sessions.as_ref().expect("sessions").peak_logged_in;
    assert!(
        (1..=10).contains(&held),
        "{what}: {held} sessions at once from one address with 10 ports\n{}",
        one.output
    );
    // Every failure is a connect that found no free port.
    let refused: u64 = m.errors.iter().map(|e| e.count).sum();
    let ports_out = ErrorClass::AddrNotAvailable {
        step: Step::Connect,
    };
    assert!(
        refused > 0
            && refused == m.counters.sessions_failed
            && m.errors.iter().all(|e| e.class == ports_out),
        "{what}: want only {ports_out}, one per failed session: {:?}\n{}",
        m.errors,
        one.output
    );
    let [src] = one.result.sources.as_slice() else {
        panic!("{what}: one address, {:?}", one.result.sources);
    };
    assert_eq!(src.address.to_string(), "198.18.0.11");
    assert_eq!(src.counts.sessions, m.counters.sessions, "{what}");
    assert_eq!(
        src.counts.sessions_failed, m.counters.sessions_failed,
        "{what}"
    );
    assert_eq!(src.counts.exhausted, refused, "{what}: {src:?}");
    assert_eq!(
        src.counts.exhaustion.as_deref(),
        Some("client: local ports exhausted (EADDRNOTAVAIL)"),
        "{what}"
    );

    let three = hold_sessions(&topo, "198.18.0.12-198.18.0.14");
    exit_code(&three, 0, what);
    let m3 = three.mode(Mode::Passive);
    assert_eq!(three.result.error_count(), 0, "{what}:\n{}", three.output);
    assert_eq!(m3.counters.sessions, HELD, "{what}");
    assert_eq!(
        m3.sessions.as_ref().expect("sessions").peak_logged_in,
        HELD as i64,
        "{what}: every client logged in at once"
    );
    let per: Vec<(String, u64)> = three
        .result
        .sources
        .iter()
        .map(|s| (s.address.to_string(), s.counts.sessions))
        .collect();
    assert_eq!(
        per,
        [
            ("198.18.0.12".to_string(), 5),
            ("198.18.0.13".to_string(), 5),
            ("198.18.0.14".to_string(), 5)
        ],
        "{what}"
    );
    Some(format!(
        "ports {NARROW_RANGE}: one address held {held} of {HELD} ({refused} EADDRNOTAVAIL), three held {HELD} (5 each)"
    ))
}

enum Outcome {
    Passed,
    Skipped,
    Failed,
}

fn main() {
    let t0 = Instant::now();
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut queue = VecDeque::new();
    for server in SERVERS {
        for kind in TOPOLOGIES {
            let name = format!("netns::{kind}::{}", server.as_str());
            if filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())) {
                queue.push_back((name, kind, server));
            }
        }
    }
    for kind in [SOURCE_IPS, FTP_HELPER] {
        let name = format!("netns::{kind}::embedded");
        if filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())) {
            queue.push_back((name, kind, Server::Embedded));
        }
    }
    for server in SERVERS {
        let name = format!("netns::{IPV6}::{}", server.as_str());
        if filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())) {
            queue.push_back((name, IPV6, server));
        }
    }
    let queue = Arc::new(Mutex::new(queue));
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..JOBS)
        .map(|i| {
            let queue = Arc::clone(&queue);
            let outcomes = Arc::clone(&outcomes);
            std::thread::Builder::new()
                .name(format!("netns-{i}"))
                .spawn(move || loop {
                    let Some((name, kind, server)) = queue.lock().unwrap().pop_front() else {
                        break;
                    };
                    let started = Instant::now();
                    let outcome =
                        match catch_unwind(AssertUnwindSafe(|| check(&name, kind, server))) {
                            Ok(Some(note)) => {
                                let secs = started.elapsed().as_secs_f64();
                                println!("test {name} ... ok ({secs:.1}s): {note}");
                                Outcome::Passed
                            }
                            Ok(None) => Outcome::Skipped,
                            Err(_) => {
                                println!("test {name} ... FAILED");
                                Outcome::Failed
                            }
                        };
                    outcomes.lock().unwrap().push(outcome);
                })
                .expect("spawn a worker thread")
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    let outcomes = outcomes.lock().unwrap();
    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let passed = count(|o| matches!(o, Outcome::Passed));
    let failed = count(|o| matches!(o, Outcome::Failed));
    let skipped = count(|o| matches!(o, Outcome::Skipped));
    if skipped > 0 {
        println!(
            "\nSKIPPED {skipped} netns checks (reasons above). To run them, as root:\n  scripts/test --test netns"
        );
    }
    println!(
        "\n{passed} passed, {failed} failed, {skipped} skipped ({:.0}s)",
        t0.elapsed().as_secs_f64()
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
