//! What a person sees: a live progress line during the run, and afterwards a
//! table with one column per mode and each mode's overhead against passive.

pub mod channels;
mod groups;
pub mod stages;

use std::fmt::Write as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::driver::Tick;
use crate::metrics::Metric;
use crate::proto::Mode;
use crate::result::{ModeResult, RunResult};
use crate::scenario::Stop;

/// Progress on stderr: a bar on a terminal, a plain line every few seconds
/// otherwise (CI logs), nothing when quiet.
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    last_plain: Duration,
}

impl Progress {
    pub fn new(stop: Stop, quiet: bool) -> Progress {
        if quiet {
            return Progress {
                bar: None,
                plain: false,
                last_plain: Duration::ZERO,
            };
        }
        let term = std::io::IsTerminal::is_terminal(&std::io::stderr());
        if !term {
            return Progress {
                bar: None,
                plain: true,
                last_plain: Duration::ZERO,
            };
        }
        let (len, tmpl) = match stop {
            Stop::Duration(d) => (
                d.as_secs().max(1),
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len}s  {msg}",
            ),
            Stop::Iterations(n) => (
                n,
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} iterations  {msg}",
            ),
        };
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(tmpl).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress {
            bar: Some(bar),
            plain: false,
            last_plain: Duration::ZERO,
        }
    }

    pub fn tick(&mut self, t: &Tick, stop: Stop) {
        let c = &t.counters;
        let secs = t.elapsed.as_secs_f64().max(0.001);
        let msg = format!(
            "{} clients  {} sessions ({:.0}/s)  {} transfers ({:.0}/s)  {}  {} errors",
            t.clients_running,
            c.sessions,
            c.sessions as f64 / secs,
            c.transfers,
            c.transfers as f64 / secs,
            bytes(c.bytes_down + c.bytes_up),
            t.errors
        );
        if let Some(bar) = &self.bar {
            bar.set_position(match stop {
                Stop::Duration(_) => t.elapsed.as_secs(),
                Stop::Iterations(_) => c.iterations + c.iterations_failed,
            });
            bar.set_message(msg);
        } else if self.plain && t.elapsed >= self.last_plain + Duration::from_secs(5) {
            self.last_plain = t.elapsed;
            eprintln!("[{:>5.0}s] {msg}", t.elapsed.as_secs_f64());
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

pub fn micros(us: u64) -> String {
    match us {
        0..=999 => format!("{us}µs"),
        1_000..=999_999 => format!("{:.2}ms", us as f64 / 1e3),
        _ => format!("{:.2}s", us as f64 / 1e6),
    }
}

pub fn bytes(n: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < U.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

fn value(m: Metric, v: u64) -> String {
    match m {
        Metric::Throughput => format!("{}/s", bytes(v)),
        _ => micros(v),
    }
}

/// Relative change of `x` against `base`, as "+12%".
fn overhead(x: u64, base: u64) -> String {
    if base == 0 {
        return "-".into();
    }
    let pct = (x as f64 - base as f64) / base as f64 * 100.0;
    format!("{pct:+.0}%")
}

/// The end-of-run report: per metric, each mode's p50/p99 and, for modes
/// other than passive, the p50 overhead against passive.
pub fn render(r: &RunResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nftpload {} — {} target {}:{} — {:.1}s{}",
        r.scenario_name,
        r.target.kind,
        r.target.host,
        r.target.port,
        r.duration_s,
        if r.interrupted {
            " (INTERRUPTED: partial numbers)"
        } else {
            ""
        }
    );
    let modes: Vec<(&Mode, &ModeResult)> = r.modes.iter().collect();
    if modes.is_empty() {
        out.push_str("nothing was measured\n");
        return out;
    }
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
    out.push('\n');
    out.push_str(&align(&table));
    out.push_str(&channels::render(r));
    out.push_str(&groups::render(r));
    out.push_str(&stages::render(r, false));
    if let Some(g) = r.generator.as_ref().filter(|g| g.bottleneck) {
        let _ = writeln!(
            out,
            "\nWARNING: the load generator itself was a bottleneck ({}): these numbers describe it as much as the server; use more --workers, fewer clients or a lower rate",
            g.reasons.join("; ")
        );
    }
    if let Some(k) = &r.kernel {
        let _ = writeln!(
            out,
            "\nkernel (this host, over the run): listen overflows {}, listen drops {}, SYN cookies sent {}, retransmitted segments {}, failed connects {}, resets sent {}, TIME_WAIT at end {}",
            k.listen_overflows,
            k.listen_drops,
            k.syncookies_sent,
            k.retrans_segs,
            k.attempt_fails,
            k.out_rsts,
            k.time_wait_end
        );
        if k.listen_overflows + k.syncookies_sent > 0 {
            out.push_str("  the target's listen queue overflowed: clients may have connected and waited for a banner; spread connects with ramp_up\n");
        }
    }
    for (m, s) in &modes {
        if let Some(x) = &s.channels.exhaustion {
            // The rate in the second it happened, from the timeline.
            let rate = r
                .timeline
                .iter()
                .find(|i| f64::from(i.t_s) >= x.at_s)
                .and_then(|i| i.modes.get(m))
                .map(|v| {
                    format!(
                        ", {} sessions/s and {} transfers/s",
                        v.sessions, v.transfers
                    )
                })
                .unwrap_or_default();
            // A mode that never opened a data channel did not run out of
            // anything: something blocks it (a firewall, a route).
            let c = &s.counters;
            let head = if c.channels_opened == 0 && c.transfers_failed > 0 {
                "NO DATA CHANNEL EVER OPENED (blocked, not exhausted)"
            } else {
                "EXHAUSTION"
            };
            let _ = writeln!(
                out,
                "\n{head} ({m}): first at {:.1}s with {} clients running{rate}, {} channels pending and {} open: {}\n  evidence: {}",
                x.at_s, x.clients, x.pending, x.open, x.signature, x.evidence
            );
        }
    }
    let mut any = false;
    for (m, s) in &modes {
        for e in &s.errors {
            if !any {
                out.push_str("\nerrors by class:\n");
                any = true;
            }
            let _ = writeln!(
                out,
                "  {m:<8} {:>8}  {}{}",
                e.count,
                e.class,
                e.sample
                    .as_deref()
                    .map(|x| format!("  (e.g. {x})"))
                    .unwrap_or_default()
            );
        }
    }
    out
}

/// A metric's summary when the mode recorded any of it.
fn recorded(s: &ModeResult, m: Metric) -> Option<&crate::result::MetricResult> {
    s.metrics.get(&m).filter(|x| x.count > 0)
}

/// Left-aligns the first column and right-aligns the others, each as wide as
/// its widest cell.
fn align(table: &[Vec<String>]) -> String {
    let cols = table.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            table
                .iter()
                .filter_map(|r| r.get(c))
                .map(|x| x.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in table {
        for (c, cell) in row.iter().enumerate() {
            if c == 0 {
                let _ = write!(out, "{cell:<w$}", w = width[0]);
            } else {
                let _ = write!(out, "  {cell:>w$}", w = width[c]);
            }
        }
        out.push('\n');
    }
    out
}
