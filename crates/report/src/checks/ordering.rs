//! Evaluation of `ordering` checks: groups matching `better` beat those matching `worse` in the
//! metric's good direction, pairing the other parameters. Grammar and validation:
//! [`harness::spec::OrderingCheck`] (crates/harness/src/spec/checks.rs).

use harness::spec::{Better, OrderingCheck};
use harness::Spec;

use super::{describe_filter, group_label, num, outcome, pairs, CheckOutcome};
use crate::aggregate::Aggregate;

/// The check on every pair of groups that differ only in the `better`/`worse` parameters; the
/// tightest pair is the detail.
pub fn evaluate(check: &OrderingCheck, spec: &Spec, agg: &Aggregate) -> CheckOutcome {
    let OrderingCheck {
        metric,
        better,
        worse,
        filter,
        margin,
        ci_separated,
    } = check;
    let direction = spec
        .metrics
        .get(metric)
        .map_or(Better::Higher, |m| m.better);
    let lower_is_better = direction == Better::Lower;
    let description = format!(
        "ordering: {metric} of {} {} {} by {}{}{}",
        describe_filter(&pairs(better)).trim_start_matches(" where "),
        if lower_is_better { "below" } else { "above" },
        describe_filter(&pairs(worse)).trim_start_matches(" where "),
        margin,
        if *ci_separated {
            " with separated 95% intervals"
        } else {
            ""
        },
        describe_filter(&pairs(filter))
    );
    let mut b_filter = pairs(filter);
    b_filter.extend(pairs(better));
    let mut w_filter = pairs(filter);
    w_filter.extend(pairs(worse));
    // A parameter only one side's method has, or one each method keeps at its own value, does
    // not keep two methods from being compared (see `crate::grouping`).
    let varying: Vec<&str> = better
        .keys()
        .chain(worse.keys())
        .map(String::as_str)
        .collect();
    let mut compared = 0;
    let mut worst: Option<(f64, String)> = None;
    for b in agg.matching(&b_filter) {
        let Some(bs) = b.metrics.get(metric) else {
            continue;
        };
        let partner = agg
            .matching(&w_filter)
            .find(|w| agg.same_setting(b, w, &varying));
        let Some(ws) = partner.and_then(|w| w.metrics.get(metric)) else {
            continue;
        };
        compared += 1;
        // Signed advantage of `better` over `worse` in the metric's good direction.
        let (gap, ci_gap) = if lower_is_better {
            (ws.mean - bs.mean, ws.ci_low - bs.ci_high)
        } else {
            (bs.mean - ws.mean, bs.ci_low - ws.ci_high)
        };
        let slack = if *ci_separated {
            (gap - margin).min(ci_gap)
        } else {
            gap - margin
        };
        if worst.as_ref().is_none_or(|(s, _)| slack < *s) {
            worst = Some((
                slack,
                format!(
                    "{} vs {} at {}",
                    num(bs.mean),
                    num(ws.mean),
                    group_label(agg, b)
                ),
            ));
        }
    }
    match worst {
        None => outcome(description, false, "no pair of groups to compare".into()),
        Some((slack, at)) => outcome(
            description,
            slack >= 0.0,
            format!("{compared} pairs; tightest: {at}"),
        ),
    }
}
