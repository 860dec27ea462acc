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
    Ok(n / secs)
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
            Raw::N(n) if n >= 0.0 && n.is_finite() => Ok(Rate(n)),
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSection {
    pub duration: HumanDuration,
    pub rate: Rate,
}

/// One stage: the rate moves linearly to `rate` over `duration`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stage {
    #[serde(serialize_with = "super::ser_duration")]
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
    #[serde(serialize_with = "super::ser_duration")]
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
}
