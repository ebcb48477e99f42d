//! The report pipeline: a spec's stored trials are filtered to its current expansion, aggregated,
//! its checks evaluated on them and its page rendered; `render_all` does that for every store of
//! a results folder and writes the index. `report`, `run` (after the trials), `check` and
//! `baseline save` all go through here, so that they see the same trials.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use harness::spec::{load_spec, LoadOptions};
use harness::{Registry, Spec, Store, TrialRecord};

use crate::page::PageData;
use crate::{
    aggregate, aggregate_curves, evaluate_checks, write_index, write_spec_report, Aggregate,
    CheckOutcome, ReportError, SpecSummary, StoreProblem,
};

/// The committed baselines, relative to the folder subbench runs in: a CI job that writes its
/// results elsewhere (`--out ci-out`) still compares with them.
pub const DEFAULT_BASELINES: &str = "results/baselines";

/// The ids of the trials the spec (as loaded) consists of whose stored record (among `records`)
/// was computed by the methods' current code: reports never mix code identities.
pub(crate) fn current_ids(spec: &Spec, records: &[TrialRecord]) -> HashSet<String> {
    let ids = spec.trials(None).into_iter().map(|t| t.id).collect();
    harness::spec_external::current_ids(&ids, &spec.codes, records)
}

/// [`current_ids`] of the store in `dir`.
pub fn trial_ids(spec: &Spec, dir: &Path) -> Result<HashSet<String>, ReportError> {
    let records = Store::at(dir).load()?;
    Ok(current_ids(spec, &records))
}

/// `BASELINES/NAME.parquet`, or `NAME.quick.parquet` for the `--quick` variant: the two runs
/// have different points and seeds, so each has its own baseline.
pub fn baseline_path(baselines: &Path, name: &str, quick: bool) -> PathBuf {
    baselines.join(if quick {
        format!("{name}.quick.parquet")
    } else {
        format!("{name}.parquet")
    })
}

/// A spec's stored trials, aggregated, and its checks evaluated on them.
pub struct Evaluated {
    pub agg: Aggregate,
    /// The stored records of the spec's current trials.
    pub records: Vec<TrialRecord>,
    pub checks: Vec<CheckOutcome>,
    /// Stored trials left out because an input file or their method's code changed since they
    /// ran (see [`Spec::changed_inputs`], [`Spec::changed_code`]): said on the page and by
    /// `check`.
    pub input_changes: Vec<String>,
    /// Their ids (what the curves of the page are filtered by).
    ids: HashSet<String>,
}

/// The store of `spec` under the results folder `out`.
fn store_dir(spec: &Spec, out: &Path) -> PathBuf {
    Store::new(out, &spec.name, None).dir().to_path_buf()
}

/// Aggregate the trials of `spec` (as loaded: its points and root seed) stored under `out` and
/// evaluate its checks (baseline checks against `baselines`, the `--quick` one when `quick`).
pub fn evaluate_spec(
    spec: &Spec,
    out: &Path,
    baselines: &Path,
    quick: bool,
) -> Result<Evaluated, ReportError> {
    let dir = store_dir(spec, out);
    let stored = Store::at(&dir).load()?;
    let ids = current_ids(spec, &stored);
    // Only worth saying while trials are missing: once the spec ran again, the old trials are
    // merely superseded.
    let missing = spec.points.len() * spec.seeds as usize > ids.len();
    let input_changes = if missing {
        let mut changes = spec.changed_inputs(&stored);
        changes.extend(spec.changed_code(&stored));
        changes
    } else {
        Vec::new()
    };
    let agg = aggregate(&dir, Some(&ids), spec.report.interval)?;
    let records: Vec<_> = stored
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
        input_changes,
        ids,
    })
}

/// Render the page of an evaluated spec into `reports`; returns its entry for the index.
pub fn render_spec(
    spec: &Spec,
    evaluated: &Evaluated,
    out: &Path,
    reports: &Path,
) -> Result<SpecSummary, ReportError> {
    let dir = store_dir(spec, out);
    let curves = aggregate_curves(&dir, Some(&evaluated.ids))?;
    write_spec_report(
        spec,
        &PageData {
            agg: &evaluated.agg,
            curves: &curves,
            records: &evaluated.records,
            checks: &evaluated.checks,
            input_changes: &evaluated.input_changes,
        },
        &dir,
        reports,
    )
}

/// What [`render_all`] wrote: a page per store, and the stores that could not be reported.
#[derive(Debug, Default)]
pub struct Rendered {
    pub summaries: Vec<SpecSummary>,
    /// Each is also a line on the index; the caller warns about them.
    pub problems: Vec<StoreProblem>,
    /// What the pages say about their stores that the caller should say too (an input file
    /// that changed since the stored trials ran).
    pub notes: Vec<String>,
}

impl Rendered {
    /// One line per store that was not reported, for the caller to print as a warning.
    pub fn warnings(&self) -> impl Iterator<Item = String> + '_ {
        self.problems
            .iter()
            .map(|p| format!("{}: not reported: {}", p.store, p.why))
            .chain(self.notes.iter().cloned())
    }
}

/// Pages for every store under `results` that has its spec, plus the index, into `reports`.
pub fn render_all(
    results: &Path,
    reports: &Path,
    baselines: &Path,
    registry: &Registry,
) -> Result<Rendered, ReportError> {
    let entries = std::fs::read_dir(results).map_err(|e| {
        ReportError::Data(format!(
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
    let mut rendered = Rendered::default();
    for dir in dirs {
        match render_store(&dir, results, reports, baselines, registry) {
            Ok((summary, notes)) => {
                rendered
                    .notes
                    .extend(notes.into_iter().map(|n| format!("{}: {n}", dir.display())));
                rendered.summaries.push(summary);
            }
            Err(why) => rendered.problems.push(StoreProblem {
                store: dir.display().to_string(),
                why,
            }),
        }
    }
    write_index(&rendered.summaries, &rendered.problems, reports)?;
    Ok(rendered)
}

/// The page of the store `dir` (a folder of `results`), or why there is none.
fn render_store(
    dir: &Path,
    results: &Path,
    reports: &Path,
    baselines: &Path,
    registry: &Registry,
) -> Result<(SpecSummary, Vec<String>), String> {
    let spec = load_spec(&dir.join("spec.yaml"), registry, LoadOptions::default())
        .map_err(|e| format!("its stored spec does not load: {e}"))?;
    let folder = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if folder != spec.name {
        return Err(format!(
            "it holds spec `{}`, whose store is {} (a copied or renamed folder); move it back or rerun the spec",
            spec.name,
            results.join(&spec.name).display()
        ));
    }
    evaluate_spec(&spec, results, baselines, false)
        .and_then(|evaluated| {
            let summary = render_spec(&spec, &evaluated, results, reports)?;
            Ok((summary, evaluated.input_changes))
        })
        .map_err(|e| e.to_string())
}
