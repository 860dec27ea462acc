//! The instances the interop binary starts itself, beside the default ones
//! (2121-2124) that it only finds: FTPS (explicit, implicit, and vsftpd
//! without its session-reuse requirement) and IPv6 (bound to ::1), each set
//! in a harness home of its own under `target/` (tests/util/homes.rs, which
//! tests/exhaustion.rs uses too). Control ports 2151-2164.
//!
//! Every instance has the same passive range, 19500-19999 (below the
//! kernel's ephemeral ports, see tests/exhaustion.rs): the checks run one at
//! a time, so no two instances listen at once, and a wide range keeps a race
//! in the servers rare. Two sessions that pick the same passive port at the
//! same moment both bind it (SO_REUSEADDR), and the second one's listen()
//! fails: proftpd answers `425 EPSV: Address already in use` (its log:
//! `unable to listen on 127.0.0.1#PORT`), pure-ftpd `425 Unable to identify
//! the local data socket: Address already in use`; neither tries another
//! port. With 20 ports and 2 users that was 5 in 1,200 EPSVs on proftpd over
//! TLS and 1-2 in 1,200 on pure-ftpd; with these 500 ports, none in 2,400 on
//! proftpd. The range is the one scripts/results/tls-cost.sh and the large
//! ranges of tests/exhaustion.rs use too: none of them runs beside another.

use std::path::{Path, PathBuf};

use ftpload::proto::PortRange;

use crate::homes::Home;
/// Every instance's passive range (see above).
const PASSIVE: PortRange = PortRange {
    first: 19500,
    last: 19999,
};

/// A set of instances: one harness home, one configuration.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Set {
    /// FTPD_TLS=explicit (AUTH TLS), each server's own session-reuse default.
    Explicit,
    /// FTPD_TLS=implicit: vsftpd and proftpd only.
    Implicit,
    /// FTPD_TLS=explicit with FTPD_TLS_REUSE=no: vsftpd's require_ssl_reuse=NO.
    NoReuse,
    /// Plain FTP on ::1.
    Ipv6,
}

/// Every instance: its set, server and control port.
const OWN: [(Set, &str, u16); 11] = [
    (Set::Explicit, "vsftpd", 2151),
    (Set::Explicit, "pure-ftpd", 2152),
    (Set::Explicit, "proftpd", 2153),
    (Set::Explicit, "pyftpdlib", 2154),
    (Set::Implicit, "vsftpd", 2155),
    (Set::Implicit, "proftpd", 2156),
    (Set::NoReuse, "vsftpd", 2157),
    (Set::Ipv6, "vsftpd", 2161),
    (Set::Ipv6, "pure-ftpd", 2162),
    (Set::Ipv6, "proftpd", 2163),
    (Set::Ipv6, "pyftpdlib", 2164),
];

impl Set {
    pub const ALL: [Set; 4] = [Set::Explicit, Set::Implicit, Set::NoReuse, Set::Ipv6];

    /// Its harness home, under `target/`.
    pub fn home(self) -> &'static str {
        match self {
            Set::Explicit => "ftpd-tls",
            Set::Implicit => "ftpd-tls-implicit",
            Set::NoReuse => "ftpd-tls-noreuse",
            Set::Ipv6 => "ftpd-v6",
        }
    }

    /// The harness's variables for it, every one set, so that none leaks in
    /// from the caller's environment.
    fn env(self) -> [(&'static str, &'static str); 3] {
        let (tls, reuse) = match self {
            Set::Explicit => ("explicit", "yes"),
            Set::Implicit => ("implicit", "yes"),
            Set::NoReuse => ("explicit", "no"),
            Set::Ipv6 => ("off", "yes"),
        };
        [
            ("FTPD_TLS", tls),
            ("FTPD_TLS_REUSE", reuse),
            ("FTPD_BIND", self.bind()),
        ]
    }

    pub fn bind(self) -> &'static str {
        match self {
            Set::Ipv6 => "::1",
            _ => "127.0.0.1",
        }
    }

    pub fn is_tls(self) -> bool {
        self != Set::Ipv6
    }

    /// Its harness settings, for the output.
    pub fn describe(self) -> String {
        if !self.is_tls() {
            return "plain FTP".into();
        }
        let [(k1, v1), (k2, v2), _] = self.env();
        format!("{k1}={v1} {k2}={v2}")
    }

    /// The control port of `server`'s instance in this set.
    pub fn port(self, server: &str) -> u16 {
        OWN.iter()
            .find(|(s, name, _)| *s == self && *name == server)
            .unwrap_or_else(|| panic!("no {server} instance in set {self:?}"))
            .2
    }

    pub fn passive(self) -> PortRange {
        PASSIVE
    }
}

pub use crate::homes::shared_paths;

/// Why `server` cannot run in `set` here, if it cannot.
pub fn missing(set: Set, server: &str, pkgs: &Path, root: &Path) -> Option<String> {
    crate::homes::missing(server, set.is_tls(), pkgs, root)
}

/// One set's harness home, its instances sharing the default home's
/// packages and files. Dropping it stops them all.
pub struct Instances {
    pub set: Set,
    home: Home,
}

impl Instances {
    pub fn new(set: Set, pkgs: &Path, root: &Path) -> Instances {
        let mut home = Home::new(set.home(), pkgs, root);
        home.env = set.env().map(|(k, v)| (k, v.to_string())).to_vec();
        Instances { set, home }
    }

    pub fn start(&self, server: &str) -> Result<(), String> {
        let set = self.set;
        let port = set.port(server);
        self.home
            .start(server, port, set.passive(), Some(set.bind()))
    }

    /// The home's self-signed certificate (`ftpd cert`), a client's CA file.
    pub fn cert(&self) -> Result<PathBuf, String> {
        let path = self.home.ftpd(&["cert"])?;
        Ok(PathBuf::from(path.trim()))
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }
}
