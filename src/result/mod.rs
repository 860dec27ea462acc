//! The JSON result: a documented, versioned schema (docs/result-schema.md).
//! Every histogram travels whole (`hdr`: base64 of the HdrHistogram V2 +
//! DEFLATE encoding), so results from several machines merge exactly and can
//! be re-analysed by any HdrHistogram implementation.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod channels;
mod groups;
mod hdr;
mod modes;
pub mod server;
pub mod shards;
pub mod sources;
mod thresholds;
pub mod timeline;
pub mod write;

pub use channels::ChannelsResult;
pub use groups::{GroupModeResult, GroupResult};
pub use hdr::{decode_full, decode_hdr, encode_hdr};
pub use thresholds::ThresholdOutcome;

use crate::kernel::KernelCounters;
use crate::metrics::{Count, Counters, ErrorClass, Metric, Recorder, SessionStats, TlsStats};
use crate::proto::{Mode, PortRange};
use timeline::Interval;

/// Bumped on any change a reader could notice; readers check it first.
/// 3: the counters added after the first committed results are `null` when
/// unknown (a merge with a result without them), rather than a false 0; each
/// mode's `sessions` (the most logged in at once, refusals by the server's
/// session limit).
/// 4: the timeline's `time_wait` counts every TIME_WAIT socket of the
/// generator's network namespace (a counter the kernel keeps), no longer only
/// those with the target's address (a walk of the whole table each second).
/// 5: `sources`, per local source address (`--source-ips`); the
/// generator's `memory`.
/// 6: FTPS: each mode's `tls` (handshakes, versions and suites, data
/// channels resumed) and the metrics `tls_handshake` and
/// `data_tls_handshake`.
pub const SCHEMA_VERSION: u32 = 7;
/// The oldest version [`RunResult::read`] still reads: what 2, 3, 5 and 6
/// added is optional, 4 changed what a field counts, not its shape (`operations`, `sessions`, `sources`), so older results read without it;
/// a counter a file lacks reads as unknown ([`Count`]).
pub const OLDEST_READ: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    #[error("cannot write result {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot read result {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: not an ftpload result: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("histogram {metric} of mode {mode} does not decode: {message}")]
    Hdr {
        mode: Mode,
        metric: &'static str,
        message: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TargetInfo {
    /// "embedded" or "external".
    pub kind: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The first line of the server's 220 banner, which usually names it.
    #[serde(default)]
    pub banner: String,
    /// "ipv4" or "ipv6": the family of the address the sessions connected
    /// to. Schema 6; empty when read from an older result.
    #[serde(default)]
    pub family: String,
}

/// "ipv4" or "ipv6", as results and the probe name an address's family.
pub fn family(addr: std::net::SocketAddr) -> &'static str {
    if addr.is_ipv6() {
        "ipv6"
    } else {
        "ipv4"
    }
}

/// One metric of one mode: a summary for people and the histogram for programs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MetricResult {
    /// "us" (microseconds) or "B/s".
    pub unit: String,
    pub count: u64,
    pub min: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub hdr: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorEntry {
    #[serde(flatten)]
    pub class: ErrorClass,
    pub count: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sample: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModeResult {
    pub metrics: BTreeMap<Metric, MetricResult>,
    pub counters: Counters,
    pub errors: Vec<ErrorEntry>,
    pub channels: ChannelsResult,
    /// First byte, transfer and throughput per operation as written in the
    /// scenario (a drawn file under its own name). Schema 2; empty when read
    /// from a schema 1 result, which did not keep them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub operations: BTreeMap<String, BTreeMap<Metric, MetricResult>>,
    /// The most sessions logged in at once, and the refusals by the
    /// server's session limit (the first with its words). Schema 3; `None`
    /// (unknown, not zero) when read from an older result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<SessionStats>,
    /// FTPS: handshakes, negotiated versions and suites, data channels
    /// resumed. Schema 6; absent in a plain-FTP run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsStats>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunResult {
    pub schema_version: u32,
    pub tool: Tool,
    pub scenario_name: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub ended_at: String,
    pub duration_s: f64,
    /// Stopped early by Ctrl-C: the numbers cover only what ran.
    pub interrupted: bool,
    /// Iterations still running when the grace period after the deadline
    /// ran out: cut off, and counted in neither `iterations` nor
    /// `iterations_failed`.
    /// Unknown in a result from before it was counted.
    #[serde(default = "Count::unknown")]
    pub cut_off: Count,
    pub target: TargetInfo,
    /// The validated plan as run (no password).
    pub scenario: serde_json::Value,
    pub modes: BTreeMap<Mode, ModeResult>,
    /// Each client group's own figures, when the scenario has more than one
    /// group; `modes` is their sum.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupResult>,
    /// Second by second: clients, TIME_WAIT, and per mode sessions, transfers,
    /// errors and peak data channels.
    #[serde(default)]
    pub timeline: Vec<Interval>,
    /// The generator's own load: when it was the bottleneck, its numbers
    /// describe it rather than the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<crate::metrics::generator::GeneratorCheck>,
    /// Per local source address, when the run spread its clients over
    /// several (`--source-ips`); schema 5.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<sources::SourceResult>,
    /// Kernel TCP counters over the run, when the target ran on this host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<KernelCounters>,
    /// Each threshold of the scenario and `--threshold`, judged at the end.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<ThresholdOutcome>,
    /// The threshold (its key) whose `abort_on_fail` stopped the run early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted_by_threshold: Option<String>,
    /// `--start-at`: the instant the load was held for, and how far from
    /// it the load began, over the shards merged. Schema 6; absent when
    /// the run started at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<StartAt>,
    /// A sharded run's shards, each with its own figures (sessions, start
    /// skew, generator CPU), in shard order: one for a shard's own result,
    /// every one merged for a merge. Schema 7; absent from a run that was
    /// no shard.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<shards::ShardFigures>,
    /// What the server paid: CPU, memory, processes and descriptors, from
    /// its process tree, its threads or its exporter. Schema 7; absent
    /// when it was not watched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<server::ServerResult>,
}

/// A held start: the instant asked for and the load's actual start against
/// it (positive: after), the least and the most over the shards, so a
/// merge shows their spread.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StartAt {
    pub requested: String,
    pub skew_ms_min: f64,
    pub skew_ms_max: f64,
    /// Shards that came after the instant had passed and started at once.
    pub late: u64,
    /// Shards (runs) merged into these figures.
    pub shards: u64,
}

impl StartAt {
    fn merge(a: &Option<StartAt>, b: &Option<StartAt>) -> Option<StartAt> {
        match (a, b) {
            (Some(x), Some(y)) => Some(StartAt {
                requested: x.requested.clone(),
                skew_ms_min: x.skew_ms_min.min(y.skew_ms_min),
                skew_ms_max: x.skew_ms_max.max(y.skew_ms_max),
                late: x.late + y.late,
                shards: x.shards + y.shards,
            }),
            (x, y) => x.clone().or_else(|| y.clone()),
        }
    }
}

impl RunResult {
    pub fn modes_from(
        recorder: &Recorder,
        declared: Option<PortRange>,
    ) -> BTreeMap<Mode, ModeResult> {
        recorder
            .iter()
            .map(|(m, s)| (m, ModeResult::from_stats(s, m, declared)))
            .collect()
    }

    pub fn error_count(&self) -> u64 {
        self.modes.values().map(|m| m.error_count()).sum()
    }

    pub fn read(path: &Path) -> Result<RunResult, ResultError> {
        let text = std::fs::read_to_string(path).map_err(|error| ResultError::Read {
            path: path.into(),
            error,
        })?;
        let parse = |e: serde_json::Error| ResultError::Parse {
            path: path.into(),
            message: e.to_string(),
        };
        // The version first: another version may have another layout, and the
        // reader should hear about the version, not a missing field.
        #[derive(Deserialize)]
        struct Probe {
            schema_version: u32,
        }
        let probe: Probe = serde_json::from_str(&text).map_err(parse)?;
        if !(OLDEST_READ..=SCHEMA_VERSION).contains(&probe.schema_version) {
            return Err(ResultError::Parse {
                path: path.into(),
                message: format!(
                    "schema_version {} (this ftpload reads {SCHEMA_VERSION} and older, down to {OLDEST_READ})",
                    probe.schema_version
                ),
            });
        }
        // An older result reads as the current version: what came later is
        // optional, so it is the same result, written now as this version.
        let mut r: RunResult = serde_json::from_str(&text).map_err(parse)?;
        r.schema_version = SCHEMA_VERSION;
        Ok(r)
    }

    /// Writes the result through [`write::json`]: buffered, atomic, fsynced.
    pub fn write_atomic(&self, path: &Path) -> Result<(), ResultError> {
        write::json(path, self).map_err(|error| ResultError::Write {
            path: path.into(),
            error,
        })
    }

    /// Merges `o` (another machine's shard of the same scenario) into
    /// `self`: every histogram and counter adds exactly; times widen to
    /// cover both. On error `self` is left as it was. Fallible rather than an
    /// `AddAssign`: a histogram read from a file may not decode.
    pub fn try_merge(&mut self, o: &RunResult) -> Result<(), ResultError> {
        let mut modes = self.modes.clone();
        for (mode, theirs) in &o.modes {
            let merged = match modes.get(mode) {
                Some(ours) => {
                    let mut s = ours.to_stats(*mode)?;
                    s += &theirs.to_stats(*mode)?;
                    let declared = ours
                        .channels
                        .declared_range
                        .or(theirs.channels.declared_range);
                    let mut m = ModeResult::from_stats(&s, *mode, declared);
                    // Unknown on one side (an older result) stays unknown.
                    if ours.sessions.is_none() || theirs.sessions.is_none() {
                        m.sessions = None;
                    }
                    m
                }
                None => theirs.clone(),
            };
            modes.insert(*mode, merged);
        }
        let groups = groups::merge(&self.groups, &o.groups)?;
        let mut tl = self.timeline.clone();
        timeline::merge(&mut tl, &o.timeline)?;
        for (mode, m) in modes.iter_mut() {
            let at_once = timeline::peak_sessions_open(&tl, *mode);
            if let (Some(s), Some(n)) = (m.sessions.as_mut(), at_once) {
                s.peak_logged_in = s.peak_logged_in.max(n);
            }
        }
        self.timeline = tl;
        self.modes = modes;
        self.groups = groups;
        self.sources = sources::merge(&self.sources, &o.sources);
        self.start_at = StartAt::merge(&self.start_at, &o.start_at);
        self.shards = shards::merge(&self.shards, &o.shards);
        // Every shard watched the same server: one watch's figures, not a sum.
        if self.server.is_none() {
            self.server = o.server.clone();
        }
        if o.started_at < self.started_at {
            self.started_at = o.started_at.clone();
        }
        if o.ended_at > self.ended_at {
            self.ended_at = o.ended_at.clone();
        }
        self.duration_s = self.duration_s.max(o.duration_s);
        self.interrupted |= o.interrupted;
        self.cut_off += o.cut_off;
        // Outcomes judged one run each say nothing about the sum.
        self.thresholds.clear();
        match (&mut self.generator, &o.generator) {
            (Some(g), Some(theirs)) => *g += theirs,
            (None, Some(theirs)) => self.generator = Some(theirs.clone()),
            _ => {}
        }
        match (&mut self.kernel, o.kernel) {
            (Some(k), Some(theirs)) => *k += theirs,
            (None, Some(theirs)) => self.kernel = Some(theirs),
            _ => {}
        }
        Ok(())
    }
}

/// `results/<UTC time>-<scenario>.json`, sortable by time.
pub fn default_path(scenario: &str, started: std::time::SystemTime) -> PathBuf {
    let t = time::OffsetDateTime::from(started);
    let stamp = t
        .format(&time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_else(|_| "run".into());
    PathBuf::from("results").join(format!("{stamp}-{scenario}.json"))
}

/// RFC 3339 in UTC with a fixed nine-digit fraction, so the strings sort as
/// the times do (merging compares them).
pub fn rfc3339(t: std::time::SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z"
        ))
        .unwrap_or_default()
}
