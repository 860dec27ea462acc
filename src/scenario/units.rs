//! Sizes and durations as people write them in scenario files ("1 MiB", "30s").

use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// Parses "1024", "1KiB", "1 MiB", "100MB", "2G". Binary units (KiB) are
/// powers of 1024, decimal ones (KB, K) powers of 1000, as on disk labels.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| {
        format!("bad size {s:?}: expected a number of bytes, e.g. 1024, \"1KiB\", \"10 MB\"")
    })?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        other => {
            return Err(format!(
                "bad size {s:?}: unknown unit {other:?} (use B, KB, KiB, MB, MiB, GB, GiB)"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} is too large"))
}

/// A size written back as a person would write it: the largest binary unit
/// it is a whole multiple of ("64KiB", "1MiB"), else bytes. [`parse_size`]
/// reads it back to the same number, so an operation is named as written.
pub struct SizeText(pub u64);

impl std::fmt::Display for SizeText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0;
        for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
            if n > 0 && n.is_multiple_of(1u64 << shift) {
                return write!(f, "{}{unit}", n >> shift);
            }
        }
        write!(f, "{n}")
    }
}

/// Parses a bandwidth into bytes per second: bits as lines are sold
/// ("28.8kbit/s", "1Mbit/s", "1 Gbit/s", decimal) or bytes ("100KiB/s",
/// "2MB/s"). dkftpbench's classic user is 28.8 kbit/s.
pub fn parse_bandwidth(s: &str) -> Result<u64, String> {
    let bad =
        || format!("bad bandwidth {s:?}: write e.g. \"28.8kbit/s\", \"1Mbit/s\", \"100KiB/s\"");
    let t = s.trim();
    let unit_at = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(bad)?;
    let (num, unit) = t.split_at(unit_at);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let per_s: f64 = match unit.trim() {
        "bit/s" | "bps" => 1.0 / 8.0,
        "kbit/s" | "kbps" => 1e3 / 8.0,
        "Mbit/s" | "Mbps" => 1e6 / 8.0,
        "Gbit/s" | "Gbps" => 1e9 / 8.0,
        "B/s" => 1.0,
        "KB/s" | "kB/s" => 1e3,
        "KiB/s" => 1024.0,
        "MB/s" => 1e6,
        "MiB/s" => 1024.0 * 1024.0,
        _ => return Err(bad()),
    };
    let v = n * per_s;
    if !(v.is_finite() && v >= 1.0) {
        return Err(bad());
    }
    Ok(v.round() as u64)
}

/// A bandwidth in a scenario, in bytes per second once parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bandwidth(pub u64);

impl<'de> Deserialize<'de> for Bandwidth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_bandwidth(&s)
            .map(Bandwidth)
            .map_err(serde::de::Error::custom)
    }
}

/// The longest duration a scenario or a flag may give (100 years as
/// humantime counts them, so `"100y"` itself is fine): far beyond any run,
/// and far enough below what the clock can count that the run may add and
/// multiply durations (a deadline from now, think time up to 20 means, the
/// stages' sum) without overflow. Above it is surely a typo; unchecked,
/// `duration = "580000000000y"` made `run` panic when it set its deadline.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 31_557_600);

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if s.trim().starts_with('-') {
        return Err(format!(
            "bad duration {s:?}: a duration cannot be negative (write e.g. \"500ms\", \"30s\", \"2m\")"
        ));
    }
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("bad duration {s:?}: {e} (write e.g. \"500ms\", \"30s\", \"2m\")"))?;
    if d > MAX_DURATION {
        return Err(format!("bad duration {s:?}: at most 100 years"));
    }
    Ok(d)
}

/// A duration a run must have some of (`--duration`): above zero.
pub fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err(format!("bad duration {s:?}: it must be above zero")),
        d => Ok(d),
    }
}

/// A size in a scenario: a plain integer of bytes or a string with a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "expected a size: bytes as an integer, or a string like \"1KiB\"",
            )
        })? {
            Raw::N(n) => Ok(Size(n)),
            Raw::S(s) => parse_size(&s).map(Size).map_err(serde::de::Error::custom),
        }
    }
}

/// A duration in a scenario, written as humantime: "30s", "1m 30s", "250ms".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s)
            .map(HumanDuration)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_are_neither_negative_nor_zero_where_a_run_needs_one() {
        assert!(parse_duration("-1s")
            .unwrap_err()
            .contains("cannot be negative"));
        assert_eq!(parse_duration("0s").unwrap(), std::time::Duration::ZERO);
        assert!(parse_positive_duration("0s")
            .unwrap_err()
            .contains("above zero"));
        assert_eq!(
            parse_positive_duration("1500ms").unwrap(),
            std::time::Duration::from_millis(1500)
        );
    }

    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert_eq!(parse_size("1KiB").unwrap(), 1024);
        assert_eq!(parse_size("1 MiB").unwrap(), 1 << 20);
        assert_eq!(parse_size("100mb").unwrap(), 100_000_000);
        assert!(parse_size("1 parsec").is_err());
        assert!(parse_size("x").is_err());
        assert!(parse_size("99999999999 GiB").is_err());
    }

    #[test]
    fn bandwidths() {
        assert_eq!(parse_bandwidth("28.8kbit/s").unwrap(), 3600);
        assert_eq!(parse_bandwidth("1Mbit/s").unwrap(), 125_000);
        assert_eq!(parse_bandwidth("100KiB/s").unwrap(), 102_400);
        assert!(parse_bandwidth("fast").is_err());
        assert!(parse_bandwidth("1 furlong/s").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1m 30s").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("soon").is_err());
    }

    /// Found by tests/fuzz (scenario::mutated_scenarios): a duration near
    /// u64::MAX seconds was accepted, and `run` panicked adding it to now.
    #[test]
    fn durations_past_a_century_are_refused() {
        assert_eq!(parse_duration("100y").unwrap(), MAX_DURATION);
        for s in ["18446744073709551615s", "580000000000y", "101y", "100y 1s"] {
            let e = parse_duration(s).unwrap_err();
            assert_eq!(e, format!("bad duration {s:?}: at most 100 years"));
        }
        assert!(parse_positive_duration("580000000000y").is_err());
        // What the run does with the longest accepted: no overflow.
        let now = std::time::Instant::now();
        assert!(now.checked_add(MAX_DURATION.mul_f64(20.0)).is_some());
    }
}
