//! The `groups` section: each client group's own figures per mode, so a
//! scenario mixing, say, browsing users and bulk downloaders tells how each
//! fared. The run's `modes` is their sum (plus the run-wide channel gauges,
//! which belong to no group and so appear only there).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::modes::{errors_of, metrics_of, stats_of};
use super::{ErrorEntry, MetricResult, ResultError};
use crate::metrics::{Counters, Metric, ModeStats, Recorder};
use crate::proto::Mode;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GroupResult {
    /// The group's name in the scenario.
    pub name: String,
    /// Its virtual clients (closed loop) or its cap on clients at once (open loop).
    pub users: u32,
    pub modes: BTreeMap<Mode, GroupModeResult>,
}

/// A mode's metrics, counters and errors within one group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GroupModeResult {
    pub metrics: BTreeMap<Metric, MetricResult>,
    pub counters: Counters,
    pub errors: Vec<ErrorEntry>,
}

impl GroupModeResult {
    pub fn from_stats(s: &ModeStats) -> GroupModeResult {
        GroupModeResult {
            metrics: metrics_of(s),
            counters: s.counters,
            errors: errors_of(s),
        }
    }

    pub fn to_stats(&self, mode: Mode) -> Result<ModeStats, ResultError> {
        stats_of(mode, &self.metrics, self.counters, &self.errors)
    }

    pub fn error_count(&self) -> u64 {
        self.errors.iter().map(|e| e.count).sum()
    }
}

impl GroupResult {
    pub fn from_recorder(name: &str, users: u32, r: &Recorder) -> GroupResult {
        GroupResult {
            name: name.to_string(),
            users,
            modes: r
                .iter()
                .map(|(m, s)| (m, GroupModeResult::from_stats(s)))
                .collect(),
        }
    }
}

/// `a` and `b` merged group by group (matched by name), exactly.
pub(super) fn merge(a: &[GroupResult], b: &[GroupResult]) -> Result<Vec<GroupResult>, ResultError> {
    let mut out = a.to_vec();
    for theirs in b {
        let Some(ours) = out.iter_mut().find(|g| g.name == theirs.name) else {
            out.push(theirs.clone());
            continue;
        };
        ours.users += theirs.users;
        for (mode, tm) in &theirs.modes {
            let merged = match ours.modes.get(mode) {
                Some(om) => {
                    let mut s = om.to_stats(*mode)?;
                    s += &tm.to_stats(*mode)?;
                    GroupModeResult::from_stats(&s)
                }
                None => tm.clone(),
            };
            ours.modes.insert(*mode, merged);
        }
    }
    Ok(out)
}
