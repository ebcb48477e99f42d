//! Whole specs parsed: each error names the line of its own item.

use super::*;

const HEAD: &str = "name: s\ntitle: t\npaper: test\nclaim: c\nmethod: test.quadratic\nsweep:\n  grid:\n    x: [1, 2]\n    mode: [plain, shifted]\nmetrics: {value: {better: lower}}\n";

/// The error of `HEAD` + `rest`: its message and its (line, column).
fn error(rest: &str) -> (String, (usize, usize)) {
    let text = format!("{HEAD}{rest}");
    let e = parse_spec(
        Path::new("s.yaml"),
        &text,
        &crate::testkit::registry(),
        LoadOptions::default(),
    )
    .unwrap_err();
    (e.message, (e.line.unwrap(), e.column.unwrap()))
}

/// The (line, column) of the `nth` occurrence (0-based) of `needle` in `HEAD` + `rest`.
fn place(rest: &str, needle: &str, nth: usize) -> (usize, usize) {
    let text = format!("{HEAD}{rest}");
    text.lines()
        .enumerate()
        .flat_map(|(i, line)| line.match_indices(needle).map(move |(c, _)| (i + 1, c + 1)))
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} not in the spec"))
}

#[test]
fn an_error_in_the_fifth_figure_names_the_fifth_figures_line() {
    let report = "report:\n  figures:\n    - {kind: line, x: x, y: value}\n    - {kind: line, x: x, y: value, series: mode}\n    - {kind: scatter, x: x, y: value}\n    - {kind: line, x: x, y: value, series: mode}\n    - {kind: line, x: x, y: value, series: mood}\n";
    let (message, at) = error(report);
    assert!(message.contains("parameter `mood`"), "{message}");
    assert_eq!(at, place(report, "series: mood", 0));
}

#[test]
fn an_error_in_a_block_style_figure_names_its_own_key() {
    let report = "report:\n  figures:\n    - kind: line\n      x: x\n      y: value\n    - kind: line\n      x: x\n      where:\n        mode: plain\n        x: 3\n      y: value\n";
    let (message, at) = error(report);
    assert!(message.contains("no trial has x = 3"), "{message}");
    assert_eq!(at, place(report, "x: 3", 0));
}

#[test]
fn an_error_in_the_third_table_names_the_third_tables_line() {
    let report = "report:\n  tables:\n    - {rows: x, value: value, format: .3f}\n    - {rows: mode, value: value, format: .2e}\n    - {rows: x, value: value, format: .3d}\n";
    let (message, at) = error(report);
    assert!(message.contains("format `.3d`"), "{message}");
    assert_eq!(at, place(report, "format: .3d", 0));
    // In a flow list too: the second table's `value`.
    let report = "report:\n  tables: [{rows: x, value: value}, {rows: x, value: valeu}]\n";
    let (message, at) = error(report);
    assert!(message.contains("metric `valeu`"), "{message}");
    assert_eq!(at, place(report, "value: valeu", 0));
}

#[test]
fn an_error_in_the_fourth_check_names_the_fourth_checks_line() {
    let expect = "expect:\n  - threshold: {metric: value, above: 0}\n  - threshold: {metric: value, where: {x: 1}, above: 0}\n  - agreement: {metric: value, expr: \"x^2\"}\n  - threshold: {metric: value, where: {x: 3}, above: 0}\n";
    let (message, at) = error(expect);
    assert!(message.contains("no trial has x = 3"), "{message}");
    assert_eq!(at, place(expect, "x: 3", 0));
    let expect = "expect:\n  - threshold: {metric: value, above: 0}\n  - ordering: {metric: value, better: {mode: plain}, worse: {mode: shifted}}\n  - agreement: {metric: value, expr: \"2 * x\"}\n  - agreement: {metric: valeu, with: value}\n";
    let (message, at) = error(expect);
    assert!(message.contains("metric `valeu`"), "{message}");
    assert_eq!(at, place(expect, "metric: valeu", 0));
}

#[test]
fn an_error_in_a_refuted_check_names_its_line_not_an_expect_line() {
    let checks = "expect:\n  - threshold: {metric: value, above: 0}\nrefuted:\n  - threshold: {metric: value, below: 0}\n  - threshold: {metric: value}\n";
    let (message, at) = error(checks);
    assert!(
        message.contains("needs `above` and/or `below`"),
        "{message}"
    );
    assert_eq!(at, place(checks, "threshold", 2));
    let checks = "refuted:\n  - threshold: {metric: value, below: 0}\n  - baseline: {}\n";
    let (message, at) = error(checks);
    assert!(
        message.contains("a baseline belongs under `expect`"),
        "{message}"
    );
    assert_eq!(at, place(checks, "- baseline", 0));
}

#[test]
fn a_bad_quick_seeds_names_the_quick_line() {
    let text = format!("{HEAD}quick:\n  seeds: 0\n");
    let e = parse_spec(
        Path::new("s.yaml"),
        &text,
        &crate::testkit::registry(),
        LoadOptions {
            quick: true,
            ..LoadOptions::default()
        },
    )
    .unwrap_err();
    assert!(e.message.contains("`seeds` must be in"), "{}", e.message);
    let at = place("quick:\n  seeds: 0\n", "seeds", 0);
    assert_eq!((e.line, e.column), (Some(at.0), Some(at.1)));
}
