//! Running a spec: the trials not yet stored run in parallel (rayon, one trial per task), each
//! with its own generator seeded from its id; finished trials stream to the store as they
//! complete. A trial that errors, panics, diverges or overruns is recorded and the sweep goes on.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Once;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rayon::prelude::*;

use crate::error::HarnessError;
use crate::method::{MethodError, Registry, TrialContext, TrialRng};
use crate::provenance::{record_run, BuildInfo, RunTimes};
use crate::spec::Spec;
use crate::spec_external::{is_current, ORIGIN_FILE};
use crate::store::{ShardInfo, Status, Store, TrialRecord};
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
}

/// Receives progress; implemented by the binary (a bar on a terminal, lines otherwise).
pub trait Progress: Sync {
    fn start(&self, spec: &Spec, to_run: usize, stored: usize);
    fn trial_done(&self, record: &TrialRecord);
    fn finish(&self, summary: &RunSummary);
    /// Stored trials of the spec whose method's code identity changed (`unversioned` of them
    /// were stored before code identities existed): they run again.
    fn stale(&self, _spec: &Spec, _stale: usize, _unversioned: usize) {}
}

/// Set when the user interrupts (Ctrl-C, SIGTERM): no trial starts any more, the trials in
/// flight end (external workers are killed by the binary), and whatever finished is stored.
static STOP: AtomicBool = AtomicBool::new(false);

/// Ask every running sweep to stop (called from the binary's signal handler).
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
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
}

thread_local! {
    static IN_TRIAL: Cell<bool> = const { Cell::new(false) };
}

/// Panics inside trials are recorded as the trial's error; printing them (with the backtrace
/// note) would bury the progress display. Other panics still reach the previous hook.
fn install_quiet_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !IN_TRIAL.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Run one trial to a record; never panics.
pub fn execute(trial: &Trial, order: u64, spec: &Spec, registry: &Registry) -> TrialRecord {
    let method = spec
        .method(registry, &trial.method)
        .expect("methods are validated before running");
    let mut rng = TrialRng::seed_from_u64(trial.seed);
    let started = Instant::now();
    let context = TrialContext {
        trial_id: &trial.id,
        seed: trial.seed,
        deadline: spec
            .timeout
            .map(|limit| started + Duration::from_secs_f64(limit)),
    };
    IN_TRIAL.with(|f| f.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        method.run_trial(&context, &trial.params, &mut rng)
    }));
    IN_TRIAL.with(|f| f.set(false));
    let elapsed_s = started.elapsed().as_secs_f64();

    let (status, error, outcome) = match result {
        Ok(Ok(outcome)) => match outcome.metrics.iter().find(|(_, v)| !v.is_finite()) {
            Some((name, value)) => (
                Status::Diverged,
                Some(format!("metric `{name}` is {value}")),
                outcome,
            ),
            None => (Status::Ok, None, outcome),
        },
        Ok(Err(MethodError::Diverged(m))) => (Status::Diverged, Some(m), Default::default()),
        Ok(Err(MethodError::Failed(m))) => (Status::Error, Some(m), Default::default()),
        Ok(Err(MethodError::Timeout(m))) => (Status::Timeout, Some(m), Default::default()),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-text panic payload".into());
            (
                Status::Error,
                Some(format!("panicked: {message}")),
                Default::default(),
            )
        }
    };
    // Threads cannot be killed safely, so the limit is enforced when the trial returns: an
    // overrun is recorded as `timeout` and never cached.
    let (status, error) = match spec.timeout {
        Some(limit) if status == Status::Ok && elapsed_s > limit => (
            Status::Timeout,
            Some(format!(
                "took {elapsed_s:.1} s, over the spec's timeout of {limit} s"
            )),
        ),
        _ => (status, error),
    };
    TrialRecord {
        trial_id: trial.id.clone(),
        order,
        spec: spec.name.clone(),
        method: trial.method.clone(),
        method_code: spec.codes.get(&trial.method).cloned().unwrap_or_default(),
        rep: trial.rep,
        seed: trial.seed,
        status,
        error,
        elapsed_s,
        params: trial.params.0.clone(),
        metrics: outcome.metrics,
        curves: outcome.curves,
    }
}

/// Run every trial of `spec` that is not stored yet under `out`, then consolidate the store.
pub fn run_spec(
    spec: &Spec,
    registry: &Registry,
    out: &Path,
    options: &RunOptions,
    progress: &dyn Progress,
    build: &BuildInfo,
) -> Result<RunSummary, HarnessError> {
    let started = Instant::now();
    let started_at = std::time::SystemTime::now();
    let store = Store::new(out, &spec.name, options.shard.map(|s| (s.index, s.count)));
    let all_trials = spec.trials(options.seeds);
    let sweep_trials = all_trials.len();
    let trials: Vec<(u64, Trial)> = all_trials
        .into_iter()
        .enumerate()
        .map(|(i, t)| (i as u64, t))
        .filter(|(_, t)| {
            options
                .shard
                .is_none_or(|s| t.shard(s.count) == s.index - 1)
        })
        .collect();
    // One writer per store: a second `subbench run` of the same spec into the same folder would
    // only duplicate work. The lock is released when this process ends, however it ends. It is
    // taken before the store is read, so that what is read stays true while this run writes (a
    // merge removes a shard's folder only while holding its lock).
    let _writer = if options.dry_run {
        None
    } else {
        Some(store.lock_for_writing()?)
    };
    // The spec is stored before any trial runs, so that the store of a first run that is
    // interrupted is still found (and said to be interrupted) by `report` and `summary`.
    if !options.dry_run && !store.dir().join("spec.yaml").exists() {
        crate::store::write_text(&store.dir().join("spec.yaml"), &spec.text)?;
    }
    // Damaged files are set aside first (a part, the curves: recomputed; trials.parquet: only
    // with --force), so that what is read below is what was written.
    let set_aside = if options.dry_run {
        Vec::new()
    } else {
        store.set_aside_damaged(options.force)?
    };
    // A stored trial is reused when it succeeded with the method's current code; one computed
    // by other code is stale and runs again (same id and seed, so results stay comparable).
    let mut stale_ids: HashMap<String, bool> = HashMap::new();
    let stored_ok: HashSet<String> = if options.force {
        HashSet::new()
    } else {
        let wanted: HashSet<&str> = trials.iter().map(|(_, t)| t.id.as_str()).collect();
        let mut records = store.load_for_run()?;
        // A shard rerun after a merge (a requeued array task) resumes from the merged store.
        if let Some(root) = store.shard_root() {
            records.extend(Store::at(&root).load()?);
        }
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
        ok
    };
    let stale = stale_ids.len();
    let todo: Vec<&(u64, Trial)> = trials
        .iter()
        .filter(|(_, t)| !stored_ok.contains(&t.id))
        .collect();
    let mut summary = RunSummary {
        spec: spec.name.clone(),
        total: trials.len(),
        stored: trials.len() - todo.len(),
        stale,
        warnings: set_aside,
        ..Default::default()
    };
    if options.dry_run {
        return Ok(summary);
    }
    let shard_info = |complete: bool| {
        options.shard.map(|s| ShardInfo {
            spec: spec.name.clone(),
            spec_hash: spec.hash.clone(),
            index: s.index,
            count: s.count,
            seeds: options.seeds.unwrap_or(spec.seeds),
            slice_trials: trials.len(),
            sweep_trials,
            complete,
        })
    };
    if let Some(info) = shard_info(false) {
        store.write_shard_info(&info)?;
    }
    if stale > 0 {
        let unversioned = stale_ids.values().filter(|&&u| u).count();
        progress.stale(spec, stale, unversioned);
    }
    progress.start(spec, todo.len(), summary.stored);
    install_quiet_panic_hook();

    let jobs = options
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| HarnessError::Usage(format!("cannot start {jobs} worker threads: {e}")))?;
    let stop = AtomicBool::new(false);
    let (sender, receiver) = mpsc::channel::<TrialRecord>();
    let mut write_error = None;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            pool.install(|| {
                todo.par_iter()
                    .for_each_with(sender, |sender, (order, trial)| {
                        if stop.load(Ordering::Relaxed) || stop_requested() {
                            return;
                        }
                        let record = execute(trial, *order, spec, registry);
                        // A trial cut short by the interrupt (its worker killed) did not fail:
                        // it is not stored, and runs next time.
                        if record.status != Status::Ok && stop_requested() {
                            return;
                        }
                        if record.status != Status::Ok && options.fail_fast {
                            stop.store(true, Ordering::Relaxed);
                        }
                        let _ = sender.send(record);
                    })
            })
        });
        // The writer: persist whatever has finished, in batches as large as the backlog, so fast
        // trials do not pay one file each and slow ones are on disk the moment they end.
        while let Ok(first) = receiver.recv() {
            let mut batch = vec![first];
            batch.extend(receiver.try_iter());
            for record in &batch {
                summary.ran += 1;
                summary.failed += usize::from(record.status != Status::Ok);
                progress.trial_done(record);
            }
            if write_error.is_none() {
                if let Err(e) = store.append(&batch) {
                    stop.store(true, Ordering::Relaxed);
                    write_error = Some(e);
                }
            }
        }
    });
    // Whatever failed to be written (a full disk, say), every trial already on disk stays there
    // and the next run resumes from it; the message says so.
    let kept = |e: HarnessError| {
        match e {
        HarnessError::Store { path, message } => HarnessError::Store {
            path,
            message: format!(
                "{message}; every trial written before this is kept under {} and the next run resumes from it",
                store.dir().display()
            ),
        },
        other => other,
    }
    };
    if let Some(e) = write_error {
        return Err(kept(e));
    }
    let stored = store.consolidate_after_run().map_err(kept)?;
    if stop_requested() {
        return Err(HarnessError::Interrupted {
            spec: spec.name.clone(),
            kept: summary.ran,
        });
    }
    // The spec travels with its results, so that `subbench report results/` needs nothing else:
    // the text that was loaded and hashed, not the file as it is now (an edit during a long run
    // would be stored, and a half-written one would break every later report).
    let copy = store.dir().join("spec.yaml");
    crate::store::write_text(&copy, &spec.text)?;
    // The copy's `external:` paths are relative to the original spec's folder.
    let origin = store.dir().join(ORIGIN_FILE);
    if spec.external.0.is_empty() {
        // A spec that dropped its `external:` list leaves no stale origin behind.
        let _ = std::fs::remove_file(&origin);
    } else {
        let folder = std::fs::canonicalize(&spec.file)
            .map_err(|e| HarnessError::store(&spec.file, e))?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        crate::store::write_text(&origin, &format!("{}\n", folder.display()))?;
    }
    summary.elapsed = started.elapsed();
    let warning = record_run(
        store.dir(),
        spec,
        build,
        &RunTimes {
            started: started_at,
            ended: std::time::SystemTime::now(),
            threads: jobs,
        },
        &summary,
    )?;
    summary.warnings.extend(warning);
    // Last, and only when every trial of the slice is stored (in this shard, or merged before):
    // the mark that lets `merge` fold this shard.
    if let Some(info) = shard_info(true) {
        let stored: HashSet<&str> = stored.iter().map(|r| r.trial_id.as_str()).collect();
        if trials
            .iter()
            .all(|(_, t)| stored.contains(t.id.as_str()) || stored_ok.contains(&t.id))
        {
            store.write_shard_info(&info)?;
        }
    }
    progress.finish(&summary);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_syntax() {
        assert_eq!("2/8".parse::<Shard>(), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/3", "4/3", "x", "1/", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
