//! The open-loop schedule: the intended start of every arrival, computed
//! from the plan and one seed alone, never from how the server is doing. That
//! independence is what lets latency be measured from when an iteration
//! should have started, not from when an overloaded generator got round to it.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

use crate::scenario::load::{Arrival, OpenLoop};

/// Below this rate there is no next arrival soon: look again a little later.
const IDLE_STEP: f64 = 0.001;

pub struct Schedule {
    plan: OpenLoop,
    rng: SmallRng,
    /// Seconds since the start of the run of the last arrival.
    t: f64,
    end: f64,
}

impl Schedule {
    /// `seed` is the run's: the same plan and seed give the same schedule.
    pub fn new(plan: &OpenLoop, seed: u64, end: Duration) -> Schedule {
        Schedule {
            rng: SmallRng::seed_from_u64(seed),
            plan: plan.clone(),
            t: 0.0,
            end: end.as_secs_f64(),
        }
    }
}

impl Iterator for Schedule {
    /// The intended start of the next arrival, from the start of the run.
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        loop {
            if self.t >= self.end {
                return None;
            }
            let rate = self.plan.rate_at(self.t);
            if rate < 1e-9 {
                self.t += IDLE_STEP;
                continue;
            }
            let gap = match self.plan.arrival {
                Arrival::Uniform => 1.0 / rate,
                // Exponential gaps: -ln(U)/rate, U in (0, 1].
                Arrival::Poisson => -(1.0 - self.rng.random::<f64>()).ln() / rate,
            };
            self.t += gap;
            return (self.t < self.end).then(|| Duration::from_secs_f64(self.t));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load::Stage;

    fn plan(arrival: Arrival) -> OpenLoop {
        OpenLoop {
            rate: 10.0,
            stages: vec![Stage {
                duration: Duration::from_secs(2),
                rate: 50.0,
            }],
            arrival,
            max_wait: Duration::from_secs(1),
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_schedule() {
        let a: Vec<Duration> =
            Schedule::new(&plan(Arrival::Poisson), 7, Duration::from_secs(3)).collect();
        let b: Vec<Duration> =
            Schedule::new(&plan(Arrival::Poisson), 7, Duration::from_secs(3)).collect();
        let c: Vec<Duration> =
            Schedule::new(&plan(Arrival::Poisson), 8, Duration::from_secs(3)).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn uniform_arrivals_follow_the_ramp() {
        let s: Vec<Duration> =
            Schedule::new(&plan(Arrival::Uniform), 0, Duration::from_secs(3)).collect();
        // Ramp 10 -> 50 over 2 s is about 60 arrivals, then 50/s for 1 s.
        let in_ramp = s.iter().filter(|d| d.as_secs_f64() < 2.0).count();
        let after = s.len() - in_ramp;
        assert!((55..=65).contains(&in_ramp), "{in_ramp}");
        assert!((49..=51).contains(&after), "{after}");
    }
}
