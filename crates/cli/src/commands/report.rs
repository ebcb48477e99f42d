//! `subbench report`, `summary`, `check` and `baseline save`: aggregated results, claims and pages.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use harness::spec::{load_spec, LoadOptions};
use harness::{load_specs, run_spec, Registry, RunOptions, Spec};
use report::checks::save_baseline;
use report::{
    aggregate, baseline_path, check_line, check_markdown, evaluate_spec, render_spec, trial_ids,
    update_index, CheckTotals, SummaryFormat, DEFAULT_BASELINES,
};

use super::variation::{SeedRange, VariationArgs};
use crate::build_info::build_info;
use crate::progress::TerminalProgress;
use crate::user_error::UserError;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The results folder (one store per spec).
    #[arg(default_value = "results")]
    pub results: PathBuf,
    /// Where the HTML, SVG, Markdown and LaTeX files go.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// Where the committed baselines are [default: the results/baselines of the repository
    /// the results folder is in, else results/baselines here].
    #[arg(long)]
    pub baselines: Option<PathBuf>,
    /// Render every store's quick (`quick:`) sweep, into OUT/quick.
    #[arg(long)]
    pub quick: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Md,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// A spec's store, e.g. results/attack-budget.
    pub dir: PathBuf,
    #[arg(long, value_enum, default_value = "md")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Spec files or folders.
    #[arg(default_value = "specs")]
    pub specs: Vec<PathBuf>,
    /// Use each spec's `quick:` overrides (fewer seeds and points), as CI does.
    #[arg(long)]
    pub quick: bool,
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// Also write a Markdown summary (for a CI job to post).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Also write JUnit XML (one testcase per claim, one testsuite per spec) for CI reporters.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Where the committed baselines are, whatever `--out` is [default: results/baselines].
    #[arg(long)]
    pub baselines: Option<PathBuf>,
    /// Also run every spec under N more root seeds derived from its `seed:` and count, for every
    /// claim, in how many seed sets it held; a claim that holds only under some is FRAGILE.
    #[arg(long, value_name = "N")]
    pub reseed: Option<u32>,
    /// Worker threads [default: all cores].
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Replace every spec's root seed by S for this check (stored apart, like `-p seed=S`).
    #[arg(long, value_name = "S", conflicts_with_all = ["root_seeds", "reseed"])]
    pub root_seed: Option<u64>,
    /// Check under each root seed A..B (both included) and count, for every claim, in how many
    /// of them it held.
    #[arg(long, value_name = "A..B", conflicts_with = "reseed")]
    pub root_seeds: Option<SeedRange>,
    #[command(flatten)]
    pub variation: VariationArgs,
    /// Print how many trials each spec would run and how many are stored; run, check and
    /// write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// More derived seeds than this is a mistake (each one reruns the whole sweep).
const MAX_RESEED: u32 = 100;

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Store the current aggregated means of spec NAME (the store OUT/NAME) as
    /// BASELINES/NAME.parquet.
    Save {
        name: String,
        #[arg(long, default_value = "results")]
        out: PathBuf,
        /// Where baselines are kept.
        #[arg(long, default_value = DEFAULT_BASELINES)]
        baselines: PathBuf,
        /// Aggregate the `--quick` variant of the spec (what `just check` compares).
        #[arg(long)]
        quick: bool,
    },
}

/// The baselines a command without `--baselines` compares with: those of the repository that
/// `from` (a spec file or results folder) lives in, else `results/baselines` here.
pub fn default_baselines(from: &Path) -> PathBuf {
    report::find_baselines(from).unwrap_or_else(|| PathBuf::from(DEFAULT_BASELINES))
}

/// Pages for every store under `results` that has its spec, plus the index.
pub fn report(args: &ReportArgs, registry: &Registry) -> Result<()> {
    let baselines = args
        .baselines
        .clone()
        .unwrap_or_else(|| default_baselines(&args.results));
    let sweeps = if args.quick {
        report::Sweeps::Quick
    } else {
        report::Sweeps::AsChecked
    };
    let rendered = report::render_all(&args.results, &args.out, &baselines, registry, sweeps, &[])?;
    for warning in rendered.warnings() {
        eprintln!("warning: {warning}");
    }
    say!(
        "{}",
        report::pages_line(
            &rendered.summaries,
            &report::pages_dir(&args.out, args.quick)
        )
    );
    Ok(())
}

/// The aggregated table of one store: the trials of its stored spec's expansion, as `report`
/// shows them (stale trials of an edited spec, and the extra seeds of a full run beside a quick
/// one, are left out), saying on stderr what it shows.
pub fn summary(args: &SummaryArgs, registry: &Registry) -> Result<()> {
    let summary = report::summarize(&args.dir, registry)?;
    eprintln!("{}", summary.what_it_shows());
    let format = match args.format {
        Format::Md => SummaryFormat::Markdown,
        Format::Csv => SummaryFormat::Csv,
        Format::Json => SummaryFormat::Json,
    };
    say_raw!("{}", report::write_summary(&summary.agg, format)?);
    Ok(())
}

/// Refuse, before anything runs, what `check` could only fail on at the end: a `--reseed` out of
/// range, a `--junit`/`--markdown` file in a folder that does not exist, a baselines folder that
/// does not exist while a spec compares with a baseline.
fn check_arguments(args: &CheckArgs, specs: &[Spec]) -> Result<()> {
    if let Some(n) = args.reseed {
        if n == 0 || n > MAX_RESEED {
            return Err(UserError::new(format!(
                "--reseed {n}: give the number of extra root seeds, from 1 to {MAX_RESEED} (each reruns every sweep)"
            ))
            .into());
        }
    }
    for (flag, file) in [("--junit", &args.junit), ("--markdown", &args.markdown)] {
        let Some(file) = file else { continue };
        let parent = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(UserError::new(format!(
                "{flag} {}: the folder {} does not exist; create it first",
                file.display(),
                parent.display()
            ))
            .into());
        }
    }
    // The default folder may not exist yet (a first run, before any `baseline save`): then each
    // baseline check fails saying how to save it. A folder given explicitly must exist.
    if let Some(baselines) = args.baselines.as_ref().filter(|b| !b.is_dir()) {
        let uses_baseline = |spec: &&Spec| {
            spec.expect
                .iter()
                .chain(&spec.refuted)
                .any(|c| matches!(c, harness::spec::CheckSpec::Baseline { .. }))
        };
        if let Some(spec) = specs.iter().find(uses_baseline) {
            let quick = if args.quick { " --quick" } else { "" };
            return Err(UserError::new(format!(
                "--baselines {}: no such folder, and spec `{}` ({}) compares with its baseline {}; point --baselines at the committed baselines (default {DEFAULT_BASELINES}, relative to the folder subbench runs in), or check without it and then create it with `subbench baseline save {}{quick} --out {} --baselines {}`",
                baselines.display(),
                spec.name,
                spec.file.display(),
                baseline_path(baselines, &spec.name, args.quick).display(),
                spec.name,
                args.out.display(),
                baselines.display(),
            ))
            .into());
        }
    }
    Ok(())
}

/// Run what is missing, evaluate every claim, print one line per check. `Ok(false)` when a check
/// fails (or, with `--reseed`, is fragile).
pub fn check(args: &CheckArgs, registry: &Registry) -> Result<bool> {
    let specs = load_specs(
        &args.specs,
        registry,
        LoadOptions {
            allow_large: false,
            quick: args.quick,
        },
    )?;
    check_arguments(args, &specs)?;
    let load = LoadOptions {
        allow_large: false,
        quick: args.quick,
    };
    let root_seeds = match (args.root_seed, args.root_seeds) {
        (Some(seed), _) => vec![seed],
        (None, Some(range)) => range.seeds(),
        (None, None) => Vec::new(),
    };
    // Every spec of every seed set resolved before anything runs: a bad override runs nothing.
    let mut sets: Vec<Vec<Spec>> = Vec::new();
    for seed in root_seeds
        .iter()
        .map(|&s| Some(s))
        .chain(root_seeds.is_empty().then_some(None))
    {
        sets.push(args.variation.resolve(&specs, registry, load, seed)?);
    }
    if args.variation.print(&sets[0]) {
        return Ok(true);
    }
    let filters = sets[0]
        .iter()
        .map(|s| args.variation.filter(s, registry))
        .collect::<Result<Vec<_>>>()?;
    // Each spec compares with the baselines of its own repository, wherever check runs.
    let baselines_of = |spec: &Spec| {
        args.baselines
            .clone()
            .unwrap_or_else(|| default_baselines(&spec.file))
    };
    let options = RunOptions {
        jobs: args.jobs,
        dry_run: args.dry_run,
        ..Default::default()
    };
    if args.dry_run {
        let progress = TerminalProgress::new();
        for spec in &specs {
            let summary = run_spec(
                spec,
                registry,
                &args.out,
                &options,
                &progress,
                &build_info(),
            )?;
            say!(
                "{}: {} trials, {} stored, {} to run{}",
                spec.name,
                summary.total,
                summary.stored,
                summary.total - summary.stored,
                if spec.expect.is_empty() && spec.refuted.is_empty() {
                    String::new()
                } else {
                    format!("; {} checks", spec.expect.len() + spec.refuted.len())
                }
            );
        }
        return Ok(true);
    }
    let pages = report::pages_dir(&args.reports, args.quick);
    let progress = TerminalProgress::new();
    let run = |spec: &Spec, filter: &harness::filter::Filter| -> Result<()> {
        let options = RunOptions {
            filter: filter.clone(),
            ..options.clone()
        };
        run_spec(
            spec,
            registry,
            &args.out,
            &options,
            &progress,
            &build_info(),
        )
        .map(|_| ())
        .map_err(anyhow::Error::from)
    };
    let mut summaries = Vec::new();
    let mut checked = Vec::new();
    for (k, (spec, filter)) in sets[0].iter().zip(&filters).enumerate() {
        run(spec, filter)?;
        let spec = &args.variation.narrowed(spec, registry)?;
        let baselines = baselines_of(spec);
        let mut evaluated = evaluate_spec(spec, &args.out, &baselines, args.quick)?;
        let others: Vec<Spec> = match args.reseed {
            Some(n) => (1..=n).map(|i| spec.reseeded(i)).collect(),
            None => sets[1..].iter().map(|set| set[k].clone()).collect(),
        };
        if !others.is_empty() {
            let mut reseeded = Vec::with_capacity(others.len());
            for other in &others {
                run(other, filter)?;
                let other = &args.variation.narrowed(other, registry)?;
                reseeded.push(evaluate_spec(other, &args.out, &baselines, args.quick)?.checks);
            }
            report::checks::tally_seeds(
                &mut evaluated.checks,
                &report::checks::seed_dependent(spec),
                &reseeded,
            );
        }
        summaries.push(render_spec(spec, &evaluated, &args.out, &pages)?);
        for change in &evaluated.input_changes {
            eprintln!("warning: {}: {change}", spec.name);
        }
        let checks = evaluated.checks;
        if checks.is_empty() {
            say!("NONE {}: the spec states no checks", spec.name);
        }
        for c in &checks {
            say!("{}", check_line(&spec.name, c));
        }
        checked.push((spec.name.clone(), checks));
    }
    progress.failure_summary();
    update_index(&summaries, &pages)?;
    let totals = CheckTotals::of(&checked);
    say!("{}", totals.line());
    say!("{}", report::pages_line(&summaries, &pages));
    if let Some(path) = &args.markdown {
        std::fs::write(path, check_markdown(&checked))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, report::junit::junit_xml(&checked))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(totals.failed == 0)
}

pub fn baseline(command: &BaselineCommand, registry: &Registry) -> Result<()> {
    let BaselineCommand::Save {
        name,
        out,
        baselines,
        quick,
    } = command;
    // A spec's name is one plain path component: `../x` or `a/b` would read a store and write a
    // baseline outside --out and --baselines.
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && std::path::Path::new(name).components().count() == 1;
    if !plain {
        return Err(UserError::new(format!(
            "baseline save: `{name}` is not a spec name; accepted: the name of a spec's store under --out (no `/`, `\\` or leading `.`), e.g. `attack-rank-one`"
        ))
        .into());
    }
    let dir = out.join(name);
    let spec_file = dir.join(harness::store::schema::SPEC_FILE);
    if !spec_file.exists() {
        return Err(UserError::new(format!(
            "{}: no stored run of spec `{name}`; run it first",
            dir.display()
        ))
        .into());
    }
    let spec = load_spec(
        &spec_file,
        registry,
        LoadOptions {
            allow_large: false,
            quick: *quick,
        },
    )?;
    let agg = aggregate(&dir, Some(&trial_ids(&spec, &dir)?), spec.report.interval)?;
    let path = baseline_path(baselines, name, *quick);
    save_baseline(&agg, &path)?;
    say!(
        "{}: {} groups × {} metrics",
        path.display(),
        agg.groups.len(),
        agg.metrics.len()
    );
    Ok(())
}
