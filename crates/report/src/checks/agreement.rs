//! Evaluation of `agreement` checks: per stored trial, the metric equals another metric or an
//! expression of the parameters within tolerances. Grammar and validation:
//! [`harness::spec::AgreementCheck`] (crates/harness/src/spec/checks.rs).

use std::collections::BTreeMap;

use harness::expr::Expr;
use harness::spec::AgreementCheck;
use harness::{Status, TrialRecord, Value};

use super::{describe_filter, no_data, num, outcome, pairs, Data, Judged};
use crate::aggregate::same_value;

/// The check on every trial the filter selects, each of which must be ok and have both values;
/// the worst trial is the detail.
pub fn evaluate(check: &AgreementCheck, data: &Data<'_>) -> Judged {
    let AgreementCheck {
        metric,
        with,
        expr,
        filter,
        abs_tol,
        rel_tol,
    } = check;
    let filter = pairs(filter);
    let target = match (with, expr) {
        (Some(w), _) => w.clone(),
        (_, Some(e)) => e.clone(),
        _ => String::new(),
    };
    let description = format!(
        "agreement: {metric} = {target} within {} + {}·|ref| per trial{}",
        num(*abs_tol),
        num(*rel_tol),
        describe_filter(&filter)
    );
    let parsed = expr.as_ref().and_then(|e| Expr::parse(e).ok());
    let mut worst: Option<(f64, String)> = None;
    let mut n = 0;
    let selected: Vec<&TrialRecord> = data
        .records
        .iter()
        .filter(|r| {
            filter.iter().all(|(k, v)| {
                if k == "method" {
                    same_value(&Value::Str(r.method.clone()), v)
                } else {
                    r.params.get(k).is_some_and(|p| same_value(p, v))
                }
            })
        })
        .collect();
    let failed: Vec<&TrialRecord> = selected
        .iter()
        .copied()
        .filter(|r| r.status != Status::Ok)
        .collect();
    if !failed.is_empty() {
        return no_data(
            description,
            format!(
                "{} of {} trials failed: {}",
                failed.len(),
                selected.len(),
                data.errors_text(&failed)
            ),
        );
    }
    for r in selected {
        let Some(&got) = r.metrics.get(metric) else {
            return no_data(
                description,
                format!("trial {} has no value of `{metric}`", r.trial_id),
            );
        };
        let reference = match (&parsed, with) {
            (Some(e), _) => {
                let vars: BTreeMap<String, f64> = r
                    .params
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                    .collect();
                e.eval(&vars)
            }
            (None, Some(w)) => match r.metrics.get(w) {
                Some(v) => *v,
                None => {
                    return no_data(
                        description,
                        format!("trial {} has no value of `{w}`", r.trial_id),
                    )
                }
            },
            _ => continue,
        };
        n += 1;
        let excess = (got - reference).abs() - (abs_tol + rel_tol * reference.abs());
        let excess = if excess.is_nan() {
            f64::INFINITY
        } else {
            excess
        };
        if worst.as_ref().is_none_or(|(e, _)| excess > *e) {
            worst = Some((
                excess,
                format!(
                    "|{} − {}| = {} (trial {})",
                    num(got),
                    num(reference),
                    num((got - reference).abs()),
                    r.trial_id
                ),
            ));
        }
    }
    match worst {
        None => no_data(
            description,
            "no stored trial matches (run the spec first)".into(),
        ),
        Some((excess, at)) => outcome(
            description,
            excess <= 0.0,
            format!("{n} trials; worst: {at}"),
        ),
    }
}
