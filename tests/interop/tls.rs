//! FTPS against the real servers, on instances the binary starts
//! (tests/interop/own.rs) with the harness's FTPD_TLS: the same mix as the
//! plain checks (RETR 1k.bin and 1m.bin, STOR 64 KiB, LIST; one session per
//! iteration), `PROT P`, the server's certificate checked against the
//! home's own (`ftpd cert`, CN=localhost with 127.0.0.1 and ::1 in its
//! subjectAltName) as `--ca-file`.
//!
//! What is asserted beside the plain checks' bytes and zero errors: one
//! control handshake per session and one data handshake per transfer, each
//! timed once (`tls_handshake`, `data_tls_handshake`); TLS 1.3 everywhere;
//! every download channel closed with close_notify; and the data channels
//! that resumed their control connection's session, which is the server's
//! doing (`resumes`).
//!
//! One upload per session: proftpd gives no new TLS 1.3 ticket after an
//! upload and requires resumption, and rustls uses each ticket once, so a
//! session with more uploads than the two tickets of its control connection
//! (and the one each download brings) fails there (targets/README.md,
//! "Session reuse"). The mix's order (two downloads, the upload, a listing)
//! keeps a ticket for every channel.

use ftpload::metrics::{Metric, TlsStats};
use ftpload::proto::Mode;
use ftpload::result::ModeResult;

use crate::harness::{self, count};
use crate::own::Set;
use crate::{assert_mix, run_mix, At, Check, Needs, Run, ITERATIONS, SERVERS};

/// Whether `server`'s TLS data channels resume their control connection's
/// session. vsftpd, proftpd and pyftpdlib issue TLS 1.3 session tickets on
/// the control connection (two each, and one more on each download channel),
/// which ftpload's per-session store hands to each data channel: all of
/// them resume. pure-ftpd issues no TLS 1.3 tickets at all (seen with
/// `openssl s_client -sess_out`, which writes no session for it), so the
/// client has nothing to resume with: every data channel is a full
/// handshake, which pure-ftpd accepts, never requiring reuse.
fn resumes(server: &str) -> bool {
    server != "pure-ftpd"
}

/// The mix over FTPS: explicit (`ftpes://`) or implicit (`ftps://`) by the
/// set's FTPD_TLS.
/// What every working FTPS run has: a handshake per session on the control
/// connection and per transfer on the data channel, each timed, and its
/// `tls` section, returned for the checks particular to the run.
fn tls_counts<'a>(s: &'a ModeResult, what: &str) -> &'a TlsStats {
    let c = &s.counters;
    let t = s
        .tls
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: no tls section"));
    assert_eq!(t.control_handshakes, c.sessions, "{what}: {t:?}");
    assert_eq!(t.data_handshakes, c.transfers, "{what}: {t:?}");
    assert_eq!(count(s, Metric::TlsHandshake), c.sessions, "{what}");
    assert_eq!(count(s, Metric::DataTlsHandshake), c.transfers, "{what}");
    t
}

fn check_tls(server: &str, set: Set, mode: Mode, at: &At) -> String {
    let (scheme, plan_mode) = match set {
        Set::Implicit => ("ftps", "implicit"),
        _ => ("ftpes", "explicit"),
    };
    let url = format!("{scheme}://ftpuser@127.0.0.1:{}", at.port);
    let what = format!("{server} {plan_mode} TLS {mode}");
    let ca = at.ca.as_deref().expect("a TLS set has its certificate");
    let tag = format!("interop-tls-{plan_mode}-{server}-{mode}");
    let ran = run_mix(server, &url, mode, "", Some(ca), &tag);
    let s = harness::mode(&ran.result, mode);
    assert_mix(s, &what);
    let c = &s.counters;
    let t = tls_counts(s, &what);
    let resumed = if resumes(server) {
        t.data_handshakes
    } else {
        0
    };
    assert_eq!(t.data_resumed, resumed, "{what}: {t:?}");
    // All four send close_notify at the end of RETR and LIST.
    assert_eq!(t.data_unclean_close, 0, "{what}: {t:?}");
    assert_eq!(
        t.negotiated.values().sum::<u64>(),
        c.sessions,
        "{what}: {t:?}"
    );
    assert!(
        t.negotiated.keys().all(|k| k.starts_with("TLSv1.3 ")),
        "{what}: {t:?}"
    );
    // The plan as run: this mode, resumption on, the certificate checked
    // against the CA file (no --insecure).
    let plan = &ran.json["scenario"]["tls"];
    assert_eq!(plan["mode"], plan_mode, "{what}: {plan}");
    assert_eq!(plan["resume"], true, "{what}: {plan}");
    assert_eq!(plan["protect_data"], true, "{what}: {plan}");
    assert_eq!(
        plan["verify"]["ca_file"].as_str(),
        ca.to_str(),
        "{what}: {plan}"
    );
    format!(
        "{} sessions, {} transfers, {} of {} data channels resumed, {}",
        c.sessions,
        c.transfers,
        t.data_resumed,
        t.data_handshakes,
        t.negotiated.keys().cloned().collect::<Vec<_>>().join(", ")
    )
}

/// vsftpd with require_ssl_reuse=YES (its default) and a client that does
/// not resume (`tls_resume = false`): the first transfer of each session
/// gets `522 SSL connection failed: session reuse required`, and vsftpd
/// closes the control connection, so nothing moves and every iteration
/// fails, each failure in the class of its own.
fn check_reuse_required(at: &At) -> String {
    let mode = Mode::Passive;
    let what = "vsftpd, tls_resume = false";
    let url = format!("ftpes://ftpuser@127.0.0.1:{}", at.port);
    let ca = at.ca.as_deref().expect("a TLS set has its certificate");
    let ran = run_mix(
        "vsftpd",
        &url,
        mode,
        "tls_resume = false",
        Some(ca),
        "interop-tls-reuse-required",
    );
    assert_eq!(ran.json["scenario"]["tls"]["resume"], false, "{what}");
    let s = harness::mode(&ran.result, mode);
    let c = &s.counters;
    assert_eq!(c.sessions, ITERATIONS, "{what}: every login works");
    assert_eq!(c.transfers, 0, "{what}: no transfer works");
    assert_eq!(c.transfers_failed, ITERATIONS, "{what}: one per session");
    assert_eq!(c.iterations_failed, ITERATIONS, "{what}");
    assert_eq!(c.bytes_down + c.bytes_up, 0, "{what}");
    let t = s
        .tls
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: no tls section"));
    assert_eq!(t.control_handshakes, ITERATIONS, "{what}: {t:?}");
    assert_eq!(t.data_resumed, 0, "{what}: {t:?}");
    let errors = ran.json["modes"][mode.as_str()]["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no errors array"));
    assert_eq!(errors.len(), 1, "{what}: one class only: {errors:#?}");
    let e = &errors[0];
    assert_eq!(e["class"], "tls_reuse_required", "{what}: {e}");
    assert_eq!(e["command"], "RETR", "{what}: {e}");
    assert_eq!(e["count"], ITERATIONS, "{what}: {e}");
    let sample = e["sample"].as_str().unwrap_or_default();
    assert!(
        sample.contains("522 SSL connection failed: session reuse required"),
        "{what}: {sample}"
    );
    assert!(matches!(ran.status, ftpload::run::Status::Failures(_)));
    format!(
        "{} of {} transfers failed: {} x {} to {}",
        c.transfers_failed,
        c.transfers_failed + c.transfers,
        e["count"],
        e["class"].as_str().unwrap_or_default(),
        e["command"].as_str().unwrap_or_default()
    )
}

/// vsftpd started with FTPD_TLS_REUSE=no (require_ssl_reuse=NO) takes the
/// same client: every transfer works, no data channel resumed.
fn check_reuse_not_required(at: &At) -> String {
    let mode = Mode::Passive;
    let what = "vsftpd require_ssl_reuse=NO, tls_resume = false";
    let url = format!("ftpes://ftpuser@127.0.0.1:{}", at.port);
    let ca = at.ca.as_deref().expect("a TLS set has its certificate");
    let tag = "interop-tls-reuse-not-required";
    let ran = run_mix("vsftpd", &url, mode, "tls_resume = false", Some(ca), tag);
    let s = harness::mode(&ran.result, mode);
    assert_mix(s, what);
    let c = &s.counters;
    let t = tls_counts(s, what);
    assert_eq!(t.data_resumed, 0, "{what}: {t:?}");
    format!(
        "{} transfers, {} of {} data channels resumed",
        c.transfers, t.data_resumed, t.data_handshakes
    )
}

pub fn checks() -> Vec<Check> {
    let mut checks: Vec<Check> = Vec::new();
    for (set, servers, prefix) in [
        (Set::Explicit, &SERVERS[..], "tls"),
        (Set::Implicit, &["vsftpd", "proftpd"][..], "tls-implicit"),
    ] {
        for &server in servers {
            for mode in Mode::ALL {
                let f: Run = Box::new(move |at: &At| check_tls(server, set, mode, at));
                let name = format!("interop::{prefix}::{server}::{mode}");
                checks.push((name, Needs::Own(set, server), f));
            }
        }
    }
    checks.push((
        "interop::tls::vsftpd::no-resume::reuse-required".into(),
        Needs::Own(Set::Explicit, "vsftpd"),
        Box::new(check_reuse_required),
    ));
    checks.push((
        "interop::tls::vsftpd::no-resume::reuse-not-required".into(),
        Needs::Own(Set::NoReuse, "vsftpd"),
        Box::new(check_reuse_not_required),
    ));
    checks
}
