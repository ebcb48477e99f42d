//! What a page says is what was run (issue 34), through the real binary: methods with different
//! parameter sets compare, quick pages stay quick, incomplete sweeps are said with counts, the
//! commands say where the pages are, exports say which trials are current, baselines are found
//! from the spec's repository, `list` shows user methods, tables go into a paper unedited and
//! figures tell their values on hover.

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::{assert_user_error, probe, stderr, stdout, subbench};

fn ok(dir: &Path, args: &[&str]) -> Output {
    let o = subbench(dir, args);
    assert!(o.status.success(), "{args:?}: {}{}", stdout(&o), stderr(&o));
    o
}

/// `probe.random` (x + U(0, 1), with parameters mode, sleep, n, flag, weights) against the
/// built-in `test.quadratic` (x², with noise, steps, mode, weights, offset_file): only `x` is
/// shared by intent; `probe.random` also sweeps `flag`, which the built-in method lacks.
const MIXED: &str = "name: mixed
title: t
paper: test
claim: c
seed: 5
seeds: 2
external: [tests/external/probe/manifest.yaml]
sweep:
  union:
    - grid: {method: [probe.random], x: [2, 3], flag: [false, true]}
    - grid: {method: [test.quadratic], x: [2, 3]}
metrics:
  value: {better: lower}
expect:
  - ordering: {metric: value, better: {method: probe.random}, worse: {method: test.quadratic}, where: {flag: false}}
report:
  tables:
    - {rows: method, columns: x, value: value, format: .2f}
    - {rows: method, columns: x, value: value, format: .2f, where: {flag: false}}
";

/// Issue 34, bug 2: a built-in and an external method whose parameter sets differ could not be
/// compared. A parameter only one method has was an empty value on the other side, so the
/// table said "…also varies; add it to the table's `where`" (and adding it emptied the other
/// method's row), and an ordering between the methods found "no pair of groups to compare"
/// whatever `where` said.
#[test]
fn methods_with_different_parameters_compare_in_tables_and_orderings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    probe(d);
    fs::write(d.join("mixed.yaml"), MIXED).unwrap();
    let o = subbench(d, &["check", "mixed.yaml"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert!(out.contains("PASS mixed: ordering"), "{out}");
    assert!(out.contains("2 pairs"), "{out}");
    // Without `where`, `flag` splits probe.random's cells: the note names a `where` that works.
    let first = fs::read_to_string(d.join("reports/mixed-table-1.md")).unwrap();
    assert!(
        first.contains("flag (false, true) also varies within a cell")
            && first.contains("`where: {flag: false}`"),
        "{first}"
    );
    for noise in ["sleep", "mode", "steps", "noise", "offset_file"] {
        assert!(
            !first.contains(noise),
            "{noise} is no grouping key: {first}"
        );
    }
    // With it, both methods have both cells, and nothing is said to vary.
    let second = fs::read_to_string(d.join("reports/mixed-table-2.md")).unwrap();
    assert!(!second.contains("varies"), "{second}");
    let row = |method: &str| {
        second
            .lines()
            .find(|l| l.starts_with(&format!("| {method} ")))
            .unwrap_or_else(|| panic!("no row {method}: {second}"))
            .to_string()
    };
    assert!(
        row("test.quadratic").contains("| 4.00 | 9.00 |"),
        "{second}"
    );
    assert!(!row("probe.random").contains('–'), "{second}");
}

/// A quadratic sweep with a table and a figure, quick variant of one seed.
const SWEEP: &str = "name: sweep
title: t
paper: test
claim: c
seed: 5
seeds: 4
method: test.quadratic
sweep:
  grid: {x: {linspace: [0.025, 0.075, 3]}, noise: [0.5]}
quick: {seeds: 2}
metrics:
  value: {better: lower, label: x squared}
  theory: {better: lower}
expect:
  - threshold: {metric: value, below: 100}
report:
  figures:
    - {kind: line, x: x, y: value, title: '', y_label: value of x², width: 500, height: 300}
    - {kind: line, x: x, y: theory}
  tables:
    - {rows: x, value: value, caption: 'Value by x.', label: 'tab:sweep', cell: mean_sd, bold: none, labels: {x: Point}}
";

fn write_sweep(d: &Path) {
    fs::write(d.join("sweep.yaml"), SWEEP).unwrap();
}

/// Issue 34, items 3 and 5: a quick check renders quick pages, which a later full `run` of
/// another spec or a `report` leaves quick; `run` and `check` say where the pages are.
#[test]
fn quick_pages_stay_quick_and_commands_say_where_the_pages_are() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_sweep(d);
    fs::write(
        d.join("other.yaml"),
        "name: other\ntitle: t\npaper: test\nclaim: c\nmethod: test.quadratic\nparams: {x: 2}\n",
    )
    .unwrap();
    let dry = ok(d, &["check", "sweep.yaml", "--quick", "--dry-run"]);
    assert!(
        stdout(&dry).contains("sweep: 6 trials, 0 stored, 6 to run; 1 checks"),
        "{}",
        stdout(&dry)
    );
    assert!(
        !d.join("results").exists() && !d.join("reports").exists(),
        "a dry run writes nothing"
    );
    let check = ok(d, &["check", "sweep.yaml", "--quick"]);
    assert!(
        stdout(&check)
            .contains("pages: reports/quick/index.html (1 spec page; checks: 1 passed, 0 failed"),
        "{}",
        stdout(&check)
    );
    let quick_index = || fs::read_to_string(d.join("reports/quick/index.json")).unwrap();
    assert!(
        quick_index().contains("\"quick\":true"),
        "{}",
        quick_index()
    );
    let run = ok(d, &["run", "other.yaml"]);
    assert!(
        stderr(&run).contains("pages: reports/index.html"),
        "{}",
        stderr(&run)
    );
    assert!(
        quick_index().contains("\"quick\":true"),
        "{}",
        quick_index()
    );
    let full = fs::read_to_string(d.join("reports/index.json")).unwrap();
    assert!(
        full.contains("\"name\":\"other\"") && !full.contains("\"name\":\"sweep\""),
        "{full}"
    );
    ok(d, &["report"]);
    let page = fs::read_to_string(d.join("reports/quick/sweep.html")).unwrap();
    assert!(page.contains("Quick sweep"), "the quick page stays quick");
    assert!(
        !d.join("reports/sweep.html").exists(),
        "no full page of a spec never run in full"
    );
    // `run --quick` exists, and the full sweep renders beside the quick one.
    ok(d, &["run", "sweep.yaml", "--quick"]);
    ok(d, &["run", "sweep.yaml", "--seeds", "3"]);
    assert!(d.join("reports/sweep.html").exists() && d.join("reports/quick/sweep.html").exists());
}

/// Issue 34, item 4: after `run --seeds 2` of a spec asking 4, the page and the index said "4
/// seeds per point" of a sweep that had 2.
#[test]
fn an_incomplete_sweep_is_said_with_counts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_sweep(d);
    ok(d, &["run", "sweep.yaml", "--seeds", "2"]);
    let page = fs::read_to_string(d.join("reports/sweep.html")).unwrap();
    assert!(page.contains("6 of 12 trials"), "page");
    assert!(page.contains("2 seeds per point (the spec asks 4)"), "page");
    let index = fs::read_to_string(d.join("reports/index.html")).unwrap();
    assert!(index.contains("incomplete: 6 of 12 trials"), "{index}");
    // Cells say their n when it is not the same everywhere.
    fs::write(
        d.join("sweep.yaml"),
        SWEEP.replace("{linspace: [0.025, 0.075, 3]}", "[0.025, 0.05, 0.075, 1.0]"),
    )
    .unwrap();
    ok(d, &["run", "sweep.yaml", "--seeds", "1"]);
    let table = fs::read_to_string(d.join("reports/sweep-table-1.md")).unwrap();
    assert!(
        table.contains("(n=2)") && table.contains("(n=1)"),
        "{table}"
    );
}

/// Issue 34, item 8: `list` showed the test suite's methods.
#[test]
fn list_shows_user_methods_only() {
    let dir = tempfile::tempdir().unwrap();
    let listed = stdout(&ok(dir.path(), &["list"]));
    assert!(
        !listed.contains("test.quadratic") && !listed.contains("test.flaky"),
        "{listed}"
    );
    assert!(
        listed.contains("subspace.") || listed.lines().count() > 4,
        "{listed}"
    );
}

/// Issue 34, items 9 and 10 and issue 28 §6: the LaTeX table of a spec is a float with the
/// spec's caption, label and headers, compiles in an article without an overfull box; figures
/// print swept values as written, carry hover values, leave no title band for `title: ""`, take
/// the spec's size and y label, and show no ± for a deterministic metric.
#[test]
fn tables_and_figures_are_ready_for_a_paper() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_sweep(d);
    ok(d, &["run", "sweep.yaml"]);
    let tex = fs::read_to_string(d.join("reports/sweep-table-1.tex")).unwrap();
    for needle in [
        "\\begin{table}",
        "\\caption{Value by x.}",
        "\\label{tab:sweep}",
        "Point &",
        "0.075 &",
    ] {
        assert!(tex.contains(needle), "{needle}: {tex}");
    }
    assert!(
        !tex.contains("0.07500000000000001") && !tex.contains("\\textbf"),
        "{tex}"
    );
    assert!(tex.contains(" ("), "mean (sd) cells: {tex}");
    let figure = fs::read_to_string(d.join("reports/sweep-figure-1.svg")).unwrap();
    assert!(figure.contains(r#"viewBox="0 0 500 300""#), "size");
    assert!(
        figure.contains("value of x²") && !figure.contains("font-weight=\"bold\""),
        "{figure}"
    );
    assert!(
        figure.contains("<title>x = 0.075\nx squared: "),
        "hover: {figure}"
    );
    assert!(
        figure.contains("95% interval: ") && figure.contains("n = 4</title>"),
        "{figure}"
    );
    // `theory` is x² exactly: no band, no interval in the hover text.
    let theory = fs::read_to_string(d.join("reports/sweep-figure-2.svg")).unwrap();
    assert!(
        !theory.contains("<polygon") && !theory.contains("95% interval"),
        "{theory}"
    );
    let page = fs::read_to_string(d.join("reports/sweep.html")).unwrap();
    assert!(
        page.contains("there is no band"),
        "caption of the deterministic figure"
    );
    if std::process::Command::new("pdflatex")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("SUBBENCH_REQUIRE_PDFLATEX").is_none(),
            "pdflatex missing"
        );
        eprintln!("pdflatex not installed: LaTeX compilation not tested");
        return;
    }
    fs::write(
        d.join("paper.tex"),
        format!(
            "\\documentclass{{article}}\n\\usepackage{{{}}}\n\\begin{{document}}\nTable~\\ref{{tab:sweep}}.\n\\input{{reports/sweep-table-1.tex}}\n\\end{{document}}\n",
            report::latex::PACKAGES
        ),
    )
    .unwrap();
    let out = std::process::Command::new("pdflatex")
        .args(["-interaction=nonstopmode", "-halt-on-error", "paper.tex"])
        .current_dir(d)
        .output()
        .unwrap();
    let log = fs::read_to_string(d.join("paper.log")).unwrap_or_default();
    assert!(out.status.success(), "{log}");
    assert!(!log.contains("Overfull \\hbox"), "{log}");
}

/// New table and figure keys are validated like every other: one line, exit 2.
#[test]
fn bad_table_and_figure_keys_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (bad, needle) in [
        ("cell: mean_sd", "cell: median"),
        ("bold: none", "bold: diagonal"),
        ("labels: {x: Point}", "labels: {y: Point}"),
        ("label: 'tab:sweep'", "label: 'tab sweep'"),
        ("width: 500", "width: 5"),
    ] {
        fs::write(d.join("bad.yaml"), SWEEP.replace(bad, needle)).unwrap();
        let o = subbench(d, &["validate", "bad.yaml"]);
        assert_user_error(&o, &["bad.yaml"]);
    }
}

/// Issue 34, item 7: outside the repository every baseline claim failed unless `--baselines`
/// pointed back at it. The baselines of the spec's repository are found from the spec.
#[test]
fn baselines_are_found_from_where_the_spec_lives() {
    let dir = tempfile::tempdir().unwrap();
    let repo_dir = dir.path().join("repo");
    let elsewhere = dir.path().join("elsewhere");
    fs::create_dir_all(repo_dir.join("specs")).unwrap();
    fs::create_dir_all(&elsewhere).unwrap();
    fs::write(
        repo_dir.join("specs/b.yaml"),
        "name: based\ntitle: t\npaper: test\nclaim: c\nmethod: test.quadratic\nsweep:\n  grid: {x: [1, 2]}\nmetrics: {value: {}}\nexpect:\n  - baseline: {abs_tol: 0.0}\n",
    )
    .unwrap();
    ok(&repo_dir, &["run", "specs/b.yaml", "--no-report"]);
    ok(&repo_dir, &["baseline", "save", "based"]);
    let spec = repo_dir.join("specs/b.yaml");
    let o = subbench(&elsewhere, &["check", spec.to_str().unwrap()]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("PASS based: baseline"),
        "{}",
        stdout(&o)
    );
}
