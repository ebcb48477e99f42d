//! `subbench run`, `validate`, `merge` end to end on the test methods: determinism across thread
//! counts and shards, resume after a kill, failure isolation, no work when nothing is missing,
//! and validation errors that write nothing.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_user_error, stderr, subbench};
use harness::{Status, Store, TrialRecord};

const QUADRATIC: &str = "\
name: quad
title: Quadratic
paper: test
claim: x squared
method: test.quadratic
seeds: 4
seed: 11
params: {noise: 0.5, steps: 4}
sweep:
  grid:
    x: {linspace: [-1, 1, 9]}
    mode: [plain, shifted]
metrics:
  value: {label: f, better: lower}
  draw: {}
";

fn write(dir: &Path, name: &str, text: &str) {
    fs::write(dir.join(name), text).unwrap();
}

fn load(dir: &Path) -> Vec<TrialRecord> {
    Store::at(dir).load().unwrap()
}

/// A trial as two runs must agree on it: id, seed, status, metric bits, curve length.
type Fingerprint = (String, u64, Status, Vec<(String, u64)>, usize);

/// What must be identical between two runs: everything but the timing.
fn results(records: &[TrialRecord]) -> Vec<Fingerprint> {
    records
        .iter()
        .map(|r| {
            let metrics = r
                .metrics
                .iter()
                .map(|(k, v)| (k.clone(), v.to_bits()))
                .collect();
            (
                r.trial_id.clone(),
                r.seed,
                r.status,
                metrics,
                r.curves.values().map(Vec::len).sum(),
            )
        })
        .collect()
}

#[test]
fn results_are_bit_identical_for_any_thread_count_and_shard_split() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "q.yaml", QUADRATIC);
    for (out, jobs) in [("one", "1"), ("two", "2")] {
        let o = subbench(d, &["run", "q.yaml", "--out", out, "--jobs", jobs]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let one = load(&d.join("one/quad"));
    assert_eq!(one.len(), 9 * 2 * 4);
    assert!(one.iter().all(|r| r.status == Status::Ok));
    assert_eq!(results(&one), results(&load(&d.join("two/quad"))));

    for shard in ["1/3", "2/3", "3/3"] {
        let o = subbench(d, &["run", "q.yaml", "--out", "sharded", "--shard", shard]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = subbench(d, &["merge", "sharded/quad"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        results(&one),
        results(&load(&d.join("sharded/quad"))),
        "row for row"
    );
}

#[test]
fn a_rerun_with_nothing_missing_does_no_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "q.yaml", QUADRATIC);
    assert!(subbench(d, &["run", "q.yaml"]).status.success());
    let before = fs::metadata(d.join("results/quad/trials.parquet"))
        .unwrap()
        .modified()
        .unwrap();
    let dry = subbench(d, &["run", "q.yaml", "--dry-run"]);
    assert_eq!(
        common::stdout(&dry).trim(),
        "quad: 72 trials, 72 stored, 0 to run"
    );
    let again = subbench(d, &["run", "q.yaml"]);
    assert!(
        stderr(&again).contains("0 trials to run, 72 already stored"),
        "{}",
        stderr(&again)
    );
    assert!(stderr(&again).contains("0 ran"), "{}", stderr(&again));
    // Changing the seed count runs only the new repetitions.
    let more = subbench(d, &["run", "q.yaml", "--seeds", "5"]);
    assert!(
        stderr(&more).contains("18 trials to run, 72 already stored"),
        "{}",
        stderr(&more)
    );
    assert!(
        before
            <= fs::metadata(d.join("results/quad/trials.parquet"))
                .unwrap()
                .modified()
                .unwrap()
    );
}

#[test]
fn failures_are_isolated_recorded_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = "\
name: flaky
title: Flaky
paper: test
claim: failures are recorded
method: test.flaky
seeds: 2
params: {panic_at: 2, error_at: 3, nan_at: 4}
sweep:
  grid:
    x: {range: [0, 6]}
metrics:
  value: {}
";
    write(d, "f.yaml", spec);
    let o = subbench(d, &["run", "f.yaml", "--jobs", "2"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a failed trial makes the run exit 1"
    );
    assert!(
        !stderr(&o).contains("panicked at"),
        "trial panics are recorded, not printed: {}",
        stderr(&o)
    );
    let records = load(&d.join("results/flaky"));
    assert_eq!(records.len(), 12);
    let status_of = |x: i64| {
        let r: Vec<&TrialRecord> = records
            .iter()
            .filter(|r| r.params["x"] == harness::Value::Int(x))
            .collect();
        assert_eq!(r.len(), 2);
        (r[0].status, r[0].error.clone().unwrap_or_default())
    };
    assert_eq!(status_of(0).0, Status::Ok);
    assert_eq!(status_of(2).0, Status::Error);
    assert!(status_of(2).1.contains("panicked: asked to panic at x = 2"));
    assert_eq!(status_of(3).0, Status::Error);
    assert_eq!(status_of(4).0, Status::Diverged);
    assert!(status_of(4).1.contains("NaN"), "{}", status_of(4).1);
    // Failures are never cached: a re-run retries exactly those six.
    let again = subbench(d, &["run", "f.yaml"]);
    assert!(
        stderr(&again).contains("6 trials to run, 6 already stored"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn a_killed_run_resumes_and_ends_equal_to_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = "\
name: slow
title: Slow
paper: test
claim: resumable
method: test.flaky
seeds: 1
params: {sleep_ms: 20}
sweep:
  grid:
    x: {range: [0, 200]}
metrics:
  value: {}
";
    write(d, "s.yaml", spec);
    let mut child = Command::new(env!("CARGO_BIN_EXE_subbench"))
        .current_dir(d)
        .args(["run", "s.yaml", "--jobs", "2", "--out", "killed"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until some trials are on disk, then SIGKILL.
    let parts = d.join("killed/slow/parts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && fs::read_dir(&parts).map(|r| r.count()).unwrap_or(0) < 6 {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let survived = load(&d.join("killed/slow")).len();
    assert!(
        survived > 0 && survived < 200,
        "{survived} trials survived the kill"
    );

    let resumed = subbench(d, &["run", "s.yaml", "--out", "killed"]);
    assert!(resumed.status.success());
    assert!(
        stderr(&resumed).contains(&format!(
            "{} trials to run, {survived} already stored",
            200 - survived
        )),
        "{}",
        stderr(&resumed)
    );
    let uninterrupted = subbench(d, &["run", "s.yaml", "--out", "whole"]);
    assert!(uninterrupted.status.success());
    assert_eq!(
        results(&load(&d.join("killed/slow"))),
        results(&load(&d.join("whole/slow")))
    );
}

#[test]
fn invalid_specs_write_nothing_and_name_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: &[(&str, &[&str])] = &[
        ("sweeep:\n  grid: {x: [1]}\n", &["unknown field `sweeep`", "did you mean `sweep`"]),
        ("params: {nosie: 1}\nsweep:\n  grid: {x: [1]}\n", &[":7:", "unknown parameter `nosie`", "did you mean `noise`"]),
        ("sweep:\n  grid:\n    x: [1, 2]\n    steps: [1, 2000]\n", &[":10:", "`steps` must be an integer in [0, 1000]"]),
        ("sweep:\n  zip:\n    x: [1, 2]\n    steps: [1]\n", &[":10:", "equal lengths"]),
        ("sweep:\n  grid:\n    x: []\n", &["no values"]),
        ("sweep:\n  grid:\n    x: {range: [0, 1000]}\n    noise: {range: [0, 1000]}\n    steps: {range: [0, 1000]}\n", &["1000000000 trials", "--allow-large"]),
        ("sweep:\n  grid: {x: [1]}\nexpect:\n  - threshold: {metric: vaule, above: 1}\n", &["metric `vaule`", "did you mean `value`"]),
        ("sweep:\n  grid: {x: [1]}\nreport:\n  figures: [{kind: line, x: n, y: value}]\n", &["parameter `n`"]),
    ];
    for (i, (tail, needles)) in cases.iter().enumerate() {
        let text = format!("name: bad{i}\ntitle: t\npaper: test\nclaim: c\nmethod: test.quadratic\nmetrics: {{value: {{}}}}\n{tail}");
        let file = format!("bad{i}.yaml");
        write(d, &file, &text);
        let mut wanted = vec![file.as_str()];
        wanted.extend_from_slice(needles);
        assert_user_error(&subbench(d, &["run", &file]), &wanted);
        assert_user_error(&subbench(d, &["validate", &file]), &wanted);
    }
    assert!(
        !d.join("results").exists(),
        "nothing may be written for an invalid spec"
    );
}

#[test]
fn bad_names_unknown_methods_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = |name: &str, method: &str| {
        format!("name: {name}\ntitle: t\npaper: test\nclaim: c\nmethod: {method}\nparams: {{x: 1}}\nmetrics: {{value: {{}}}}\n")
    };
    write(d, "a.yaml", &spec("../escape", "test.quadratic"));
    assert_user_error(
        &subbench(d, &["validate", "a.yaml"]),
        &["a.yaml:1:1", "name `../escape` is not allowed"],
    );
    write(d, "b.yaml", &spec("b", "test.quadratc"));
    assert_user_error(
        &subbench(d, &["validate", "b.yaml"]),
        &[
            "b.yaml:5:1",
            "unknown method `test.quadratc`",
            "did you mean `test.quadratic`",
        ],
    );
    fs::create_dir(d.join("specs")).unwrap();
    write(
        &d.join("specs"),
        "one.yaml",
        &spec("same", "test.quadratic"),
    );
    write(
        &d.join("specs"),
        "two.yaml",
        &spec("same", "test.quadratic"),
    );
    assert_user_error(
        &subbench(d, &["validate", "specs"]),
        &["two.yaml:1:1", "`same` is already used by", "one.yaml"],
    );
    fs::write(d.join("binary.yaml"), b"name: \xff\xfe\n").unwrap();
    assert_user_error(
        &subbench(d, &["validate", "binary.yaml"]),
        &["binary.yaml", "UTF-8"],
    );
    fs::write(d.join("empty.yaml"), "").unwrap();
    assert_user_error(
        &subbench(d, &["validate", "empty.yaml"]),
        &["empty.yaml", "empty"],
    );
    assert_user_error(
        &subbench(d, &["run", "nowhere.yaml"]),
        &["nowhere.yaml", "cannot read"],
    );
}

#[test]
fn list_shows_methods_and_their_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let all = subbench(dir.path(), &["list", "--test-methods"]);
    assert!(common::stdout(&all).contains("test.quadratic"));
    let one = subbench(dir.path(), &["list", "test.quadratic"]);
    let text = common::stdout(&one);
    assert!(
        text.contains("noise")
            && text.contains("a number in [0, 1000]")
            && text.contains("default 0.0"),
        "{text}"
    );
    assert_user_error(
        &subbench(dir.path(), &["list", "nope"]),
        &["unknown method `nope`"],
    );
}

/// The complete spec example of the spec reference (docs/spec.md) must stay valid against the
/// shipped methods.
#[test]
fn the_spec_reference_example_validates() {
    let reference =
        fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/spec.md")).unwrap();
    let start = reference
        .find("```yaml\n")
        .expect("docs/spec.md has a yaml example")
        + 8;
    let end = start + reference[start..].find("```").expect("closed code block");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "example.yaml", &reference[start..end]);
    let out = subbench(dir.path(), &["validate", "example.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let quick = subbench(
        dir.path(),
        &["check", "example.yaml", "--quick", "--markdown", "m.md"],
    );
    let text = common::stdout(&quick);
    // Every claim of the example holds except the baseline, which needs `baseline save` first.
    assert!(
        text.contains("passed, 1 failed") && text.contains("FAIL attack-rank-one-budget: baseline"),
        "{text}"
    );
}
