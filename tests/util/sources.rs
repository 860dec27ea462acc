//! The runs spread over 8 source addresses that tests/sources.rs (the
//! embedded target) and tests/interop.rs (vsftpd) make, and the one check
//! of their per-address counts both hold a result to.

use std::net::IpAddr;

use ftpload::result::RunResult;
use ftpload::scenario::SourceIps;

pub const SOURCES: &str = "127.0.0.2-127.0.0.9";
/// Not a multiple of the 8 addresses: the first four get one more.
pub const USERS: u64 = 20;

/// Sessions per address when `USERS` clients go round `n` addresses.
pub fn expected(n: u64) -> Vec<u64> {
    (0..n).map(|i| (USERS + n - 1 - i) / n).collect()
}

pub fn addresses() -> Vec<IpAddr> {
    SourceIps::parse(SOURCES).unwrap().addrs().to_vec()
}

/// The per-address counts against the run: every address there, sessions
/// exactly k mod n, no errors, and everything adding up to the totals.
pub fn check_counts(r: &RunResult, what: &str) {
    let got: Vec<IpAddr> = r.sources.iter().map(|s| s.address).collect();
    assert_eq!(got, addresses(), "{what}: the addresses");
    let sessions: Vec<u64> = r.sources.iter().map(|s| s.counts.sessions).collect();
    assert_eq!(sessions, expected(8), "{what}: sessions per address");
    assert_eq!(r.error_count(), 0, "{what}: {:?}", r.modes);
    let total = |f: fn(&ftpload::metrics::Counters) -> u64| -> u64 {
        r.modes.values().map(|m| f(&m.counters)).sum()
    };
    assert_eq!(total(|c| c.sessions), USERS, "{what}");
    let channels: u64 = r.sources.iter().map(|s| s.counts.channels_opened).sum();
    assert_eq!(
        channels,
        total(|c| c.channels_opened.get().unwrap()),
        "{what}"
    );
    for s in &r.sources {
        let c = &s.counts;
        assert!(c.channels_opened > 0, "{what}: {} opened none", s.address);
        assert_eq!(
            (c.sessions_failed, c.errors, c.exhausted),
            (0, 0, 0),
            "{what}: {s:?}"
        );
    }
    let plan = &r.scenario["source_ips"];
    assert_eq!(plan.as_array().map(Vec::len), Some(8), "{plan}");
}
