//! Evaluation of `threshold` checks: the metric's statistic is above and/or below a value in
//! every matching group. Interval statistics (`ci_low`, `ci_high`) are family-wise: at the
//! check's `level` for all its groups at once. Grammar and validation:
//! [`harness::spec::ThresholdCheck`] (crates/harness/src/spec/checks.rs).

use harness::spec::{Stat, ThresholdCheck};

use super::family::Family;
use super::{describe_filter, group_label, no_data, num, outcome, pairs, Data, Judged};
use crate::aggregate::Stats;

/// The check on every group the filter selects; the first violation is the detail.
pub fn evaluate(check: &ThresholdCheck, data: &Data<'_>) -> Judged {
    let ThresholdCheck {
        metric,
        filter,
        stat,
        above,
        below,
        level,
    } = check;
    let filter = pairs(filter);
    let bounds = [
        above.map(|a| format!("> {}", num(a))),
        below.map(|b| format!("< {}", num(b))),
    ];
    let mut description = format!(
        "threshold: {} of {metric} {}{}",
        stat_name(*stat),
        bounds
            .iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" and "),
        describe_filter(&filter)
    );
    let groups = match data.groups(&filter, metric) {
        Ok(groups) => groups,
        Err(cause) => return no_data(description, cause),
    };
    let family = data.family(*level, groups.len());
    if matches!(stat, Stat::CiLow | Stat::CiHigh) {
        description.push_str(&format!(" ({} intervals)", family.describe()));
    }
    let values: Vec<(String, f64, &Stats)> = groups
        .iter()
        .map(|(g, s)| (group_label(data.agg, g), stat_value(s, *stat, &family), *s))
        .collect();
    let holds = |v: f64| above.is_none_or(|a| v > a) && below.is_none_or(|b| v < b);
    if let Some((label, v, _)) = values.iter().find(|(_, v, _)| !holds(*v)) {
        let mut judged = outcome(description, false, format!("{} at {label}", num(*v)));
        judged.decisive = decisive(check, &values, &family);
        judged.resolution = Some(resolution(&values, &family));
        return judged;
    }
    let lo = values.iter().map(|v| v.1).fold(f64::INFINITY, f64::min);
    let hi = values.iter().map(|v| v.1).fold(f64::NEG_INFINITY, f64::max);
    outcome(
        description,
        true,
        format!(
            "{} groups, values in [{}, {}]",
            values.len(),
            num(lo),
            num(hi)
        ),
    )
}

/// A failure is evidence against the claim when some group's family-wise interval lies wholly
/// on the failing side of a bound. A `min`/`max` is a statement about the trials themselves:
/// one trial past the bound decides.
fn decisive(check: &ThresholdCheck, values: &[(String, f64, &Stats)], family: &Family) -> bool {
    if matches!(check.stat, Stat::Min | Stat::Max) {
        return true;
    }
    values.iter().any(|(_, _, s)| {
        let (lo, hi) = family.interval(s);
        check.above.is_some_and(|a| hi <= a) || check.below.is_some_and(|b| lo >= b)
    })
}

/// `the sweep resolves differences from the mean of ±h (…)`: the widest member interval.
fn resolution(values: &[(String, f64, &Stats)], family: &Family) -> String {
    let widest =
        values
            .iter()
            .map(|(_, _, s)| family.half_width(s))
            .fold(f64::NEG_INFINITY, |a, b| {
                if b.is_nan() {
                    f64::NAN
                } else {
                    a.max(b)
                }
            });
    if widest.is_nan() {
        "a group has one ok trial, so no interval; add seeds".into()
    } else {
        format!(
            "the smallest effect its seeds resolve is ±{} around each mean ({} intervals); add seeds to decide",
            num(widest),
            family.describe()
        )
    }
}

fn stat_name(stat: Stat) -> &'static str {
    match stat {
        Stat::Mean => "mean",
        Stat::CiLow => "ci_low",
        Stat::CiHigh => "ci_high",
        Stat::Min => "min",
        Stat::Max => "max",
    }
}

fn stat_value(s: &Stats, stat: Stat, family: &Family) -> f64 {
    match stat {
        Stat::Mean => s.mean,
        Stat::CiLow => family.interval(s).0,
        Stat::CiHigh => family.interval(s).1,
        Stat::Min => s.min,
        Stat::Max => s.max,
    }
}
