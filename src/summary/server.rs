//! What the server paid, in three lines under the table: its CPU in all
//! and at its busiest second; per session, per data channel and per GiB;
//! its memory, processes and descriptors from the start to their peak.

use std::fmt::Write as _;

use super::format::bytes;
use crate::result::server::ServerResult;

pub(super) fn render(s: Option<&ServerResult>) -> String {
    let mut out = String::new();
    let Some(s) = s else {
        return out;
    };
    let share = match (s.cpu_utilisation, s.cores) {
        (Some(u), Some(c)) => format!(", {:.0}% of its {c} cores over the run", u * 100.0),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "\nserver ({}): {:.2} s CPU ({:.2} user, {:.2} system){share}, at most {:.2} cores in a second",
        s.watched, s.cpu_s, s.cpu_user_s, s.cpu_system_s, s.cpu_cores_peak
    );
    let p = &s.per_session;
    let mut per = Vec::new();
    if let Some(ms) = p.cpu_ms {
        per.push(format!("{ms:.2} ms CPU"));
    }
    if let Some(b) = p.memory_bytes {
        per.push(format!("{} memory", bytes(b)));
    }
    if let Some(n) = p.processes {
        per.push(format!("{n:.1} processes"));
    }
    if let Some(n) = p.fds {
        per.push(format!("{n:.1} descriptors"));
    }
    let mut line = String::new();
    if !per.is_empty() {
        line = format!("per session {}", per.join(", "));
    }
    if let Some(ms) = s.cpu_ms_per_data_channel {
        let whose = match s.mode {
            Some(m) => format!("{m} only"),
            None => "all modes together".into(),
        };
        line += &format!("; per data channel {ms:.2} ms CPU ({whose}, the sessions' share in it)");
    }
    if let Some(c) = s.cpu_s_per_gib {
        line += &format!("; {c:.2} s CPU per GiB");
    }
    if !line.is_empty() {
        let _ = writeln!(out, "  {line}");
    }
    let span = |a: Option<u64>, b: Option<u64>, f: &dyn Fn(u64) -> String| {
        a.zip(b)
            .map(|(a, b)| format!("{} at start, {} at peak", f(a), f(b)))
    };
    let gauges: Vec<String> = [
        span(s.memory_start_bytes, s.memory_peak_bytes, &bytes).map(|t| format!("memory {t}")),
        span(s.processes_start, s.processes_peak, &|n| n.to_string())
            .map(|t| format!("processes {t}")),
        span(s.fds_start, s.fds_peak, &|n| n.to_string()).map(|t| format!("descriptors {t}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !gauges.is_empty() {
        let _ = writeln!(out, "  {}", gauges.join("; "));
    }
    if s.failed > 0 {
        let _ = writeln!(
            out,
            "  {} of {} samples failed: {}",
            s.failed,
            s.samples + s.failed,
            s.failure.as_deref().unwrap_or("?")
        );
    }
    out
}
