//! `subbench compare`: two result sets, every metric, a statistical verdict. The statistics and
//! the output live in `report::compare`; this reads the arguments, the stores and writes files.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use harness::Registry;
use report::compare::input::{metric_info, read_baseline, read_store, StoreInput};
use report::compare::{compare as compare_sides, forest, render, Margin, Options, Side, Verdict};

use crate::user_error::UserError;

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The first side: a store folder (e.g. results/attack-budget), or with --baseline a baseline
    /// file (results/baselines/NAME.parquet).
    pub a: PathBuf,
    /// The second side: a store folder of the same spec (left out with --between).
    pub b: Option<PathBuf>,
    /// Compare two groups of store A instead, matched on every other parameter:
    /// `--between method=subspace.angles,scipy.subspace_angles`.
    #[arg(long, value_name = "KEY=X,Y")]
    pub between: Option<String>,
    /// A is a saved baseline (means only): B's seeds are tested against its means.
    #[arg(long)]
    pub baseline: bool,
    /// False discovery rate of the Benjamini–Hochberg step across all rows.
    #[arg(long, default_value_t = 0.05)]
    pub fdr: f64,
    /// Margin of `unchanged`: an absolute difference (`1e-9`) or a share of A's mean (`1%`)
    /// [default: the spec's baseline tolerance, else 0: only identical is unchanged].
    #[arg(long, value_name = "X or X%")]
    pub equivalence: Option<String>,
    /// Percentile-bootstrap intervals and p-values instead of t (10,000 resamples, seeded).
    #[arg(long)]
    pub bootstrap: bool,
    /// Seed of the bootstrap's generator.
    #[arg(long, default_value_t = 1)]
    pub bootstrap_seed: u64,
    /// Exit with 1 when a row is worse (or, `changed`, better, worse or changed).
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Also write the comparison as Markdown (for a CI job summary).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Also write one CSV line per row.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// List the unchanged rows too.
    #[arg(long)]
    pub all: bool,
    /// Where the HTML page goes (as REPORTS/compare/NAME.html).
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Worse,
    Changed,
}

fn user(message: String) -> anyhow::Error {
    UserError::new(message).into()
}

/// `--equivalence X` or `X%`.
fn parse_margin(text: &str) -> Result<Margin> {
    let bad = || {
        user(format!(
            "--equivalence {text}: give a difference that is no change, absolute (`1e-9`) or relative to A's mean (`1%`), at least 0"
        ))
    };
    let (number, relative) = match text.strip_suffix('%') {
        Some(n) => (n, true),
        None => (text, false),
    };
    let x: f64 = number.trim().parse().map_err(|_| bad())?;
    if !x.is_finite() || x < 0.0 {
        return Err(bad());
    }
    Ok(if relative {
        Margin {
            abs: 0.0,
            rel: x / 100.0,
        }
    } else {
        Margin { abs: x, rel: 0.0 }
    })
}

fn check_arguments(args: &CompareArgs) -> Result<()> {
    if !(args.fdr > 0.0 && args.fdr < 1.0) {
        return Err(user(format!(
            "--fdr {}: give a false discovery rate between 0 and 1 (exclusive), e.g. 0.05",
            args.fdr
        )));
    }
    match (&args.b, &args.between, args.baseline) {
        (None, None, _) => Err(user(
            "compare: give two stores (`compare A B`), or one store and --between KEY=X,Y".into(),
        )),
        (Some(b), Some(_), _) => Err(user(format!(
            "compare {} {}: --between compares two groups of ONE store; leave out the second",
            args.a.display(),
            b.display()
        ))),
        (None, Some(_), true) => Err(user(
            "--baseline compares a baseline file with a store; it does not take --between".into(),
        )),
        _ => Ok(()),
    }?;
    for (flag, file) in [("--markdown", &args.markdown), ("--csv", &args.csv)] {
        let Some(file) = file else { continue };
        let parent = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(user(format!(
                "{flag} {}: the folder {} does not exist; create it first",
                file.display(),
                parent.display()
            )));
        }
    }
    Ok(())
}

/// `KEY=X,Y`.
fn parse_between(text: &str) -> Result<(String, String, String)> {
    let bad = || {
        user(format!(
            "--between {text}: write KEY=X,Y, e.g. --between method=subspace.angles,scipy.subspace_angles"
        ))
    };
    let (key, values) = text.split_once('=').ok_or_else(bad)?;
    let (x, y) = values.split_once(',').ok_or_else(bad)?;
    if key.is_empty() || x.is_empty() || y.is_empty() || y.contains(',') || x == y {
        return Err(bad());
    }
    Ok((key.to_string(), x.to_string(), y.to_string()))
}

fn store(dir: &Path, registry: &Registry) -> Result<StoreInput> {
    let input = read_store(dir, registry)?;
    if let Some(w) = &input.warning {
        eprintln!("warning: {w}");
    }
    Ok(input)
}

/// The two sides and the store whose spec describes the metrics.
fn sides(
    args: &CompareArgs,
    registry: &Registry,
    notes: &mut Vec<String>,
) -> Result<(Side, Side, StoreInput)> {
    if let Some(between) = &args.between {
        let (key, x, y) = parse_between(between)?;
        let input = store(&args.a, registry)?;
        let whole = Side::from_records(&args.a.display().to_string(), &input.records);
        let (a, b) = whole.split(&key, &x, &y).map_err(user)?;
        return Ok((a, b, input));
    }
    let b_dir = args.b.as_ref().expect("checked");
    let b_input = store(b_dir, registry)?;
    let b = Side::from_records(&b_dir.display().to_string(), &b_input.records);
    let a = if args.baseline {
        read_baseline(&args.a)?
    } else {
        let a_input = store(&args.a, registry)?;
        if let (Some(sa), Some(sb)) = (&a_input.spec, &b_input.spec) {
            if sa.name != sb.name {
                notes.push(format!(
                    "warning: A is a store of spec `{}`, B of spec `{}`; only points with the same parameters are compared",
                    sa.name, sb.name
                ));
            }
        }
        Side::from_records(&args.a.display().to_string(), &a_input.records)
    };
    Ok((a, b, b_input))
}

/// Compare, print, write; `Ok(false)` when `--fail-on` finds its rows.
pub fn compare(args: &CompareArgs, registry: &Registry) -> Result<bool> {
    check_arguments(args)?;
    let margin = args.equivalence.as_deref().map(parse_margin).transpose()?;
    let mut notes = Vec::new();
    let (a, b, input) = sides(args, registry, &mut notes)?;
    let shared: Vec<String> = {
        let theirs = b.metrics();
        let ours = a.metrics();
        let declared: Vec<String> = input
            .spec
            .as_ref()
            .map(|s| s.metrics.keys().cloned().collect())
            .unwrap_or_default();
        let mut names: Vec<String> = declared
            .into_iter()
            .filter(|m| ours.contains(m) && theirs.contains(m))
            .collect();
        for m in ours.intersection(&theirs) {
            if !names.contains(m) {
                names.push(m.clone());
            }
        }
        names
    };
    let metrics: Vec<_> = shared
        .iter()
        .map(|m| {
            let mut info = metric_info(input.spec.as_ref(), registry, m);
            if let Some(margin) = margin {
                info.margin = margin;
            }
            info
        })
        .collect();
    let options = Options {
        fdr: args.fdr,
        bootstrap: args.bootstrap.then_some(args.bootstrap_seed),
    };
    let c = compare_sides(&a, &b, &metrics, &options);
    if c.rows.is_empty() {
        return Err(user(format!(
            "compare: no point and metric of {} matches one of {} ({} and {} points, {} shared metrics); are they results of the same spec?",
            a.label,
            b.label,
            a.points.len(),
            b.points.len(),
            shared.len()
        )));
    }
    for note in notes {
        eprintln!("{note}");
    }
    if args.json {
        say_raw!("{}", render::json(&c)?);
    } else {
        say_raw!("{}", render::terminal(&c, args.all));
    }
    if let Some(path) = &args.markdown {
        std::fs::write(path, render::markdown(&c))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.csv {
        std::fs::write(path, render::csv(&c)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let name = input
        .spec
        .as_ref()
        .map_or_else(|| "store".to_string(), |s| s.name.clone());
    let page = args.reports.join("compare").join(format!("{name}.html"));
    forest::write_page(&c, &format!("compare: {name}"), &page)?;
    eprintln!("wrote {}", page.display());
    let failing = match args.fail_on {
        None => false,
        Some(FailOn::Worse) => c.count(Verdict::Worse) > 0,
        Some(FailOn::Changed) => c.rows.iter().any(|r| r.verdict.is_change()),
    };
    Ok(!failing)
}
