//! The top-level `sources`: per local source address (`--source-ips`), its
//! clients' sessions, data channels and failures, over every mode and
//! group; merged by address.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use crate::metrics::{Recorder, SourceCounts, Sources};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SourceResult {
    pub address: IpAddr,
    #[serde(flatten)]
    pub counts: SourceCounts,
}

/// Every address's counts over all modes, in address order; empty when
/// the run had no source addresses.
pub fn from_recorder(r: &Recorder) -> Vec<SourceResult> {
    let mut all = Sources::default();
    for (_, s) in r.iter() {
        all += &s.sources;
    }
    to_list(all)
}

/// Two results' lists, added by address.
pub fn merge(a: &[SourceResult], b: &[SourceResult]) -> Vec<SourceResult> {
    let mut all = Sources::default();
    for s in a.iter().chain(b) {
        *all.0.entry(s.address).or_default() += &s.counts;
    }
    to_list(all)
}

fn to_list(s: Sources) -> Vec<SourceResult> {
    s.0.into_iter()
        .map(|(address, counts)| SourceResult { address, counts })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Mode;

    #[test]
    fn modes_add_up_per_address_and_results_merge_by_it() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let mut r = Recorder::default();
        r.mode(Mode::Passive)
            .sources
            .at(ip("127.0.0.2"))
            .unwrap()
            .sessions += 1;
        r.mode(Mode::Active)
            .sources
            .at(ip("127.0.0.2"))
            .unwrap()
            .sessions += 2;
        r.mode(Mode::Active)
            .sources
            .at(ip("127.0.0.3"))
            .unwrap()
            .sessions_failed += 1;
        let list = from_recorder(&r);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].counts.sessions, 3);
        let json = serde_json::to_value(&list[1]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"address": "127.0.0.3", "sessions": 0, "sessions_failed": 1,
                "channels_opened": 0, "errors": 0, "exhausted": 0})
        );
        let back: SourceResult = serde_json::from_value(json).unwrap();
        assert_eq!(back, list[1]);
        let merged = merge(&list, &list[..1]);
        assert_eq!(merged[0].counts.sessions, 6);
        assert_eq!(merged[1].counts.sessions_failed, 1);
    }
}
