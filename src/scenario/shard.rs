//! One slice of a run: `--shard I/N` runs the I-th of N disjoint slices of
//! the scenario's population and arrivals, so N processes (on one machine or
//! many) together make exactly the one run, as k6's execution segments do.
//! A process here may open 20,000 files, so past about 19,000 sockets at
//! once a run needs several: that is what shards are for first.
//!
//! The slices interleave: client (or arrival) `k` of the whole run belongs
//! to shard `k mod N`. Every shard walks the whole plan (the ramp, the
//! groups' order, the modes, the seeded schedule) and keeps its own `k`s, so
//! each keeps the exact id, mode, start time and random draws it would have
//! had in the one run, and each shard ramps over the whole ramp. Nothing
//! here assumes the shards share a machine.

use std::fmt;

use serde::Serialize;

/// The I-th (1-based) of N slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parses "I/N", 1 ≤ I ≤ N.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("bad shard {s:?}: write I/N, the I-th of N slices, e.g. 1/4");
        let (i, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(format!(
                "bad shard {s:?}: I must be from 1 to N (here N is {count})"
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether client or arrival `k` (0-based, of the whole run) is this
    /// shard's.
    pub fn takes(&self, k: u64) -> bool {
        k % u64::from(self.count) == u64::from(self.index - 1)
    }

    /// How many of `0..n` are this shard's: its users of a group of `n`,
    /// its iterations of a run of `n`. The shards' shares add up to `n`.
    pub fn share(&self, n: u64) -> u64 {
        let (i, c) = (u64::from(self.index - 1), u64::from(self.count));
        (n + c - 1 - i) / c
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_disjoint_and_cover_the_run() {
        for n in [1u32, 2, 3, 7] {
            let shards: Vec<Shard> = (1..=n).map(|i| Shard { index: i, count: n }).collect();
            for k in 0..100u64 {
                assert_eq!(
                    shards.iter().filter(|s| s.takes(k)).count(),
                    1,
                    "{k} of {n}"
                );
            }
            for total in [0u64, 1, 5, 99, 1_000_000] {
                let shares: Vec<u64> = shards.iter().map(|s| s.share(total)).collect();
                assert_eq!(shares.iter().sum::<u64>(), total, "{total} over {n}");
                for s in &shards {
                    let counted = (0..total.min(1000)).filter(|&k| s.takes(k)).count() as u64;
                    if total <= 1000 {
                        assert_eq!(s.share(total), counted, "{s} of {total}");
                    }
                }
            }
        }
    }

    #[test]
    fn parses_i_of_n() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(Shard::parse(" 1 / 1 ").unwrap().to_string(), "1/1");
        for bad in ["0/4", "5/4", "1/0", "2", "a/b", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }
}
