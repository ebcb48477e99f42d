//! Which stored trials `verify` re-runs: a random sample, stratified by point of the sweep so
//! that every point gets a trial before any point gets a second one, drawn from `--seed` alone
//! (the same flags pick the same trials on any machine, whatever `--jobs` or `--shard`).

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// How many trials to re-run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SampleSize {
    /// A fraction of the stored trials, in (0, 1]; rounded up, so never zero of a non-empty store.
    Fraction(f64),
    Count(usize),
}

impl Default for SampleSize {
    fn default() -> Self {
        SampleSize::Fraction(0.05)
    }
}

impl std::str::FromStr for SampleSize {
    type Err = String;

    /// `5%` (a percentage in (0, 100]) or `N` (a count ≥ 1).
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!("--sample takes a percentage in (0, 100] such as 5% or a count of trials ≥ 1 such as 40; got `{s}`")
        };
        if let Some(percent) = s.trim().strip_suffix('%') {
            let p: f64 = percent.trim().parse().map_err(|_| bad())?;
            if !(p > 0.0 && p <= 100.0) {
                return Err(bad());
            }
            return Ok(SampleSize::Fraction(p / 100.0));
        }
        match s.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(SampleSize::Count(n)),
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for SampleSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SampleSize::Fraction(p) => write!(f, "{}%", p * 100.0),
            SampleSize::Count(n) => write!(f, "{n}"),
        }
    }
}

impl SampleSize {
    /// The number of trials out of `total`.
    pub fn of(self, total: usize) -> usize {
        match self {
            SampleSize::Fraction(p) => ((total as f64 * p).ceil() as usize).min(total),
            SampleSize::Count(n) => n.min(total),
        }
    }
}

/// The sample: indices into `strata` (point key → trial indices in store order), in ascending
/// order. Points are visited in a shuffled order, one trial each per round, each point's trials
/// in a shuffled order, until `size.of(total)` are taken.
pub fn stratified(
    strata: &BTreeMap<String, Vec<usize>>,
    size: SampleSize,
    seed: u64,
) -> Vec<usize> {
    let total = strata.values().map(Vec::len).sum();
    let wanted = size.of(total);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut points: Vec<Vec<usize>> = strata.values().cloned().collect();
    for trials in &mut points {
        trials.shuffle(&mut rng);
    }
    points.shuffle(&mut rng);
    let mut chosen = Vec::with_capacity(wanted);
    let mut round = 0;
    while chosen.len() < wanted {
        for trials in &points {
            if chosen.len() == wanted {
                break;
            }
            if let Some(&i) = trials.get(round) {
                chosen.push(i);
            }
        }
        round += 1;
    }
    chosen.sort_unstable();
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strata(points: usize, per_point: usize) -> BTreeMap<String, Vec<usize>> {
        (0..points)
            .map(|p| {
                (
                    format!("p{p:03}"),
                    (0..per_point).map(|r| p * per_point + r).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn every_point_is_covered_before_any_twice() {
        let strata = strata(40, 10);
        let chosen = stratified(&strata, SampleSize::Fraction(0.1), 7);
        assert_eq!(chosen.len(), 40);
        let mut points: Vec<usize> = chosen.iter().map(|i| i / 10).collect();
        points.dedup();
        assert_eq!(points.len(), 40, "one trial of each point");
        let fewer = stratified(&strata, SampleSize::Count(10), 7);
        assert_eq!(fewer.len(), 10);
        let mut points: Vec<usize> = fewer.iter().map(|i| i / 10).collect();
        points.dedup();
        assert_eq!(points.len(), 10, "ten different points");
    }

    #[test]
    fn the_seed_alone_decides() {
        let strata = strata(7, 5);
        let a = stratified(&strata, SampleSize::Count(12), 3);
        assert_eq!(a, stratified(&strata, SampleSize::Count(12), 3));
        assert_ne!(a, stratified(&strata, SampleSize::Count(12), 4));
        assert_eq!(stratified(&strata, SampleSize::Count(99), 3).len(), 35);
    }

    #[test]
    fn sizes_parse() {
        assert_eq!("5%".parse(), Ok(SampleSize::Fraction(0.05)));
        assert_eq!("40".parse(), Ok(SampleSize::Count(40)));
        for bad in ["0", "0%", "101%", "-3", "x", "5 %%"] {
            assert!(bad.parse::<SampleSize>().is_err(), "{bad}");
        }
        assert_eq!(SampleSize::Fraction(0.05).of(3), 1);
    }
}
