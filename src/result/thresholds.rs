//! A threshold's outcome as the result records it (judged by the
//! `threshold` module at the end of a run).

use serde::{Deserialize, Serialize};

use crate::proto::Mode;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ThresholdOutcome {
    /// As written: "session_setup.p99", "active/passive.data_setup.p50".
    pub key: String,
    /// "<", "<=", ">" or ">=".
    pub op: String,
    /// The bound as written: "50ms", "100MB/s", "0.001", "200/s".
    pub bound: String,
    /// The bound in `unit`.
    pub bound_value: f64,
    /// What the run measured, in `unit`; null when nothing was measured
    /// (which fails).
    pub measured: Option<f64>,
    /// "us", "B/s", "ratio", "fraction" or "/s".
    pub unit: String,
    /// The mode measured: the worst one, for a key without a mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    pub pass: bool,
}
