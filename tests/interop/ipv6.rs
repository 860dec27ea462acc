//! IPv6 against the real servers, on instances the binary starts bound to
//! ::1 (tests/interop/own.rs): the plain checks' mix in EPSV and EPRT, the
//! only modes that can carry an IPv6 address (RFC 2428), over
//! `ftp://ftpuser@[::1]:PORT`, every byte moved and the result's target
//! family `ipv6`; and PASV and PORT against such a target refused by
//! ftpload before the run, exit 2, no result written.

use std::process::Command;

use ftpload::proto::Mode;

use crate::harness;
use crate::own::Set;
use crate::{assert_mix, run_mix, At, Check, Needs, Run, SERVERS};

const BIN: &str = env!("CARGO_BIN_EXE_ftpload");

fn check_v6(server: &str, mode: Mode, at: &At) -> String {
    let url = format!("ftp://ftpuser@[::1]:{}", at.port);
    let what = format!("{server} on ::1 {mode}");
    let ran = run_mix(
        server,
        &url,
        mode,
        "",
        None,
        &format!("interop-v6-{server}-{mode}"),
    );
    let s = harness::mode(&ran.result, mode);
    assert_mix(s, &what);
    let target = &ran.result.target;
    assert_eq!(target.family, "ipv6", "{what}: {target:?}");
    assert_eq!(target.host, "::1", "{what}: {target:?}");
    assert_eq!(ran.json["target"]["family"], "ipv6", "{what}");
    format!(
        "{} sessions, {} transfers, family {}",
        s.counters.sessions, s.counters.transfers, target.family
    )
}

/// `--mode passive` (and `--mode active`) against an IPv6 target: exit 2
/// with the reason, before any session, so no result file.
fn check_refused(at: &At) -> String {
    let dir = harness::temp_dir("interop-v6-refused");
    let scenario = dir.join("s.toml");
    std::fs::write(
        &scenario,
        "[run]\niterations = 2\n[[group]]\nusers = 1\nops = [\"retr 1k.bin\"]\n",
    )
    .unwrap();
    let target = format!("ftp://ftpuser@[::1]:{}", at.port);
    let mut notes = Vec::new();
    for (mode, verb, instead) in [("passive", "PASV", "epsv"), ("active", "PORT", "eprt")] {
        let out = dir.join(format!("{mode}.json"));
        let o = Command::new(BIN)
            .arg("run")
            .arg(&scenario)
            .args(["--target", &target, "--mode", mode, "-q", "--out"])
            .arg(&out)
            .env("FTPLOAD_PASSWORD", "ftppass")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{mode}: {stderr}");
        let says = format!("{verb} cannot carry an IPv6 address (RFC 2428); use {instead}");
        assert!(stderr.contains(&says), "{mode}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "mode {mode} cannot work against [::1]:{}",
                at.port
            )),
            "{mode}: {stderr}"
        );
        assert!(
            !out.exists(),
            "{mode}: a result was written: nothing should have run"
        );
        notes.push(format!("{mode} exit 2"));
    }
    notes.join(", ")
}

pub fn checks() -> Vec<Check> {
    let mut checks: Vec<Check> = Vec::new();
    for server in SERVERS {
        for mode in [Mode::Epsv, Mode::Eprt] {
            let f: Run = Box::new(move |at: &At| check_v6(server, mode, at));
            let name = format!("interop::ipv6::{server}::{mode}");
            checks.push((name, Needs::Own(Set::Ipv6, server), f));
        }
    }
    checks.push((
        "interop::ipv6::pasv-port-refused".into(),
        Needs::Own(Set::Ipv6, "vsftpd"),
        Box::new(check_refused),
    ));
    checks
}
