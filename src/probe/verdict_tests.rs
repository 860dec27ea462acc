//! The verdict's sentences for the failure patterns a firewall or a NAT
//! produces, on reports built by hand: no server needed to read them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use super::super::classify::failure;
use super::super::findings::{ControlFindings, PortSamples, Target};
use super::*;
use crate::metrics::Step;
use crate::proto::{ProtoError, Verb};

const PEER: ([u8; 4], u16) = ([127, 0, 0, 1], 21);

fn report(modes: Vec<(Mode, ModeFindings)>, follow: bool) -> Report {
    let mut ports = PortSamples::new(Verb::Pasv, 5);
    for p in [20013, 27911, 24000, 22000, 26000] {
        ports.push(SocketAddr::from(([127, 0, 0, 1], p)));
    }
    let mut control = ControlFindings::new(PEER.into());
    control.logged_in = true;
    let status = if modes.iter().all(|(_, m)| m.works) {
        Status::Ok
    } else {
        Status::ModesFailed
    };
    Report {
        probe_version: 1,
        tool_version: "test".into(),
        target: Target {
            url: "ftp://u@127.0.0.1:21".into(),
            host: "127.0.0.1".into(),
            port: 21,
            user: "u".into(),
            addr: PEER.into(),
        },
        timeout_ms: 3000,
        follow_pasv_address: follow,
        path: None,
        status,
        control,
        banner: None,
        feat: None,
        passive_ports: Some(ports),
        modes: modes.into_iter().collect::<BTreeMap<_, _>>(),
        verdict: Vec::new(),
    }
}

fn works(m: Mode) -> (Mode, ModeFindings) {
    let mut f = ModeFindings::new(m);
    f.works = true;
    (m, f)
}

fn fails(m: Mode, e: ProtoError, port: u16) -> (Mode, ModeFindings) {
    let mut f = ModeFindings::new(m);
    let fail = failure(Some(m), &e, Duration::from_millis(3001), None);
    f.cause = Some(fail.cause);
    f.failure = Some(fail);
    f.control_peer = Some(PEER.into());
    if !m.is_active() {
        f.announced = Some(SocketAddr::from(([127, 0, 0, 1], port)));
        f.data_target = f.announced;
    }
    (m, f)
}

fn texts(r: &Report) -> Vec<String> {
    judge(r).into_iter().map(|v| v.text).collect()
}

#[test]
fn filtered_passive_ports_name_the_range_seen_and_active_as_the_way_out() {
    let t = || ProtoError::Timeout {
        step: Step::DataConnect,
    };
    let r = report(
        vec![
            fails(Mode::Passive, t(), 20013),
            fails(Mode::Epsv, t(), 20014),
            works(Mode::Active),
        ],
        false,
    );
    assert_eq!(
        texts(&r),
        [
            "active: works".to_string(),
            "passive and epsv: logged in, but our data connection to the announced ports 20013 and 20014 timed out after 3001 ms: the server's firewall drops its passive ports: open ports 20013-27911 on it (the range seen over 5 PASV; the configured range may be wider), or use active mode, which works here".to_string(),
        ]
    );
}

#[test]
fn a_dropped_connect_back_blames_the_client_firewall() {
    let t = || ProtoError::Timeout {
        step: Step::DataAccept,
    };
    let r = report(
        vec![
            works(Mode::Passive),
            works(Mode::Epsv),
            fails(Mode::Active, t(), 0),
            fails(Mode::Eprt, t(), 0),
        ],
        false,
    );
    let v = judge(&r);
    assert_eq!(v[0].text, "passive and epsv: work");
    assert_eq!(v[1].modes, [Mode::Active, Mode::Eprt]);
    assert_eq!(v[1].cause, Some(Cause::AcceptTimeout));
    assert!(v[1].text.starts_with("active and eprt: the server accepted PORT and EPRT, but its connect-back to our listener never arrived within 3000 ms: a firewall in front of this client drops inbound connections"), "{}", v[1].text);
    assert!(
        v[1].text
            .ends_with("or use passive or epsv mode, both work here"),
        "{}",
        v[1].text
    );
}

#[test]
fn a_followed_private_address_is_named_as_nat() {
    let (m, mut f) = fails(
        Mode::Passive,
        ProtoError::Timeout {
            step: Step::DataConnect,
        },
        20013,
    );
    f.announced = Some(SocketAddr::from(([10, 0, 0, 5], 20013)));
    f.data_target = f.announced;
    f.address_mismatch = true;
    let r = report(vec![(m, f)], true);
    let t = &texts(&r)[0];
    assert!(t.contains("the 227 named 10.0.0.5, not 127.0.0.1"), "{t}");
    assert!(t.contains("--follow-pasv-address"), "{t}");
    assert!(t.ends_with("or use active mode (the 227 named 10.0.0.5, not 127.0.0.1, the address the server was reached at; ftpload followed it because of --follow-pasv-address: the server is likely behind NAT and announces its private address; without the flag ftpload connects to 127.0.0.1)"), "{t}");
}

#[test]
fn a_busy_passive_range_quotes_the_known_signature() {
    let e = ProtoError::Unexpected {
        step: Step::DataSetup,
        command: Some(Verb::Pasv),
        reply: crate::proto::Reply {
            code: 425,
            text: "All reserved TCP ports are busy".into(),
        },
    };
    let r = report(vec![fails(Mode::Passive, e, 0)], false);
    assert_eq!(texts(&r)[0], "passive: the server refused PASV: 425 All reserved TCP ports are busy (known signature: pure-ftpd: 425 All reserved TCP ports are busy)");
}

#[test]
fn a_server_stuck_connecting_back_in_port_is_the_client_firewall_too() {
    let e = ProtoError::Timeout {
        step: Step::DataSetup,
    };
    let r = report(vec![works(Mode::Passive), fails(Mode::Eprt, e, 0)], false);
    let v = judge(&r);
    assert_eq!(v[1].cause, Some(Cause::PortReplyTimeout));
    assert!(
        v[1].text.starts_with("eprt: the server did not answer EPRT within 3000 ms: servers that connect back while handling PORT (pyftpdlib, libunftp) hang there"),
        "{}",
        v[1].text
    );
    assert!(
        v[1].text.ends_with("or use passive mode, which works here"),
        "{}",
        v[1].text
    );
}
