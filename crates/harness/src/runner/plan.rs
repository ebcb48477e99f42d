//! The plan of a run: which trials of the sweep (of a shard's slice) it is to run, which are
//! stored and current, which are stale and why, and whether it has anything to do at all (a
//! cached run only reads the store). Nothing here runs a trial.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::error::HarnessError;
use crate::method::Registry;
use crate::spec::Spec;
use crate::spec_external::is_current;
use crate::store::schema::SPEC_FILE;
use crate::store::spec_copy::{record_spec, SpecCopy};
use crate::store::{ShardInfo, Status, Store};
use crate::trial::Trial;

/// One of `count` slices of a sweep (1-based index), for cluster array jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/N` with `1 ≤ I ≤ N`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("--shard takes I/N with 1 ≤ I ≤ N (e.g. 2/8); got `{s}`");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse::<u32>().map_err(|_| bad())?,
            n.trim().parse::<u32>().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Worker threads (default: all cores).
    pub jobs: Option<usize>,
    /// Re-run trials that are already stored.
    pub force: bool,
    /// Stop starting trials after the first failure.
    pub fail_fast: bool,
    pub shard: Option<Shard>,
    /// Override the spec's `seeds`.
    pub seeds: Option<u32>,
    /// Count only; run nothing, write nothing.
    pub dry_run: bool,
    /// Run only the trials this (resolved) filter matches (`--where`); empty: all.
    pub filter: crate::filter::Filter,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSummary {
    pub spec: String,
    /// Trials in the sweep (this shard's share).
    pub total: usize,
    /// Already stored with status ok, so skipped.
    pub stored: usize,
    pub ran: usize,
    pub failed: usize,
    /// Stored trials recomputed because their method's code identity changed.
    pub stale: usize,
    pub elapsed: Duration,
    /// What the user must be told about the store (e.g. a provenance file kept aside).
    pub warnings: Vec<String>,
    /// Why stored trials run again, grouped (see [`crate::why::Plan::rerun_lines`]).
    pub reasons: Vec<String>,
}

/// What a run is to do: the trials of its sweep (of its shard's slice), which of them are stored
/// and current, which are stored but stale, and the writer lock it holds (none for a dry run).
pub(crate) struct Plan {
    pub(crate) trials: Vec<(u64, Trial)>,
    pub(crate) sweep_trials: usize,
    pub(crate) stored_ok: HashSet<String>,
    /// Stale stored trial → whether it was stored before code identities existed.
    pub(crate) stale_ids: HashMap<String, bool>,
    pub(crate) summary: RunSummary,
    _writer: Option<std::fs::File>,
}

impl Plan {
    /// The shard's `shard.json`, when this run is a shard.
    pub(crate) fn shard_info(
        &self,
        spec: &Spec,
        options: &RunOptions,
        complete: bool,
    ) -> Option<ShardInfo> {
        options.shard.map(|s| ShardInfo {
            spec: spec.name.clone(),
            spec_hash: spec.hash.clone(),
            index: s.index,
            count: s.count,
            seeds: options.seeds.unwrap_or(spec.seeds),
            slice_trials: self.trials.len(),
            sweep_trials: self.sweep_trials,
            complete,
        })
    }
}

/// The trials of the sweep (with their order) and how many the whole sweep has; refuses a
/// shard count above the number of trials (shards beyond it could only be empty).
pub(crate) fn sweep(
    spec: &Spec,
    options: &RunOptions,
) -> Result<(Vec<(u64, Trial)>, usize), HarnessError> {
    let all_trials = spec.trials(options.seeds);
    let sweep_trials = all_trials.len();
    if let Some(s) = options.shard {
        if s.count as usize > sweep_trials {
            return Err(HarnessError::Usage(format!(
                "--shard {}/{}: spec `{}` has {sweep_trials} trials, so it splits into at most {sweep_trials} shards; choose N ≤ {sweep_trials}",
                s.index, s.count, spec.name
            )));
        }
    }
    let trials = all_trials
        .into_iter()
        .enumerate()
        .map(|(i, t)| (i as u64, t))
        .filter(|(_, t)| {
            options
                .shard
                .is_none_or(|s| t.shard(s.count) == s.index - 1)
        })
        .filter(|(_, t)| {
            options
                .filter
                .matches_values(&t.method, t.params.recorded())
        })
        .collect();
    Ok((trials, sweep_trials))
}

/// The summary of a run that has nothing to do, when it has none: every trial stored and
/// current, nothing left unconsolidated or damaged, the spec copy as this run would write it
/// and a shard already marked complete. Reads the store and writes nothing.
pub(crate) fn cached(
    spec: &Spec,
    registry: &Registry,
    store: &Store,
    (trials, sweep_trials): &(Vec<(u64, Trial)>, usize),
    options: &RunOptions,
) -> Result<Option<RunSummary>, HarnessError> {
    if options.force || options.dry_run || !store.dir().join(SPEC_FILE).exists() {
        return Ok(None);
    }
    if store.unconsolidated_parts() > 0 || store.curves_missing() {
        return Ok(None);
    }
    let (stored_ok, _, _) = match stored_trials(spec, registry, store, trials) {
        Ok(found) => found,
        // Damage is for the writing path to set aside, or to refuse.
        Err(HarnessError::Damaged { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    if trials.iter().any(|(_, t)| !stored_ok.contains(&t.id)) {
        return Ok(None);
    }
    if SpecCopy::read(store.dir())? != Some(spec_copy(spec)?) {
        return Ok(None);
    }
    if let Some(s) = options.shard {
        let complete = ShardInfo::read(store.dir()).is_some_and(|info| {
            info.complete
                && info.spec_hash == spec.hash
                && (info.index, info.count) == (s.index, s.count)
                && info.seeds == options.seeds.unwrap_or(spec.seeds)
                && info.sweep_trials == *sweep_trials
        });
        if !complete {
            return Ok(None);
        }
    }
    Ok(Some(RunSummary {
        spec: spec.name.clone(),
        total: trials.len(),
        stored: trials.len(),
        ..Default::default()
    }))
}

pub(crate) fn plan(
    spec: &Spec,
    registry: &Registry,
    store: &Store,
    options: &RunOptions,
    (trials, sweep_trials): (Vec<(u64, Trial)>, usize),
) -> Result<Plan, HarnessError> {
    // One writer per store: a second `subbench run` of the same spec into the same folder would
    // only duplicate work. The lock is released when this process ends, however it ends. It is
    // taken before the store is read, so that what is read stays true while this run writes (a
    // merge removes a shard's folder only while holding its lock).
    let writer = if options.dry_run {
        None
    } else {
        Some(store.lock_for_writing()?)
    };
    // The spec is stored before any trial runs, so that the store of a first run that is
    // interrupted is still found (and said to be interrupted) by `report` and `summary`.
    if !options.dry_run && !store.dir().join(SPEC_FILE).exists() {
        let first = SpecCopy {
            text: spec.text.clone(),
            workdir: None,
            origin: None,
        };
        record_spec(store.dir(), &first)?;
    }
    // Damaged files are set aside first (a part, the curves: recomputed; trials.parquet: only
    // with --force), so that what is read below is what was written.
    let set_aside = if options.dry_run {
        Vec::new()
    } else {
        store.set_aside_damaged(options.force)?
    };
    let (stored_ok, stale_ids, reasons) = if options.force {
        (HashSet::new(), HashMap::new(), Vec::new())
    } else {
        stored_trials(spec, registry, store, &trials)?
    };
    let to_run = trials
        .iter()
        .filter(|(_, t)| !stored_ok.contains(&t.id))
        .count();
    let summary = RunSummary {
        spec: spec.name.clone(),
        total: trials.len(),
        stored: trials.len() - to_run,
        stale: stale_ids.len(),
        warnings: set_aside,
        reasons,
        ..Default::default()
    };
    Ok(Plan {
        trials,
        sweep_trials,
        stored_ok,
        stale_ids,
        summary,
        _writer: writer,
    })
}

/// The ids of the stored trials that are reused, the stale ones (id → stored before code
/// identities existed), and why stored trials run again (see [`crate::why`]).
type StoredTrials = (HashSet<String>, HashMap<String, bool>, Vec<String>);

/// The stored trials of `trials` that are reused, and the stale ones. A stored trial is reused
/// when it succeeded with the method's current code; one computed by other code is stale and
/// runs again (same id and seed, so results stay comparable).
fn stored_trials(
    spec: &Spec,
    registry: &Registry,
    store: &Store,
    trials: &[(u64, Trial)],
) -> Result<StoredTrials, HarnessError> {
    let mut stale_ids: HashMap<String, bool> = HashMap::new();
    let wanted: HashSet<&str> = trials.iter().map(|(_, t)| t.id.as_str()).collect();
    let mut records = store.load_for_run()?;
    // A shard rerun after a merge (a requeued array task) resumes from the merged store.
    if let Some(root) = store.shard_root() {
        records.extend(Store::at(&root).load()?);
    }
    let planned: Vec<&Trial> = trials.iter().map(|(_, t)| t).collect();
    let reasons = crate::why::Plan::of(spec, &planned, &records).rerun_lines();
    // With `curves.parquet` gone, a stored trial of a method that records curves has lost
    // them: it is recomputed, never served without its curves (and never written back
    // with none).
    let curves_lost = store.curves_missing();
    let records_curves = |id: &str| {
        spec.method(registry, id)
            .is_some_and(|m| !m.curves().is_empty())
    };
    let mut ok = HashSet::new();
    for record in records {
        if record.status != Status::Ok || !wanted.contains(record.trial_id.as_str()) {
            continue;
        }
        if curves_lost && record.curves.is_empty() && records_curves(&record.method) {
            continue;
        }
        if is_current(&record, &spec.codes) {
            ok.insert(record.trial_id);
        } else {
            stale_ids.insert(record.trial_id, record.method_code.is_empty());
        }
    }
    stale_ids.retain(|id, _| !ok.contains(id));
    Ok((ok, stale_ids, reasons))
}

/// The spec copy of a run of `spec` from the current folder.
pub(crate) fn spec_copy(spec: &Spec) -> Result<SpecCopy, HarnessError> {
    // The copy's `external:` paths are relative to the original spec's folder.
    let origin = if spec.external.0.is_empty() {
        None
    } else {
        let folder = crate::spec_external::spec_folder(&spec.file)
            .map_err(|e| HarnessError::store(&spec.file, e))?;
        Some(folder.display().to_string())
    };
    Ok(SpecCopy {
        // The text that was loaded and hashed, not the file as it is now (an edit during a long
        // run would be stored, and a half-written one would break every later report).
        text: spec.text.clone(),
        // Its file parameters are relative to the folder this run ran in.
        workdir: std::env::current_dir()
            .ok()
            .map(|folder| folder.display().to_string()),
        origin,
    })
}
