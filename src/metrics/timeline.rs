//! The run second by second: how load and failures moved over time, so the
//! moment a range ran out can be read against what was happening then.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::proto::Mode;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModeInterval {
    /// Sessions that reached 230, transfers that ended well, and failures, in this interval.
    pub sessions: u64,
    pub transfers: u64,
    pub errors: u64,
    /// Most data channels pending (announced or listening, not connected) and open at once.
    pub peak_pending: i64,
    pub peak_open: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// End of the interval, in seconds since the start of the run.
    pub t_s: u32,
    /// Virtual clients running at the end of the interval.
    pub clients: u64,
    /// TCP sockets in TIME_WAIT toward the target (when it is on this host).
    pub time_wait: u64,
    pub modes: BTreeMap<Mode, ModeInterval>,
}

/// Adds `b` into `a` second by second, as another machine's share of the same
/// run: counts add, and so do gauges (the machines' loads stack up).
pub fn merge(a: &mut Vec<Interval>, b: &[Interval]) {
    for x in b {
        match a.iter_mut().find(|i| i.t_s == x.t_s) {
            Some(i) => {
                i.clients += x.clients;
                i.time_wait += x.time_wait;
                for (m, v) in &x.modes {
                    let e = i.modes.entry(*m).or_default();
                    e.sessions += v.sessions;
                    e.transfers += v.transfers;
                    e.errors += v.errors;
                    e.peak_pending += v.peak_pending;
                    e.peak_open += v.peak_open;
                }
            }
            None => a.push(x.clone()),
        }
    }
    a.sort_by_key(|i| i.t_s);
}
