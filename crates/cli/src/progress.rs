//! What `run` and `check` say while trials run: a progress bar on a terminal, otherwise a plain
//! line every few seconds (CI logs); trials past their deadline by name; and, after Ctrl-C, how
//! the run ended and how to resume it.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use harness::{HarnessError, Progress, RunSummary, RunningTrial, Spec, Status, TrialRecord};
use indicatif::{ProgressBar, ProgressStyle};

/// How far the current spec's sweep is, for the plain lines.
struct Counts {
    /// When the spec's trials started.
    started: Instant,
    /// When the last plain line was printed.
    last_line: Instant,
    done: usize,
    failed: usize,
    /// Trials to run in this spec (the stored ones are not counted).
    total: usize,
}

/// A plain line at most this often.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

pub struct TerminalProgress {
    bar: Mutex<Option<ProgressBar>>,
    counts: Mutex<Counts>,
    is_terminal: bool,
    told_unversioned: AtomicBool,
    /// Every trial that failed in this process, for [`TerminalProgress::failure_summary`].
    failed: Mutex<Vec<TrialRecord>>,
}

/// Causes of failure shown at the end of a run; the rest are counted in one line.
const CAUSES_SHOWN: usize = 8;

impl TerminalProgress {
    pub fn new() -> Self {
        let now = Instant::now();
        TerminalProgress {
            bar: Mutex::new(None),
            counts: Mutex::new(Counts {
                started: now,
                last_line: now,
                done: 0,
                failed: 0,
                total: 0,
            }),
            is_terminal: std::io::stderr().is_terminal(),
            told_unversioned: AtomicBool::new(false),
            failed: Mutex::new(Vec::new()),
        }
    }

    /// The causes of the trials that failed in this process, grouped, most frequent first:
    /// printed once at the end of `run` and `check` instead of one line per trial.
    pub fn failure_summary(&self) {
        let failed = self.failed.lock().expect("not poisoned");
        let groups = report::failures::group_failures(failed.iter());
        for line in report::failures::summary_lines(&groups, CAUSES_SHOWN) {
            eprintln!("failed: {line}");
        }
    }

    /// A line on stderr, above the bar when there is one.
    fn line(&self, text: &str) {
        match self.bar.lock().expect("not poisoned").as_ref() {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }
}

impl Progress for TerminalProgress {
    fn stale(&self, spec: &Spec, stale: usize, unversioned: usize) {
        // Said once per process: after an upgrade every store is in this state.
        if unversioned > 0 && !self.told_unversioned.swap(true, Ordering::Relaxed) {
            eprintln!(
                "{}: {unversioned} stored trials predate code identities (no method_code column): they are stale and run again, as are those of every such store",
                spec.name
            );
        }
        if stale > unversioned {
            eprintln!(
                "{}: {} stored trials are stale (their method's code changed): they run again",
                spec.name,
                stale - unversioned
            );
        }
    }

    fn rerun(&self, spec: &Spec, reasons: &[String]) {
        for line in reasons {
            eprintln!("{}: {line}", spec.name);
        }
    }

    fn start(&self, spec: &Spec, to_run: usize, stored: usize) {
        eprintln!(
            "{}: {} trials to run, {} already stored",
            spec.name, to_run, stored
        );
        if self.is_terminal {
            let bar = ProgressBar::new(to_run as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} {msg} {elapsed_precise} ETA {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(spec.name.clone());
            bar.set_message("0 failed");
            *self.bar.lock().expect("not poisoned") = Some(bar);
        }
        let now = Instant::now();
        *self.counts.lock().expect("not poisoned") = Counts {
            started: now,
            last_line: now,
            done: 0,
            failed: 0,
            total: to_run,
        };
    }

    fn trial_done(&self, record: &TrialRecord) {
        let mut counts = self.counts.lock().expect("not poisoned");
        counts.done += 1;
        counts.failed += usize::from(record.status != Status::Ok);
        if record.status != Status::Ok {
            self.failed
                .lock()
                .expect("not poisoned")
                .push(record.clone());
        }
        if let Some(bar) = self.bar.lock().expect("not poisoned").as_ref() {
            bar.inc(1);
            bar.set_message(format!("{} failed", counts.failed));
            return;
        }
        if counts.last_line.elapsed() >= PLAIN_EVERY && counts.done < counts.total {
            let elapsed = counts.started.elapsed().as_secs_f64();
            let eta = elapsed / counts.done as f64 * (counts.total - counts.done) as f64;
            eprintln!(
                "  {}: {}/{} done, {} failed, {elapsed:.0} s elapsed, ETA {eta:.0} s",
                record.spec, counts.done, counts.total, counts.failed
            );
            counts.last_line = Instant::now();
        }
    }

    fn overdue(&self, spec: &Spec, late: &[RunningTrial]) {
        let limit = spec.timeout.unwrap_or_default();
        for trial in late {
            self.line(&format!(
                "  {}: trial {} ({} {}) is {:.0} s past its deadline (timeout: {limit} s; running {:.0} s); a built-in trial cannot be stopped: Ctrl-C ends the run, keeping every finished trial",
                spec.name,
                trial.trial_id,
                trial.method,
                trial.params,
                trial.overdue.unwrap_or_default().as_secs_f64(),
                trial.running.as_secs_f64(),
            ));
        }
    }

    fn abandon(&self, outcome: HarnessError, running: &[RunningTrial]) {
        if let Some(bar) = self.bar.lock().expect("not poisoned").take() {
            bar.abandon();
        }
        for trial in running {
            eprintln!(
                "  abandoned: trial {} ({} {}), running for {:.0} s; it runs again next time",
                trial.trial_id,
                trial.method,
                trial.params,
                trial.running.as_secs_f64()
            );
        }
        // Threads cannot be killed, so the run cannot return while these trials hold theirs:
        // everything finished is stored, and the process ends here.
        crate::exit_code::exit_now(outcome.into());
    }

    fn finish(&self, summary: &RunSummary) {
        if let Some(bar) = self.bar.lock().expect("not poisoned").take() {
            bar.finish_and_clear();
        }
        let stale = if summary.stale > 0 {
            format!(", {} of them stale", summary.stale)
        } else {
            String::new()
        };
        eprintln!(
            "{}: {} trials ({} stored before, {} ran{stale}, {} failed) in {:.1} s",
            summary.spec,
            summary.total,
            summary.stored,
            summary.ran,
            summary.failed,
            summary.elapsed.as_secs_f64()
        );
        for warning in &summary.warnings {
            eprintln!("warning: {warning}");
        }
    }
}
