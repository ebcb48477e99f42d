//! Tests of the store as a whole: round trips, verification, damage, consolidation, shards.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use super::checksums::Checksums;
use super::cluster::{cluster_status, ClusterReport, ShardState};
use super::codec::{parse_trials, trials_frame, write_parquet};
use super::files::write_json;
use super::folder::{part_checksums_path, part_curves_path, Store};
use super::merge::merge;
use super::read::Curves;
use super::record::{Status, TrialRecord};
use super::schema::{
    CHECKSUMS_FILE as CHECKSUMS, CURVES_FILE as CURVES, DAMAGED_DIR, TRIALS_CSV,
    TRIALS_FILE as TRIALS,
};
use super::shard::ShardInfo;
use crate::error::HarnessError;
use crate::value::Value;

pub(crate) fn record(id: &str, order: u64, status: Status, x: f64) -> TrialRecord {
    TrialRecord {
        trial_id: id.into(),
        order,
        spec: "s".into(),
        method: "test.quadratic".into(),
        method_code: "c0de".into(),
        rep: 0,
        seed: 42,
        status,
        error: (status != Status::Ok).then(|| "boom".to_string()),
        elapsed_s: 0.5,
        params: BTreeMap::from([
            ("x".to_string(), Value::Float(x)),
            ("k".to_string(), Value::Int(3)),
            ("flag".to_string(), Value::Bool(true)),
            ("mode".to_string(), Value::Str("a".into())),
            ("spectrum".to_string(), Value::List(vec![3.0, 0.1])),
        ]),
        metrics: BTreeMap::from([
            ("value".to_string(), x * x),
            ("other".to_string(), 0.1 + 0.2),
        ]),
        curves: BTreeMap::from([("loss".to_string(), vec![(0, 1.0), (1, 0.5)])]),
    }
}

#[test]
fn records_round_trip_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path(), "s", None);
    let records = vec![
        record("a", 0, Status::Ok, 0.1),
        record("b", 1, Status::Error, 1e-300),
    ];
    store.append(&records).unwrap();
    assert_eq!(store.load().unwrap(), records);
    assert_eq!(store.consolidate().unwrap(), records);
    assert!(!dir.path().join("s/parts").exists());
    assert!(dir.path().join("s/trials.csv").exists());
    assert_eq!(store.load().unwrap(), records);
}

#[test]
fn ok_rows_win_over_failures_and_later_over_earlier() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path(), "s", None);
    store.append(&[record("a", 0, Status::Error, 1.0)]).unwrap();
    store.append(&[record("a", 0, Status::Ok, 2.0)]).unwrap();
    store.append(&[record("a", 0, Status::Error, 3.0)]).unwrap();
    let loaded = store.consolidate().unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].status, Status::Ok);
    assert_eq!(loaded[0].params["x"], Value::Float(2.0));
}

#[test]
fn a_torn_temporary_file_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path(), "s", None);
    store.append(&[record("a", 0, Status::Ok, 1.0)]).unwrap();
    fs::write(
        dir.path().join("s/parts/000-1-1.trials.parquet.tmp-99"),
        b"PAR1 torn",
    )
    .unwrap();
    assert_eq!(store.load().unwrap().len(), 1);
}

/// Stores written before the `method_code` column existed still load; their trials carry an
/// empty code identity, which the runner treats as stale.
#[test]
fn a_store_without_the_method_code_column_reads_as_unversioned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.parquet");
    let frame = trials_frame(&[record("a", 0, Status::Ok, 1.0)]).unwrap();
    let mut old = frame.drop("method_code").unwrap();
    write_parquet(&path, &mut old, false).unwrap();
    let loaded = parse_trials(&fs::read(&path).unwrap(), &path, &HashMap::new()).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].method_code, "");
    assert_eq!(loaded[0].metrics["value"], 1.0);
}

/// Flip one bit in the middle of `path`.
fn flip(path: &Path) {
    let mut bytes = fs::read(path).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x10;
    fs::write(path, bytes).unwrap();
}

fn damaged_file(e: HarnessError) -> (PathBuf, String) {
    match e {
        HarnessError::Damaged { path, message } => (path, message),
        other => panic!("not a damaged-file error: {other}"),
    }
}

/// A consolidated store of two trials plus one part of a third.
fn store_with_a_part(dir: &Path) -> (Store, PathBuf) {
    let store = Store::new(dir, "s", None);
    store
        .append(&[
            record("a", 0, Status::Ok, 1.0),
            record("b", 1, Status::Ok, 2.0),
        ])
        .unwrap();
    store.consolidate().unwrap();
    store.append(&[record("c", 2, Status::Ok, 3.0)]).unwrap();
    let part = store.part_files().unwrap().remove(0);
    (store, part)
}

#[test]
fn every_file_is_verified_and_a_flip_names_the_file_and_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let (store, part) = store_with_a_part(dir.path());
    assert_eq!(store.load().unwrap().len(), 3);
    let sums = Checksums::read(&store.dir().join(CHECKSUMS))
        .unwrap()
        .unwrap();
    assert_eq!(
        sums.blake3.keys().collect::<Vec<_>>(),
        [CURVES, TRIALS_CSV, TRIALS]
    );
    for (file, way_out) in [
        (store.dir().join(TRIALS), "with --force"),
        (
            store.dir().join(CURVES),
            "trials that record curves are recomputed",
        ),
        (
            store.dir().join(TRIALS_CSV),
            "written again from trials.parquet",
        ),
        (part.clone(), "its trials are recomputed"),
        (part_curves_path(&part), "its trials are recomputed"),
    ] {
        let good = fs::read(&file).unwrap();
        flip(&file);
        for e in [store.load().unwrap_err(), store.load_trials().unwrap_err()] {
            assert!(e.is_user_error());
            let (path, message) = damaged_file(e);
            assert_eq!(path, file);
            assert!(
                message.contains("checksum") && message.contains(way_out),
                "{message}"
            );
        }
        fs::write(&file, good).unwrap();
    }
    assert_eq!(store.load().unwrap().len(), 3);
}

#[test]
fn run_sets_damaged_parts_and_curves_aside_and_refuses_damaged_trials_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let (store, part) = store_with_a_part(dir.path());
    flip(&part);
    let warnings = store.set_aside_damaged(false).unwrap();
    assert!(
        warnings.len() == 1 && warnings[0].contains("its trials run again"),
        "{warnings:?}"
    );
    assert!(!part.exists() && !part_curves_path(&part).exists());
    assert_eq!(
        fs::read_dir(store.dir().join(DAMAGED_DIR)).unwrap().count(),
        3
    );
    let ids: Vec<String> = store
        .load()
        .unwrap()
        .into_iter()
        .map(|r| r.trial_id)
        .collect();
    assert_eq!(ids, ["a", "b"], "the damaged part's trial is to run again");

    flip(&store.dir().join(CURVES));
    let warnings = store.set_aside_damaged(false).unwrap();
    assert!(
        warnings[0].contains("curves are recomputed"),
        "{warnings:?}"
    );
    assert!(store.curves_missing());
    assert!(store.load().is_err(), "lost curves are never read as none");
    assert!(store.load_for_run().unwrap()[0].curves.is_empty());

    flip(&store.dir().join(TRIALS));
    let (path, message) = damaged_file(store.set_aside_damaged(false).unwrap_err());
    assert_eq!(path, store.dir().join(TRIALS));
    assert!(message.contains("cannot restore it"), "{message}");
    let warnings = store.set_aside_damaged(true).unwrap();
    assert!(warnings[0].contains("--force recomputes"), "{warnings:?}");
    assert!(store.load().unwrap().is_empty());
    // What a forced run then stores verifies again.
    store.append(&[record("a", 0, Status::Ok, 1.0)]).unwrap();
    assert_eq!(store.consolidate_after_run().unwrap().len(), 1);
    assert_eq!(store.load().unwrap().len(), 1);
}

#[test]
fn a_lost_part_curves_file_is_an_error_not_empty_curves() {
    let dir = tempfile::tempdir().unwrap();
    let (store, part) = store_with_a_part(dir.path());
    fs::remove_file(part_curves_path(&part)).unwrap();
    let (path, message) = damaged_file(store.load().unwrap_err());
    assert_eq!(path, part_curves_path(&part));
    assert!(message.contains("is missing"), "{message}");
    // Also in a part written before checksums existed.
    fs::remove_file(part_checksums_path(&part)).unwrap();
    assert!(store.load().is_err());
    store.set_aside_damaged(false).unwrap();
    assert_eq!(store.load().unwrap().len(), 2);
}

#[test]
fn a_damaged_checksums_file_is_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_a_part(dir.path());
    let sums = store.dir().join(CHECKSUMS);
    fs::write(&sums, "{\"format\": 1, \"blake3\": {").unwrap();
    let (path, message) = damaged_file(store.load().unwrap_err());
    assert_eq!(path, sums);
    assert!(message.contains("--force"), "{message}");
    assert!(store.set_aside_damaged(false).is_err());
    store.set_aside_damaged(true).unwrap();
    assert_eq!(store.load().unwrap().len(), 1, "the part is intact");
}

/// Stores written before checksums existed still load; a file of theirs that does not parse
/// is damaged too, and `run --force` sets it aside.
#[test]
fn a_store_without_checksums_loads_and_its_unreadable_files_are_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_a_part(dir.path());
    store.consolidate().unwrap();
    fs::remove_file(store.dir().join(CHECKSUMS)).unwrap();
    assert_eq!(store.load().unwrap().len(), 3);
    fs::write(store.dir().join(TRIALS), b"PAR1 not parquet PAR1").unwrap();
    let (_, message) = damaged_file(store.load().unwrap_err());
    assert!(message.contains("cannot be read"), "{message}");
    assert!(store.set_aside_damaged(false).is_err());
    store.set_aside_damaged(true).unwrap();
    assert!(store.load().unwrap().is_empty());
}

/// A kill between two of consolidation's renames leaves old and new main files side by
/// side: both versions are recorded first, so the store still verifies.
#[test]
fn a_consolidation_cut_between_renames_leaves_a_store_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_a_part(dir.path());
    let old_trials = fs::read(store.dir().join(TRIALS)).unwrap();
    let before = store.read_unlocked(Curves::Parse, false).unwrap();
    store.consolidate().unwrap();
    // As write_all leaves it when killed after its first renames: the checksums of both
    // versions, the new curves, the old trials.
    let after = store.read_unlocked(Curves::Parse, false).unwrap();
    let mut both = Checksums::new();
    for name in [CURVES, TRIALS, TRIALS_CSV] {
        both.allow(
            name,
            vec![before.main[name].clone(), after.main[name].clone()],
        );
    }
    both.write(&store.dir().join(CHECKSUMS)).unwrap();
    fs::write(store.dir().join(TRIALS), old_trials).unwrap();
    assert_eq!(store.load().unwrap().len(), 2);
}

/// Records of shard `index` of `count` (ids in its slice, as the runner splits them).
fn slice(index: u32, count: u32, per_shard: u64) -> Vec<TrialRecord> {
    (0..per_shard)
        .map(|k| {
            let n = k * u64::from(count) + u64::from(index - 1);
            record(&format!("{n:016x}"), n, Status::Ok, n as f64)
        })
        .collect()
}

fn info(index: u32, count: u32, per_shard: u64, complete: bool) -> ShardInfo {
    ShardInfo {
        spec: "s".into(),
        spec_hash: "h".into(),
        index,
        count,
        seeds: 1,
        slice_trials: per_shard as usize,
        sweep_trials: (per_shard * u64::from(count)) as usize,
        complete,
    }
}

/// A shard store as a run leaves it: its trials, its spec, its provenance, `shard.json`.
fn shard(root: &Path, index: u32, count: u32, per_shard: u64, complete: bool) -> Store {
    let store = Store::new(root, "s", Some((index, count)));
    let lock = store.lock_for_writing().unwrap();
    store.append(&slice(index, count, per_shard)).unwrap();
    store.consolidate().unwrap();
    fs::write(store.dir().join("spec.yaml"), "name: s\n").unwrap();
    write_json(
        &store.dir().join("provenance.json"),
        &serde_json::json!({"spec": "s", "runs": [{"hostname": format!("node{index}")}]}),
    )
    .unwrap();
    store
        .write_shard_info(&info(index, count, per_shard, complete))
        .unwrap();
    drop(lock);
    store
}

fn build() -> super::provenance::BuildInfo {
    super::provenance::BuildInfo::default()
}

fn states(report: &ClusterReport) -> Vec<ShardState> {
    report.shards.iter().map(|s| s.state).collect()
}

#[test]
fn shards_merge_into_a_complete_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    shard(dir.path(), 2, 2, 3, true);
    shard(dir.path(), 1, 2, 3, true);
    let report = merge(&root, &build()).unwrap();
    assert!(report.is_whole(), "{report:?}");
    assert_eq!(report.folded, [1, 2]);
    let mut all = slice(1, 2, 3);
    all.extend(slice(2, 2, 3));
    all.sort_by_key(|r| r.order);
    assert_eq!(Store::at(&root).load().unwrap(), all);
    assert!(!root.join("shards").exists());
    assert_eq!(
        fs::read_to_string(root.join("spec.yaml")).unwrap(),
        "name: s\n"
    );
    let text = fs::read_to_string(root.join("provenance.json")).unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    let runs = file["runs"].as_array().unwrap();
    let hosts: Vec<_> = runs.iter().filter_map(|r| r.get("hostname")).collect();
    assert_eq!(
        runs.len(),
        3,
        "one entry per shard run plus the merge: {runs:?}"
    );
    assert!(hosts.contains(&&serde_json::json!("node1")));
    assert_eq!(runs[2]["merge"]["shards"], 2);
    // A second merge has nothing to fold and still knows the store is whole.
    let again = merge(&root, &build()).unwrap();
    assert!(again.is_whole() && again.folded.is_empty(), "{again:?}");
    assert_eq!(cluster_status(&root).unwrap().merged_trials, 6);
}

#[test]
fn a_running_or_unfinished_shard_is_neither_folded_nor_touched() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    shard(dir.path(), 1, 4, 2, true);
    let running = shard(dir.path(), 2, 4, 2, true);
    let writer = running.lock_for_writing().unwrap();
    shard(dir.path(), 3, 4, 2, false);
    let report = merge(&root, &build()).unwrap();
    use ShardState::*;
    assert_eq!(states(&report), [Merged, Running, Incomplete, Missing]);
    assert!(!report.is_whole());
    assert_eq!(report.merged_trials, 2);
    assert_eq!(Store::at(running.dir()).load().unwrap().len(), 2);
    assert_eq!(
        Store::new(dir.path(), "s", Some((3, 4)))
            .load()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        states(&cluster_status(&root).unwrap()),
        [Merged, Running, Incomplete, Missing]
    );
    drop(writer);
    shard(dir.path(), 3, 4, 2, true);
    shard(dir.path(), 4, 4, 2, true);
    assert_eq!(
        states(&cluster_status(&root).unwrap()),
        [Merged, Done, Done, Done]
    );
    let report = merge(&root, &build()).unwrap();
    assert!(report.is_whole(), "{report:?}");
    assert_eq!(Store::at(&root).load().unwrap().len(), 8);
}

#[test]
fn shards_that_cannot_be_one_sweep_are_refused_and_nothing_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    shard(dir.path(), 1, 2, 2, true);
    shard(dir.path(), 1, 3, 2, true);
    let e = merge(&root, &build()).unwrap_err().to_string();
    assert!(
        e.contains("different shard counts") && e.contains("shards"),
        "{e}"
    );
    assert!(root.join("shards/001-of-002").exists() && root.join("shards/001-of-003").exists());
    fs::remove_dir_all(root.join("shards/001-of-003")).unwrap();
    let other = shard(dir.path(), 2, 2, 2, true);
    let mut changed = info(2, 2, 2, true);
    changed.spec_hash = "changed".into();
    other.write_shard_info(&changed).unwrap();
    let e = merge(&root, &build()).unwrap_err();
    assert!(
        e.is_user_error() && e.to_string().contains("different specs"),
        "{e}"
    );
    assert!(root.join("shards/001-of-002/trials.parquet").exists());
    fs::create_dir_all(root.join("shards/stray")).unwrap();
    let e = merge(&root, &build()).unwrap_err().to_string();
    assert!(
        e.contains("stray") && e.contains("not a shard folder"),
        "{e}"
    );
}

#[test]
fn a_folder_that_is_not_a_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = merge(dir.path(), &build()).unwrap_err();
    assert!(
        e.is_user_error() && e.to_string().contains("not a result store"),
        "{e}"
    );
    let e = merge(&dir.path().join("nowhere"), &build()).unwrap_err();
    assert!(e.to_string().contains("no such results folder"), "{e}");
    assert!(
        fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

#[test]
fn concurrent_merges_take_turns_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    for index in 1..=6 {
        shard(dir.path(), index, 6, 5, true);
    }
    std::thread::scope(|scope| {
        let merges: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| merge(&root, &build()).unwrap()))
            .collect();
        let folded: Vec<u32> = merges
            .into_iter()
            .flat_map(|m| m.join().unwrap().folded)
            .collect();
        let mut sorted = folded.clone();
        sorted.sort();
        assert_eq!(sorted, [1, 2, 3, 4, 5, 6], "each shard folded exactly once");
    });
    assert_eq!(Store::at(&root).load().unwrap().len(), 30);
    assert!(merge(&root, &build()).unwrap().is_whole());
}
