//! What a transfer moves, drawn per operation: a file from a weighted list
//! ("1k.bin:80,1m.bin:20") for downloads, and an upload size that is fixed,
//! from a weighted list, uniform in a range, or log-normal, the shape file
//! sizes on real servers have. Drawn from the client's seeded stream, so a
//! run repeats exactly.

use rand::Rng;
use rand_distr::{Distribution, LogNormal};
use std::fmt;

use super::units::{parse_size, SizeText};

/// Items with weights; one item of weight 1 is a plain fixed choice.
#[derive(Debug, Clone, PartialEq)]
pub struct Weighted<T>(pub Vec<(T, u32)>);

impl<T> Weighted<T> {
    pub fn one(x: T) -> Self {
        Weighted(vec![(x, 1)])
    }

    pub fn items(&self) -> impl Iterator<Item = &T> {
        self.0.iter().map(|(x, _)| x)
    }

    pub fn draw(&self, rng: &mut impl Rng) -> &T {
        if self.0.len() == 1 {
            return &self.0[0].0;
        }
        &self.0[pick(self.0.iter().map(|(_, w)| *w), rng)].0
    }

    /// "a:80,b:20" or "a"; weights above zero, at least one item.
    fn parse(s: &str, item: impl Fn(&str) -> Result<T, String>) -> Result<Self, String> {
        let mut v = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            let (x, w) = match part.rsplit_once(':') {
                Some((x, w)) => (
                    x,
                    w.trim()
                        .parse::<u32>()
                        .ok()
                        .filter(|w| *w > 0)
                        .ok_or_else(|| format!("bad weight in {part:?}: a whole number above 0"))?,
                ),
                None => (part, 1),
            };
            v.push((item(x.trim())?, w));
        }
        if v.is_empty() {
            return Err("an empty list".into());
        }
        Ok(Weighted(v))
    }
}

impl<T: fmt::Display> fmt::Display for Weighted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [(x, 1)] = self.0.as_slice() {
            return write!(f, "{x}");
        }
        for (i, (x, w)) in self.0.iter().enumerate() {
            let sep = if i > 0 { "," } else { "" };
            write!(f, "{sep}{x}:{w}")?;
        }
        Ok(())
    }
}

/// The index drawn from `weights` in proportion (0 when all are 0). The
/// total is summed in u64: a sum of u32 weights overflowed a u32 (two of
/// 4294967295 in a mix made `draw` panic; found by tests/fuzz). Where the
/// total fits a u32 the draw is the u32 one it always was, so a seeded run
/// repeats as before.
pub(super) fn pick(weights: impl Iterator<Item = u32> + Clone, rng: &mut impl Rng) -> usize {
    let total: u64 = weights.clone().map(u64::from).sum();
    let mut x = match u32::try_from(total) {
        Ok(t) => u64::from(rng.random_range(0..t.max(1))),
        Err(_) => rng.random_range(0..total),
    };
    for (i, w) in weights.enumerate() {
        let w = u64::from(w);
        if x < w {
            return i;
        }
        x -= w;
    }
    0
}

/// Files a download picks from.
pub type Files = Weighted<String>;

pub fn parse_files(s: &str) -> Result<Files, String> {
    Weighted::parse(s, |x| {
        if x.is_empty() {
            Err(format!("empty file name in {s:?}"))
        } else {
            Ok(x.to_string())
        }
    })
}

/// Upload sizes are capped here, so a long log-normal tail cannot ask for a
/// terabyte.
pub const MAX_DRAWN_SIZE: u64 = 1 << 30;

/// An upload's size.
#[derive(Debug, Clone, PartialEq)]
pub enum Sizes {
    /// "64KiB", or a weighted list "1KiB:80,1MiB:20".
    Listed(Weighted<u64>),
    /// Evenly between two bounds: "1KiB..1MiB".
    Uniform(u64, u64),
    /// Log-normal with this median and sigma (of the size's logarithm):
    /// "lognormal 64KiB 1.5". Capped at [`MAX_DRAWN_SIZE`].
    LogNormal { median: u64, sigma: f64 },
}

impl Sizes {
    pub fn fixed(n: u64) -> Sizes {
        Sizes::Listed(Weighted::one(n))
    }

    pub fn draw(&self, rng: &mut impl Rng) -> u64 {
        match self {
            Sizes::Listed(w) => *w.draw(rng),
            Sizes::Uniform(a, b) => rng.random_range(*a..=*b),
            Sizes::LogNormal { median, sigma } => {
                let d = LogNormal::new((*median as f64).ln(), *sigma)
                    .expect("median and sigma checked when parsed");
                (d.sample(rng) as u64).min(MAX_DRAWN_SIZE)
            }
        }
    }
}

pub fn parse_sizes(s: &str) -> Result<Sizes, String> {
    let t = s.trim();
    if let Some(rest) = t.strip_prefix("lognormal ") {
        let bad = || {
            format!(
                "bad size {s:?}: write \"lognormal MEDIAN SIGMA\", e.g. \"lognormal 64KiB 1.5\""
            )
        };
        let (m, sg) = rest.trim().rsplit_once(' ').ok_or_else(bad)?;
        let median = parse_size(m.trim())?;
        let sigma: f64 = sg.trim().parse().map_err(|_| bad())?;
        if median == 0 || !(sigma.is_finite() && sigma >= 0.0) {
            return Err(bad());
        }
        return Ok(Sizes::LogNormal { median, sigma });
    }
    if let Some((a, b)) = t.split_once("..") {
        let (a, b) = (parse_size(a.trim())?, parse_size(b.trim())?);
        if a > b {
            return Err(format!(
                "size range {s:?}: the first bound is above the second"
            ));
        }
        return Ok(Sizes::Uniform(a, b));
    }
    Weighted::parse(t, parse_size).map(Sizes::Listed)
}

impl fmt::Display for Sizes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sizes::Listed(w) => {
                let text = Weighted(w.0.iter().map(|(n, k)| (SizeText(*n), *k)).collect());
                write!(f, "{text}")
            }
            Sizes::Uniform(a, b) => write!(f, "{}..{}", SizeText(*a), SizeText(*b)),
            Sizes::LogNormal { median, sigma } => {
                write!(f, "lognormal {} {sigma}", SizeText(*median))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn parses_and_round_trips() {
        // Written back as a person writes them, so operations are named so.
        for s in [
            "1000",
            "1KiB",
            "1KiB:80,1MiB:20",
            "1KiB..2KiB",
            "lognormal 64KiB 1.5",
            "1537",
        ] {
            assert_eq!(parse_sizes(s).unwrap().to_string(), s);
        }
        assert_eq!(parse_sizes("1024").unwrap().to_string(), "1KiB");
        assert_eq!(parse_sizes("1048576:20").unwrap().to_string(), "1MiB:20");
        assert_eq!(parse_sizes("64KiB").unwrap(), Sizes::fixed(65536));
        assert!(parse_sizes("2KiB..1KiB").is_err());
        assert!(parse_sizes("1KiB:0").is_err());
        assert!(parse_sizes("lognormal 64KiB").is_err());
        let f = parse_files("1k.bin:3, 1m.bin:1").unwrap();
        assert_eq!(f.to_string(), "1k.bin:3,1m.bin:1");
        assert_eq!(parse_files("a.bin").unwrap(), Files::one("a.bin".into()));
    }

    #[test]
    fn draws_follow_the_weights_and_bounds() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let w = parse_sizes("1:3,2:1").unwrap();
        let ones = (0..4000).filter(|_| w.draw(&mut rng) == 1).count();
        assert!(
            (2800..3200).contains(&ones),
            "{ones} of 4000, expected ~3000"
        );
        let u = parse_sizes("10..20").unwrap();
        assert!((0..1000)
            .map(|_| u.draw(&mut rng))
            .all(|x| (10..=20).contains(&x)));
        let l = parse_sizes("lognormal 1000 1").unwrap();
        let mut v: Vec<u64> = (0..4001).map(|_| l.draw(&mut rng)).collect();
        v.sort();
        let median = v[2000];
        assert!(
            (850..1150).contains(&median),
            "median {median}, expected ~1000"
        );
    }

    /// Found by tests/fuzz (scenario::mutated_scenarios): weights whose sum
    /// passes u32::MAX overflowed the draw.
    #[test]
    fn weights_summing_past_u32_draw_in_proportion() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let w = parse_files("a:4294967295,b:4294967295,c:1").unwrap();
        let a = (0..2000).filter(|_| w.draw(&mut rng) == "a").count();
        assert!((800..1200).contains(&a), "{a} of 2000, expected ~1000");
        // Where the total fits a u32 the draw is as it always was.
        let old = |rng: &mut rand::rngs::SmallRng| {
            let mut x = rng.random_range(0..4u32);
            for (i, w) in [3u32, 1].into_iter().enumerate() {
                if x < w {
                    return i;
                }
                x -= w;
            }
            0
        };
        let (mut r1, mut r2) = (
            rand::rngs::SmallRng::seed_from_u64(3),
            rand::rngs::SmallRng::seed_from_u64(3),
        );
        for _ in 0..100 {
            assert_eq!(pick([3u32, 1].into_iter(), &mut r1), old(&mut r2));
        }
        assert_eq!(pick([0u32, 0].into_iter(), &mut r1), 0);
    }
}
