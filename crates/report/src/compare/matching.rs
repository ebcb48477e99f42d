//! The two sides of a comparison as points, and which point of one is which point of the other.
//!
//! A point is one setting of the parameters (the method included); its values are the ok trials'
//! metrics, each with the trial's seed. Points match when every parameter has the same canonical
//! value (what a trial's identity hashes), so `0.1` never matches `0.10000000000000002`. A side
//! read from a baseline file knows only the swept parameters and one mean per metric: its point
//! matches the point of the other side that agrees on those.

use std::collections::{BTreeMap, BTreeSet};

use harness::{Status, TrialRecord, Value};

/// One setting of the parameters and its values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Point {
    /// Parameter (and `method`) → canonical text.
    pub key: BTreeMap<String, String>,
    /// The same values as a reader writes them (strings unquoted).
    pub shown: BTreeMap<String, String>,
    /// Metric → `(seed, value)` of every ok trial with a finite value, in seed order.
    pub values: BTreeMap<String, Vec<(u64, f64)>>,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Side {
    /// How the side is named in the output (a store folder, `method=x`, a baseline file).
    pub label: String,
    pub points: Vec<Point>,
    /// The side holds one mean per point and metric (a baseline file), not per-seed values.
    pub means_only: bool,
}

impl Side {
    /// The ok trials of `records`, one point per parameter setting, in the order of the sweep.
    pub fn from_records(label: &str, records: &[TrialRecord]) -> Side {
        let mut records: Vec<&TrialRecord> = records.iter().collect();
        records.sort_by_key(|r| r.order);
        let mut points: Vec<Point> = Vec::new();
        let mut index: BTreeMap<BTreeMap<String, String>, usize> = BTreeMap::new();
        for r in records.iter().filter(|r| r.status == Status::Ok) {
            let mut params = r.params.clone();
            params.insert("method".into(), Value::Str(r.method.clone()));
            let key: BTreeMap<String, String> = params
                .iter()
                .map(|(k, v)| (k.clone(), v.canonical()))
                .collect();
            let i = *index.entry(key.clone()).or_insert_with(|| {
                points.push(Point {
                    key,
                    shown: params
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_string()))
                        .collect(),
                    values: BTreeMap::new(),
                });
                points.len() - 1
            });
            for (m, v) in r.metrics.iter().filter(|(_, v)| v.is_finite()) {
                points[i]
                    .values
                    .entry(m.clone())
                    .or_default()
                    .push((r.seed, *v));
            }
        }
        for p in &mut points {
            for v in p.values.values_mut() {
                v.sort_by_key(|(seed, _)| *seed);
            }
        }
        Side {
            label: label.to_string(),
            points,
            means_only: false,
        }
    }

    /// Every metric some point of the side has.
    pub fn metrics(&self) -> BTreeSet<String> {
        self.points
            .iter()
            .flat_map(|p| p.values.keys().cloned())
            .collect()
    }

    /// The two groups `key = x` and `key = y` of this side, each without `key` (so that they
    /// match on every other parameter). `x` and `y` are written as a reader writes values:
    /// `method=subspace.angles`, `k=5`, `eps=0.5`. Err names the values `key` takes.
    pub fn split(&self, key: &str, x: &str, y: &str) -> Result<(Side, Side), String> {
        let taken: BTreeSet<&str> = self
            .points
            .iter()
            .filter_map(|p| p.shown.get(key).map(String::as_str))
            .collect();
        if taken.is_empty() {
            let names: BTreeSet<&str> = self
                .points
                .iter()
                .flat_map(|p| p.key.keys().map(String::as_str))
                .collect();
            return Err(format!(
                "--between {key}=…: no trial has a parameter `{key}`; the parameters are: {}",
                names.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        let group = |want: &str| -> Result<Side, String> {
            let points: Vec<Point> = self
                .points
                .iter()
                .filter(|p| p.shown.get(key).is_some_and(|v| same_text(v, want)))
                .map(|p| {
                    let mut p = p.clone();
                    p.key.remove(key);
                    p.shown.remove(key);
                    p
                })
                .collect();
            if points.is_empty() {
                return Err(format!(
                    "--between {key}={x},{y}: no ok trial has {key} = {want}; it takes: {}",
                    taken.iter().copied().collect::<Vec<_>>().join(", ")
                ));
            }
            Ok(Side {
                label: format!("{key}={want}"),
                points,
                means_only: false,
            })
        };
        Ok((group(x)?, group(y)?))
    }
}

/// A value as written on the command line against a stored one: the same text, or the same
/// number (`5` is `5.0`).
fn same_text(stored: &str, written: &str) -> bool {
    stored == written
        || matches!((stored.parse::<f64>(), written.parse::<f64>()), (Ok(a), Ok(b)) if a == b)
}

/// Two points that are the same setting, labelled by the parameters that vary.
#[derive(Debug)]
pub struct Pair<'a> {
    pub label: String,
    pub a: &'a Point,
    pub b: &'a Point,
}

/// The matched points, in the order of A, and the labels of those without a partner.
#[derive(Debug)]
pub struct Matched<'a> {
    pub pairs: Vec<Pair<'a>>,
    pub only_a: Vec<String>,
    pub only_b: Vec<String>,
}

/// Match the points of `a` and `b`. A means-only `a` (a baseline) matches the point of `b` that
/// agrees on every parameter the baseline names.
pub fn match_points<'a>(a: &'a Side, b: &'a Side) -> Matched<'a> {
    // A baseline names only the swept parameters: what varies is what varies in the store.
    let varying = if a.means_only {
        varying_keys(b.points.iter())
    } else {
        varying_keys(a.points.iter().chain(&b.points))
    };
    let label = |p: &Point| point_label(p, &varying);
    let agrees = |pa: &Point, pb: &Point| {
        if a.means_only {
            pa.key.iter().all(|(k, v)| pb.key.get(k) == Some(v))
        } else {
            pa.key == pb.key
        }
    };
    let mut used = vec![false; b.points.len()];
    let mut pairs = Vec::new();
    let mut only_a = Vec::new();
    for pa in &a.points {
        match b.points.iter().position(|pb| agrees(pa, pb)) {
            Some(j) if !used[j] => {
                used[j] = true;
                pairs.push(Pair {
                    label: label(&b.points[j]),
                    a: pa,
                    b: &b.points[j],
                });
            }
            _ => only_a.push(label(pa)),
        }
    }
    let only_b = b
        .points
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(p, _)| label(p))
        .collect();
    Matched {
        pairs,
        only_a,
        only_b,
    }
}

/// The parameters whose value is not the same at every point (a parameter some points lack
/// varies too).
fn varying_keys<'a>(points: impl Iterator<Item = &'a Point> + Clone) -> Vec<String> {
    let names: BTreeSet<&String> = points.clone().flat_map(|p| p.shown.keys()).collect();
    names
        .into_iter()
        .filter(|k| {
            let values: BTreeSet<Option<&String>> =
                points.clone().map(|p| p.shown.get(*k)).collect();
            values.len() > 1
        })
        .cloned()
        .collect()
}

fn point_label(p: &Point, varying: &[String]) -> String {
    if varying.is_empty() {
        return "(the one point)".into();
    }
    varying
        .iter()
        .map(|k| format!("{k}={}", p.shown.get(k).map_or("–", String::as_str)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The metrics `side` has and `other` has nowhere.
pub fn metrics_only(side: &Side, other: &Side) -> Vec<String> {
    let theirs = other.metrics();
    side.metrics()
        .into_iter()
        .filter(|m| !theirs.contains(m))
        .collect()
}

/// The values of one row, as the test that fits them sees them.
#[derive(Debug, Clone, PartialEq)]
pub enum Samples {
    /// Both sides have the same seeds: `(a, b)` per seed.
    Paired(Vec<(f64, f64)>),
    /// The seeds differ: independent samples.
    Unpaired(Vec<f64>, Vec<f64>),
    /// A is a saved mean (a baseline), B per-seed values.
    AgainstMean(f64, Vec<f64>),
}

/// Paired when both sides hold exactly the same set of seeds, each once; unpaired otherwise.
/// (A partial overlap, e.g. a `--quick` run against a full one, is compared unpaired on all
/// values rather than paired on a subset.)
pub fn pair_by_seed(a: &[(u64, f64)], b: &[(u64, f64)], a_is_means: bool) -> Samples {
    let ys: Vec<f64> = b.iter().map(|v| v.1).collect();
    if a_is_means {
        return Samples::AgainstMean(a.first().map_or(f64::NAN, |v| v.1), ys);
    }
    let seeds_a: Vec<u64> = a.iter().map(|v| v.0).collect();
    let seeds_b: Vec<u64> = b.iter().map(|v| v.0).collect();
    let unique = seeds_a.windows(2).all(|w| w[0] != w[1]);
    if !a.is_empty() && unique && seeds_a == seeds_b {
        return Samples::Paired(a.iter().zip(b).map(|(x, y)| (x.1, y.1)).collect());
    }
    Samples::Unpaired(a.iter().map(|v| v.1).collect(), ys)
}

/// `(compared, bit-identical)` values of a row: per seed when paired; unpaired, the sorted
/// values of the two sides (all or none); against a baseline, its one mean.
pub fn identical_values(samples: &Samples) -> (usize, usize) {
    let same = |x: f64, y: f64| x.to_bits() == y.to_bits();
    match samples {
        Samples::Paired(pairs) => (
            pairs.len(),
            pairs.iter().filter(|(x, y)| same(*x, *y)).count(),
        ),
        Samples::Unpaired(xs, ys) => {
            let sorted = |v: &[f64]| {
                let mut v = v.to_vec();
                v.sort_by(f64::total_cmp);
                v
            };
            let n = xs.len().max(ys.len());
            let all =
                xs.len() == ys.len() && sorted(xs).iter().zip(sorted(ys)).all(|(x, y)| same(*x, y));
            (n, if all { n } else { 0 })
        }
        Samples::AgainstMean(m, ys) => (1, usize::from(same(*m, crate::stats::mean(ys)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(key: &[(&str, &str)], metric: &str, values: &[(u64, f64)]) -> Point {
        Point {
            key: key
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            shown: key
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            values: [(metric.to_string(), values.to_vec())]
                .into_iter()
                .collect(),
        }
    }

    fn side(points: Vec<Point>) -> Side {
        Side {
            label: "s".into(),
            points,
            means_only: false,
        }
    }

    #[test]
    fn points_match_by_parameters_and_the_rest_is_listed() {
        let a = side(vec![
            point(&[("k", "1"), ("m", "x")], "v", &[(1, 1.0)]),
            point(&[("k", "2"), ("m", "x")], "v", &[(1, 1.0)]),
        ]);
        let b = side(vec![
            point(&[("k", "2"), ("m", "x")], "v", &[(1, 1.0)]),
            point(&[("k", "3"), ("m", "x")], "v", &[(1, 1.0)]),
        ]);
        let m = match_points(&a, &b);
        assert_eq!(m.pairs.len(), 1);
        assert_eq!(m.pairs[0].label, "k=2");
        assert_eq!(m.only_a, vec!["k=1"]);
        assert_eq!(m.only_b, vec!["k=3"]);
    }

    #[test]
    fn a_baseline_matches_on_the_parameters_it_names() {
        let mut a = side(vec![point(&[("k", "2")], "v", &[(0, 1.0)])]);
        a.means_only = true;
        let b = side(vec![
            point(&[("k", "1"), ("m", "x")], "v", &[(1, 1.0)]),
            point(&[("k", "2"), ("m", "x")], "v", &[(1, 1.0)]),
        ]);
        let m = match_points(&a, &b);
        assert_eq!(m.pairs.len(), 1);
        assert_eq!(m.pairs[0].b.key["k"], "2");
        assert_eq!(m.only_b, vec!["k=1"]);
    }

    #[test]
    fn same_seeds_pair_and_other_seeds_do_not() {
        let a = [(1, 1.0), (2, 2.0)];
        assert_eq!(
            pair_by_seed(&a, &[(1, 1.5), (2, 2.5)], false),
            Samples::Paired(vec![(1.0, 1.5), (2.0, 2.5)])
        );
        assert_eq!(
            pair_by_seed(&a, &[(1, 1.5), (3, 2.5)], false),
            Samples::Unpaired(vec![1.0, 2.0], vec![1.5, 2.5])
        );
        assert_eq!(
            identical_values(&Samples::Paired(vec![(1.0, 1.0), (2.0, 2.5)])),
            (2, 1)
        );
    }

    #[test]
    fn between_splits_one_side_and_names_what_is_wrong() {
        let s = side(vec![
            point(&[("k", "1"), ("method", "a")], "v", &[(1, 1.0)]),
            point(&[("k", "1"), ("method", "b")], "v", &[(2, 1.0)]),
        ]);
        let (a, b) = s.split("method", "a", "b").unwrap();
        assert_eq!(match_points(&a, &b).pairs.len(), 1);
        assert!(s
            .split("method", "a", "c")
            .unwrap_err()
            .contains("it takes: a, b"));
        assert!(s
            .split("x", "a", "b")
            .unwrap_err()
            .contains("parameters are: k, method"));
        let (a, _) = s.split("k", "1.0", "1").unwrap();
        assert_eq!(a.points.len(), 2);
    }
}
