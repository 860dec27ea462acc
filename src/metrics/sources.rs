//! Counts per local source address, for runs spread over several
//! (`--source-ips`): which address's sessions failed, and whether one ran
//! out of ports while the others did not. Recorded only when the run has
//! source addresses; merged by address, exactly.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::AddAssign;

/// What the clients leaving from one address did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCounts {
    /// Sessions that reached 230, and those that failed before it.
    pub sessions: u64,
    pub sessions_failed: u64,
    /// Data connections made (passive connects from this address, or the
    /// server's connections to a listener on it).
    pub channels_opened: u64,
    /// Failures of every class.
    pub errors: u64,
    /// Of those, failures that were exhaustion (the mode's `exhaustion`
    /// signatures), and the signature of the first recorded.
    pub exhausted: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exhaustion: Option<String>,
}

impl SourceCounts {
    /// Counts one failure, and its exhaustion signature if it is one.
    pub fn failed(&mut self, exhaustion: Option<&str>) {
        self.errors += 1;
        if let Some(sig) = exhaustion {
            self.exhausted += 1;
            self.exhaustion.get_or_insert_with(|| sig.to_string());
        }
    }
}

impl AddAssign<&SourceCounts> for SourceCounts {
    fn add_assign(&mut self, o: &SourceCounts) {
        self.sessions += o.sessions;
        self.sessions_failed += o.sessions_failed;
        self.channels_opened += o.channels_opened;
        self.errors += o.errors;
        self.exhausted += o.exhausted;
        if self.exhaustion.is_none() {
            self.exhaustion.clone_from(&o.exhaustion);
        }
    }
}

/// Counts by source address; empty when the run has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources(pub BTreeMap<IpAddr, SourceCounts>);

impl Sources {
    /// The counts of `ip`, when the client has a source address (`None`:
    /// the run spreads over none, and nothing is kept).
    pub fn at(&mut self, ip: Option<IpAddr>) -> Option<&mut SourceCounts> {
        ip.map(|ip| self.0.entry(ip).or_default())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl AddAssign<&Sources> for Sources {
    fn add_assign(&mut self, o: &Sources) {
        for (ip, c) in &o.0 {
            *self.0.entry(*ip).or_default() += c;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_adds_by_address() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let mut a = Sources::default();
        let mut b = Sources::default();
        assert!(a.at(None).is_none());
        a.at(ip("127.0.0.2")).unwrap().sessions += 2;
        b.at(ip("127.0.0.2")).unwrap().sessions += 1;
        b.at(ip("127.0.0.3")).unwrap().failed(Some("EADDRNOTAVAIL"));
        b.at(ip("127.0.0.3")).unwrap().failed(None);
        a += &b;
        assert_eq!(a.0.len(), 2);
        assert_eq!(a.0[&"127.0.0.2".parse().unwrap()].sessions, 3);
        let c = &a.0[&"127.0.0.3".parse().unwrap()];
        assert_eq!((c.errors, c.exhausted), (2, 1));
        assert_eq!(c.exhaustion.as_deref(), Some("EADDRNOTAVAIL"));
    }
}
