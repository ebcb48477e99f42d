//! `subbench report`, `summary`, `check` and `baseline save`: aggregated results, claims and pages.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use harness::spec::{load_spec, LoadOptions};
use harness::{load_specs, run_spec, Registry, RunOptions, Spec, Store};
use report::checks::save_baseline;
use report::{
    aggregate, aggregate_curves, evaluate_checks, write_index, write_spec_report, Aggregate,
    CheckOutcome, SpecSummary,
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
    /// Worker threads [default: all cores].
    #[arg(long, short)]
    pub jobs: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Store the current aggregated means of spec NAME as results/baselines/NAME.parquet.
    Save {
        name: String,
        #[arg(long, default_value = "results")]
        out: PathBuf,
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

/// `results/baselines/NAME.parquet`, or `NAME.quick.parquet` for the `--quick` variant: the two
/// runs have different points and seeds, so each has its own baseline.
fn baseline_path(out: &Path, name: &str, quick: bool) -> PathBuf {
    out.join("baselines").join(if quick {
        format!("{name}.quick.parquet")
    } else {
        format!("{name}.parquet")
    })
}

/// Aggregate, check and render one spec; returns the summary for the index and the checks.
fn report_spec(
    spec: &Spec,
    out: &Path,
    reports: &Path,
    quick: bool,
) -> Result<(SpecSummary, Vec<CheckOutcome>, Aggregate)> {
    let dir = Store::new(out, &spec.name, None).dir().to_path_buf();
    let ids = trial_ids(spec, &dir)?;
    let agg = aggregate(&dir, Some(&ids), spec.report.interval)?;
    let records: Vec<_> = Store::at(&dir)
        .load()
        .map_err(harness_error)?
        .into_iter()
        .filter(|r| ids.contains(&r.trial_id))
        .collect();
    let checks = evaluate_checks(spec, &agg, &records, &baseline_path(out, &spec.name, quick));
    let curves = aggregate_curves(&dir, Some(&ids))?;
    let summary = write_spec_report(spec, &agg, &curves, &records, &checks, &dir, reports)?;
    Ok((summary, checks, agg))
}

/// Pages for every store under `results` that has its spec, plus the index.
pub fn report(args: &ReportArgs, registry: &Registry) -> Result<()> {
    let summaries = render_all(&args.results, &args.out, registry)?;
    println!(
        "{} spec pages and {} written",
        summaries.len(),
        args.out.join("index.html").display()
    );
    Ok(())
}

/// Render every stored spec (used by `report` and after `run`).
pub fn render_all(results: &Path, reports: &Path, registry: &Registry) -> Result<Vec<SpecSummary>> {
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
    let mut summaries = Vec::new();
    for dir in dirs {
        let spec = load_spec(&dir.join("spec.yaml"), registry, LoadOptions::default())
            .map_err(|e| UserError::new(e.to_string()))?;
        let (summary, _, _) = report_spec(&spec, results, reports, false)
            .with_context(|| format!("report of {}", spec.name))?;
        summaries.push(summary);
    }
    write_index(&summaries, reports)?;
    Ok(summaries)
}

pub fn summary(args: &SummaryArgs) -> Result<()> {
    let agg = aggregate(&args.dir, None, Default::default())
        .map_err(|e| UserError::new(e.to_string()))?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&agg)?),
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
            // CSV cells with a separator or quote (list values such as [3.0,1.0]) are quoted.
            let quote = |c: String| {
                if csv && (c.contains(',') || c.contains('"')) {
                    format!("\"{}\"", c.replace('"', "\"\""))
                } else {
                    c
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
            print!("{out}");
        }
    }
    Ok(())
}

/// Run what is missing, evaluate every claim, print one line per check. `Ok(false)` when a check fails.
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
    let options = RunOptions {
        jobs: args.jobs,
        ..Default::default()
    };
    let progress = TerminalProgress::new();
    let mut markdown = String::from(
        "# subbench check\n\n| spec | check | result | details |\n|---|---|---|---|\n",
    );
    let (mut passed, mut failed, mut refuted) = (0, 0, 0);
    let mut summaries = Vec::new();
    for spec in &specs {
        run_spec(
            spec,
            registry,
            &args.out,
            &options,
            &progress,
            &build_info(),
        )
        .map_err(harness_error)?;
        let (summary, checks, _) = report_spec(spec, &args.out, &args.reports, args.quick)?;
        summaries.push(summary);
        if checks.is_empty() {
            println!("NONE {}: the spec states no checks", spec.name);
        }
        for c in &checks {
            let verdict = match (c.passed, c.refuted) {
                (true, false) => "PASS",
                (true, true) => "NOT REPRODUCED",
                (false, _) => "FAIL",
            };
            println!("{verdict} {}: {} — {}", spec.name, c.description, c.detail);
            let _ = writeln!(
                markdown,
                "| {} | {} | {} | {} |",
                spec.name,
                c.description.replace('|', "\\|"),
                verdict,
                c.detail.replace('|', "\\|")
            );
            match (c.passed, c.refuted) {
                (true, false) => passed += 1,
                (true, true) => refuted += 1,
                (false, _) => failed += 1,
            }
        }
    }
    write_index(&summaries, &args.reports)?;
    let totals = format!(
        "{passed} passed, {failed} failed, {refuted} claims of the papers not reproduced (as the specs say)"
    );
    let _ = writeln!(markdown, "\n{totals}");
    println!("{totals}");
    if let Some(path) = &args.markdown {
        std::fs::write(path, markdown).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(failed == 0)
}

pub fn baseline(command: &BaselineCommand, registry: &Registry) -> Result<()> {
    let BaselineCommand::Save { name, out, quick } = command;
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
    let path = baseline_path(out, name, *quick);
    save_baseline(&agg, &path)?;
    println!(
        "{}: {} groups × {} metrics",
        path.display(),
        agg.groups.len(),
        agg.metrics.len()
    );
    Ok(())
}
