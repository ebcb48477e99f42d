//! `subbench run`, `validate` and `list`: the harness from the command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use harness::provenance::BuildInfo;
use harness::spec::LoadOptions;
use harness::{
    load_specs, run_spec, HarnessError, Progress, Registry, RunOptions, RunSummary, Shard, Spec,
    Status, TrialRecord,
};
use indicatif::{ProgressBar, ProgressStyle};

use crate::user_error::UserError;

/// A harness error as the binary reports it: the user's mistakes exit with 2.
pub fn harness_error(e: HarnessError) -> anyhow::Error {
    if e.is_user_error() {
        UserError::new(e.to_string()).into()
    } else {
        anyhow::Error::new(e)
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Spec files, or folders searched recursively for .yaml files.
    #[arg(required = true)]
    pub specs: Vec<PathBuf>,
    /// Where result stores go (one folder per spec).
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Worker threads [default: all cores].
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Override every spec's number of seeds (repetitions).
    #[arg(long)]
    pub seeds: Option<u32>,
    /// Re-run trials that are already stored.
    #[arg(long)]
    pub force: bool,
    /// Stop starting new trials after the first failure.
    #[arg(long)]
    pub fail_fast: bool,
    /// Run only slice I of N (1-based), for cluster array jobs; combine with `subbench merge`.
    #[arg(long)]
    pub shard: Option<Shard>,
    /// Print how many trials would run and how many are stored; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Accept sweeps above the 1,000,000-trial limit.
    #[arg(long)]
    pub allow_large: bool,
    /// Do not render the HTML report after the run.
    #[arg(long)]
    pub no_report: bool,
    /// Where reports go.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Spec files or folders.
    #[arg(required = true)]
    pub specs: Vec<PathBuf>,
    /// Accept sweeps above the 1,000,000-trial limit.
    #[arg(long)]
    pub allow_large: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Show one method in full.
    pub method: Option<String>,
    /// Also list the external methods of these manifests, or of the manifests these specs name
    /// in `external:`.
    #[arg(long, num_args = 1..)]
    pub external: Vec<PathBuf>,
}

pub fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        rustc: env!("SUBBENCH_RUSTC").to_string(),
        target: env!("SUBBENCH_TARGET").to_string(),
        blas: format!(
            "OpenBLAS (system, {} kernels), 1 thread per trial",
            subspace::blas_core_name()
        ),
    }
}

pub fn run(args: &RunArgs, registry: &Registry) -> Result<bool> {
    let specs = load_specs(
        &args.specs,
        registry,
        LoadOptions {
            allow_large: args.allow_large,
            quick: false,
        },
    )
    .map_err(harness_error)?;
    let options = RunOptions {
        jobs: args.jobs,
        force: args.force,
        fail_fast: args.fail_fast,
        shard: args.shard,
        seeds: args.seeds,
        dry_run: args.dry_run,
    };
    if args.jobs == Some(0) {
        return Err(UserError::new("--jobs must be at least 1").into());
    }
    // `--seeds` obeys the limits a spec's `seeds:` does: 4294967295 seeds aborted a dry run on
    // a 2 TB allocation, and 0 wrote an empty store.
    if let Some(seeds) = args.seeds {
        if !(1..=100_000).contains(&seeds) {
            return Err(UserError::new(format!(
                "--seeds {seeds}: the number of repetitions per point is from 1 to 100000"
            ))
            .into());
        }
        if let Some(spec) = specs
            .iter()
            .find(|s| s.points.len().saturating_mul(seeds as usize) > harness::spec::MAX_TRIALS)
        {
            if !args.allow_large {
                return Err(UserError::new(format!(
                    "{}: --seeds {seeds} makes {} trials ({} points × {seeds}); the limit is {}: use fewer seeds or pass --allow-large",
                    spec.file.display(),
                    spec.points.len().saturating_mul(seeds as usize),
                    spec.points.len(),
                    harness::spec::MAX_TRIALS
                ))
                .into());
            }
        }
    }
    let progress = TerminalProgress::new();
    let mut any_failed = false;
    let started = Instant::now();
    let mut totals = RunSummary::default();
    for spec in &specs {
        let summary = run_spec(
            spec,
            registry,
            &args.out,
            &options,
            &progress,
            &build_info(),
        )
        .map_err(harness_error)?;
        if args.dry_run {
            say!(
                "{}: {} trials, {} stored, {} to run",
                spec.name,
                summary.total,
                summary.stored,
                summary.total - summary.stored
            );
        }
        any_failed |= summary.failed > 0;
        totals.total += summary.total;
        totals.stored += summary.stored;
        totals.ran += summary.ran;
        totals.failed += summary.failed;
    }
    if !args.dry_run && !args.no_report && args.shard.is_none() {
        crate::commands::report::render_all(
            &args.out,
            &args.reports,
            std::path::Path::new(crate::commands::report::DEFAULT_BASELINES),
            registry,
        )?;
    }
    if !args.dry_run && specs.len() > 1 {
        eprintln!(
            "all: {} specs, {} trials ({} already stored, {} ran, {} failed) in {:.1} s",
            specs.len(),
            totals.total,
            totals.stored,
            totals.ran,
            totals.failed,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(!any_failed)
}

pub fn validate(args: &ValidateArgs, registry: &Registry) -> Result<()> {
    let specs = load_specs(
        &args.specs,
        registry,
        LoadOptions {
            allow_large: args.allow_large,
            quick: false,
        },
    )
    .map_err(harness_error)?;
    for spec in &specs {
        say!(
            "ok {}: {} ({} points × {} seeds = {} trials)",
            spec.file.display(),
            spec.name,
            spec.points.len(),
            spec.seeds,
            spec.points.len() * spec.seeds as usize
        );
    }
    Ok(())
}

/// The external methods `list --external` names: manifests directly, or a spec's `external:`.
fn external_methods(
    paths: &[PathBuf],
    registry: &Registry,
) -> Result<Vec<std::sync::Arc<dyn harness::Method>>> {
    let mut methods: Vec<std::sync::Arc<dyn harness::Method>> = Vec::new();
    for path in paths {
        let bytes = harness::input::read_regular(path, 1 << 24)
            .map_err(|e| UserError::new(format!("{}: {e}", path.display())))?;
        let text = String::from_utf8_lossy(&bytes);
        let is_manifest = text.lines().any(|l| l.starts_with("command:"));
        if is_manifest {
            methods.push(
                registry
                    .load_external(path)
                    .map_err(|e| UserError::new(e.to_string()))?,
            );
        } else {
            let specs = load_specs(std::slice::from_ref(path), registry, LoadOptions::default())
                .map_err(harness_error)?;
            for spec in specs {
                methods.extend(spec.external.0.iter().cloned());
            }
        }
    }
    methods.dedup_by(|a, b| a.id() == b.id());
    Ok(methods)
}

pub fn list(args: &ListArgs, registry: &Registry) -> Result<()> {
    let external = external_methods(&args.external, registry)?;
    let mut all: Vec<&dyn harness::Method> = registry.iter().collect();
    all.extend(external.iter().map(|m| m.as_ref()));
    if let Some(id) = &args.method {
        let method = match external.iter().find(|m| m.id() == id) {
            Some(m) => m.as_ref(),
            None => registry.get(id).map_err(UserError::new)?,
        };
        say!("{}  {}", method.id(), method.summary());
        say!("parameters:");
        for p in method.params() {
            let default = match &p.default {
                harness::ParamDefault::Required => "required".to_string(),
                harness::ParamDefault::Value(v) => format!("default {}", v.canonical()),
                harness::ParamDefault::Unset(_) => format!("default {}", p.default_text()),
            };
            say!(
                "  {:<16} {} ({default})\n  {:<16} {}",
                p.name,
                p.accepted(),
                "",
                p.doc
            );
        }
        say!("metrics:");
        for m in method.metrics() {
            say!("  {:<16} {}", m.name, m.doc);
        }
        if !method.curves().is_empty() {
            say!("curves:");
            for m in method.curves() {
                say!("  {:<16} {}", m.name, m.doc);
            }
        }
        return Ok(());
    }
    let mut any = false;
    for method in all {
        any = true;
        let params: Vec<&str> = method.params().iter().map(|p| p.name.as_str()).collect();
        let kind = if external.iter().any(|m| m.id() == method.id()) {
            " (external)"
        } else {
            ""
        };
        say!(
            "{:<28} {}{kind}\n{:<28} params: {}",
            method.id(),
            method.summary(),
            "",
            params.join(", ")
        );
    }
    if !any {
        say!("no methods are registered in this build");
    }
    Ok(())
}

/// A progress bar on a terminal; otherwise a plain line every few seconds (CI logs).
pub struct TerminalProgress {
    bar: Mutex<Option<ProgressBar>>,
    plain: Mutex<(Instant, Instant, usize, usize, usize)>, // started, last line, done, failed, total
    is_terminal: bool,
    told_unversioned: AtomicBool,
}

impl TerminalProgress {
    pub fn new() -> Self {
        let now = Instant::now();
        TerminalProgress {
            bar: Mutex::new(None),
            plain: Mutex::new((now, now, 0, 0, 0)),
            is_terminal: std::io::stderr().is_terminal(),
            told_unversioned: AtomicBool::new(false),
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
        *self.plain.lock().expect("not poisoned") = (now, now, 0, 0, to_run);
    }

    fn trial_done(&self, record: &TrialRecord) {
        let mut plain = self.plain.lock().expect("not poisoned");
        plain.2 += 1;
        plain.3 += usize::from(record.status != Status::Ok);
        if let Some(bar) = self.bar.lock().expect("not poisoned").as_ref() {
            bar.inc(1);
            bar.set_message(format!("{} failed", plain.3));
            return;
        }
        let (started, last, done, failed, total) = *plain;
        if last.elapsed() >= Duration::from_secs(5) && done < total {
            let elapsed = started.elapsed().as_secs_f64();
            let eta = elapsed / done as f64 * (total - done) as f64;
            eprintln!("  {}: {done}/{total} done, {failed} failed, {elapsed:.0} s elapsed, ETA {eta:.0} s", record.spec);
            plain.1 = Instant::now();
        }
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
