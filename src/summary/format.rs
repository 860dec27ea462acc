//! How numbers are written for people, in one place: the summary, the
//! report and capacity's table all show a latency, a size or a change the
//! same way.

use std::fmt::Write as _;

use crate::metrics::Metric;

/// "740µs", "5.30ms", "1.20s".
pub fn micros(us: u64) -> String {
    match us {
        0..=999 => format!("{us}µs"),
        1_000..=999_999 => format!("{:.2}ms", us as f64 / 1e3),
        _ => format!("{:.2}s", us as f64 / 1e6),
    }
}

/// "512 B", "1.5 MiB".
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

pub fn value(m: Metric, v: u64) -> String {
    match m {
        Metric::Throughput => format!("{}/s", bytes(v)),
        _ => micros(v),
    }
}

/// Relative change of `x` against `base`, as "+12%".
/// `x` against `base` in the metric's unit and relatively: "+297µs (+82%)";
/// for throughput, higher is better, and the sign says which way it went.
pub fn delta(m: Metric, x: u64, base: u64) -> String {
    let (sign, d) = if x >= base {
        ('+', x - base)
    } else {
        ('-', base - x)
    };
    format!("{sign}{} ({})", value(m, d), overhead(x, base))
}

pub fn overhead(x: u64, base: u64) -> String {
    if base == 0 {
        return "-".into();
    }
    let pct = (x as f64 - base as f64) / base as f64 * 100.0;
    format!("{pct:+.0}%")
}

/// Left-aligns the first column and right-aligns the others, each as wide as
/// its widest cell.
pub fn align(table: &[Vec<String>]) -> String {
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
