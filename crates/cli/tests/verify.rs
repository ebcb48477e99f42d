//! `subbench verify` and `subbench bundle` through the real binary: an untouched store passes
//! for any `--jobs` and shard split; one altered value (checksums recomputed as the store
//! computes them) fails with both values and the ULP distance; a nondeterministic method fails;
//! a changed code identity skips with the reason; shipped specs show no false failure; a bundle
//! is byte-identical when made twice, verifies from another folder, and its RO-Crate lists
//! every file; pages and references.bib cite the paper.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::{assert_user_error, repo, stderr, stdout, subbench, subbench_env};
use harness::Store;

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

const QUADRATIC: &str = "name: quad\ntitle: t\npaper: test\nclaim: c\nmethod: test.quadratic\nseeds: 4\nseed: 3\nparams: {noise: 0.5, steps: 4}\nsweep:\n  grid:\n    x: [1, 2, 3, 4, 5]\nmetrics: {value: {}}\n";

/// A temporary folder with `spec.yaml` holding `text`, run once.
fn stored(text: &str, env: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("spec.yaml"), text).unwrap();
    ok(&subbench_env(
        dir.path(),
        &["run", "spec.yaml", "--no-report"],
        env,
    ));
    dir
}

fn summary(o: &Output) -> String {
    stdout(o)
        .lines()
        .find(|l| l.contains("verified "))
        .unwrap_or_else(|| panic!("no summary line in: {}{}", stdout(o), stderr(o)))
        .to_string()
}

#[test]
fn an_untouched_store_passes_for_any_jobs_and_shards_and_the_page_says_so() {
    let dir = stored(QUADRATIC, &[]);
    for jobs in ["1", "2"] {
        let o = subbench(
            dir.path(),
            &["verify", "results/quad", "--sample", "100%", "-j", jobs],
        );
        ok(&o);
        assert!(
            summary(&o).contains("verified 20 trials: 20 pass, 0 fail, 0 skip"),
            "{}",
            stdout(&o)
        );
        assert_eq!(
            stdout(&o).matches("\nPASS ").count() + usize::from(stdout(&o).starts_with("PASS ")),
            20
        );
    }
    // Two shards verify the sample between them, each trial once.
    let mut total = 0;
    for shard in ["1/2", "2/2"] {
        let o = subbench(
            dir.path(),
            &[
                "verify",
                "results/quad",
                "--sample",
                "100%",
                "--shard",
                shard,
            ],
        );
        ok(&o);
        total += stdout(&o)
            .lines()
            .filter(|l| l.starts_with("PASS "))
            .count();
    }
    assert_eq!(total, 20);
    // A stratified 25% sample covers every one of the five points.
    let o = subbench(
        dir.path(),
        &["verify", "results/quad", "--sample", "25%", "--seed", "9"],
    );
    let text = ok(&o);
    assert!(summary(&o).contains("verified 5 trials: 5 pass"), "{text}");
    for x in 1..=5 {
        let sampled = text
            .lines()
            .filter(|l| l.ends_with(&format!(" x={x}")))
            .count();
        assert_eq!(sampled, 1, "point x={x}: {text}");
    }
    let provenance = fs::read_to_string(dir.path().join("results/quad/provenance.json")).unwrap();
    assert_eq!(provenance.matches("\"verify\"").count(), 5, "{provenance}");
    ok(&subbench(dir.path(), &["report"]));
    let page = fs::read_to_string(dir.path().join("reports/quad.html")).unwrap();
    assert!(
        page.contains("Last verified: "),
        "no verification on the page"
    );
    assert!(
        page.contains("PASS, 5 trials re-run (sample 25%): 5 pass, 0 fail, 0 skip"),
        "{page}"
    );
}

#[test]
fn one_altered_value_with_recomputed_checksums_fails_with_both_values() {
    let dir = stored(QUADRATIC, &[]);
    let store_dir = dir.path().join("results/quad");
    let store = Store::at(&store_dir);
    let mut records = store.load().unwrap();
    let target = records
        .iter()
        .position(|r| r.params.get("x").is_some_and(|v| v.to_string() == "3"))
        .unwrap();
    let before = records[target].metrics["value"];
    let after = f64::from_bits(before.to_bits() + 1);
    records[target].metrics.insert("value".into(), after);
    let id = records[target].trial_id.clone();
    // Rewrite the store as the store writes it: new files, new checksums.
    for f in [
        "trials.parquet",
        "trials.csv",
        "curves.parquet",
        "checksums.json",
    ] {
        fs::remove_file(store_dir.join(f)).unwrap();
    }
    {
        let _lock = store.lock_for_writing().unwrap();
        store.append(&records).unwrap();
        store.consolidate().unwrap();
    }
    assert_eq!(
        Store::at(&store_dir).load().unwrap()[target].metrics["value"],
        after,
        "the edit is stored and passes the checksums"
    );
    let o = subbench(dir.path(), &["verify", "results/quad", "--sample", "100%"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let text = stdout(&o);
    let fails: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL ")).collect();
    assert_eq!(fails.len(), 1, "{text}");
    assert!(
        fails[0].contains(&id) && fails[0].contains("x=3"),
        "{}",
        fails[0]
    );
    assert!(
        fails[0].contains(&format!(
            "metric value: stored {after:e}, rerun {before:e} (1 ulp)"
        )),
        "{}",
        fails[0]
    );
    assert!(summary(&o).contains("verified 20 trials: 19 pass, 1 fail, 0 skip"));
    assert!(
        text.contains("likely cause: nothing recorded differs"),
        "{text}"
    );
}

#[test]
fn a_method_drawing_from_the_clock_fails() {
    let spec = "name: clock\ntitle: t\npaper: test\nclaim: c\nmethod: test.clock\nseeds: 2\nsweep:\n  grid:\n    x: [1, 2, 3]\nmetrics: {value: {}}\n";
    let dir = stored(spec, &[]);
    let o = subbench(dir.path(), &["verify", "results/clock", "--sample", "100%"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        summary(&o).contains("verified 6 trials: 0 pass, 6 fail"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("depend on something besides its parameters and seed"));
    let page_line = fs::read_to_string(dir.path().join("results/clock/provenance.json")).unwrap();
    assert!(
        page_line.contains("\"fail\": 6") || page_line.contains("\"fail\":6"),
        "{page_line}"
    );
}

#[test]
fn a_changed_method_code_skips_with_the_reason_and_force_compares() {
    let dir = stored(QUADRATIC, &[("SUBBENCH_TESTKIT_CODE", "old-code")]);
    let o = subbench_env(
        dir.path(),
        &["verify", "results/quad", "--sample", "4"],
        &[("SUBBENCH_TESTKIT_CODE", "new-code")],
    );
    // Nothing compared is not a pass.
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let text = stdout(&o);
    assert!(
        summary(&o).contains("verified 4 trials: 0 pass, 0 fail, 4 skip"),
        "{text}"
    );
    let skip = text.lines().find(|l| l.starts_with("SKIP ")).unwrap();
    assert!(skip.contains("code identity of method test.quadratic differs (stored `old-code`, current `new-code`)"), "{skip}");
    assert!(skip.contains("--force"), "{skip}");
    let o = subbench_env(
        dir.path(),
        &["verify", "results/quad", "--sample", "4", "--force"],
        &[("SUBBENCH_TESTKIT_CODE", "new-code")],
    );
    assert!(
        summary(&o).contains("4 pass, 0 fail, 0 skip"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn bad_arguments_are_one_line() {
    let dir = stored(QUADRATIC, &[]);
    for sample in ["0%", "150%", "0", "x"] {
        assert_user_error(
            &subbench(dir.path(), &["verify", "results/quad", "--sample", sample]),
            &["--sample"],
        );
    }
    assert_user_error(
        &subbench(dir.path(), &["verify", "results/none"]),
        &["is not a store"],
    );
    assert_user_error(
        &subbench(dir.path(), &["bundle", "results/none"]),
        &["is not a store"],
    );
    let spec = QUADRATIC.replace("paper: test", "paper: atack");
    fs::write(dir.path().join("bad.yaml"), spec).unwrap();
    assert_user_error(
        &subbench(dir.path(), &["validate", "bad.yaml"]),
        &["paper `atack` is not in references.yaml", "attack"],
    );
}

/// Every `@id` of a File entity in an RO-Crate, and whether each has a checksum and type.
fn crate_files(metadata: &serde_json::Value) -> Vec<String> {
    let graph = metadata["@graph"].as_array().expect("an @graph");
    let mut files = Vec::new();
    for e in graph {
        let is_file = e["@type"] == "File"
            || e["@type"]
                .as_array()
                .is_some_and(|t| t.iter().any(|x| x == "File"));
        if is_file {
            assert_eq!(e["sha256"].as_str().map(str::len), Some(64), "{e}");
            assert!(e["encodingFormat"].is_string(), "{e}");
            files.push(e["@id"].as_str().unwrap().to_string());
        }
    }
    files.sort();
    files
}

fn listed_in_tar(archive: &Path) -> Vec<String> {
    let o = Command::new("tar")
        .arg("-tzf")
        .arg(archive)
        .output()
        .unwrap();
    assert!(o.status.success());
    let mut names: Vec<String> = stdout(&o)
        .lines()
        .map(str::to_string)
        .filter(|n| n != "ro-crate-metadata.json")
        .collect();
    names.sort();
    names
}

#[test]
fn a_bundle_with_an_input_file_and_an_external_method_verifies_from_another_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The probe worker (its `pid` metric declared not reproducible in this copy) and an input.
    let probe = d.join("tests/external/probe");
    fs::create_dir_all(&probe).unwrap();
    fs::create_dir_all(d.join("python")).unwrap();
    for f in ["manifest.yaml", "worker.py"] {
        fs::copy(repo().join("tests/external/probe").join(f), probe.join(f)).unwrap();
    }
    // The helper the manifest names is a shim that loads the package's implementation; this
    // copy of the manifest lists the implementation too, so that a bundle holds it.
    fs::create_dir_all(d.join("python/src/subbench")).unwrap();
    for f in ["subbench_worker.py", "src/subbench/worker.py"] {
        fs::copy(repo().join("python").join(f), d.join("python").join(f)).unwrap();
    }
    let manifest = fs::read_to_string(probe.join("manifest.yaml"))
        .unwrap()
        .replace(
            "../../../python/subbench_worker.py]",
            "../../../python/subbench_worker.py, ../../../python/src/subbench/worker.py]",
        );
    assert!(
        manifest.contains("src/subbench/worker.py"),
        "the probe's files: changed"
    );
    fs::write(
        probe.join("manifest.yaml"),
        format!("{manifest}not_reproducible: [pid]\n"),
    )
    .unwrap();
    fs::create_dir_all(d.join("data")).unwrap();
    fs::write(d.join("data/offset.txt"), "0.25\n").unwrap();
    fs::create_dir_all(d.join("specs")).unwrap();
    let spec = "name: mixed\ntitle: t\npaper: test\nclaim: c\nseed: 5\nexternal: [../tests/external/probe/manifest.yaml]\nseeds: 2\nsweep:\n  union:\n    - grid: {method: [probe.random], x: [1, 2]}\n    - grid: {method: [test.quadratic], x: [1, 2], offset_file: [data/offset.txt]}\nmetrics:\n  value: {}\n";
    fs::write(d.join("specs/mixed.yaml"), spec).unwrap();
    ok(&subbench(d, &["run", "specs/mixed.yaml", "--no-report"]));
    let o = subbench(d, &["verify", "results/mixed", "--sample", "100%"]);
    assert!(
        summary(&o).contains("verified 8 trials: 8 pass"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(
        stdout(&o).contains(
            "not compared: 4 values of metrics declared not reproducible (probe.random.pid)"
        ),
        "{}",
        stdout(&o)
    );

    ok(&subbench(
        d,
        &["bundle", "results/mixed", "-o", "one.tar.gz"],
    ));
    ok(&subbench(
        d,
        &["bundle", "results/mixed", "-o", "two.tar.gz"],
    ));
    let one = fs::read(d.join("one.tar.gz")).unwrap();
    assert_eq!(
        one,
        fs::read(d.join("two.tar.gz")).unwrap(),
        "a bundle made twice is byte-identical"
    );
    ok(&subbench(d, &["bundle", "results/mixed", "-o", "folder"]));

    let names = listed_in_tar(&d.join("one.tar.gz"));
    for needed in [
        "results/mixed/spec.yaml",
        "results/mixed/trials.parquet",
        "results/mixed/curves.parquet",
        "results/mixed/checksums.json",
        "results/mixed/provenance.json",
        "files/data/offset.txt",
        "files/tests/external/probe/manifest.yaml",
        "files/tests/external/probe/worker.py",
        "files/python/subbench_worker.py",
        "files/python/src/subbench/worker.py",
        "reports/mixed.html",
    ] {
        assert!(
            names.iter().any(|n| n == needed),
            "{needed} not in {names:?}"
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("folder/ro-crate-metadata.json")).unwrap())
            .unwrap();
    assert_eq!(
        crate_files(&metadata),
        names,
        "the RO-Crate lists every bundled file"
    );
    let run = metadata["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["@type"] == "CreateAction")
        .unwrap();
    assert!(
        run["startTime"].is_string() && run["endTime"].is_string(),
        "{run}"
    );
    rdf_parses(&d.join("folder/ro-crate-metadata.json"));

    // Elsewhere, with the original files gone.
    let other = tempfile::tempdir().unwrap();
    fs::copy(d.join("one.tar.gz"), other.path().join("copy.tar.gz")).unwrap();
    fs::remove_dir_all(d.join("results")).unwrap();
    fs::remove_dir_all(d.join("data")).unwrap();
    fs::remove_dir_all(d.join("tests")).unwrap();
    let o = subbench(other.path(), &["verify", "copy.tar.gz", "--sample", "100%"]);
    assert!(
        stdout(&o).contains("files match the SHA-256"),
        "{}",
        stdout(&o)
    );
    assert!(
        summary(&o).contains("verified 8 trials: 8 pass, 0 fail, 0 skip"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    assert_eq!(
        fs::read(other.path().join("copy.tar.gz")).unwrap(),
        one,
        "verifying leaves the bundle as it was"
    );
    let o = subbench(
        other.path(),
        &[
            "verify",
            d.join("folder").to_str().unwrap(),
            "--sample",
            "3",
        ],
    );
    assert!(
        summary(&o).contains("3 pass"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );

    // An altered file of a bundle is named.
    fs::write(d.join("folder/files/data/offset.txt"), "0.5\n").unwrap();
    assert_user_error(
        &subbench(d, &["verify", "folder"]),
        &["files/data/offset.txt does not match its SHA-256"],
    );
}

/// The RO-Crate as RDF, when python3 has rdflib (the JSON-LD context is fetched from the web,
/// so this runs only where it can be: a check that can run offline is above).
fn rdf_parses(path: &Path) {
    let script = "import json,sys\njson.load(open(sys.argv[1]))\ntry:\n    import rdflib\nexcept ImportError:\n    sys.exit(0)\ng = rdflib.Graph()\ntry:\n    g.parse(sys.argv[1], format='json-ld')\nexcept Exception as e:\n    if 'urlopen' in repr(e) or 'URLError' in repr(e) or 'HTTP' in repr(e):\n        sys.exit(0)\n    raise\nassert len(g) > 0\n";
    let Ok(o) = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
    else {
        return;
    };
    assert!(
        o.status.success(),
        "python3 could not read the RO-Crate: {}",
        stderr(&o)
    );
}

#[test]
fn shipped_specs_verify_without_false_failures_and_pages_cite_their_paper() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results");
    let reports = dir.path().join("reports");
    let (out_s, reports_s) = (out.to_str().unwrap(), reports.to_str().unwrap());
    for spec in [
        "specs/attack/budget.yaml",
        "specs/csl/cluster.yaml",
        "specs/layerwise/convergence.yaml",
    ] {
        let o = subbench(
            &repo(),
            &[
                "check",
                "--quick",
                spec,
                "--out",
                out_s,
                "--reports",
                reports_s,
            ],
        );
        assert!(o.status.code().is_some_and(|c| c <= 1), "{}", stderr(&o));
    }
    for name in ["attack-budget", "csl-cluster", "layerwise-convergence"] {
        let store = out.join(name);
        let o = subbench(
            &repo(),
            &["verify", store.to_str().unwrap(), "--sample", "10%"],
        );
        let line = summary(&o);
        assert!(
            o.status.success() && line.contains(" 0 fail, 0 skip"),
            "{name}: {}",
            stdout(&o)
        );
    }
    // Quick pages go to REPORTS/quick, beside the full ones.
    let reports = reports.join("quick");
    let page = fs::read_to_string(reports.join("attack-budget.html")).unwrap();
    assert!(
        page.contains("Li, Lai and Cui. Adversarial robustness of subspace learning."),
        "no citation on the page"
    );
    assert!(page.contains("arXiv:1908.06210"), "no arXiv id on the page");
    let bib = fs::read_to_string(reports.join("references.bib")).unwrap();
    for entry in [
        "@article{attack,",
        "@misc{csl,",
        "@inproceedings{layerwise,",
        "eprint = {1908.06210}",
    ] {
        assert!(bib.contains(entry), "{entry} not in {bib}");
    }
    assert!(!bib.contains("colora"), "only papers with a page: {bib}");
    // A shipped spec's bundle, copied elsewhere, verifies.
    let bundle = dir.path().join("attack-budget.tar.gz");
    ok(&subbench(
        &repo(),
        &[
            "bundle",
            out.join("attack-budget").to_str().unwrap(),
            "-o",
            bundle.to_str().unwrap(),
        ],
    ));
    let other = tempfile::tempdir().unwrap();
    fs::copy(&bundle, other.path().join("b.tar.gz")).unwrap();
    let o = subbench(other.path(), &["verify", "b.tar.gz", "--sample", "10%"]);
    assert!(
        o.status.success() && summary(&o).contains(" 0 fail, 0 skip"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let names = listed_in_tar(&bundle);
    let metadata = Command::new("tar")
        .arg("-xzOf")
        .arg(&bundle)
        .arg("ro-crate-metadata.json")
        .output()
        .unwrap();
    let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout).unwrap();
    assert_eq!(crate_files(&metadata), names);
    let text = metadata.to_string();
    assert!(
        text.contains("Adversarial robustness of subspace learning") && text.contains("1908.06210"),
        "the crate names the paper"
    );
}
