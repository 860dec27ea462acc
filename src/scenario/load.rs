//! Open-loop load: an arrival rate that does not wait for the server, ramped
//! in stages, with arrivals spaced evenly or at random from one seed. Closed
//! loops alone understate latency under overload: a slow server slows the
//! generator, and the slow moments are never measured (coordinated omission).

use serde::{Deserialize, Deserializer, Serialize};
use std::time::Duration;

use super::units::HumanDuration;

/// Arrivals per second, written "50/s", "300/m", "7200/h" or a plain number (per second).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate(pub f64);

/// The most arrivals per second a plan may ask for. Far above what one
/// process can start (each arrival is a TCP session), and low enough that the
/// schedule's clock still advances: at 1e308/s, `t + 1/rate == t`, and the
/// executor would spawn waiting arrivals as fast as it can loop, its memory
/// growing with rate × max_wait (found by fuzzing the scenario loader).
pub const MAX_RATE: f64 = 1_000_000.0;

fn within_max(n: f64) -> Result<f64, String> {
    match n <= MAX_RATE {
        true => Ok(n),
        false => Err(format!(
            "a rate of {n}/s is above the most one process can offer ({MAX_RATE}/s)"
        )),
    }
}

pub fn parse_rate(s: &str) -> Result<f64, String> {
    let bad =
        || format!("bad rate {s:?}: write arrivals per time, e.g. \"50/s\", \"300/m\", \"7200/h\"");
    let (n, per) = s.trim().split_once('/').unwrap_or((s.trim(), "s"));
    let n: f64 = n.trim().parse().map_err(|_| bad())?;
    let secs = match per.trim() {
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(bad()),
    };
    if !(n.is_finite() && n >= 0.0) {
        return Err(bad());
    }
    within_max(n / secs)
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(f64),
            S(String),
        }
        match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom("expected a rate like \"50/s\" or a number per second")
        })? {
            Raw::N(n) if n >= 0.0 && n.is_finite() => {
                within_max(n).map(Rate).map_err(serde::de::Error::custom)
            }
            Raw::N(n) => Err(serde::de::Error::custom(format!("bad rate {n}"))),
            Raw::S(s) => parse_rate(&s).map(Rate).map_err(serde::de::Error::custom),
        }
    }
}

/// How arrivals are spaced at a given rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrival {
    /// Evenly, 1/rate apart, as wrk2 does.
    #[default]
    Uniform,
    /// At random (exponential gaps), as independent users arrive.
    Poisson,
}

/// One `[[run.stages]]` entry: a rate (open loop) or a number of users
/// (closed loop) to reach by the end of `duration`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSection {
    pub duration: HumanDuration,
    pub rate: Option<Rate>,
    pub users: Option<u32>,
}

/// One stage: the rate moves linearly to `rate` over `duration`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stage {
    #[serde(serialize_with = "super::plan::ser_duration")]
    pub duration: Duration,
    /// Arrivals per second at the end of the stage.
    pub rate: f64,
}

/// An open-loop plan: arrivals per second over time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenLoop {
    /// Arrivals per second at the start (and after the last stage).
    pub rate: f64,
    pub stages: Vec<Stage>,
    pub arrival: Arrival,
    /// An arrival that finds every client of its group busy waits at most
    /// this long for one (and is counted late), then is dropped and counted.
    #[serde(serialize_with = "super::plan::ser_duration")]
    pub max_wait: Duration,
}

impl OpenLoop {
    /// Arrivals per second `t` seconds into the run.
    pub fn rate_at(&self, t: f64) -> f64 {
        let mut from = self.rate;
        let mut start = 0.0;
        for s in &self.stages {
            let d = s.duration.as_secs_f64();
            if t < start + d {
                return from + (s.rate - from) * (t - start) / d;
            }
            start += d;
            from = s.rate;
        }
        from
    }

    /// The length of all stages together.
    pub fn stages_duration(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }
}

/// One closed-loop stage: the number of users running moves linearly to
/// `users` over `duration`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UserStage {
    #[serde(serialize_with = "super::plan::ser_duration")]
    pub duration: Duration,
    pub users: u32,
}

/// Closed loop in stages, as k6's ramping VUs: from no users, each stage
/// moves the count of clients running linearly to its target; a client
/// above the count finishes its iteration, quits and waits, and one below
/// it starts again. After the last stage the count holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct UserStages(pub Vec<UserStage>);

impl UserStages {
    /// Users that should be running `t` seconds into the run.
    pub fn users_at(&self, t: f64) -> f64 {
        let mut from = 0.0;
        let mut start = 0.0;
        for s in &self.0 {
            let (d, to) = (s.duration.as_secs_f64(), f64::from(s.users));
            if t < start + d {
                return from + (to - from) * (t - start) / d;
            }
            start += d;
            from = to;
        }
        from
    }

    /// The first moment at or after `t` when at least `n` users should run,
    /// or `None` if that never comes again.
    pub fn when_at_least(&self, n: f64, t: f64) -> Option<f64> {
        if self.users_at(t) >= n {
            return Some(t);
        }
        let mut from = 0.0;
        let mut start = 0.0;
        for s in &self.0 {
            let (d, to) = (s.duration.as_secs_f64(), f64::from(s.users));
            let end = start + d;
            // Only a rising segment crosses `n` from below.
            if end > t && to >= n && to > from {
                let at = start + (n - from) / (to - from) * d;
                if at >= t {
                    return Some(at.min(end));
                }
            }
            start = end;
            from = to;
        }
        None
    }

    /// The most users any stage asks for: the clients to make.
    pub fn max_users(&self) -> u32 {
        self.0.iter().map(|s| s.users).max().unwrap_or(0)
    }

    pub fn duration(&self) -> Duration {
        self.0.iter().map(|s| s.duration).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_stages() {
        assert_eq!(parse_rate("50/s").unwrap(), 50.0);
        assert_eq!(parse_rate("300/m").unwrap(), 5.0);
        assert_eq!(parse_rate("12").unwrap(), 12.0);
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("5/fortnight").is_err());
        let ol = OpenLoop {
            rate: 0.0,
            stages: vec![
                Stage {
                    duration: Duration::from_secs(10),
                    rate: 100.0,
                },
                Stage {
                    duration: Duration::from_secs(10),
                    rate: 100.0,
                },
            ],
            arrival: Arrival::Uniform,
            max_wait: Duration::from_secs(1),
        };
        assert_eq!(ol.rate_at(5.0), 50.0);
        assert_eq!(ol.rate_at(15.0), 100.0);
        assert_eq!(ol.rate_at(99.0), 100.0);
        assert_eq!(ol.stages_duration(), Duration::from_secs(20));
    }

    #[test]
    fn user_stages_ramp_hold_and_fall() {
        let st = |secs, users| UserStage {
            duration: Duration::from_secs(secs),
            users,
        };
        let s = UserStages(vec![st(10, 10), st(10, 10), st(10, 0), st(10, 20)]);
        assert_eq!(s.users_at(0.0), 0.0);
        assert_eq!(s.users_at(5.0), 5.0);
        assert_eq!(s.users_at(15.0), 10.0);
        assert_eq!(s.users_at(25.0), 5.0);
        assert_eq!(s.users_at(35.0), 10.0);
        assert_eq!(s.users_at(99.0), 20.0);
        // The 3rd user is wanted from 3 s; after the fall, again from 31.5 s.
        assert_eq!(s.when_at_least(3.0, 0.0), Some(3.0));
        assert_eq!(s.when_at_least(3.0, 4.0), Some(4.0));
        assert_eq!(s.when_at_least(3.0, 28.0), Some(31.5));
        assert_eq!(s.when_at_least(21.0, 0.0), None);
        assert_eq!(s.max_users(), 20);
        assert_eq!(s.duration(), Duration::from_secs(40));
    }
}
