//! Running a spec: the trials not yet stored run in parallel (rayon, one trial per task), each
//! with its own generator seeded from its id; finished trials stream to the store as they
//! complete. A trial that errors, panics, diverges or overruns is recorded and the sweep goes on.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rayon::prelude::*;

use crate::error::HarnessError;
use crate::method::{panic_text, quietly, MethodError, Registry, TrialContext, TrialRng};
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
    /// Run only the trials this (resolved) filter matches (`--where`); empty: all.
    pub filter: crate::filter::Filter,
}

/// Receives progress; implemented by the binary (a bar on a terminal, lines otherwise).
pub trait Progress: Sync {
    fn start(&self, spec: &Spec, to_run: usize, stored: usize);
    fn trial_done(&self, record: &TrialRecord);
    fn finish(&self, summary: &RunSummary);
    /// Stored trials of the spec whose method's code identity changed (`unversioned` of them
    /// were stored before code identities existed): they run again.
    fn stale(&self, _spec: &Spec, _stale: usize, _unversioned: usize) {}
    /// Why stored trials run again, one grouped line per reason (see [`crate::plan`]).
    fn rerun(&self, _spec: &Spec, _reasons: &[String]) {}
    /// Trials still running more than [`LATE_AFTER`] past the spec's `timeout:` (a built-in
    /// trial is stopped only when it returns): called when one becomes late, and every
    /// [`LATE_REPEAT`] while any is, with every late trial.
    fn overdue(&self, _spec: &Spec, _late: &[RunningTrial]) {}
    /// After an interrupt, `running` trials did not end (each past its deadline, or still
    /// running [`STOP_GRACE`] after the interrupt): every finished trial is stored and
    /// `outcome` says so (or why the store failed). Threads cannot be killed, so the run cannot
    /// return while these trials hold theirs: a binary ends the process here, with `outcome`'s
    /// exit code. When this returns, the runner waits for them to end.
    fn abandon(&self, _outcome: HarnessError, _running: &[RunningTrial]) {}
}

/// A trial in flight, as [`Progress::overdue`] and [`Progress::abandon`] see it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningTrial {
    pub trial_id: String,
    pub method: String,
    /// Its parameters, `name=value` in name order.
    pub params: String,
    /// How long it has been running.
    pub running: Duration,
    /// How long past the spec's `timeout:` it is, when it is.
    pub overdue: Option<Duration>,
}

/// A trial is reported late this long after its deadline (a process-isolated trial killed at its
/// deadline takes a moment to end, and is not late).
pub const LATE_AFTER: Duration = Duration::from_secs(1);
/// Late trials are named again this often while they run.
pub const LATE_REPEAT: Duration = Duration::from_secs(30);
/// After an interrupt, trials in flight get this long to finish and be stored; a trial past its
/// deadline is not waited for.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
/// How often the writer looks at the trials in flight when none finishes.
const TICK: Duration = Duration::from_millis(200);

/// The trials in flight, by their order in the sweep, with the moment each started.
struct InFlight<'a> {
    timeout: Option<Duration>,
    running: Mutex<BTreeMap<u64, (Instant, &'a Trial)>>,
}

impl<'a> InFlight<'a> {
    fn begin(&self, order: u64, trial: &'a Trial) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.insert(order, (Instant::now(), trial));
    }

    fn end(&self, order: u64) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.remove(&order);
    }

    /// Every trial in flight now, in sweep order.
    fn now(&self) -> Vec<(u64, RunningTrial)> {
        let now = Instant::now();
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running
            .iter()
            .map(|(&order, &(started, trial))| {
                let running = now.saturating_duration_since(started);
                let overdue = self.timeout.and_then(|limit| running.checked_sub(limit));
                let trial = RunningTrial {
                    trial_id: trial.id.clone(),
                    method: trial.method.clone(),
                    params: trial.params.to_string(),
                    running,
                    overdue,
                };
                (order, trial)
            })
            .collect()
    }
}

/// Set when the user interrupts (Ctrl-C, SIGTERM): no trial starts any more, the trials in
/// flight end (external workers are killed by the binary) or are abandoned (see
/// [`Progress::abandon`]), and whatever finished is stored.
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
    /// Why stored trials run again, grouped (see [`crate::plan::Plan::rerun_lines`]).
    pub reasons: Vec<String>,
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
    // A panic is recorded as the trial's error; printing it (with the backtrace note) would bury
    // the progress display.
    let result = quietly(|| method.run_trial(&context, &trial.params, &mut rng));
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
        Err(payload) => (
            Status::Error,
            Some(format!("panicked: {}", panic_text(payload.as_ref()))),
            Default::default(),
        ),
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
        params: trial.params.recorded().clone(),
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
        .filter(|(_, t)| {
            options
                .filter
                .matches_values(&t.method, t.params.recorded())
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
    let mut reasons = Vec::new();
    let stored_ok: HashSet<String> = if options.force {
        HashSet::new()
    } else {
        let wanted: HashSet<&str> = trials.iter().map(|(_, t)| t.id.as_str()).collect();
        let mut records = store.load_for_run()?;
        // A shard rerun after a merge (a requeued array task) resumes from the merged store.
        if let Some(root) = store.shard_root() {
            records.extend(Store::at(&root).load()?);
        }
        let planned: Vec<&Trial> = trials.iter().map(|(_, t)| t).collect();
        reasons = crate::plan::Plan::of(spec, &planned, &records).rerun_lines();
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
        reasons: reasons.clone(),
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
    if !reasons.is_empty() {
        progress.rerun(spec, &reasons);
    }
    progress.start(spec, todo.len(), summary.stored);

    let jobs = options
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| HarnessError::Usage(format!("cannot start {jobs} worker threads: {e}")))?;
    let stop = AtomicBool::new(false);
    let in_flight = InFlight {
        timeout: spec.timeout.map(Duration::from_secs_f64),
        running: Mutex::new(BTreeMap::new()),
    };
    // Whatever fails to be written (a full disk, say), every trial already on disk stays there
    // and the next run resumes from it; the message says so.
    let kept = |e: HarnessError| match e {
        HarnessError::Store { path, message } => {
            let resume = format!(
                "every trial written before this is kept under {} and the next run resumes from it",
                store.dir().display()
            );
            HarnessError::Store {
                path,
                message: format!("{message}; {resume}"),
            }
        }
        other => other,
    };
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
                        in_flight.begin(*order, trial);
                        let record = execute(trial, *order, spec, registry);
                        in_flight.end(*order);
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
        // trials do not pay one file each and slow ones are on disk the moment they end. Between
        // trials it watches those in flight: the late ones are named, and after an interrupt
        // the ones that do not end are abandoned.
        let write = |batch: Vec<TrialRecord>,
                     summary: &mut RunSummary,
                     write_error: &mut Option<HarnessError>| {
            for record in &batch {
                summary.ran += 1;
                summary.failed += usize::from(record.status != Status::Ok);
                progress.trial_done(record);
            }
            if write_error.is_none() {
                if let Err(e) = store.append(&batch) {
                    stop.store(true, Ordering::Relaxed);
                    *write_error = Some(e);
                }
            }
        };
        let mut told_late: HashSet<u64> = HashSet::new();
        let mut last_told = Instant::now();
        let mut interrupted_at: Option<Instant> = None;
        let mut abandoned = false;
        loop {
            match receiver.recv_timeout(TICK) {
                Ok(first) => {
                    let mut batch = vec![first];
                    batch.extend(receiver.try_iter());
                    write(batch, &mut summary, &mut write_error);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            let running = in_flight.now();
            let late: Vec<&(u64, RunningTrial)> = running
                .iter()
                .filter(|(_, t)| t.overdue.is_some_and(|d| d >= LATE_AFTER))
                .collect();
            let newly_late = late.iter().any(|(order, _)| !told_late.contains(order));
            if newly_late || (!late.is_empty() && last_told.elapsed() >= LATE_REPEAT) {
                told_late.extend(late.iter().map(|(order, _)| *order));
                let late: Vec<RunningTrial> = late.iter().map(|(_, t)| t.clone()).collect();
                progress.overdue(spec, &late);
                last_told = Instant::now();
            }
            if !stop_requested() || abandoned {
                continue;
            }
            let since = *interrupted_at.get_or_insert_with(Instant::now);
            if running.is_empty() {
                continue;
            }
            let past_deadline = running.iter().all(|(_, t)| t.overdue.is_some());
            if !past_deadline && since.elapsed() < STOP_GRACE {
                continue;
            }
            // What did not end is abandoned: store everything that finished, then hand over to
            // the binary, which ends the process (the abandoned trials hold their threads).
            abandoned = true;
            let batch: Vec<TrialRecord> = receiver.try_iter().collect();
            if !batch.is_empty() {
                write(batch, &mut summary, &mut write_error);
            }
            let interrupted = HarnessError::Interrupted {
                spec: spec.name.clone(),
                kept: summary.ran,
                abandoned: running.len(),
            };
            let outcome = match write_error.take() {
                Some(e) => kept(e),
                None if summary.ran == 0 => interrupted,
                None => store.consolidate().map_or_else(kept, |_| interrupted),
            };
            let running: Vec<RunningTrial> = running.into_iter().map(|(_, t)| t).collect();
            progress.abandon(outcome, &running);
        }
    });
    if let Some(e) = write_error {
        return Err(kept(e));
    }
    let interrupted = HarnessError::Interrupted {
        spec: spec.name.clone(),
        kept: summary.ran,
        abandoned: 0,
    };
    // Interrupted before any trial finished, the store is left as it was: consolidating would
    // write an empty one over a first run, and `report` would show a page of no trials instead
    // of saying that the run was interrupted.
    if stop_requested() && summary.ran == 0 {
        return Err(interrupted);
    }
    let stored = store.consolidate_after_run().map_err(kept)?;
    if stop_requested() {
        return Err(interrupted);
    }
    // The spec travels with its results, so that `subbench report results/` needs nothing else:
    // the text that was loaded and hashed, not the file as it is now (an edit during a long run
    // would be stored, and a half-written one would break every later report).
    let copy = store.dir().join("spec.yaml");
    crate::store::write_text(&copy, &spec.text)?;
    // Its file parameters are relative to the folder this run ran in.
    if let Ok(folder) = std::env::current_dir() {
        crate::store::write_text(
            &store.dir().join(crate::store::schema::WORKDIR_FILE),
            &format!("{}\n", folder.display()),
        )?;
    }
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
    use crate::spec::{parse_spec, LoadOptions};

    /// Records what the runner says about late trials.
    #[derive(Default)]
    struct Watch {
        late: Mutex<Vec<Vec<RunningTrial>>>,
    }

    impl Progress for Watch {
        fn start(&self, _spec: &Spec, _to_run: usize, _stored: usize) {}
        fn trial_done(&self, _record: &TrialRecord) {}
        fn finish(&self, _summary: &RunSummary) {}
        fn overdue(&self, _spec: &Spec, late: &[RunningTrial]) {
            self.late.lock().unwrap().push(late.to_vec());
        }
    }

    /// A trial that overruns its `timeout:` is named while it still runs, once (not again
    /// before [`LATE_REPEAT`]); the one that ends in time never is.
    #[test]
    fn a_trial_past_its_deadline_is_named_while_it_runs() {
        let registry = crate::testkit::registry();
        let text = "name: late\ntitle: t\npaper: p\nclaim: c\nmethod: test.flaky\ntimeout: 0.5\n\
                    params: {x: 1}\nsweep:\n  grid:\n    sleep_ms: [0, 2500]\n";
        let spec = parse_spec(
            Path::new("late.yaml"),
            text,
            &registry,
            LoadOptions::default(),
        )
        .expect("the spec is valid");
        let out = tempfile::tempdir().unwrap();
        let watch = Watch::default();
        let options = RunOptions {
            jobs: Some(2),
            ..Default::default()
        };
        let build = BuildInfo {
            version: "test".into(),
            rustc: "test".into(),
            target: "test".into(),
            blas: "test".into(),
        };
        let summary = run_spec(&spec, &registry, out.path(), &options, &watch, &build).unwrap();
        assert_eq!(
            (summary.ran, summary.failed),
            (2, 1),
            "the overrun is a timeout"
        );
        let late = watch.late.into_inner().unwrap();
        assert_eq!(late.len(), 1, "{late:?}");
        let [trial] = late[0].as_slice() else {
            panic!("{late:?}")
        };
        assert_eq!(trial.method, "test.flaky");
        assert!(trial.params.contains("sleep_ms=2500"), "{}", trial.params);
        assert!(trial.overdue.unwrap() >= LATE_AFTER, "{trial:?}");
        assert!(
            trial.running >= Duration::from_secs_f64(0.5) + LATE_AFTER,
            "{trial:?}"
        );
    }

    #[test]
    fn shard_syntax() {
        assert_eq!("2/8".parse::<Shard>(), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/3", "4/3", "x", "1/", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
