//! `merge`: fold every finished shard of a cluster run into the spec's store, with its
//! provenance and its spec, then remove the shard's folder. Planned by the same look as
//! `status` ([`super::cluster::look`]), which takes the locks; this module only folds.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;
use std::time::SystemTime;

use super::cluster::{look, nothing_to_merge, report, ClusterReport, Look, ShardState};
use super::folder::Store;
use super::provenance::{self, BuildInfo, Entry, Provenance};
use super::record::{replaces, TrialRecord};
use super::schema::SHARDS_DIR as SHARDS;
use super::shard::shard_name;
use super::spec_copy::{record_spec, SpecCopy};
use crate::error::HarnessError;

type Result<T> = std::result::Result<T, HarnessError>;

/// Fold every finished shard under `dir/shards/` into the store at `dir`, with its provenance and
/// the spec, and remove its folder. A shard whose writer is running, or that has not finished its
/// slice, is neither folded nor touched. Two merges of one store take turns.
pub fn merge(dir: &Path, build: &BuildInfo) -> Result<ClusterReport> {
    let started = SystemTime::now();
    let Some(mut look) = look(dir, true)? else {
        return Err(nothing_to_merge(dir));
    };
    let mut warnings = Vec::new();
    let folded = if look.to_fold.is_empty() {
        Vec::new()
    } else {
        fold(dir, &mut look, build, started, &mut warnings)?
    };
    let merged = Store::at(dir).load()?;
    Ok(report(dir, look, &merged, folded, warnings))
}

/// Fold the finished shards of `look` into `dir`; returns their indexes.
///
/// Which row of a trial wins is decided by when each row was last known current, never by the
/// order the stores are read in: a row's time is the end of the latest run (of its store's
/// history) that used the row's code for its method, so a shard computed by older code does not
/// replace what a later run of the current code stored, and a shard of newer code does. The
/// spec copy is taken from the shards only when they ran after the store's last run.
fn fold(
    dir: &Path,
    look: &mut Look,
    build: &BuildInfo,
    started: SystemTime,
    warnings: &mut Vec<String>,
) -> Result<Vec<u32>> {
    let main = Store::at(dir);
    let history = provenance::read(dir);
    let mut candidates: Vec<(Option<String>, usize, &TrialRecord)> = Vec::new();
    let main_records = main.load()?;
    for record in &main_records {
        let time = history.current_until(&record.method, &record.method_code);
        candidates.push((time.map(str::to_string), 0, record));
    }
    let mut shard_histories = Vec::new();
    for (rank, (shard, _, records)) in look.to_fold.iter().enumerate() {
        let shard_history = provenance::read(&shard.dir);
        for record in records {
            let time = shard_history.current_until(&record.method, &record.method_code);
            candidates.push((time.map(str::to_string), rank + 1, record));
        }
        warnings.extend(differences(&history, &shard_history, &shard.name()));
        shard_histories.push(shard_history);
    }
    // Oldest first; on a tie the shards after the store, as they were read before.
    candidates.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut best: HashMap<&str, (usize, &TrialRecord)> = HashMap::new();
    for &(_, rank, record) in &candidates {
        let id = record.trial_id.as_str();
        if best.get(id).is_none_or(|(_, old)| replaces(old, record)) {
            best.insert(id, (rank, record));
        }
    }
    // Only the shards' winners are appended: consolidation, which reads the store's rows first,
    // keeps each of them by the same rule.
    let from_shards: Vec<TrialRecord> = best
        .into_values()
        .filter(|(rank, _)| *rank > 0)
        .map(|(_, record)| record.clone())
        .collect();
    main.append(&from_shards)?;
    main.consolidate()?;
    // The spec, and where its `external:` and file paths are relative to, travel with the store;
    // an older spec copy never replaces a newer one.
    let store_last = history.last_run().and_then(|r| r.ended.clone());
    let shards_last = shard_histories
        .iter()
        .filter_map(|h| h.last_run().and_then(|r| r.ended.clone()))
        .max();
    if store_last.is_none() || shards_last >= store_last {
        if let Some(copy) = SpecCopy::read(&look.to_fold[0].0.dir)? {
            record_spec(dir, &copy)?;
        }
    }
    let mut shard_runs = Vec::new();
    for ((shard, _, _), shard_history) in look.to_fold.iter().zip(shard_histories) {
        for entry in shard_history.runs {
            shard_runs.push(match entry {
                Entry::Run(mut run) => {
                    run.shard = Some(shard_name(shard.index, shard.count));
                    Entry::Run(run)
                }
                other => other,
            });
        }
    }
    let folded_slices: BTreeMap<u32, usize> = look
        .to_fold
        .iter()
        .map(|(s, _, _)| (s.index, s.info.as_ref().map_or(0, |i| i.slice_trials)))
        .collect();
    let spec_name = look.to_fold[0]
        .0
        .info
        .as_ref()
        .map(|i| i.spec.clone())
        .unwrap_or_default();
    let entry = look.sweep.merge_info(folded_slices);
    if let Some(w) = provenance::record_merge(dir, &spec_name, shard_runs, entry, build, started)? {
        warnings.push(w);
    }
    // Only now that the spec's store holds them: the shards' folders go. Each is first renamed
    // aside while its lock is held, atomically: a writer that starts now finds no folder (and
    // makes a fresh one, resuming from the merged store), never one being deleted under it,
    // whose lock file may already be gone.
    let mut folded = Vec::new();
    for (shard, lock, _) in std::mem::take(&mut look.to_fold) {
        let aside = shard.dir.with_file_name(format!(
            ".removing-{}-{}",
            shard_name(shard.index, shard.count),
            std::process::id()
        ));
        fs::rename(&shard.dir, &aside).map_err(|e| HarnessError::store(&shard.dir, e))?;
        drop(lock);
        fs::remove_dir_all(&aside).map_err(|e| HarnessError::store(&aside, e))?;
        folded.push(shard.index);
        if let Some(s) = look.states.get_mut(&shard.index) {
            s.state = ShardState::Merged;
        }
    }
    let _ = fs::remove_dir(dir.join(SHARDS)); // only when empty
    Ok(folded)
}

/// What the user must hear when a shard ran other code or another spec than the store's last
/// run: which side's rows and spec are kept follows from when each ran (see [`fold`]).
fn differences(store: &Provenance, shard: &Provenance, name: &str) -> Vec<String> {
    let (Some(ours), Some(theirs)) = (store.last_run(), shard.last_run()) else {
        return Vec::new();
    };
    let newer = if theirs.ended > ours.ended {
        "the shard's, which ran later, are kept"
    } else {
        "the store's, which ran later, are kept"
    };
    let mut said = Vec::new();
    for (method, code) in &theirs.method_codes {
        if let Some(current) = ours.method_codes.get(method).filter(|c| *c != code) {
            said.push(format!(
                "shard {name} computed method `{method}` with other code ({}) than the store's last run ({}); of a trial stored by both, the rows of the code that ran later are kept",
                short(code),
                short(current)
            ));
        }
    }
    if ours.spec_hash.is_some() && theirs.spec_hash.is_some() && ours.spec_hash != theirs.spec_hash
    {
        said.push(format!(
            "shard {name} ran another spec text ({}) than the store's last run ({}); of the two spec copies {newer}",
            short(theirs.spec_hash.as_deref().unwrap_or_default()),
            short(ours.spec_hash.as_deref().unwrap_or_default())
        ));
    }
    said
}

/// The first 12 characters of a hash, for messages.
fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}
