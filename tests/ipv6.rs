//! IPv6 against the embedded target on ::1: EPSV moves every byte, plain
//! and over FTPS (its certificate names ::1), and the result says the
//! family. PASV and PORT over IPv6 are refused before the run
//! (tests/bad_input.rs); the real servers over IPv6 are in tests/interop.rs.

use ftpload::embedded::{EmbeddedConfig, EmbeddedServer};
use ftpload::proto::Mode;
use ftpload::run;
use ftpload::scenario::{Overrides, Plan};

use crate::util::harness::{self, assert_no_errors, mode};

#[test]
fn epsv_over_ipv6_moves_every_byte_plain_and_over_ftps() {
    for tls in [false, true] {
        let server = EmbeddedServer::start(EmbeddedConfig {
            bind: "[::1]:0".parse().unwrap(),
            files: vec![("100k.bin".into(), 100 * 1024)],
            tls,
            ..EmbeddedConfig::default()
        })
        .unwrap();
        let dir = harness::temp_dir(&format!("ipv6-{tls}"));
        let path = dir.join("s.toml");
        std::fs::write(
            &path,
            "[run]\niterations = 6\n[[group]]\nusers = 2\nops = [\"retr 100k.bin\", \"stor 8KiB\", \"list\"]\n",
        )
        .unwrap();
        let ca = dir.join("ca.pem");
        if let Some((pem, _)) = server.made_certificate() {
            std::fs::write(&ca, pem).unwrap();
        }
        let scheme = if tls { "ftpes" } else { "ftp" };
        let o = Overrides {
            target: Some(format!("{scheme}://ftpload@{}", server.addr())),
            password: Some("ftpload".into()),
            modes: vec![Mode::Epsv],
            ca_file: tls.then(|| ca.clone()),
            ..Overrides::default()
        };
        let plan = Plan::load(&path, &o).unwrap_or_else(|e| panic!("{e}"));
        let f = run::run(
            &plan,
            &run::Options {
                out: Some(dir.join("r.json")),
                quiet: true,
                cancel: Default::default(),
            },
        )
        .unwrap_or_else(|e| panic!("tls {tls}: {e}"));
        assert_eq!(f.result.target.family, "ipv6");
        assert_eq!(f.result.target.host, "::1");
        let s = mode(&f.result, Mode::Epsv);
        assert_no_errors(s, "epsv over ::1");
        assert_eq!(s.counters.transfers, 18, "tls {tls}");
        assert_eq!(s.counters.bytes_up, 6 * 8 * 1024, "tls {tls}");
        assert!(s.counters.bytes_down > 6 * 100 * 1024, "tls {tls}");
        match (&s.tls, tls) {
            (Some(t), true) => {
                assert_eq!(t.data_handshakes, 18, "{t:?}");
                assert_eq!(t.data_resumed, 18, "{t:?}");
            }
            (None, false) => {}
            (t, _) => panic!("tls {tls}: {t:?}"),
        }
    }
}
