//! A cluster run as it stands: the shards under `shards/`, what each one's writer is doing, and
//! the sweep they belong to. [`cluster_status`] looks and changes nothing; `merge` (see
//! `store/merge.rs`) looks the same way and then folds.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use super::folder::Store;
use super::provenance::{self, MergeInfo};
use super::record::TrialRecord;
use super::schema::{
    MERGE_LOCK, PARTS_DIR as PARTS, PROVENANCE_FILE, SHARDS_DIR as SHARDS, SLURM_DIR, SPEC_FILE,
    TRIALS_FILE as TRIALS, WRITER_LOCK,
};
use super::shard::{parse_shard_name, shard_name, slice_of, ShardInfo};
use crate::error::HarnessError;

type Result<T> = std::result::Result<T, HarnessError>;

/// Where one shard of a cluster run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardState {
    /// Folded into the spec's store (its folder is gone).
    Merged,
    /// Its writer finished the whole slice; the next merge folds it.
    Done,
    /// Its writer holds the shard's lock.
    Running,
    /// Not running and not finished: killed, cancelled, out of disk, or stopped by --fail-fast.
    Incomplete,
    /// No folder and no earlier merge: never started.
    Missing,
    /// Its folder holds a damaged file (see [`ShardReport::problem`]): not folded; the other
    /// shards are.
    Damaged,
}

impl ShardState {
    pub fn as_str(self) -> &'static str {
        match self {
            ShardState::Merged => "merged",
            ShardState::Done => "done",
            ShardState::Running => "running",
            ShardState::Incomplete => "incomplete",
            ShardState::Missing => "missing",
            ShardState::Damaged => "damaged",
        }
    }
}

/// One shard in a [`ClusterReport`].
#[derive(Debug, Clone, PartialEq)]
pub struct ShardReport {
    pub index: u32,
    /// The last shard this entry stands for: shards `index..=last` that are all missing are one
    /// entry, so that a sweep of many shards never lists each one that has not started.
    pub last: u32,
    pub state: ShardState,
    /// Trials of this slice that are stored: in the shard's folder, or in the spec's store once
    /// merged.
    pub stored: usize,
    /// Trials in the slice, when known (from `shard.json` or an earlier merge).
    pub expected: Option<usize>,
    /// What is wrong with a damaged shard: the file and the way out.
    pub problem: Option<String>,
}

impl ShardReport {
    /// `III-of-NNN`, or `III-of-NNN to JJJ-of-NNN` for a range of missing shards.
    pub fn name(&self, count: u32) -> String {
        if self.last == self.index {
            shard_name(self.index, count)
        } else {
            format!(
                "{} to {}",
                shard_name(self.index, count),
                shard_name(self.last, count)
            )
        }
    }
}

/// The state of a cluster run: what [`merge`] did and what [`cluster_status`] sees.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterReport {
    pub dir: PathBuf,
    /// Shards in the sweep; 0 when the store has never had shards (a one-process run).
    pub count: u32,
    /// Trials in the whole sweep, when known.
    pub sweep_trials: Option<usize>,
    /// The shards 1 to `count`, in order (a range of missing shards is one entry).
    pub shards: Vec<ShardReport>,
    /// Trials in the spec's own store.
    pub merged_trials: usize,
    /// The shards this call folded.
    pub folded: Vec<u32>,
    /// What the user must be told (e.g. a provenance file kept aside).
    pub warnings: Vec<String>,
    /// `subbench slurm --submit` wrote into the folder (its `slurm/` logs) but no shard has
    /// started yet.
    pub submitted: bool,
}

impl ClusterReport {
    /// Every shard of the sweep is merged: the spec's store is the whole sweep.
    pub fn is_whole(&self) -> bool {
        self.count > 0 && self.shards.iter().all(|s| s.state == ShardState::Merged)
    }

    /// `III-of-NNN` of the shards in `state`.
    pub fn names(&self, state: ShardState) -> Vec<String> {
        self.shards
            .iter()
            .filter(|s| s.state == state)
            .map(|s| s.name(self.count))
            .collect()
    }
}

/// Whether a shard's writer is running; when not, the shard's lock, held by the caller.
pub(crate) enum Writer {
    Running,
    Free(Option<File>),
}

pub(crate) fn probe_writer(shard: &Path, create: bool) -> Result<Writer> {
    let path = shard.join(WRITER_LOCK);
    let file = if create {
        File::create(&path)
    } else {
        match File::open(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Writer::Free(None)),
            other => other,
        }
    }
    .map_err(|e| HarnessError::store(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(Writer::Free(Some(file))),
        Err(std::fs::TryLockError::WouldBlock) => Ok(Writer::Running),
        Err(std::fs::TryLockError::Error(e)) => Err(HarnessError::store(&path, e)),
    }
}

/// The identity of a sweep: shards of different identities never make one whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sweep {
    pub(crate) count: u32,
    pub(crate) spec_hash: String,
    pub(crate) seeds: u32,
    pub(crate) sweep_trials: usize,
}

impl Sweep {
    fn of(info: &ShardInfo) -> Sweep {
        Sweep {
            count: info.count,
            spec_hash: info.spec_hash.clone(),
            seeds: info.seeds,
            sweep_trials: info.sweep_trials,
        }
    }

    /// The provenance entry of a merge of this sweep that folded `folded` (index → trials).
    pub(crate) fn merge_info(&self, folded: BTreeMap<u32, usize>) -> MergeInfo {
        MergeInfo {
            shards: self.count,
            spec_hash: self.spec_hash.clone(),
            seeds: self.seeds,
            sweep_trials: self.sweep_trials,
            folded: folded
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }
}

/// An earlier merge, as recorded in `provenance.json`.
pub(crate) struct PastMerge {
    pub(crate) sweep: Sweep,
    folded: BTreeMap<u32, usize>,
}

/// A merge entry whose shard count is 0 or above its sweep's trials (a damaged or hand-edited
/// provenance) describes no sweep: it is ignored, never divided by or counted through.
fn past_merges(dir: &Path) -> Vec<PastMerge> {
    provenance::read(dir)
        .merges()
        .filter(|m| m.shards >= 1 && m.shards as usize <= m.sweep_trials)
        .map(|m| PastMerge {
            sweep: Sweep {
                count: m.shards,
                spec_hash: m.spec_hash.clone(),
                seeds: m.seeds,
                sweep_trials: m.sweep_trials,
            },
            folded: m
                .folded
                .iter()
                .filter_map(|(k, v)| Some((k.parse().ok()?, *v)))
                .filter(|(k, _)| (1..=m.shards).contains(k))
                .collect(),
        })
        .collect()
}

/// A shard folder present under `shards/`.
pub(crate) struct PresentShard {
    pub(crate) index: u32,
    pub(crate) count: u32,
    pub(crate) dir: PathBuf,
    pub(crate) info: Option<ShardInfo>,
}

impl PresentShard {
    /// `III-of-NNN`.
    pub(crate) fn name(&self) -> String {
        shard_name(self.index, self.count)
    }
}

/// Whether `dir` is a spec's store (or the folder of one that is to be).
fn is_store(dir: &Path) -> bool {
    [TRIALS, PARTS, SHARDS, SPEC_FILE, PROVENANCE_FILE, SLURM_DIR]
        .iter()
        .any(|f| dir.join(f).exists())
}

/// Refuse what is not a spec's store, and shards that cannot belong to one sweep; nothing is
/// touched before these checks pass.
pub(crate) fn present_shards(dir: &Path) -> Result<Vec<PresentShard>> {
    let usage = |what: String| HarnessError::Usage(format!("{}: {what}", dir.display()));
    if !dir.is_dir() {
        return Err(usage(
            "no such results folder (when it is a cluster run just submitted: no shard has started yet)".into(),
        ));
    }
    if !is_store(dir) {
        return Err(usage(
            "not a result store (it has no trials.parquet, spec.yaml or shards/); give one spec's folder, e.g. results/NAME".into(),
        ));
    }
    let shards_dir = dir.join(SHARDS);
    if !shards_dir.exists() {
        return Ok(Vec::new());
    }
    let mut shards = Vec::new();
    let entries = fs::read_dir(&shards_dir).map_err(|e| HarnessError::store(&shards_dir, e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        // A folded shard a merge renamed aside and was interrupted before deleting: its
        // trials are in the merged store already.
        if !path.is_dir() || name.starts_with(".removing-") {
            continue;
        }
        let Some((index, count)) = parse_shard_name(&name) else {
            return Err(HarnessError::Usage(format!(
                "{}: not a shard folder (shard folders are named III-of-NNN, as `subbench run --shard I/N` writes them); move it out of shards/",
                path.display()
            )));
        };
        let info = ShardInfo::read(&path);
        if let Some(info) = &info {
            if (info.index, info.count) != (index, count) {
                return Err(HarnessError::Usage(format!(
                    "{}: its shard.json is for shard {} of {}, not {index} of {count}; it was moved or renamed",
                    path.display(),
                    info.index,
                    info.count
                )));
            }
            if info.count as usize > info.sweep_trials {
                return Err(HarnessError::Usage(format!(
                    "{}: its shard.json splits a sweep of {} trials into {} shards; a shard count above the number of trials is refused (`subbench run` refuses to write one)",
                    path.display(),
                    info.sweep_trials,
                    info.count
                )));
            }
        }
        shards.push(PresentShard {
            index,
            count,
            dir: path,
            info,
        });
    }
    shards.sort_by_key(|s| (s.count, s.index));
    let counts: BTreeSet<u32> = shards.iter().map(|s| s.count).collect();
    if counts.len() > 1 {
        let examples: Vec<String> = counts
            .iter()
            .filter_map(|c| shards.iter().find(|s| s.count == *c))
            .map(|s| shard_name(s.index, s.count))
            .collect();
        return Err(HarnessError::Usage(format!(
            "{}: holds shards of different shard counts ({}); they cannot be one sweep: move one set out of shards/",
            shards_dir.display(),
            examples.join(", ")
        )));
    }
    let with_info: Vec<(&PresentShard, &ShardInfo)> = shards
        .iter()
        .filter_map(|s| s.info.as_ref().map(|i| (s, i)))
        .collect();
    if let Some((first, first_info)) = with_info.first() {
        for (other, info) in &with_info[1..] {
            let what = if info.spec_hash != first_info.spec_hash {
                "different specs (the spec file changed between them)"
            } else if info.seeds != first_info.seeds || info.sweep_trials != first_info.sweep_trials
            {
                "different --seeds"
            } else {
                continue;
            };
            return Err(HarnessError::Usage(format!(
                "{}: shards {} and {} ran {what}; rerun the shards of the old spec, or move them out of shards/",
                shards_dir.display(),
                shard_name(first.index, first.count),
                shard_name(other.index, other.count)
            )));
        }
    }
    Ok(shards)
}

/// A merge of a store that has no shard with a sweep, and no merge before.
pub(crate) fn nothing_to_merge(dir: &Path) -> HarnessError {
    HarnessError::Usage(format!(
        "{}: nothing to merge: no shard under shards/ has started, and no shards were merged before (run the spec with --shard I/N first)",
        dir.display()
    ))
}

/// What a look at a cluster run found, under the spec's merge lock (held until it is dropped).
pub(crate) struct Look {
    _merge_lock: Option<File>,
    pub(crate) sweep: Sweep,
    past: Vec<PastMerge>,
    /// Shard index → where it stands.
    pub(crate) states: BTreeMap<u32, Seen>,
    /// The finished shards, each with its writer lock and its trials, when the look is for a
    /// merge.
    pub(crate) to_fold: Vec<(PresentShard, File, Vec<TrialRecord>)>,
}

/// One present shard as a look saw it.
pub(crate) struct Seen {
    pub(crate) state: ShardState,
    /// Trials stored in its folder.
    stored: usize,
    /// Trials in its slice, when known.
    expected: Option<usize>,
    problem: Option<String>,
}

/// Look at the cluster run in `dir`, for a merge (`folding`: the merge lock and each finished
/// shard's writer lock are taken, and must be) or for a status. `None`: the store never had
/// shards (a one-process run), which only a status accepts.
pub(crate) fn look(dir: &Path, folding: bool) -> Result<Option<Look>> {
    present_shards(dir)?;
    // Serialize merges (and keep a merge from removing a shard while `status` reads it). A
    // read-only store can still be looked at, without the lock.
    let lock_path = dir.join(MERGE_LOCK);
    let merge_lock = match File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
    {
        Ok(lock) => {
            lock.lock()
                .map_err(|e| HarnessError::store(&lock_path, e))?;
            Some(lock)
        }
        Err(e) if folding => return Err(HarnessError::store(&lock_path, e)),
        Err(_) => None,
    };
    // Again under the lock: an earlier merge may have removed shards meanwhile.
    let shards = present_shards(dir)?;
    let past = past_merges(dir);
    let sweep = shards
        .iter()
        .filter_map(|s| s.info.as_ref())
        .max_by_key(|i| i.complete)
        .map(Sweep::of)
        .or_else(|| past.last().map(|m| m.sweep.clone()));
    let Some(sweep) = sweep else {
        if folding || !shards.is_empty() {
            return Err(nothing_to_merge(dir));
        }
        return Ok(None);
    };
    let mut states = BTreeMap::new();
    let mut to_fold = Vec::new();
    for shard in shards {
        let expected = shard.info.as_ref().map(|i| i.slice_trials);
        let (state, lock) = match probe_writer(&shard.dir, folding)? {
            Writer::Running => (ShardState::Running, None),
            // The writer may have finished between listing and locking: read again.
            Writer::Free(lock) => match ShardInfo::read(&shard.dir) {
                Some(info) if info.complete && Sweep::of(&info) == sweep => {
                    (ShardState::Done, lock)
                }
                _ => (ShardState::Incomplete, None),
            },
        };
        // A damaged shard is named and left alone; the healthy ones are still folded.
        let (state, records, problem) = match Store::at(&shard.dir).load() {
            Ok(records) => (state, records, None),
            Err(HarnessError::Damaged { path, message }) => (
                ShardState::Damaged,
                Vec::new(),
                Some(format!("{}: {message}", path.display())),
            ),
            Err(other) => return Err(other),
        };
        let seen = Seen {
            state,
            stored: records.len(),
            expected,
            problem,
        };
        states.insert(shard.index, seen);
        if let (Some(lock), true) = (lock, folding && state == ShardState::Done) {
            to_fold.push((shard, lock, records));
        }
    }
    Ok(Some(Look {
        _merge_lock: merge_lock,
        sweep,
        past,
        states,
        to_fold,
    }))
}

/// The report of a look (after a merge folded `folded`, if it did), with the trials of the
/// spec's store `merged`.
pub(crate) fn report(
    dir: &Path,
    look: Look,
    merged: &[TrialRecord],
    folded: Vec<u32>,
    warnings: Vec<String>,
) -> ClusterReport {
    let sweep = &look.sweep;
    let mut merged_per_slice: HashMap<u32, usize> = HashMap::new();
    for record in merged {
        if let Some(slice) = slice_of(&record.trial_id, sweep.count) {
            *merged_per_slice.entry(slice + 1).or_default() += 1;
        }
    }
    let mut earlier: BTreeMap<u32, usize> = BTreeMap::new();
    for m in look.past.iter().filter(|m| m.sweep == *sweep) {
        earlier.extend(m.folded.iter().map(|(k, v)| (*k, *v)));
    }
    let reports = shard_reports(sweep.count, &look.states, &earlier, &merged_per_slice);
    ClusterReport {
        dir: dir.to_path_buf(),
        count: sweep.count,
        sweep_trials: Some(sweep.sweep_trials),
        shards: reports,
        merged_trials: merged.len(),
        folded,
        warnings,
        submitted: false,
    }
}

/// One entry per shard of `count`, in order; the shards that are neither present, nor merged
/// now or before, are missing, one entry per run of them (never one per shard: `count` may be
/// large).
fn shard_reports(
    count: u32,
    states: &BTreeMap<u32, Seen>,
    earlier: &BTreeMap<u32, usize>,
    merged_per_slice: &HashMap<u32, usize>,
) -> Vec<ShardReport> {
    let known: BTreeSet<u32> = states.keys().chain(earlier.keys()).copied().collect();
    let mut reports = Vec::new();
    let mut next = 1;
    for index in known {
        if index > next {
            reports.push(missing(next, index - 1));
        }
        next = index + 1;
        let in_main = merged_per_slice.get(&index).copied().unwrap_or(0);
        let report = |state, stored, expected, problem| ShardReport {
            index,
            last: index,
            state,
            stored,
            expected,
            problem,
        };
        reports.push(match states.get(&index) {
            Some(seen) if seen.state == ShardState::Merged => {
                report(ShardState::Merged, in_main, seen.expected, None)
            }
            Some(seen) => report(
                seen.state,
                seen.stored,
                seen.expected.or_else(|| earlier.get(&index).copied()),
                seen.problem.clone(),
            ),
            None => report(
                ShardState::Merged,
                in_main,
                earlier.get(&index).copied(),
                None,
            ),
        });
    }
    if next <= count {
        reports.push(missing(next, count));
    }
    reports
}

fn missing(first: u32, last: u32) -> ShardReport {
    ShardReport {
        index: first,
        last,
        state: ShardState::Missing,
        stored: 0,
        expected: None,
        problem: None,
    }
}

/// The state of a cluster run without changing anything.
pub fn cluster_status(dir: &Path) -> Result<ClusterReport> {
    let Some(look) = look(dir, false)? else {
        return Ok(ClusterReport {
            dir: dir.to_path_buf(),
            count: 0,
            sweep_trials: None,
            shards: Vec::new(),
            merged_trials: Store::at(dir).load()?.len(),
            folded: Vec::new(),
            warnings: Vec::new(),
            submitted: dir.join(SLURM_DIR).is_dir() && !Store::at(dir).has_trials(),
        });
    };
    let merged = Store::at(dir).load()?;
    Ok(report(dir, look, &merged, Vec::new(), Vec::new()))
}
