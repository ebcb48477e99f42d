//! Aggregation of a result store with polars: one row per group of swept values, per metric the
//! count of ok trials, mean, standard deviation, median, min, max and a 95% Student-t confidence
//! interval of the mean. Failed trials are counted per group, never averaged in.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use harness::spec::Interval;
use harness::store::{curves_frame, schema, trials_frame};
use harness::{Status, Store, TrialRecord, Value};
use polars::prelude::*;
use serde::Serialize;

use crate::stats::t_critical_95;
use crate::ReportError;

/// Summary statistics of one metric in one group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (ddof = 1); NaN for n < 2.
    pub std: f64,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// 95% confidence interval of the mean: `mean ± t_{0.975, n−1} · std/√n`; for n = 1 the
    /// interval is unknown (NaN), not zero-width.
    pub ci_low: f64,
    pub ci_high: f64,
}

impl Stats {
    /// Half-width of the confidence interval.
    pub fn ci_half_width(&self) -> f64 {
        0.5 * (self.ci_high - self.ci_low)
    }
}

/// One group of trials sharing the values of every swept parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// Values of [`Aggregate::keys`], in that order.
    pub key: Vec<Value>,
    /// Per key, whether the group's trials lack that parameter: their method does not have it
    /// (the key's value is then an empty text). Such a key is "not applicable" to the group: it
    /// neither splits nor blocks a comparison across methods (see [`crate::grouping`]).
    #[serde(skip)]
    pub absent: Vec<bool>,
    pub n_trials: usize,
    pub n_failed: usize,
    /// Serialized in name order, so that `summary --format json` writes the same bytes every
    /// time (a `HashMap` iterates in a different order in every process).
    #[serde(serialize_with = "in_name_order")]
    pub metrics: HashMap<String, Stats>,
}

fn in_name_order<S: serde::Serializer>(
    metrics: &HashMap<String, Stats>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(metrics.iter().collect::<std::collections::BTreeMap<_, _>>())
}

impl Group {
    /// The value of key `name`.
    pub fn get(&self, keys: &[String], name: &str) -> Option<&Value> {
        keys.iter().position(|k| k == name).map(|i| &self.key[i])
    }
}

/// The aggregated table of a store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Aggregate {
    /// Parameter names (without the `p_` prefix; `method` for the method) that vary.
    pub keys: Vec<String>,
    /// The parameters (and `method`) that take one value in every trial, with that value: a
    /// `where` or `series` on one of them is a no-op, not a mismatch (a `--quick` sweep may
    /// reduce a swept parameter to one value).
    pub constants: Vec<(String, Value)>,
    /// Metric names (without `m_`).
    pub metrics: Vec<String>,
    /// Groups in order of first appearance in the sweep.
    pub groups: Vec<Group>,
    /// Error messages of failed trials: (status, message, count).
    pub failures: Vec<(String, String, usize)>,
}

/// The parameter columns (and `method`) of `df` that hold one value, with it, named without
/// the `p_` prefix.
fn constant_columns(
    df: &DataFrame,
    e: &impl Fn(PolarsError) -> ReportError,
) -> Result<Vec<(String, Value)>, ReportError> {
    let mut out = Vec::new();
    if df.height() == 0 {
        return Ok(out);
    }
    for name in df.get_column_names() {
        let name = name.to_string();
        if !schema::is_key_column(&name) {
            continue;
        }
        let column = df.column(&name).map_err(e)?;
        if column.n_unique().map_err(e)? == 1 {
            let value = any_to_value(column.get(0).map_err(e)?);
            out.push((schema::key_name(&name).to_string(), value));
        }
    }
    Ok(out)
}

/// The columns of [`trials_frame`]`(records)` that are keys (the method and the parameters)
/// and hold more than one value, a missing one counting as a value, in the frame's order;
/// computed on the records, without building the frame.
fn varying_columns(records: &[TrialRecord]) -> Vec<String> {
    // Numbers compare by value, as one column of the frame holds them (±0 alike, NaNs alike).
    let canonical = |v: &Value| match v.as_f64() {
        Some(0.0) => "0".to_string(), // and -0.0
        Some(x) if x.is_nan() => "nan".to_string(),
        Some(x) => format!("{:x}", x.to_bits()),
        None => v.canonical(),
    };
    let mut out = Vec::new();
    let methods: HashSet<&str> = records.iter().map(|r| r.method.as_str()).collect();
    if methods.len() > 1 {
        out.push(schema::METHOD.to_string());
    }
    let names: std::collections::BTreeSet<&String> =
        records.iter().flat_map(|r| r.params.keys()).collect();
    for name in names {
        let values: HashSet<Option<String>> = records
            .iter()
            .map(|r| r.params.get(name).map(canonical))
            .collect();
        if values.len() > 1 {
            out.push(schema::param_column(name));
        }
    }
    out
}

/// Equality of parameter values as a spec author means it (see [`Value::matches`]).
pub fn same_value(a: &Value, b: &Value) -> bool {
    a.matches(b)
}

fn polars_error(path: &Path) -> impl Fn(PolarsError) -> ReportError + '_ {
    move |e| ReportError::Data(format!("{}: {e}", path.display()))
}

/// The stored trials of the store at `dir` (those of `only`, when given), through the
/// harness's one reader ([`Store::load`]): the consolidated file and the parts of a run that is
/// running or was stopped, every file verified against its checksum. `curves` reads the curves
/// too (they are verified either way).
pub fn stored_trials(
    dir: &Path,
    only: Option<&HashSet<String>>,
    curves: bool,
) -> Result<Vec<TrialRecord>, ReportError> {
    let store = Store::at(dir);
    if !store.has_trials() {
        return Err(ReportError::Data(format!(
            "{}: no stored trials (run the spec first)",
            dir.join(schema::TRIALS_FILE).display()
        )));
    }
    let records = if curves {
        store.load()
    } else {
        store.load_trials()
    }
    .map_err(|e| ReportError::Data(e.to_string()))?;
    Ok(match only {
        Some(ids) => records
            .into_iter()
            .filter(|r| ids.contains(&r.trial_id))
            .collect(),
        None => records,
    })
}

/// Read the store at `dir` (see [`stored_trials`]) and aggregate it. The keys are the parameters
/// (and `method`) that take more than one value. With `only`, trials whose id is not in it are
/// left out: a store may hold trials of an older version of the spec, or of a full run when
/// `--quick` asks for fewer.
pub fn aggregate(
    dir: &Path,
    only: Option<&HashSet<String>>,
    interval: Interval,
) -> Result<Aggregate, ReportError> {
    let records = stored_trials(dir, only, false)?;
    let path = dir.join(schema::TRIALS_FILE);
    let df = trials_frame(&records).map_err(|e| ReportError::Data(e.to_string()))?;
    aggregate_frame(df, &path, interval)
}

/// Aggregate an in-memory trials table (`path` is for messages).
pub fn aggregate_frame(
    df: DataFrame,
    path: &Path,
    interval: Interval,
) -> Result<Aggregate, ReportError> {
    let e = polars_error(path);
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut key_columns = Vec::new();
    for name in &names {
        let varies = schema::is_key_column(name);
        if varies && df.column(name).and_then(|c| c.n_unique()).map_err(&e)? > 1 {
            key_columns.push(name.clone());
        }
    }
    let constants = constant_columns(&df, &e)?;
    let metric_columns: Vec<String> = names
        .iter()
        .filter(|n| schema::metric_of(n).is_some())
        .cloned()
        .collect();
    let keys: Vec<Expr> = key_columns.iter().map(|k| col(k.as_str())).collect();

    let mut stats_exprs = vec![len().alias("__n_ok")];
    for m in &metric_columns {
        let c = || col(m.as_str());
        stats_exprs.extend([
            c().count().alias(format!("{m}__n")),
            c().mean().alias(format!("{m}__mean")),
            c().std(1).alias(format!("{m}__std")),
            c().median().alias(format!("{m}__median")),
            c().min().alias(format!("{m}__min")),
            c().max().alias(format!("{m}__max")),
        ]);
        if interval == Interval::Bootstrap {
            // A bare column in a group-by aggregation is the group's list of values; without
            // keys there is no group-by, and the one list has to be made explicitly.
            let values = if keys.is_empty() {
                c().drop_nulls().implode(true)
            } else {
                c().drop_nulls()
            };
            stats_exprs.push(values.alias(format!("{m}__values")));
        }
    }
    let ok = df
        .clone()
        .lazy()
        .filter(col(schema::STATUS).eq(lit(Status::Ok.as_str())));
    let all = df.clone().lazy();
    let (stats, counts) = if keys.is_empty() {
        (
            ok.select(stats_exprs).collect().map_err(&e)?,
            all.select(count_exprs()).collect().map_err(&e)?,
        )
    } else {
        (
            ok.group_by_stable(keys.clone())
                .agg(stats_exprs)
                .collect()
                .map_err(&e)?,
            all.group_by_stable(keys)
                .agg(count_exprs())
                .collect()
                .map_err(&e)?,
        )
    };

    // Ok groups keyed by their canonical key text, so that groups with only failures still appear.
    let key_of = |frame: &DataFrame, row: usize| -> Result<Vec<Value>, ReportError> {
        key_columns
            .iter()
            .map(|k| {
                frame
                    .column(k)
                    .and_then(|c| c.get(row))
                    .map(any_to_value)
                    .map_err(&e)
            })
            .collect()
    };
    let absent_of = |frame: &DataFrame, row: usize| -> Result<Vec<bool>, ReportError> {
        key_columns
            .iter()
            .map(|k| {
                frame
                    .column(k)
                    .and_then(|c| c.get(row))
                    .map(|v| matches!(v, AnyValue::Null))
                    .map_err(&e)
            })
            .collect()
    };
    let canonical = |key: &[Value]| {
        key.iter()
            .map(Value::canonical)
            .collect::<Vec<_>>()
            .join("\u{1f}")
    };
    let mut stats_rows: HashMap<String, usize> = HashMap::new();
    for row in 0..stats.height() {
        stats_rows.insert(canonical(&key_of(&stats, row)?), row);
    }
    let mut groups = Vec::with_capacity(counts.height());
    for row in 0..counts.height() {
        let key = key_of(&counts, row)?;
        let absent = absent_of(&counts, row)?;
        let n_trials = get_f64(&counts, "__n_trials", row, &e)? as usize;
        let n_failed = get_f64(&counts, "__n_failed", row, &e)? as usize;
        let mut metrics = HashMap::new();
        if let Some(&srow) = stats_rows.get(&canonical(&key)) {
            for m in &metric_columns {
                let n = get_f64(&stats, &format!("{m}__n"), srow, &e)? as usize;
                if n == 0 {
                    continue;
                }
                let get = |s: &str| get_f64(&stats, &format!("{m}__{s}"), srow, &e);
                let (mean, std) = (get("mean")?, get("std")?);
                let (ci_low, ci_high) = match interval {
                    Interval::Student => {
                        let half = if n >= 2 {
                            t_critical_95((n - 1) as f64) * std / (n as f64).sqrt()
                        } else {
                            f64::NAN
                        };
                        (mean - half, mean + half)
                    }
                    Interval::Bootstrap => {
                        let list = stats
                            .column(&format!("{m}__values"))
                            .and_then(|c| c.list().cloned())
                            .map_err(&e)?;
                        let values: Vec<f64> = match list.get_as_series(srow) {
                            Some(series) => {
                                let ca = series.f64().map_err(&e)?;
                                (0..ca.len()).filter_map(|i| ca.get(i)).collect()
                            }
                            None => Vec::new(),
                        };
                        bootstrap_interval(&values)
                    }
                };
                let name = schema::metric_of(m).unwrap_or(m).to_string();
                metrics.insert(
                    name,
                    Stats {
                        n,
                        mean,
                        std,
                        median: get("median")?,
                        min: get("min")?,
                        max: get("max")?,
                        ci_low,
                        ci_high,
                    },
                );
            }
        }
        groups.push(Group {
            key,
            absent,
            n_trials,
            n_failed,
            metrics,
        });
    }

    let failures = df
        .lazy()
        .filter(col(schema::STATUS).neq(lit(Status::Ok.as_str())))
        .group_by_stable([col(schema::STATUS), col(schema::ERROR)])
        .agg([len().alias("__count")])
        .collect()
        .map_err(&e)?;
    let mut failure_list = Vec::new();
    for row in 0..failures.height() {
        let text = |name: &str| {
            failures
                .column(name)
                .and_then(|c| c.get(row))
                .map(|v| any_to_value(v).to_string())
                .map_err(&e)
        };
        failure_list.push((
            text(schema::STATUS)?,
            text(schema::ERROR)?,
            get_f64(&failures, "__count", row, &e)? as usize,
        ));
    }

    Ok(Aggregate {
        keys: key_columns
            .iter()
            .map(|k| schema::key_name(k).to_string())
            .collect(),
        constants,
        metrics: metric_columns
            .iter()
            .map(|m| schema::metric_of(m).unwrap_or(m).to_string())
            .collect(),
        groups,
        failures: failure_list,
    })
}

/// 95% percentile-bootstrap interval of the mean: 2,000 resamples drawn with a generator seeded
/// from the values themselves, so the interval is reproducible. Unknown (NaN) for n < 2.
pub fn bootstrap_interval(values: &[f64]) -> (f64, f64) {
    const RESAMPLES: usize = 2000;
    let n = values.len();
    if n < 2 {
        return (f64::NAN, f64::NAN);
    }
    // SplitMix64 seeded by the bits of the data: deterministic without a dependency.
    let mut state = values.iter().fold(0x9E37_79B9_7F4A_7C15u64, |h, v| {
        (h ^ v.to_bits())
            .rotate_left(17)
            .wrapping_mul(0xBF58_476D_1CE4_E5B9)
    });
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut means: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            (0..n)
                .map(|_| values[(next() % n as u64) as usize])
                .sum::<f64>()
                / n as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    (
        means[(0.025 * RESAMPLES as f64) as usize],
        means[(0.975 * RESAMPLES as f64) as usize - 1],
    )
}

fn count_exprs() -> Vec<Expr> {
    vec![
        len().cast(DataType::Float64).alias("__n_trials"),
        col(schema::STATUS)
            .neq(lit(Status::Ok.as_str()))
            .cast(DataType::Float64)
            .sum()
            .alias("__n_failed"),
    ]
}

fn get_f64(
    df: &DataFrame,
    name: &str,
    row: usize,
    e: &impl Fn(PolarsError) -> ReportError,
) -> Result<f64, ReportError> {
    let v = df.column(name).and_then(|c| c.get(row)).map_err(e)?;
    Ok(match v {
        AnyValue::Null => f64::NAN,
        other => other.extract::<f64>().unwrap_or(f64::NAN),
    })
}

fn any_to_value(v: AnyValue) -> Value {
    match v {
        AnyValue::Boolean(b) => Value::Bool(b),
        AnyValue::Int64(i) => Value::Int(i),
        AnyValue::Int32(i) => Value::Int(i.into()),
        AnyValue::UInt32(i) => Value::Int(i.into()),
        AnyValue::UInt64(i) => Value::Int(i as i64),
        AnyValue::Float64(x) => Value::Float(x),
        AnyValue::Float32(x) => Value::Float(x.into()),
        AnyValue::String(s) => Value::parse_list(s)
            .map(Value::List)
            .unwrap_or_else(|| Value::Str(s.to_string())),
        AnyValue::StringOwned(s) => Value::parse_list(&s)
            .map(Value::List)
            .unwrap_or_else(|| Value::Str(s.to_string())),
        AnyValue::Null => Value::Str(String::new()),
        other => Value::Str(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> DataFrame {
        df!(
            "trial_id" => ["a", "b", "c", "d", "e", "f"],
            "status" => ["ok", "ok", "ok", "error", "ok", "ok"],
            "error" => [None, None, None, Some("boom"), None, None],
            "method" => ["m"; 6],
            "p_k" => [1i64, 1, 1, 1, 2, 2],
            "p_fixed" => [7.0, 7.0, 7.0, 7.0, 7.0, 7.0],
            "m_x" => [Some(1.0), Some(2.0), Some(6.0), None, Some(10.0), Some(10.0)],
        )
        .unwrap()
    }

    #[test]
    fn known_inputs_give_known_statistics() {
        let agg = aggregate_frame(frame(), Path::new("t"), Interval::Student).unwrap();
        assert_eq!(agg.keys, vec!["k"], "only varying parameters are keys");
        assert_eq!(agg.groups.len(), 2);
        let g = &agg.groups[0];
        assert_eq!((g.n_trials, g.n_failed), (4, 1));
        let s = g.metrics["x"];
        assert_eq!(s.n, 3);
        assert_eq!(s.mean, 3.0);
        assert_eq!(s.median, 2.0);
        assert_eq!((s.min, s.max), (1.0, 6.0));
        let std = (7.0f64).sqrt(); // deviations −2, −1, 3: (4 + 1 + 9)/2 = 7
        assert!((s.std - std).abs() < 1e-15);
        let half = 4.302652729749464 * std / 3f64.sqrt();
        assert!((s.ci_high - 3.0 - half).abs() < 1e-9 && (3.0 - s.ci_low - half).abs() < 1e-9);
        let g2 = &agg.groups[1].metrics["x"];
        assert_eq!(
            (g2.mean, g2.std, g2.ci_low, g2.ci_high),
            (10.0, 0.0, 10.0, 10.0)
        );
        assert_eq!(
            agg.failures,
            vec![("error".to_string(), "boom".to_string(), 1)]
        );
    }

    /// Regression: the series of a curve figure came out in a different order on each render
    /// (polars' join and sort reorder rows unless told not to).
    #[test]
    fn curve_groups_keep_the_trials_order_at_every_step() {
        use harness::{Status, Store, TrialRecord};
        use std::collections::BTreeMap;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "s", None);
        let names = [
            "sgd",
            "adam",
            "batchnorm",
            "amd",
            "dfw",
            "kfac",
            "ngd",
            "zeta",
            "alpha",
        ];
        let records: Vec<TrialRecord> = names
            .iter()
            .enumerate()
            .map(|(i, name)| TrialRecord {
                trial_id: format!("t{i}"),
                order: i as u64,
                spec: "s".into(),
                method: "m".into(),
                method_code: String::new(),
                rep: 0,
                seed: 0,
                status: Status::Ok,
                error: None,
                elapsed_s: 0.0,
                params: BTreeMap::from([("opt".to_string(), Value::Str(name.to_string()))]),
                metrics: BTreeMap::from([("x".to_string(), 1.0)]),
                curves: BTreeMap::from([(
                    "loss".to_string(),
                    (0..50).map(|t| (t, i as f64 + t as f64)).collect(),
                )]),
            })
            .collect();
        store.append(&records).unwrap();
        store.consolidate().unwrap();
        for _ in 0..5 {
            let curves = aggregate_curves(&dir.path().join("s"), None).unwrap();
            for step in 0..50 {
                let order: Vec<String> = curves
                    .points
                    .iter()
                    .filter(|p| p.step == step)
                    .map(|p| p.key[0].to_string())
                    .collect();
                assert_eq!(order, names, "step {step}");
            }
        }
    }

    #[test]
    fn curves_are_aggregated_per_group_and_step() {
        use harness::{Status, Store, TrialRecord};
        use std::collections::BTreeMap;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "s", None);
        let record = |id: &str, k: i64, scale: f64, status: Status| TrialRecord {
            trial_id: id.into(),
            order: 0,
            spec: "s".into(),
            method: "m".into(),
            method_code: String::new(),
            rep: 0,
            seed: 0,
            status,
            error: None,
            elapsed_s: 0.0,
            params: BTreeMap::from([("k".to_string(), Value::Int(k))]),
            metrics: BTreeMap::from([("x".to_string(), 1.0)]),
            curves: BTreeMap::from([("loss".to_string(), vec![(0, scale), (1, scale / 2.0)])]),
        };
        store
            .append(&[
                record("a", 1, 1.0, Status::Ok),
                record("b", 1, 3.0, Status::Ok),
                record("c", 2, 5.0, Status::Ok),
                record("d", 1, 100.0, Status::Error),
            ])
            .unwrap();
        store.consolidate().unwrap();
        let curves = aggregate_curves(&dir.path().join("s"), None).unwrap();
        assert_eq!(curves.keys, vec!["k"]);
        let at = |k: i64, step: u32| {
            curves
                .points
                .iter()
                .find(|p| p.key[0] == Value::Int(k) && p.step == step)
                .unwrap()
                .stats
        };
        assert_eq!(
            (at(1, 0).n, at(1, 0).mean),
            (2, 2.0),
            "the failed trial is left out"
        );
        assert_eq!(at(1, 1).mean, 1.0);
        assert_eq!((at(2, 1).n, at(2, 1).mean), (1, 2.5));
        let only: HashSet<String> = ["a".to_string()].into();
        assert_eq!(
            aggregate_curves(&dir.path().join("s"), Some(&only))
                .unwrap()
                .points
                .len(),
            2
        );
    }

    #[test]
    fn bootstrap_intervals_cover_the_mean_and_shrink_with_n() {
        let agg = aggregate_frame(frame(), Path::new("t"), Interval::Bootstrap).unwrap();
        let s = agg.groups[0].metrics["x"];
        // Values 1, 2, 6: resampled means range over [1, 6].
        assert!(
            s.ci_low >= 1.0 && s.ci_high <= 6.0 && s.ci_low < 3.0 && s.ci_high > 3.0,
            "{s:?}"
        );
        let wide: Vec<f64> = (0..20).map(|i| (i % 5) as f64).collect();
        let narrow: Vec<f64> = (0..2000).map(|i| (i % 5) as f64).collect();
        let (a, b) = (bootstrap_interval(&wide), bootstrap_interval(&narrow));
        assert!(b.1 - b.0 < 0.2 * (a.1 - a.0), "{a:?} vs {b:?}");
        assert!(a.0 < 2.0 && 2.0 < a.1);
        assert_eq!(bootstrap_interval(&wide), a, "reproducible");
        assert!(bootstrap_interval(&[1.0]).0.is_nan());
    }

    #[test]
    fn generated_floats_match_the_decimal_a_spec_writes() {
        assert!(same_value(
            &Value::Float(0.7250000000000001),
            &Value::Float(0.725)
        ));
        assert!(same_value(&Value::Int(3), &Value::Float(3.0)));
        assert!(!same_value(&Value::Float(0.725), &Value::Float(0.7251)));
        assert!(!same_value(
            &Value::Str("a".into()),
            &Value::Str("b".into())
        ));
    }

    #[test]
    fn single_trials_have_unknown_intervals() {
        let df = df!("trial_id" => ["a"], "status" => ["ok"], "error" => [None::<&str>], "method" => ["m"], "m_x" => [1.0]).unwrap();
        let agg = aggregate_frame(df, Path::new("t"), Interval::Student).unwrap();
        let s = agg.groups[0].metrics["x"];
        assert!(s.ci_low.is_nan() && s.std.is_nan());
    }
}

/// One aggregated point of a per-iteration curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurvePoint {
    /// Values of [`CurveAggregate::keys`].
    pub key: Vec<Value>,
    pub curve: String,
    pub step: u32,
    pub stats: Stats,
}

/// Curves of a store aggregated per (group, curve, step) over the ok trials.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct CurveAggregate {
    pub keys: Vec<String>,
    /// As [`Aggregate::constants`].
    pub constants: Vec<(String, Value)>,
    pub points: Vec<CurvePoint>,
}

impl CurveAggregate {
    /// The value of parameter `name` at point `p`: its key, or the value every trial shares.
    pub fn value_of(&self, p: &CurvePoint, name: &str) -> Option<Value> {
        self.keys
            .iter()
            .position(|k| k == name)
            .map(|i| p.key[i].clone())
            .or_else(|| crate::grouping::constant(&self.constants, name).cloned())
    }
}

/// Aggregate the stored curves the way [`aggregate`] does trials: join each point to its
/// trial's parameters, keep ok trials (of `only`), and compute mean, spread and a 95% interval
/// per group, curve and step. Lost curves (a `curves.parquet` or a part's curves file gone) are
/// an error naming the file, never an empty figure.
pub fn aggregate_curves(
    dir: &Path,
    only: Option<&HashSet<String>>,
) -> Result<CurveAggregate, ReportError> {
    // Keys are the parameters that vary over every stored trial (failed and stale ones too),
    // as before the curves are filtered.
    let all = stored_trials(dir, None, true)?;
    let curves_path = dir.join(schema::CURVES_FILE);
    let e = polars_error(&curves_path);
    let data = |e: harness::HarnessError| ReportError::Data(e.to_string());
    let key_columns = varying_columns(&all);
    let kept: Vec<TrialRecord> = all
        .into_iter()
        .filter(|r| r.status == Status::Ok && only.is_none_or(|o| o.contains(&r.trial_id)))
        .collect();
    let curves = curves_frame(&kept).map_err(data)?;
    if curves.height() == 0 {
        return Ok(CurveAggregate::default());
    }
    let mut trials = trials_frame(&kept).map_err(data)?;
    // A key that varies over every stored trial but that no kept trial has: null, as in the
    // table of every trial.
    for k in &key_columns {
        if trials.column(k).is_err() {
            let nulls = Column::full_null(k.as_str().into(), trials.height(), &DataType::String);
            trials.with_column(nulls).map_err(&e)?;
        }
    }
    let constants = constant_columns(&trials, &e)?;
    let mut select: Vec<Expr> = vec![col(schema::TRIAL_ID)];
    select.extend(key_columns.iter().map(|k| col(k.as_str())));
    let mut group: Vec<Expr> = key_columns.iter().map(|k| col(k.as_str())).collect();
    group.extend([col(schema::CURVE), col(schema::STEP)]);
    // Every step keeps the trials' order (the spec's expansion), so that series come out in the
    // order the spec lists them, the same on every render: polars' joins and sorts are free to
    // reorder rows unless told not to.
    let stats = trials
        .lazy()
        .select(select)
        .join(
            curves.lazy(),
            [col(schema::TRIAL_ID)],
            [col(schema::TRIAL_ID)],
            JoinArgs {
                maintain_order: MaintainOrderJoin::Left,
                ..JoinArgs::new(JoinType::Inner)
            },
        )
        .group_by_stable(group)
        .agg([
            col(schema::VALUE)
                .count()
                .cast(DataType::Float64)
                .alias("__n"),
            col(schema::VALUE).mean().alias("__mean"),
            col(schema::VALUE).std(1).alias("__std"),
            col(schema::VALUE).median().alias("__median"),
            col(schema::VALUE).min().alias("__min"),
            col(schema::VALUE).max().alias("__max"),
        ])
        .sort(
            [schema::STEP],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .collect()
        .map_err(&e)?;
    let mut points = Vec::with_capacity(stats.height());
    for row in 0..stats.height() {
        let key = key_columns
            .iter()
            .map(|k| {
                stats
                    .column(k)
                    .and_then(|c| c.get(row))
                    .map(any_to_value)
                    .map_err(&e)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let curve = stats
            .column(schema::CURVE)
            .and_then(|c| c.get(row))
            .map(|v| any_to_value(v).to_string())
            .map_err(&e)?;
        let step = get_f64(&stats, schema::STEP, row, &e)? as u32;
        let n = get_f64(&stats, "__n", row, &e)? as usize;
        let (mean, std) = (
            get_f64(&stats, "__mean", row, &e)?,
            get_f64(&stats, "__std", row, &e)?,
        );
        let half = if n >= 2 {
            t_critical_95((n - 1) as f64) * std / (n as f64).sqrt()
        } else {
            f64::NAN
        };
        points.push(CurvePoint {
            key,
            curve,
            step,
            stats: Stats {
                n,
                mean,
                std,
                median: get_f64(&stats, "__median", row, &e)?,
                min: get_f64(&stats, "__min", row, &e)?,
                max: get_f64(&stats, "__max", row, &e)?,
                ci_low: mean - half,
                ci_high: mean + half,
            },
        });
    }
    Ok(CurveAggregate {
        keys: key_columns
            .iter()
            .map(|k| schema::key_name(k).to_string())
            .collect(),
        constants,
        points,
    })
}
