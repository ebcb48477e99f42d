//! Evaluation of `trend` checks: monotone in a parameter, or a fitted log-log slope within
//! bounds, one line per combination of the other parameters. Grammar and validation:
//! [`harness::spec::TrendCheck`] (crates/harness/src/spec/checks.rs).

use std::collections::BTreeMap;

use harness::spec::{Monotone, TrendCheck};
use harness::Value;

use super::family::Family;
use super::{describe_filter, no_data, num, outcome, pairs, Data, Judged};
use crate::aggregate::Stats;
use crate::stats::{student_t_quantile, t_critical_95};

/// A trend is a statement about a shape: two points are an ordering (and must be written as
/// one), so every line needs this many values of `along`.
pub const MIN_POINTS: usize = 3;

/// The check on every line of means along `along`; each failing line is in the detail.
pub fn evaluate(check: &TrendCheck, data: &Data<'_>) -> Judged {
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
        " (each step's means strictly in that direction)"
    } else {
        " (judged against the 95% intervals: no step against it with separated intervals, first and last separated)"
    };
    let description = match (monotone, slope) {
        (Some(m), _) => format!(
            "trend: {metric} {} in {along}{}{judged}",
            match m {
                Monotone::Increasing => "increasing",
                Monotone::Decreasing => "decreasing",
            },
            describe_filter(&filter)
        ),
        (_, Some([lo, hi])) => format!(
            "trend: log-log slope of {metric} in {along} within [{}, {}]{}{}",
            num(*lo),
            num(*hi),
            describe_filter(&filter),
            if *strict {
                ""
            } else {
                " (judged against the fit's 95% interval)"
            }
        ),
        _ => format!("trend: {metric} in {along}"),
    };
    let groups = match data.groups(&filter, metric) {
        Ok(groups) => groups,
        Err(cause) => return no_data(description, cause),
    };
    // One line per combination of the other keys.
    let agg = data.agg;
    let mut lines: BTreeMap<String, Vec<(f64, Stats)>> = BTreeMap::new();
    for (g, s) in groups {
        let Some(x) = agg.value_of(g, along).and_then(Value::as_f64) else {
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
    if let Some((label, points)) = lines.iter().find(|(_, p)| p.len() < MIN_POINTS) {
        return no_data(
            description,
            format!(
                "the line {} has {} value(s) of `{along}`; a trend needs at least {MIN_POINTS} (write two points as an ordering)",
                if label.is_empty() { "of all trials" } else { label },
                points.len()
            ),
        );
    }
    let members = lines.values().map(Vec::len).sum();
    let family = data.family(0.95, members);
    let mut details = Vec::new();
    let (mut passed, mut decisive) = (true, false);
    let mut resolution = 0.0_f64;
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
            decisive |= reversal_evidence(&points, *m, &family);
            for (_, s) in &points {
                resolution = resolution.max(2.0 * family.half_width(s));
            }
        }
        if let Some([lo, hi]) = slope {
            if let Some(bad) = points.iter().find(|(x, s)| !(*x > 0.0 && s.mean > 0.0)) {
                return no_data(
                    description,
                    format!(
                        "{label}: a log-log slope needs positive values; {along}={} has mean {}",
                        num(bad.0),
                        num(bad.1.mean)
                    ),
                );
            }
            let logs: Vec<(f64, f64)> = points.iter().map(|(x, s)| (x.ln(), s.mean.ln())).collect();
            let fit = least_squares_fit(&logs);
            let half = |f: &LineFit, level: f64| {
                if f.se.is_nan() {
                    f64::NAN
                } else {
                    student_t_quantile(0.5 + 0.5 * level, (logs.len() - 2) as f64) * f.se
                }
            };
            let ok = fit.is_some_and(|f| {
                // The fit's 95% interval where it has one (three or more points).
                let h = if *strict {
                    0.0
                } else {
                    t_critical_95((logs.len() - 2) as f64) * f.se
                };
                let h = if h.is_nan() { 0.0 } else { h };
                f.slope + h >= *lo && f.slope - h <= *hi
            });
            if let Some(f) = fit {
                let h = half(&f, family.per_member());
                decisive |= f.slope + h < *lo || f.slope - h > *hi;
                resolution = resolution.max(h);
            }
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
    let mut judged = outcome(description, passed, details.join("; "));
    judged.decisive = decisive;
    judged.resolution = Some(format!(
        "steps (or slope deviations) smaller than {} cannot be resolved ({} intervals); add seeds to decide",
        num(resolution),
        family.describe()
    ));
    judged
}

/// Evidence against a monotone trend: two points, in either order along the line, whose
/// family-wise intervals are separated the wrong way.
fn reversal_evidence(points: &[(f64, Stats)], trend: Monotone, family: &Family) -> bool {
    points.iter().enumerate().any(|(i, (_, a))| {
        points[i + 1..].iter().any(|(_, b)| {
            let ((alo, ahi), (blo, bhi)) = (family.interval(a), family.interval(b));
            match trend {
                Monotone::Increasing => bhi < alo,
                Monotone::Decreasing => ahi < blo,
            }
        })
    })
}

/// The first step of `points` (sorted by x) against the trend, described; `None` when the line
/// is monotone. Strict: every step of the means goes strictly the trend's way (a flat step is
/// not a trend). Otherwise a step counts against it only when the two 95% intervals are
/// separated (a group without an interval, n = 1, compares its mean), and the first and last
/// 95% intervals must be separated the trend's way.
fn monotone_violation(
    points: &[(f64, Stats)],
    trend: Monotone,
    strict: bool,
    along: &str,
) -> Option<String> {
    // (lower, upper) of a step from a to b in the trend's order: lower must be below upper.
    let order = |a: &Stats, b: &Stats| -> (Stats, Stats) {
        match trend {
            Monotone::Increasing => (*a, *b),
            Monotone::Decreasing => (*b, *a),
        }
    };
    let no_interval = |s: &Stats| s.ci_low.is_nan() || s.ci_high.is_nan();
    // `against(a, b)`: going from a to b is a step against the trend.
    let against = |a: &Stats, b: &Stats| -> bool {
        let (lower, upper) = order(a, b);
        if strict || no_interval(&lower) || no_interval(&upper) {
            lower.mean >= upper.mean
        } else {
            lower.ci_low > upper.ci_high
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
            " (means not strictly in the trend's direction)"
        } else {
            " (95% intervals separated)"
        };
        return Some(describe(&w[0], &w[1], what));
    }
    let (first, last) = (points.first()?, points.last()?);
    let (lower, upper) = order(&first.1, &last.1);
    let separated = if no_interval(&lower) || no_interval(&upper) {
        lower.mean < upper.mean
    } else {
        lower.ci_high < upper.ci_low
    };
    (!strict && !separated)
        .then(|| describe(first, last, " (first and last 95% intervals not separated)"))
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
