//! `subbench run`, `validate` and `list`: the harness from the command line.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use harness::spec::LoadOptions;
use harness::{load_specs, run_spec, Registry, RunOptions, RunSummary, Shard};

use super::variation::VariationArgs;
use crate::build_info::build_info;
use crate::progress::TerminalProgress;
use crate::user_error::UserError;

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
    #[command(flatten)]
    pub variation: VariationArgs,
    /// Use each spec's `quick:` overrides (fewer seeds and points); its page goes to
    /// REPORTS/quick.
    #[arg(long)]
    pub quick: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Spec files or folders.
    #[arg(required = true)]
    pub specs: Vec<PathBuf>,
    /// Accept sweeps above the 1,000,000-trial limit.
    #[arg(long)]
    pub allow_large: bool,
    /// Print the points each spec would run, their trial counts and how many are stored.
    #[arg(long)]
    pub points: bool,
    /// Where result stores are (for --points).
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    #[command(flatten)]
    pub variation: VariationArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Show one method in full; or, given a spec file or folder, the points it would run.
    pub method: Option<String>,
    /// Where result stores are (to count what is stored, for a spec).
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    #[command(flatten)]
    pub variation: VariationArgs,
    /// Also list the external methods of these manifests, or of the manifests these specs name
    /// in `external:`.
    #[arg(long, num_args = 1..)]
    pub external: Vec<PathBuf>,
    /// Also list the test suite's own methods (`test.*`, registered by a `testkit` build).
    #[arg(long, hide = true)]
    pub test_methods: bool,
}

pub fn run(args: &RunArgs, registry: &Registry) -> Result<bool> {
    let specs = load_specs(
        &args.specs,
        registry,
        LoadOptions {
            allow_large: args.allow_large,
            quick: args.quick,
        },
    )?;
    let specs = args
        .variation
        .resolve(&specs, registry, LoadOptions::default(), None)?;
    if args.variation.print(&specs) {
        return Ok(true);
    }
    let filters = specs
        .iter()
        .map(|s| args.variation.filter(s, registry))
        .collect::<Result<Vec<_>>>()?;
    let options = RunOptions {
        jobs: args.jobs,
        force: args.force,
        fail_fast: args.fail_fast,
        shard: args.shard,
        seeds: args.seeds,
        dry_run: args.dry_run,
        ..Default::default()
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
    for (spec, filter) in specs.iter().zip(filters) {
        let options = RunOptions {
            filter,
            ..options.clone()
        };
        let summary = run_spec(
            spec,
            registry,
            &args.out,
            &options,
            &progress,
            &build_info(),
        )?;
        if args.dry_run {
            for line in &summary.reasons {
                say!("{}: {line}", spec.name);
            }
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
    progress.failure_summary();
    if !args.dry_run && !args.no_report && args.shard.is_none() {
        let ran: Vec<(String, bool)> = specs.iter().map(|s| (s.name.clone(), args.quick)).collect();
        let rendered = report::render_all(
            &args.out,
            &args.reports,
            &crate::commands::report::default_baselines(&args.out),
            registry,
            report::Sweeps::AsChecked,
            &ran,
        )?;
        for warning in rendered.warnings() {
            eprintln!("warning: {warning}");
        }
        eprintln!(
            "{}",
            report::pages_line(
                &rendered.summaries,
                &report::pages_dir(&args.reports, args.quick)
            )
        );
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
    )?;
    let specs = args
        .variation
        .resolve(&specs, registry, LoadOptions::default(), None)?;
    if args.variation.print(&specs) {
        return Ok(());
    }
    let specs = specs
        .iter()
        .map(|s| args.variation.selected(s, registry))
        .collect::<Result<Vec<_>>>()?;
    if args.points {
        for spec in &specs {
            super::points::print_points(spec, &args.out)?;
        }
        return Ok(());
    }
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

/// The external methods `list --external` and `env` name: manifests directly, or the
/// `external:` of specs (files, or folders searched for them).
pub(crate) fn external_methods(
    paths: &[PathBuf],
    registry: &Registry,
) -> Result<Vec<std::sync::Arc<dyn harness::Method>>> {
    let mut methods: Vec<std::sync::Arc<dyn harness::Method>> = Vec::new();
    for path in paths {
        if path.is_dir() {
            let specs = load_specs(std::slice::from_ref(path), registry, LoadOptions::default())?;
            for spec in specs {
                methods.extend(spec.external.0.iter().cloned());
            }
            continue;
        }
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
            let specs = load_specs(std::slice::from_ref(path), registry, LoadOptions::default())?;
            for spec in specs {
                methods.extend(spec.external.0.iter().cloned());
            }
        }
    }
    methods.dedup_by(|a, b| a.id() == b.id());
    Ok(methods)
}

pub fn list(args: &ListArgs, registry: &Registry) -> Result<()> {
    if let Some(path) = args.method.as_deref().map(std::path::Path::new) {
        if path.exists() {
            return validate(
                &ValidateArgs {
                    specs: vec![path.to_path_buf()],
                    allow_large: false,
                    points: true,
                    out: args.out.clone(),
                    variation: args.variation.clone(),
                },
                registry,
            );
        }
    }
    let external = external_methods(&args.external, registry)?;
    // The test suite's methods are not the user's: a build with them registered (the test
    // build) lists them only when asked.
    let mut all: Vec<&dyn harness::Method> = registry
        .iter()
        .filter(|m| args.test_methods || !m.id().starts_with("test."))
        .collect();
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
