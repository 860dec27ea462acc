//! FTPS against the embedded target (libunftp with rustls): explicit
//! `AUTH TLS`, `PBSZ 0`, `PROT P`, in every mode it serves, with every byte
//! moved, every handshake timed and counted, data channels resuming their
//! control connection's session; resumption off and `PROT C` each change
//! exactly what they should; certificates checked by default. The real
//! servers with TLS are in tests/interop.rs.

use ftpload::embedded::{EmbeddedConfig, EmbeddedServer};
use ftpload::metrics::Metric;
use ftpload::proto::Mode;
use ftpload::result::ModeResult;
use ftpload::run;
use ftpload::scenario::{Overrides, Plan};

use crate::util::harness::{self, assert_no_errors, count, mode, run_scenario};
use crate::util::schema::{all_keys, assert_documented, doc};

const ITERATIONS: u64 = 12;

fn scenario(tls_keys: &str) -> String {
    format!(
        r#"
[target]
tls = "explicit"
{tls_keys}
[files]
"1k.bin" = "1KiB"
"100k.bin" = "100KiB"
[run]
iterations = {ITERATIONS}
[[group]]
users = 3
ops = ["retr 1k.bin", "retr 100k.bin", "stor 10KiB", "list"]
"#
    )
}

/// The counts every FTPS run of the scenario has in mode `m`.
fn check_counts(s: &ModeResult, m: Mode) {
    assert_no_errors(s, m.as_str());
    let c = &s.counters;
    assert_eq!(c.iterations, ITERATIONS, "{m}");
    assert_eq!(c.sessions, ITERATIONS, "{m}");
    assert_eq!(c.transfers, ITERATIONS * 3 + ITERATIONS, "{m}");
    assert_eq!(c.bytes_up, ITERATIONS * 10 * 1024, "{m}");
    assert!(
        c.bytes_down > ITERATIONS * 101 * 1024,
        "{m}: {}",
        c.bytes_down
    );
    harness::assert_transfer_counts(s, c.transfers, m.as_str());
    let t = s.tls.as_ref().expect("an FTPS run has its tls section");
    assert_eq!(t.control_handshakes, c.sessions, "{m}: {t:?}");
    assert_eq!(count(s, Metric::TlsHandshake), c.sessions, "{m}");
    assert_eq!(t.negotiated.values().sum::<u64>(), c.sessions, "{m}: {t:?}");
}

#[test]
fn every_mode_over_ftps_moves_every_byte_and_resumes_every_data_channel() {
    for m in [Mode::Passive, Mode::Epsv, Mode::Active] {
        let o = Overrides {
            modes: vec![m],
            ..Overrides::default()
        };
        let ran = run_scenario(&scenario(""), &o, &format!("ftps-{m}"));
        let s = mode(&ran.result, m);
        check_counts(s, m);
        let t = s.tls.as_ref().unwrap();
        assert_eq!(t.data_handshakes, s.counters.transfers, "{m}: {t:?}");
        assert_eq!(t.data_resumed, t.data_handshakes, "{m}: {t:?}");
        assert_eq!(count(s, Metric::DataTlsHandshake), t.data_handshakes);
        // rustls on both ends: TLS 1.3.
        assert!(
            t.negotiated.keys().all(|k| k.starts_with("TLSv1.3 ")),
            "{t:?}"
        );
        // The plan as run says how, and the document names every key.
        let plan = &ran.json["scenario"]["tls"];
        assert_eq!(plan["mode"], "explicit", "{plan}");
        assert_eq!(plan["verify"], "embedded", "{plan}");
        assert_eq!(plan["resume"], true, "{plan}");
        let doc = doc();
        let mut keys = std::collections::BTreeSet::new();
        all_keys(&ran.json, "", &mut keys);
        for k in &keys {
            assert_documented(&doc, k, "the field");
        }
    }
}

#[test]
fn without_resumption_every_data_channel_has_a_full_handshake() {
    let ran = run_scenario(
        &scenario("tls_resume = false"),
        &Overrides::default(),
        "ftps-no-resume",
    );
    let s = mode(&ran.result, Mode::Passive);
    check_counts(s, Mode::Passive);
    let t = s.tls.as_ref().unwrap();
    assert_eq!(t.data_handshakes, s.counters.transfers, "{t:?}");
    assert_eq!(t.data_resumed, 0, "{t:?}");
}

/// TLS 1.2 held: every handshake negotiates it, and data channels still
/// resume (a TLS 1.2 session, reusable, where a 1.3 ticket is used once).
#[test]
fn tls_1_2_held_resumes_every_data_channel_too() {
    let ran = run_scenario(
        &scenario("tls_version = \"1.2\""),
        &Overrides::default(),
        "ftps-tls12",
    );
    let s = mode(&ran.result, Mode::Passive);
    check_counts(s, Mode::Passive);
    let t = s.tls.as_ref().unwrap();
    assert!(
        t.negotiated.keys().all(|k| k.starts_with("TLSv1.2 ")),
        "{t:?}"
    );
    assert_eq!(t.data_handshakes, s.counters.transfers, "{t:?}");
    assert_eq!(t.data_resumed, t.data_handshakes, "{t:?}");
    assert_eq!(ran.json["scenario"]["tls"]["version"], "1.2");
}

#[test]
fn prot_c_secures_the_control_connection_only() {
    let ran = run_scenario(
        &scenario("tls_protect_data = false"),
        &Overrides::default(),
        "ftps-prot-c",
    );
    let s = mode(&ran.result, Mode::Passive);
    check_counts(s, Mode::Passive);
    let t = s.tls.as_ref().unwrap();
    assert_eq!(t.data_handshakes, 0, "{t:?}");
    assert_eq!(count(s, Metric::DataTlsHandshake), 0);
}

/// An external FTPS target with a self-signed certificate: refused by
/// default with words saying what to do, and accepted with its certificate
/// as `--ca-file` or with `--insecure`.
#[test]
fn a_certificate_is_checked_unless_trusted_or_waived() {
    let server = EmbeddedServer::start(EmbeddedConfig {
        files: vec![("1k.bin".into(), 1024)],
        tls: true,
        ..EmbeddedConfig::default()
    })
    .unwrap();
    let dir = harness::temp_dir("ftps-verify");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &server.made_certificate().unwrap().0).unwrap();
    let toml = "[files]\n\"1k.bin\" = \"1KiB\"\n[run]\niterations = 2\n[[group]]\nusers = 1\nops = [\"retr 1k.bin\"]\n";
    let path = dir.join("s.toml");
    std::fs::write(&path, toml).unwrap();
    let attempt = |ca_file: Option<std::path::PathBuf>, insecure: bool| {
        let o = Overrides {
            target: Some(format!("ftpes://ftpload@{}", server.addr())),
            password: Some("ftpload".into()),
            ca_file,
            insecure,
            ..Overrides::default()
        };
        let plan = Plan::load(&path, &o).unwrap_or_else(|e| panic!("{e}"));
        run::run(
            &plan,
            &run::Options {
                out: Some(dir.join("r.json")),
                quiet: true,
                cancel: Default::default(),
            },
        )
    };
    let Err(e) = attempt(None, false) else {
        panic!("a self-signed certificate was trusted");
    };
    let said = e.to_string();
    assert!(
        said.contains("tls_handshake") && said.contains("--ca-file") && said.contains("--insecure"),
        "{said}"
    );
    for (ca_file, insecure) in [(Some(ca.clone()), false), (None, true)] {
        let f = attempt(ca_file, insecure).unwrap_or_else(|e| panic!("{e}"));
        let s = mode(&f.result, Mode::Passive);
        assert_no_errors(s, "trusted");
        assert_eq!(s.counters.transfers, 2);
        assert_eq!(s.tls.as_ref().unwrap().data_handshakes, 2);
    }
}
