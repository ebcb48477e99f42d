//! The verdict of each row, after the Benjamini–Hochberg step over every row of one command.
//!
//! In this order:
//! 1. too few values for an interval (one seed per side) → `inconclusive`, never a verdict;
//! 2. the 95% interval lies inside `[−margin, margin]` → `unchanged` (an equivalence statement:
//!    a difference this small is no change, whatever its p-value);
//! 3. the BH-adjusted p-value is at most the FDR level → `better` or `worse` by the metric's
//!    direction and the sign of the difference, `changed` for a metric without a direction;
//! 4. otherwise → `inconclusive`: neither a change nor its absence is shown.

use serde::Serialize;

use super::estimate::Design;
use super::Row;
use crate::stats::benjamini_hochberg;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Worse,
    Changed,
    Inconclusive,
    Better,
    Unchanged,
}

impl Verdict {
    /// Worst first: the order of the table and of the summary line.
    pub const ALL: [Verdict; 5] = [
        Verdict::Worse,
        Verdict::Changed,
        Verdict::Inconclusive,
        Verdict::Better,
        Verdict::Unchanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Worse => "worse",
            Verdict::Changed => "changed",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Better => "better",
            Verdict::Unchanged => "unchanged",
        }
    }

    /// A difference was declared (what `--fail-on changed` fails on; `worse` fails on less).
    pub fn is_change(self) -> bool {
        matches!(self, Verdict::Worse | Verdict::Changed | Verdict::Better)
    }
}

/// Set `q` (BH over every row with a p-value) and the verdict of every row.
pub fn decide(rows: &mut [Row], fdr: f64) {
    let p: Vec<f64> = rows.iter().map(|r| r.estimate.p).collect();
    for (row, q) in rows.iter_mut().zip(benjamini_hochberg(&p)) {
        row.q = q;
        row.verdict = verdict(row, fdr);
    }
}

fn verdict(row: &Row, fdr: f64) -> Verdict {
    let e = &row.estimate;
    if e.design == Design::TooFew || e.low.is_nan() || e.high.is_nan() {
        return Verdict::Inconclusive;
    }
    if e.low >= -row.margin && e.high <= row.margin {
        return Verdict::Unchanged;
    }
    if row.q <= fdr {
        return match (row.better, e.diff > 0.0) {
            ("higher", true) | ("lower", false) => Verdict::Better,
            ("higher", false) | ("lower", true) => Verdict::Worse,
            _ => Verdict::Changed,
        };
    }
    Verdict::Inconclusive
}

/// Group by metric, the metric with the worst row first; within a metric, worst verdict first,
/// then the smallest p-value.
pub fn sort_worst_first(rows: &mut [Row]) {
    let mut worst: std::collections::BTreeMap<String, (Verdict, usize)> = Default::default();
    for (i, r) in rows.iter().enumerate() {
        let entry = worst.entry(r.metric.clone()).or_insert((r.verdict, i));
        entry.0 = entry.0.min(r.verdict);
    }
    rows.sort_by(|a, b| {
        let (wa, fa) = worst[&a.metric];
        let (wb, fb) = worst[&b.metric];
        (wa, fa)
            .cmp(&(wb, fb))
            .then(a.verdict.cmp(&b.verdict))
            .then(a.q.total_cmp(&b.q))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::Estimate;

    fn row(metric: &str, better: &'static str, low: f64, high: f64, p: f64) -> Row {
        Row {
            metric: metric.into(),
            point: "x".into(),
            n_a: 5,
            n_b: 5,
            mean_a: 1.0,
            mean_b: 1.0 + 0.5 * (low + high),
            estimate: Estimate {
                design: Design::Welch,
                diff: 0.5 * (low + high),
                low,
                high,
                p,
                df: 8.0,
            },
            ratio: 1.0,
            q: f64::NAN,
            margin: 0.1,
            identical: false,
            values: 5,
            identical_values: 0,
            reproducible: true,
            better,
            verdict: Verdict::Inconclusive,
        }
    }

    #[test]
    fn each_verdict_from_its_rule() {
        let mut rows = vec![
            row("a", "higher", 0.5, 1.5, 0.001),
            row("a", "lower", 0.5, 1.5, 0.001),
            row("b", "", -1.5, -0.5, 0.001),
            row("c", "higher", -0.05, 0.05, 0.9),
            row("c", "higher", -0.5, 1.5, 0.3),
            // Significant, but inside the margin: no change that matters.
            row("d", "higher", 0.01, 0.09, 0.0001),
        ];
        decide(&mut rows, 0.05);
        let got: Vec<&str> = rows.iter().map(|r| r.verdict.as_str()).collect();
        assert_eq!(
            got,
            [
                "better",
                "worse",
                "changed",
                "unchanged",
                "inconclusive",
                "unchanged"
            ]
        );
    }

    #[test]
    fn bh_adjusts_across_the_rows() {
        // p = 0.03 alone is a change; among 10 rows of p = 0.03..0.9 it is not.
        let mut alone = vec![row("a", "higher", 0.2, 1.0, 0.03)];
        decide(&mut alone, 0.05);
        assert_eq!(alone[0].verdict, Verdict::Better);
        let mut many: Vec<Row> = (0..10)
            .map(|i| row("a", "higher", 0.2, 1.0, 0.03 + 0.09 * i as f64))
            .collect();
        decide(&mut many, 0.05);
        assert_eq!(many[0].verdict, Verdict::Inconclusive);
        assert!((many[0].q - 0.3).abs() < 1e-12);
    }

    #[test]
    fn one_seed_is_inconclusive_and_worst_comes_first() {
        let mut few = row("a", "higher", f64::NAN, f64::NAN, f64::NAN);
        few.estimate.design = Design::TooFew;
        let mut rows = vec![
            row("z", "higher", -0.05, 0.05, 0.9),
            few,
            row("m", "higher", -1.5, -0.5, 0.001),
        ];
        decide(&mut rows, 0.05);
        sort_worst_first(&mut rows);
        let got: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.metric.as_str(), r.verdict.as_str()))
            .collect();
        assert_eq!(
            got,
            [("m", "worse"), ("a", "inconclusive"), ("z", "unchanged")]
        );
    }
}
