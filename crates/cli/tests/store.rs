//! The result store, its merge and its status through the real binary: regression tests of
//! issue 26 (store, cluster and command-line classes) and of issue 28 §4 (a cached run writes
//! nothing), each named after the bug it fixes.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use common::{assert_user_error, flip_bit, probe, stderr, stdout, subbench};
use harness::Store;

/// A new code identity of the probe method: its worker file changes.
fn change_probe_code(dir: &Path, tag: &str) {
    let worker = dir.join("tests/external/probe/worker.py");
    let mut text = fs::read_to_string(&worker).unwrap();
    text.push_str(&format!("\n# {tag}\n"));
    fs::write(worker, text).unwrap();
}

const PROBE_SPEC: &str = "name: p\ntitle: t\npaper: test\nclaim: c\nseed: 5\n\
external: [tests/external/probe/manifest.yaml]\nmethod: probe.random\n\
sweep:\n  grid:\n    x: [1, 2, 3, 4]\nmetrics:\n  value: {}\n";

const QUADRATIC_SPEC: &str = "name: p\ntitle: t\npaper: test\nclaim: c\nmethod: test.quadratic\n\
sweep:\n  grid:\n    x: [1, 2, 3, 4]\n";

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let out = subbench(dir, args);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        out.status.success() && !text.contains("panicked"),
        "{args:?}: {text}"
    );
    text
}

/// Every file under `dir` with its modification time and bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (SystemTime, Vec<u8>)> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(folder) = todo.pop() {
        for entry in fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let modified = fs::metadata(&path).unwrap().modified().unwrap();
                files.insert(path.clone(), (modified, fs::read(&path).unwrap()));
            }
        }
    }
    files
}

fn provenance(store: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(store.join("provenance.json")).unwrap()).unwrap()
}

/// Shards computed by an older method code and an older spec text were folded over what a later
/// run of the current code stored (the row read last won), and the shard's older `spec.yaml`
/// replaced the store's newer one, with exit 0 and nothing said.
#[test]
fn merge_never_folds_older_shards_over_newer_results() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    probe(d);
    fs::write(d.join("p.yaml"), PROBE_SPEC).unwrap();
    run_ok(d, &["run", "p.yaml", "--shard", "1/2", "--no-report"]);
    run_ok(d, &["run", "p.yaml", "--shard", "2/2", "--no-report"]);
    // Later, and with a second's margin (provenance times are in seconds): new code and a new
    // spec text run in one process into the spec's store.
    std::thread::sleep(Duration::from_millis(1100));
    change_probe_code(d, "v2");
    let newer_spec = format!("{PROBE_SPEC}# the newer text\n");
    fs::write(d.join("p.yaml"), &newer_spec).unwrap();
    run_ok(d, &["run", "p.yaml", "--no-report"]);
    let store = d.join("results/p");
    let runs = provenance(&store)["runs"].as_array().unwrap().clone();
    let current = runs.last().unwrap()["method_codes"]["probe.random"]
        .as_str()
        .unwrap()
        .to_string();
    let before = Store::at(&store).load().unwrap();
    assert_eq!(before.len(), 4);
    assert!(before.iter().all(|r| r.method_code == current));

    let out = subbench(d, &["merge", "results/p"]);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(out.status.success(), "{text}");
    let after = Store::at(&store).load().unwrap();
    assert_eq!(after.len(), 4, "{text}");
    assert!(
        after.iter().all(|r| r.method_code == current),
        "an older shard replaced a newer row: {text}"
    );
    assert_eq!(
        after, before,
        "the store's rows are the newer ones, bit for bit"
    );
    assert_eq!(
        fs::read_to_string(store.join("spec.yaml")).unwrap(),
        newer_spec,
        "the older spec copy never replaces the newer one"
    );
    assert!(
        text.contains("other code") && text.contains("another spec text"),
        "the merge says the shards differ: {text}"
    );
}

/// Deleting `checksums.json` silently turned verification off, and the next run checksummed
/// whatever was there (a tampered value became blessed).
#[test]
fn a_missing_checksums_file_is_damage_when_the_history_says_it_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("p.yaml"), QUADRATIC_SPEC).unwrap();
    run_ok(d, &["run", "p.yaml", "--no-report"]);
    let store = d.join("results/p");
    fs::remove_file(store.join("checksums.json")).unwrap();
    let summary = subbench(d, &["summary", "results/p"]);
    assert_user_error(&summary, &["checksums.json", "is missing", "--force"]);
    let run = subbench(d, &["run", "p.yaml", "--no-report"]);
    assert_user_error(&run, &["checksums.json", "is missing", "--force"]);
    assert!(!store.join("checksums.json").exists(), "nothing re-blessed");
    run_ok(d, &["run", "p.yaml", "--no-report", "--force"]);
    assert!(store.join("checksums.json").exists());
    assert_eq!(Store::at(&store).load().unwrap().len(), 4);
}

/// A provenance merge entry with `"shards": 0` made `status` and `merge` divide by zero.
#[test]
fn status_and_merge_do_not_panic_on_a_merge_entry_of_zero_shards() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("p.yaml"), QUADRATIC_SPEC).unwrap();
    run_ok(d, &["run", "p.yaml", "--shard", "1/2", "--no-report"]);
    run_ok(d, &["run", "p.yaml", "--shard", "2/2", "--no-report"]);
    run_ok(d, &["merge", "results/p"]);
    let path = d.join("results/p/provenance.json");
    let mut history = provenance(&d.join("results/p"));
    let last = history["runs"].as_array_mut().unwrap().last_mut().unwrap();
    last["merge"]["shards"] = 0.into();
    fs::write(&path, serde_json::to_string_pretty(&history).unwrap()).unwrap();
    let status = subbench(d, &["status", "results/p"]);
    let text = format!("{}{}", stdout(&status), stderr(&status));
    assert!(
        status.status.success() && !text.contains("panicked"),
        "{text}"
    );
    assert!(text.contains("4 trials stored"), "{text}");
    let merge = subbench(d, &["merge", "results/p"]);
    assert_user_error(&merge, &["nothing to merge"]);
}

/// `--shard 1/4000000000` was accepted and ran nothing without a note, and `status`/`merge` then
/// aborted allocating 128 GB for the missing shards; `--shard I/N` with N above the trials said
/// "0 trials" without a note.
#[test]
fn shard_counts_above_the_number_of_trials_are_refused_and_never_listed_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("p.yaml"), QUADRATIC_SPEC).unwrap();
    for shard in ["1/4000000000", "5/5"] {
        let o = subbench(d, &["run", "p.yaml", "--shard", shard, "--no-report"]);
        assert_user_error(&o, &["--shard", "at most 4 shards"]);
    }
    let o = subbench(d, &["slurm", "p.yaml", "--shards", "5"]);
    assert_user_error(&o, &["--shards", "at most 4 shards"]);
    assert!(!d.join("results").exists(), "nothing written");
    // A hand-made history of a huge sweep: its missing shards are one line, at once.
    run_ok(d, &["run", "p.yaml", "--shard", "1/2", "--no-report"]);
    run_ok(d, &["merge", "results/p", "--partial"]);
    let path = d.join("results/p/provenance.json");
    let mut history = provenance(&d.join("results/p"));
    let last = history["runs"].as_array_mut().unwrap().last_mut().unwrap();
    last["merge"]["shards"] = 4_000_000_000u64.into();
    last["merge"]["sweep_trials"] = 4_000_000_000u64.into();
    fs::write(&path, serde_json::to_string_pretty(&history).unwrap()).unwrap();
    let started = Instant::now();
    let status = subbench(d, &["status", "results/p"]);
    let text = format!("{}{}", stdout(&status), stderr(&status));
    assert!(
        status.status.success() && !text.contains("panicked"),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(text.lines().count() < 10, "{text}");
    assert!(text.contains("missing"), "{text}");
}

/// After a method's code changed, the page and `summary` showed "0 trials … is `x` a swept
/// parameter?" instead of saying that the stored trials were computed by other code.
#[test]
fn after_a_code_change_the_page_and_summary_say_the_stored_trials_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    probe(d);
    fs::write(d.join("p.yaml"), PROBE_SPEC).unwrap();
    run_ok(d, &["run", "p.yaml", "--no-report"]);
    change_probe_code(d, "v2");
    let summary = subbench(d, &["summary", "results/p"]);
    let said = stderr(&summary);
    assert!(
        said.contains("4 stored trials of method `probe.random` were computed by other code")
            && said.contains("will run again"),
        "{said}"
    );
    run_ok(d, &["report", "results", "--out", "reports"]);
    let page = fs::read_to_string(d.join("reports/p.html")).unwrap();
    assert!(
        page.contains("computed by other code") && page.contains("will run again"),
        "the page says it"
    );
}

/// `status` before any array task had started said "not a result store".
#[test]
fn status_before_any_array_task_says_no_shard_has_started() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("results/p/slurm")).unwrap();
    let text = run_ok(d, &["status", "results/p"]);
    assert!(text.contains("no shard has started yet"), "{text}");
    let o = subbench(d, &["status", "results/q"]);
    assert_user_error(&o, &["no such results folder", "no shard has started yet"]);
}

/// One damaged shard made `status` fail and blocked the merge of the healthy shards.
#[test]
fn one_damaged_shard_is_listed_damaged_and_the_others_are_folded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = QUADRATIC_SPEC.replace("[1, 2, 3, 4]", "[1, 2, 3, 4, 5, 6, 7, 8, 9]");
    fs::write(d.join("p.yaml"), spec).unwrap();
    for shard in ["1/3", "2/3", "3/3"] {
        run_ok(d, &["run", "p.yaml", "--shard", shard, "--no-report"]);
    }
    let damaged = d.join("results/p/shards/002-of-003/trials.parquet");
    let in_damaged = Store::at(damaged.parent().unwrap()).load().unwrap().len();
    flip_bit(&damaged);
    let status = run_ok(d, &["status", "results/p"]);
    assert!(
        status.contains("002-of-003  damaged") && status.contains("001-of-003  done"),
        "{status}"
    );
    let merge = subbench(d, &["merge", "results/p"]);
    let text = format!("{}{}", stdout(&merge), stderr(&merge));
    assert_eq!(merge.status.code(), Some(1), "not whole: {text}");
    assert!(
        text.contains("folded 001-of-003, 003-of-003") && text.contains("002-of-003 damaged"),
        "{text}"
    );
    assert_eq!(
        Store::at(&d.join("results/p")).load().unwrap().len(),
        9 - in_damaged
    );
    assert!(damaged.exists(), "the damaged shard is left as it is");
}

/// A run or `check` with every trial stored rewrote `trials.parquet`, `trials.csv`,
/// `curves.parquet`, `checksums.json` and the spec copies (so `check` on a read-only file system
/// refused a complete store): now nothing in the store is written.
#[test]
fn a_cached_run_or_check_writes_nothing_to_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("p.yaml"), QUADRATIC_SPEC).unwrap();
    run_ok(d, &["run", "p.yaml", "--no-report"]);
    let store = d.join("results/p");
    let before = snapshot(&store);
    std::thread::sleep(Duration::from_millis(1100));
    run_ok(d, &["run", "p.yaml", "--no-report"]);
    run_ok(d, &["check", "p.yaml"]);
    assert_eq!(
        snapshot(&store),
        before,
        "no file added, removed or rewritten"
    );
    // A shard whose slice is stored and marked complete: the same.
    run_ok(d, &["run", "p.yaml", "--shard", "1/2", "--no-report"]);
    let shard = store.join("shards/001-of-002");
    let before = snapshot(&shard);
    std::thread::sleep(Duration::from_millis(1100));
    run_ok(d, &["run", "p.yaml", "--shard", "1/2", "--no-report"]);
    assert_eq!(snapshot(&shard), before);
}

/// `baseline save ../x` read a store and wrote a baseline outside the baselines folder.
#[test]
fn baseline_save_refuses_a_name_that_leaves_the_baselines_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("p.yaml"), QUADRATIC_SPEC).unwrap();
    run_ok(d, &["run", "p.yaml", "--no-report"]);
    for name in ["../x", "a/b", ".."] {
        let o = subbench(d, &["baseline", "save", name]);
        assert_user_error(&o, &["not a spec name"]);
    }
    assert!(!d.join("results/baselines").exists());
    run_ok(d, &["baseline", "save", "p"]);
    assert!(d.join("results/baselines/p.parquet").exists());
}
