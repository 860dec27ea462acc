//! The end-of-run table: one column per mode, a row per metric with its p50
//! and p99 and, for modes other than passive, the p50 overhead against
//! passive; then the counters that say what happened (sessions, transfers,
//! data channels, ports, errors).

use std::collections::{BTreeMap, BTreeSet};

use super::format::{align, bytes, delta, micros, value};
use crate::metrics::Metric;
use crate::proto::Mode;
use crate::result::{MetricResult, ModeResult, RunResult};

/// The table, aligned; `r` has at least one mode.
pub(super) fn render(r: &RunResult) -> String {
    let modes: Vec<(&Mode, &ModeResult)> = r.modes.iter().collect();
    let base = r.modes.get(&Mode::Passive);
    // Each mode but passive also gets its overhead against passive, at p50
    // and p99, absolute and relative: what active mode costs, at a glance.
    let against: Vec<&Mode> = match base {
        Some(_) => modes
            .iter()
            .map(|(m, _)| *m)
            .filter(|m| **m != Mode::Passive)
            .collect(),
        None => Vec::new(),
    };
    let mut header = vec!["p50 / p99".to_string()];
    header.extend(modes.iter().map(|(m, _)| m.to_string()));
    header.extend(against.iter().map(|m| format!("{m} vs passive")));
    let mut table = vec![header];
    // In closed loop an iteration starts when intended: the corrected time
    // would only repeat `iteration`.
    let open_loop = !r.scenario["open_loop"].is_null();
    for metric in Metric::ALL {
        if metric == Metric::IterationCorrected && !open_loop {
            continue;
        }
        let row = metric_row(metric.as_str(), metric, &modes, &against, |s| {
            recorded(&s.metrics, metric)
        });
        table.extend(row);
    }
    // One row per operation for what differs by operation: a kilobyte and a
    // megabyte in one transfer histogram describe neither.
    let ops: BTreeSet<&String> = modes
        .iter()
        .flat_map(|(_, s)| s.operations.keys())
        .collect();
    for op in ops {
        for metric in [Metric::Transfer, Metric::Throughput] {
            let name = format!("{op}: {}", metric.as_str());
            table.extend(metric_row(&name, metric, &modes, &against, |s| {
                s.operations.get(op).and_then(|m| recorded(m, metric))
            }));
        }
    }
    // A counter row whose every cell says nothing ("-", "0 of 0") is left
    // out: a run with no active mode has no connect-back source ports.
    let counter_row = |name: &str, f: &dyn Fn(&ModeResult) -> String| {
        let mut row = vec![name.to_string()];
        row.extend(modes.iter().map(|(_, s)| f(s)));
        let empty = row[1..].iter().all(|c| c == "-" || c == "0 of 0");
        (!empty).then_some(row)
    };
    let secs = r.duration_s.max(1e-3);
    let rate = |n: u64| format!("{:.1}", n as f64 / secs);
    let ok_failed = |ok: u64, failed: u64| format!("{ok} ok, {failed} failed");
    table.extend(counter_row("sessions", &|s| {
        ok_failed(s.counters.sessions, s.counters.sessions_failed)
    }));
    table.extend(counter_row("logins/s", &|s| rate(s.counters.sessions)));
    table.extend(counter_row("transfers/s", &|s| rate(s.counters.transfers)));
    table.extend(counter_row("iterations", &|s| {
        ok_failed(s.counters.iterations, s.counters.iterations_failed)
    }));
    table.extend(counter_row("transfers", &|s| {
        ok_failed(s.counters.transfers, s.counters.transfers_failed)
    }));
    table.extend(counter_row("bytes down/up", &|s| {
        format!(
            "{} / {}",
            bytes(s.counters.bytes_down),
            bytes(s.counters.bytes_up)
        )
    }));
    table.extend(counter_row("active from :20", &|s| {
        format!(
            "{} of {}",
            s.counters.active_from_port_20,
            s.counters.active_from_port_20 + s.counters.active_from_other_port
        )
    }));
    table.extend(counter_row("channels peak", &|s| {
        format!(
            "{} pending, {} open",
            s.channels.peak_pending, s.channels.peak_open
        )
    }));
    table.extend(counter_row("server ports", &|s| match (
        s.channels.server_port_min,
        s.channels.server_port_max,
    ) {
        (Some(a), Some(b)) => format!("{} in {a}-{b}", s.channels.distinct_server_ports),
        _ => "-".into(),
    }));
    table.extend(counter_row("port reuse p50", &|s| {
        let r = &s.channels.reuse_interval;
        if r.count == 0 {
            "-".into()
        } else {
            micros(r.p50)
        }
    }));
    table.extend(counter_row(
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
    table.extend(counter_row("outside range", &|s| {
        s.channels.outside_declared_range.to_string()
    }));
    table.extend(counter_row("227 mismatch", &|s| {
        s.counters.pasv_address_mismatch.to_string()
    }));
    // FTPS: what the handshakes negotiated, and whether data channels
    // resumed their control connection's session (vsftpd requires it).
    table.extend(counter_row("tls", &|s| match &s.tls {
        Some(t) => t
            .negotiated
            .iter()
            .max_by_key(|(_, n)| **n)
            .map_or("-".into(), |(name, _)| name.clone()),
        None => "-".into(),
    }));
    table.extend(counter_row("data tls resumed", &|s| match &s.tls {
        Some(t) => format!("{} of {}", t.data_resumed, t.data_handshakes),
        None => "-".into(),
    }));
    table.extend(counter_row("errors", &|s| s.error_count().to_string()));
    align(&table)
}

/// A metric's summary when the mode recorded any of it.
fn recorded(metrics: &BTreeMap<Metric, MetricResult>, m: Metric) -> Option<&MetricResult> {
    metrics.get(&m).filter(|x| x.count > 0)
}

/// One row: each mode's p50 / p99 of what `pick` finds, then each mode's
/// change against passive. None when no mode recorded any of it.
fn metric_row<'a>(
    name: &str,
    metric: Metric,
    modes: &[(&Mode, &'a ModeResult)],
    against: &[&Mode],
    pick: impl Fn(&'a ModeResult) -> Option<&'a MetricResult>,
) -> Option<Vec<String>> {
    let found: Vec<Option<&MetricResult>> = modes.iter().map(|(_, s)| pick(s)).collect();
    if found.iter().all(Option::is_none) {
        return None;
    }
    let mut row = vec![name.to_string()];
    for x in &found {
        row.push(match x {
            Some(x) => format!("{} / {}", value(metric, x.p50), value(metric, x.p99)),
            None => "-".into(),
        });
    }
    let of = |m: &Mode| {
        modes
            .iter()
            .position(|(k, _)| *k == m)
            .and_then(|i| found[i])
    };
    for m in against {
        row.push(match (of(m), of(&Mode::Passive)) {
            (Some(x), Some(b)) => format!(
                "{} / {}",
                delta(metric, x.p50, b.p50),
                delta(metric, x.p99, b.p99)
            ),
            _ => "-".into(),
        });
    }
    Some(row)
}
