//! The percentile spectrum of a histogram, the plot HdrHistogram users know:
//! the value at each percentile from 0% to 99.999%, on an axis where each
//! further nine takes the same width. It is computed from the histogram the
//! result carries whole (`hdr`), not from the few quantiles written beside
//! it, so the tail is drawn as recorded.

use hdrhistogram::Histogram;

/// Points per decade of nines: enough for a smooth line, few enough that a
/// page with many metrics, modes and results stays small.
const PER_DECADE: u32 = 24;
/// The axis ends at 99.999%: `-log10(1 - q)` = 5.
pub const DECADES: u32 = 5;

/// The quantile at position `x` of the percentile axis.
pub fn quantile_at(x: f64) -> f64 {
    1.0 - 10f64.powf(-x)
}

/// (x on the percentile axis, value at that quantile), from 0% to 99.999%;
/// empty for an empty histogram.
pub fn spectrum(h: &Histogram<u64>) -> Vec<(f64, u64)> {
    if h.is_empty() {
        return Vec::new();
    }
    (0..=PER_DECADE * DECADES)
        .map(|i| {
            let x = f64::from(i) / f64::from(PER_DECADE);
            (x, h.value_at_quantile(quantile_at(x)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spectrum_runs_from_the_minimum_to_the_tail() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        for v in 1..=100_000u64 {
            h.record(v).unwrap();
        }
        let s = spectrum(&h);
        assert_eq!(s.len(), 121);
        assert_eq!(s[0], (0.0, 1));
        // 90% at x = 1, 99% at x = 2, within the histogram's 3 digits.
        let at = |x: f64| s.iter().find(|p| (p.0 - x).abs() < 1e-9).unwrap().1;
        assert!((89_900..=90_100).contains(&at(1.0)), "{}", at(1.0));
        assert!((98_900..=99_100).contains(&at(2.0)), "{}", at(2.0));
        assert!(at(5.0) >= 99_990);
        assert!(s.windows(2).all(|w| w[0].1 <= w[1].1), "never decreasing");
    }

    #[test]
    fn an_empty_histogram_has_no_spectrum() {
        let h = Histogram::<u64>::new(3).unwrap();
        assert!(spectrum(&h).is_empty());
    }
}
