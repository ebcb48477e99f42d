//! Evaluation of `ordering` checks: groups matching `better` beat those matching `worse` in the
//! metric's good direction, pairing the other parameters. A tie is not an order: with margin 0
//! the better mean must be strictly better; with a positive margin, better by at least it.
//! With `ci_separated`, the intervals (family-wise over every group compared) must not touch.
//! Grammar and validation: [`harness::spec::OrderingCheck`] (crates/harness/src/spec/checks.rs).

use harness::spec::{Better, OrderingCheck};
use harness::Spec;

use super::{describe_filter, group_label, no_data, num, outcome, pairs, Data, Judged};
use crate::aggregate::{Group, Stats};

/// A `better` group and its `worse` partner, with their statistics.
type Pair<'a> = ((&'a Group, &'a Stats), (&'a Group, &'a Stats));

/// The check on every pair of groups that differ only in the `better`/`worse` parameters; the
/// tightest pair is the detail.
pub fn evaluate(check: &OrderingCheck, spec: &Spec, data: &Data<'_>) -> Judged {
    let OrderingCheck {
        metric,
        better,
        worse,
        filter,
        margin,
        ci_separated,
        level,
    } = check;
    let direction = spec.metrics.get(metric).map_or(Better::None, |m| m.better);
    let lower_is_better = direction == Better::Lower;
    let mut description = format!(
        "ordering: {metric} of {} {} {} by {}{}",
        describe_filter(&pairs(better)).trim_start_matches(" where "),
        if lower_is_better { "below" } else { "above" },
        describe_filter(&pairs(worse)).trim_start_matches(" where "),
        if *margin > 0.0 {
            format!("at least {}", num(*margin))
        } else {
            "more than 0 (a tie fails)".into()
        },
        describe_filter(&pairs(filter))
    );
    if direction == Better::None {
        return no_data(
            description,
            format!("metric `{metric}` has no direction (`better: higher` or `lower`)"),
        );
    }
    let pairs_found = match partners(check, data) {
        Ok(p) if p.is_empty() => {
            return no_data(description, "no pair of groups to compare".into())
        }
        Ok(p) => p,
        Err(cause) => return no_data(description, cause),
    };
    let family = data.family(*level, 2 * pairs_found.len());
    if *ci_separated {
        description.push_str(&format!(" with separated {} intervals", family.describe()));
    }
    // Signed advantage of `better` over `worse` in the metric's good direction, and the same
    // between the nearer ends of their intervals.
    let advantage = |b: &Stats, w: &Stats| -> (f64, f64, f64) {
        let ((blo, bhi), (wlo, whi)) = (family.interval(b), family.interval(w));
        let reach = family.half_width(b) + family.half_width(w);
        if lower_is_better {
            (w.mean - b.mean, wlo - bhi, reach)
        } else {
            (b.mean - w.mean, blo - whi, reach)
        }
    };
    let mut worst: Option<(f64, String)> = None;
    let (mut decisive, mut widest, mut passed) = (false, 0.0_f64, true);
    for ((b, bs), (_, ws)) in &pairs_found {
        let (gap, ci_gap, reach) = advantage(bs, ws);
        if *ci_separated && ci_gap.is_nan() {
            return no_data(
                description,
                format!("`ci_separated` needs an interval, and {} or its partner has one ok trial; add seeds", group_label(data.agg, b)),
            );
        }
        // Evidence against the order: even the most favourable ends of the intervals leave
        // the better side short of the margin.
        decisive |= gap + reach <= *margin;
        widest = if reach.is_nan() || widest.is_nan() {
            f64::NAN
        } else {
            widest.max(reach)
        };
        // Margin 0: strictly better (a tie is no order); a positive margin is met when reached.
        let gap_ok = if *margin > 0.0 {
            gap >= *margin
        } else {
            gap > 0.0
        };
        passed &= gap_ok && (!*ci_separated || ci_gap > 0.0);
        let slack = if *ci_separated {
            (gap - margin).min(ci_gap)
        } else {
            gap - margin
        };
        if worst.as_ref().is_none_or(|(s, _)| slack < *s) {
            let at = format!(
                "{} vs {} at {}",
                num(bs.mean),
                num(ws.mean),
                group_label(data.agg, b)
            );
            worst = Some((slack, at));
        }
    }
    let (_, at) = worst.expect("at least one pair");
    let mut judged = outcome(
        description,
        passed,
        format!("{} pairs; tightest: {at}", pairs_found.len()),
    );
    judged.decisive = decisive;
    judged.resolution = Some(if widest.is_nan() {
        "a group has one ok trial, so no interval; add seeds".into()
    } else {
        format!(
            "differences smaller than {} between paired means cannot be resolved ({} intervals); add seeds to decide",
            num(widest),
            family.describe()
        )
    });
    judged
}

/// Each `better` group with its `worse` partner (same values of every other key); `Err`
/// names a group of either side without ok data.
fn partners<'a>(check: &OrderingCheck, data: &Data<'a>) -> Result<Vec<Pair<'a>>, String> {
    let agg = data.agg;
    let mut b_filter = pairs(&check.filter);
    b_filter.extend(pairs(&check.better));
    let mut w_filter = pairs(&check.filter);
    w_filter.extend(pairs(&check.worse));
    // A parameter only one side's method has, or one each method keeps at its own value, does
    // not keep two methods from being compared (see `crate::grouping`).
    let varying: Vec<&str> = check
        .better
        .keys()
        .chain(check.worse.keys())
        .map(String::as_str)
        .collect();
    let mut out = Vec::new();
    for b in agg.matching(&b_filter) {
        let partner = agg
            .matching(&w_filter)
            .find(|w| agg.same_setting(b, w, &varying));
        // A `better` point the sweep has no `worse` partner for is not compared; one whose
        // trials failed is a failure of the check.
        let Some(w) = partner else { continue };
        out.push((data.stats(b, &check.metric)?, data.stats(w, &check.metric)?));
    }
    Ok(out)
}
