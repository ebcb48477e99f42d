//! The result store: `results/<spec>/trials.parquet` (+ `trials.csv`, `curves.parquet`,
//! `provenance.json`), one row per trial, the contract that reports and other tools read.
//!
//! Nothing finished is lost: finished trials are written while the sweep runs as small part files
//! under `parts/`, each written to a temporary name and renamed into place (a rename is atomic, so
//! a reader sees a whole part or none). `consolidate` folds the parts into the main files, again by
//! atomic rename, under an exclusive lock so that two processes never overwrite each other's work.
//! A killed run therefore loses only the trials in flight. A shard of a cluster run is a store of
//! its own under `shards/`, which [`merge`] folds into the main one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use polars::prelude::*;

use crate::error::HarnessError;
use crate::value::Value;

type Result<T> = std::result::Result<T, HarnessError>;

/// How a trial ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Ok,
    /// The method returned an error or panicked.
    Error,
    /// A metric was not finite, or the method reported divergence.
    Diverged,
    /// The trial ran longer than the spec's `timeout`.
    Timeout,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Error => "error",
            Status::Diverged => "diverged",
            Status::Timeout => "timeout",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [Status::Ok, Status::Error, Status::Diverged, Status::Timeout]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// One stored trial.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialRecord {
    pub trial_id: String,
    /// Position of the trial in the spec's expansion; rows are stored in this order.
    pub order: u64,
    pub spec: String,
    pub method: String,
    /// The code identity of the method that computed the trial (see `Method::code`); empty for
    /// trials stored before code identities existed (they are stale).
    pub method_code: String,
    pub rep: u32,
    pub seed: u64,
    pub status: Status,
    pub error: Option<String>,
    pub elapsed_s: f64,
    pub params: BTreeMap<String, Value>,
    pub metrics: BTreeMap<String, f64>,
    pub curves: BTreeMap<String, Vec<(u32, f64)>>,
}

/// A store folder.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

const TRIALS: &str = "trials.parquet";
const TRIALS_CSV: &str = "trials.csv";
const CURVES: &str = "curves.parquet";
const PARTS: &str = "parts";
const SHARDS: &str = "shards";
const PART_TRIALS: &str = ".trials.parquet";
const PART_CURVES: &str = ".curves.parquet";

impl Store {
    /// The store of spec `name` under `out`, or of one shard of it. Nothing is created yet.
    pub fn new(out: &Path, name: &str, shard: Option<(u32, u32)>) -> Store {
        let dir = out.join(name);
        Store {
            dir: match shard {
                Some((index, count)) => dir.join(SHARDS).join(format!("{index:03}-of-{count:03}")),
                None => dir,
            },
        }
    }

    /// A store at an existing folder (for `merge`, `report`, `summary`).
    pub fn at(dir: &Path) -> Store {
        Store {
            dir: dir.to_path_buf(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every stored trial: the main file plus any parts not yet consolidated, one row per trial
    /// id (an `ok` row wins over a failed one; among equals, the later one), in trial order.
    pub fn load(&self) -> Result<Vec<TrialRecord>> {
        let (records, _) = self.load_with_parts()?;
        Ok(records)
    }

    fn load_with_parts(&self) -> Result<(Vec<TrialRecord>, Vec<PathBuf>)> {
        let mut all = Vec::new();
        let main = self.dir.join(TRIALS);
        if main.exists() {
            let curves = read_curves(&self.dir.join(CURVES))?;
            all.extend(read_trials(&main, &curves)?);
        }
        let parts = self.part_files()?;
        for part in &parts {
            let curves_path = part_curves_path(part);
            let curves = read_curves(&curves_path)?;
            all.extend(read_trials(part, &curves)?);
        }
        Ok((deduplicate(all), parts))
    }

    /// Committed part files, oldest first (names start with a timestamp).
    fn part_files(&self) -> Result<Vec<PathBuf>> {
        let dir = self.dir.join(PARTS);
        if !dir.exists() {
            return Ok(Vec::new());
        }
        let mut parts: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(|e| HarnessError::store(&dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(PART_TRIALS))
            .collect();
        parts.sort();
        Ok(parts)
    }

    /// Create the folder, prove it is writable, and take the store's writer lock. Errors are the
    /// user's to fix (a read-only or full disk, another run in progress), so they are usage errors.
    pub fn lock_for_writing(&self) -> Result<File> {
        let usage = |what: String| HarnessError::Usage(format!("{}: {what}", self.dir.display()));
        fs::create_dir_all(&self.dir)
            .map_err(|e| usage(format!("cannot create the results folder: {e}")))?;
        let probe = self.dir.join(format!(".write-test-{}", std::process::id()));
        fs::write(&probe, b"subbench").map_err(|e| {
            usage(format!(
                "cannot write to the results folder: {e}; choose another --out"
            ))
        })?;
        let _ = fs::remove_file(&probe);
        let path = self.dir.join(".writer.lock");
        let lock = File::create(&path)
            .map_err(|e| usage(format!("cannot create {}: {e}", path.display())))?;
        match lock.try_lock() {
            Ok(()) => Ok(lock),
            Err(std::fs::TryLockError::WouldBlock) => Err(usage(
                "another subbench process is running this spec into this folder; wait for it to finish, or use another --out".into(),
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(usage(format!("cannot lock {}: {e}", path.display()))),
        }
    }

    /// Persist a batch of finished trials now (one part file, atomically).
    pub fn append(&self, batch: &[TrialRecord]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let dir = self.dir.join(PARTS);
        fs::create_dir_all(&dir).map_err(|e| HarnessError::store(&dir, e))?;
        static SEQUENCE: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let stem = format!(
            "{nanos:024}-{}-{}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        );
        // Curves first: the trials part is the commit point, so a reader never sees trials whose
        // curves are missing.
        write_parquet(
            &dir.join(format!("{stem}{PART_CURVES}")),
            &mut curves_frame(batch)?,
            true,
        )?;
        write_parquet(
            &dir.join(format!("{stem}{PART_TRIALS}")),
            &mut trials_frame(batch)?,
            true,
        )
    }

    /// Fold the parts into `trials.parquet`, `trials.csv` and `curves.parquet`; returns every
    /// stored trial. Safe against concurrent writers (exclusive lock) and kills (atomic renames;
    /// parts are removed only after the main files that contain them are in place).
    pub fn consolidate(&self) -> Result<Vec<TrialRecord>> {
        fs::create_dir_all(&self.dir).map_err(|e| HarnessError::store(&self.dir, e))?;
        let lock_path = self.dir.join(".lock");
        let lock = File::create(&lock_path).map_err(|e| HarnessError::store(&lock_path, e))?;
        lock.lock()
            .map_err(|e| HarnessError::store(&lock_path, e))?;
        let (records, parts) = self.load_with_parts()?;
        self.write_all(&records)?;
        for part in parts {
            let _ = fs::remove_file(part_curves_path(&part));
            let _ = fs::remove_file(&part);
        }
        self.remove_orphans();
        drop(lock);
        Ok(records)
    }

    fn write_all(&self, records: &[TrialRecord]) -> Result<()> {
        let mut trials = trials_frame(records)?;
        write_parquet(&self.dir.join(CURVES), &mut curves_frame(records)?, false)?;
        write_parquet(&self.dir.join(TRIALS), &mut trials, false)?;
        write_csv(&self.dir.join(TRIALS_CSV), &mut trials)
    }

    /// Temporary files of writers that were killed mid-write, and curves parts whose trials part
    /// never landed. Only files older than a minute are touched: younger ones may belong to a
    /// writer that is still running.
    fn remove_orphans(&self) {
        let dir = self.dir.join(PARTS);
        let Ok(entries) = fs::read_dir(&dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.to_string_lossy().to_string();
            let orphan_curves = name.ends_with(PART_CURVES)
                && !PathBuf::from(name.replace(PART_CURVES, PART_TRIALS)).exists();
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .map(|t| t.elapsed().map(|d| d.as_secs() > 60).unwrap_or(false))
                .unwrap_or(false);
            if stale && (name.contains(".tmp-") || orphan_curves) {
                let _ = fs::remove_file(&path);
            }
        }
        let _ = fs::remove_dir(&dir); // only succeeds when empty
    }
}

/// Fold every shard store under `dir/shards/` into the store at `dir`; returns the merged trials.
pub fn merge(dir: &Path) -> Result<Vec<TrialRecord>> {
    let shards_dir = dir.join(SHARDS);
    let mut shard_dirs: Vec<PathBuf> = fs::read_dir(&shards_dir)
        .map_err(|e| {
            HarnessError::Usage(format!(
                "{}: no shard results to merge ({e})",
                shards_dir.display()
            ))
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    shard_dirs.sort();
    let main = Store::at(dir);
    let mut batch = Vec::new();
    for shard in &shard_dirs {
        batch.extend(Store::at(shard).load()?);
    }
    main.append(&batch)?;
    let merged = main.consolidate()?;
    for shard in shard_dirs {
        fs::remove_dir_all(&shard).map_err(|e| HarnessError::store(&shard, e))?;
    }
    let _ = fs::remove_dir(&shards_dir);
    Ok(merged)
}

fn part_curves_path(trials_part: &Path) -> PathBuf {
    PathBuf::from(
        trials_part
            .to_string_lossy()
            .replace(PART_TRIALS, PART_CURVES),
    )
}

/// One row per trial id: the last `ok` row if there is one, else the last row; sorted by order.
fn deduplicate(records: Vec<TrialRecord>) -> Vec<TrialRecord> {
    let mut best: HashMap<String, TrialRecord> = HashMap::new();
    for record in records {
        let replace = match best.get(&record.trial_id) {
            None => true,
            Some(old) => record.status == Status::Ok || old.status != Status::Ok,
        };
        if replace {
            best.insert(record.trial_id.clone(), record);
        }
    }
    let mut out: Vec<TrialRecord> = best.into_values().collect();
    out.sort_by(|a, b| (a.order, &a.trial_id).cmp(&(b.order, &b.trial_id)));
    out
}

fn polars_error(path: &Path) -> impl Fn(PolarsError) -> HarnessError + '_ {
    move |e| HarnessError::store(path, e)
}

fn write_atomically(path: &Path, write: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    let tmp = PathBuf::from(format!("{}.tmp-{}", path.display(), std::process::id()));
    let mut file = File::create(&tmp).map_err(|e| HarnessError::store(&tmp, e))?;
    let written =
        write(&mut file).and_then(|()| file.sync_all().map_err(|e| HarnessError::store(&tmp, e)));
    drop(file);
    if let Err(e) = written {
        // A full disk, say: leave no partial file behind (the destination was never touched).
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, path).map_err(|e| HarnessError::store(path, e))
}

/// Write a parquet file atomically. Part files (written once per finished batch while trials
/// run, read once at consolidation) skip compression and column statistics: those cost more CPU
/// than the trials of a fast sweep, on the core the trials need. Nothing is written in parallel:
/// the cores belong to the trials.
fn write_parquet(path: &Path, df: &mut DataFrame, part: bool) -> Result<()> {
    write_atomically(path, |file| {
        let writer = ParquetWriter::new(file).set_parallel(false);
        let writer = if part {
            writer
                .with_compression(ParquetCompression::Uncompressed)
                .with_statistics(StatisticsOptions::empty())
        } else {
            writer
        };
        writer.finish(df).map(|_| ()).map_err(polars_error(path))
    })
}

fn write_csv(path: &Path, df: &mut DataFrame) -> Result<()> {
    write_atomically(path, |file| {
        CsvWriter::new(&mut *file)
            .include_header(true)
            .finish(df)
            .map_err(polars_error(path))?;
        file.flush().map_err(|e| HarnessError::store(path, e))
    })
}

/// Write a JSON document atomically (provenance).
pub(crate) fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    write_atomically(path, |file| {
        serde_json::to_writer_pretty(&mut *file, value)
            .map_err(|e| HarnessError::store(path, e))?;
        file.write_all(b"\n")
            .map_err(|e| HarnessError::store(path, e))
    })
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

fn trials_frame(records: &[TrialRecord]) -> Result<DataFrame> {
    let height = records.len();
    let text = |f: &dyn Fn(&TrialRecord) -> &str| records.iter().map(f).collect::<Vec<&str>>();
    let mut columns = vec![
        Column::new("trial_id".into(), text(&|r| &r.trial_id)),
        Column::new(
            "order".into(),
            records.iter().map(|r| r.order).collect::<Vec<u64>>(),
        ),
        Column::new("spec".into(), text(&|r| &r.spec)),
        Column::new("method".into(), text(&|r| &r.method)),
        Column::new("method_code".into(), text(&|r| &r.method_code)),
        Column::new(
            "rep".into(),
            records.iter().map(|r| r.rep).collect::<Vec<u32>>(),
        ),
        Column::new(
            "seed".into(),
            records.iter().map(|r| r.seed).collect::<Vec<u64>>(),
        ),
        Column::new("status".into(), text(&|r| r.status.as_str())),
        Column::new(
            "error".into(),
            records
                .iter()
                .map(|r| r.error.as_deref())
                .collect::<Vec<Option<&str>>>(),
        ),
        Column::new(
            "elapsed_s".into(),
            records.iter().map(|r| r.elapsed_s).collect::<Vec<f64>>(),
        ),
    ];
    let param_names: BTreeSet<&String> = records.iter().flat_map(|r| r.params.keys()).collect();
    for name in param_names {
        let column_name: PlSmallStr = format!("p_{name}").into();
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
        columns.push(Column::new(format!("m_{name}").into(), values));
    }
    DataFrame::new(height, columns).map_err(|e| HarnessError::store("trials", e))
}

fn curves_frame(records: &[TrialRecord]) -> Result<DataFrame> {
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
            Column::new("trial_id".into(), ids),
            Column::new("curve".into(), names),
            Column::new("step".into(), steps),
            Column::new("value".into(), values),
        ],
    )
    .map_err(|e| HarnessError::store("curves", e))
}

fn read_frame(path: &Path) -> Result<DataFrame> {
    let file = File::open(path).map_err(|e| HarnessError::store(path, e))?;
    ParquetReader::new(file)
        .finish()
        .map_err(polars_error(path))
}

type CurveMap = HashMap<String, BTreeMap<String, Vec<(u32, f64)>>>;

fn read_curves(path: &Path) -> Result<CurveMap> {
    let mut curves: CurveMap = HashMap::new();
    if !path.exists() {
        return Ok(curves);
    }
    let df = read_frame(path)?;
    let e = polars_error(path);
    let ids = df.column("trial_id").and_then(|c| c.str()).map_err(&e)?;
    let names = df.column("curve").and_then(|c| c.str()).map_err(&e)?;
    let steps = df.column("step").and_then(|c| c.u32()).map_err(&e)?;
    let values = df.column("value").and_then(|c| c.f64()).map_err(&e)?;
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

fn read_trials(path: &Path, curves: &CurveMap) -> Result<Vec<TrialRecord>> {
    let df = read_frame(path)?;
    let e = polars_error(path);
    let text = |name: &str| df.column(name).and_then(|c| c.str()).map_err(&e);
    let (ids, specs, methods, statuses, errors) = (
        text("trial_id")?,
        text("spec")?,
        text("method")?,
        text("status")?,
        text("error")?,
    );
    // Stores written before code identities have no such column: their trials read as stale.
    let codes = df.column("method_code").ok().and_then(|c| c.str().ok());
    let order = df.column("order").and_then(|c| c.u64()).map_err(&e)?;
    let reps = df.column("rep").and_then(|c| c.u32()).map_err(&e)?;
    let seeds = df.column("seed").and_then(|c| c.u64()).map_err(&e)?;
    let elapsed = df.column("elapsed_s").and_then(|c| c.f64()).map_err(&e)?;
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
        if let Some(param) = name.strip_prefix("p_") {
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
        } else if let Some(metric) = name.strip_prefix("m_") {
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

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn record(id: &str, order: u64, status: Status, x: f64) -> TrialRecord {
        TrialRecord {
            trial_id: id.into(),
            order,
            spec: "s".into(),
            method: "test.quadratic".into(),
            method_code: "c0de".into(),
            rep: 0,
            seed: 42,
            status,
            error: (status != Status::Ok).then(|| "boom".to_string()),
            elapsed_s: 0.5,
            params: BTreeMap::from([
                ("x".to_string(), Value::Float(x)),
                ("k".to_string(), Value::Int(3)),
                ("flag".to_string(), Value::Bool(true)),
                ("mode".to_string(), Value::Str("a".into())),
                ("spectrum".to_string(), Value::List(vec![3.0, 0.1])),
            ]),
            metrics: BTreeMap::from([
                ("value".to_string(), x * x),
                ("other".to_string(), 0.1 + 0.2),
            ]),
            curves: BTreeMap::from([("loss".to_string(), vec![(0, 1.0), (1, 0.5)])]),
        }
    }

    #[test]
    fn records_round_trip_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "s", None);
        let records = vec![
            record("a", 0, Status::Ok, 0.1),
            record("b", 1, Status::Error, 1e-300),
        ];
        store.append(&records).unwrap();
        assert_eq!(store.load().unwrap(), records);
        assert_eq!(store.consolidate().unwrap(), records);
        assert!(!dir.path().join("s/parts").exists());
        assert!(dir.path().join("s/trials.csv").exists());
        assert_eq!(store.load().unwrap(), records);
    }

    #[test]
    fn ok_rows_win_over_failures_and_later_over_earlier() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "s", None);
        store.append(&[record("a", 0, Status::Error, 1.0)]).unwrap();
        store.append(&[record("a", 0, Status::Ok, 2.0)]).unwrap();
        store.append(&[record("a", 0, Status::Error, 3.0)]).unwrap();
        let loaded = store.consolidate().unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].status, Status::Ok);
        assert_eq!(loaded[0].params["x"], Value::Float(2.0));
    }

    #[test]
    fn a_torn_temporary_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "s", None);
        store.append(&[record("a", 0, Status::Ok, 1.0)]).unwrap();
        fs::write(
            dir.path().join("s/parts/000-1-1.trials.parquet.tmp-99"),
            b"PAR1 torn",
        )
        .unwrap();
        assert_eq!(store.load().unwrap().len(), 1);
    }

    /// Stores written before the `method_code` column existed still load; their trials carry an
    /// empty code identity, which the runner treats as stale.
    #[test]
    fn a_store_without_the_method_code_column_reads_as_unversioned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.parquet");
        let mut frame = trials_frame(&[record("a", 0, Status::Ok, 1.0)]).unwrap();
        let mut old = frame.drop("method_code").unwrap();
        write_parquet(&path, &mut old, false).unwrap();
        let loaded = read_trials(&path, &HashMap::new()).unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].method_code, "");
        assert_eq!(loaded[0].metrics["value"], 1.0);
        assert!(frame.column("method_code").is_ok());
        let _ = &mut frame;
    }

    #[test]
    fn shards_merge_into_the_main_store() {
        let dir = tempfile::tempdir().unwrap();
        Store::new(dir.path(), "s", Some((1, 2)))
            .append(&[record("b", 1, Status::Ok, 1.0)])
            .unwrap();
        Store::new(dir.path(), "s", Some((2, 2)))
            .append(&[record("a", 0, Status::Ok, 2.0)])
            .unwrap();
        let merged = merge(&dir.path().join("s")).unwrap();
        assert_eq!(
            merged
                .iter()
                .map(|r| r.trial_id.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(!dir.path().join("s/shards").exists());
    }
}
