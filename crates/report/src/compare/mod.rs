//! `subbench compare`: two result sets (two stores of one spec, two groups of one store, or a
//! saved baseline and a store), every metric at every matched point, a statistical verdict.
//!
//! - [`matching`]: the two sides as points (parameters → per-seed values), matched by their
//!   parameters; points and metrics present on one side only are listed.
//! - [`estimate`]: per matched point and metric, the difference of the means, its 95% interval
//!   and a p-value (paired t on per-seed differences when the seeds match, Welch otherwise, a
//!   one-sample t against a baseline's means, or a seeded percentile bootstrap).
//! - [`verdict`]: Benjamini–Hochberg across all rows of one command, then better / worse /
//!   changed / unchanged / inconclusive per row.
//! - [`render`]: the terminal table, Markdown, CSV and JSON; [`forest`]: the HTML page with a
//!   forest plot per metric.
//!
//! What error rate it controls: among the rows called better, worse or changed, the expected
//! share of rows whose two sides have the same mean is at most `fdr` (BH, for independent or
//! positively dependent tests); when nothing changed at all, that is the probability of any
//! such row. `unchanged` is an equivalence statement (the 95% interval lies inside the margin).

pub mod estimate;
pub mod forest;
pub mod input;
pub mod matching;
pub mod render;
pub mod verdict;

use harness::spec::Better;
use serde::Serialize;

pub use estimate::{Design, Estimate};
pub use matching::{Point, Side};
pub use verdict::Verdict;

/// What the comparison knows of a metric: its direction, whether it is reproducible bit for bit
/// (timings are not), and the margin within which a difference counts as none.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricInfo {
    pub name: String,
    pub better: Better,
    pub reproducible: bool,
    pub margin: Margin,
}

/// A difference within `abs + rel·|mean of A|` of zero is no change (`--equivalence`, or the
/// spec's baseline tolerance).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Margin {
    pub abs: f64,
    pub rel: f64,
}

impl Margin {
    /// The margin at a point whose A side has mean `reference`.
    pub fn at(&self, reference: f64) -> f64 {
        let m = self.abs + self.rel * reference.abs();
        if m.is_finite() {
            m
        } else {
            self.abs
        }
    }
}

/// How the comparison is computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// The false discovery rate of the Benjamini–Hochberg step (`--fdr`).
    pub fdr: f64,
    /// `Some(seed)`: percentile-bootstrap intervals and p-values, seeded (`--bootstrap`).
    pub bootstrap: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fdr: 0.05,
            bootstrap: None,
        }
    }
}

/// One matched point and metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub metric: String,
    /// The point's parameters that differ between points (`k=v, k=v`).
    pub point: String,
    pub n_a: usize,
    pub n_b: usize,
    pub mean_a: f64,
    pub mean_b: f64,
    /// `mean_b − mean_a`, its 95% interval, p-value and how they were computed.
    #[serde(flatten)]
    pub estimate: Estimate,
    /// `mean_b / mean_a` (NaN when `mean_a` is 0).
    pub ratio: f64,
    /// Benjamini–Hochberg adjusted p-value across every row of the command.
    pub q: f64,
    /// The margin of `unchanged` at this point.
    pub margin: f64,
    /// Every value of B equals its counterpart in A bit for bit.
    pub identical: bool,
    /// Values compared, and how many of them are bit-identical.
    pub values: usize,
    pub identical_values: usize,
    pub reproducible: bool,
    pub better: &'static str,
    pub verdict: Verdict,
}

/// The result of one command.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    pub fdr: f64,
    pub rows: Vec<Row>,
    pub points_only_a: Vec<String>,
    pub points_only_b: Vec<String>,
    pub metrics_only_a: Vec<String>,
    pub metrics_only_b: Vec<String>,
}

/// Compare the sides `a` and `b` on `metrics` (those the two sides share, in this order).
pub fn compare(a: &Side, b: &Side, metrics: &[MetricInfo], options: &Options) -> Comparison {
    let matched = matching::match_points(a, b);
    let mut rows = Vec::new();
    for info in metrics {
        for pair in &matched.pairs {
            let (Some(va), Some(vb)) =
                (pair.a.values.get(&info.name), pair.b.values.get(&info.name))
            else {
                continue;
            };
            rows.push(row(info, &pair.label, va, vb, a.means_only, options));
        }
    }
    verdict::decide(&mut rows, options.fdr);
    verdict::sort_worst_first(&mut rows);
    Comparison {
        a: a.label.clone(),
        b: b.label.clone(),
        fdr: options.fdr,
        rows,
        points_only_a: matched.only_a,
        points_only_b: matched.only_b,
        metrics_only_a: matching::metrics_only(a, b),
        metrics_only_b: matching::metrics_only(b, a),
    }
}

fn row(
    info: &MetricInfo,
    label: &str,
    a: &[(u64, f64)],
    b: &[(u64, f64)],
    a_is_means: bool,
    options: &Options,
) -> Row {
    let xs: Vec<f64> = a.iter().map(|v| v.1).collect();
    let ys: Vec<f64> = b.iter().map(|v| v.1).collect();
    let (mean_a, mean_b) = (crate::stats::mean(&xs), crate::stats::mean(&ys));
    let samples = matching::pair_by_seed(a, b, a_is_means);
    let salt = row_salt(&info.name, label);
    let estimate = estimate::estimate(&samples, options.bootstrap.map(|s| s ^ salt));
    let (values, identical_values) = matching::identical_values(&samples);
    Row {
        metric: info.name.clone(),
        point: label.to_string(),
        n_a: xs.len(),
        n_b: ys.len(),
        mean_a,
        mean_b,
        ratio: if mean_a == 0.0 {
            f64::NAN
        } else {
            mean_b / mean_a
        },
        estimate,
        q: f64::NAN,
        margin: info.margin.at(mean_a),
        identical: values > 0 && identical_values == values,
        values,
        identical_values,
        reproducible: info.reproducible,
        better: match info.better {
            Better::Higher => "higher",
            Better::Lower => "lower",
            Better::None => "",
        },
        verdict: Verdict::Inconclusive,
    }
}

/// A stable per-row salt (FNV-1a of metric and point) for the bootstrap generator, so that a
/// row's resamples do not depend on which other rows the command compares or their order.
fn row_salt(metric: &str, point: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64;
    for byte in metric.bytes().chain([0]).chain(point.bytes()) {
        h = (h ^ byte as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Comparison {
    /// How many rows have each verdict.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.rows.iter().filter(|r| r.verdict == verdict).count()
    }

    /// `(identical, compared)` values over every row.
    pub fn identical_values(&self) -> (usize, usize) {
        self.rows
            .iter()
            .fold((0, 0), |(i, n), r| (i + r.identical_values, n + r.values))
    }

    /// `3 worse, 1 better, 290 unchanged, 18 inconclusive; identical: 312 of 312 values`, plus
    /// what one side lacks.
    pub fn summary_line(&self) -> String {
        let mut parts: Vec<String> = Verdict::ALL
            .iter()
            .map(|v| (v, self.count(*v)))
            .filter(|(_, n)| *n > 0)
            .map(|(v, n)| format!("{n} {}", v.as_str()))
            .collect();
        if parts.is_empty() {
            parts.push("no rows".into());
        }
        let (same, total) = self.identical_values();
        let mut line = format!("{}; identical: {same} of {total} values", parts.join(", "));
        for (n, what) in [
            (
                self.points_only_a.len(),
                format!("points only in {}", self.a),
            ),
            (
                self.points_only_b.len(),
                format!("points only in {}", self.b),
            ),
            (
                self.metrics_only_a.len(),
                format!("metrics only in {}", self.a),
            ),
            (
                self.metrics_only_b.len(),
                format!("metrics only in {}", self.b),
            ),
        ] {
            if n > 0 {
                line.push_str(&format!("; {n} {what}"));
            }
        }
        line
    }
}
