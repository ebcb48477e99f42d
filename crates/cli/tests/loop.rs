//! The researcher's loop through the real binary: `-p` overrides (stored apart, validated like
//! the spec's own values), `--where`, `list SPEC` / `validate --points`, `new`, the reasons of
//! re-runs (`status --why`), and `check --root-seed(s)`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::{assert_user_error, stderr, stdout, subbench};
use harness::{Store, TrialRecord};

const QUAD: &str = "\
name: quad
title: Quadratic
paper: test
claim: x squared
method: test.quadratic
seeds: 2
seed: 11
params: {steps: 2}
sweep:
  grid:
    x: [0, 1, 2]
    mode: [plain, shifted]
metrics:
  value: {}
  theory: {}
expect:
  - agreement: {metric: theory, expr: \"x^2\", abs_tol: 0.0, where: {mode: plain}}
  - threshold: {metric: theory, where: {x: 2}, above: 3.5}
";

fn setup(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("quad.yaml"), text).unwrap();
    dir
}

fn records(dir: &Path) -> Vec<TrialRecord> {
    Store::at(dir).load().unwrap()
}

/// The stores under `results`, by name.
fn stores(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root.join("results"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n != "baselines")
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn ok(o: &std::process::Output) {
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(o), stderr(o));
}

#[test]
fn an_override_is_stored_apart_with_its_resolved_spec_and_shares_trial_ids() {
    let dir = setup(QUAD);
    let root = dir.path();
    ok(&subbench(root, &["run", "quad.yaml", "--no-report"]));
    let canonical = records(&root.join("results/quad"));
    assert_eq!(canonical.len(), 12);
    let canonical_spec = fs::read_to_string(root.join("results/quad/spec.yaml")).unwrap();

    let o = subbench(
        root,
        &["run", "quad.yaml", "-p", "mode=shifted", "--no-report"],
    );
    ok(&o);
    let names = stores(root);
    assert_eq!(names.len(), 2, "{names:?}");
    let varied = names.iter().find(|n| n.starts_with("quad-")).unwrap();
    assert_eq!(varied.len(), "quad-".len() + 8, "{varied}");
    let store = root.join("results").join(varied);
    let spec = fs::read_to_string(store.join("spec.yaml")).unwrap();
    assert!(spec.contains("from quad.yaml (spec `quad`)"), "{spec}");
    assert!(spec.contains("#   -p mode=shifted"), "{spec}");
    assert!(spec.contains(&format!("name: {varied}")), "{spec}");
    let shifted = records(&store);
    assert_eq!(shifted.len(), 6);
    // The canonical store is untouched; the points both share have one id, seed and result.
    assert_eq!(records(&root.join("results/quad")).len(), 12);
    assert_eq!(
        fs::read_to_string(root.join("results/quad/spec.yaml")).unwrap(),
        canonical_spec
    );
    let by_id: BTreeMap<&str, &TrialRecord> =
        canonical.iter().map(|r| (r.trial_id.as_str(), r)).collect();
    for r in &shifted {
        let twin = by_id.get(r.trial_id.as_str()).expect("a shared point");
        assert_eq!(twin.seed, r.seed);
        assert_eq!(
            twin.metrics["value"].to_bits(),
            r.metrics["value"].to_bits()
        );
    }
    // The same overrides, in another order, name the same store: nothing runs again.
    let o = subbench(
        root,
        &[
            "run",
            "quad.yaml",
            "-p",
            "mode=plain",
            "-p",
            "mode=shifted",
            "--no-report",
        ],
    );
    ok(&o);
    assert_eq!(stores(root).len(), 2);
    assert!(
        stderr(&o).contains("0 trials to run, 6 already stored"),
        "{}",
        stderr(&o)
    );
    // The stored resolved spec is a spec: report reads it.
    ok(&subbench(root, &["report", "results", "--out", "reports"]));
    assert!(
        root.join("reports").join(format!("{varied}.html")).exists()
            || root.join("reports").join(varied).exists()
    );
}

#[test]
fn sweep_overrides_replace_or_add_an_axis_and_print_spec_runs_nothing() {
    let dir = setup(QUAD);
    let root = dir.path();
    let o = subbench(
        root,
        &[
            "run",
            "quad.yaml",
            "-p",
            "x=range(0, 10, 3)",
            "-p",
            "noise=0,0.5",
            "-p",
            "seeds=1",
            "-p",
            "seed=5",
            "--print-spec",
        ],
    );
    ok(&o);
    let text = stdout(&o);
    assert!(!root.join("results").exists(), "--print-spec wrote a store");
    assert!(
        text.contains("\nseeds: 1\n") && text.contains("\nseed: 5\n"),
        "{text}"
    );
    assert!(text.contains("range:"), "{text}");
    // 4 values of x × 2 modes × 2 noises, one seed: and the claim on x = 2 is left out, said why.
    assert!(text.contains("# left out: expect[1]"), "{text}");
    let o = subbench(
        root,
        &[
            "validate",
            "quad.yaml",
            "-p",
            "x=range(0, 10, 3)",
            "-p",
            "noise=0,0.5",
            "-p",
            "seeds=1",
        ],
    );
    ok(&o);
    assert!(
        stdout(&o).contains("(16 points × 1 seeds = 16 trials)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_bad_override_is_one_line_naming_it_and_runs_nothing() {
    let dir = setup(QUAD);
    let root = dir.path();
    for (args, needle) in [
        (vec!["-p", "mode=plain", "-p", "steps=abc"], "-p 2: steps=abc: `steps` must be an integer in [0, 1000]"),
        (vec!["-p", "steps=5000"], "-p 1: steps=5000: `steps` must be an integer in [0, 1000]"),
        (vec!["-p", "mode=twisted"], "-p 1: mode=twisted: `mode` must be one of plain, shifted"),
        (vec!["-p", "stpes=3"], "-p 1: stpes=3: unknown parameter `stpes` for method test.quadratic (did you mean `steps`?)"),
        (vec!["-p", "seeds=0"], "-p 1: seeds=0: `seeds` must be in [1, 100000]"),
        (vec!["-p", "seeds=1,2"], "-p 1: seeds=1,2: `seeds` takes one value"),
        (vec!["-p", "steps"], "-p 1: steps: no `=`"),
        (vec!["-p", "x=range(0, 5, 0)"], "-p 1: x=range(0, 5, 0): sweep: `x`: range takes integers and a non-zero step"),
        (vec!["--name", "Bad Name"], "--name Bad Name: name `Bad Name` is not allowed"),
    ] {
        let mut all = vec!["run", "quad.yaml"];
        all.extend(args);
        let o = subbench(root, &all);
        assert_user_error(&o, &[needle]);
        assert!(!root.join("results").exists(), "{all:?} wrote a store");
    }
}

#[test]
fn where_runs_only_the_matching_points_in_the_canonical_store() {
    let dir = setup(QUAD);
    let root = dir.path();
    let o = subbench(
        root,
        &[
            "run",
            "quad.yaml",
            "--where",
            "mode=shifted",
            "--where",
            "x=0,2",
            "--no-report",
        ],
    );
    ok(&o);
    let stored = records(&root.join("results/quad"));
    assert_eq!(stored.len(), 4);
    assert!(stored
        .iter()
        .all(|r| r.params["mode"] == harness::Value::Str("shifted".into())));
    let o = subbench(root, &["validate", "--points", "quad.yaml"]);
    ok(&o);
    let text = stdout(&o);
    assert!(
        text.contains("quad: 6 points × 2 seeds = 12 trials, 4 stored"),
        "{text}"
    );
    assert!(
        text.contains("  method=test.quadratic x=2 mode=shifted  2 trials, 2 stored"),
        "{text}"
    );
    assert!(
        text.contains("  method=test.quadratic x=1 mode=plain  2 trials, 0 stored"),
        "{text}"
    );
    let o = subbench(root, &["list", "quad.yaml", "--where", "mode=plain"]);
    ok(&o);
    assert!(
        stdout(&o).contains("quad: 3 points × 2 seeds = 6 trials, 0 stored"),
        "{}",
        stdout(&o)
    );
    // The rest of the sweep runs later into the same store, each trial in its place.
    ok(&subbench(root, &["run", "quad.yaml", "--no-report"]));
    let all = records(&root.join("results/quad"));
    assert_eq!(all.len(), 12);
    let mut orders: Vec<u64> = all.iter().map(|r| r.order).collect();
    orders.sort();
    assert_eq!(orders, (0..12).collect::<Vec<u64>>());
    // A filter that matches nothing names the values there are.
    assert_user_error(
        &subbench(root, &["run", "quad.yaml", "--where", "mode=twisted"]),
        &["--where mode=twisted: no point of spec `quad` has it; the values of `mode` are: plain, shifted"],
    );
    assert_user_error(
        &subbench(root, &["run", "quad.yaml", "--where", "rank=1"]),
        &["--where rank=1: spec `quad` has no parameter `rank`"],
    );
    assert_user_error(
        &subbench(
            root,
            &["run", "quad.yaml", "--where", "x=0", "--where", "x=1"],
        ),
        &["no point has them all"],
    );
}

#[test]
fn check_where_evaluates_the_claims_about_the_selected_points() {
    let dir = setup(QUAD);
    let root = dir.path();
    let o = subbench(root, &["check", "quad.yaml", "--where", "x=0,1"]);
    ok(&o);
    let text = stdout(&o);
    // The threshold claim is about x = 2: not shown; the agreement holds on what ran.
    assert!(
        text.contains("PASS quad: agreement: theory = x^2"),
        "{text}"
    );
    assert!(!text.contains("threshold"), "{text}");
    assert_eq!(records(&root.join("results/quad")).len(), 8);
}

#[test]
fn root_seeds_replace_every_specs_seed_and_are_stored_apart() {
    let dir = setup(QUAD);
    let root = dir.path();
    let o = subbench(root, &["check", "quad.yaml", "--root-seed", "7"]);
    ok(&o);
    let names = stores(root);
    assert_eq!(names.len(), 1, "{names:?}");
    assert_ne!(names[0], "quad");
    // The same as `-p seed=7`: one store, its trials cached.
    let o = subbench(root, &["run", "quad.yaml", "-p", "seed=7", "--no-report"]);
    ok(&o);
    assert_eq!(stores(root), names);
    assert!(
        stderr(&o).contains("0 trials to run, 12 already stored"),
        "{}",
        stderr(&o)
    );
    let o = subbench(root, &["check", "quad.yaml", "--root-seeds", "7..9"]);
    ok(&o);
    assert!(
        stdout(&o).contains("held in 3/3 seed sets"),
        "{}",
        stdout(&o)
    );
    assert_eq!(stores(root).len(), 3);
    for bad in ["9..7", "1..500", "x..3"] {
        assert_user_error(
            &subbench(root, &["check", "quad.yaml", "--root-seeds", bad]),
            &["is not a range of root seeds"],
        );
    }
}

#[test]
fn reruns_say_why_and_a_comment_edit_reruns_nothing() {
    let spec = QUAD.replace(
        "params: {steps: 2}",
        "params: {steps: 2, offset_file: off.txt}",
    );
    let dir = setup(&spec);
    let root = dir.path();
    fs::write(root.join("off.txt"), "1.0\n").unwrap();
    ok(&subbench(root, &["run", "quad.yaml", "--no-report"]));
    let o = subbench(root, &["status", "results/quad", "--why"]);
    ok(&o);
    assert!(
        stdout(&o).contains("all 12 trials are stored and current"),
        "{}",
        stdout(&o)
    );
    // Comments, blank lines and flow style: the same trials, nothing runs.
    let edited = format!(
        "# a comment\n\n{}\n# the end\n",
        spec.replace("x: [0, 1, 2]", "x:   [0,1,2]   # three")
    );
    fs::write(root.join("quad.yaml"), edited).unwrap();
    let o = subbench(root, &["run", "quad.yaml", "--no-report"]);
    ok(&o);
    assert!(
        stderr(&o).contains("0 trials to run, 12 already stored"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("re-run"), "{}", stderr(&o));
    // The input file changes: every trial reads it, so every trial runs again, and says why.
    fs::write(root.join("off.txt"), "2.0\n").unwrap();
    let o = subbench(root, &["status", "results/quad", "--why"]);
    ok(&o);
    assert!(
        stdout(&o).contains("12 trials re-run: input file off.txt changed"),
        "{}",
        stdout(&o)
    );
    let o = subbench(root, &["run", "quad.yaml", "--no-report"]);
    ok(&o);
    assert!(
        stderr(&o).contains("quad: 12 trials re-run: input file off.txt changed"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn trials_that_failed_before_are_named_when_they_run_again() {
    let text = "\
name: flaky
title: Flaky
paper: test
claim: fails once
method: test.flaky
seeds: 1
sweep:
  grid:
    x: [0, 1, 2, 3]
metrics:
  value: {}
";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(
        root.join("flaky.yaml"),
        text.replace("seeds: 1", "seeds: 1\nparams: {error_at: 2}"),
    )
    .unwrap();
    let o = subbench(root, &["run", "flaky.yaml", "--no-report"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // The failed trial is not served from the store: the next run tries it again, and says so.
    let o = subbench(root, &["status", "results/flaky", "--why"]);
    ok(&o);
    assert!(
        stdout(&o).contains("1 trial had failed before"),
        "{}",
        stdout(&o)
    );
    let o = subbench(root, &["run", "flaky.yaml", "--no-report"]);
    assert!(
        stderr(&o).contains("flaky: 1 trial had failed before"),
        "{}",
        stderr(&o)
    );
}

/// The method ids `subbench list` prints (the lines that do not start with a space).
fn registered_methods(root: &Path) -> Vec<String> {
    let o = subbench(root, &["list"]);
    ok(&o);
    stdout(&o)
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn the_scaffold_of_every_registered_method_validates_and_runs_quick() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let methods = registered_methods(root);
    assert!(methods.len() >= 10, "{methods:?}");
    for method in &methods {
        let file = format!("specs/new/{}.yaml", method.replace('.', "-"));
        let o = subbench(root, &["new", method, "--out", &file]);
        ok(&o);
        let text = fs::read_to_string(root.join(&file)).unwrap();
        assert!(
            text.contains("quick:") && text.contains("metrics:"),
            "{text}"
        );
        assert!(!text.contains("\nexpect:"), "{text}");
        ok(&subbench(root, &["validate", &file]));
        let o = subbench(root, &["check", &file, "--quick", "--out", "results"]);
        ok(&o);
        assert!(
            stdout(&o).contains("the spec states no checks"),
            "{method}: {}",
            stdout(&o)
        );
        // Never overwritten.
        assert_user_error(
            &subbench(root, &["new", method, "--out", &file]),
            &["already exists"],
        );
    }
    assert_user_error(&subbench(root, &["new", "no.such"]), &["no.such"]);
}

fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_scaffold_of_an_external_manifest_validates_and_runs_quick() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let to = root.join("tests/external/probe");
    fs::create_dir_all(&to).unwrap();
    fs::create_dir_all(root.join("python/src/subbench")).unwrap();
    for f in ["manifest.yaml", "worker.py"] {
        fs::copy(repo().join("tests/external/probe").join(f), to.join(f)).unwrap();
    }
    for f in ["subbench_worker.py", "src/subbench/worker.py"] {
        fs::copy(repo().join("python").join(f), root.join("python").join(f)).unwrap();
    }
    let o = subbench(
        root,
        &[
            "new",
            "--external",
            "tests/external/probe/manifest.yaml",
            "--out",
            "specs/probe/first.yaml",
        ],
    );
    ok(&o);
    let text = fs::read_to_string(root.join("specs/probe/first.yaml")).unwrap();
    assert!(
        text.contains("external: [\"../../tests/external/probe/manifest.yaml\"]"),
        "{text}"
    );
    assert!(text.contains("name: first"), "{text}");
    ok(&subbench(root, &["validate", "specs/probe/first.yaml"]));
    let o = subbench(root, &["check", "specs/probe/first.yaml", "--quick"]);
    ok(&o);
    assert!(
        stdout(&o).contains("NONE first: the spec states no checks"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn slurm_tasks_repeat_the_overrides_and_merge_into_the_variations_store() {
    let dir = setup(QUAD);
    let root = dir.path();
    let o = subbench(
        root,
        &[
            "slurm",
            "quad.yaml",
            "--shards",
            "2",
            "-p",
            "mode=plain",
            "--where",
            "x=0,1",
        ],
    );
    ok(&o);
    let script = stdout(&o);
    assert!(
        script.contains("--no-report -p 'mode=plain' --where 'x=0,1' -- 'quad.yaml'"),
        "{script}"
    );
    let variation = subbench(root, &["run", "quad.yaml", "-p", "mode=plain", "--dry-run"]);
    let name = stdout(&variation).split(':').next().unwrap().to_string();
    assert!(name.starts_with("quad-"), "{name}");
    assert!(script.contains(&format!("results/{name}")), "{script}");
    assert!(!root.join("results").exists());
}

#[test]
fn quick_overrides_fold_the_quick_block_into_a_spec_of_their_own() {
    let spec = format!(
        "{QUAD}quick:\n  seeds: 1\n  sweep:\n    grid:\n      x: [0, 2]\n      mode: [plain]\n"
    );
    let dir = setup(&spec);
    let root = dir.path();
    let o = subbench(
        root,
        &[
            "check",
            "quad.yaml",
            "--quick",
            "-p",
            "x=0,1,2",
            "--print-spec",
        ],
    );
    ok(&o);
    let text = stdout(&o);
    assert!(text.contains("its quick: block applied"), "{text}");
    assert!(!text.contains("\nquick:"), "{text}");
    let o = subbench(root, &["check", "quad.yaml", "--quick", "-p", "x=0,1,2"]);
    ok(&o);
    let names = stores(root);
    assert_eq!(names.len(), 1);
    // One seed, one mode, the overridden three values of x.
    assert_eq!(records(&root.join("results").join(&names[0])).len(), 3);
    // The full spec with the same override is another variation.
    let o = subbench(root, &["run", "quad.yaml", "-p", "x=0,1,2", "--dry-run"]);
    assert!(stdout(&o).contains("12 trials, 0 stored"), "{}", stdout(&o));
}
