//! Each shard's own figures, kept through a merge: the merged histograms
//! and counters are the whole run's, and would hide one shard that ran on
//! a slow or busy node, started late, or was itself the bottleneck. A
//! shard's result holds its own line; a merge holds every shard's.

use serde::{Deserialize, Serialize};

use super::RunResult;

/// One shard of a sharded run (`--shard I/N`), as it ran. Schema 7.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ShardFigures {
    /// I of `--shard I/N`.
    pub index: u32,
    /// N.
    pub count: u32,
    /// The machine it ran on (its host name), so shards of one node show.
    pub host: String,
    /// RFC 3339, UTC: its own run.
    pub started_at: String,
    pub ended_at: String,
    /// How far from `--start-at` its load began (ms, positive: after);
    /// absent without `--start-at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skew_ms: Option<f64>,
    /// Ready only after the instant, so started at once.
    #[serde(default)]
    pub late: bool,
    /// Over every mode: sessions logged in and failed, iterations done and
    /// failed, transfers done, failures of any class.
    pub sessions: u64,
    pub sessions_failed: u64,
    pub iterations: u64,
    pub iterations_failed: u64,
    pub transfers: u64,
    pub errors: u64,
    /// The generator's CPU time (s) and its share of the shard's cores.
    pub generator_cpu_s: f64,
    pub generator_cpu_utilisation: f64,
    /// Its self-check found the generator, not the server, the limit.
    pub generator_bottleneck: bool,
    /// Its peak resident memory (bytes).
    pub generator_peak_bytes: u64,
}

impl ShardFigures {
    /// The figures of `r`, shard `index` of `count`, run on `host`.
    pub fn of(r: &RunResult, index: u32, count: u32, host: String) -> ShardFigures {
        let sum = |f: fn(&super::ModeResult) -> u64| r.modes.values().map(f).sum::<u64>();
        let g = r.generator.as_ref();
        ShardFigures {
            index,
            count,
            host,
            started_at: r.started_at.clone(),
            ended_at: r.ended_at.clone(),
            skew_ms: r.start_at.as_ref().map(|s| s.skew_ms_min),
            late: r.start_at.as_ref().is_some_and(|s| s.late > 0),
            sessions: sum(|m| m.counters.sessions),
            sessions_failed: sum(|m| m.counters.sessions_failed),
            iterations: sum(|m| m.counters.iterations),
            iterations_failed: sum(|m| m.counters.iterations_failed),
            transfers: sum(|m| m.counters.transfers),
            errors: r.error_count(),
            generator_cpu_s: g.map_or(0.0, |g| g.cpu_s),
            generator_cpu_utilisation: g.map_or(0.0, |g| g.cpu_utilisation),
            generator_bottleneck: g.is_some_and(|g| g.bottleneck),
            generator_peak_bytes: g
                .and_then(|g| g.memory.as_ref())
                .map_or(0, |m| m.peak_bytes),
        }
    }
}

/// Both lists, in shard order.
pub fn merge(a: &[ShardFigures], b: &[ShardFigures]) -> Vec<ShardFigures> {
    let mut all: Vec<ShardFigures> = a.iter().chain(b).cloned().collect();
    all.sort_by_key(|s| (s.index, s.started_at.clone()));
    all
}

/// This machine's host name (`gethostname`), or "" when it has none.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; the name is cut to it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
