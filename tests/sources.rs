//! Runs spread over several local source addresses (`--source-ips`,
//! `[target] source_ips`), against the embedded target: client `k` leaves
//! from address `k mod n`, so with persistent sessions each address's
//! session count is exactly its number of clients; the per-address counts
//! add up to the modes' totals; and the server sees the control and the
//! data connections come from those addresses (read with `ss` while the
//! run goes on). vsftpd, which refuses a passive data connection from
//! another address than the control's, is in tests/interop.rs; the port
//! supply growing with the addresses, in tests/netns.rs.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use ftpload::embedded::{EmbeddedConfig, EmbeddedServer};
use ftpload::scenario::{Overrides, SourceIps};

use crate::util::sources::{addresses, check_counts, expected, SOURCES, USERS};
use crate::util::{harness, schema};

/// Each address's object in the result's `sources`.
const SOURCE_FIELDS: [&str; 7] = [
    "address",
    "sessions",
    "sessions_failed",
    "channels_opened",
    "errors",
    "exhausted",
    "exhaustion",
];

/// The peers of established connections whose local end is 127.0.0.1 at
/// a port in `ports`: what the server sees.
fn peers_of(ports: &std::ops::RangeInclusive<u16>) -> BTreeSet<IpAddr> {
    let out = Command::new("ss")
        .args(["-Htn", "state", "established"])
        .output()
        .expect("ss (iproute2) runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut cols = l.split_whitespace().rev();
            let (peer, local) = (cols.next()?, cols.next()?);
            let (lip, lport) = local.rsplit_once(':')?;
            let port: u16 = lport.parse().ok()?;
            (lip == "127.0.0.1" && ports.contains(&port))
                .then(|| peer.rsplit_once(':')?.0.parse().ok())
                .flatten()
        })
        .collect()
}

#[test]
fn the_server_sees_each_client_and_its_data_from_its_address() {
    let passive = 17800..=17899;
    let server = EmbeddedServer::start(EmbeddedConfig {
        passive_ports: passive.clone(),
        files: vec![("64k.bin".into(), 64 * 1024)],
        ..EmbeddedConfig::default()
    })
    .unwrap();
    let port = server.addr().port();
    // Persistent sessions: one login per client. Uploads paced at 2 Mbit/s
    // last about a quarter of a second, so `ss` sees them (a download is
    // written to the socket at once, and the server's end closed, however
    // slowly the client reads it).
    let toml = format!(
        r#"
[files]
"64k.bin" = "64KiB"
[run]
duration = "2s"
ramp_up = "0s"
[[group]]
users = {USERS}
session = "persistent"
modes = {{ passive = 1, epsv = 1, active = 1 }}
bandwidth = "2Mbit/s"
ops = ["stor 64KiB", "retr 64k.bin"]
"#
    );
    let o = Overrides {
        target: Some(format!("ftp://ftpload@127.0.0.1:{port}")),
        password: Some("ftpload".into()),
        source_ips: Some(SourceIps::parse_local(SOURCES).unwrap()),
        ..Overrides::default()
    };
    let run = std::thread::spawn(move || harness::run_scenario(&toml, &o, "sources-ss"));
    let (mut control, mut data) = (BTreeSet::new(), BTreeSet::new());
    while !run.is_finished() {
        control.extend(peers_of(&(port..=port)));
        data.extend(peers_of(&passive));
        std::thread::sleep(Duration::from_millis(50));
    }
    let ran = run.join().unwrap();
    check_counts(&ran.result, "external embedded target");
    let want: BTreeSet<IpAddr> = addresses().into_iter().collect();
    // The set-up session leaves from the first address too; nothing else
    // from anywhere else.
    assert_eq!(control, want, "control connections seen by the server");
    assert_eq!(data, want, "passive data connections seen by the server");
    let text = ftpload::summary::render(&ran.result);
    assert!(
        text.contains(
            "source addresses: 8 (127.0.0.2 .. 127.0.0.9): sessions per address 2 to 3 (20 in all)"
        ),
        "{text}"
    );
    assert!(text.contains("  no errors from any address"), "{text}");
}

#[test]
fn the_scenario_key_spreads_clients_on_the_embedded_target() {
    let toml = format!(
        r#"
[target]
source_ips = "{SOURCES}"
[files]
"1k.bin" = "1KiB"
[run]
duration = "1s"
ramp_up = "0s"
[[group]]
users = {USERS}
session = "persistent"
modes = {{ passive = 1, epsv = 1, active = 1 }}
ops = ["retr 1k.bin", "stor 1KiB"]
"#
    );
    let ran = harness::run_scenario(&toml, &Overrides::default(), "sources-key");
    check_counts(&ran.result, "embedded target");
    // The fields as docs/result-schema.md names them (`exhaustion` only
    // when an address ran out).
    let doc = schema::doc();
    for s in ran.json["sources"].as_array().unwrap() {
        assert_eq!(schema::keys(s), schema::set(&SOURCE_FIELDS[..6]), "{s}");
    }
    for f in SOURCE_FIELDS.into_iter().chain(["sources", "source_ips"]) {
        schema::assert_documented(&doc, f, "the sources field");
    }
    // A merge adds by address: the run twice is twice the counts.
    let mut twice = ran.result.clone();
    twice.try_merge(&ran.result).unwrap();
    let doubled: Vec<u64> = twice.sources.iter().map(|s| s.counts.sessions).collect();
    assert_eq!(
        doubled,
        expected(8).iter().map(|n| 2 * n).collect::<Vec<_>>()
    );
}
