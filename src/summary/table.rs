//! The end-of-run table: one column per mode, a row per metric with its p50
//! and p99 and, for modes other than passive, the p50 overhead against
//! passive; then the counters that say what happened (sessions, transfers,
//! data channels, ports, errors).

use std::fmt::Write as _;

use super::format::{align, bytes, micros, overhead, value};
use crate::metrics::Metric;
use crate::proto::Mode;
use crate::result::{MetricResult, ModeResult, RunResult};

/// The table, aligned; `r` has at least one mode.
pub(super) fn render(r: &RunResult) -> String {
    let modes: Vec<(&Mode, &ModeResult)> = r.modes.iter().collect();
    let base = r.modes.get(&Mode::Passive);
    let mut header = vec!["p50 / p99".to_string()];
    for (m, _) in &modes {
        header.push(if **m != Mode::Passive && base.is_some() {
            format!("{m} (p50 vs passive)")
        } else {
            m.to_string()
        });
    }
    let mut table = vec![header];
    for metric in Metric::ALL {
        // A metric no mode recorded (schedule_lag in closed loop, or a
        // result written before the metric existed) gets no row.
        if modes.iter().all(|(_, s)| recorded(s, metric).is_none()) {
            continue;
        }
        let mut row = vec![metric.as_str().to_string()];
        for (m, s) in &modes {
            let Some(x) = recorded(s, metric) else {
                row.push("-".into());
                continue;
            };
            let mut cell = format!("{} / {}", value(metric, x.p50), value(metric, x.p99));
            if let (Some(b), true) = (
                base.and_then(|b| b.metrics.get(&metric)),
                **m != Mode::Passive,
            ) {
                // For throughput higher is better; the sign tells which way it went.
                let _ = write!(cell, " ({})", overhead(x.p50, b.p50));
            }
            row.push(cell);
        }
        table.push(row);
    }
    table.push(vec![String::new()]);
    let counter_row = |name: &str, f: &dyn Fn(&ModeResult) -> String| {
        let mut row = vec![name.to_string()];
        row.extend(modes.iter().map(|(_, s)| f(s)));
        row
    };
    let ok_failed = |ok: u64, failed: u64| format!("{ok} ok, {failed} failed");
    table.push(counter_row("sessions", &|s| {
        ok_failed(s.counters.sessions, s.counters.sessions_failed)
    }));
    table.push(counter_row("iterations", &|s| {
        ok_failed(s.counters.iterations, s.counters.iterations_failed)
    }));
    table.push(counter_row("transfers", &|s| {
        ok_failed(s.counters.transfers, s.counters.transfers_failed)
    }));
    table.push(counter_row("bytes down/up", &|s| {
        format!(
            "{} / {}",
            bytes(s.counters.bytes_down),
            bytes(s.counters.bytes_up)
        )
    }));
    table.push(counter_row("active from :20", &|s| {
        format!(
            "{} of {}",
            s.counters.active_from_port_20,
            s.counters.active_from_port_20 + s.counters.active_from_other_port
        )
    }));
    table.push(counter_row("channels peak", &|s| {
        format!(
            "{} pending, {} open",
            s.channels.peak_pending, s.channels.peak_open
        )
    }));
    table.push(counter_row("server ports", &|s| match (
        s.channels.server_port_min,
        s.channels.server_port_max,
    ) {
        (Some(a), Some(b)) => format!("{} in {a}-{b}", s.channels.distinct_server_ports),
        _ => "-".into(),
    }));
    table.push(counter_row("port reuse p50", &|s| {
        let r = &s.channels.reuse_interval;
        if r.count == 0 {
            "-".into()
        } else {
            micros(r.p50)
        }
    }));
    table.push(counter_row(
        "range use peak",
        &|s| match s.channels.peak_range_utilisation {
            Some(u) => format!(
                "{:.0}% of {}",
                u * 100.0,
                s.channels.declared_range.map(|r| r.size()).unwrap_or(0)
            ),
            None => "-".into(),
        },
    ));
    table.push(counter_row("outside range", &|s| {
        s.channels.outside_declared_range.to_string()
    }));
    table.push(counter_row("227 mismatch", &|s| {
        s.counters.pasv_address_mismatch.to_string()
    }));
    table.push(counter_row("errors", &|s| s.error_count().to_string()));
    align(&table)
}

/// A metric's summary when the mode recorded any of it.
fn recorded(s: &ModeResult, m: Metric) -> Option<&MetricResult> {
    s.metrics.get(&m).filter(|x| x.count > 0)
}
