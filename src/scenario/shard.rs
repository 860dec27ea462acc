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

/// `--shard`: a slice given, or `auto`, read from the engine that started
/// the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardArg {
    Given(Shard),
    Auto,
}

impl ShardArg {
    /// "I/N", or "auto".
    pub fn parse(s: &str) -> Result<ShardArg, String> {
        if s.trim().eq_ignore_ascii_case("auto") {
            return Ok(ShardArg::Auto);
        }
        Shard::parse(s).map(ShardArg::Given)
    }

    /// The slice: as given, or from the environment `env` reads (a Slurm
    /// job array's task, a Kubernetes Indexed Job's completion index with
    /// `count` from `--shard-count`). An engine's variables that are
    /// present but wrong are an error naming them, never a guess.
    pub fn resolve(
        self,
        count: Option<u32>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Shard, String> {
        if let ShardArg::Given(s) = self {
            return match count {
                Some(c) if c != s.count => Err(format!(
                    "--shard {s} cuts the run into {} but --shard-count says {c}",
                    s.count
                )),
                _ => Ok(s),
            };
        }
        let num = |var: &str| -> Result<Option<u64>, String> {
            match env(var) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("--shard auto: {var}={v:?} is not a number")),
            }
        };
        let slice = |index: u64, n: u64, from: &str| -> Result<Shard, String> {
            let shard = u32::try_from(index)
                .ok()
                .zip(u32::try_from(n).ok())
                .map(|(index, count)| Shard { index, count })
                .filter(|s| s.count > 0 && s.index >= 1 && s.index <= s.count);
            shard.ok_or_else(|| {
                format!("--shard auto: {from} make shard {index} of {n}, not one from 1 to N")
            })
        };
        if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
            let n = num("SLURM_ARRAY_TASK_COUNT")?.ok_or(
                "--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not",
            )?;
            let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            if let Some(c) = count.filter(|c| u64::from(*c) != n) {
                return Err(format!("--shard-count {c}, but the Slurm job array has {n} tasks (SLURM_ARRAY_TASK_COUNT)"));
            }
            let index = id.checked_sub(min).map(|i| i + 1).unwrap_or(0);
            return slice(index, n, "SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_MIN");
        }
        if let Some(i) = num("JOB_COMPLETION_INDEX")? {
            let n = count.ok_or("--shard auto: a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) does not say how many shards there are: give --shard-count N, the Job's completions")?;
            return slice(
                i + 1,
                u64::from(n),
                "JOB_COMPLETION_INDEX and --shard-count",
            );
        }
        Err("--shard auto: neither a Slurm job array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) nor a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) in the environment: give --shard I/N".into())
    }
}

/// The furthest ahead `--start-at` may hold a run: a typo'd date must not
/// park a job for a year.
pub const MAX_HOLD: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// `--start-at`: an RFC 3339 instant (UTC, `Z`), or `+DURATION` from `now`.
/// Shards on a cluster get the same absolute instant (computed once, when
/// the job is submitted); `+30s` suits one machine, and `--local-shards`
/// turns it into one instant for all its shards.
pub fn parse_start_at(
    s: &str,
    now: std::time::SystemTime,
) -> Result<std::time::SystemTime, String> {
    let s = s.trim();
    let at = match s.strip_prefix('+') {
        Some(d) => {
            now + humantime::parse_duration(d).map_err(|e| format!("--start-at {s:?}: {e}"))?
        }
        None => humantime::parse_rfc3339_weak(s).map_err(|e| {
            format!(
                "--start-at {s:?}: {e} (write an RFC 3339 UTC time, 2026-11-26T14:00:00Z, or +30s)"
            )
        })?,
    };
    if at.duration_since(now).is_ok_and(|d| d > MAX_HOLD) {
        return Err(format!("--start-at {s:?} is more than 24 hours away"));
    }
    Ok(at)
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn start_at_is_an_instant_or_a_delay_and_never_a_day_away() {
        let now = humantime::parse_rfc3339("2026-11-26T12:00:00Z").unwrap();
        let at = |s| parse_start_at(s, now);
        assert_eq!(
            at("+30s").unwrap(),
            now + std::time::Duration::from_secs(30)
        );
        assert_eq!(
            at("2026-11-26T12:05:00Z").unwrap(),
            now + std::time::Duration::from_secs(300)
        );
        // In the past is allowed: the shard says it was late and starts.
        assert!(at("2026-11-26T11:00:00Z").is_ok());
        assert!(at("2026-11-28T12:00:00Z").unwrap_err().contains("24 hours"));
        assert!(at("noon").unwrap_err().contains("RFC 3339"));
        assert!(at("+soon").is_err());
    }

    #[test]
    fn auto_reads_slurm_arrays_and_kubernetes_indexed_jobs() {
        let auto = ShardArg::parse("auto").unwrap();
        // sbatch --array=1-4: task 3 of 4; --array=0-3: task 2 is the third.
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ];
        let want = Shard { index: 3, count: 4 };
        assert_eq!(auto.resolve(None, env(&slurm)), Ok(want));
        let zero = [
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
        ];
        assert_eq!(auto.resolve(None, env(&zero)), Ok(want));
        assert!(auto
            .resolve(Some(5), env(&slurm))
            .unwrap_err()
            .contains("has 4 tasks"));
        let k8s = [("JOB_COMPLETION_INDEX", "0")];
        assert_eq!(
            auto.resolve(Some(4), env(&k8s)),
            Ok(Shard { index: 1, count: 4 })
        );
        assert!(auto
            .resolve(None, env(&k8s))
            .unwrap_err()
            .contains("--shard-count"));
        assert!(auto
            .resolve(Some(4), env(&[("JOB_COMPLETION_INDEX", "4")]))
            .is_err());
        let none = auto.resolve(Some(4), env(&[])).unwrap_err();
        assert!(none.contains("neither a Slurm job array"), "{none}");
        assert!(auto
            .resolve(None, env(&[("SLURM_ARRAY_TASK_ID", "x")]))
            .unwrap_err()
            .contains("not a number"));
        let given = ShardArg::parse("2/3").unwrap();
        assert_eq!(
            given.resolve(None, env(&slurm)),
            Ok(Shard { index: 2, count: 3 })
        );
    }

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
