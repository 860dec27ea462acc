//! What the server paid over a run (`server` in the result, and `server`
//! in each second of the timeline), from the samples of a
//! [`crate::server::Watch`]: its CPU in all, and per session, per data
//! channel and per GiB; its memory, processes and descriptors at the start
//! and at their peak, and per session logged in at once.

use serde::{Deserialize, Serialize};

use super::timeline::Interval;
use super::ModeResult;
use crate::proto::Mode;
use crate::server::{Sample, Series};

/// `server` in the result. Schema 7.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerResult {
    /// "process" (a local process tree), "threads" (the embedded target's
    /// own threads) or "exporter" (a Prometheus exporter: the whole host).
    pub source: String,
    /// What was watched, in words: "process 4242 (vsftpd) and its children".
    pub watched: String,
    /// Samples taken (one at the start, each second, one at the end), and
    /// those that failed, with the first failure's words.
    pub samples: u64,
    pub failed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// CPU seconds over the run, user and system.
    pub cpu_user_s: f64,
    pub cpu_system_s: f64,
    pub cpu_s: f64,
    /// The most cores it kept busy over one sampled second.
    pub cpu_cores_peak: f64,
    /// The cores of its host (this machine's for a local server, the
    /// exporter's CPUs for a remote one), and its CPU over the run as a
    /// share of them all (1.0: every core busy throughout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_utilisation: Option<f64>,
    /// Memory (process trees: proportional set size; an exporter: the host's
    /// used memory), processes and descriptors at the first sample and at
    /// their largest; absent where the source has none (the embedded
    /// target shares the generator's process).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_start_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_peak_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes_start: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes_peak: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fds_start: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fds_peak: Option<u64>,
    pub per_session: PerSession,
    /// CPU ms per data channel opened: all the server's CPU over the
    /// channels, so the session's own share is in it; run a login-only
    /// scenario beside it to take that out. Absent without channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms_per_data_channel: Option<f64>,
    /// CPU seconds per GiB moved either way. Absent without bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_s_per_gib: Option<f64>,
    /// The one mode of a run that had one: then every per-figure above is
    /// that mode's. Absent when several modes shared the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
}

/// Per session: CPU over every session begun; memory, processes and
/// descriptors as the growth from the start to the peak over the most
/// sessions logged in at once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PerSession {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fds: Option<f64>,
}

/// The server in one second of the timeline. Schema 7.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerSecond {
    /// CPU seconds it used in the second (user + system).
    pub cpu_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fds: Option<u64>,
}

fn peak(samples: &[Sample], f: impl Fn(&Sample) -> Option<u64>) -> Option<u64> {
    samples.iter().filter_map(f).max()
}

impl ServerResult {
    /// The figures of `series` over a run whose modes are `modes`.
    pub fn of(
        series: &Series,
        modes: &std::collections::BTreeMap<Mode, ModeResult>,
    ) -> Option<Self> {
        let s = &series.samples;
        let (first, last) = (s.first()?, s.last()?);
        let cpu_s = (last.cpu_s() - first.cpu_s()).max(0.0);
        let cores_peak = s
            .windows(2)
            .map(|w| (w[1].cpu_s() - w[0].cpu_s()) / (w[1].at - w[0].at).as_secs_f64().max(1e-3))
            .fold(0.0, f64::max);
        let cores = last.cores.filter(|&c| c > 0);
        let span = (last.at - first.at).as_secs_f64();
        let cpu_utilisation = cores
            .filter(|_| span > 0.0)
            .map(|c| cpu_s / (span * f64::from(c)));
        let sum = |f: fn(&ModeResult) -> u64| modes.values().map(f).sum::<u64>();
        let sessions = sum(|m| m.counters.sessions + m.counters.sessions_failed);
        let channels = sum(|m| m.counters.channels_opened.get().unwrap_or(0));
        let bytes = sum(|m| m.counters.bytes_down + m.counters.bytes_up);
        let at_once = sum(|m| m.sessions.as_ref().map_or(0, |s| s.peak_logged_in as u64));
        let growth = |f: fn(&Sample) -> Option<u64>| -> Option<f64> {
            let grew = peak(s, f)?.saturating_sub(f(first)?);
            (at_once > 0).then(|| grew as f64 / at_once as f64)
        };
        let used: Vec<Mode> = modes
            .iter()
            .filter(|(_, m)| m.counters.sessions + m.counters.sessions_failed > 0)
            .map(|(k, _)| *k)
            .collect();
        Some(ServerResult {
            source: series.what.kind().into(),
            watched: series.what.describe(),
            samples: s.len() as u64,
            failed: series.failed,
            failure: series.failure.clone(),
            cpu_user_s: (last.cpu_user_s - first.cpu_user_s).max(0.0),
            cpu_system_s: (last.cpu_system_s - first.cpu_system_s).max(0.0),
            cpu_s,
            cpu_cores_peak: cores_peak,
            cores,
            cpu_utilisation,
            memory_start_bytes: first.memory_bytes,
            memory_peak_bytes: peak(s, |x| x.memory_bytes),
            processes_start: first.processes,
            processes_peak: peak(s, |x| x.processes),
            fds_start: first.fds,
            fds_peak: peak(s, |x| x.fds),
            per_session: PerSession {
                cpu_ms: (sessions > 0).then(|| cpu_s * 1e3 / sessions as f64),
                memory_bytes: growth(|x| x.memory_bytes).map(|b| b as u64),
                processes: growth(|x| x.processes),
                fds: growth(|x| x.fds),
            },
            cpu_ms_per_data_channel: (channels > 0).then(|| cpu_s * 1e3 / channels as f64),
            cpu_s_per_gib: (bytes > 0).then(|| cpu_s / (bytes as f64 / (1u64 << 30) as f64)),
            mode: (used.len() == 1).then(|| used[0]),
        })
    }
}

/// Puts each sampled second of `series` into the timeline second it ended
/// in: the interval with `t_s` = the sample's time since the load began,
/// rounded up. `load_offset`: how long after the watch's start the load
/// began (the set-up session, a `--start-at` hold).
pub fn into_timeline(series: &Series, load_offset: std::time::Duration, tl: &mut [Interval]) {
    for w in series.samples.windows(2) {
        let Some(since) = w[1].at.checked_sub(load_offset) else {
            continue;
        };
        let t_s = since.as_secs_f64().ceil() as u32;
        if let Some(i) = tl.iter_mut().find(|i| i.t_s == t_s) {
            i.server = Some(ServerSecond {
                cpu_s: (w[1].cpu_s() - w[0].cpu_s()).max(0.0),
                memory_bytes: w[1].memory_bytes,
                processes: w[1].processes,
                fds: w[1].fds,
            });
        }
    }
}
