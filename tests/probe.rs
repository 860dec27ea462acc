//! `ftpload probe` as a user runs it (the binary, its exit code, its text and
//! JSON), against real servers on loopback (the embedded target, pyftpdlib)
//! and a small misbehaving server for the faults no real server produces on
//! demand: a 227 naming a closed port, a 227 naming another host (NAT), and a
//! PORT that is accepted but never connected back.

use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ftpload::embedded::{EmbeddedConfig, EmbeddedServer};
use serde_json::Value;

use crate::util::common;
use crate::util::misbehaving::{misbehaving, Fault};

const BIN: &str = env!("CARGO_BIN_EXE_ftpload");

/// Runs the probe; returns the exit code and stdout.
fn probe(args: &[&str]) -> (i32, String) {
    let mut c = Command::new(BIN);
    c.arg("probe").args(args).env_remove("FTPLOAD_PASSWORD");
    let r = common::run_bounded(c, None, Duration::from_secs(60)).unwrap();
    let out = String::from_utf8_lossy(&r.stdout).into_owned();
    let err = String::from_utf8_lossy(&r.stderr);
    let code = r.status.code().unwrap_or(-1);
    assert!(err.is_empty() || code == 2, "stderr: {err}");
    (code, out)
}

fn probe_json(args: &[&str]) -> (i32, Value) {
    let mut a = args.to_vec();
    a.push("--json");
    let (code, out) = probe(&a);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    (code, v)
}

/// The verdict entry for `cause`, or a panic showing them all.
fn verdict<'a>(v: &'a Value, cause: &str) -> &'a str {
    v["verdict"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["cause"] == cause)
        .and_then(|x| x["text"].as_str())
        .unwrap_or_else(|| panic!("no verdict for {cause}: {:#}", v["verdict"]))
}

fn embedded() -> EmbeddedServer {
    EmbeddedServer::start(EmbeddedConfig {
        files: vec![("1k.bin".into(), 1024)],
        ..EmbeddedConfig::default()
    })
    .unwrap()
}

#[test]
fn embedded_target_passive_epsv_active_work_and_eprt_is_not_implemented() {
    let s = embedded();
    let url = format!("ftp://ftpload:ftpload@{}", s.addr());
    let (code, v) = probe_json(&[&url, "--path", "1k.bin", "--timeout", "2s"]);
    assert_eq!(code, 4, "{v:#}");
    assert_eq!(v["probe_version"], ftpload::probe::PROBE_VERSION);
    assert_eq!(v["status"], "modes_failed");
    assert_eq!(v["banner"], "ftpload embedded target");
    let feat: Vec<&str> = v["feat"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(feat.contains(&"EPSV") && feat.contains(&"SIZE"), "{feat:?}");
    let ports = &v["passive_ports"];
    assert_eq!(
        (ports["command"].as_str(), ports["asked"].as_u64()),
        (Some("PASV"), Some(5))
    );
    assert_eq!(ports["ports"].as_array().unwrap().len(), 5);
    let (min, max) = (
        ports["min"].as_u64().unwrap(),
        ports["max"].as_u64().unwrap(),
    );
    assert!(
        (20000..=27999).contains(&min) && min <= max && max <= 27999,
        "{ports}"
    );
    for mode in ["passive", "epsv", "active"] {
        let m = &v["modes"][mode];
        assert_eq!(m["works"], true, "{mode}: {m:#}");
        assert_eq!(m["cause"], Value::Null);
        assert!(m["list"]["bytes"].as_u64().unwrap() > 0);
        assert_eq!(m["retr"]["bytes"], 1024);
    }
    assert_eq!(v["modes"]["passive"]["address_mismatch"], false);
    assert_eq!(
        v["modes"]["passive"]["data_target"],
        v["modes"]["passive"]["announced"]
    );
    let src = v["modes"]["active"]["server_source_port"].as_u64().unwrap();
    assert!(src > 0, "{src}");
    let eprt = &v["modes"]["eprt"];
    assert_eq!(eprt["works"], false);
    assert_eq!(eprt["cause"], "not_implemented");
    let f = &eprt["failure"];
    assert_eq!(
        (f["class"].as_str(), f["code"].as_u64()),
        (Some("reply"), Some(500))
    );
    assert_eq!(
        (f["command"].as_str(), f["connection"].as_str()),
        (Some("EPRT"), Some("control"))
    );
    let text = verdict(&v, "not_implemented");
    assert!(
        text.starts_with("eprt: not implemented by the server"),
        "{text}"
    );
    assert!(
        text.contains("use active instead of eprt (it works here)"),
        "{text}"
    );

    let (code, out) = probe(&[&url, "--mode", "passive,epsv,active", "--timeout", "2s"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("every mode asked for works: passive, epsv and active"),
        "{out}"
    );
    assert!(out.contains("the range spans at least"), "{out}");
}

#[test]
fn pyftpdlib_all_four_modes_work() {
    let root = tempfile::tempdir().unwrap();
    common::make_files(root.path(), &[("1k.bin", 1024)]);
    let s = common::PyFtpd::start(root.path(), "ftpuser", "ftppass", 16900..=16999);
    let url = format!("ftp://ftpuser:ftppass@{}", s.addr);
    let (code, out) = probe(&[&url, "--path", "1k.bin", "--timeout", "2s"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("every mode asked for works: passive, epsv, active and eprt"),
        "{out}"
    );
    assert!(out.contains("banner    220 pyftpdlib"), "{out}");
    assert!(out.contains("RETR 1k.bin: 1024 bytes"), "{out}");
}

/// A server holding as many sessions as it will: the 421 in place of the
/// banner is the session limit, not a failed connect; exit 3 stays.
#[test]
fn a_full_server_is_its_session_limit() {
    let s = EmbeddedServer::start(EmbeddedConfig {
        max_connections: Some(1),
        ..EmbeddedConfig::default()
    })
    .unwrap();
    // The one session the cap allows, held while the probe runs.
    let mut held = std::net::TcpStream::connect(s.addr()).unwrap();
    held.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut banner = [0u8; 3];
    std::io::Read::read_exact(&mut held, &mut banner).unwrap();
    assert_eq!(&banner, b"220");
    let (code, v) = probe_json(&[
        &format!("ftp://ftpload:ftpload@{}", s.addr()),
        "--timeout",
        "2s",
    ]);
    assert_eq!(
        (code, v["status"].as_str()),
        (3, Some("unreachable")),
        "{v:#}"
    );
    let f = &v["control"]["failure"];
    assert_eq!(f["cause"], "session_limit", "{v:#}");
    assert_eq!(
        (f["code"].as_u64(), f["command"].as_str()),
        (Some(421), None),
        "{v:#}"
    );
    // The 421 came in place of the banner: there was none.
    assert_eq!(v["banner"], Value::Null, "{v:#}");
    let text = verdict(&v, "session_limit");
    assert!(
        text.contains("the embedded target's max_connections"),
        "{text}"
    );
    drop(held);
}

#[test]
fn unreachable_and_bad_login_exit_3_and_bad_input_2() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (code, v) = probe_json(&[&format!("ftp://u:p@{closed}"), "--timeout", "1s"]);
    assert_eq!(
        (code, v["status"].as_str()),
        (3, Some("unreachable")),
        "{v:#}"
    );
    assert_eq!(v["control"]["failure"]["cause"], "connect_refused");
    assert_eq!(v["modes"], serde_json::json!({}));

    let s = embedded();
    let (code, v) = probe_json(&[
        &format!("ftp://ftpload:wrong@{}", s.addr()),
        "--timeout",
        "1s",
    ]);
    assert_eq!(code, 3, "{v:#}");
    assert_eq!(v["status"], "login_refused", "{v:#}");
    assert_eq!(v["control"]["failure"]["cause"], "login_refused");
    assert!(verdict(&v, "login_refused").contains("check the user and password"));

    assert_eq!(probe(&["http://nope"]).0, 2);
    assert_eq!(
        probe(&["ftp://u:p@127.0.0.1:21", "--mode", "sideways"]).0,
        2
    );
}

#[test]
fn a_227_naming_a_closed_port_fails_as_refused() {
    let m = misbehaving(Fault::ClosedPort);
    let (code, v) = probe_json(&[&m.url, "--mode", "passive", "--timeout", "1s"]);
    assert_eq!(code, 4, "{v:#}");
    let p = &v["modes"]["passive"];
    assert_eq!(p["cause"], "data_connect_refused");
    let f = &p["failure"];
    assert_eq!(
        (f["class"].as_str(), f["step"].as_str()),
        (Some("refused"), Some("data_connect"))
    );
    assert_eq!(f["connection"], "passive_data");
    assert!(f["after_ms"].as_f64().is_some(), "{f}");
    assert_eq!(v["feat"]["code"], 502);
    let text = verdict(&v, "data_connect_refused");
    assert!(
        text.starts_with("passive: our data connection to the announced port"),
        "{text}"
    );
    assert!(
        text.contains("was refused at once") && text.contains("nothing listens"),
        "{text}"
    );

    let (_, out) = probe(&[&m.url, "--mode", "passive", "--timeout", "1s"]);
    println!("{out}");
    assert!(
        out.contains("failure: refused at data_connect on our connect to the announced port after"),
        "{out}"
    );
}

#[test]
fn a_227_naming_another_host_is_replaced_by_the_control_peer_and_said_so() {
    let m = misbehaving(Fault::NatAddress);
    let (code, v) = probe_json(&[&m.url, "--mode", "passive", "--timeout", "1s"]);
    assert_eq!(code, 0, "{v:#}");
    let p = &v["modes"]["passive"];
    assert_eq!(
        (p["works"].as_bool(), p["cause"].as_str()),
        (Some(true), Some("nat_replaced"))
    );
    assert_eq!(
        (
            p["address_mismatch"].as_bool(),
            p["address_replaced"].as_bool()
        ),
        (Some(true), Some(true))
    );
    let announced: SocketAddr = p["announced"].as_str().unwrap().parse().unwrap();
    let target: SocketAddr = p["data_target"].as_str().unwrap().parse().unwrap();
    assert_eq!(announced.ip().to_string(), "198.18.255.1");
    assert_eq!(target, SocketAddr::from(([127, 0, 0, 1], announced.port())));
    assert_eq!(
        m.accepted.load(Ordering::SeqCst),
        1,
        "the listing went over 127.0.0.1"
    );
    assert_eq!(
        v["passive_ports"]["announced_hosts"],
        serde_json::json!(["198.18.255.1"])
    );
    let text = verdict(&v, "nat_replaced");
    assert!(text.contains("works only because ftpload replaced the announced address 198.18.255.1 with the server's address 127.0.0.1"), "{text}");
    assert!(
        text.contains("pasv_address") && text.contains("MasqueradeAddress"),
        "{text}"
    );

    let (code, out) = probe(&[&m.url, "--mode", "passive", "--timeout", "1s"]);
    println!("{out}");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("passive   works (nat_replaced)"), "{out}");
    assert!(
        out.contains(&format!(
            "announced {announced}, not the control peer 127.0.0.1: used {target} instead"
        )),
        "{out}"
    );
}

fn no_connect_back(prelim: bool) {
    let m = misbehaving(Fault::NoConnectBack { prelim });
    let (code, v) = probe_json(&[&m.url, "--mode", "active", "--timeout", "1s"]);
    assert_eq!(code, 4, "{v:#}");
    let a = &v["modes"]["active"];
    assert_eq!(a["cause"], "accept_timeout", "{a:#}");
    let f = &a["failure"];
    assert_eq!(
        (f["class"].as_str(), f["step"].as_str()),
        (Some("timeout"), Some("data_accept"))
    );
    assert_eq!(f["connection"], "active_data");
    let after = f["after_ms"].as_f64().unwrap();
    assert!((1000.0..1500.0).contains(&after), "{after}");
    assert_eq!(v["passive_ports"], Value::Null, "no passive mode asked for");
    let text = verdict(&v, "accept_timeout");
    assert!(text.contains("never arrived within 1000 ms"), "{text}");
    assert!(
        text.contains("a firewall in front of this client drops inbound connections"),
        "{text}"
    );

    let (_, out) = probe(&[&m.url, "--mode", "active", "--timeout", "1s"]);
    println!("{out}");
    assert!(
        out.contains("failure: timeout at data_accept on the server's connect-back after"),
        "{out}"
    );
}

#[test]
fn an_accepted_port_never_connected_back_is_an_accept_timeout() {
    no_connect_back(true);
}

#[test]
fn a_silent_server_after_port_is_still_an_accept_timeout() {
    no_connect_back(false);
}

/// The keys of an object, sorted.
fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

fn sorted(mut k: Vec<&str>) -> Vec<&str> {
    k.sort_unstable();
    k
}

/// Every key anywhere in `v`, to check each is documented.
fn all_keys(v: &Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.insert(k.clone());
                all_keys(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| all_keys(x, out)),
        _ => {}
    }
}

#[test]
fn json_has_exactly_the_documented_fields() {
    let s = embedded();
    let url = format!("ftp://ftpload:ftpload@{}", s.addr());
    let (_, v) = probe_json(&[&url, "--path", "1k.bin", "--timeout", "2s"]);
    let m = misbehaving(Fault::NoConnectBack { prelim: true });
    let (_, t) = probe_json(&[&m.url, "--mode", "active", "--timeout", "1s"]);

    let top = "probe_version tool_version target timeout_ms follow_pasv_address path status control banner feat passive_ports modes verdict";
    assert_eq!(keys(&v), sorted(top.split(' ').collect()));
    assert_eq!(
        keys(&v["target"]),
        ["addr", "family", "host", "port", "url", "user"]
    );
    assert_eq!(v["target"]["family"], "ipv4");
    let control =
        "peer local connected logged_in connect_ms banner_ms login_ms tls failure transcript";
    assert_eq!(keys(&v["control"]), sorted(control.split(' ').collect()));
    assert_eq!(keys(&v["feat"]), ["code", "features"]);
    let ports = "command asked ports distinct min max announced_hosts failure";
    assert_eq!(
        keys(&v["passive_ports"]),
        sorted(ports.split(' ').collect())
    );
    let mode = "works cause command control_peer announced data_target address_mismatch address_replaced listener server_source_port list retr failure plain_works transcript";
    assert_eq!(keys(&v["modes"]), ["active", "eprt", "epsv", "passive"]);
    for (_, x) in v["modes"].as_object().unwrap() {
        assert_eq!(keys(x), sorted(mode.split(' ').collect()));
    }
    let transfer = ["bytes", "data_setup_ms", "tls", "total_ms"];
    assert_eq!(keys(&v["modes"]["passive"]["list"]), transfer);
    assert_eq!(keys(&v["modes"]["active"]["retr"]), transfer);
    let failure = "cause class connection after_ms reply message";
    let mut reply_failure: Vec<&str> = failure.split(' ').collect();
    reply_failure.extend(["code", "command"]);
    assert_eq!(keys(&v["modes"]["eprt"]["failure"]), sorted(reply_failure));
    assert_eq!(
        keys(&v["modes"]["eprt"]["failure"]["reply"]),
        ["code", "text"]
    );
    let mut step_failure: Vec<&str> = failure.split(' ').collect();
    step_failure.push("step");
    assert_eq!(keys(&t["modes"]["active"]["failure"]), sorted(step_failure));
    for x in v["verdict"].as_array().unwrap() {
        assert_eq!(keys(x), ["cause", "modes", "text", "works"]);
    }
    for x in v["control"]["transcript"].as_array().unwrap() {
        let k = keys(x);
        assert!(k == ["sent"] || k == ["code", "text"], "{x}");
    }

    let doc = std::fs::read_to_string(common::repo_root().join("docs/probe.md")).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    all_keys(&v, &mut seen);
    all_keys(&t, &mut seen);
    // Mode names are keys of `modes`, documented as values.
    for k in seen {
        assert!(
            doc.contains(&format!("`{k}`")),
            "docs/probe.md does not name `{k}`"
        );
    }
}

/// FTPS: the probe secures each session (AUTH TLS, PBSZ, PROT P), shows
/// each handshake, and every data channel resumes its control connection's
/// session; an untrusted certificate is its own cause.
#[test]
fn ftps_probe_shows_each_handshake_and_resumption() {
    let s = EmbeddedServer::start(EmbeddedConfig {
        files: vec![("1k.bin".into(), 1024)],
        tls: true,
        ..EmbeddedConfig::default()
    })
    .unwrap();
    let url = format!("ftpes://ftpload:ftpload@{}", s.addr());
    let (code, v) = probe_json(&[
        &url,
        "--insecure",
        "--path",
        "1k.bin",
        "--mode",
        "passive,epsv,active",
        "--timeout",
        "2s",
    ]);
    assert_eq!(code, 0, "{v:#}");
    assert!(v["target"]["url"].as_str().unwrap().starts_with("ftpes://"));
    let tls = &v["control"]["tls"];
    assert!(
        tls["negotiated"].as_str().unwrap().starts_with("TLSv1.3 "),
        "{tls}"
    );
    for m in ["passive", "epsv", "active"] {
        for t in ["list", "retr"] {
            let x = &v["modes"][m][t]["tls"];
            assert_eq!(x["resumed"], true, "{m} {t}: {x}");
        }
        let replies: Vec<&str> = v["modes"][m]["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["sent"].as_str())
            .collect();
        assert_eq!(&replies[..2], ["AUTH TLS", "USER ftpload"], "{m}");
        assert!(replies.contains(&"PROT P"), "{m}: {replies:?}");
    }
    let (code, v) = probe_json(&[&url, "--mode", "passive", "--timeout", "2s"]);
    assert_eq!(code, 3, "{v:#}");
    assert_eq!(v["control"]["failure"]["cause"], "tls_untrusted", "{v:#}");
}
