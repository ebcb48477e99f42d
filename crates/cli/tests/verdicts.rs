//! Claims pass only on evidence (issues 26, 29 §5, 31 §2, 35 §1–2), through the real binary:
//! missing or failed data fails a check naming the cause, ties and flat lines fail, a refutation
//! needs evidence (else INCONCLUSIVE), intervals across groups are family-wise, and check text
//! cannot drive the terminal.

mod common;

use std::fs;
use std::path::Path;

use common::{assert_user_error, stderr, stdout, subbench};

/// A spec of `method` over `sweep` (YAML lines under `sweep:`) with `seeds`, `metrics` and
/// `checks` (the YAML of `expect:` and/or `refuted:` blocks).
fn spec(name: &str, method: &str, seeds: u32, sweep: &str, metrics: &str, checks: &str) -> String {
    // `  params: {…}` lines written under the sweep are the spec's top-level `params:`.
    let (params, sweep): (Vec<&str>, Vec<&str>) =
        sweep.lines().partition(|l| l.starts_with("  params:"));
    let params: String = params
        .iter()
        .map(|l| format!("{}\n", l.trim_start()))
        .collect();
    let sweep: String = sweep.iter().map(|l| format!("{l}\n")).collect();
    format!(
        "name: {name}\ntitle: T\npaper: test\nclaim: c\nmethod: {method}\nseeds: {seeds}\n{params}sweep:\n{sweep}metrics:\n{metrics}{checks}"
    )
}

fn check(dir: &Path, file: &str, text: &str, extra: &[&str]) -> std::process::Output {
    fs::write(dir.join(file), text).unwrap();
    let mut args = vec!["check", file];
    args.extend_from_slice(extra);
    subbench(dir, &args)
}

/// Issue 26 §2, issue 31 §2: a group whose trials all failed made the claim pass on the others.
#[test]
fn a_claim_over_a_group_whose_trials_failed_fails_naming_the_cause_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = spec(
        "lost",
        "test.flaky",
        2,
        "  params: {error_at: 2}\n  grid:\n    x: [1, 2, 3]\n",
        "  value: {better: higher}\n",
        "expect:\n  - threshold: {metric: value, above: 0}\n",
    );
    let out = check(
        d,
        "lost.yaml",
        &text,
        &["--markdown", "m.md", "--junit", "j.xml"],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let cause = "2 of 2 trials of x=2 failed: asked to fail at x = 2 (first of 2 identical errors; see results/lost/trials.csv)";
    assert!(
        text.contains(&format!(
            "FAIL lost: threshold: mean of value > 0.0 — {cause}"
        )),
        "{text}"
    );
    let md = fs::read_to_string(d.join("m.md")).unwrap();
    let junit = fs::read_to_string(d.join("j.xml")).unwrap();
    let page = fs::read_to_string(d.join("reports/lost.html")).unwrap();
    for (what, body) in [("markdown", &md), ("junit", &junit), ("page", &page)] {
        assert!(
            body.contains("asked to fail at x = 2 (first of 2 identical errors"),
            "{what}: {body}"
        );
    }
    assert!(junit.contains("failures=\"1\""), "{junit}");
}

/// Issue 26 §3: a refuted claim over no data was green.
#[test]
fn a_refuted_claim_over_failed_data_fails() {
    let dir = tempfile::tempdir().unwrap();
    let text = spec(
        "nodata",
        "test.flaky",
        2,
        "  params: {error_at: 2}\n  grid:\n    x: [2]\n",
        "  value: {better: higher}\n",
        "refuted:\n  - threshold: {metric: value, above: 100}\n",
    );
    let out = check(dir.path(), "nodata.yaml", &text, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL nodata: not reproduced:")
            && text.contains("no data to refute the claim: 2 of 2 trials of all trials failed"),
        "{text}"
    );
}

/// Issue 26 §4: `ci_separated` with one trial per group ignored the missing interval.
#[test]
fn ci_separated_with_one_trial_per_group_fails() {
    let dir = tempfile::tempdir().unwrap();
    let text = spec(
        "single",
        "test.quadratic",
        1,
        "  grid:\n    x: [1, 2]\n    mode: [plain, shifted]\n",
        "  value: {better: lower}\n",
        "expect:\n  - ordering: {metric: value, better: {mode: plain}, worse: {mode: shifted}, ci_separated: true}\n",
    );
    let out = check(dir.path(), "single.yaml", &text, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("`ci_separated` needs an interval") && text.contains("one ok trial"),
        "{text}"
    );
}

/// Issue 26 §5: a baseline saved while a group had no ok trial stored a null for ever.
#[test]
fn baseline_save_refuses_a_group_without_ok_trials() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = spec(
        "based",
        "test.flaky",
        1,
        "  params: {error_at: 2}\n  grid:\n    x: [1, 2, 3]\n",
        "  value: {better: higher}\n",
        "expect:\n  - baseline: {abs_tol: 1}\n",
    );
    fs::write(d.join("based.yaml"), text).unwrap();
    // `run` says that a trial failed (and exits 1 for it); the store holds all three trials.
    let run = subbench(d, &["run", "based.yaml"]);
    assert!(stderr(&run).contains("3 ran, 1 failed"), "{}", stderr(&run));
    let save = subbench(d, &["baseline", "save", "based"]);
    assert_ne!(save.status.code(), Some(0));
    assert!(
        stderr(&save).contains("group x=2 has no ok trial (1 of 1 failed)"),
        "{}",
        stderr(&save)
    );
    assert!(!d.join("results/baselines/based.parquet").exists());
}

/// Issue 26 §10: a log-log slope dropped the points whose mean is not positive.
#[test]
fn a_slope_trend_over_non_positive_means_fails_naming_the_point() {
    let dir = tempfile::tempdir().unwrap();
    let text = spec(
        "zeros",
        "test.quadratic",
        1,
        "  params: {weights: [0.0]}\n  grid:\n    x: [1, 2, 4]\n",
        "  value: {better: lower}\n",
        "expect:\n  - trend: {metric: value, along: x, slope: [1.9, 2.1]}\n",
    );
    let out = check(dir.path(), "zeros.yaml", &text, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("a log-log slope needs positive values; x=1.0 has mean 0.0"),
        "{text}"
    );
}

/// Issue 26 §11, §23 and issue 35 §1: orderings that compare a group with itself, that have no
/// direction, and trends on two points are refused before anything runs.
#[test]
fn vacuous_orderings_and_two_point_trends_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sweep = "  grid:\n    x: [1, 2]\n    mode: [plain, shifted]\n";
    let metrics = "  value: {better: lower}\n  theory: {}\n";
    let cases = [
        (
            "  - ordering: {metric: value, better: {mode: plain}, worse: {x: 2}}\n",
            "`better` and `worse` can select the same group",
        ),
        (
            "  - ordering: {metric: theory, better: {mode: plain}, worse: {mode: shifted}}\n",
            "metric `theory` has no direction",
        ),
        (
            "  - trend: {metric: value, along: x, monotone: increasing}\n",
            "a trend needs at least 3 — with two, write it as an `ordering`",
        ),
    ];
    for (i, (check, message)) in cases.iter().enumerate() {
        let text = spec(
            "v",
            "test.quadratic",
            1,
            sweep,
            metrics,
            &format!("expect:\n{check}"),
        );
        let file = format!("v{i}.yaml");
        fs::write(d.join(&file), text).unwrap();
        assert_user_error(&subbench(d, &["check", &file]), &[message]);
    }
    // The quick sweep is held to the same rule, and says so.
    let text = spec(
        "q",
        "test.quadratic",
        1,
        "  grid:\n    x: [1, 2, 3]\n",
        metrics,
        "expect:\n  - trend: {metric: value, along: x, monotone: increasing}\nquick:\n  sweep:\n    grid:\n      x: [1, 2]\n",
    );
    fs::write(d.join("q.yaml"), text).unwrap();
    assert_user_error(
        &subbench(d, &["check", "q.yaml", "--quick"]),
        &["in the `quick:` sweep"],
    );
}

/// Issue 35 §1: a constant metric passed a strict monotone trend, and a tie passed an ordering.
#[test]
fn a_flat_line_fails_a_monotone_trend_and_a_tie_fails_an_ordering() {
    let dir = tempfile::tempdir().unwrap();
    let text = spec(
        "flat",
        "test.quadratic",
        2,
        "  params: {weights: [0.0]}\n  grid:\n    x: [1, 2, 4]\n    mode: [plain, shifted]\n",
        "  value: {better: lower}\n",
        "expect:\n  - trend: {metric: value, along: x, monotone: increasing}\n  - trend: {metric: value, along: x, monotone: increasing, strict: false}\n  - ordering: {metric: value, better: {mode: plain}, worse: {mode: shifted}}\n",
    );
    let out = check(dir.path(), "flat.yaml", &text, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("0 passed, 3 failed"), "{text}");
    assert!(
        text.contains("(means not strictly in the trend's direction)"),
        "{text}"
    );
    assert!(
        text.contains("(first and last 95% intervals not separated)"),
        "{text}"
    );
    assert!(text.contains("FAIL flat: ordering: value of mode=plain below mode=shifted by more than 0 (a tie fails)"), "{text}");
}

/// Issue 35 §2: a refutation is NOT REPRODUCED only when the data exclude the claim, and
/// INCONCLUSIVE (a failure) when the seeds cannot resolve it.
#[test]
fn a_refutation_without_power_is_inconclusive_and_one_with_evidence_is_not_reproduced() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // value = 4 + noise·N(0, 1) at x = 2; the claim "mean above 5" fails on the means.
    let claim = "refuted:\n  - threshold: {metric: value, above: 5}\n";
    let sweep = |noise: &str| format!("  params: {{noise: {noise}}}\n  grid:\n    x: [2]\n");
    let noisy = spec(
        "noisy",
        "test.quadratic",
        3,
        &sweep("3.0"),
        "  value: {better: lower}\n",
        claim,
    );
    let out = check(d, "noisy.yaml", &noisy, &[]);
    let text = stdout(&out);
    // Neither a pass nor a regression: counted apart, said everywhere, not an exit 1.
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("INCONCLUSIVE noisy: not reproduced: threshold: mean of value > 5.0"),
        "{text}"
    );
    assert!(
        text.contains(
            "the data cannot exclude the claim: the smallest effect its seeds resolve is ±"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "0 failed, 1 inconclusive (refuted claims the data can neither confirm nor exclude)"
        ),
        "{text}"
    );
    let exact = spec(
        "exact",
        "test.quadratic",
        3,
        &sweep("0.0"),
        "  value: {better: lower}\n",
        claim,
    );
    let out = check(d, "exact.yaml", &exact, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("NOT REPRODUCED exact:"),
        "{}",
        stdout(&out)
    );
}

/// Issue 29 §5: intervals compared with a fixed value across groups are family-wise.
#[test]
fn interval_thresholds_across_groups_are_family_wise_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let text = spec(
        "family",
        "test.quadratic",
        4,
        "  params: {noise: 0.1}\n  grid:\n    x: [1, 2, 3, 4, 5]\n",
        "  value: {better: lower}\n",
        "expect:\n  - threshold: {metric: value, stat: ci_low, above: 0}\n  - threshold: {metric: value, stat: ci_low, above: 0, level: 0.99, where: {x: 1}}\n",
    );
    let out = check(dir.path(), "family.yaml", &text, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("(95% family-wise over 5 groups (Šidák, 98.98% each) intervals)"),
        "{text}"
    );
    assert!(text.contains("where x=1 (99% intervals)"), "{text}");
}

/// Issue 26 §12 and §24: control characters in values reached the terminal raw, and
/// descriptions were lower-cased whole.
#[test]
fn control_characters_are_escaped_and_values_keep_their_case() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hostile = "Mixed\r\u{1b}[2K\u{1b}[8mCase.txt";
    fs::write(d.join(hostile), "1").unwrap();
    fs::write(d.join("Plain.txt"), "2").unwrap();
    let text = spec(
        "hostile",
        "test.quadratic",
        1,
        "  grid:\n    x: [1, 2, 3]\n    offset_file: [\"Mixed\\r\\e[2K\\e[8mCase.txt\", Plain.txt]\n",
        "  value: {better: lower}\n",
        "expect:\n  - threshold: {metric: value, below: 5, where: {offset_file: Plain.txt}}\n  - threshold: {metric: value, above: 100}\n",
    );
    let out = check(d, "hostile.yaml", &text, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
    assert!(
        text.contains("Mixed\\x0d\\x1b[2K\\x1b[8mCase.txt"),
        "{text}"
    );
    assert!(text.contains("where offset_file=Plain.txt"), "{text}");
}
