//! `subbench compare` through the real binary: two stores of the shipped `attack-budget` spec,
//! two groups of one store (`--between`), a saved baseline, a real change found and gated by
//! `--fail-on`, the output files, and every bad input as one line with exit code 2.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{assert_user_error, stderr, stdout, subbench, subbench_env};

fn shipped(spec: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../specs")
        .join(spec)
}

fn ran(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(o), stderr(o));
}

/// The shipped attack-budget spec, 3 seeds per point, run into `out` (with its root seed
/// replaced by `seed` when given: another set of trial seeds, the same distribution).
fn attack_budget(d: &Path, out: &str, seed: Option<u64>) {
    let mut text = fs::read_to_string(shipped("attack/budget.yaml")).unwrap();
    if let Some(seed) = seed {
        assert!(text.contains("\nseed: 1\n"));
        text = text.replace("\nseed: 1\n", &format!("\nseed: {seed}\n"));
    }
    let file = format!("{out}.yaml");
    fs::write(d.join(&file), text).unwrap();
    ran(&subbench(
        d,
        &["run", &file, "--out", out, "--seeds", "3", "--no-report"],
    ));
}

fn summary_line(o: &Output) -> String {
    stdout(o).lines().last().unwrap_or_default().to_string()
}

#[test]
fn two_runs_of_attack_budget_are_identical_and_pass_every_gate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    attack_budget(d, "one", None);
    attack_budget(d, "two", None);
    let o = subbench(
        d,
        &[
            "compare",
            "one/attack-budget",
            "two/attack-budget",
            "--fail-on",
            "changed",
            "--markdown",
            "compare.md",
            "--csv",
            "compare.csv",
        ],
    );
    ran(&o);
    // Every stored metric, not only the 4 the spec declares: 40 budgets × 4 attacks × 8 metrics,
    // less `theory` and `excess` of the 80 random-attack points (they have none), 3 seeds each,
    // all bit-identical: every row unchanged.
    assert_eq!(
        summary_line(&o),
        "1120 unchanged; identical: 3360 of 3360 values",
        "{}",
        stdout(&o)
    );
    let md = fs::read_to_string(d.join("compare.md")).unwrap();
    assert!(
        md.contains("**1120 unchanged; identical: 3360 of 3360 values**"),
        "{md}"
    );
    let csv = fs::read_to_string(d.join("compare.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1121);
    assert!(csv.lines().nth(1).unwrap().contains("paired t"), "{csv}");
    let page = fs::read_to_string(d.join("reports/compare/attack-budget.html")).unwrap();
    assert_eq!(
        page.matches("<svg").count(),
        8,
        "one forest plot per metric"
    );

    // Another root seed: other trial seeds, so Welch on unpaired seeds; nothing is identical.
    attack_budget(d, "reseeded", Some(7));
    let o = subbench(
        d,
        &[
            "compare",
            "one/attack-budget",
            "reseeded/attack-budget",
            "--json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1120);
    let designs: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["design"].as_str().unwrap()).collect();
    assert_eq!(designs, ["welch"].into_iter().collect());
    // The exit code says what the rows say.
    let worse = rows.iter().filter(|r| r["verdict"] == "worse").count();
    let gated = subbench(
        d,
        &[
            "compare",
            "one/attack-budget",
            "reseeded/attack-budget",
            "--fail-on",
            "worse",
        ],
    );
    assert_eq!(
        gated.status.code(),
        Some(i32::from(worse > 0)),
        "{}",
        stdout(&gated)
    );
}

#[test]
fn between_compares_two_groups_of_the_attack_budget_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    attack_budget(d, "one", None);
    let o = subbench(
        d,
        &[
            "compare",
            "one/attack-budget",
            "--between",
            "attack=rank_one,random_rank_one",
            "--json",
        ],
    );
    ran(&o);
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(json["a"], "attack=rank_one");
    assert_eq!(json["b"], "attack=random_rank_one");
    let rows = json["rows"].as_array().unwrap();
    // 6 metrics at 40 budgets; random attacks have no `theory` and `excess`, which are listed.
    assert_eq!(rows.len(), 40 * 6);
    assert_eq!(
        json["metrics_only_a"],
        serde_json::json!(["excess", "theory"])
    );
    // The spec's claim: random perturbations of the same energy are an order of magnitude
    // weaker, so the distance (better: higher) of random_rank_one is never better, and worse
    // wherever 3 seeds per side (Welch, BH over all 240 rows) resolve it.
    let distance: Vec<&serde_json::Value> =
        rows.iter().filter(|r| r["metric"] == "distance").collect();
    assert_eq!(distance.len(), 40);
    let verdicts: Vec<(&serde_json::Value, &serde_json::Value)> = distance
        .iter()
        .map(|r| (&r["point"], &r["verdict"]))
        .collect();
    assert!(
        distance
            .iter()
            .all(|r| r["verdict"] == "worse" || r["verdict"] == "inconclusive"),
        "{verdicts:?}"
    );
    let worse = distance.iter().filter(|r| r["verdict"] == "worse").count();
    assert!(worse >= 30, "{verdicts:?}");
}

const NORMAL: &str = "name: normal\ntitle: Normal draws\npaper: test\nclaim: x is normal\n\
    method: test.normal\nseeds: 10\nseed: 3\nparams: {shared_sd: 1.0, sd: 0.5}\n\
    metrics:\n  x: {better: higher}\n  y: {better: lower}\n  seconds: {better: lower}\n";

fn normal_spec(d: &Path, file: &str, sweep: &str) {
    fs::write(d.join(file), format!("{NORMAL}sweep:\n  grid:\n{sweep}")).unwrap();
}

#[test]
fn a_real_change_is_found_paired_and_gated_and_one_sided_points_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    normal_spec(d, "a.yaml", "    k: [0, 1, 2]\n");
    normal_spec(d, "b.yaml", "    k: [0, 1, 2, 3]\n");
    ran(&subbench(
        d,
        &["run", "a.yaml", "--out", "before", "--no-report"],
    ));
    // "After a change": the same trials (same seeds, shared noise), x lowered by 2, and its own
    // noise drawn afresh as on another machine.
    ran(&subbench_env(
        d,
        &["run", "b.yaml", "--out", "after", "--no-report"],
        &[
            ("SUBBENCH_TESTKIT_SHIFT", "-2"),
            ("SUBBENCH_TESTKIT_SALT", "5"),
        ],
    ));
    let args = ["compare", "before/normal", "after/normal", "--json"];
    let o = subbench(d, &args);
    ran(&o);
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 9);
    for r in rows.iter().filter(|r| r["metric"] == "x") {
        // Paired on the seeds: the shared noise (σ = 1) cancels, the own noise (σ = 0.5) stays:
        // the difference −2 has a standard error of 0.5·√2/√10 ≈ 0.22 (t ≈ 9).
        assert_eq!(r["design"], "paired");
        assert_eq!(r["verdict"], "worse", "{r}");
        let (low, high) = (r["low"].as_f64().unwrap(), r["high"].as_f64().unwrap());
        assert!(low < -2.0 + 0.8 && high > -2.0 - 0.8 && high < 0.0, "{r}");
    }
    assert!(rows
        .iter()
        .filter(|r| r["metric"] == "seconds")
        .all(|r| r["reproducible"] == false));
    assert_eq!(json["points_only_b"], serde_json::json!(["k=3"]));

    let table = subbench(d, &["compare", "before/normal", "after/normal"]);
    let text = stdout(&table);
    assert!(text.contains("x (better: higher)"), "{text}");
    assert!(text.contains("not reproducible (timing)"), "{text}");
    assert!(text.contains("point only in after/normal: k=3"), "{text}");
    assert!(summary_line(&table).starts_with("3 worse"), "{text}");
    let gated = subbench(
        d,
        &[
            "compare",
            "before/normal",
            "after/normal",
            "--fail-on",
            "worse",
        ],
    );
    assert_eq!(gated.status.code(), Some(1), "{}", stdout(&gated));
    // Compared the other way round, the change is an improvement: no worse row, exit 0 with
    // --fail-on worse, 1 with --fail-on changed.
    let reversed = subbench(
        d,
        &[
            "compare",
            "after/normal",
            "before/normal",
            "--fail-on",
            "worse",
        ],
    );
    assert_eq!(reversed.status.code(), Some(0), "{}", stdout(&reversed));
    assert!(
        summary_line(&reversed).contains("3 better"),
        "{}",
        stdout(&reversed)
    );
    let any = subbench(
        d,
        &[
            "compare",
            "after/normal",
            "before/normal",
            "--fail-on",
            "changed",
        ],
    );
    assert_eq!(any.status.code(), Some(1));
}

#[test]
fn a_store_is_compared_with_its_saved_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    normal_spec(d, "a.yaml", "    k: [0, 1, 2]\n");
    ran(&subbench(
        d,
        &["run", "a.yaml", "--out", "res", "--no-report"],
    ));
    ran(&subbench(
        d,
        &[
            "baseline",
            "save",
            "normal",
            "--out",
            "res",
            "--baselines",
            "bl",
        ],
    ));
    let o = subbench(
        d,
        &[
            "compare",
            "--baseline",
            "bl/normal.parquet",
            "res/normal",
            "--json",
        ],
    );
    ran(&o);
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 9);
    assert!(rows.iter().all(|r| r["design"] == "one-sample"), "{json}");
    // The store against its own means: every difference is (about) 0, none is a change.
    assert!(rows
        .iter()
        .all(|r| r["verdict"] != "worse" && r["verdict"] != "better"));
    assert!(rows
        .iter()
        .all(|r| r["diff"].as_f64().unwrap().abs() < 1e-12));
}

#[test]
fn one_seed_per_side_is_inconclusive() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    normal_spec(d, "a.yaml", "    k: [0, 1]\n");
    ran(&subbench(
        d,
        &["run", "a.yaml", "--out", "a", "--seeds", "1", "--no-report"],
    ));
    ran(&subbench_env(
        d,
        &["run", "a.yaml", "--out", "b", "--seeds", "1", "--no-report"],
        &[("SUBBENCH_TESTKIT_SHIFT", "100")],
    ));
    let o = subbench(
        d,
        &["compare", "a/normal", "b/normal", "--fail-on", "changed"],
    );
    ran(&o);
    assert!(
        summary_line(&o).starts_with("6 inconclusive"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("1 and 1 seeds: no interval"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn bad_inputs_are_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    normal_spec(d, "a.yaml", "    k: [0, 1]\n");
    ran(&subbench(
        d,
        &["run", "a.yaml", "--out", "a", "--seeds", "2", "--no-report"],
    ));
    fs::write(
        d.join("other.yaml"),
        NORMAL.replace("name: normal", "name: other") + "sweep:\n  grid:\n    k: [5, 6]\n",
    )
    .unwrap();
    ran(&subbench(
        d,
        &[
            "run",
            "other.yaml",
            "--out",
            "a",
            "--seeds",
            "2",
            "--no-report",
        ],
    ));
    for (args, needle) in [
        (vec!["compare", "a/normal"], "give two stores"),
        (
            vec!["compare", "a/normal", "nowhere"],
            "nowhere: no such folder",
        ),
        (vec!["compare", "a/normal", "a"], "not a result store"),
        (
            vec!["compare", "a/normal", "a/normal", "--fdr", "2"],
            "--fdr 2",
        ),
        (
            vec!["compare", "a/normal", "a/normal", "--equivalence=-1"],
            "--equivalence -1",
        ),
        (
            vec!["compare", "a/normal", "--between", "k=0"],
            "write KEY=X,Y",
        ),
        (
            vec!["compare", "a/normal", "--between", "q=0,1"],
            "no trial has a parameter `q`",
        ),
        (
            vec!["compare", "a/normal", "--between", "k=0,7"],
            "no ok trial has k = 7",
        ),
        (
            vec!["compare", "a/normal", "a/normal", "--between", "k=0,1"],
            "ONE store",
        ),
        (
            vec![
                "compare",
                "a/normal",
                "a/normal",
                "--markdown",
                "no/such/x.md",
            ],
            "the folder no/such does not exist",
        ),
        (
            vec!["compare", "a/normal", "a/other"],
            "are they results of the same spec?",
        ),
        (
            vec!["compare", "--baseline", "a.yaml", "a/normal"],
            "--baseline a.yaml: not a baseline file",
        ),
    ] {
        let o = subbench(d, &args);
        assert_user_error(&o, &[needle]);
    }
    assert!(
        !d.join("reports").exists(),
        "a refused comparison writes nothing"
    );
}
