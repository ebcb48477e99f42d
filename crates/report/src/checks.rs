//! A spec's `expect:` block evaluated on its results: each claim of the paper becomes a check
//! that passes or fails with the numbers it compared. A check that matches no data fails (it
//! never passes silently).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use harness::expr::Expr;
use harness::spec::{Better, CheckSpec, Monotone, Stat};
use harness::{Spec, Status, TrialRecord, Value};
use polars::prelude::*;
use serde::Serialize;

use crate::aggregate::{same_value, Aggregate, Group, Stats};
use crate::stats::t_critical_95;
use crate::tables::format_number;
use crate::ReportError;

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckOutcome {
    pub description: String,
    /// The check came out as the spec says: true for an `expect` check that holds and for a
    /// `refuted` check that fails.
    pub passed: bool,
    /// A claim of the paper this reproduction finds not to hold (from `refuted`).
    pub refuted: bool,
    /// The numbers compared (the worst case when several groups are checked).
    pub detail: String,
    /// With `check --reseed N`: in how many of the N + 1 seed sets the check came out as the
    /// spec says (held, for a claim; failed, for a refuted one).
    pub seeds: Option<SeedTally>,
}

/// How a check fared under the spec's seed and its derived seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SeedTally {
    pub agreeing: usize,
    pub total: usize,
}

impl CheckOutcome {
    /// Came out as the spec says under its own seed but not under every derived one: the
    /// claim rests on the draw, not on the method. It fails the check.
    pub fn fragile(&self) -> bool {
        self.seeds.is_some_and(|s| s.agreeing < s.total)
    }

    /// Whether the check holds, all seed sets considered.
    pub fn ok(&self) -> bool {
        self.passed && !self.fragile()
    }

    /// The one word every output (terminal, page, Markdown, JUnit) uses for the outcome.
    pub fn verdict(&self) -> &'static str {
        match (self.passed, self.fragile(), self.refuted) {
            (false, _, _) => "FAIL",
            (true, true, _) => "FRAGILE",
            (true, false, true) => "NOT REPRODUCED",
            (true, false, false) => "PASS",
        }
    }

    /// `held 4/5` (or `not reproduced 5/5`) when the check was reseeded.
    pub fn seeds_text(&self) -> Option<String> {
        self.seeds.map(|s| {
            format!(
                "{} {}/{} seed sets",
                if self.refuted {
                    "not reproduced in"
                } else {
                    "held in"
                },
                s.agreeing,
                s.total
            )
        })
    }
}

fn outcome(description: String, passed: bool, detail: String) -> CheckOutcome {
    CheckOutcome {
        description,
        passed,
        refuted: false,
        detail,
        seeds: None,
    }
}

/// Whether each check of `spec` (in [`evaluate_checks`]' order) depends on the seed: every check
/// but `baseline`, whose reference values were saved under the spec's own seed.
pub fn seed_dependent(spec: &Spec) -> Vec<bool> {
    spec.expect
        .iter()
        .chain(&spec.refuted)
        .map(|c| !matches!(c, CheckSpec::Baseline { .. }))
        .collect()
}

/// Record in `checks` (the outcomes under the spec's own seed) how they fared under other seeds:
/// `reseeded[k][i]` is check `i`'s outcome under derived seed `k`. Seed-independent checks
/// (`dependent[i] == false`) are left without a tally.
pub fn tally_seeds(
    checks: &mut [CheckOutcome],
    dependent: &[bool],
    reseeded: &[Vec<CheckOutcome>],
) {
    for (i, check) in checks.iter_mut().enumerate() {
        if !dependent.get(i).copied().unwrap_or(false) {
            continue;
        }
        let others: Vec<&CheckOutcome> = reseeded.iter().filter_map(|r| r.get(i)).collect();
        let agreeing = usize::from(check.passed) + others.iter().filter(|o| o.passed).count();
        if let Some(first_bad) = others.iter().find(|o| !o.passed).filter(|_| check.passed) {
            check.detail = format!("{}; under another seed: {}", check.detail, first_bad.detail);
        }
        check.seeds = Some(SeedTally {
            agreeing,
            total: others.len() + 1,
        });
    }
}

/// A number for a check line: as written when it is short (a bound such as 1e-9 or 0.999999999),
/// else to 6 significant digits (a measured value).
fn num(x: f64) -> String {
    let exact = format!("{x:?}");
    if exact.len() <= 12 {
        exact
    } else {
        format_number(x, Some(".6g"))
    }
}

fn describe_filter(filter: &[(String, Value)]) -> String {
    if filter.is_empty() {
        String::new()
    } else {
        format!(
            " where {}",
            filter
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn pairs(map: &indexmap::IndexMap<String, Value>) -> Vec<(String, Value)> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
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

fn group_label(agg: &Aggregate, g: &Group) -> String {
    if agg.keys.is_empty() {
        return "all trials".into();
    }
    agg.keys
        .iter()
        .zip(&g.key)
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Evaluate every check of `spec`. `records` are the stored trials (for trial-level agreement);
/// `baseline` is the committed baseline file of the spec, if any.
pub fn evaluate_checks(
    spec: &Spec,
    agg: &Aggregate,
    records: &[TrialRecord],
    baseline: &Path,
) -> Vec<CheckOutcome> {
    let expected = spec
        .expect
        .iter()
        .map(|check| evaluate(spec, agg, records, baseline, check));
    let refuted = spec.refuted.iter().map(|check| {
        let held = evaluate(spec, agg, records, baseline, check);
        CheckOutcome {
            description: format!("not reproduced: {}", held.description),
            passed: !held.passed,
            refuted: true,
            seeds: None,
            detail: if held.passed {
                format!(
                    "{}; the claim now holds, so move it from `refuted` to `expect` and update the spec's text",
                    held.detail
                )
            } else {
                held.detail
            },
        }
    });
    expected.chain(refuted).collect()
}

fn evaluate(
    spec: &Spec,
    agg: &Aggregate,
    records: &[TrialRecord],
    baseline: &Path,
    check: &CheckSpec,
) -> CheckOutcome {
    match check {
        CheckSpec::Threshold {
            metric,
            filter,
            stat,
            above,
            below,
        } => {
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
        CheckSpec::Ordering {
            metric,
            better,
            worse,
            filter,
            margin,
            ci_separated,
        } => {
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
            let varying: Vec<&String> = better.keys().chain(worse.keys()).collect();
            let mut compared = 0;
            let mut worst: Option<(f64, String)> = None;
            for b in agg.matching(&b_filter) {
                let Some(bs) = b.metrics.get(metric) else {
                    continue;
                };
                let partner = agg.matching(&w_filter).find(|w| {
                    agg.keys
                        .iter()
                        .enumerate()
                        .all(|(i, k)| varying.contains(&k) || same_value(&b.key[i], &w.key[i]))
                });
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
        CheckSpec::Agreement {
            metric,
            with,
            expr,
            filter,
            abs_tol,
            rel_tol,
        } => {
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
            for r in records.iter().filter(|r| r.status == Status::Ok) {
                let matches = filter.iter().all(|(k, v)| {
                    if k == "method" {
                        same_value(&Value::Str(r.method.clone()), v)
                    } else {
                        r.params.get(k).is_some_and(|p| same_value(p, v))
                    }
                });
                let Some(&got) = r.metrics.get(metric).filter(|_| matches) else {
                    continue;
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
                        None => continue,
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
                None => outcome(description, false, "no ok trial matches".into()),
                Some((excess, at)) => outcome(
                    description,
                    excess <= 0.0,
                    format!("{n} trials; worst: {at}"),
                ),
            }
        }
        CheckSpec::Trend {
            metric,
            along,
            filter,
            monotone,
            slope,
            strict,
        } => {
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
        CheckSpec::Baseline {
            metrics,
            abs_tol,
            rel_tol,
        } => {
            let description = format!(
                "baseline: aggregated means equal {} within {} + {}·|baseline|",
                baseline.display(),
                num(*abs_tol),
                num(*rel_tol)
            );
            match compare_baseline(agg, baseline, metrics, *abs_tol, *rel_tol) {
                Ok((passed, detail)) => outcome(description, passed, detail),
                Err(e) => outcome(description, false, e.to_string()),
            }
        }
    }
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

fn group_key_text(agg: &Aggregate, g: &Group) -> String {
    agg.keys
        .iter()
        .zip(&g.key)
        .map(|(k, v)| format!("{k}={}", v.canonical()))
        .collect::<Vec<_>>()
        .join(";")
}

/// Write the aggregated means of `agg` as the baseline file `path` (parquet: a `group` column and
/// one `mean_<metric>` column per metric).
pub fn save_baseline(agg: &Aggregate, path: &Path) -> Result<(), ReportError> {
    let groups: Vec<String> = agg.groups.iter().map(|g| group_key_text(agg, g)).collect();
    let mut columns = vec![Column::new("group".into(), groups)];
    for m in &agg.metrics {
        let values: Vec<Option<f64>> = agg
            .groups
            .iter()
            .map(|g| g.metrics.get(m).map(|s| s.mean))
            .collect();
        columns.push(Column::new(format!("mean_{m}").into(), values));
    }
    let mut df =
        DataFrame::new(agg.groups.len(), columns).map_err(|e| ReportError::Data(e.to_string()))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ReportError::Write {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
    }
    // Written under a temporary name and renamed: a baseline is either the old one or the
    // new one, never half of one, whatever interrupts the save.
    let tmp = std::path::PathBuf::from(format!("{}.tmp-{}", path.display(), std::process::id()));
    let write_error = |p: &Path, e: String| ReportError::Write {
        path: p.display().to_string(),
        message: e,
    };
    let written = File::create(&tmp)
        .map_err(|e| write_error(&tmp, e.to_string()))
        .and_then(|file| {
            let mut file = file;
            ParquetWriter::new(&mut file)
                .finish(&mut df)
                .map_err(|e| write_error(&tmp, e.to_string()))?;
            file.sync_all()
                .map_err(|e| write_error(&tmp, e.to_string()))
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| write_error(path, e.to_string()))
}

fn compare_baseline(
    agg: &Aggregate,
    path: &Path,
    metrics: &[String],
    abs_tol: f64,
    rel_tol: f64,
) -> Result<(bool, String), ReportError> {
    let file = File::open(path).map_err(|_| {
        // `NAME.parquet` or `NAME.quick.parquet`: say the command that writes this very file.
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("NAME");
        let (name, quick) = match stem.strip_suffix(".quick") {
            Some(name) => (name, " --quick"),
            None => (stem, ""),
        };
        let folder = path
            .parent()
            .map(|p| format!(" --baselines {}", p.display()))
            .unwrap_or_default();
        ReportError::Data(format!(
            "no baseline at {}; create it with `subbench baseline save {name}{quick}{folder}` after a run",
            path.display()
        ))
    })?;
    let df = ParquetReader::new(file)
        .finish()
        .map_err(|e| ReportError::Data(format!("{}: {e}", path.display())))?;
    let groups = df
        .column("group")
        .and_then(|c| c.str().cloned())
        .map_err(|e| ReportError::Data(e.to_string()))?;
    let current: BTreeMap<String, &Group> = agg
        .groups
        .iter()
        .map(|g| (group_key_text(agg, g), g))
        .collect();
    let names: Vec<String> = if metrics.is_empty() {
        df.get_column_names()
            .iter()
            .filter_map(|c| c.strip_prefix("mean_").map(str::to_string))
            .collect()
    } else {
        metrics.to_vec()
    };
    let mut compared = 0;
    for m in &names {
        let column = df
            .column(&format!("mean_{m}"))
            .and_then(|c| c.f64().cloned())
            .map_err(|_| {
                ReportError::Data(format!("the baseline has no metric `{m}`; save it again"))
            })?;
        for row in 0..df.height() {
            let (Some(group), Some(base)) = (groups.get(row), column.get(row)) else {
                continue;
            };
            let Some(now) = current
                .get(group)
                .and_then(|g| g.metrics.get(m))
                .map(|s| s.mean)
            else {
                return Ok((
                    false,
                    format!("group {group} of the baseline has no ok trials now"),
                ));
            };
            compared += 1;
            let tol = abs_tol + rel_tol * base.abs();
            if (now - base).abs() > tol || now.is_nan() {
                return Ok((
                    false,
                    format!(
                        "{m} at {group}: {} now vs {} in the baseline (|Δ| = {} > {})",
                        num(now),
                        num(base),
                        num((now - base).abs()),
                        num(tol)
                    ),
                ));
            }
        }
    }
    // A group the baseline does not know (the sweep grew) is not a regression check at all yet.
    let known: std::collections::BTreeSet<&str> =
        (0..groups.len()).filter_map(|i| groups.get(i)).collect();
    if let Some(new) = current.keys().find(|g| !known.contains(g.as_str())) {
        return Ok((
            false,
            format!(
                "group {new} has no baseline value (the sweep changed); save the baseline again"
            ),
        ));
    }
    Ok((compared > 0, format!("{compared} values within tolerance")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::aggregate_frame;
    use harness::spec::{parse_spec, LoadOptions};
    use std::collections::BTreeMap as Map;

    /// Three groups of x: value = slope·x with a small seed spread; a `theory` equal to value
    /// except where `broken` is set.
    fn data(slope: f64, broken: bool) -> (Aggregate, Vec<TrialRecord>) {
        let mut records = Vec::new();
        for (i, x) in [1.0, 2.0, 4.0].into_iter().enumerate() {
            for (rep, noise) in [-0.01, 0.0, 0.01].into_iter().enumerate() {
                for mode in ["plain", "shifted"] {
                    let offset = if mode == "shifted" { 1.0 } else { 0.0 };
                    let value = slope * x + offset + noise;
                    let theory = if broken && i == 2 { value + 0.1 } else { value };
                    records.push(TrialRecord {
                        trial_id: format!("{i}{rep}{mode}"),
                        order: 0,
                        spec: "s".into(),
                        method: "test.quadratic".into(),
                        method_code: String::new(),
                        rep: rep as u32,
                        seed: 0,
                        status: Status::Ok,
                        error: None,
                        elapsed_s: 0.0,
                        params: Map::from([
                            ("x".to_string(), Value::Float(x)),
                            ("mode".to_string(), Value::Str(mode.into())),
                        ]),
                        metrics: Map::from([
                            ("value".to_string(), value),
                            ("theory".to_string(), theory),
                        ]),
                        curves: Map::new(),
                    });
                }
            }
        }
        let df = df!(
            "trial_id" => records.iter().map(|r| r.trial_id.clone()).collect::<Vec<_>>(),
            "status" => vec!["ok"; records.len()],
            "error" => vec![None::<&str>; records.len()],
            "method" => vec!["test.quadratic"; records.len()],
            "p_x" => records.iter().map(|r| r.params["x"].as_f64().unwrap()).collect::<Vec<_>>(),
            "p_mode" => records.iter().map(|r| r.params["mode"].to_string()).collect::<Vec<_>>(),
            "m_value" => records.iter().map(|r| r.metrics["value"]).collect::<Vec<_>>(),
            "m_theory" => records.iter().map(|r| r.metrics["theory"]).collect::<Vec<_>>(),
        )
        .unwrap();
        (
            aggregate_frame(df, Path::new("t"), harness::spec::Interval::Student).unwrap(),
            records,
        )
    }

    fn spec(expect: &str) -> Spec {
        let text = format!(
            "name: s\ntitle: t\npaper: p\nclaim: c\nmethod: test.quadratic\nsweep:\n  grid:\n    x: [1, 2, 4]\n    mode: [plain, shifted]\nmetrics:\n  value: {{better: lower}}\n  theory: {{}}\nexpect:\n{expect}"
        );
        parse_spec(
            Path::new("s.yaml"),
            &text,
            &harness::testkit::registry(),
            LoadOptions::default(),
        )
        .unwrap()
    }

    fn run(expect: &str, slope: f64, broken: bool) -> CheckOutcome {
        let (agg, records) = data(slope, broken);
        evaluate_checks(
            &spec(expect),
            &agg,
            &records,
            Path::new("/nonexistent/baseline.parquet"),
        )
        .remove(0)
    }

    #[test]
    fn threshold_passes_and_fails() {
        let check = "  - threshold: {metric: value, where: {mode: plain}, above: 0.5, below: 10}\n";
        assert!(run(check, 1.0, false).passed);
        let failed = run(check, 3.0, false);
        assert!(!failed.passed);
        assert!(
            failed.detail.contains("12") && failed.detail.contains("x=4"),
            "{}",
            failed.detail
        );
        // A `where` that matches nothing is a spec error, caught before anything runs.
        let text = "name: s\ntitle: t\npaper: p\nclaim: c\nmethod: test.quadratic\nsweep:\n  grid:\n    x: [1, 2]\nmetrics:\n  value: {}\nexpect:\n  - threshold: {metric: value, where: {x: 3}, above: 0}\n";
        let err = parse_spec(
            Path::new("s.yaml"),
            text,
            &harness::testkit::registry(),
            LoadOptions::default(),
        )
        .unwrap_err();
        assert!(
            err.message.contains("no trial has x = 3"),
            "{}",
            err.message
        );
        assert!(
            run(
                "  - threshold: {metric: value, where: {mode: plain}, stat: ci_high, below: 4.1}\n",
                1.0,
                false
            )
            .passed
        );
        assert!(!run("  - threshold: {metric: value, where: {mode: plain}, stat: ci_high, below: 4.01}\n", 1.0, false).passed);
    }

    #[test]
    fn ordering_respects_direction_margin_and_intervals() {
        // Lower is better for `value`; mode a is 1 below mode b everywhere.
        assert!(
            run(
                "  - ordering: {metric: value, better: {mode: plain}, worse: {mode: shifted}}\n",
                1.0,
                false
            )
            .passed
        );
        assert!(
            !run(
                "  - ordering: {metric: value, better: {mode: shifted}, worse: {mode: plain}}\n",
                1.0,
                false
            )
            .passed
        );
        assert!(run("  - ordering: {metric: value, better: {mode: plain}, worse: {mode: shifted}, margin: 0.9}\n", 1.0, false).passed);
        assert!(!run("  - ordering: {metric: value, better: {mode: plain}, worse: {mode: shifted}, margin: 1.1}\n", 1.0, false).passed);
        assert!(run("  - ordering: {metric: value, better: {mode: plain}, worse: {mode: shifted}, ci_separated: true}\n", 1.0, false).passed);
    }

    #[test]
    fn agreement_with_a_metric_and_with_an_expression() {
        assert!(
            run(
                "  - agreement: {metric: value, with: theory, abs_tol: 1.0e-12}\n",
                1.0,
                false
            )
            .passed
        );
        let broken = run(
            "  - agreement: {metric: value, with: theory, abs_tol: 0.05}\n",
            1.0,
            true,
        );
        assert!(
            !broken.passed && broken.detail.contains("0.1"),
            "{}",
            broken.detail
        );
        assert!(run("  - agreement: {metric: value, expr: \"2 * x\", where: {mode: plain}, abs_tol: 0.0101}\n", 2.0, false).passed);
        assert!(!run("  - agreement: {metric: value, expr: \"2 * x\", where: {mode: plain}, abs_tol: 0.005}\n", 2.0, false).passed);
        assert!(run("  - agreement: {metric: value, expr: \"2 * x\", where: {mode: plain}, rel_tol: 0.011}\n", 2.0, false).passed);
    }

    #[test]
    fn trends_monotone_and_slope() {
        assert!(
            run(
                "  - trend: {metric: value, along: x, monotone: increasing}\n",
                1.0,
                false
            )
            .passed
        );
        assert!(
            !run(
                "  - trend: {metric: value, along: x, monotone: decreasing}\n",
                1.0,
                false
            )
            .passed
        );
        assert!(
            !run(
                "  - trend: {metric: value, along: x, monotone: increasing}\n",
                -1.0,
                false
            )
            .passed
        );
        // value = x in mode a: log-log slope 1.
        assert!(
            run(
                "  - trend: {metric: value, along: x, where: {mode: plain}, slope: [0.99, 1.01]}\n",
                1.0,
                false
            )
            .passed
        );
        assert!(
            !run(
                "  - trend: {metric: value, along: x, where: {mode: plain}, slope: [0.4, 0.6]}\n",
                1.0,
                false
            )
            .passed
        );
        let exact = least_squares_fit(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]).unwrap();
        assert_eq!((exact.slope, exact.se), (2.0, 0.0));
        assert_eq!(least_squares_fit(&[(1.0, 1.0), (1.0, 3.0)]), None);
        assert!(least_squares_fit(&[(0.0, 1.0), (1.0, 3.0)])
            .unwrap()
            .se
            .is_nan());
    }

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

    #[test]
    fn baseline_round_trip_and_tolerance_edges() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baselines/s.parquet");
        let (agg, records) = data(1.0, false);
        let check = |expect: &str, agg: &Aggregate| {
            evaluate_checks(&spec(expect), agg, &records, &path).remove(0)
        };
        assert!(
            !check("  - baseline: {abs_tol: 1.0e-12}\n", &agg).passed,
            "a missing baseline fails"
        );
        save_baseline(&agg, &path).unwrap();
        assert!(
            check("  - baseline: {}\n", &agg).passed,
            "identical means pass with zero tolerance"
        );
        // Shift one mean by 0.01: inside a 0.01 + ε tolerance, outside 0.009.
        let (mut shifted, _) = data(1.0, false);
        shifted.groups[0].metrics.get_mut("value").unwrap().mean += 0.01;
        assert!(check("  - baseline: {abs_tol: 0.0100001}\n", &shifted).passed);
        let out = check("  - baseline: {abs_tol: 0.009}\n", &shifted);
        assert!(
            !out.passed && out.detail.contains("value at"),
            "{}",
            out.detail
        );
        assert!(
            check("  - baseline: {rel_tol: 0.011}\n", &shifted).passed,
            "relative to the baseline value 1"
        );
        assert!(
            check("  - baseline: {metrics: [theory]}\n", &shifted).passed,
            "only the named metrics"
        );
        // A group that disappeared fails.
        let (mut fewer, _) = data(1.0, false);
        fewer.groups.remove(0);
        assert!(!check("  - baseline: {abs_tol: 1}\n", &fewer).passed);
        // So does a group the baseline never saw (regression: new sweep points passed silently).
        save_baseline(&fewer, &path).unwrap();
        let out = check("  - baseline: {abs_tol: 1}\n", &agg);
        assert!(
            !out.passed && out.detail.contains("no baseline value"),
            "{}",
            out.detail
        );
    }
}
