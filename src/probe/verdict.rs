//! Turning findings into words: per group of modes that share a cause, the
//! likely reason and the fix an operator can act on. Pure: it reads a
//! [`Report`] and nothing else, so every sentence is tested without a server.

use super::findings::{Cause, Failure, ModeFindings, Report, Verdict};
use crate::metrics::exhaustion;
use crate::proto::Mode;

/// The verdict lines: first the control connection's failure (then nothing
/// else), or the modes that work, then one line per cause.
pub fn judge(r: &Report) -> Vec<Verdict> {
    if r.status.stopped_at_login() {
        return vec![Verdict {
            modes: Vec::new(),
            works: false,
            cause: r.control.failure.as_ref().map(|f| f.cause),
            text: unreachable(r),
        }];
    }
    let mut out = Vec::new();
    let plain: Vec<Mode> = modes_where(r, |m| m.works && m.cause.is_none());
    if !plain.is_empty() {
        let all = plain.len() == r.modes.len();
        out.push(Verdict {
            text: if all && plain.len() > 1 {
                format!("every mode asked for works: {}", list(&plain))
            } else {
                format!("{}: {}", list(&plain), works_word(&plain))
            },
            modes: plain,
            works: true,
            cause: None,
        });
    }
    let mut causes: Vec<Cause> = Vec::new();
    for m in r.modes.values() {
        if let Some(c) = m.cause {
            if !causes.contains(&c) {
                causes.push(c);
            }
        }
    }
    for c in causes {
        let modes = modes_where(r, |m| m.cause == Some(c));
        let group: Vec<&ModeFindings> = modes.iter().map(|m| &r.modes[m]).collect();
        out.push(Verdict {
            works: c == Cause::NatReplaced,
            cause: Some(c),
            text: sentence(r, c, &modes, &group),
            modes,
        });
    }
    out
}

fn modes_where(r: &Report, keep: impl Fn(&ModeFindings) -> bool) -> Vec<Mode> {
    r.modes
        .iter()
        .filter(|(_, f)| keep(f))
        .map(|(m, _)| *m)
        .collect()
}

fn works_word(modes: &[Mode]) -> &'static str {
    if modes.len() == 1 {
        "works"
    } else {
        "work"
    }
}

/// "passive", "passive and epsv", "passive, epsv and active".
pub fn list<T: std::fmt::Display>(items: &[T]) -> String {
    let s: Vec<String> = items.iter().map(|x| x.to_string()).collect();
    match s.len() {
        0 => String::new(),
        1 => s[0].clone(),
        n => format!("{} and {}", s[..n - 1].join(", "), s[n - 1]),
    }
}

/// "20013-27911" from the sampled ports, or one port.
pub fn range_seen(r: &Report) -> Option<String> {
    let s = r.passive_ports.as_ref()?;
    match (s.min, s.max) {
        (Some(a), Some(b)) if a == b => Some(a.to_string()),
        (Some(a), Some(b)) => Some(format!("{a}-{b}")),
        _ => None,
    }
}

fn unreachable(r: &Report) -> String {
    let addr = r.control.peer;
    let t = r.timeout_ms;
    let Some(f) = &r.control.failure else {
        return format!("could not log in to {addr}");
    };
    let reply = f
        .reply
        .as_ref()
        .map(|x| format!("{} {}", x.code, first_line(&x.text)));
    match f.cause {
        Cause::ConnectRefused => format!("could not connect to {addr}: refused at once ({} ms): nothing listens there (wrong port, or the server is down), or a firewall rejects it", f.after_ms),
        Cause::ConnectTimeout => format!("could not connect to {addr}: no answer within {t} ms: a firewall drops the control port, or the host is down"),
        Cause::NoBanner => format!("connected to {addr}, but no banner came within {t} ms: the server's listen queue is full, or what listens there is not an FTP server"),
        Cause::LoginRefused => format!("the server refused the login as {}: {}: check the user and password", r.target.user, reply.unwrap_or_default()),
        Cause::SessionLimit => format!("the server turned the session away by its session limit, {}: {}: it holds as many sessions as it will", crate::diagnosis::words::session_limit(&f.message, None), reply.unwrap_or_default()),
        Cause::ServerReply => format!("the server turned the session away: {}", reply.unwrap_or_default()),
        _ => format!("the control connection to {addr} failed: {}", f.message),
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// The first failure of the group, for its numbers and words.
fn first_failure<'a>(group: &[&'a ModeFindings]) -> Option<&'a Failure> {
    group.iter().find_map(|m| m.failure.as_ref())
}

fn reply_of(f: Option<&Failure>) -> String {
    f.and_then(|f| f.reply.as_ref())
        .map(|x| format!("{} {}", x.code, first_line(&x.text)))
        .unwrap_or_else(|| "no reply".into())
}

/// "or use active mode", naming a mode of the other kind that works here.
fn or_use(r: &Report, active: bool) -> String {
    let other: Vec<Mode> = r
        .modes
        .iter()
        .filter(|(m, _)| m.is_active() != active)
        .map(|(m, _)| *m)
        .collect();
    let working: Vec<Mode> = other.iter().copied().filter(|m| r.modes[m].works).collect();
    let kind = if active { "passive" } else { "active" };
    if working.len() == 1 {
        format!(", or use {} mode, which works here", working[0])
    } else if !working.is_empty() {
        let names: Vec<String> = working.iter().map(|m| m.to_string()).collect();
        format!(", or use {} mode, both work here", names.join(" or "))
    } else if other.is_empty() {
        format!(", or use {kind} mode")
    } else {
        String::new()
    }
}

/// The command of the same kind that could replace a mode's.
fn sibling(m: Mode) -> Mode {
    match m {
        Mode::Passive => Mode::Epsv,
        Mode::Epsv => Mode::Passive,
        Mode::Active => Mode::Eprt,
        Mode::Eprt => Mode::Active,
    }
}

fn sentence(r: &Report, c: Cause, modes: &[Mode], group: &[&ModeFindings]) -> String {
    let m = list(modes);
    let f = first_failure(group);
    let after = f.map(|f| f.after_ms.round() as u64).unwrap_or(0);
    let t = r.timeout_ms;
    let cmds = list(&group.iter().map(|g| g.command).collect::<Vec<_>>());
    let ports: Vec<u16> = group
        .iter()
        .filter_map(|g| g.data_target.map(|a| a.port()))
        .collect();
    let port_words = match ports.len() {
        0 => "the announced port".to_string(),
        1 => format!("the announced port {}", ports[0]),
        _ => format!("the announced ports {}", list(&ports)),
    };
    let listener = group
        .iter()
        .find_map(|g| g.listener)
        .map(|a| format!(" {a}"))
        .unwrap_or_default();
    let nat = followed_nat(group);
    let text = match c {
        Cause::DataConnectTimeout => {
            let open = match (range_seen(r), &r.passive_ports) {
                (Some(range), Some(s)) => format!(
                    "open ports {range} on it (the range seen over {} {}; the configured range may be wider)",
                    s.ports.len(),
                    s.command
                ),
                _ => "open its passive port range on it".into(),
            };
            format!("{m}: logged in, but our data connection to {port_words} timed out after {after} ms: the server's firewall drops its passive ports: {open}{}", or_use(r, false))
        }
        Cause::DataConnectRefused => format!("{m}: our data connection to {port_words} was refused at once ({after} ms): nothing listens on the port the server announced (it announces a port it did not open, a firewall rejects the port, or a NAT does not forward it): check the server's passive port range and address settings{}", or_use(r, false)),
        Cause::DataConnectUnreachable => format!("{m}: our data connection to {port_words} found no route ({}): this client cannot reach the address the server announced{}", label(f), or_use(r, false)),
        Cause::DataConnectFailed => format!("{m}: our data connection to {port_words} failed after {after} ms ({}): the network between drops or resets it{}", label(f), or_use(r, false)),
        Cause::AcceptTimeout => format!("{m}: the server accepted {cmds}, but its connect-back to our listener{listener} never arrived within {t} ms: a firewall in front of this client drops inbound connections: allow inbound TCP from the server (from port 20 or any port){}", or_use(r, true)),
        Cause::PortReplyTimeout => format!("{m}: the server did not answer {cmds} within {t} ms: servers that connect back while handling PORT (pyftpdlib, libunftp) hang there when the connect-back is dropped, so a firewall in front of this client is likely: allow inbound TCP from the server{}", or_use(r, true)),
        Cause::ReplyTimeout => format!("{m}: no reply within {after} ms ({}): the server or the network between stalls", label(f)),
        Cause::ConnectBackFailed => format!("{m}: the server could not connect back to our listener{listener} ({}): a firewall in front of this client rejects inbound connections, or a NAT hides the address PORT names: allow inbound TCP from the server{}", reply_of(f), or_use(r, true)),
        Cause::DataRejected => format!("{m}: our data connection was made, but the server refused the transfer ({}): it takes data connections only from the control connection's address (vsftpd \"Security: Bad IP connecting\", pyftpdlib \"foreign address\"), and a NAT or proxy between changes one of them", reply_of(f)),
        Cause::NotImplemented => {
            let alts: Vec<String> = modes.iter().map(|x| {
                let s = sibling(*x);
                match r.modes.get(&s) {
                    Some(g) if g.works => format!("{s} instead of {x} (it works here)"),
                    Some(_) => format!("{s} instead of {x} (which fails here too)"),
                    None => format!("{s} instead of {x}"),
                }
            }).collect();
            format!("{m}: not implemented by the server ({} to {cmds}): use {}", reply_of(f), list(&alts))
        }
        Cause::FileUnavailable => format!("{m}: the data connection works (LIST did), but RETR {} failed: {}: the file is missing or unreadable for {}: check --path", r.path.as_deref().unwrap_or("?"), reply_of(f), r.target.user),
        Cause::ServerReply => {
            let hint = f
                .and_then(|f| exhaustion::signature(&f.class, f.reply.as_ref().map(|x| x.text.as_str()).unwrap_or("")))
                .map(|s| format!(" (known signature: {s})"))
                .unwrap_or_default();
            let what = f.and_then(|f| match f.class {
                crate::metrics::ErrorClass::Reply { command: Some(v), .. } => Some(v.to_string()),
                _ => None,
            }).unwrap_or_else(|| "the session".into());
            format!("{m}: the server refused {what}: {}{hint}", reply_of(f))
        }
        Cause::TransferBroken => format!("{m}: the data connection opened, then the transfer stalled or broke ({} after {after} ms): a middlebox cuts the data connection, or the server is still waiting for something (pure-ftpd silently drops a data connection from an address it does not expect)", label(f)),
        Cause::ControlClosed => format!("{m}: the server closed the control connection ({}): see its log (vsftpd ends the session after a 500 OOPS)", label(f)),
        Cause::SessionFailed => format!("{m}: a fresh session for this mode could not get in ({}), though the first one did: the server may limit sessions per client address", f.map(|f| f.message.as_str()).unwrap_or("")),
        Cause::BadReply => format!("{m}: ftpload could not read the server's reply ({})", f.map(|f| f.message.as_str()).unwrap_or("")),
        Cause::ClientResources => format!("{m}: this client ran out of ports or file descriptors ({})", label(f)),
        Cause::TlsHidesFromHelper => {
            let (what, open) = if modes.iter().any(|x| x.is_active()) {
                ("the PORT/EPRT", "allow inbound connections from the server on the client's side".to_string())
            } else {
                let range = match (range_seen(r), &r.passive_ports) {
                    (Some(range), Some(_)) => format!(" ({range} seen)"),
                    _ => String::new(),
                };
                ("the 227/229", format!("open the passive range{range} on the server's firewall"))
            };
            format!("{m}: works in plain FTP through the firewall's FTP helper; under TLS the helper cannot see {what}: {open}")
        }
        Cause::TlsReuseRequired => format!("{m}: the data connection was made, but the server refused it for not resuming the control connection's TLS session ({}): vsftpd's require_ssl_reuse; ftpload resumes by default (tls_resume = true)", reply_of(f)),
        Cause::TlsUntrusted => format!("{m}: the server's certificate is not trusted ({}): give its CA with --ca-file, or --insecure for a test server", f.map(|f| f.message.as_str()).unwrap_or("")),
        Cause::TlsFailed => format!("{m}: a TLS handshake failed ({})", f.map(|f| f.message.as_str()).unwrap_or("")),
        // Each mode's own words: PASV and PORT over IPv6 say different things.
        Cause::Unsupported => group
            .iter()
            .zip(modes)
            .map(|(g, x)| {
                let why = g.failure.as_ref().map_or("failed", |f| f.message.as_str());
                format!("{x}: {why}")
            })
            .collect::<Vec<_>>()
            .join("; "),
        Cause::OsError | Cause::ConnectRefused | Cause::ConnectTimeout | Cause::NoBanner | Cause::LoginRefused | Cause::SessionLimit => format!("{m}: {}", f.map(|f| f.message.as_str()).unwrap_or("failed")),
        Cause::NatReplaced => {
            let g = group[0];
            let (announced, used) = (
                g.announced.map(|a| a.ip().to_string()).unwrap_or_default(),
                g.data_target.map(|a| a.ip().to_string()).unwrap_or_default(),
            );
            format!("{m}: {} only because ftpload replaced the announced address {announced} with the server's address {used}: the server is behind NAT (or misconfigured) and announces its private address, which clients that follow the 227 cannot reach: set its public address (vsftpd pasv_address, proftpd MasqueradeAddress, pure-ftpd -P, pyftpdlib masquerade_address)", works_word(modes))
        }
    };
    text + &nat
}

fn label(f: Option<&Failure>) -> String {
    f.map(|f| f.class.label()).unwrap_or_default()
}

/// When ftpload followed a 227 naming another host (--follow-pasv-address)
/// and it failed, the address is the likely reason.
fn followed_nat(group: &[&ModeFindings]) -> String {
    let Some(g) = group
        .iter()
        .find(|g| g.address_mismatch && !g.address_replaced && !g.works)
    else {
        return String::new();
    };
    let (Some(a), Some(peer)) = (g.announced, g.control_peer) else {
        return String::new();
    };
    format!(" (the 227 named {}, not {}, the address the server was reached at; ftpload followed it because of --follow-pasv-address: the server is likely behind NAT and announces its private address; without the flag ftpload connects to {})", a.ip(), peer.ip(), peer.ip())
}

/// The verdict's sentences for the failure patterns a firewall or a NAT
/// produces, on reports built by hand: no server needed to read them.
#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::SocketAddr;
    use std::time::Duration;

    use super::super::classify::failure;
    use super::super::findings::{ControlFindings, PortSamples, Status, Target};
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
                family: "ipv4",
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
}
