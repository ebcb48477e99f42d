//! A spec's `expect:` block evaluated on its results: each claim of the paper becomes a check
//! that passes or fails with the numbers it compared. A check passes only on evidence: every
//! group it selects must have ok data (else it fails naming the group and the cause, see
//! [`coverage`]), ties and flat lines fail, and intervals compared across groups are
//! family-wise ([`family`]). A `refuted:` claim is NOT REPRODUCED only when the data is evidence
//! against it, INCONCLUSIVE when they cannot decide. User documentation: docs/checks.md.
//!
//! One file per kind holds its evaluation; its grammar and validation are the kind's struct in
//! `harness::spec::checks` (crates/harness/src/spec/checks.rs), which lists them all.

use std::path::Path;

use harness::spec::CheckSpec;
use harness::{Spec, Value};
use serde::Serialize;

use crate::aggregate::{Aggregate, Group};
use crate::tables::format_number;

pub mod agreement;
pub mod baseline;
pub mod coverage;
pub mod family;
pub mod ordering;
pub mod threshold;
pub mod trend;

pub use baseline::save_baseline;
pub use coverage::Data;
pub use trend::{least_squares_fit, LineFit};

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckOutcome {
    pub description: String,
    /// The check came out as the spec says: true for an `expect` check that holds and for a
    /// `refuted` check whose data is evidence against the claim.
    pub passed: bool,
    /// A claim of the paper this reproduction finds not to hold (from `refuted`).
    pub refuted: bool,
    /// A `refuted` claim that failed without the data being evidence against it: the sweep
    /// cannot tell (the detail gives the smallest effect it resolves). Not a pass.
    pub inconclusive: bool,
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

    /// Whether the check fails `check` (its exit code, JUnit's failures, the page's count): a
    /// check that does not hold, except an INCONCLUSIVE refutation. That one is neither a pass
    /// nor a regression: the spec already says the claim does not reproduce here, and the data
    /// can neither confirm nor exclude it, so it is counted apart and said everywhere.
    pub fn fails(&self) -> bool {
        !self.ok() && !self.inconclusive
    }

    /// The one word every output (terminal, page, Markdown, JUnit) uses for the outcome.
    pub fn verdict(&self) -> &'static str {
        match (self.passed, self.fragile(), self.refuted) {
            (false, _, true) if self.inconclusive => "INCONCLUSIVE",
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

/// What a kind's evaluation finds, before `expect`/`refuted` decide the verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub description: String,
    pub passed: bool,
    pub detail: String,
    /// The check could not be evaluated on all of its data (a group without ok values): a
    /// failure under `expect` and under `refuted` alike.
    pub no_data: bool,
    /// When it failed: whether the failure is evidence against the claim at the check's
    /// family-wise level (an interval excludes the claimed effect), not only a point estimate
    /// on the wrong side. Exact checks (agreement, baseline) are decisive when they fail.
    pub decisive: bool,
    /// The smallest effect the data resolve, for an undecided refutation.
    pub resolution: Option<String>,
}

/// A judged check with the data it needs; `passed` decides, a failure is decisive.
fn outcome(description: String, passed: bool, detail: String) -> Judged {
    Judged {
        description,
        passed,
        detail,
        no_data: false,
        decisive: true,
        resolution: None,
    }
}

/// A check that failed because part of its data is missing or failed (`cause` names which).
fn no_data(description: String, cause: String) -> Judged {
    Judged {
        no_data: true,
        decisive: false,
        ..outcome(description, false, cause)
    }
}

/// Terminal control characters (C0 and C1, DEL) and the bidirectional overrides that can
/// reorder what a reader sees, written as visible escapes (`\x1b`, `\u{202e}`): a value in a
/// check line can neither erase nor forge another line on a terminal, in a log or in CI. The
/// one escape every check text goes through ([`evaluate_checks`] applies it to each outcome).
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        let bidi = matches!(ch, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if ch.is_control() {
            out.push_str(&format!("\\x{:02x}", ch as u32));
        } else if bidi {
            out.push_str(&format!("\\u{{{:x}}}", ch as u32));
        } else {
            out.push(ch);
        }
    }
    out
}

/// Whether each check of `spec` (in [`evaluate_checks`]' order) depends on the seed: every check
/// but `baseline`, whose reference values were saved under the spec's own seed.
pub fn seed_dependent(spec: &Spec) -> Vec<bool> {
    spec.expect
        .iter()
        .chain(&spec.refuted)
        .map(|c| !matches!(c, CheckSpec::Baseline(_)))
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

/// Evaluate every check of `spec` on `data`; `baseline` is the committed baseline file of the
/// spec, if any.
pub fn evaluate_checks(spec: &Spec, data: &Data<'_>, baseline: &Path) -> Vec<CheckOutcome> {
    let expected = spec.expect.iter().map(|check| {
        let held = evaluate(spec, data, baseline, check);
        CheckOutcome {
            description: held.description,
            passed: held.passed,
            refuted: false,
            inconclusive: false,
            detail: held.detail,
            seeds: None,
        }
    });
    let refuted = spec
        .refuted
        .iter()
        .map(|check| refutation(evaluate(spec, data, baseline, check)));
    expected
        .chain(refuted)
        .map(|c| CheckOutcome {
            description: escape_controls(&c.description),
            detail: escape_controls(&c.detail),
            ..c
        })
        .collect()
}

/// A `refuted` claim's verdict: NOT REPRODUCED when its failure is evidence against it,
/// INCONCLUSIVE when the data cannot decide, FAIL when it holds or has no data.
fn refutation(held: Judged) -> CheckOutcome {
    let decided = !held.passed && !held.no_data && held.decisive;
    let inconclusive = !held.passed && !held.no_data && !held.decisive;
    let detail = if held.passed {
        format!(
            "{}; the claim now holds, so move it from `refuted` to `expect` and update the spec's text",
            held.detail
        )
    } else if held.no_data {
        format!("no data to refute the claim: {}", held.detail)
    } else if inconclusive {
        format!(
            "{}; the data cannot exclude the claim{}",
            held.detail,
            held.resolution
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        )
    } else {
        held.detail
    };
    CheckOutcome {
        description: format!("not reproduced: {}", held.description),
        passed: decided,
        refuted: true,
        inconclusive,
        detail,
        seeds: None,
    }
}

/// One check, by its kind's own file.
fn evaluate(spec: &Spec, data: &Data<'_>, baseline: &Path, check: &CheckSpec) -> Judged {
    match check {
        CheckSpec::Threshold(c) => threshold::evaluate(c, data),
        CheckSpec::Ordering(c) => ordering::evaluate(c, spec, data),
        CheckSpec::Agreement(c) => agreement::evaluate(c, data),
        CheckSpec::Trend(c) => trend::evaluate(c, data),
        CheckSpec::Baseline(c) => baseline::evaluate(c, data.agg, baseline),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::aggregate_frame;
    use harness::spec::{parse_spec, LoadOptions};
    use harness::{Status, TrialRecord};
    use polars::prelude::*;
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
            "name: s\ntitle: t\npaper: test\nclaim: c\nmethod: test.quadratic\nsweep:\n  grid:\n    x: [1, 2, 4]\n    mode: [plain, shifted]\nmetrics:\n  value: {{better: lower}}\n  theory: {{}}\nexpect:\n{expect}"
        );
        parse_spec(
            Path::new("s.yaml"),
            &text,
            &harness::testkit::registry(),
            LoadOptions::default(),
        )
        .unwrap()
    }

    fn on<'a>(agg: &'a Aggregate, records: &'a [TrialRecord]) -> Data<'a> {
        Data {
            agg,
            records,
            store: Path::new("results/s"),
            interval: harness::spec::Interval::Student,
        }
    }

    fn run(expect: &str, slope: f64, broken: bool) -> CheckOutcome {
        let (agg, records) = data(slope, broken);
        evaluate_checks(
            &spec(expect),
            &on(&agg, &records),
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
        let text = "name: s\ntitle: t\npaper: test\nclaim: c\nmethod: test.quadratic\nsweep:\n  grid:\n    x: [1, 2]\nmetrics:\n  value: {}\nexpect:\n  - threshold: {metric: value, where: {x: 3}, above: 0}\n";
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

    #[test]
    fn baseline_round_trip_and_tolerance_edges() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baselines/s.parquet");
        let (agg, records) = data(1.0, false);
        let check = |expect: &str, agg: &Aggregate| {
            evaluate_checks(&spec(expect), &on(agg, &records), &path).remove(0)
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
