//! A few lines on the source addresses, when the run spread its clients
//! over several (`--source-ips`): how evenly, and which addresses failed,
//! at most [`LISTED`] of them by name, however many there are.

use std::fmt::Write as _;

use crate::result::sources::SourceResult;

/// Addresses with errors named one per line; the rest are counted.
const LISTED: usize = 5;

/// Empty with fewer than two source addresses.
pub fn render(s: &[SourceResult]) -> String {
    let (Some(first), Some(last)) = (s.first(), s.last()) else {
        return String::new();
    };
    if s.len() < 2 {
        return String::new();
    }
    let span = |f: fn(&SourceResult) -> u64| {
        let lo = s.iter().min_by_key(|x| f(x)).map_or(0, f);
        let hi = s.iter().max_by_key(|x| f(x)).map_or(0, f);
        let total: u64 = s.iter().map(f).sum();
        if lo == hi {
            format!("{lo} each ({total} in all)")
        } else {
            format!("{lo} to {hi} ({total} in all)")
        }
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nsource addresses: {} ({} .. {}): sessions per address {}, data channels {}",
        s.len(),
        first.address,
        last.address,
        span(|x| x.counts.sessions),
        span(|x| x.counts.channels_opened),
    );
    let failed: Vec<&SourceResult> = s.iter().filter(|x| x.counts.errors > 0).collect();
    if failed.is_empty() {
        let _ = writeln!(out, "  no errors from any address");
        return out;
    }
    let _ = writeln!(
        out,
        "  {} of {} addresses had errors:",
        failed.len(),
        s.len()
    );
    for x in failed.iter().take(LISTED) {
        let c = &x.counts;
        let _ = write!(
            out,
            "  {}: {} errors, {} sessions failed",
            x.address, c.errors, c.sessions_failed
        );
        match &c.exhaustion {
            Some(sig) => {
                let _ = writeln!(out, ", {} of them exhaustion: {sig}", c.exhausted);
            }
            None => out.push('\n'),
        }
    }
    if failed.len() > LISTED {
        let rest = &failed[LISTED..];
        let errors: u64 = rest.iter().map(|x| x.counts.errors).sum();
        let _ = writeln!(
            out,
            "  and {} more addresses with {errors} errors",
            rest.len()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::SourceCounts;

    fn result(n: u8, failing: u8) -> Vec<SourceResult> {
        (0..n)
            .map(|i| SourceResult {
                address: std::net::IpAddr::from([127, 0, 0, 2 + i]),
                counts: SourceCounts {
                    sessions: 2 + u64::from(i % 2),
                    channels_opened: 10,
                    errors: u64::from(i < failing) * 3,
                    sessions_failed: u64::from(i < failing),
                    exhausted: u64::from(i < failing),
                    exhaustion: (i < failing)
                        .then(|| "client: local ports exhausted (EADDRNOTAVAIL)".into()),
                },
            })
            .collect()
    }

    #[test]
    fn a_few_lines_however_many_addresses() {
        assert_eq!(render(&result(1, 1)), "");
        let text = render(&result(200, 0));
        assert_eq!(
            text,
            "\nsource addresses: 200 (127.0.0.2 .. 127.0.0.201): sessions per address 2 to 3 (500 in all), data channels 10 each (2000 in all)\n  no errors from any address\n"
        );
        let text = render(&result(200, 9));
        assert_eq!(text.lines().count(), 1 + 2 + LISTED + 1, "{text}");
        assert!(text.contains("  9 of 200 addresses had errors:"), "{text}");
        assert!(text.contains("  127.0.0.2: 3 errors, 1 sessions failed, 1 of them exhaustion: client: local ports exhausted (EADDRNOTAVAIL)"), "{text}");
        assert!(
            text.contains("  and 4 more addresses with 12 errors"),
            "{text}"
        );
    }
}
