//! What a page says is what was run (issue 34), through the real binary: methods with different
//! parameter sets compare, quick pages stay quick, incomplete sweeps are said with counts, the
//! commands say where the pages are, exports say which trials are current, baselines are found
//! from the spec's repository, `list` shows user methods, tables go into a paper unedited and
//! figures tell their values on hover.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{assert_user_error, stderr, stdout, subbench};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The dependency-free probe worker (`probe.random`: x + U(0,1)) laid out under `dir` as in the
/// repository.
fn probe(dir: &Path) {
    let to = dir.join("tests/external/probe");
    fs::create_dir_all(&to).unwrap();
    fs::create_dir_all(dir.join("python")).unwrap();
    for f in ["manifest.yaml", "worker.py"] {
        fs::copy(repo().join("tests/external/probe").join(f), to.join(f)).unwrap();
    }
    fs::copy(
        repo().join("python/subbench_worker.py"),
        dir.join("python/subbench_worker.py"),
    )
    .unwrap();
}

fn ok(dir: &Path, args: &[&str]) -> Output {
    let o = subbench(dir, args);
    assert!(
        o.status.success(),
        "{args:?}: {}{}",
        stdout(&o),
        stderr(&o)
    );
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
        assert!(!first.contains(noise), "{noise} is no grouping key: {first}");
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
