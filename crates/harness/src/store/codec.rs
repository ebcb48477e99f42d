//! The records <-> DataFrame codec: how trial records become the tables of `trials.parquet`,
//! `trials.csv` and `curves.parquet`, and back, bit for bit.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use polars::prelude::*;

use super::record::{Status, TrialRecord};
use super::schema::{
    self, CURVE, ELAPSED_S, ERROR, METHOD, METHOD_CODE, ORDER, REP, SEED, SPEC, STATUS, STEP,
    TRIAL_ID, VALUE,
};
use crate::error::HarnessError;
use crate::value::Value;

type Result<T> = std::result::Result<T, HarnessError>;

fn polars_error(path: &Path) -> impl Fn(PolarsError) -> HarnessError + '_ {
    move |e| HarnessError::store(path, e)
}

/// A frame as parquet bytes (`path` is for messages), to be hashed before they are written.
/// Part files (written once per finished batch while trials run, read once at consolidation)
/// skip compression and column statistics: those cost more CPU than the trials of a fast sweep,
/// on the core the trials need. Nothing is written in parallel: the cores belong to the trials.
pub(crate) fn parquet_bytes(df: &mut DataFrame, part: bool, path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let writer = ParquetWriter::new(&mut bytes).set_parallel(false);
    let writer = if part {
        writer
            .with_compression(ParquetCompression::Uncompressed)
            .with_statistics(StatisticsOptions::empty())
    } else {
        writer
    };
    writer.finish(df).map_err(polars_error(path))?;
    Ok(bytes)
}

pub(crate) fn csv_bytes(df: &mut DataFrame, path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    CsvWriter::new(&mut bytes)
        .include_header(true)
        .finish(df)
        .map_err(polars_error(path))?;
    Ok(bytes)
}

/// Write a parquet file atomically (tests).
#[cfg(test)]
pub(crate) fn write_parquet(path: &Path, df: &mut DataFrame, part: bool) -> Result<()> {
    super::files::write_bytes(path, &parquet_bytes(df, part, path)?)
}

/// The storage type of a parameter column: the narrowest that holds every value.
enum ParamColumn {
    Int,
    Float,
    Bool,
    Text,
}

fn param_column_kind<'a>(values: impl Iterator<Item = &'a Value>) -> ParamColumn {
    let mut kinds = BTreeSet::new();
    for v in values {
        kinds.insert(match v {
            Value::Int(_) => 0,
            Value::Float(_) => 1,
            Value::Bool(_) => 2,
            Value::Str(_) | Value::List(_) => 3,
        });
    }
    match kinds.into_iter().collect::<Vec<_>>().as_slice() {
        [0] => ParamColumn::Int,
        [1] | [0, 1] => ParamColumn::Float,
        [2] => ParamColumn::Bool,
        _ => ParamColumn::Text,
    }
}

/// The trials table of `records`, as `trials.parquet` stores it: the columns of
/// [`schema::TRIAL_COLUMNS`], then `p_<param>` (each of the narrowest type that holds every
/// value) and `m_<metric>`. Readers that aggregate with polars build their frame from
/// [`Store::load`] with it, so that they see exactly what is stored, parts included.
pub fn trials_frame(records: &[TrialRecord]) -> Result<DataFrame> {
    let height = records.len();
    let text = |f: &dyn Fn(&TrialRecord) -> &str| records.iter().map(f).collect::<Vec<&str>>();
    let mut columns = vec![
        Column::new(TRIAL_ID.into(), text(&|r| &r.trial_id)),
        Column::new(
            ORDER.into(),
            records.iter().map(|r| r.order).collect::<Vec<u64>>(),
        ),
        Column::new(SPEC.into(), text(&|r| &r.spec)),
        Column::new(METHOD.into(), text(&|r| &r.method)),
        Column::new(METHOD_CODE.into(), text(&|r| &r.method_code)),
        Column::new(
            REP.into(),
            records.iter().map(|r| r.rep).collect::<Vec<u32>>(),
        ),
        Column::new(
            SEED.into(),
            records.iter().map(|r| r.seed).collect::<Vec<u64>>(),
        ),
        Column::new(STATUS.into(), text(&|r| r.status.as_str())),
        Column::new(
            ERROR.into(),
            records
                .iter()
                .map(|r| r.error.as_deref())
                .collect::<Vec<Option<&str>>>(),
        ),
        Column::new(
            ELAPSED_S.into(),
            records.iter().map(|r| r.elapsed_s).collect::<Vec<f64>>(),
        ),
    ];
    let param_names: BTreeSet<&String> = records.iter().flat_map(|r| r.params.keys()).collect();
    for name in param_names {
        let column_name: PlSmallStr = schema::param_column(name).into();
        let values = || records.iter().map(|r| r.params.get(name));
        columns.push(match param_column_kind(values().flatten()) {
            ParamColumn::Int => Column::new(
                column_name,
                values()
                    .map(|v| {
                        v.and_then(|v| {
                            if let Value::Int(i) = v {
                                Some(*i)
                            } else {
                                None
                            }
                        })
                    })
                    .collect::<Vec<_>>(),
            ),
            ParamColumn::Float => Column::new(
                column_name,
                values()
                    .map(|v| v.and_then(Value::as_f64))
                    .collect::<Vec<_>>(),
            ),
            ParamColumn::Bool => Column::new(
                column_name,
                values()
                    .map(|v| {
                        v.and_then(|v| {
                            if let Value::Bool(b) = v {
                                Some(*b)
                            } else {
                                None
                            }
                        })
                    })
                    .collect::<Vec<_>>(),
            ),
            ParamColumn::Text => Column::new(
                column_name,
                values()
                    .map(|v| {
                        v.map(|v| match v {
                            Value::Str(s) => s.clone(),
                            other => other.canonical(),
                        })
                    })
                    .collect::<Vec<Option<String>>>(),
            ),
        });
    }
    let metric_names: BTreeSet<&String> = records.iter().flat_map(|r| r.metrics.keys()).collect();
    for name in metric_names {
        let values: Vec<Option<f64>> = records
            .iter()
            .map(|r| r.metrics.get(name).copied())
            .collect();
        columns.push(Column::new(schema::metric_column(name).into(), values));
    }
    DataFrame::new(height, columns).map_err(|e| HarnessError::store("trials", e))
}

/// The curves table of `records`, as `curves.parquet` stores it: trial_id, curve, step, value.
pub fn curves_frame(records: &[TrialRecord]) -> Result<DataFrame> {
    let (mut ids, mut names, mut steps, mut values) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in records {
        for (name, points) in &r.curves {
            for &(step, value) in points {
                ids.push(r.trial_id.as_str());
                names.push(name.as_str());
                steps.push(step);
                values.push(value);
            }
        }
    }
    let height = ids.len();
    DataFrame::new(
        height,
        vec![
            Column::new(TRIAL_ID.into(), ids),
            Column::new(CURVE.into(), names),
            Column::new(STEP.into(), steps),
            Column::new(VALUE.into(), values),
        ],
    )
    .map_err(|e| HarnessError::store("curves", e))
}

fn read_frame(bytes: &[u8], path: &Path) -> Result<DataFrame> {
    ParquetReader::new(std::io::Cursor::new(bytes))
        .finish()
        .map_err(polars_error(path))
}

pub(crate) type CurveMap = HashMap<String, BTreeMap<String, Vec<(u32, f64)>>>;

pub(crate) fn parse_curves(bytes: &[u8], path: &Path) -> Result<CurveMap> {
    let mut curves: CurveMap = HashMap::new();
    let df = read_frame(bytes, path)?;
    let e = polars_error(path);
    let ids = df.column(TRIAL_ID).and_then(|c| c.str()).map_err(&e)?;
    let names = df.column(CURVE).and_then(|c| c.str()).map_err(&e)?;
    let steps = df.column(STEP).and_then(|c| c.u32()).map_err(&e)?;
    let values = df.column(VALUE).and_then(|c| c.f64()).map_err(&e)?;
    for i in 0..df.height() {
        let (Some(id), Some(name), Some(step), Some(value)) =
            (ids.get(i), names.get(i), steps.get(i), values.get(i))
        else {
            continue;
        };
        curves
            .entry(id.to_string())
            .or_default()
            .entry(name.to_string())
            .or_default()
            .push((step, value));
    }
    Ok(curves)
}

pub(crate) fn parse_trials(
    bytes: &[u8],
    path: &Path,
    curves: &CurveMap,
) -> Result<Vec<TrialRecord>> {
    let df = read_frame(bytes, path)?;
    let e = polars_error(path);
    let text = |name: &str| df.column(name).and_then(|c| c.str()).map_err(&e);
    let (ids, specs, methods, statuses, errors) = (
        text(TRIAL_ID)?,
        text(SPEC)?,
        text(METHOD)?,
        text(STATUS)?,
        text(ERROR)?,
    );
    // Stores written before code identities have no such column: their trials read as stale.
    let codes = df.column(METHOD_CODE).ok().and_then(|c| c.str().ok());
    let order = df.column(ORDER).and_then(|c| c.u64()).map_err(&e)?;
    let reps = df.column(REP).and_then(|c| c.u32()).map_err(&e)?;
    let seeds = df.column(SEED).and_then(|c| c.u64()).map_err(&e)?;
    let elapsed = df.column(ELAPSED_S).and_then(|c| c.f64()).map_err(&e)?;
    let mut records: Vec<TrialRecord> = (0..df.height())
        .map(|i| TrialRecord {
            trial_id: ids.get(i).unwrap_or_default().to_string(),
            order: order.get(i).unwrap_or_default(),
            spec: specs.get(i).unwrap_or_default().to_string(),
            method: methods.get(i).unwrap_or_default().to_string(),
            method_code: codes.and_then(|c| c.get(i)).unwrap_or_default().to_string(),
            rep: reps.get(i).unwrap_or_default(),
            seed: seeds.get(i).unwrap_or_default(),
            status: statuses
                .get(i)
                .and_then(Status::parse)
                .unwrap_or(Status::Error),
            error: errors.get(i).map(str::to_string),
            elapsed_s: elapsed.get(i).unwrap_or(f64::NAN),
            params: BTreeMap::new(),
            metrics: BTreeMap::new(),
            curves: BTreeMap::new(),
        })
        .collect();
    for column in df.columns() {
        let name = column.name().as_str();
        if let Some(param) = schema::param_of(name) {
            let rows = 0..column.len();
            let values: Vec<Option<Value>> = match column.dtype() {
                DataType::Int64 => {
                    let ca = column.i64().map_err(&e)?;
                    rows.map(|i| ca.get(i).map(Value::Int)).collect()
                }
                DataType::Float64 => {
                    let ca = column.f64().map_err(&e)?;
                    rows.map(|i| ca.get(i).map(Value::Float)).collect()
                }
                DataType::Boolean => {
                    let ca = column.bool().map_err(&e)?;
                    rows.map(|i| ca.get(i).map(Value::Bool)).collect()
                }
                _ => {
                    let ca = column.str().map_err(&e)?;
                    rows.map(|i| {
                        ca.get(i).map(|s| {
                            Value::parse_list(s)
                                .map(Value::List)
                                .unwrap_or_else(|| Value::Str(s.to_string()))
                        })
                    })
                    .collect()
                }
            };
            for (record, value) in records.iter_mut().zip(values) {
                if let Some(value) = value {
                    record.params.insert(param.to_string(), value);
                }
            }
        } else if let Some(metric) = schema::metric_of(name) {
            let ca = column.f64().map_err(&e)?;
            for (i, record) in records.iter_mut().enumerate() {
                let value = ca.get(i);
                if let Some(value) = value {
                    record.metrics.insert(metric.to_string(), value);
                }
            }
        }
    }
    for record in &mut records {
        if let Some(c) = curves.get(&record.trial_id) {
            record.curves = c.clone();
        }
    }
    Ok(records)
}
