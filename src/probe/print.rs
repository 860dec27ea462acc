//! The probe's text output: a few aligned lines per finding, the verdict last.
//! (`--json` prints the [`Report`] itself.)

use std::fmt::Write;

use super::findings::{Failure, ModeFindings, PortSamples, Report, Status};
use super::verdict::{list, range_seen};
use crate::proto::{Exchange, Verb};

/// Width of the label column.
const W: usize = 9;

/// The report as a person reads it.
pub fn text(r: &Report) -> String {
    let mut o = String::new();
    let t = &r.target;
    let _ = writeln!(
        o,
        "ftpload probe {} ({}, {}), timeout {} ms per step\n",
        t.url, t.addr, t.family, r.timeout_ms
    );
    control(&mut o, r);
    if let Some(b) = &r.banner {
        line(&mut o, "banner", &format!("220 {}", b.replace('\n', " / ")));
    }
    if let Some(f) = &r.feat {
        let v = if f.features.is_empty() {
            format!("{} (no feature list)", f.code)
        } else {
            f.features.join(", ")
        };
        line(&mut o, "feat", &v);
    }
    if let Some(s) = &r.passive_ports {
        line(&mut o, "ports", &ports(r, s));
    }
    for (mode, m) in &r.modes {
        o.push('\n');
        let head = match (m.works, m.cause) {
            (true, None) => "works".to_string(),
            (true, Some(c)) => format!("works ({})", c.as_str()),
            (false, c) => format!("FAILS ({})", c.map(|c| c.as_str()).unwrap_or("?")),
        };
        line(&mut o, mode.as_str(), &head);
        mode_lines(&mut o, r, m);
    }
    o.push_str("\nverdict\n");
    for v in &r.verdict {
        let _ = writeln!(o, "  - {}", v.text);
    }
    let failed: Vec<_> = r
        .modes
        .iter()
        .filter(|(_, m)| !m.works)
        .map(|(k, _)| *k)
        .collect();
    let _ = match r.status {
        Status::Ok => writeln!(o, "\nstatus: ok, every mode asked for works"),
        Status::ModesFailed => writeln!(o, "\nstatus: modes_failed: {}", list(&failed)),
        Status::Unreachable => writeln!(o, "\nstatus: unreachable"),
        Status::LoginRefused => writeln!(
            o,
            "\nstatus: login_refused: the server answered and refused the login"
        ),
    };
    o
}

fn line(o: &mut String, label: &str, value: &str) {
    let _ = writeln!(o, "{label:<W$} {value}");
}

fn control(o: &mut String, r: &Report) {
    let c = &r.control;
    let mut v = match (c.connect_ms, c.local) {
        (Some(ms), Some(local)) => format!("connected to {} from {local} in {ms} ms", c.peer),
        _ => format!("no connection to {}", c.peer),
    };
    if let Some(b) = c.banner_ms {
        let _ = write!(v, ", banner after {b} ms");
    }
    if let Some(t) = &c.tls {
        let _ = write!(v, ", TLS {} in {} ms", t.negotiated, t.handshake_ms);
    }
    if let Some(l) = c.login_ms {
        let _ = write!(v, ", logged in as {} in {l} ms", r.target.user);
    }
    line(o, "control", &v);
    if let Some(f) = &c.failure {
        line(o, "failure", &failure(f));
    }
}

/// "20013-27911 seen over 5 PASV (5 distinct): the range spans at least 20013-27911".
fn ports(r: &Report, s: &PortSamples) -> String {
    let n = s.ports.len();
    let mut v = match (range_seen(r), s.min) {
        (Some(_), Some(min)) if s.distinct == 1 => format!(
            "port {min} every time over {n} {}: the range may be that one port, or the server hands out the same free port again",
            s.command
        ),
        (Some(range), _) => format!(
            "{range} seen over {n} {} ({} distinct): the range spans at least {range}",
            s.command, s.distinct
        ),
        _ => format!("none seen over {} {}", s.asked, s.command),
    };
    if let (Some(lo), Some(hi)) = (s.min, s.max) {
        if lo >= 32768 && hi <= 60999 && n > 0 {
            v.push_str(
                "; all in Linux's ephemeral range: the server may have no passive range set (the kernel picks)",
            );
        }
    }
    if s.announced_hosts.iter().any(|h| *h != r.control.peer.ip()) {
        let _ = write!(
            v,
            "; announced host {} is not the control peer {}",
            list(&s.announced_hosts),
            r.control.peer.ip()
        );
    }
    if let Some(f) = &s.failure {
        let _ = write!(v, "; stopped: {}", failure(f));
    }
    v
}

fn mode_lines(o: &mut String, r: &Report, m: &ModeFindings) {
    // Details go under the mode's name, with an empty label.
    let pad = "";
    if let Some(a) = m.announced {
        let target = m.data_target.unwrap_or(a);
        let v = if !m.address_mismatch {
            format!("announced {a} (the control peer's address)")
        } else if m.address_replaced {
            format!(
                "announced {a}, not the control peer {}: used {target} instead",
                m.control_peer
                    .map(|p| p.ip().to_string())
                    .unwrap_or_default()
            )
        } else {
            format!("announced {a}, not the control peer: followed it (--follow-pasv-address)")
        };
        line(o, pad, &v);
    }
    if let Some(l) = m.listener {
        let v = match m.server_source_port {
            Some(20) => format!("listener {l}; connect-back from port 20 (the traditional ftp-data port)"),
            Some(p) if p < 1024 => format!("listener {l}; connect-back from port {p} (privileged, not 20)"),
            Some(p) => format!("listener {l}; connect-back from port {p} (an unprivileged port, not 20: a client firewall must accept it from any source port)"),
            None => format!("listener {l}"),
        };
        line(o, pad, &v);
    }
    for (what, t) in [("LIST", &m.list), ("RETR", &m.retr)] {
        if let Some(t) = t {
            let name = match (what, &r.path) {
                ("RETR", Some(p)) => format!("RETR {p}"),
                _ => what.to_string(),
            };
            line(
                o,
                pad,
                &format!(
                    "{name}: {} bytes, data connection after {} ms{}, done after {} ms",
                    t.bytes,
                    t.data_setup_ms,
                    t.tls.as_ref().map_or(String::new(), |h| format!(
                        ", TLS {} in {} ms ({})",
                        h.negotiated,
                        h.handshake_ms,
                        if h.resumed {
                            "resumed"
                        } else {
                            "full handshake"
                        }
                    )),
                    t.total_ms
                ),
            );
        }
    }
    if let Some(f) = &m.failure {
        line(o, pad, &format!("failure: {}", failure(f)));
    }
    match m.plain_works {
        Some(true) => line(
            o,
            pad,
            "in plain FTP (no AUTH TLS), on a session of its own: works",
        ),
        Some(false) => line(
            o,
            pad,
            "in plain FTP (no AUTH TLS), on a session of its own: fails too",
        ),
        None => {}
    }
    line(o, pad, &format!("replies: {}", exchanges(&m.transcript)));
}

/// "timeout at data_connect on passive_data after 3001 ms", and the reply.
fn failure(f: &Failure) -> String {
    let conn = match f.connection {
        super::findings::Connection::Control => "the control connection",
        super::findings::Connection::PassiveData => "our connect to the announced port",
        super::findings::Connection::ActiveData => "the server's connect-back",
    };
    let mut v = format!("{} on {conn} after {} ms", f.class.label(), f.after_ms);
    if let Some(x) = &f.reply {
        let _ = write!(v, ": {} {}", x.code, x.text.lines().next().unwrap_or(""));
    }
    v
}

/// "TYPE I 200; PASV 227; LIST 150 226": each command after login with the
/// codes that followed it.
fn exchanges(t: &[Exchange]) -> String {
    let mut parts: Vec<String> = Vec::new();
    // The banner's and the login's replies are said elsewhere: a reply
    // belongs to the last command sent, unless that was USER or PASS.
    let mut skip = true;
    for x in t {
        match x {
            Exchange::Sent { sent } => {
                let verb = sent.split(' ').next().and_then(Verb::parse);
                skip = matches!(verb, Some(Verb::User | Verb::Pass));
                if !skip {
                    parts.push(sent.clone());
                }
            }
            Exchange::Received { code, .. } if !skip => {
                if let Some(p) = parts.last_mut() {
                    let _ = write!(p, " {code}");
                }
            }
            Exchange::Received { .. } => {}
        }
    }
    if parts.is_empty() {
        "(none after login)".into()
    } else {
        parts.join("; ")
    }
}
