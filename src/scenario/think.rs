//! Think time: a pause between a user's operations, as people (and the
//! classic FTP benchmarks' simulated users) take. Drawn from the run's seed,
//! so a run repeats exactly.

use rand::Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

use super::units::parse_duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Think {
    /// Always this long: "1s".
    Constant(Duration),
    /// Evenly between two bounds: "0s..3s" (NcFTPd's FTP monkey sleeps 0 to 3 s).
    Uniform(Duration, Duration),
    /// Exponentially distributed with this mean: "exp 500ms".
    Exponential(Duration),
}

impl Think {
    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        match *self {
            Think::Constant(d) => d,
            Think::Uniform(a, b) => a + (b - a).mul_f64(rng.random::<f64>()),
            // -ln(U) * mean, U in (0, 1], capped at 20 means so one draw
            // cannot stall a client for the rest of a run.
            Think::Exponential(m) => m.mul_f64((-(1.0 - rng.random::<f64>()).ln()).min(20.0)),
        }
    }
}

pub fn parse_think(s: &str) -> Result<Think, String> {
    let t = s.trim();
    if let Some(mean) = t.strip_prefix("exp ") {
        return parse_duration(mean).map(Think::Exponential);
    }
    if let Some((a, b)) = t.split_once("..") {
        let (a, b) = (parse_duration(a)?, parse_duration(b)?);
        if a > b {
            return Err(format!(
                "think time {s:?}: the first bound is above the second"
            ));
        }
        return Ok(Think::Uniform(a, b));
    }
    parse_duration(t).map(Think::Constant).map_err(|e| {
        format!("{e}; think time is \"1s\" (constant), \"0s..3s\" (uniform) or \"exp 500ms\" (exponential mean)")
    })
}

impl fmt::Display for Think {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = humantime::format_duration;
        match self {
            Think::Constant(d) => write!(f, "{}", h(*d)),
            Think::Uniform(a, b) => write!(f, "{}..{}", h(*a), h(*b)),
            Think::Exponential(m) => write!(f, "exp {}", h(*m)),
        }
    }
}

impl<'de> Deserialize<'de> for Think {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_think(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Think {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    #[test]
    fn parses_and_samples_within_bounds() {
        let ms = Duration::from_millis;
        assert_eq!(parse_think("1s").unwrap(), Think::Constant(ms(1000)));
        assert_eq!(
            parse_think("0s..3s").unwrap(),
            Think::Uniform(ms(0), ms(3000))
        );
        assert_eq!(
            parse_think("exp 500ms").unwrap(),
            Think::Exponential(ms(500))
        );
        assert!(parse_think("3s..1s").is_err());
        assert!(parse_think("sometimes").is_err());
        let mut a = SmallRng::seed_from_u64(5);
        let mut b = SmallRng::seed_from_u64(5);
        let u = Think::Uniform(ms(100), ms(200));
        for _ in 0..1000 {
            let x = u.sample(&mut a);
            assert!((ms(100)..=ms(200)).contains(&x));
            assert_eq!(x, u.sample(&mut b), "the same seed draws the same");
        }
        let e = Think::Exponential(ms(100));
        let mean: f64 = (0..20_000)
            .map(|_| e.sample(&mut a).as_secs_f64())
            .sum::<f64>()
            / 20_000.0;
        assert!((0.09..0.11).contains(&mean), "{mean}");
    }
}
