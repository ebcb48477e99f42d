//! `baseline` checks: the aggregated means equal a saved baseline file within tolerances; and
//! the writing of that file (`subbench baseline save`). Grammar and validation:
//! [`harness::spec::BaselineCheck`] (crates/harness/src/spec/checks.rs).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use harness::spec::BaselineCheck;
use polars::prelude::*;

use super::{group_label, num, outcome, Judged};
use crate::aggregate::{Aggregate, Group};
use crate::ReportError;

/// The aggregated means against the baseline file `baseline` (a missing file fails, naming
/// the command that writes it).
pub fn evaluate(check: &BaselineCheck, agg: &Aggregate, baseline: &Path) -> Judged {
    let BaselineCheck {
        metrics,
        abs_tol,
        rel_tol,
    } = check;
    let description = format!(
        "baseline: aggregated means equal {} within {} + {}·|baseline|",
        baseline.display(),
        num(*abs_tol),
        num(*rel_tol)
    );
    match compare_baseline(agg, baseline, metrics, *abs_tol, *rel_tol) {
        Ok((passed, detail)) => outcome(description, passed, detail),
        Err(e) => outcome(description, false, e.to_string()),
    }
}

fn group_key_text(agg: &Aggregate, g: &Group) -> String {
    agg.keys
        .iter()
        .zip(&g.key)
        .map(|(k, v)| format!("{k}={}", v.canonical()))
        .collect::<Vec<_>>()
        .join(";")
}

/// Write the aggregated means of `agg` as the baseline file `path` (parquet: a `group` column and
/// one `mean_<metric>` column per metric). Refused while a group has no ok trial: its cells would
/// be empty, and an empty cell checks nothing.
pub fn save_baseline(agg: &Aggregate, path: &Path) -> Result<(), ReportError> {
    if let Some(g) = agg
        .groups
        .iter()
        .find(|g| g.n_trials > 0 && g.n_failed >= g.n_trials)
    {
        return Err(ReportError::Data(format!(
            "not saving {}: group {} has no ok trial ({} of {} failed), so the baseline could never check it; fix the failures (see `subbench summary`) and run again",
            path.display(),
            group_label(agg, g),
            g.n_failed,
            g.n_trials
        )));
    }
    let groups: Vec<String> = agg.groups.iter().map(|g| group_key_text(agg, g)).collect();
    let mut columns = vec![Column::new("group".into(), groups)];
    for m in &agg.metrics {
        let values: Vec<Option<f64>> = agg
            .groups
            .iter()
            .map(|g| g.metrics.get(m).map(|s| s.mean))
            .collect();
        columns.push(Column::new(format!("mean_{m}").into(), values));
    }
    let mut df =
        DataFrame::new(agg.groups.len(), columns).map_err(|e| ReportError::Data(e.to_string()))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ReportError::Write {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
    }
    // Written under a temporary name and renamed: a baseline is either the old one or the
    // new one, never half of one, whatever interrupts the save.
    let tmp = std::path::PathBuf::from(format!("{}.tmp-{}", path.display(), std::process::id()));
    let write_error = |p: &Path, e: String| ReportError::Write {
        path: p.display().to_string(),
        message: e,
    };
    let written = File::create(&tmp)
        .map_err(|e| write_error(&tmp, e.to_string()))
        .and_then(|file| {
            let mut file = file;
            ParquetWriter::new(&mut file)
                .finish(&mut df)
                .map_err(|e| write_error(&tmp, e.to_string()))?;
            file.sync_all()
                .map_err(|e| write_error(&tmp, e.to_string()))
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| write_error(path, e.to_string()))
}

fn compare_baseline(
    agg: &Aggregate,
    path: &Path,
    metrics: &[String],
    abs_tol: f64,
    rel_tol: f64,
) -> Result<(bool, String), ReportError> {
    let file = File::open(path).map_err(|_| {
        // `NAME.parquet` or `NAME.quick.parquet`: say the command that writes this very file.
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("NAME");
        let (name, quick) = match stem.strip_suffix(".quick") {
            Some(name) => (name, " --quick"),
            None => (stem, ""),
        };
        let folder = path
            .parent()
            .map(|p| format!(" --baselines {}", p.display()))
            .unwrap_or_default();
        ReportError::Data(format!(
            "no baseline at {}; create it with `subbench baseline save {name}{quick}{folder}` after a run",
            path.display()
        ))
    })?;
    let df = ParquetReader::new(file)
        .finish()
        .map_err(|e| ReportError::Data(format!("{}: {e}", path.display())))?;
    let groups = df
        .column("group")
        .and_then(|c| c.str().cloned())
        .map_err(|e| ReportError::Data(e.to_string()))?;
    let current: BTreeMap<String, &Group> = agg
        .groups
        .iter()
        .map(|g| (group_key_text(agg, g), g))
        .collect();
    let names: Vec<String> = if metrics.is_empty() {
        df.get_column_names()
            .iter()
            .filter_map(|c| c.strip_prefix("mean_").map(str::to_string))
            .collect()
    } else {
        metrics.to_vec()
    };
    let mut compared = 0;
    for m in &names {
        let column = df
            .column(&format!("mean_{m}"))
            .and_then(|c| c.f64().cloned())
            .map_err(|_| {
                ReportError::Data(format!("the baseline has no metric `{m}`; save it again"))
            })?;
        for row in 0..df.height() {
            let Some(group) = groups.get(row) else {
                continue;
            };
            let now = current
                .get(group)
                .and_then(|g| g.metrics.get(m))
                .map(|s| s.mean);
            let Some(base) = column.get(row) else {
                // Saved while the group had no value: it checks nothing until saved again.
                if now.is_some() {
                    return Ok((
                        false,
                        format!("{m} at {group}: the baseline has no value (saved while the group had no ok trial); save the baseline again"),
                    ));
                }
                continue;
            };
            let Some(now) = now else {
                return Ok((
                    false,
                    format!("group {group} of the baseline has no ok trials now"),
                ));
            };
            compared += 1;
            let tol = abs_tol + rel_tol * base.abs();
            if (now - base).abs() > tol || now.is_nan() {
                return Ok((
                    false,
                    format!(
                        "{m} at {group}: {} now vs {} in the baseline (|Δ| = {} > {})",
                        num(now),
                        num(base),
                        num((now - base).abs()),
                        num(tol)
                    ),
                ));
            }
        }
    }
    // A group the baseline does not know (the sweep grew) is not a regression check at all yet.
    let known: std::collections::BTreeSet<&str> =
        (0..groups.len()).filter_map(|i| groups.get(i)).collect();
    if let Some(new) = current.keys().find(|g| !known.contains(g.as_str())) {
        return Ok((
            false,
            format!(
                "group {new} has no baseline value (the sweep changed); save the baseline again"
            ),
        ));
    }
    Ok((compared > 0, format!("{compared} values within tolerance")))
}
