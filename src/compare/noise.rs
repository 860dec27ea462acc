//! Run-to-run noise, judged from the two results themselves: each run's
//! per-second values of a statistic (from the timeline's interval
//! histograms), their robust spread, and whether a change stays within it.
//! Apart from the comparison so the method, which the output states, is in
//! one place.

use super::{judge, percent, Change, Verdict, MAD_SCALE, MIN_INTERVALS, NOISE_K};
use crate::metrics::Metric;
use crate::proto::Mode;
use crate::result::RunResult;

/// The noise of one statistic, from the two runs' per-second values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Noise {
    /// √(a² + b²) of the two runs' spreads, in the metric's unit.
    pub spread: f64,
    /// The smallest and largest of the base run's per-second values.
    pub base_range: (f64, f64),
}

impl Noise {
    /// Whether going from `base` to `new` stays within this noise.
    pub fn covers(&self, base: u64, new: u64) -> bool {
        let (lo, hi) = self.base_range;
        let n = new as f64;
        (n - base as f64).abs() <= NOISE_K * self.spread || (lo <= n && n <= hi)
    }
}

/// The median of `v` (sorted in place); 0 when empty.
pub(super) fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// 1.4826 × the median absolute deviation: a robust spread, a standard
/// deviation for normal data, that one odd second does not move.
pub fn spread(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    let m = median(&mut v);
    let mut dev: Vec<f64> = values.iter().map(|x| (x - m).abs()).collect();
    MAD_SCALE * median(&mut dev)
}

/// One run's per-second values of a statistic of a mode's metric.
pub(super) fn per_second(r: &RunResult, mode: Mode, metric: Metric, p99: bool) -> Vec<f64> {
    r.timeline
        .iter()
        .filter_map(|i| i.modes.get(&mode)?.metrics.get(&metric))
        .filter(|m| m.count > 0)
        .map(|m| if p99 { m.p99 } else { m.p50 } as f64)
        .collect()
}

/// Throughput is judged at p50 only: its p99 is the fastest 1% of transfers,
/// which says nothing of the slow tail a regression shows in.
pub(super) fn judged(metric: Metric, p99: bool, verdict: impl FnOnce() -> Verdict) -> Verdict {
    if metric == Metric::Throughput && p99 {
        Verdict::Ok
    } else {
        verdict()
    }
}

/// The mode's per-second noise of `metric`, relative to its median, applied
/// to `value`: the noise of an operation, which has no seconds of its own.
pub(super) fn relative_noise(
    base: &RunResult,
    new: &RunResult,
    mode: Mode,
    metric: Metric,
    p99: bool,
    value: u64,
) -> Option<Noise> {
    let (sa, sb) = (
        per_second(base, mode, metric, p99),
        per_second(new, mode, metric, p99),
    );
    if sa.len() < MIN_INTERVALS || sb.len() < MIN_INTERVALS {
        return None;
    }
    let (ma, mb) = (median(&mut sa.clone()), median(&mut sb.clone()));
    if ma <= 0.0 || mb <= 0.0 {
        return None;
    }
    let v = value as f64;
    let (lo, hi) = sa
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    Some(Noise {
        spread: v * (spread(&sa) / ma).hypot(spread(&sb) / mb),
        base_range: (v * lo / ma, v * hi / ma),
    })
}

/// The mode's own per-second noise of `metric`.
pub(super) fn mode_noise(
    base: &RunResult,
    new: &RunResult,
    mode: Mode,
    metric: Metric,
    p99: bool,
) -> Option<Noise> {
    let (sa, sb) = (
        per_second(base, mode, metric, p99),
        per_second(new, mode, metric, p99),
    );
    (sa.len() >= MIN_INTERVALS && sb.len() >= MIN_INTERVALS).then(|| Noise {
        spread: spread(&sa).hypot(spread(&sb)),
        base_range: sa
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x))),
    })
}

/// One statistic's change from `b` to `n`, judged against `threshold` and
/// `noise` (the mode's, or for an operation its relative share).
pub(super) fn change(
    metric: Metric,
    threshold: f64,
    (b, n): (u64, u64),
    p99: bool,
    noise: Option<Noise>,
) -> Change {
    let pct = percent(b, n);
    let worse_pct = if metric == Metric::Throughput {
        -pct
    } else {
        pct
    };
    Change {
        base: b,
        new: n,
        pct,
        noise,
        verdict: judged(metric, p99, || judge(b, n, worse_pct, threshold, noise)),
    }
}
