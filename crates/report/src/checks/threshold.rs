//! Evaluation of `threshold` checks: the metric's statistic is above and/or below a value in
//! every matching group. Grammar and validation: [`harness::spec::ThresholdCheck`]
//! (crates/harness/src/spec/checks.rs).

use harness::spec::{Stat, ThresholdCheck};

use super::{describe_filter, group_label, num, outcome, pairs, CheckOutcome};
use crate::aggregate::{Aggregate, Stats};

/// The check on every group the filter selects; the first violation is the detail.
pub fn evaluate(check: &ThresholdCheck, agg: &Aggregate) -> CheckOutcome {
    let ThresholdCheck {
        metric,
        filter,
        stat,
        above,
        below,
    } = check;
    let filter = pairs(filter);
    let bounds = [
        above.map(|a| format!("> {}", num(a))),
        below.map(|b| format!("< {}", num(b))),
    ];
    let description = format!(
        "threshold: {stat:?} of {metric} {}{}",
        bounds
            .iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" and "),
        describe_filter(&filter)
    )
    .to_lowercase();
    let values: Vec<(String, f64)> = agg
        .matching(&filter)
        .filter_map(|g| {
            g.metrics
                .get(metric)
                .map(|s| (group_label(agg, g), stat_value(s, *stat)))
        })
        .collect();
    if values.is_empty() {
        return outcome(description, false, "no group with ok trials matches".into());
    }
    let violation = values
        .iter()
        .find(|(_, v)| !(above.is_none_or(|a| *v > a) && below.is_none_or(|b| *v < b)));
    match violation {
        Some((label, v)) => outcome(description, false, format!("{} at {label}", num(*v))),
        None => {
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
    }
}

fn stat_value(s: &Stats, stat: Stat) -> f64 {
    match stat {
        Stat::Mean => s.mean,
        Stat::CiLow => s.ci_low,
        Stat::CiHigh => s.ci_high,
        Stat::Min => s.min,
        Stat::Max => s.max,
    }
}
