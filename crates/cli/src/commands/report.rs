//! `subbench report`, `summary`, `check` and `baseline save`: aggregated results, claims and pages.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use harness::spec::{load_spec, LoadOptions};
use harness::{load_specs, run_spec, Registry, RunOptions, Spec, Store};
use report::checks::save_baseline;
use report::tables::markdown_escape;
use report::{
    aggregate, aggregate_curves, evaluate_checks, update_index, write_index, write_spec_report,
    Aggregate, CheckOutcome, SpecSummary,
};

use crate::commands::run::{build_info, harness_error, TerminalProgress};
use crate::user_error::UserError;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The results folder (one store per spec).
    #[arg(default_value = "results")]
    pub results: PathBuf,
    /// Where the HTML, SVG, Markdown and LaTeX files go.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// Where the committed baselines are.
    #[arg(long, default_value = DEFAULT_BASELINES)]
    pub baselines: PathBuf,
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
}

/// The committed baselines, relative to the folder subbench runs in: a CI job that writes its
/// results elsewhere (`--out ci-out`) still compares with them.
pub const DEFAULT_BASELINES: &str = "results/baselines";

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

/// The ids of the trials the spec (as loaded) consists of whose stored record was computed by
/// the methods' current code: reports never mix code identities.
fn trial_ids(spec: &Spec, dir: &Path) -> Result<HashSet<String>> {
    let ids = spec.trials(None).into_iter().map(|t| t.id).collect();
    let records = Store::at(dir).load().map_err(harness_error)?;
    Ok(harness::spec_external::current_ids(
        &ids,
        &spec.codes,
        &records,
    ))
}

/// `BASELINES/NAME.parquet`, or `NAME.quick.parquet` for the `--quick` variant: the two runs
/// have different points and seeds, so each has its own baseline.
fn baseline_path(baselines: &Path, name: &str, quick: bool) -> PathBuf {
    baselines.join(if quick {
        format!("{name}.quick.parquet")
    } else {
        format!("{name}.parquet")
    })
}

/// A spec's stored trials, aggregated, and its checks evaluated on them.
struct Evaluated {
    agg: Aggregate,
    records: Vec<harness::TrialRecord>,
    checks: Vec<CheckOutcome>,
}

/// Aggregate the trials of `spec` (as loaded: its points and root seed) and evaluate its checks.
fn evaluate_spec(spec: &Spec, out: &Path, baselines: &Path, quick: bool) -> Result<Evaluated> {
    let dir = Store::new(out, &spec.name, None).dir().to_path_buf();
    let ids = trial_ids(spec, &dir)?;
    let agg = aggregate(&dir, Some(&ids), spec.report.interval)?;
    let records: Vec<_> = Store::at(&dir)
        .load()
        .map_err(harness_error)?
        .into_iter()
        .filter(|r| ids.contains(&r.trial_id))
        .collect();
    let checks = evaluate_checks(
        spec,
        &agg,
        &records,
        &baseline_path(baselines, &spec.name, quick),
    );
    Ok(Evaluated {
        agg,
        records,
        checks,
    })
}

/// Render the page of an evaluated spec; returns the summary for the index.
fn render_spec(
    spec: &Spec,
    evaluated: &Evaluated,
    out: &Path,
    reports: &Path,
) -> Result<SpecSummary> {
    let dir = Store::new(out, &spec.name, None).dir().to_path_buf();
    let curves = aggregate_curves(&dir, Some(&trial_ids(spec, &dir)?))?;
    Ok(write_spec_report(
        spec,
        &evaluated.agg,
        &curves,
        &evaluated.records,
        &evaluated.checks,
        &dir,
        reports,
    )?)
}

/// Pages for every store under `results` that has its spec, plus the index.
pub fn report(args: &ReportArgs, registry: &Registry) -> Result<()> {
    let summaries = render_all(&args.results, &args.out, &args.baselines, registry)?;
    say!(
        "{} spec pages and {} written",
        summaries.len(),
        args.out.join("index.html").display()
    );
    Ok(())
}

/// Render every stored spec (used by `report` and after `run`).
pub fn render_all(
    results: &Path,
    reports: &Path,
    baselines: &Path,
    registry: &Registry,
) -> Result<Vec<SpecSummary>> {
    let entries = std::fs::read_dir(results).map_err(|e| {
        UserError::new(format!(
            "{}: cannot read results folder: {e}",
            results.display()
        ))
    })?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("spec.yaml").exists())
        .collect();
    dirs.sort();
    // One store that cannot be reported (its spec no longer loads, its data is unreadable, it
    // was copied under another name) is one warning and one line on the index: it never stops
    // the pages of the others, nor the exit code of the run that rendered them.
    let mut summaries = Vec::new();
    let mut problems = Vec::new();
    for dir in dirs {
        let reported = load_spec(&dir.join("spec.yaml"), registry, LoadOptions::default())
            .map_err(|e| anyhow::anyhow!("its stored spec does not load: {e}"))
            .and_then(|spec| {
                let folder = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if folder != spec.name {
                    anyhow::bail!(
                        "it holds spec `{}`, whose store is {} (a copied or renamed folder); move it back or rerun the spec",
                        spec.name,
                        results.join(&spec.name).display()
                    );
                }
                evaluate_spec(&spec, results, baselines, false)
                    .and_then(|evaluated| render_spec(&spec, &evaluated, results, reports))
            });
        match reported {
            Ok(summary) => summaries.push(summary),
            Err(e) => {
                let why = format!("{e:#}");
                eprintln!("warning: {}: not reported: {why}", dir.display());
                problems.push(report::StoreProblem {
                    store: dir.display().to_string(),
                    why,
                });
            }
        }
    }
    write_index(&summaries, &problems, reports)?;
    Ok(summaries)
}

/// The aggregated table of one store: the trials of its stored spec's expansion, as `report`
/// shows them (stale trials of an edited spec, and the extra seeds of a full run beside a quick
/// one, are left out), saying on stderr what it shows.
pub fn summary(args: &SummaryArgs, registry: &Registry) -> Result<()> {
    let spec_file = args.dir.join("spec.yaml");
    let spec = load_spec(&spec_file, registry, LoadOptions::default()).ok();
    let ids = match &spec {
        Some(spec) => Some(trial_ids(spec, &args.dir)?),
        None => None,
    };
    let interval = spec.as_ref().map(|s| s.report.interval).unwrap_or_default();
    let agg =
        aggregate(&args.dir, ids.as_ref(), interval).map_err(|e| UserError::new(e.to_string()))?;
    let shown: usize = agg.groups.iter().map(|g| g.n_trials).sum();
    match &spec {
        Some(spec) => eprintln!(
            "{}: the {shown} stored trials of spec `{}` as stored in {} (the full sweep, {} seeds per point; other stored trials are left out)",
            args.dir.display(),
            spec.name,
            spec_file.display(),
            spec.seeds
        ),
        None => eprintln!(
            "{}: every stored trial ({shown}): {} is missing or no longer loads, so nothing tells current trials from stale ones",
            args.dir.display(),
            spec_file.display()
        ),
    }
    match args.format {
        Format::Json => say!("{}", serde_json::to_string_pretty(&agg)?),
        Format::Csv | Format::Md => {
            let sep = if matches!(args.format, Format::Csv) {
                ","
            } else {
                " | "
            };
            let mut header: Vec<String> = agg.keys.clone();
            header.extend(["n_trials".into(), "n_failed".into()]);
            for m in &agg.metrics {
                for s in [
                    "n", "mean", "std", "median", "min", "max", "ci_low", "ci_high",
                ] {
                    header.push(format!("{m}_{s}"));
                }
            }
            let mut out = String::new();
            let csv = matches!(args.format, Format::Csv);
            // CSV cells with a separator, quote or line break (list values such as [3.0,1.0])
            // are quoted; Markdown cells are escaped.
            let quote = |c: String| {
                if csv {
                    if c.contains([',', '"', '\n', '\r']) {
                        format!("\"{}\"", c.replace('"', "\"\""))
                    } else {
                        c
                    }
                } else {
                    markdown_escape(&c)
                }
            };
            let wrap = |cells: Vec<String>| {
                let cells: Vec<String> = cells.into_iter().map(quote).collect();
                if csv {
                    cells.join(sep)
                } else {
                    format!("| {} |", cells.join(sep))
                }
            };
            let _ = writeln!(out, "{}", wrap(header.clone()));
            if matches!(args.format, Format::Md) {
                let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
            }
            for g in &agg.groups {
                let mut cells: Vec<String> = g.key.iter().map(|v| v.to_string()).collect();
                cells.extend([g.n_trials.to_string(), g.n_failed.to_string()]);
                for m in &agg.metrics {
                    match g.metrics.get(m) {
                        Some(s) => cells.extend([
                            s.n.to_string(),
                            format!("{:?}", s.mean),
                            format!("{:?}", s.std),
                            format!("{:?}", s.median),
                            format!("{:?}", s.min),
                            format!("{:?}", s.max),
                            format!("{:?}", s.ci_low),
                            format!("{:?}", s.ci_high),
                        ]),
                        None => cells.extend(std::iter::repeat_n(String::new(), 8)),
                    }
                }
                let _ = writeln!(out, "{}", wrap(cells));
            }
            say_raw!("{out}");
        }
    }
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
    )
    .map_err(harness_error)?;
    check_arguments(args, &specs)?;
    let baselines = args
        .baselines
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_BASELINES));
    let options = RunOptions {
        jobs: args.jobs,
        ..Default::default()
    };
    let progress = TerminalProgress::new();
    let run = |spec: &Spec| -> Result<()> {
        run_spec(
            spec,
            registry,
            &args.out,
            &options,
            &progress,
            &build_info(),
        )
        .map(|_| ())
        .map_err(harness_error)
    };
    let mut markdown = String::from(
        "# subbench check\n\n| spec | check | result | details |\n|---|---|---|---|\n",
    );
    let (mut passed, mut failed, mut refuted) = (0, 0, 0);
    let mut summaries = Vec::new();
    let mut junit = Vec::new();
    for spec in &specs {
        run(spec)?;
        let mut evaluated = evaluate_spec(spec, &args.out, &baselines, args.quick)?;
        if let Some(n) = args.reseed {
            let mut reseeded = Vec::with_capacity(n as usize);
            for i in 1..=n {
                let other = spec.reseeded(i);
                run(&other)?;
                reseeded.push(evaluate_spec(&other, &args.out, &baselines, args.quick)?.checks);
            }
            report::checks::tally_seeds(
                &mut evaluated.checks,
                &report::checks::seed_dependent(spec),
                &reseeded,
            );
        }
        summaries.push(render_spec(spec, &evaluated, &args.out, &args.reports)?);
        let checks = evaluated.checks;
        if checks.is_empty() {
            say!("NONE {}: the spec states no checks", spec.name);
        }
        for c in &checks {
            let verdict = c.verdict();
            let seeds = c
                .seeds_text()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            say!(
                "{verdict} {}: {}{seeds} — {}",
                spec.name,
                c.description,
                c.detail
            );
            let _ = writeln!(
                markdown,
                "| {} | {} | {verdict}{seeds} | {} |",
                spec.name,
                markdown_escape(&c.description),
                markdown_escape(&c.detail)
            );
            match (c.ok(), c.refuted) {
                (true, false) => passed += 1,
                (true, true) => refuted += 1,
                (false, _) => failed += 1,
            }
        }
        junit.push((spec.name.clone(), checks));
    }
    update_index(&summaries, &args.reports)?;
    let totals = format!(
        "{passed} passed, {failed} failed, {refuted} claims of the papers not reproduced (as the specs say)"
    );
    let _ = writeln!(markdown, "\n{totals}");
    say!("{totals}");
    if let Some(path) = &args.markdown {
        std::fs::write(path, markdown).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, report::junit::junit_xml(&junit))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(failed == 0)
}

pub fn baseline(command: &BaselineCommand, registry: &Registry) -> Result<()> {
    let BaselineCommand::Save {
        name,
        out,
        baselines,
        quick,
    } = command;
    let dir = out.join(name);
    let spec_file = dir.join("spec.yaml");
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
    )
    .map_err(|e| UserError::new(e.to_string()))?;
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
