//! Binary-level regression tests: one per bug fixed, named after the bug.

mod common;

use std::fs;

use common::{assert_user_error, subbench};

/// OpenBLAS detected this machine's CPU as SkylakeX where the baselines' machine had been given
/// Haswell kernels: an ill-conditioned CoLoRA metric moved by a factor of two and three
/// baselines failed. Every run on an AVX2/FMA CPU now uses the Haswell kernels, whatever
/// OpenBLAS detects (unless the user sets OPENBLAS_CORETYPE), and provenance says so.
#[test]
fn blas_kernels_are_the_same_on_every_avx2_machine() {
    #[cfg(target_arch = "x86_64")]
    if !(std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"))
    {
        eprintln!("no AVX2/FMA: OpenBLAS keeps its own choice of kernels here");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("k.yaml"),
        "name: kernels\ntitle: K\npaper: test\nclaim: c\nmethod: test.quadratic\nparams: {x: 2}\n",
    )
    .unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_subbench"));
    command
        .current_dir(d)
        .args(["run", "k.yaml", "--no-report"])
        .env_remove("OPENBLAS_CORETYPE");
    assert!(command.output().unwrap().status.success());
    let provenance = fs::read_to_string(d.join("results/kernels/provenance.json")).unwrap();
    assert!(provenance.contains("Haswell kernels"), "{provenance}");
    // A user's explicit choice is kept.
    fs::write(
        d.join("p.yaml"),
        "name: chosen\ntitle: K\npaper: test\nclaim: c\nmethod: test.quadratic\nparams: {x: 2}\n",
    )
    .unwrap();
    let chosen = std::process::Command::new(env!("CARGO_BIN_EXE_subbench"))
        .current_dir(d)
        .args(["run", "p.yaml", "--no-report"])
        .env("OPENBLAS_CORETYPE", "Prescott")
        .output()
        .unwrap();
    assert!(chosen.status.success());
    let provenance = fs::read_to_string(d.join("results/chosen/provenance.json")).unwrap();
    assert!(provenance.contains("Prescott kernels"), "{provenance}");
}

fn write(dir: &std::path::Path, name: &str, text: &str) {
    fs::write(dir.join(name), text).unwrap();
}

fn run_ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = subbench(dir, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && !text.contains("panicked"),
        "{args:?}: {text}"
    );
    text
}

/// Aggregation keys only the parameters that vary, so a `where:` on a parameter with one value
/// matched nothing: a check that passed in `check` failed in `check --quick` once the quick sweep
/// kept one value, and a table filtered on a constant came out empty.
#[test]
fn where_on_a_parameter_with_one_value_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "w.yaml",
        "name: w\ntitle: W\npaper: test\nclaim: c\nmethod: test.quadratic\nseeds: 2\n\
         sweep:\n  grid:\n    x: [1, 2]\n    mode: [plain, shifted]\nmetrics: {value: {}}\n\
         report:\n  tables: [{rows: x, value: value, where: {mode: plain}}]\n\
         expect:\n  - threshold: {metric: value, where: {mode: plain, x: 2}, below: 4.5}\n\
         quick:\n  sweep: {grid: {x: [1, 2], mode: [plain]}}\n",
    );
    for quick in [false, true] {
        let mut args = vec!["check", "w.yaml"];
        if quick {
            args.push("--quick");
        }
        let text = run_ok(d, &args);
        assert!(text.contains("PASS w: threshold"), "{text}");
        let table = fs::read_to_string(d.join("reports/w-table-1.md")).unwrap();
        assert!(
            table.contains("| 2 |") && !table.contains("no trials match"),
            "{table}"
        );
    }
}

/// A figure whose `series` has one value (fixed in `params`, or reduced to one by `quick:`)
/// panicked the report with an index out of bounds.
#[test]
fn a_figure_series_with_one_value_does_not_panic_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "s.yaml",
        "name: s\ntitle: S\npaper: test\nclaim: c\nmethod: test.quadratic\nparams: {mode: plain, steps: 3}\n\
         sweep:\n  grid:\n    x: [1, 2, 3]\nmetrics: {value: {}}\n\
         report:\n  figures:\n    - {kind: line, x: x, y: value, series: mode}\n    - {kind: curve, x: step, y: path, series: mode}\n",
    );
    run_ok(d, &["run", "s.yaml"]);
    let svg = fs::read_to_string(d.join("reports/s-figure-1.svg")).unwrap();
    assert!(svg.contains("mode = plain"), "{svg}");
    let curve = fs::read_to_string(d.join("reports/s-figure-2.svg")).unwrap();
    assert!(curve.contains("mode = plain"), "{curve}");
}

/// `report: {interval: bootstrap}` with nothing swept failed with a polars dtype error: without
/// a group-by the values were not a list.
#[test]
fn bootstrap_intervals_with_nothing_swept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "b.yaml",
        "name: b\ntitle: B\npaper: test\nclaim: c\nmethod: test.quadratic\nparams: {x: 2, noise: 1.0}\nseeds: 5\n\
         metrics: {value: {}}\nreport: {interval: bootstrap}\n\
         expect:\n  - threshold: {metric: value, stat: ci_low, below: 4.0}\n  - threshold: {metric: value, stat: ci_high, above: 4.0}\n",
    );
    let text = run_ok(d, &["check", "b.yaml"]);
    assert!(text.contains("2 passed, 0 failed"), "{text}");
}

/// Run subbench with stdout a pipe that is closed after the first line, as `| head -1` does.
fn run_with_stdout_closed_early(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_subbench"))
        .current_dir(dir)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here: the pipe's read end closes.
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `subbench list | head -1` panicked on the closed pipe, and `check A B | head -1` stopped
/// after the first spec.
#[test]
fn a_closed_stdout_neither_panics_nor_stops_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, err) = run_with_stdout_closed_early(d, &["list"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for name in ["one", "two"] {
        write(
            d,
            &format!("{name}.yaml"),
            &format!(
                "name: {name}\ntitle: T\npaper: test\nclaim: c\nmethod: test.quadratic\nseeds: 2\n\
                 sweep:\n  grid:\n    x: [1, 2, 3]\nmetrics: {{value: {{}}}}\n\
                 expect:\n  - trend: {{metric: value, along: x, monotone: increasing}}\n"
            ),
        );
    }
    let (code, err) = run_with_stdout_closed_early(d, &["check", "one.yaml", "two.yaml"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        d.join("reports/two.html").exists(),
        "the second spec was checked"
    );
}

/// `--seeds 4294967295 --dry-run` aborted on a 2 TB allocation, `--seeds` bypassed the trial
/// limit, and `--seeds 0` wrote an empty store.
#[test]
fn seeds_on_the_command_line_obey_the_specs_limits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "s.yaml",
        "name: s\ntitle: T\npaper: test\nclaim: c\nmethod: test.quadratic\n\
         sweep:\n  grid:\n    x: {range: [0, 100]}\n",
    );
    for (seeds, needle) in [
        ("4294967295", "from 1 to 100000"),
        ("0", "from 1 to 100000"),
        ("20000", "--allow-large"),
    ] {
        assert_user_error(
            &subbench(d, &["run", "s.yaml", "--dry-run", "--seeds", seeds]),
            &[needle],
        );
    }
    assert!(!d.join("results").exists());
}

/// A `provenance.json` that did not parse (one stray comma) was silently replaced by one entry:
/// the run history was lost without a word.
#[test]
fn a_corrupt_provenance_file_is_kept_aside_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "p.yaml",
        "name: p\ntitle: T\npaper: test\nclaim: c\nmethod: test.quadratic\nparams: {x: 1}\n",
    );
    run_ok(d, &["run", "p.yaml", "--no-report"]);
    run_ok(d, &["run", "p.yaml", "--no-report", "--force"]);
    let path = d.join("results/p/provenance.json");
    let history = fs::read_to_string(&path).unwrap();
    let broken = history.replacen('{', "{,", 1);
    fs::write(&path, &broken).unwrap();
    let text = run_ok(d, &["run", "p.yaml", "--no-report", "--force"]);
    let aside: Vec<_> = fs::read_dir(d.join("results/p"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("provenance.corrupt-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "{text}");
    assert_eq!(
        fs::read_to_string(&aside[0]).unwrap(),
        broken,
        "kept byte for byte"
    );
    assert!(
        text.contains("warning:")
            && text.contains(&*aside[0].file_name().unwrap().to_string_lossy()),
        "{text}"
    );
    let fresh: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(fresh["runs"].as_array().unwrap().len(), 1);
}

/// `/dev/zero` as a CSV input aborted on a 4 GB allocation, as `.npy` or a spec it read until
/// memory ran out, and a FIFO as a `File` parameter (`states`) hung the loading of the spec.
#[test]
fn input_files_must_be_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.npy")).unwrap();
    let np = d.join("zero.npy").display().to_string();
    for args in [
        vec!["angles", "/dev/zero", "/dev/zero"],
        vec!["angles", np.as_str(), np.as_str()],
        vec!["validate", "/dev/zero"],
    ] {
        assert_user_error(&subbench(d, &args), &["not a regular file"]);
    }
    let fifo = d.join("states.fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    write(
        d,
        "fifo.yaml",
        "name: fifo\ntitle: T\npaper: test\nclaim: c\nmethod: shifcon.distance\n\
         params: {states: states.fifo, labels: states.fifo}\n",
    );
    assert_user_error(
        &subbench(d, &["validate", "fifo.yaml"]),
        &["states.fifo", "not a regular file"],
    );
}

/// The store's `spec.yaml` was copied from disk at the end of the run: an edit during a long run
/// was stored instead of the spec that ran (and a half-written one broke every later report).
#[test]
fn the_stored_spec_is_the_text_that_ran() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = "name: slow\ntitle: T\npaper: test\nclaim: c\nmethod: test.flaky\n\
                params: {sleep_ms: 100}\nsweep:\n  grid:\n    x: {range: [0, 10]}\n";
    write(d, "slow.yaml", text);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_subbench"))
        .current_dir(d)
        .args(["run", "slow.yaml", "--no-report", "--jobs", "1"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the run has started (it takes about a second), overwrite the spec with a
    // half-edited file.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
    assert!(line.contains("trials to run"), "{line}");
    write(d, "slow.yaml", "name: slow\ntitle: [half");
    std::io::copy(&mut stderr, &mut std::io::sink()).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(
        fs::read_to_string(d.join("results/slow/spec.yaml")).unwrap(),
        text
    );
    run_ok(d, &["report"]);
}

fn small_spec(name: &str) -> String {
    format!(
        "name: {name}\ntitle: Title of {name}\npaper: test\nclaim: c\nmethod: test.quadratic\nseeds: 2\n\
         sweep:\n  grid:\n    x: [1, 2, 3]\nmetrics: {{value: {{}}}}\n\
         expect:\n  - trend: {{metric: value, along: x, monotone: increasing}}\nquick:\n  seeds: 1\n"
    )
}

/// One stored spec that could not be loaded (a parameter an upgrade removed, a copied folder)
/// stopped `report` for every spec, and made unrelated `run`s exit 2 after computing their
/// trials; a copied store folder rendered the original twice.
#[test]
fn one_bad_store_is_one_warning_and_the_others_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in ["good", "broken"] {
        write(d, &format!("{name}.yaml"), &small_spec(name));
        run_ok(d, &["run", &format!("{name}.yaml"), "--no-report"]);
    }
    // As if an upgrade had removed the parameter `x`.
    let stored = d.join("results/broken/spec.yaml");
    let text = fs::read_to_string(&stored)
        .unwrap()
        .replace("x: [1, 2, 3]", "gone: [1, 2, 3]");
    fs::write(&stored, text).unwrap();
    copy_dir(&d.join("results/good"), &d.join("results/copy"));
    let text = run_ok(d, &["report"]);
    assert!(
        text.contains("warning: results/broken: not reported"),
        "{text}"
    );
    assert!(
        text.contains("warning: results/copy: not reported") && text.contains("copied or renamed"),
        "{text}"
    );
    assert!(d.join("reports/good.html").exists());
    let index = fs::read_to_string(d.join("reports/index.html")).unwrap();
    assert_eq!(index.matches("Title of good").count(), 1, "rendered once");
    assert!(
        index.contains("Not reported") && index.contains("broken"),
        "{index}"
    );
    // A run of the good spec exits by its own trials.
    run_ok(d, &["run", "good.yaml"]);
    // A check of one spec keeps the problem on the index (it said nothing about the others).
    run_ok(d, &["check", "good.yaml"]);
    let index = fs::read_to_string(d.join("reports/index.html")).unwrap();
    assert!(
        index.contains("Not reported") && index.contains("broken"),
        "{index}"
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// `check ONE.yaml` rewrote the index with one spec, and quick pages said nothing of being quick.
#[test]
fn checking_one_spec_keeps_the_index_and_quick_pages_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in ["first", "second"] {
        write(d, &format!("{name}.yaml"), &small_spec(name));
    }
    run_ok(d, &["check", "first.yaml", "--quick"]);
    run_ok(d, &["check", "second.yaml", "--quick"]);
    // Quick pages live in reports/quick (issue 34: beside the full ones, never replaced).
    let index = fs::read_to_string(d.join("reports/quick/index.html")).unwrap();
    assert!(
        index.contains("Title of first") && index.contains("Title of second"),
        "{index}"
    );
    assert!(index.contains("quick sweep"));
    let page = fs::read_to_string(d.join("reports/quick/second.html")).unwrap();
    assert!(page.contains("Quick sweep"), "{page}");
    // A full check of the same spec writes its full page beside the quick one.
    run_ok(d, &["check", "second.yaml"]);
    let page = fs::read_to_string(d.join("reports/second.html")).unwrap();
    assert!(!page.contains("Quick sweep"));
    let index = fs::read_to_string(d.join("reports/index.html")).unwrap();
    assert_eq!(index.matches("Title of second").count(), 1, "{index}");
    let quick = fs::read_to_string(d.join("reports/quick/second.html")).unwrap();
    assert!(quick.contains("Quick sweep"), "{quick}");
}

/// Markdown outputs passed raw HTML, unescaped `|` and line breaks; `summary --format csv` did not
/// quote line breaks; `format:` strings were not validated (`%s` fell back silently, `.100f`
/// printed a hundred digits); `summary` aggregated every stored row.
#[test]
fn markdown_is_escaped_formats_are_validated_and_summary_says_what_it_shows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for format in ["%s", ".100f", "3f"] {
        write(
            d,
            "f.yaml",
            &format!(
                "name: f\ntitle: T\npaper: test\nclaim: c\nmethod: test.quadratic\nsweep: {{grid: {{x: [1, 2]}}}}\n\
                 metrics: {{value: {{}}}}\nreport:\n  tables: [{{rows: x, value: value, format: \"{format}\"}}]\n"
            ),
        );
        assert_user_error(&subbench(d, &["validate", "f.yaml"]), &["f.yaml:", ".Nf"]);
    }
    write(
        d,
        "m.yaml",
        "name: m\ntitle: \"<b>bold</b> | pipe\"\npaper: test\nclaim: c\nmethod: test.quadratic\n\
         params: {x: 1}\nsweep: {grid: {mode: [plain, shifted]}}\nmetrics: {value: {label: \"a|b <i>x</i>\"}}\n\
         report:\n  tables: [{rows: mode, value: value, title: \"T | <script>\"}]\n\
         expect:\n  - threshold: {metric: value, where: {mode: plain}, below: 5}\n",
    );
    run_ok(d, &["check", "m.yaml", "--markdown", "check.md"]);
    let table = fs::read_to_string(d.join("reports/m-table-1.md")).unwrap();
    assert!(
        table.contains("T \\| &lt;script&gt;") && !table.contains("<script>"),
        "{table}"
    );
    let check = fs::read_to_string(d.join("check.md")).unwrap();
    assert!(!check.contains("<b>") && !check.contains("<i>"), "{check}");
    // The summary says what it aggregates; a stale trial of an edited spec is left out.
    let text = run_ok(d, &["summary", "results/m", "--format", "csv"]);
    assert!(text.contains("the 2 stored trials of spec `m`"), "{text}");
}

mod external {
    use std::fs;

    use super::common::{stderr, stdout, subbench};
    use harness::Store;

    /// Stores written before code identities (no `method_code` column read back as empty codes)
    /// must not be served: every trial is stale, said once, and recomputed with its id and seed.
    #[test]
    fn trials_stored_before_code_identities_are_stale_and_rerun() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let spec = "name: old\ntitle: t\npaper: test\nclaim: c\nmethod: test.quadratic\nseeds: 2\nsweep:\n  grid: {x: [1, 2, 3]}\nmetrics:\n  value: {}\n";
        fs::write(d.join("s.yaml"), spec).unwrap();
        let o = subbench(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let store_dir = d.join("r/old");
        let mut records = Store::at(&store_dir).load().unwrap();
        for r in &mut records {
            r.method_code.clear();
        }
        // As a store written before code identities (and checksums) existed.
        for f in [
            "trials.parquet",
            "trials.csv",
            "curves.parquet",
            "checksums.json",
        ] {
            fs::remove_file(store_dir.join(f)).unwrap();
        }
        let store = Store::at(&store_dir);
        store.append(&records).unwrap();
        store.consolidate().unwrap();
        // Reports aggregate current trials only: none here, so not the three groups of x.
        let o = subbench(d, &["baseline", "save", "old", "--out", "r"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(!stdout(&o).contains(": 3 groups"), "{}", stdout(&o));
        let o = subbench(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
        let err = stderr(&o);
        assert!(o.status.success(), "{err}");
        assert_eq!(err.matches("predate code identities").count(), 1, "{err}");
        assert!(err.contains("6 trials to run, 0 already stored"), "{err}");
        let after = Store::at(&store_dir).load().unwrap();
        assert!(after.iter().all(|r| !r.method_code.is_empty()));
        for (b, a) in records.iter().zip(&after) {
            assert_eq!(
                (&b.trial_id, b.seed, &b.metrics),
                (&a.trial_id, a.seed, &a.metrics)
            );
        }
        let o = subbench(d, &["baseline", "save", "old", "--out", "r"]);
        assert!(
            stdout(&o).contains(": 3 groups"),
            "{} {}",
            stdout(&o),
            stderr(&o)
        );
    }
}

/// The same spec given twice was refused as a duplicate of itself; a symbolic-link loop printed
/// 40 lines; a folder without spec files got a message about the results folder; a 101-character
/// name got the charset message; with `--out` inside the spec folder, the stored `spec.yaml` was
/// picked up as a spec.
#[test]
fn spec_paths_are_found_once_and_stores_are_not_specs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("specs/sub")).unwrap();
    write(d, "specs/a.yaml", &small_spec("a"));
    std::os::unix::fs::symlink("..", d.join("specs/sub/loop")).unwrap();
    let text = run_ok(d, &["validate", "specs", "specs/a.yaml"]);
    assert_eq!(text.matches("ok specs").count(), 1, "{text}");
    // A store written inside the spec folder is not read as a spec.
    run_ok(
        d,
        &["run", "specs", "--out", "specs/results", "--no-report"],
    );
    let text = run_ok(d, &["validate", "specs"]);
    assert_eq!(text.matches("ok ").count(), 1, "{text}");
    fs::create_dir_all(d.join("empty/notes")).unwrap();
    write(d, "empty/notes/readme.txt", "no specs here");
    for (args, needle) in [
        (vec!["run", "empty"], "no spec files"),
        (vec!["validate", "long.yaml"], "at most 100"),
    ] {
        write(d, "long.yaml", &small_spec(&"a".repeat(101)));
        assert_user_error(&subbench(d, &args), &[needle]);
    }
}

/// A missing `curves.parquet` was read as "no curves": the figure came out empty and the next
/// run wrote an empty curves file and never recomputed.
#[test]
fn lost_curves_are_recomputed_never_shown_empty() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "c.yaml",
        "name: c\ntitle: T\npaper: test\nclaim: c\nmethod: test.quadratic\nparams: {steps: 4}\nseeds: 2\n\
         sweep:\n  grid:\n    x: [1, 2]\nmetrics: {value: {}}\n\
         report:\n  figures: [{kind: curve, x: step, y: path, series: x}]\n",
    );
    run_ok(d, &["run", "c.yaml"]);
    let figure = d.join("reports/c-figure-1.svg");
    let drawn = fs::read_to_string(&figure).unwrap();
    fs::remove_file(d.join("results/c/curves.parquet")).unwrap();
    fs::remove_file(&figure).unwrap();
    let text = run_ok(d, &["report"]);
    assert!(text.contains("curves.parquet: is missing"), "{text}");
    assert!(!figure.exists(), "no empty figure is drawn");
    let text = run_ok(d, &["run", "c.yaml"]);
    assert!(
        text.contains("c: 4 trials to run, 0 already stored"),
        "{text}"
    );
    assert_eq!(fs::read_to_string(&figure).unwrap(), drawn);
}

/// A first run that was interrupted was invisible: `summary` said "run the spec first" and
/// `report` showed no page, while its finished trials sat in `parts/`. They are read like every
/// other stored trial (see `store::a_killed_run_is_seen_alike_by_every_check_of_one_report`),
/// and the page says that the run is unfinished.
#[test]
fn an_interrupted_first_run_is_found_and_said_to_be_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "slow.yaml",
        "name: slow\ntitle: T\npaper: test\nclaim: c\nmethod: test.flaky\n\
         params: {sleep_ms: 200}\nsweep:\n  grid:\n    x: {range: [0, 20]}\n",
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_subbench"))
        .current_dir(d)
        .args(["run", "slow.yaml", "--jobs", "1"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let parts = d.join("results/slow/parts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let finished_parts = || {
        fs::read_dir(&parts).map_or(0, |entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".trials.parquet"))
                .count()
        })
    };
    while finished_parts() == 0 {
        assert!(std::time::Instant::now() < deadline, "no part was written");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!d.join("results/slow/trials.parquet").exists());
    let finished = harness::Store::at(&d.join("results/slow"))
        .load()
        .unwrap()
        .len();
    assert!(finished > 0);
    run_ok(d, &["report"]);
    let page = fs::read_to_string(d.join("reports/slow.html")).unwrap();
    assert!(page.contains("Unfinished run"), "{page}");
    let out = subbench(d, &["summary", "results/slow", "--format", "csv"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(common::summary_trials(&out), finished);
}

/// The result store (issues #16 and #17): one reader for every command, checksums of every
/// file, lost and damaged files named with the way out.
mod store {
    use std::fs;
    use std::path::{Path, PathBuf};

    use super::common::{assert_user_error, flip_bit, stderr, subbench, summary_trials};
    use super::{run_ok, write};
    use harness::{Store, TrialRecord};

    const CURVES_SPEC: &str = "name: c\ntitle: T\npaper: test\nclaim: c\nmethod: test.quadratic\nparams: {steps: 4}\nseeds: 2\n\
         sweep:\n  grid:\n    x: [1, 2]\nmetrics: {value: {}}\n\
         report:\n  figures: [{kind: curve, x: step, y: path, series: x}]\n";

    /// What a trial's result is, whatever file it was read from.
    fn results(records: &[TrialRecord]) -> Vec<String> {
        records
            .iter()
            .map(|r| format!("{} {} {:?} {:?}", r.trial_id, r.seed, r.metrics, r.curves))
            .collect()
    }

    /// Move every trial of the store into one part, as a run killed before consolidating
    /// leaves them; returns the part's trials file.
    fn into_a_part(store_dir: &Path) -> PathBuf {
        let records = Store::at(store_dir).load().unwrap();
        for f in [
            "trials.parquet",
            "trials.csv",
            "curves.parquet",
            "checksums.json",
        ] {
            fs::remove_file(store_dir.join(f)).unwrap();
        }
        Store::at(store_dir).append(&records).unwrap();
        fs::read_dir(store_dir.join("parts"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with(".trials.parquet"))
            .unwrap()
    }

    fn curves_of(part: &Path) -> PathBuf {
        PathBuf::from(
            part.to_string_lossy()
                .replace(".trials.parquet", ".curves.parquet"),
        )
    }

    /// The report read `trials.parquet` itself and ignored the parts of a killed run, which
    /// `Store::load` includes: threshold checks (on the aggregate) and agreement checks (on the
    /// trials) of one page saw different trials.
    #[test]
    fn a_killed_run_is_seen_alike_by_every_check_of_one_report() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "slow.yaml",
            "name: slow\ntitle: T\npaper: test\nclaim: c\nmethod: test.flaky\nparams: {sleep_ms: 150}\n\
             sweep:\n  grid:\n    x: {range: [0, 40]}\n\
             expect:\n  - threshold: {metric: value, above: -1}\n  - agreement: {metric: value, expr: \"x + 0.5\", abs_tol: 0.5}\n",
        );
        let store_dir = d.join("results/slow");
        let parts = store_dir.join("parts");
        let finished_parts = || {
            fs::read_dir(&parts).map_or(0, |entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".trials.parquet"))
                    .count()
            })
        };
        // A run stopped with SIGTERM (it consolidates what finished), then one killed.
        for signal in ["-TERM", "-KILL"] {
            let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_subbench"))
                .current_dir(d)
                .args(["run", "slow.yaml", "--jobs", "1", "--no-report"])
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while finished_parts() < 2 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "no parts were written"
                );
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let killed = std::process::Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status()
                .unwrap();
            assert!(killed.success());
            child.wait().unwrap();
        }
        assert!(finished_parts() >= 2, "the killed run's parts are kept");
        let consolidated = fs::metadata(store_dir.join("trials.parquet")).is_ok();
        assert!(consolidated, "the stopped run consolidated");
        let stored = Store::at(&store_dir).load().unwrap().len();
        run_ok(d, &["report"]);
        let page = fs::read_to_string(d.join("reports/slow.html")).unwrap();
        let checks: Vec<&str> = page
            .lines()
            .filter(|l| l.contains("threshold") || l.contains("agreement"))
            .collect();
        assert!(
            page.contains(&format!("{stored} groups, values in")),
            "the threshold check sees {stored} trials: {checks:?}"
        );
        assert!(
            page.contains(&format!("{stored} trials; worst")),
            "the agreement check sees {stored} trials: {checks:?}"
        );
        let o = subbench(d, &["summary", "results/slow", "--format", "csv"]);
        assert_eq!(summary_trials(&o), stored, "{}", stderr(&o));
    }

    /// A part whose curves file was lost read as "no curves": its figure came out empty and
    /// the next run wrote the empty curves into the store for good.
    #[test]
    fn a_lost_part_curves_file_is_recomputed_or_refused_never_shown_empty() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "c.yaml", CURVES_SPEC);
        run_ok(d, &["run", "c.yaml"]);
        let figure = d.join("reports/c-figure-1.svg");
        let drawn = fs::read_to_string(&figure).unwrap();
        let store_dir = d.join("results/c");
        let reference = results(&Store::at(&store_dir).load().unwrap());
        let part = into_a_part(&store_dir);
        let lost = curves_of(&part);
        fs::remove_file(&lost).unwrap();
        fs::remove_file(&figure).unwrap();
        let lost_name = lost.file_name().unwrap().to_string_lossy().into_owned();
        let text = run_ok(d, &["report"]);
        assert!(
            text.contains("warning: results/c: not reported")
                && text.contains(&lost_name)
                && text.contains("is missing"),
            "{text}"
        );
        assert!(!figure.exists(), "no empty figure is drawn");
        assert_user_error(
            &subbench(d, &["summary", "results/c"]),
            &[&lost_name, "is missing", "run the spec again"],
        );
        let text = run_ok(d, &["run", "c.yaml"]);
        assert!(
            text.contains("c: 4 trials to run, 0 already stored") && text.contains("kept aside"),
            "{text}"
        );
        assert_eq!(fs::read_to_string(&figure).unwrap(), drawn);
        assert_eq!(results(&Store::at(&store_dir).load().unwrap()), reference);
    }

    /// Bit rot was invisible: single-byte flips of trials.parquet or of a part changed means
    /// silently. Every file has a blake3 checksum that every reader verifies.
    #[test]
    fn a_flipped_bit_in_any_store_file_is_one_error_naming_it_and_the_way_out() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "c.yaml", CURVES_SPEC);
        run_ok(d, &["run", "c.yaml", "--no-report"]);
        let store_dir = d.join("results/c");
        let reference = results(&Store::at(&store_dir).load().unwrap());
        for (file, way_out) in [
            ("trials.parquet", "with --force"),
            (
                "curves.parquet",
                "the trials that record curves are recomputed",
            ),
            ("trials.csv", "written again from trials.parquet"),
        ] {
            let path = store_dir.join(file);
            let good = fs::read(&path).unwrap();
            flip_bit(&path);
            assert_user_error(
                &subbench(d, &["summary", "results/c"]),
                &[&format!("results/c/{file}: damaged"), "checksum", way_out],
            );
            let text = run_ok(d, &["report"]);
            assert!(
                text.contains(&format!(
                    "warning: results/c: not reported: results/c/{file}: damaged"
                )),
                "{text}"
            );
            fs::write(&path, good).unwrap();
        }
        // trials.csv cannot restore trials.parquet, and says so; nothing runs.
        flip_bit(&store_dir.join("trials.parquet"));
        assert_user_error(
            &subbench(d, &["run", "c.yaml"]),
            &[
                "trials.parquet: damaged",
                "trials.csv cannot restore it",
                "--force",
            ],
        );
        let _ = fs::remove_file(store_dir.join("trials.parquet"));
        // A damaged part is named; `run` sets it aside and recomputes its trials.
        run_ok(d, &["run", "c.yaml", "--force", "--no-report"]);
        let part = into_a_part(&store_dir);
        flip_bit(&part);
        let part_name = part.file_name().unwrap().to_string_lossy().into_owned();
        assert_user_error(
            &subbench(d, &["summary", "results/c"]),
            &[&part_name, "damaged", "its trials are recomputed"],
        );
        let text = run_ok(d, &["run", "c.yaml", "--no-report"]);
        assert!(
            text.contains("c: 4 trials to run, 0 already stored") && text.contains("kept aside"),
            "{text}"
        );
        assert_eq!(results(&Store::at(&store_dir).load().unwrap()), reference);
        // So are damaged curves: set aside, their trials recomputed, the same curves again.
        flip_bit(&store_dir.join("curves.parquet"));
        let text = run_ok(d, &["run", "c.yaml", "--no-report"]);
        assert!(text.contains("c: 4 trials to run"), "{text}");
        assert_eq!(results(&Store::at(&store_dir).load().unwrap()), reference);
    }

    /// A damaged store named the file but not the way out; `run --force` computed everything
    /// and then failed at consolidation on the damaged file; trials.csv was never used to
    /// recover (it cannot restore trials.parquet bit for bit, and now says so).
    #[test]
    fn run_force_replaces_a_damaged_store_and_keeps_the_damaged_file_aside() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "c.yaml", CURVES_SPEC);
        run_ok(d, &["run", "c.yaml", "--no-report"]);
        let store_dir = d.join("results/c");
        let reference = results(&Store::at(&store_dir).load().unwrap());
        let trials = store_dir.join("trials.parquet");
        flip_bit(&trials);
        let flipped = fs::read(&trials).unwrap();
        let text = run_ok(d, &["run", "c.yaml", "--force", "--no-report"]);
        assert!(
            text.contains("results/c/trials.parquet: damaged")
                && text.contains("kept aside as results/c/damaged/"),
            "{text}"
        );
        let aside: Vec<PathBuf> = fs::read_dir(store_dir.join("damaged"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(aside.len(), 1, "{aside:?}");
        assert!(
            fs::read(&aside[0]).unwrap() == flipped,
            "kept as it was found"
        );
        assert!(fs::read(&trials).unwrap() != flipped, "replaced");
        assert_eq!(results(&Store::at(&store_dir).load().unwrap()), reference);
        let o = subbench(d, &["summary", "results/c", "--format", "csv"]);
        assert_eq!(summary_trials(&o), 4);
        // A damaged trials.csv (a copy for other tools) is written again by any run.
        let csv = store_dir.join("trials.csv");
        let good_csv = fs::read(&csv).unwrap();
        flip_bit(&csv);
        let text = run_ok(d, &["run", "c.yaml", "--no-report"]);
        assert!(text.contains("0 trials to run, 4 already stored"), "{text}");
        assert!(
            fs::read(&csv).unwrap() == good_csv,
            "trials.csv written again"
        );
    }
}

mod spec_locations {
    use std::fs;

    use super::common::{assert_user_error, subbench};

    const HEAD: &str = "name: loc\ntitle: t\npaper: test\nclaim: c\nmethod: test.quadratic\nsweep:\n  grid:\n    x: [1, 2]\n    mode: [plain, shifted]\nmetrics: {value: {}}\n";

    /// `validate` and `run` refuse `HEAD` + `rest` with one line naming `file:LINE:`, where LINE
    /// is the 1-based line of the spec that holds `needle`.
    fn refused_at(rest: &str, needle: &str, message: &str) {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{HEAD}{rest}");
        fs::write(dir.path().join("s.yaml"), &text).unwrap();
        let line = 1 + text
            .lines()
            .position(|l| l.contains(needle))
            .expect("the needle is in the spec");
        let place = format!("s.yaml:{line}:");
        for command in ["validate", "run"] {
            let out = subbench(dir.path(), &[command, "s.yaml"]);
            assert_user_error(&out, &[&place, message]);
        }
    }

    /// Error places were found by the first word of a description (`what.split(' ')`), so a
    /// mistake in the fifth figure was shown at `report:`, and a `where` typo in any check at the
    /// first line of the file with the same key. Each item now names its own line.
    #[test]
    fn an_error_in_the_fifth_figure_is_shown_at_the_fifth_figure() {
        refused_at(
            "report:\n  figures:\n    - {kind: line, x: x, y: value}\n    - {kind: line, x: x, y: value, series: mode}\n    - {kind: scatter, x: x, y: value}\n    - {kind: line, x: mode, y: value}\n    - {kind: line, x: x, y: value, series: mood}\n",
            "mood",
            "report figure refers to parameter `mood`",
        );
    }

    #[test]
    fn an_error_in_the_third_table_is_shown_at_the_third_table() {
        refused_at(
            "report:\n  tables:\n    - {rows: x, value: value}\n    - {rows: mode, columns: x, value: value}\n    - {rows: x, value: score}\n",
            "score",
            "report table refers to metric `score`",
        );
    }

    #[test]
    fn an_error_in_the_fourth_check_is_shown_at_the_fourth_check() {
        refused_at(
            "expect:\n  - threshold: {metric: value, where: {x: 1}, above: 0}\n  - threshold: {metric: value, where: {x: 2}, above: 0}\n  - agreement: {metric: value, expr: \"x^2\"}\n  - threshold: {metric: value, where: {x: 3}, above: 0}\n",
            "x: 3",
            "no trial has x = 3",
        );
        refused_at(
            "expect:\n  - threshold: {metric: value, above: 0}\nrefuted:\n  - threshold: {metric: value, below: 0}\n  - trend: {metric: value, along: x}\n",
            "along: x}",
            "exactly one of `monotone`",
        );
    }
}

mod binary {
    use std::fs;
    use std::time::{Duration, Instant};

    use super::common::{assert_user_error, spawn_subbench, stdout, subbench, Running};
    use harness::{Status, Store};

    /// The stored trials of the store `dir` (consolidated and in parts).
    fn stored(dir: &std::path::Path) -> Vec<harness::TrialRecord> {
        Store::at(dir).load().unwrap_or_default()
    }

    /// Six trials of `test.hang`, of which the one at x = 0 never returns.
    fn hanging_spec(d: &std::path::Path, name: &str, timeout: &str) {
        fs::write(
            d.join(format!("{name}.yaml")),
            format!(
                "name: {name}\ntitle: T\npaper: test\nclaim: c\nmethod: test.hang\n{timeout}\
                 params: {{hang_at: 0}}\nsweep:\n  grid:\n    x: [0, 1, 2, 3, 4, 5]\n"
            ),
        )
        .unwrap();
    }

    /// Started on `name.yaml` with two workers; returns once the five trials that end are
    /// stored (the sixth holds its worker for ever).
    fn run_until_only_the_hung_trial_runs(d: &std::path::Path, name: &str) -> Running {
        let spec = format!("{name}.yaml");
        let mut run = spawn_subbench(d, &["run", &spec, "--jobs", "2", "--no-report"]);
        let store = d.join("results").join(name);
        run.wait_until(Duration::from_secs(60), "five stored trials", |_| {
            stored(&store).len() == 5
        });
        run
    }

    /// A built-in trial that never returned blocked its worker for ever, unseen: `timeout:` is
    /// enforced only when a trial returns, and the first Ctrl-C waited for it. Now the progress
    /// names it once it is past its deadline (id, method, parameters, how long past), and Ctrl-C
    /// abandons it at once, keeps the five finished trials and says how to resume.
    #[test]
    fn a_hung_trial_is_named_past_its_deadline_and_ctrl_c_keeps_what_finished() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        hanging_spec(d, "hung", "timeout: 1\n");
        let mut run = run_until_only_the_hung_trial_runs(d, "hung");
        run.wait_until(Duration::from_secs(30), "a late-trial line", |r| {
            r.stderr().contains("past its deadline")
        });
        let said = run.stderr();
        let late = said
            .lines()
            .find(|l| l.contains("past its deadline"))
            .unwrap();
        assert!(
            late.contains("hung: trial ")
                && late.contains("(test.hang hang_at=0 x=0)")
                && late.contains("s past its deadline (timeout: 1 s"),
            "{late}"
        );
        let stopped = Instant::now();
        run.interrupt();
        let (code, said) = run.finish(Duration::from_secs(30));
        assert_eq!(code, Some(130), "{said}");
        // Past its deadline, the hung trial is not waited for: no grace time is spent on it.
        assert!(
            stopped.elapsed() < harness::runner::STOP_GRACE,
            "{:?}: {said}",
            stopped.elapsed()
        );
        assert!(
            said.contains("the 5 trials that finished are stored, 1 trial still running was abandoned; run the same command again to resume"),
            "{said}"
        );
        assert!(
            said.contains("abandoned: trial ") && !said.contains("panicked"),
            "{said}"
        );
        let store = d.join("results/hung");
        assert!(store.join("trials.parquet").exists(), "consolidated");
        let records = stored(&store);
        assert_eq!(records.len(), 5);
        assert!(records.iter().all(|r| r.status == Status::Ok));
        assert!(records
            .iter()
            .all(|r| r.params.get("x") != Some(&harness::Value::Int(0))));
        // The next run resumes: only the abandoned trial is left to run.
        let dry = subbench(d, &["run", "hung.yaml", "--dry-run"]);
        assert!(
            stdout(&dry).contains("hung: 6 trials, 5 stored, 1 to run"),
            "{}",
            stdout(&dry)
        );
    }

    /// With `--jobs 2` and two such trials the run made no progress and said nothing: both are
    /// named, and Ctrl-C still ends the run at once.
    #[test]
    fn two_hung_trials_on_two_workers_are_both_named_and_ctrl_c_ends_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(
            d.join("both.yaml"),
            "name: both\ntitle: T\npaper: test\nclaim: c\nmethod: test.hang\ntimeout: 1\nseeds: 2\n\
             params: {x: 0, hang_at: 0}\n",
        )
        .unwrap();
        let mut run = spawn_subbench(d, &["run", "both.yaml", "--jobs", "2", "--no-report"]);
        run.wait_until(Duration::from_secs(60), "two late trials named", |r| {
            r.stderr().matches("past its deadline").count() >= 2
        });
        let said = run.stderr();
        let ids: std::collections::HashSet<&str> = said
            .lines()
            .filter(|l| l.contains("past its deadline"))
            .filter_map(|l| l.split("trial ").nth(1)?.split(' ').next())
            .collect();
        assert_eq!(ids.len(), 2, "two different trials: {said}");
        run.interrupt();
        let (code, said) = run.finish(Duration::from_secs(30));
        assert_eq!(code, Some(130), "{said}");
        assert!(
            said.contains(
                "the 0 trials that finished are stored, 2 trials still running were abandoned"
            ),
            "{said}"
        );
        // Nothing finished, so nothing is consolidated: `report` says to run the spec rather
        // than showing a page of no trials.
        assert!(!d.join("results/both/trials.parquet").exists());
        let report = super::common::stderr(&subbench(d, &["report"]));
        assert!(
            report.contains("results/both: not reported") && report.contains("run the spec first"),
            "{report}"
        );
        let dry = subbench(d, &["run", "both.yaml", "--dry-run"]);
        assert!(
            stdout(&dry).contains("both: 2 trials, 0 stored, 2 to run"),
            "{}",
            stdout(&dry)
        );
    }

    /// Without `timeout:` a trial has no deadline: the first Ctrl-C gives it the grace time to
    /// finish, then abandons it (it ran for ever before); a second Ctrl-C quits at once.
    #[test]
    fn ctrl_c_without_deadline_waits_the_grace_time_and_a_second_quits_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        hanging_spec(d, "patient", "");
        let run = run_until_only_the_hung_trial_runs(d, "patient");
        let stopped = Instant::now();
        run.interrupt();
        let (code, said) = run.finish(Duration::from_secs(60));
        assert_eq!(code, Some(130), "{said}");
        assert!(
            stopped.elapsed() >= harness::runner::STOP_GRACE,
            "{:?}",
            stopped.elapsed()
        );
        assert!(
            said.contains("1 trial still running was abandoned"),
            "{said}"
        );
        assert_eq!(stored(&d.join("results/patient")).len(), 5);

        hanging_spec(d, "impatient", "");
        let mut run = run_until_only_the_hung_trial_runs(d, "impatient");
        run.interrupt();
        run.wait_until(Duration::from_secs(10), "the first interrupt's line", |r| {
            r.stderr().contains("interrupted: no new trial starts")
        });
        let stopped = Instant::now();
        run.interrupt();
        let (code, said) = run.finish(Duration::from_secs(30));
        assert_eq!(code, Some(130), "{said}");
        assert!(
            stopped.elapsed() < harness::runner::STOP_GRACE,
            "{:?}",
            stopped.elapsed()
        );
        assert!(
            said.contains("quit: every trial that finished is on disk"),
            "{said}"
        );
        // The finished trials were on disk before the second signal, in parts.
        assert_eq!(stored(&d.join("results/impatient")).len(), 5);
        let dry = subbench(d, &["run", "impatient.yaml", "--dry-run"]);
        assert!(
            stdout(&dry).contains("impatient: 6 trials, 5 stored, 1 to run"),
            "{}",
            stdout(&dry)
        );
    }

    /// The same "stored data missing" error (`ReportError::Data`) exited with 2 from `summary`
    /// and with 1 from `baseline save`: three places decided exit codes. One function does now.
    #[test]
    fn a_store_without_trials_is_the_same_user_error_in_summary_and_baseline_save() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir_all(d.join("results/empty")).unwrap();
        fs::write(
            d.join("results/empty/spec.yaml"),
            "name: empty\ntitle: T\npaper: test\nclaim: c\nmethod: test.quadratic\nparams: {x: 2}\n",
        )
        .unwrap();
        let summary = subbench(d, &["summary", "results/empty"]);
        assert_user_error(
            &summary,
            &["results/empty/trials.parquet", "run the spec first"],
        );
        let save = subbench(d, &["baseline", "save", "empty", "--baselines", "b"]);
        assert_user_error(
            &save,
            &["results/empty/trials.parquet", "run the spec first"],
        );
        assert!(!d.join("b").exists(), "nothing was saved");
    }
}

/// The method contract (issue 16): what a method declares is what it may do.
mod contract {
    use std::fs;

    use super::common::{stderr, stdout, subbench};

    fn spec(d: &std::path::Path, name: &str, method: &str, params: &str) {
        fs::write(
            d.join(format!("{name}.yaml")),
            format!("name: {name}\ntitle: T\npaper: test\nclaim: c\nmethod: {method}\nseeds: 1\nparams: {{{params}}}\n"),
        )
        .unwrap();
    }

    #[test]
    fn a_panic_in_a_methods_check_is_one_line_naming_the_bug_exit_1() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        spec(d, "buggy", "test.quadratic", "x: 666");
        let out = subbench(d, &["validate", "buggy.yaml"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("bug in method test.quadratic: its parameter check panicked"),
            "{err}"
        );
        assert!(err.contains("the check of x = 666 is broken"), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(!err.contains("panicked at"), "no Rust panic message: {err}");
    }

    #[test]
    fn a_trial_that_emits_an_undeclared_metric_fails_as_a_bug_of_its_method() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(
            d.join("typo.yaml"),
            "name: typo\ntitle: T\npaper: test\nclaim: c\nmethod: test.flaky\nseeds: 1\nparams: {undeclared_at: 2}\nsweep:\n  grid:\n    x: [1, 2]\n",
        )
        .unwrap();
        // The run goes on past a failed trial; its exit code says one failed.
        subbench(d, &["run", "typo.yaml", "--no-report"]);
        let store = harness::Store::at(&d.join("results/typo")).load().unwrap();
        let failed: Vec<_> = store
            .iter()
            .filter(|r| r.status == harness::Status::Error)
            .collect();
        assert_eq!(failed.len(), 1, "only x = 2 fails");
        let error = failed[0].error.as_deref().unwrap_or_default();
        assert_eq!(
            error,
            "bug in method test.flaky: it emitted metric `valeu`, which it does not declare"
        );
    }

    /// Every registered method, run once on its defaults, emits only what it declares (the
    /// runner fails a trial that does not) and succeeds.
    #[test]
    fn every_method_runs_on_its_defaults_and_emits_only_declared_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let list = stdout(&subbench(d, &["list"]));
        let ids: Vec<&str> = list
            .lines()
            .filter(|l| !l.starts_with(' '))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|id| id.contains('.') && !id.starts_with("test."))
            .collect();
        assert!(ids.len() >= 15, "the paper methods are listed: {ids:?}");
        for id in ids {
            let name = id.replace(['.', '_'], "-");
            spec(d, &name, id, "");
            let out = subbench(d, &["run", &format!("{name}.yaml"), "--no-report"]);
            assert!(out.status.success(), "{id}: {}", stderr(&out));
            let records = harness::Store::at(&d.join("results").join(&name))
                .load()
                .unwrap();
            assert_eq!(records.len(), 1, "{id}");
            assert_eq!(
                records[0].status,
                harness::Status::Ok,
                "{id}: {:?}",
                records[0].error
            );
        }
    }

    /// Issue 17, class 19: after an input file changes, the report and `check` say so instead of
    /// showing "0 trials" and checks that match no data without a reason.
    #[test]
    fn a_changed_input_file_is_named_by_report_and_check() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("offset.txt"), "1.5\n").unwrap();
        fs::write(
            d.join("input.yaml"),
            "name: input\ntitle: T\npaper: test\nclaim: c\nmethod: test.quadratic\nseeds: 2\nparams: {offset_file: offset.txt}\nsweep:\n  grid:\n    x: [1, 2]\nexpect:\n  - threshold: {metric: value, above: 0}\n",
        )
        .unwrap();
        let out = subbench(d, &["run", "input.yaml"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let page = fs::read_to_string(d.join("reports/input.html")).unwrap();
        assert!(!page.contains("Input changed"), "nothing changed yet");
        fs::write(d.join("offset.txt"), "2.5\n").unwrap();
        let out = subbench(d, &["report"]);
        let err = stderr(&out);
        assert!(
            err.contains("input file `offset.txt` (parameter `offset_file`) changed since 4 stored trials were computed from it"),
            "{err}"
        );
        let page = fs::read_to_string(d.join("reports/input.html")).unwrap();
        assert!(page.contains("Input changed"), "the page says it");
        // Once the spec ran again, the old trials are only superseded: nothing to say.
        let out = subbench(d, &["run", "input.yaml"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(!stderr(&subbench(d, &["report"])).contains("changed since"));
        let page = fs::read_to_string(d.join("reports/input.html")).unwrap();
        assert!(!page.contains("Input changed"));
    }

    /// Issue 17, class 10: a stored spec's file parameters are relative to the folder its run
    /// ran in, so `report` from another folder finds them (before: the spec did not load and
    /// the store was "not reported"), for the hash and for the method's own check alike
    /// (test.quadratic's check opens the file, as shifcon's does).
    #[test]
    fn report_from_another_folder_reads_the_stored_specs_input_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let project = d.join("project");
        fs::create_dir(&project).unwrap();
        fs::write(project.join("offset.txt"), "1.5\n").unwrap();
        fs::write(
            project.join("input.yaml"),
            "name: input\ntitle: T\npaper: test\nclaim: c\nmethod: test.quadratic\nseeds: 1\nparams: {x: 1, offset_file: offset.txt}\n",
        )
        .unwrap();
        let out = subbench(&project, &["run", "input.yaml", "--no-report"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let out = subbench(
            d,
            &["report", "project/results", "--out", "elsewhere-reports"],
        );
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        assert!(!err.contains("not reported"), "{err}");
        let page = fs::read_to_string(d.join("elsewhere-reports/input.html")).unwrap();
        assert!(
            page.contains("1 trial") || page.contains("trials"),
            "a page with its trial"
        );
        // A summary from elsewhere agrees.
        let out = subbench(d, &["summary", "project/results/input", "--format", "csv"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).lines().count() >= 2, "{}", stdout(&out));
    }
}
