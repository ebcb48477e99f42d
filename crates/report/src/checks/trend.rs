//! Evaluation of `trend` checks: monotone in a parameter, or a fitted log-log slope within
//! bounds, one line per combination of the other parameters. Grammar and validation:
//! [`harness::spec::TrendCheck`] (crates/harness/src/spec/checks.rs).

use std::collections::BTreeMap;

use harness::spec::{Monotone, TrendCheck};
use harness::Value;

use super::{describe_filter, num, outcome, pairs, CheckOutcome};
use crate::aggregate::{Aggregate, Stats};
use crate::stats::t_critical_95;

/// The check on every line of means along `along`; each failing line is in the detail.
pub fn evaluate(check: &TrendCheck, agg: &Aggregate) -> CheckOutcome {
    let TrendCheck {
        metric,
        along,
        filter,
        monotone,
        slope,
        strict,
    } = check;
    let filter = pairs(filter);
    let judged = if *strict {
        ""
    } else {
        " (judged against the 95% intervals)"
    };
    let description = match (monotone, slope) {
        (Some(m), _) => format!(
            "trend: {metric} {m:?} in {along}{}{judged}",
            describe_filter(&filter)
        )
        .to_lowercase(),
        (_, Some([lo, hi])) => format!(
            "trend: log-log slope of {metric} in {along} within [{}, {}]{}{judged}",
            num(*lo),
            num(*hi),
            describe_filter(&filter)
        ),
        _ => format!("trend: {metric} in {along}"),
    };
    // One line per combination of the other keys.
    let mut lines: BTreeMap<String, Vec<(f64, Stats)>> = BTreeMap::new();
    for g in agg.matching(&filter) {
        let (Some(x), Some(s)) = (
            agg.value_of(g, along).and_then(Value::as_f64),
            g.metrics.get(metric),
        ) else {
            continue;
        };
        let label: Vec<String> = agg
            .keys
            .iter()
            .zip(&g.key)
            .filter(|(k, _)| *k != along)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        lines.entry(label.join(", ")).or_default().push((x, *s));
    }
    lines.retain(|_, points| points.len() >= 2);
    if lines.is_empty() {
        return outcome(
            description,
            false,
            format!("no line with two or more values of `{along}`"),
        );
    }
    let mut details = Vec::new();
    let mut passed = true;
    for (label, mut points) in lines {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let label = if label.is_empty() {
            "all".to_string()
        } else {
            label
        };
        if let Some(m) = monotone {
            if let Some(detail) = monotone_violation(&points, *m, *strict, along) {
                passed = false;
                details.push(format!("{label}: {detail}"));
            }
        }
        if let Some([lo, hi]) = slope {
            let logs: Vec<(f64, f64)> = points
                .iter()
                .filter(|(x, s)| *x > 0.0 && s.mean > 0.0)
                .map(|(x, s)| (x.ln(), s.mean.ln()))
                .collect();
            let fit = least_squares_fit(&logs);
            let ok = fit.is_some_and(|f| {
                // The fit's 95% interval where it has one (three or more points).
                let half = if *strict || f.se.is_nan() {
                    0.0
                } else {
                    t_critical_95((logs.len() - 2) as f64) * f.se
                };
                f.slope + half >= *lo && f.slope - half <= *hi
            });
            passed &= ok;
            details.push(format!(
                "{label}: slope {}",
                fit.map_or("undefined".into(), |f| if f.se.is_nan() {
                    num(f.slope)
                } else {
                    format!("{} ± {} (s.e.)", num(f.slope), num(f.se))
                })
            ));
        }
    }
    if details.is_empty() {
        details.push("every line is monotone".into());
    }
    outcome(description, passed, details.join("; "))
}

/// The first step of `points` (sorted by x) against the trend, described; `None` when the line
/// is monotone. Strict: any step of the means against the trend. Otherwise a step counts only
/// when the two 95% intervals are separated (a group without an interval, n = 1, compares its
/// mean), and the first and last means must go the trend's way.
fn monotone_violation(
    points: &[(f64, Stats)],
    trend: Monotone,
    strict: bool,
    along: &str,
) -> Option<String> {
    // `against(a, b)`: going from a to b is a step against the trend.
    let against = |a: &Stats, b: &Stats| -> bool {
        let (lower, upper) = match trend {
            Monotone::Increasing => (b, a),
            Monotone::Decreasing => (a, b),
        };
        if strict || lower.ci_high.is_nan() || upper.ci_low.is_nan() {
            lower.mean < upper.mean
        } else {
            lower.ci_high < upper.ci_low
        }
    };
    let describe = |a: &(f64, Stats), b: &(f64, Stats), what: &str| {
        format!(
            "{} at {along}={} then {} at {}{what}",
            num(a.1.mean),
            num(a.0),
            num(b.1.mean),
            num(b.0)
        )
    };
    if let Some(w) = points.windows(2).find(|w| against(&w[0].1, &w[1].1)) {
        let what = if strict {
            ""
        } else {
            " (95% intervals separated)"
        };
        return Some(describe(&w[0], &w[1], what));
    }
    let (first, last) = (points.first()?, points.last()?);
    let overall_against = match trend {
        Monotone::Increasing => last.1.mean <= first.1.mean,
        Monotone::Decreasing => last.1.mean >= first.1.mean,
    };
    (!strict && overall_against).then(|| describe(first, last, " (no change from first to last)"))
}

/// A least-squares line: its slope and the slope's standard error (NaN with two points).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineFit {
    pub slope: f64,
    pub se: f64,
}

/// The least-squares line through `points`; `None` with fewer than two distinct x.
pub fn least_squares_fit(points: &[(f64, f64)]) -> Option<LineFit> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let se = if points.len() > 2 {
        let sse: f64 = points
            .iter()
            .map(|p| (p.1 - my - slope * (p.0 - mx)).powi(2))
            .sum();
        (sse / (n - 2.0) / sxx).sqrt()
    } else {
        f64::NAN
    };
    Some(LineFit { slope, se })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The standard error of the slope in closed form: for x = 0, 1, 2, 3 and residuals
    /// (e, −e, −e, e) around the line, SSE = 4e², Sxx = 5, se = √(4e²/2/5).
    #[test]
    fn slope_standard_error_matches_the_closed_form() {
        let e = 0.1;
        let residuals = [e, -e, -e, e];
        let points: Vec<(f64, f64)> = (0..4)
            .map(|i| (i as f64, 1.0 + 0.5 * i as f64 + residuals[i]))
            .collect();
        let fit = least_squares_fit(&points).unwrap();
        let expected = (4.0 * e * e / 2.0 / 5.0_f64).sqrt();
        assert!((fit.slope - 0.5).abs() <= 8.0 * f64::EPSILON);
        assert!((fit.se - expected).abs() <= 8.0 * f64::EPSILON * expected);
    }

    fn stats(mean: f64, half: f64) -> Stats {
        Stats {
            n: 5,
            mean,
            std: f64::NAN,
            median: mean,
            min: mean,
            max: mean,
            ci_low: mean - half,
            ci_high: mean + half,
        }
    }

    #[test]
    fn a_monotone_trend_judged_against_intervals_forgives_noise_not_reversals() {
        let line = |means: &[(f64, f64)]| -> Vec<(f64, Stats)> {
            means
                .iter()
                .enumerate()
                .map(|(i, &(m, h))| (i as f64, stats(m, h)))
                .collect()
        };
        let inc = Monotone::Increasing;
        // 0.927 → 0.918 within overlapping intervals: noise, unless strict.
        let noisy = line(&[(0.90, 0.01), (0.927, 0.01), (0.918, 0.01), (0.95, 0.01)]);
        assert!(monotone_violation(&noisy, inc, true, "k").is_some());
        assert!(monotone_violation(&noisy, inc, false, "k").is_none());
        // A drop with separated intervals is a reversal either way.
        let reversal = line(&[(0.90, 0.01), (0.95, 0.01), (0.91, 0.01), (0.96, 0.01)]);
        let detail = monotone_violation(&reversal, inc, false, "k").unwrap();
        assert!(detail.contains("intervals separated"), "{detail}");
        // A flat line is not a trend, however wide its intervals.
        let flat = line(&[(0.9, 0.5), (0.95, 0.5), (0.9, 0.5)]);
        assert!(monotone_violation(&flat, inc, false, "k").is_some());
        // Without intervals (one seed) the means are compared as they are.
        let single = line(&[(1.0, f64::NAN), (0.99, f64::NAN), (2.0, f64::NAN)]);
        assert!(monotone_violation(&single, inc, false, "k").is_some());
    }
}
