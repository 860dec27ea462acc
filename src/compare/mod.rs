//! `ftpload compare`: two results of one scenario, metric by metric, and
//! whether the new one regressed. Pure functions over two [`RunResult`]s.
//!
//! Per mode and metric it compares the whole-run p50 and p99 (latencies:
//! higher is worse; throughput: lower is worse). A change is a regression
//! only when it is worse by more than the allowed percentage *and* lies
//! outside the noise the two runs show themselves: each run's spread is the
//! median absolute deviation (scaled by 1.4826, a standard deviation's
//! equivalent) of that statistic over its per-second interval histograms,
//! and a change is outside noise when it exceeds [`NOISE_K`] times the two
//! spreads combined (√(a² + b²)) *and* the new value lies outside the range
//! of the base run's own per-second values (the base had no second that
//! bad, or that good). With fewer than [`MIN_INTERVALS`] seconds in either
//! run, noise is not judged and the threshold alone decides.
//!
//! What this cannot see: a drift between the runs that is steady within
//! each (another load on the machine during one run only). Longer runs and
//! a quiet machine make the comparison fair; the threshold is the guard.

use std::collections::BTreeMap;

use crate::metrics::Metric;
use crate::proto::Mode;
use crate::result::RunResult;

mod noise;
mod print;
mod shards;

use noise::{change, mode_noise, relative_noise};
pub use noise::{spread, Noise};

pub use print::{markdown, text};
pub use shards::{as_whole_run, missing_shards, same_run, shards_complete};

/// A change is outside noise when larger than this many combined spreads.
pub const NOISE_K: f64 = 3.0;
/// Fewer per-second values than this in either run: noise is not judged.
pub const MIN_INTERVALS: usize = 3;
/// Scales a median absolute deviation to a standard deviation's equivalent.
const MAD_SCALE: f64 = 1.4826;
/// The default allowed worsening, in percent.
pub const DEFAULT_MAX_REGRESSION: f64 = 10.0;

/// How much worse a metric may get before it counts.
#[derive(Debug, Clone)]
pub struct Thresholds {
    pub default_pct: f64,
    pub per_metric: BTreeMap<Metric, f64>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            default_pct: DEFAULT_MAX_REGRESSION,
            per_metric: BTreeMap::new(),
        }
    }
}

impl Thresholds {
    pub fn for_metric(&self, m: Metric) -> f64 {
        self.per_metric.get(&m).copied().unwrap_or(self.default_pct)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Within the allowed percentage.
    Ok,
    /// Past the allowed percentage, but inside the runs' own noise.
    WithinNoise,
    /// Better by more than the allowed percentage, outside noise.
    Improvement,
    /// Worse by more than the allowed percentage, outside noise.
    Regression,
}

impl Verdict {
    pub fn words(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::WithinNoise => "within noise",
            Verdict::Improvement => "improvement",
            Verdict::Regression => "REGRESSION",
        }
    }
}

/// One statistic (p50 or p99) of one metric in both runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub base: u64,
    pub new: u64,
    /// (new - base) / base, in percent.
    pub pct: f64,
    /// The runs' per-second noise; `None` when too few intervals to judge.
    pub noise: Option<Noise>,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub mode: Mode,
    pub metric: Metric,
    /// The operation, for per-operation metrics; `None` for the mode's totals.
    pub operation: Option<String>,
    pub threshold_pct: f64,
    pub p50: Change,
    pub p99: Change,
}

impl Row {
    /// The worse of the two statistics' verdicts (regression first).
    pub fn verdict(&self) -> Verdict {
        self.p50.verdict.max(self.p99.verdict)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub rows: Vec<Row>,
    /// Per-second intervals of each run's timeline.
    pub base_intervals: usize,
    pub new_intervals: usize,
    /// Modes in only one of the two runs, and the like.
    pub notes: Vec<String>,
}

impl Comparison {
    pub fn regressions(&self) -> impl Iterator<Item = &Row> {
        self.rows
            .iter()
            .filter(|r| r.verdict() == Verdict::Regression)
    }

    pub fn has_regression(&self) -> bool {
        self.regressions().next().is_some()
    }

    /// "no regression", or "regression: session_setup (passive), ...".
    pub fn headline(&self) -> String {
        let names: Vec<String> = self
            .regressions()
            .map(|r| format!("{} ({})", label(r), r.mode))
            .collect();
        if names.is_empty() {
            let noisy = self
                .rows
                .iter()
                .any(|r| r.verdict() == Verdict::WithinNoise);
            if noisy {
                "no regression (some changes past the threshold are within noise)".into()
            } else {
                "no regression".into()
            }
        } else {
            format!("regression: {}", names.join(", "))
        }
    }

    /// How noise was judged, in one line.
    pub fn noise_line(&self) -> String {
        if self.base_intervals < MIN_INTERVALS || self.new_intervals < MIN_INTERVALS {
            return format!(
                "noise not judged: {} and {} per-second intervals (fewer than {MIN_INTERVALS}); the threshold alone decides",
                self.base_intervals, self.new_intervals
            );
        }
        format!(
            "noise judged from {} and {} per-second intervals: a change is within noise when under {NOISE_K} × √(a² + b²), a and b each run's spread of that statistic over its seconds (1.4826 × median absolute deviation), or when the base run had a second that bad; an operation, which has no seconds of its own, takes its mode's noise of that metric relative to its median",
            self.base_intervals, self.new_intervals
        )
    }
}

fn label(r: &Row) -> String {
    match &r.operation {
        Some(op) => format!("{} {op}", r.metric.as_str()),
        None => r.metric.as_str().to_string(),
    }
}

/// What makes two results comparable: the scenario and the target. The
/// embedded target listens on a fresh port per run, so its address is not
/// part of it.
pub fn identity(r: &RunResult) -> String {
    let target = if r.target.kind == "embedded" {
        "embedded target".to_string()
    } else {
        format!(
            "{} target {}:{}",
            r.target.kind, r.target.host, r.target.port
        )
    };
    format!("scenario {:?} against {target}", r.scenario_name)
}

/// `Some(why)` when the two results are of different scenarios or targets.
pub fn mismatch(base: &RunResult, new: &RunResult) -> Option<String> {
    let (a, b) = (identity(base), identity(new));
    (a != b).then(|| format!("the results differ: base is {a}, new is {b}"))
}

/// (new - base) / base in percent; 0 when both are 0, and never a division by 0.
pub fn percent(base: u64, new: u64) -> f64 {
    if base == 0 {
        return if new == 0 { 0.0 } else { 100.0 };
    }
    (new as f64 - base as f64) / base as f64 * 100.0
}

/// The verdict on one statistic. `worse_pct` is the change counted as worse
/// (positive: worse); `noise` `None` when not judged.
pub fn judge(base: u64, new: u64, worse_pct: f64, threshold: f64, noise: Option<Noise>) -> Verdict {
    if worse_pct.abs() <= threshold {
        return Verdict::Ok;
    }
    let outside = match noise {
        Some(n) => !n.covers(base, new),
        None => true,
    };
    match (outside, worse_pct > 0.0) {
        (false, _) => Verdict::WithinNoise,
        (true, true) => Verdict::Regression,
        (true, false) => Verdict::Improvement,
    }
}

/// Every mode and metric both runs recorded, compared.
pub fn compare(base: &RunResult, new: &RunResult, t: &Thresholds) -> Comparison {
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for (mode, bm) in &base.modes {
        let Some(nm) = new.modes.get(mode) else {
            notes.push(format!("mode {mode} is only in the base result"));
            continue;
        };
        for (metric, b) in &bm.metrics {
            let Some(n) = nm.metrics.get(metric) else {
                continue;
            };
            if b.count == 0 || n.count == 0 {
                continue;
            }
            let threshold = t.for_metric(*metric);
            let noise = |p99| mode_noise(base, new, *mode, *metric, p99);
            rows.push(Row {
                mode: *mode,
                metric: *metric,
                operation: None,
                threshold_pct: threshold,
                p50: change(*metric, threshold, (b.p50, n.p50), false, noise(false)),
                p99: change(*metric, threshold, (b.p99, n.p99), true, noise(true)),
            });
        }
        // Per operation: the timeline keeps no per-operation seconds, so an
        // operation's noise is its mode's, relative: that metric's
        // per-second spread and range as fractions of their median, applied
        // to the operation's own value.
        for (op, bmetrics) in &bm.operations {
            let Some(nmetrics) = nm.operations.get(op) else {
                continue;
            };
            for (metric, b) in bmetrics {
                let Some(n) = nmetrics.get(metric).filter(|n| n.count > 0 && b.count > 0) else {
                    continue;
                };
                let threshold = t.for_metric(*metric);
                let plain = |(b, n): (u64, u64), p99: bool| {
                    let noise = relative_noise(base, new, *mode, *metric, p99, b);
                    change(*metric, threshold, (b, n), p99, noise)
                };
                rows.push(Row {
                    mode: *mode,
                    metric: *metric,
                    operation: Some(op.clone()),
                    threshold_pct: threshold,
                    p50: plain((b.p50, n.p50), false),
                    p99: plain((b.p99, n.p99), true),
                });
            }
        }
    }
    for mode in new.modes.keys().filter(|m| !base.modes.contains_key(m)) {
        notes.push(format!("mode {mode} is only in the new result"));
    }
    for (which, r) in [("base", base), ("new", new)] {
        if r.interrupted {
            notes.push(format!(
                "the {which} run was interrupted: its numbers cover only what ran"
            ));
        }
    }
    Comparison {
        rows,
        base_intervals: base.timeline.len(),
        new_intervals: new.timeline.len(),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ModeStats;
    use crate::result::timeline::{Interval, IntervalMetric, ModeInterval};
    use crate::result::{MetricResult, ModeResult, TargetInfo, Tool};

    fn metric(p50: u64, p99: u64) -> MetricResult {
        MetricResult {
            unit: "us".into(),
            count: 100,
            min: 1,
            mean: p50 as f64,
            p50,
            p90: p99,
            p99,
            p999: p99,
            max: p99,
            hdr: String::new(),
        }
    }

    /// A result with one mode whose login has these totals and per-second p50s.
    fn run(p50: u64, p99: u64, seconds: &[u64]) -> RunResult {
        let mut mode = ModeResult::from_stats(&ModeStats::default(), Mode::Passive, None);
        mode.metrics = BTreeMap::from([(Metric::Login, metric(p50, p99))]);
        let mut r = RunResult {
            schema_version: crate::result::SCHEMA_VERSION,
            tool: Tool {
                name: "ftpload".into(),
                version: "test".into(),
            },
            scenario_name: "smoke".into(),
            started_at: String::new(),
            ended_at: String::new(),
            duration_s: 1.0,
            interrupted: false,
            cut_off: 0.into(),
            target: TargetInfo {
                kind: "embedded".into(),
                host: "127.0.0.1".into(),
                port: 2121,
                user: "ftpload".into(),
                banner: String::new(),
                family: "ipv4".into(),
            },
            scenario: serde_json::Value::Null,
            modes: BTreeMap::new(),
            groups: Vec::new(),
            timeline: Vec::new(),
            generator: None,
            sources: Vec::new(),
            kernel: None,
            thresholds: Vec::new(),
            aborted_by_threshold: None,
            start_at: None,
            shards: Vec::new(),
            server: None,
        };
        r.modes = BTreeMap::from([(Mode::Passive, mode)]);
        r.timeline = seconds
            .iter()
            .enumerate()
            .map(|(i, &v)| Interval {
                t_s: i as u32 + 1,
                modes: BTreeMap::from([(
                    Mode::Passive,
                    ModeInterval {
                        metrics: BTreeMap::from([(
                            Metric::Login,
                            IntervalMetric {
                                count: 10,
                                p50: v,
                                p99: v * 2,
                                max: v * 2,
                                hdr: String::new(),
                            },
                        )]),
                        ..ModeInterval::default()
                    },
                )]),
                ..Interval::default()
            })
            .collect();
        r
    }

    #[test]
    fn percent_never_divides_by_zero() {
        assert_eq!(percent(0, 0), 0.0);
        assert_eq!(percent(0, 5), 100.0);
        assert_eq!(percent(200, 250), 25.0);
        assert_eq!(percent(200, 150), -25.0);
    }

    #[test]
    fn spread_is_the_scaled_median_absolute_deviation() {
        // median 10, deviations 0 1 1 2 50 → median 1.
        let s = spread(&[10.0, 9.0, 11.0, 12.0, 60.0]);
        assert!((s - 1.4826).abs() < 1e-9, "{s}");
        assert_eq!(spread(&[5.0, 5.0, 5.0]), 0.0);
        assert_eq!(spread(&[]), 0.0);
    }

    #[test]
    fn verdicts() {
        let noise = |spread| {
            Some(Noise {
                spread,
                base_range: (95.0, 105.0),
            })
        };
        // Under the threshold: ok, whatever the noise.
        assert_eq!(judge(100, 105, 5.0, 10.0, noise(0.0)), Verdict::Ok);
        // Past it, but the change (20) is under 3 × 10: within noise.
        assert_eq!(
            judge(100, 120, 20.0, 10.0, noise(10.0)),
            Verdict::WithinNoise
        );
        // Past it and outside noise.
        assert_eq!(judge(100, 120, 20.0, 10.0, noise(1.0)), Verdict::Regression);
        assert_eq!(
            judge(100, 80, -20.0, 10.0, noise(1.0)),
            Verdict::Improvement
        );
        // The base itself had a second that bad: within noise.
        let wide = Some(Noise {
            spread: 1.0,
            base_range: (50.0, 130.0),
        });
        assert_eq!(judge(100, 120, 20.0, 10.0, wide), Verdict::WithinNoise);
        // Noise not judged: the threshold alone.
        assert_eq!(judge(100, 120, 20.0, 10.0, None), Verdict::Regression);
    }

    #[test]
    fn same_runs_are_no_regression() {
        let a = run(300, 900, &[300, 310, 290, 305]);
        let c = compare(&a, &a, &Thresholds::default());
        assert_eq!(c.rows.len(), 1);
        assert_eq!(c.rows[0].verdict(), Verdict::Ok);
        assert!(!c.has_regression());
        assert_eq!(c.headline(), "no regression");
    }

    #[test]
    fn a_slower_login_outside_noise_is_a_regression_named() {
        let a = run(300, 900, &[300, 310, 290, 305]);
        let b = run(30_300, 31_000, &[30_300, 30_310, 30_290]);
        let c = compare(&a, &b, &Thresholds::default());
        assert!(c.has_regression());
        assert_eq!(c.rows[0].verdict(), Verdict::Regression);
        assert!(c.headline().contains("login (passive)"), "{}", c.headline());
        assert!(c.noise_line().contains("from 4 and 3 per-second intervals"));
        let t = text(&c, "a.json", "b.json");
        assert!(t.contains("REGRESSION (p50, p99)"), "{t}");
        assert!(markdown(&c, "a.json", "b.json").starts_with("**❌ regression: login"));
    }

    #[test]
    fn a_change_inside_noisy_seconds_is_within_noise() {
        // Seconds that swing between 100 and 400: a 30% change is noise.
        let a = run(200, 800, &[100, 400, 100, 400, 250]);
        let b = run(260, 800, &[400, 100, 400, 100, 260]);
        let c = compare(&a, &b, &Thresholds::default());
        assert_eq!(c.rows[0].p50.verdict, Verdict::WithinNoise);
        assert!(!c.has_regression());
        assert!(c.headline().contains("within noise"));
    }

    #[test]
    fn per_metric_threshold_and_too_few_seconds() {
        let a = run(100, 100, &[100]);
        let b = run(115, 115, &[115]);
        let mut t = Thresholds::default();
        assert_eq!(compare(&a, &b, &t).rows[0].verdict(), Verdict::Regression);
        t.per_metric.insert(Metric::Login, 20.0);
        assert_eq!(compare(&a, &b, &t).rows[0].verdict(), Verdict::Ok);
        assert!(compare(&a, &b, &t)
            .noise_line()
            .starts_with("noise not judged"));
    }

    #[test]
    fn zero_counts_are_skipped_and_identity_ignores_the_embedded_port() {
        let a = run(100, 100, &[]);
        let mut b = a.clone();
        b.modes
            .get_mut(&Mode::Passive)
            .unwrap()
            .metrics
            .get_mut(&Metric::Login)
            .unwrap()
            .count = 0;
        assert!(compare(&a, &b, &Thresholds::default()).rows.is_empty());
        b.target.port += 1;
        assert_eq!(mismatch(&a, &b), None);
        b.scenario_name = "other".into();
        assert!(mismatch(&a, &b).unwrap().contains("\"other\""));
    }
}
