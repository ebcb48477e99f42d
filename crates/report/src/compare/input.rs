//! Reading the two sides: a store (its current trials, through the store's public reader), or a
//! saved baseline file; and what the spec says of each metric.

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;

use harness::spec::{load_spec, CheckSpec, LoadOptions};
use harness::{Registry, Spec, Store, TrialRecord};
use polars::prelude::*;

use super::matching::{Point, Side};
use super::{Margin, MetricInfo};
use crate::pipeline::trial_ids;
use crate::ReportError;

/// A store read for a comparison.
pub struct StoreInput {
    /// The stored spec, when `spec.yaml` loads (it gives directions, tolerances, and which
    /// stored trials are current).
    pub spec: Option<Spec>,
    /// The trials compared: those of the stored spec's expansion, full or `quick:`, computed by
    /// the methods' current code; every stored trial when the spec does not load.
    pub records: Vec<TrialRecord>,
    /// Said on stderr: why every stored trial is used.
    pub warning: Option<String>,
}

/// The store in `dir`. A folder that is not a store, or holds no trial, is an error naming it.
pub fn read_store(dir: &Path, registry: &Registry) -> Result<StoreInput, ReportError> {
    if !dir.is_dir() {
        return Err(ReportError::Data(format!(
            "{}: no such folder; give a store folder (e.g. results/attack-budget) or, with --baseline, a baseline file",
            dir.display()
        )));
    }
    let store = Store::at(dir);
    if !store.has_trials() {
        return Err(ReportError::Data(format!(
            "{}: not a result store, or it holds no trial yet; run the spec first",
            dir.display()
        )));
    }
    let records = store.load()?;
    let spec_file = dir.join("spec.yaml");
    let load = |quick| {
        load_spec(
            &spec_file,
            registry,
            LoadOptions {
                allow_large: true,
                quick,
            },
        )
    };
    let (spec, warning) = match (load(false), load(true)) {
        (Ok(full), Ok(quick)) => {
            let mut ids: HashSet<String> = trial_ids(&full, dir)?;
            ids.extend(trial_ids(&quick, dir)?);
            let records: Vec<TrialRecord> = records
                .into_iter()
                .filter(|r| ids.contains(&r.trial_id))
                .collect();
            return Ok(StoreInput {
                spec: Some(full),
                records,
                warning: None,
            });
        }
        (Err(e), _) | (_, Err(e)) => (
            None,
            format!(
                "{}: {} does not load ({e}); every stored trial is compared, and no metric has a direction",
                dir.display(),
                spec_file.display()
            ),
        ),
    };
    Ok(StoreInput {
        spec,
        records,
        warning: Some(warning),
    })
}

/// A baseline file (`subbench baseline save`): one point per group, one mean per metric.
pub fn read_baseline(path: &Path) -> Result<Side, ReportError> {
    let bad = |e: &dyn std::fmt::Display| {
        ReportError::Data(format!(
            "--baseline {}: not a baseline file ({e}); give a file written by `subbench baseline save`",
            path.display()
        ))
    };
    let file = File::open(path).map_err(|e| bad(&e))?;
    let df = ParquetReader::new(file).finish().map_err(|e| bad(&e))?;
    let groups = df
        .column("group")
        .and_then(|c| c.str().cloned())
        .map_err(|e| bad(&e))?;
    let mut points: Vec<Point> = (0..df.height())
        .map(|row| {
            let text = groups.get(row).unwrap_or_default();
            let mut p = Point::default();
            for part in text.split(';').filter(|s| !s.is_empty()) {
                let (k, v) = part.split_once('=').unwrap_or((part, ""));
                let shown = serde_json::from_str::<String>(v).unwrap_or_else(|_| v.to_string());
                p.key.insert(k.to_string(), v.to_string());
                p.shown.insert(k.to_string(), shown);
            }
            p
        })
        .collect();
    for name in df.get_column_names() {
        let Some(metric) = name.strip_prefix("mean_") else {
            continue;
        };
        let column = df
            .column(name)
            .and_then(|c| c.cast(&DataType::Float64))
            .map_err(|e| bad(&e))?;
        let values = column.f64().map_err(|e| bad(&e))?;
        for (row, p) in points.iter_mut().enumerate() {
            if let Some(v) = values.get(row).filter(|v| v.is_finite()) {
                p.values.insert(metric.to_string(), vec![(0, v)]);
            }
        }
    }
    Ok(Side {
        label: path.display().to_string(),
        points,
        means_only: true,
    })
}

/// What `spec` says of `metric`: its direction, whether some method that produces it declares
/// it not reproducible (`MetricSpec::reproducible`: wall times), and the tolerance of the spec's
/// baseline check as the default margin of `unchanged` (none: 0, only identical is unchanged).
pub fn metric_info(spec: Option<&Spec>, registry: &Registry, metric: &str) -> MetricInfo {
    let Some(spec) = spec else {
        return MetricInfo {
            name: metric.to_string(),
            better: Default::default(),
            reproducible: true,
            margin: Margin::default(),
        };
    };
    let better = spec
        .metrics
        .get(metric)
        .map(|d| d.better)
        .unwrap_or_default();
    let methods: HashSet<&str> = spec.points.iter().map(|p| p.method.as_str()).collect();
    let reproducible = !methods.iter().any(|id| {
        spec.method(registry, id).is_some_and(|m| {
            m.metrics()
                .iter()
                .any(|s| s.name == metric && !s.reproducible)
        })
    });
    let margin = spec
        .expect
        .iter()
        .chain(&spec.refuted)
        .find_map(|c| match c {
            CheckSpec::Baseline(b)
                if b.metrics.is_empty() || b.metrics.iter().any(|m| m == metric) =>
            {
                Some(Margin {
                    abs: b.abs_tol,
                    rel: b.rel_tol,
                })
            }
            _ => None,
        })
        .unwrap_or_default();
    MetricInfo {
        name: metric.to_string(),
        better,
        reproducible,
        margin,
    }
}
