//! `merge`: fold every finished shard of a cluster run into the spec's store, with its
//! provenance and its spec, then remove the shard's folder. Planned by the same look as
//! `status` ([`super::cluster::look`]), which takes the locks; this module only folds.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::SystemTime;

use super::cluster::{look, nothing_to_merge, report, ClusterReport, Look, ShardState};
use super::folder::Store;
use super::provenance::{self, BuildInfo, Entry};
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
fn fold(
    dir: &Path,
    look: &mut Look,
    build: &BuildInfo,
    started: SystemTime,
    warnings: &mut Vec<String>,
) -> Result<Vec<u32>> {
    let main = Store::at(dir);
    let mut batch = Vec::new();
    for (shard, _) in &look.to_fold {
        batch.extend(Store::at(&shard.dir).load()?);
    }
    main.append(&batch)?;
    main.consolidate()?;
    // The spec, and where its `external:` and file paths are relative to, travel with the store.
    if let Some(copy) = SpecCopy::read(&look.to_fold[0].0.dir)? {
        record_spec(dir, &copy)?;
    }
    let mut shard_runs = Vec::new();
    for (shard, _) in &look.to_fold {
        for entry in provenance::read(&shard.dir).runs {
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
        .map(|(s, _)| (s.index, s.info.as_ref().map_or(0, |i| i.slice_trials)))
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
    for (shard, lock) in std::mem::take(&mut look.to_fold) {
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
            s.0 = ShardState::Merged;
        }
    }
    let _ = fs::remove_dir(dir.join(SHARDS)); // only when empty
    Ok(folded)
}
