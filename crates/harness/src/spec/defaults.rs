//! What a spec that leaves `report:` out gets: a first look at its numbers.

use indexmap::IndexMap;

use super::figures::{FigureKind, FigureSpec};
use super::raw::{Interval, MetricDecl, ReportSpec};
use super::tables::TableSpec;
use super::SpecPoint;
use crate::value::Value;

/// `report:` left out (or with neither figures nor tables): what a newcomer's first spec needs to
/// see its numbers. One table per metric over the first two swept parameters that take more than
/// one value, and one line figure per metric along the first numeric one of them (one series per
/// value of the next). A spec that sweeps nothing gets one table per metric by `method`.
pub(crate) fn default_report(
    swept: &[String],
    points: &[SpecPoint],
    metrics: &IndexMap<String, MetricDecl>,
    interval: Interval,
) -> ReportSpec {
    let values = |name: &str| -> Vec<Value> {
        let mut distinct: Vec<Value> = Vec::new();
        for point in points {
            if let Some(v) = point.value(name) {
                if !distinct.iter().any(|d| d.matches(&v)) {
                    distinct.push(v);
                }
            }
        }
        distinct
    };
    let varying: Vec<(String, Vec<Value>)> = swept
        .iter()
        .map(|name| (name.clone(), values(name)))
        .filter(|(_, v)| v.len() > 1)
        .collect();
    let numeric = varying
        .iter()
        .position(|(_, v)| v.iter().all(|x| x.as_f64().is_some()));
    let mut figures = Vec::new();
    if let Some(i) = numeric {
        let x = varying[i].0.clone();
        let series = varying
            .iter()
            .enumerate()
            .find(|(j, _)| *j != i)
            .map(|(_, (name, _))| name.clone());
        let positive = varying[i]
            .1
            .iter()
            .all(|v| v.as_f64().is_some_and(|x| x > 0.0));
        let spread = varying[i]
            .1
            .iter()
            .filter_map(Value::as_f64)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                (lo.min(x), hi.max(x))
            });
        for metric in metrics.keys() {
            figures.push(FigureSpec {
                kind: FigureKind::Line,
                x: x.clone(),
                y: metric.clone(),
                z: None,
                series: series.clone(),
                // Two decades or more of a positive axis read best on a log scale.
                log_x: positive && spread.1 >= 100.0 * spread.0,
                log_y: false,
                title: None,
                filter: IndexMap::new(),
                also: Vec::new(),
                shade: None,
                x_label: None,
                y_label: None,
                width: None,
                height: None,
            });
        }
    }
    let rows = varying
        .first()
        .map_or_else(|| "method".to_string(), |(name, _)| name.clone());
    let columns = varying.get(1).map(|(name, _)| name.clone());
    let tables = metrics
        .keys()
        .map(|metric| TableSpec {
            rows: rows.clone(),
            columns: columns.clone(),
            value: metric.clone(),
            format: Some(".4g".into()),
            title: None,
            filter: IndexMap::new(),
            caption: None,
            label: None,
            cell: Default::default(),
            bold: Default::default(),
            labels: IndexMap::new(),
        })
        .collect();
    ReportSpec {
        figures,
        tables,
        interval,
    }
}
