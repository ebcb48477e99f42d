//! Running a spec: the trials not yet stored run in parallel (rayon, one trial per task), each
//! with its own generator seeded from its id; finished trials stream to the store as they
//! complete. A trial that errors, panics, diverges or overruns is recorded and the sweep goes on.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rayon::prelude::*;

use crate::error::HarnessError;
use crate::method::{panic_text, quietly, MethodError, Registry, TrialContext, TrialRng};
use crate::spec::Spec;
use crate::store::provenance::{self, BuildInfo, RunTimes, TrialCounts};
use crate::store::spec_copy::record_spec;
use crate::store::{Status, Store, TrialRecord};
use crate::trial::Trial;

mod plan;

use plan::{cached, plan, spec_copy, sweep, Plan};
pub use plan::{RunOptions, RunSummary, Shard};

/// Receives progress; implemented by the binary (a bar on a terminal, lines otherwise).
pub trait Progress: Sync {
    fn start(&self, spec: &Spec, to_run: usize, stored: usize);
    fn trial_done(&self, record: &TrialRecord);
    fn finish(&self, summary: &RunSummary);
    /// Stored trials of the spec whose method's code identity changed (`unversioned` of them
    /// were stored before code identities existed): they run again.
    fn stale(&self, _spec: &Spec, _stale: usize, _unversioned: usize) {}
    /// Why stored trials run again, one grouped line per reason (see [`crate::why`]).
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
    let trials = sweep(spec, options)?;
    // Nothing to run and nothing to tidy: the store is only read, so a cached run (or `check`)
    // works on a read-only file system and rewrites no file.
    if let Some(summary) = cached(spec, registry, &store, &trials, options)? {
        progress.start(spec, 0, summary.stored);
        progress.finish(&summary);
        return Ok(summary);
    }
    let plan = plan(spec, registry, &store, options, trials)?;
    let mut summary = plan.summary.clone();
    if options.dry_run {
        return Ok(summary);
    }
    if let Some(info) = plan.shard_info(spec, options, false) {
        store.write_shard_info(&info)?;
    }
    if !plan.stale_ids.is_empty() {
        let unversioned = plan.stale_ids.values().filter(|&&u| u).count();
        progress.stale(spec, plan.stale_ids.len(), unversioned);
    }
    if !summary.reasons.is_empty() {
        progress.rerun(spec, &summary.reasons);
    }
    let todo: Vec<&(u64, Trial)> = plan
        .trials
        .iter()
        .filter(|(_, t)| !plan.stored_ok.contains(&t.id))
        .collect();
    progress.start(spec, todo.len(), summary.stored);
    let jobs = options
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    execute_all(
        spec,
        registry,
        &store,
        &todo,
        jobs,
        options,
        progress,
        &mut summary,
    )?;
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
    let stored = store.consolidate_after_run().map_err(|e| kept(&store, e))?;
    if stop_requested() {
        return Err(interrupted);
    }
    summary.elapsed = started.elapsed();
    let times = RunTimes {
        started: started_at,
        ended: std::time::SystemTime::now(),
        threads: jobs,
    };
    finish(
        spec,
        &store,
        &plan,
        options,
        build,
        &times,
        &stored,
        &mut summary,
    )?;
    progress.finish(&summary);
    Ok(summary)
}

/// Whatever fails to be written (a full disk, say), every trial already on disk stays there and
/// the next run resumes from it; the message says so.
fn kept(store: &Store, e: HarnessError) -> HarnessError {
    match e {
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
    }
}

/// The writer's side of a run: every finished trial is counted, shown and appended to the store;
/// after the first write error nothing more is written and the run stops.
struct Sink<'a> {
    store: &'a Store,
    progress: &'a dyn Progress,
    stop: &'a AtomicBool,
    summary: &'a mut RunSummary,
    write_error: Option<HarnessError>,
}

impl Sink<'_> {
    fn write(&mut self, batch: Vec<TrialRecord>) {
        for record in &batch {
            self.summary.ran += 1;
            self.summary.failed += usize::from(record.status != Status::Ok);
            self.progress.trial_done(record);
        }
        if self.write_error.is_none() {
            if let Err(e) = self.store.append(&batch) {
                self.stop.store(true, Ordering::Relaxed);
                self.write_error = Some(e);
            }
        }
    }
}

/// Run `todo` on `jobs` threads, streaming every finished trial to the store.
#[allow(clippy::too_many_arguments)]
fn execute_all(
    spec: &Spec,
    registry: &Registry,
    store: &Store,
    todo: &[&(u64, Trial)],
    jobs: usize,
    options: &RunOptions,
    progress: &dyn Progress,
    summary: &mut RunSummary,
) -> Result<(), HarnessError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| HarnessError::Usage(format!("cannot start {jobs} worker threads: {e}")))?;
    let stop = AtomicBool::new(false);
    let in_flight = InFlight {
        timeout: spec.timeout.map(Duration::from_secs_f64),
        running: Mutex::new(BTreeMap::new()),
    };
    let (sender, receiver) = mpsc::channel::<TrialRecord>();
    let mut sink = Sink {
        store,
        progress,
        stop: &stop,
        summary,
        write_error: None,
    };
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
        drain(spec, &receiver, &in_flight, &mut sink);
    });
    match sink.write_error {
        Some(e) => Err(kept(store, e)),
        None => Ok(()),
    }
}

/// The writer: persist whatever has finished, in batches as large as the backlog, so fast trials
/// do not pay one file each and slow ones are on disk the moment they end. Between trials it
/// watches those in flight: the late ones are named, and after an interrupt the ones that do not
/// end are abandoned.
fn drain(
    spec: &Spec,
    receiver: &mpsc::Receiver<TrialRecord>,
    in_flight: &InFlight,
    sink: &mut Sink,
) {
    let mut told_late: HashSet<u64> = HashSet::new();
    let mut last_told = Instant::now();
    let mut interrupted_at: Option<Instant> = None;
    let mut abandoned = false;
    loop {
        match receiver.recv_timeout(TICK) {
            Ok(first) => {
                let mut batch = vec![first];
                batch.extend(receiver.try_iter());
                sink.write(batch);
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
            sink.progress.overdue(spec, &late);
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
        abandoned = true;
        abandon(spec, receiver, running, sink);
    }
}

/// What did not end is abandoned: store everything that finished, then hand over to the binary,
/// which ends the process (the abandoned trials hold their threads).
fn abandon(
    spec: &Spec,
    receiver: &mpsc::Receiver<TrialRecord>,
    running: Vec<(u64, RunningTrial)>,
    sink: &mut Sink,
) {
    let batch: Vec<TrialRecord> = receiver.try_iter().collect();
    if !batch.is_empty() {
        sink.write(batch);
    }
    let interrupted = HarnessError::Interrupted {
        spec: spec.name.clone(),
        kept: sink.summary.ran,
        abandoned: running.len(),
    };
    let outcome = match sink.write_error.take() {
        Some(e) => kept(sink.store, e),
        None if sink.summary.ran == 0 => interrupted,
        None => sink
            .store
            .consolidate()
            .map_or_else(|e| kept(sink.store, e), |_| interrupted),
    };
    let running: Vec<RunningTrial> = running.into_iter().map(|(_, t)| t).collect();
    sink.progress.abandon(outcome, &running);
}

/// After the trials: the spec travels with its results (so that `subbench report results/`
/// needs nothing else), the run goes into the provenance, and a shard that has every trial of
/// its slice says so.
#[allow(clippy::too_many_arguments)]
fn finish(
    spec: &Spec,
    store: &Store,
    plan: &Plan,
    options: &RunOptions,
    build: &BuildInfo,
    times: &RunTimes,
    stored: &[TrialRecord],
    summary: &mut RunSummary,
) -> Result<(), HarnessError> {
    record_spec(store.dir(), &spec_copy(spec)?)?;
    let counts = TrialCounts {
        total: summary.total,
        stored_before: summary.stored,
        ran: summary.ran,
        failed: summary.failed,
        stale: summary.stale,
    };
    let mut entry =
        provenance::run_entry(&spec.file, &spec.hash, &spec.codes, build, times, counts);
    // The environments the run's external methods ran in (only those it used).
    entry.environments = spec
        .external
        .0
        .iter()
        .filter_map(|m| Some((m.id().to_string(), m.environment(false).ok()??)))
        .collect();
    let warning = provenance::record_run(store.dir(), &spec.name, entry)?;
    summary.warnings.extend(warning);
    // Last, and only when every trial of the slice is stored (in this shard, or merged before):
    // the mark that lets `merge` fold this shard.
    if let Some(info) = plan.shard_info(spec, options, true) {
        let stored: HashSet<&str> = stored.iter().map(|r| r.trial_id.as_str()).collect();
        if plan
            .trials
            .iter()
            .all(|(_, t)| stored.contains(t.id.as_str()) || plan.stored_ok.contains(&t.id))
        {
            store.write_shard_info(&info)?;
        }
    }
    Ok(())
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
        let text =
            "name: late\ntitle: t\npaper: test\nclaim: c\nmethod: test.flaky\ntimeout: 0.5\n\
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
