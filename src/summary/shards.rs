//! A merged sharded run's shards, one line each, and the one that stands
//! out said in words: the merged figures are the whole run's, and a shard
//! on a slow node (fewer sessions), started late, or whose generator was
//! the limit would otherwise be averaged away.

use std::fmt::Write as _;

use crate::result::shards::ShardFigures;

/// Shards listed one per line up to this many; past it, only those that
/// stand out.
const MAX_ROWS: usize = 16;
/// A shard that ran fewer sessions than this share of the median shard's
/// stands out.
const FEW_SESSIONS: f64 = 0.8;

/// The shards block, empty unless two or more shards were merged.
pub fn render(shards: &[ShardFigures]) -> String {
    let mut out = String::new();
    if shards.len() < 2 {
        return out;
    }
    let flags: Vec<Vec<String>> = shards.iter().map(|s| flags(s, shards)).collect();
    let mut hosts: Vec<&str> = shards.iter().map(|s| s.host.as_str()).collect();
    hosts.sort_unstable();
    hosts.dedup();
    let _ = writeln!(
        out,
        "\nshards: {} merged, on {} host{}",
        shards.len(),
        hosts.len(),
        if hosts.len() == 1 { "" } else { "s" }
    );
    let width = shards
        .iter()
        .map(|s| s.host.len())
        .max()
        .unwrap_or(0)
        .max(4);
    let _ = writeln!(
        out,
        "  {:<7} {:<width$} {:>9} {:>7} {:>11} {:>15}",
        "shard", "host", "sessions", "errors", "start skew", "generator CPU"
    );
    let all = shards.len() <= MAX_ROWS;
    for (s, f) in shards.iter().zip(&flags) {
        if !all && f.is_empty() {
            continue;
        }
        let skew = s
            .skew_ms
            .map_or_else(|| "-".to_string(), |ms| format!("{ms:.2} ms"));
        let cpu = format!(
            "{:.2} s ({:.0}%)",
            s.generator_cpu_s,
            s.generator_cpu_utilisation * 100.0
        );
        let _ = writeln!(
            out,
            "  {:<7} {:<width$} {:>9} {:>7} {:>11} {:>15}",
            format!("{}/{}", s.index, s.count),
            s.host,
            s.sessions + s.sessions_failed,
            s.errors,
            skew,
            cpu
        );
    }
    if !all {
        let _ = writeln!(
            out,
            "  ({} shards: only those that stand out are listed)",
            shards.len()
        );
    }
    for (s, f) in shards.iter().zip(&flags) {
        if !f.is_empty() {
            let _ = writeln!(
                out,
                "  shard {}/{} on {}: {}",
                s.index,
                s.count,
                s.host,
                f.join("; ")
            );
        }
    }
    out
}

/// What makes `s` stand out among `all`, in words.
fn flags(s: &ShardFigures, all: &[ShardFigures]) -> Vec<String> {
    let mut f = Vec::new();
    let sessions = |s: &ShardFigures| s.sessions + s.sessions_failed;
    let typical = median(all.iter().map(sessions).collect());
    if typical > 0 && (sessions(s) as f64) < FEW_SESSIONS * typical as f64 {
        f.push(format!(
            "{} sessions, {:.0}% fewer than the median shard's {typical} (a slower or busier node?)",
            sessions(s),
            (1.0 - sessions(s) as f64 / typical as f64) * 100.0
        ));
    }
    let errors = median(all.iter().map(|s| s.errors).collect());
    if s.errors > 0 && errors == 0 {
        f.push(format!(
            "{} errors where the median shard had none",
            s.errors
        ));
    }
    if s.late {
        f.push("ready after --start-at, so it started late, alone".into());
    }
    if s.generator_bottleneck {
        f.push("its generator was the bottleneck (see its own result)".into());
    }
    f
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(index: u32, sessions: u64, errors: u64) -> ShardFigures {
        ShardFigures {
            index,
            count: 4,
            host: format!("node{}", index),
            started_at: String::new(),
            ended_at: String::new(),
            skew_ms: Some(0.5),
            late: index == 4,
            sessions,
            sessions_failed: 0,
            iterations: sessions,
            iterations_failed: 0,
            transfers: 0,
            errors,
            generator_cpu_s: 1.0,
            generator_cpu_utilisation: 0.1,
            generator_bottleneck: false,
            generator_peak_bytes: 0,
        }
    }

    #[test]
    fn the_shard_that_stands_out_is_named() {
        let s = [
            shard(1, 250, 0),
            shard(2, 100, 3),
            shard(3, 248, 0),
            shard(4, 249, 0),
        ];
        let text = render(&s);
        assert!(text.contains("shards: 4 merged, on 4 hosts"), "{text}");
        assert!(
            text.contains(
                "shard 2/4 on node2: 100 sessions, 60% fewer than the median shard's 249"
            ),
            "{text}"
        );
        assert!(
            text.contains("3 errors where the median shard had none"),
            "{text}"
        );
        assert!(
            text.contains("shard 4/4 on node4: ready after --start-at"),
            "{text}"
        );
        assert!(!text.contains("shard 1/4 on"), "{text}");
        assert_eq!(render(&s[..1]), "", "one shard is no comparison");
    }
}
