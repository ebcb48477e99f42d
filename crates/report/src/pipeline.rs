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

/// The committed baselines of the repository a spec file (or a results folder) lives in: the
/// first `results/baselines` folder found going up from it, so that a spec checked from outside
/// its repository is still compared with its own baselines. `None` when there is none; the
/// caller then falls back to [`DEFAULT_BASELINES`] (relative to the folder subbench runs in).
pub fn find_baselines(from: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(from).ok()?;
    let start = if start.is_file() {
        start.parent()?.to_path_buf()
    } else {
        start
    };
    start
        .ancestors()
        .map(|dir| dir.join(DEFAULT_BASELINES))
        .find(|b| b.is_dir())
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
    let data = crate::checks::Data {
        agg: &agg,
        records: &records,
        store: &dir,
        interval: spec.report.interval,
    };
    let mut checks = evaluate_checks(spec, &data, &baseline_path(baselines, &spec.name, quick));
    // A check that fails over an incomplete sweep may fail for lack of seeds: say so.
    let expected = spec.points.len() * spec.seeds as usize;
    if ids.len() < expected {
        for c in checks.iter_mut().filter(|c| !c.passed) {
            c.detail.push_str(&format!(
                " (the sweep is incomplete: {} of {expected} trials stored)",
                ids.len()
            ));
        }
    }
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

/// Where the pages of the `quick` or full sweeps go, given the reports folder: quick pages in
/// its `quick/` subfolder (unless it is one already, as `just check`'s `reports/quick`), so
/// that the quick and the full page of a spec live side by side.
pub fn pages_dir(reports: &Path, quick: bool) -> PathBuf {
    if quick && reports.file_name().is_none_or(|n| n != "quick") {
        reports.join("quick")
    } else {
        reports.to_path_buf()
    }
}

/// The specs an index lists (its `index.json`), with whether each page shows the quick sweep.
fn indexed(reports: &Path) -> Vec<(String, bool)> {
    std::fs::read_to_string(reports.join("index.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|j| j.get("specs").and_then(|s| s.as_array()).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|s| {
            Some((
                s.get("name")?.as_str()?.to_string(),
                s.get("quick").and_then(|q| q.as_bool()).unwrap_or(false),
            ))
        })
        .collect()
}

/// Which sweeps of each store [`render_all`] renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweeps {
    /// Each store for the sweep its pages were rendered for (quick pages stay quick), the full
    /// sweep for a store without pages; `ran` says which specs were just run, and how.
    AsChecked,
    /// Every store's quick sweep (`report --quick`).
    Quick,
}

/// Pages for every store under `results` that has its spec, plus the indexes, into `reports`
/// (quick pages into [`pages_dir`]). `ran` lists the specs just run, with whether the run was
/// quick: their pages show that sweep.
pub fn render_all(
    results: &Path,
    reports: &Path,
    baselines: &Path,
    registry: &Registry,
    sweeps: Sweeps,
    ran: &[(String, bool)],
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
    let (full_dir, quick_dir) = (pages_dir(reports, false), pages_dir(reports, true));
    let (full_pages, quick_pages) = if full_dir == quick_dir {
        let all = indexed(&full_dir);
        let (quick, full): (Vec<_>, Vec<_>) = all.into_iter().partition(|(_, q)| *q);
        (full, quick)
    } else {
        (indexed(&full_dir), indexed(&quick_dir))
    };
    let listed = |pages: &[(String, bool)], name: &str| pages.iter().any(|(n, _)| n == name);
    let mut full = Rendered::default();
    let mut quick = Rendered::default();
    for dir in dirs {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        let just_ran = ran.iter().find(|(n, _)| *n == name).map(|(_, q)| *q);
        let (want_full, want_quick) = match sweeps {
            Sweeps::Quick => (false, true),
            Sweeps::AsChecked => (
                just_ran == Some(false)
                    || listed(&full_pages, &name)
                    || (!listed(&quick_pages, &name) && just_ran.is_none()),
                just_ran == Some(true) || listed(&quick_pages, &name),
            ),
        };
        for (wanted, is_quick, into) in [
            (want_full, false, &mut full),
            (want_quick, true, &mut quick),
        ] {
            if !wanted {
                continue;
            }
            let pages = pages_dir(reports, is_quick);
            match render_store(&dir, results, &pages, baselines, registry, is_quick) {
                Ok((summary, notes)) => {
                    into.notes
                        .extend(notes.into_iter().map(|n| format!("{}: {n}", dir.display())));
                    into.summaries.push(summary);
                }
                Err(why) => into.problems.push(StoreProblem {
                    store: dir.display().to_string(),
                    why,
                }),
            }
        }
    }
    if full_dir == quick_dir {
        full.summaries.append(&mut quick.summaries);
        full.problems.append(&mut quick.problems);
        full.notes.append(&mut quick.notes);
        write_index(&full.summaries, &full.problems, &full_dir)?;
        return Ok(full);
    }
    if sweeps != Sweeps::Quick {
        write_index(&full.summaries, &full.problems, &full_dir)?;
    }
    if !quick.summaries.is_empty() || !quick.problems.is_empty() {
        write_index(&quick.summaries, &quick.problems, &quick_dir)?;
    }
    full.summaries.append(&mut quick.summaries);
    full.problems.append(&mut quick.problems);
    full.notes.append(&mut quick.notes);
    Ok(full)
}

/// The page of the store `dir` (a folder of `results`), or why there is none.
fn render_store(
    dir: &Path,
    results: &Path,
    reports: &Path,
    baselines: &Path,
    registry: &Registry,
    quick: bool,
) -> Result<(SpecSummary, Vec<String>), String> {
    let options = LoadOptions {
        quick,
        ..LoadOptions::default()
    };
    let spec = load_spec(&dir.join("spec.yaml"), registry, options)
        .map_err(|e| format!("its stored spec does not load: {e}"))?;
    let folder = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if folder != spec.name {
        return Err(format!(
            "it holds spec `{}`, whose store is {} (a copied or renamed folder); move it back or rerun the spec",
            spec.name,
            results.join(&spec.name).display()
        ));
    }
    evaluate_spec(&spec, results, baselines, quick)
        .and_then(|evaluated| {
            let summary = render_spec(&spec, &evaluated, results, reports)?;
            Ok((summary, evaluated.input_changes))
        })
        .map_err(|e| e.to_string())
}
