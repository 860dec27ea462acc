//! Judging a finished step against the limits, mode by mode (the worst mode
//! counts), and saying so: a row of the table as steps finish, and the
//! one-line answer at the end.

use std::path::PathBuf;

use super::{Breach, Capacity, Limits, StepResult, LIMITS};
use crate::metrics::Metric;
use crate::result::RunResult;
use crate::summary::format::{bytes, micros};

/// Judges one finished step against the limits, mode by mode.
pub fn judge(users: u32, r: &RunResult, l: &Limits, result_file: PathBuf) -> StepResult {
    let max = [
        l.max_error_rate,
        l.max_p99_session_setup_us as f64,
        l.max_p99_data_setup_us as f64,
    ];
    // Per limit, the worst mode's value. No mode, or a mode where nothing
    // finished, is no evidence that the level held: error rate 1.
    let mut worst = [(1.0, None), (0.0, None), (0.0, None)];
    let (mut sessions, mut transfers) = (0, 0);
    for (i, (&m, x)) in r.modes.iter().enumerate() {
        let c = &x.counters;
        sessions += c.sessions;
        transfers += c.transfers;
        // The worse of two rates: failed iterations, and failed logins. With
        // persistent sessions a client that cannot log in at all fails few
        // iterations next to the many of those that can, yet the level has
        // not held for it.
        let rate = |failed: u64, ok: u64| match failed + ok {
            0 => 1.0,
            n => failed as f64 / n as f64,
        };
        let values = [
            rate(c.iterations_failed, c.iterations).max(if c.sessions + c.sessions_failed == 0 {
                0.0
            } else {
                rate(c.sessions_failed, c.sessions)
            }),
            x.metrics.get(&Metric::SessionSetup).map_or(0, |v| v.p99) as f64,
            x.metrics.get(&Metric::DataSetup).map_or(0, |v| v.p99) as f64,
        ];
        for (w, v) in worst.iter_mut().zip(values) {
            if i == 0 || v > w.0 {
                *w = (v, Some(m));
            }
        }
    }
    let mut broken_limits: Vec<Breach> = (0..3)
        .filter(|&k| worst[k].0 > max[k])
        .map(|k| Breach {
            limit: LIMITS[k].into(),
            mode: worst[k].1.filter(|_| r.modes.len() > 1),
            value: worst[k].0,
            max: max[k],
        })
        .collect();
    // The slowest transfer of any mode against the rate each user must keep.
    if let Some(min) = l.min_throughput {
        let slowest = r
            .modes
            .iter()
            .filter_map(|(m, x)| {
                x.metrics
                    .get(&Metric::Throughput)
                    .filter(|t| t.count > 0)
                    .map(|t| (t.min, *m))
            })
            .min();
        if let Some((v, m)) = slowest.filter(|(v, _)| *v < min) {
            broken_limits.push(Breach {
                limit: "min_throughput".into(),
                mode: Some(m).filter(|_| r.modes.len() > 1),
                value: v as f64,
                max: min as f64,
            });
        }
    }
    let server = r.server.as_ref();
    let utilisation = server.and_then(|x| x.cpu_utilisation);
    if let (Some(max), Some(u)) = (l.max_server_cpu, utilisation) {
        if u > max {
            broken_limits.push(Breach {
                limit: "server_cpu".into(),
                mode: None,
                value: u,
                max,
            });
        }
    }
    let secs = r.duration_s.max(1e-3);
    // Sessions a second over the server's CPU seconds a second: its
    // sessions per CPU second.
    let per_core = server
        .filter(|x| x.cpu_s > 0.0)
        .map(|x| sessions as f64 / x.cpu_s);
    StepResult {
        users,
        held: broken_limits.is_empty(),
        broken_limits,
        sessions_per_s: sessions as f64 / secs,
        transfers_per_s: transfers as f64 / secs,
        error_rate: worst[0].0,
        p99_session_setup_us: worst[1].0 as u64,
        p99_data_setup_us: worst[2].0 as u64,
        server_cpu_utilisation: utilisation,
        server_cores: server.and_then(|x| x.cores),
        sessions_per_s_per_server_core: per_core,
        result_file,
    }
}

impl Breach {
    /// "p99 data setup in active mode (1.52s > 1.00s, 1.5×)".
    pub fn describe(&self) -> String {
        let show = |v: f64| match self.limit.as_str() {
            "error_rate" | "server_cpu" => format!("{:.2}%", v * 100.0),
            "min_throughput" => format!("{}/s", bytes(v as u64)),
            _ => micros(v as u64),
        };
        if self.limit == "min_throughput" {
            let mode = self
                .mode
                .map(|m| format!(" in {m} mode"))
                .unwrap_or_default();
            return format!(
                "a transfer{mode} below its rate ({} < {})",
                show(self.value),
                show(self.max)
            );
        }
        let mode = self
            .mode
            .map(|m| format!(" in {m} mode"))
            .unwrap_or_default();
        let (value, max) = (show(self.value), show(self.max));
        let times = match self.max > 0.0 {
            true => format!(", {:.1}×", self.value / self.max),
            false => String::new(),
        };
        format!(
            "{}{mode} ({value} > {max}{times})",
            self.limit.replace('_', " ")
        )
    }
}

pub(super) fn breaches(s: &StepResult) -> String {
    let b: Vec<String> = s.broken_limits.iter().map(Breach::describe).collect();
    b.join("; ")
}

pub const TABLE_HEADER: &str =
    "  users  sessions/s  transfers/s  error rate  p99 session setup  p99 data setup  server CPU  verdict";

/// One row, fixed-width, so rows can be printed as steps finish.
pub fn table_row(s: &StepResult) -> String {
    let verdict = match s.held {
        true => "held".to_string(),
        false => format!("BROKE: {}", breaches(s)),
    };
    let server = match (s.server_cpu_utilisation, s.server_cores) {
        (Some(u), Some(c)) => format!("{:.0}% of {c}", u * 100.0),
        _ => "-".into(),
    };
    format!(
        "{:>7}  {:>10.1}  {:>11.1}  {:>9.2}%  {:>17}  {:>14}  {server:>10}  {verdict}",
        s.users,
        s.sessions_per_s,
        s.transfers_per_s,
        s.error_rate * 100.0,
        micros(s.p99_session_setup_us),
        micros(s.p99_data_setup_us),
    )
}

/// The answer: the level held, where it broke, and, when the server was
/// watched, its headroom at the highest level held (extrapolated).
pub fn verdict(c: &Capacity) -> String {
    let held = match c.highest_held {
        Some(n) => format!("held up to {n} users"),
        None => "held at no level".to_string(),
    };
    let answer = match (c.steps.iter().find(|s| !s.held), c.interrupted) {
        (Some(s), _) => format!("{held}; broke at {}: {}", s.users, breaches(s)),
        (None, true) => format!("{held}; interrupted before the search ended"),
        (None, false) => format!("{held} (--max {}): no limit broke", c.max),
    };
    let last_held = c.steps.iter().rev().find(|s| s.held);
    match last_held.and_then(|s| Some((s, s.server_cpu_utilisation?, s.sessions_per_s_per_server_core?))) {
        Some((s, u, per_core)) => format!(
            "{answer}\nserver at {} users: {:.0}% of its {} cores; headroom (extrapolated from that step's CPU per session, not measured): about {per_core:.0} sessions/s per server core",
            s.users,
            u * 100.0,
            s.server_cores.map_or("?".into(), |c| c.to_string()),
        ),
        None => answer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Mode;

    /// A real run (the committed CI baseline: three modes, no errors), with
    /// its slowest transfer per mode set by the test.
    fn run(slowest: [(Mode, u64); 3]) -> RunResult {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/results/ci/baseline.json");
        let mut r = RunResult::read(std::path::Path::new(path)).unwrap();
        for (m, v) in slowest {
            let t = r.modes.get_mut(&m).unwrap();
            t.metrics.get_mut(&Metric::Throughput).unwrap().min = v;
        }
        r
    }

    fn limits(min_throughput: Option<u64>) -> Limits {
        Limits {
            max_error_rate: 0.01,
            max_p99_session_setup_us: u64::MAX,
            max_p99_data_setup_us: u64::MAX,
            min_throughput,
            max_server_cpu: None,
        }
    }

    /// dkftpbench's score: a level holds while every transfer keeps its rate;
    /// the slowest transfer of any mode breaks it, named with its mode. The
    /// integration test can only reach the breaking side (a cap the pacer
    /// cannot exceed); which side a measured rate falls on is this.
    #[test]
    fn the_slowest_transfer_of_any_mode_decides_min_throughput() {
        use Mode::*;
        let r = run([(Passive, 990_000), (Epsv, 960_000), (Active, 951_000)]);
        let s = judge(2, &r, &limits(Some(950_000)), "r.json".into());
        assert!(s.held, "{:?}", s.broken_limits);
        // No min_throughput: throughput is not judged at all.
        let s = judge(
            2,
            &run([(Active, 1), (Passive, 1), (Epsv, 1)]),
            &limits(None),
            "".into(),
        );
        assert!(s.held, "{:?}", s.broken_limits);

        let r = run([(Passive, 990_000), (Epsv, 900_000), (Active, 949_999)]);
        let s = judge(2, &r, &limits(Some(950_000)), "r.json".into());
        assert!(!s.held);
        assert_eq!(s.broken_limits.len(), 1, "{:?}", s.broken_limits);
        let b = &s.broken_limits[0];
        assert_eq!((b.limit.as_str(), b.mode), ("min_throughput", Some(Epsv)));
        assert_eq!((b.value, b.max), (900_000.0, 950_000.0));
        assert!(b
            .describe()
            .starts_with("a transfer in epsv mode below its rate ("));
    }
}
