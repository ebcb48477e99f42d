//! `subbench check`: PASS/FAIL lines with the numbers compared, a Markdown summary, and exit
//! codes 0 (all claims hold), 1 (a claim fails), 2 (the spec is wrong).

mod common;

use std::fs;

use common::{assert_user_error, stdout, subbench};

fn spec(expr: &str) -> String {
    format!(
        "name: claims\ntitle: Claims\npaper: test\nclaim: value is x squared\nmethod: test.quadratic\nseeds: 3\n\
         sweep:\n  grid:\n    x: [1, 2, 3]\nmetrics:\n  value: {{better: lower}}\n  theory: {{}}\n\
         expect:\n  - agreement: {{metric: value, expr: \"{expr}\", abs_tol: 1.0e-12}}\n  - trend: {{metric: value, along: x, monotone: increasing}}\n\
         quick:\n  seeds: 1\n"
    )
}

#[test]
fn holding_claims_pass_and_a_broken_one_fails_readably() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("good.yaml"), spec("x^2")).unwrap();
    let ok = subbench(
        d,
        &["check", "good.yaml", "--quick", "--markdown", "summary.md"],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    assert!(
        stdout(&ok).contains("PASS claims: agreement: value = x^2"),
        "{}",
        stdout(&ok)
    );
    assert!(stdout(&ok).contains("2 passed, 0 failed, 0 claims"));
    let md = fs::read_to_string(d.join("summary.md")).unwrap();
    assert!(
        md.contains("| claims |") && md.contains("2 passed, 0 failed"),
        "{md}"
    );
    assert!(d.join("reports/claims.html").exists() && d.join("reports/index.html").exists());

    // The same method judged against a wrong closed form (as if a sign had flipped).
    fs::write(
        d.join("bad.yaml"),
        spec("x^2 + 1").replace("name: claims", "name: broken"),
    )
    .unwrap();
    let bad = subbench(d, &["check", "bad.yaml", "--quick"]);
    assert_eq!(bad.status.code(), Some(1));
    let text = stdout(&bad);
    assert!(
        text.contains("FAIL broken: agreement: value = x^2 + 1"),
        "{text}"
    );
    assert!(
        text.contains("worst: |") && text.contains("− "),
        "the numbers compared are shown: {text}"
    );
    assert!(text.contains("1 passed, 1 failed"), "{text}");
}

#[test]
fn a_refuted_claim_is_reported_as_not_reproduced_until_it_starts_to_hold() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // value = x² is not x³: listed under `refuted`, the failing check keeps the run green and
    // is shown as not reproduced.
    let refuted = spec("x^2").replace(
        "quick:",
        "refuted:\n  - agreement: {metric: value, expr: \"x^3\", abs_tol: 1.0e-12}\nquick:",
    );
    fs::write(d.join("refuted.yaml"), &refuted).unwrap();
    let out = subbench(d, &["check", "refuted.yaml", "--quick"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("NOT REPRODUCED claims: not reproduced: agreement: value = x^3"),
        "{text}"
    );
    assert!(text.contains("2 passed, 0 failed, 1 claims"), "{text}");
    let page = fs::read_to_string(d.join("reports/claims.html")).unwrap();
    assert!(page.contains("NOT REPRODUCED"), "{page}");

    // A claim listed as refuted that holds fails the run: the spec's text has gone stale.
    fs::write(
        d.join("stale.yaml"),
        refuted
            .replace("expr: \"x^3\"", "expr: \"x^2\"")
            .replace("name: claims", "name: stale"),
    )
    .unwrap();
    let out = subbench(d, &["check", "stale.yaml", "--quick"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("move it from `refuted` to `expect`"),
        "{text}"
    );
}

#[test]
fn spec_errors_in_checks_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("typo.yaml"),
        spec("x^2").replace("along: x", "along: y"),
    )
    .unwrap();
    assert_user_error(
        &subbench(d, &["check", "typo.yaml"]),
        &["typo.yaml", "parameter `y`"],
    );
    fs::write(d.join("expr.yaml"), spec("sqr(x)")).unwrap();
    assert_user_error(
        &subbench(d, &["check", "expr.yaml"]),
        &["expr.yaml", "unknown function `sqr`"],
    );
    assert!(!d.join("results").exists());
}
