//! The figures of a spec's page, from its aggregate: line and scatter plots of a metric over a
//! parameter, heat maps, per-iteration curves and the point cloud of one trial, each drawn by
//! [`crate::svg`] with every point's value, group and interval in its hover title.

use std::collections::BTreeMap;

use harness::spec::{FigureKind, FigureSpec};
use harness::{Spec, Status, TrialRecord, Value};

use crate::aggregate::{same_value, Aggregate, CurveAggregate, Stats};
use crate::svg::{render_heatmap, render_plot, HeatCell, Heatmap, Plot, Point, Series};
use crate::tables::{display_value, distinct_sorted, format_number, is_exact};

/// A drawn figure: its title, SVG, caption and notes about what it could not show.
pub struct Figure {
    pub title: String,
    pub svg: String,
    pub caption: &'static str,
    pub notes: Vec<String>,
}

/// Draw figure `f` of `spec`: from its aggregate, its curves or, for an embedding, one trial.
pub fn render(
    spec: &Spec,
    agg: &Aggregate,
    curves: &CurveAggregate,
    records: &[TrialRecord],
    f: &FigureSpec,
) -> Figure {
    let shade = shade_interval(spec, agg, f);
    let ((title, svg, notes), exact) = match f.kind {
        FigureKind::Curve => (
            render_curve(curves, f, shade),
            curves.points.iter().all(|p| is_exact(&p.stats)),
        ),
        FigureKind::Embedding => (render_embedding(records, f), false),
        _ => (render_figure(spec, agg, f, shade), all_exact(agg, f)),
    };
    let caption = match f.kind {
        FigureKind::Embedding => "Points recorded by one trial.",
        FigureKind::Heatmap => "Mean over seeds per cell.",
        // A deterministic method has no spread to show: no band, and no ± in its hover text.
        _ if exact => "Mean over seeds; the values do not vary between seeds, so there is no band.",
        _ => "Mean over seeds with 95% confidence band.",
    };
    Figure {
        title,
        svg,
        caption,
        notes,
    }
}

/// Whether no group the figure draws varies between seeds.
fn all_exact(agg: &Aggregate, f: &FigureSpec) -> bool {
    let filter: Vec<(String, Value)> = f
        .filter
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let metrics: Vec<&String> = std::iter::once(&f.y).chain(&f.also).collect();
    let exact = agg.matching(&filter).all(|g| {
        metrics
            .iter()
            .filter_map(|m| g.metrics.get(m.as_str()))
            .all(is_exact)
    });
    exact
}

/// What hovering over a point or cell says: its group, its value, and (when the value varies
/// between seeds) its 95% interval, with the number of trials behind it.
pub fn hover_text(group: &str, value_label: &str, stats: &Stats) -> String {
    let mut text = format!(
        "{group}\n{value_label}: {}",
        format_number(stats.mean, Some(".6g"))
    );
    if !is_exact(stats) && stats.ci_low.is_finite() && stats.ci_high.is_finite() {
        text.push_str(&format!(
            "\n95% interval: {} … {}",
            format_number(stats.ci_low, Some(".6g")),
            format_number(stats.ci_high, Some(".6g"))
        ));
    }
    text.push_str(&format!("\nn = {}", stats.n));
    text
}

/// The group a point of series `series` at `x` stands for, for its hover text.
fn group_text(series: &str, x_label: &str, x: &str) -> String {
    if series.is_empty() {
        format!("{x_label} = {x}")
    } else {
        format!("{series}, {x_label} = {x}")
    }
}

/// The x-interval a figure shades: the means of its two `shade` metrics over the figure's
/// groups, labelled with their names.
fn shade_interval(spec: &Spec, agg: &Aggregate, f: &FigureSpec) -> Option<(f64, f64, String)> {
    let [from, to] = f.shade.as_ref()?;
    let filter: Vec<(String, Value)> = f
        .filter
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mean_of = |metric: &str| {
        let values: Vec<f64> = agg
            .matching(&filter)
            .filter_map(|g| g.metrics.get(metric).map(|s| s.mean))
            .filter(|v| v.is_finite())
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let (a, b) = (mean_of(from)?, mean_of(to)?);
    let label = if from == to {
        spec.metric_label(from)
    } else {
        format!("{} … {}", spec.metric_label(from), spec.metric_label(to))
    };
    Some((a, b, label))
}

/// A per-iteration curve figure: mean over seeds per step with its 95% band, one line per value
/// of `series`.
fn render_curve(
    curves: &CurveAggregate,
    f: &FigureSpec,
    shade: Option<(f64, f64, String)>,
) -> (String, String, Vec<String>) {
    let key_of = |p: &crate::aggregate::CurvePoint, name: &str| curves.value_of(p, name);
    let points: Vec<_> = curves
        .points
        .iter()
        .filter(|p| {
            p.curve == f.y
                && f.filter
                    .iter()
                    .all(|(k, v)| key_of(p, k).is_some_and(|pv| same_value(&pv, v)))
        })
        .collect();
    let series_values: Vec<Value> = match &f.series {
        Some(s) => {
            let values: Vec<Value> = points.iter().filter_map(|p| key_of(p, s)).collect();
            distinct_sorted(values.iter())
        }
        None => vec![Value::Str(String::new())],
    };
    let mut notes = Vec::new();
    let used: Vec<&str> = f
        .series
        .iter()
        .map(String::as_str)
        .chain(f.filter.keys().map(String::as_str))
        .collect();
    notes.extend(pooled_note(&curves.keys, &used));
    let mut series: BTreeMap<usize, Series> = BTreeMap::new();
    for p in &points {
        let index = match &f.series {
            Some(s) => series_values
                .iter()
                .position(|v| key_of(p, s).is_some_and(|pv| same_value(&pv, v)))
                .unwrap_or(0),
            None => 0,
        };
        let label = series_label(f, &series_values, index);
        let point = Point {
            x: p.step as f64,
            y: p.stats.mean,
            low: p.stats.ci_low,
            high: p.stats.ci_high,
            hover: hover_text(
                &group_text(&label, "step", &p.step.to_string()),
                &f.y,
                &p.stats,
            ),
        };
        add_point(&mut series, f, &series_values, index, point);
    }
    if series.is_empty() {
        notes.push(format!(
            "nothing to draw: no ok trial recorded curve `{}`",
            f.y
        ));
    }
    let title = f
        .title
        .clone()
        .unwrap_or_else(|| format!("{} per iteration", f.y));
    let plot = Plot {
        title: title.clone(),
        x_label: f.x_label.clone().unwrap_or_else(|| "iteration".into()),
        y_label: f.y_label.clone().unwrap_or_else(|| f.y.clone()),
        log_x: f.log_x,
        log_y: f.log_y,
        lines: true,
        series: series.into_values().collect(),
        shade,
        width: f.width.unwrap_or(crate::svg::WIDTH),
        height: f.height.unwrap_or(crate::svg::HEIGHT),
    };

    (title, render_plot(&plot), notes)
}

/// A point cloud recorded by the first repetition of the selected group: curves `x`, `y`
/// (coordinates by point index) and optionally `z` (a group label per point, one colour each).
fn render_embedding(records: &[TrialRecord], f: &FigureSpec) -> (String, String, Vec<String>) {
    let title = f
        .title
        .clone()
        .unwrap_or_else(|| format!("{} against {}", f.y, f.x));
    let chosen = records
        .iter()
        .filter(|r| {
            r.status == Status::Ok
                && f.filter
                    .iter()
                    .all(|(k, v)| r.params.get(k).is_some_and(|p| same_value(p, v)))
        })
        .min_by_key(|r| (r.rep, r.order));
    let Some(record) = chosen else {
        let plot = Plot {
            title: title.clone(),
            x_label: f.x_label.clone().unwrap_or_else(|| f.x.clone()),
            y_label: f.y_label.clone().unwrap_or_else(|| f.y.clone()),
            log_x: false,
            log_y: false,
            lines: false,
            shade: None,
            series: vec![],
            width: f.width.unwrap_or(crate::svg::WIDTH),
            height: f.height.unwrap_or(crate::svg::HEIGHT),
        };
        return (
            title,
            render_plot(&plot),
            vec!["nothing to draw: no ok trial matches the figure's `where`".into()],
        );
    };
    let values = |name: &str| -> BTreeMap<u32, f64> {
        record
            .curves
            .get(name)
            .map(|c| c.iter().copied().collect())
            .unwrap_or_default()
    };
    let (xs, ys) = (values(&f.x), values(&f.y));
    let labels = f.z.as_deref().map(values).unwrap_or_default();
    let mut series: BTreeMap<i64, Series> = BTreeMap::new();
    for (i, x) in &xs {
        let Some(y) = ys.get(i) else { continue };
        let label = labels.get(i).map_or(0, |l| l.round() as i64);
        let name =
            f.z.as_ref()
                .map_or(String::new(), |z| format!("{z} {label}"));
        series
            .entry(label)
            .or_insert_with(|| Series {
                label: name,
                points: Vec::new(),
            })
            .points
            .push(Point {
                x: *x,
                y: *y,
                low: f64::NAN,
                high: f64::NAN,
                hover: format!("point {i}: {} = {x}, {} = {y}", f.x, f.y),
            });
    }
    let plot = Plot {
        title: title.clone(),
        x_label: f.x_label.clone().unwrap_or_else(|| f.x.clone()),
        y_label: f.y_label.clone().unwrap_or_else(|| f.y.clone()),
        log_x: f.log_x,
        log_y: f.log_y,
        lines: false,
        shade: None,
        series: series.into_values().collect(),
        width: f.width.unwrap_or(crate::svg::WIDTH),
        height: f.height.unwrap_or(crate::svg::HEIGHT),
    };
    let note = format!(
        "One trial: repetition {} (seed {}).",
        record.rep, record.seed
    );
    (title, render_plot(&plot), vec![note])
}

/// Add a point to the series of the `index`-th value of the figure's `series` parameter.
fn add_point(
    series: &mut BTreeMap<usize, Series>,
    f: &FigureSpec,
    series_values: &[Value],
    index: usize,
    point: Point,
) {
    series
        .entry(index)
        .or_insert_with(|| Series {
            label: series_label(f, series_values, index),
            points: Vec::new(),
        })
        .points
        .push(point);
}

/// The legend label of the `index`-th value of the figure's `series` parameter.
fn series_label(f: &FigureSpec, series_values: &[Value], index: usize) -> String {
    f.series.as_ref().map_or(String::new(), |s| {
        format!("{s} = {}", display_value(&series_values[index]))
    })
}

/// A note when parameters other than `used` vary: the figure then pools their groups.
fn pooled_note(keys: &[String], used: &[&str]) -> Option<String> {
    let free: Vec<&str> = keys
        .iter()
        .map(String::as_str)
        .filter(|k| !used.contains(k))
        .collect();
    (!free.is_empty()).then(|| format!("{} also varies and is pooled in this figure; add it to the figure's `where` or `series`.", free.join(", ")))
}

/// One figure: its title, SVG and notes about what it could not show.
fn render_figure(
    spec: &Spec,
    agg: &Aggregate,
    f: &FigureSpec,
    shade: Option<(f64, f64, String)>,
) -> (String, String, Vec<String>) {
    let filter: Vec<(String, Value)> = f
        .filter
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let groups: Vec<_> = agg.matching(&filter).collect();
    let mut notes = Vec::new();
    let used: Vec<&str> = [
        Some(f.x.as_str()),
        f.series.as_deref(),
        (f.kind == FigureKind::Heatmap).then_some(f.y.as_str()),
    ]
    .into_iter()
    .flatten()
    .chain(f.filter.keys().map(String::as_str))
    .collect();
    notes.extend(pooled_note(&agg.keys, &used));
    if f.kind == FigureKind::Heatmap {
        let z = f.z.clone().unwrap_or_default();
        let title = f
            .title
            .clone()
            .unwrap_or_else(|| format!("{} over {} and {}", spec.metric_label(&z), f.x, f.y));
        let xs = distinct_sorted(groups.iter().filter_map(|g| agg.value_of(g, &f.x)));
        let ys = distinct_sorted(groups.iter().filter_map(|g| agg.value_of(g, &f.y)));
        let cells = ys
            .iter()
            .map(|yv| {
                xs.iter()
                    .map(|xv| {
                        groups
                            .iter()
                            .find(|g| {
                                agg.value_of(g, &f.x).is_some_and(|v| same_value(v, xv))
                                    && agg.value_of(g, &f.y).is_some_and(|v| same_value(v, yv))
                            })
                            .and_then(|g| g.metrics.get(&z))
                            .map(|s| HeatCell {
                                value: s.mean,
                                hover: hover_text(
                                    &format!(
                                        "{} = {}, {} = {}",
                                        f.x,
                                        display_value(xv),
                                        f.y,
                                        display_value(yv)
                                    ),
                                    &spec.metric_label(&z),
                                    s,
                                ),
                            })
                    })
                    .collect()
            })
            .collect();
        let map = Heatmap {
            title: title.clone(),
            x_label: f.x_label.clone().unwrap_or_else(|| f.x.clone()),
            y_label: f.y_label.clone().unwrap_or_else(|| f.y.clone()),
            value_label: spec.metric_label(&z),
            x_values: xs.iter().map(display_value).collect(),
            y_values: ys.iter().map(display_value).collect(),
            cells,
            width: f.width.unwrap_or(crate::svg::WIDTH),
            height: f.height.unwrap_or(crate::svg::HEIGHT),
        };
        return (title, render_heatmap(&map), notes);
    }
    let title = f
        .title
        .clone()
        .unwrap_or_else(|| format!("{} vs {}", spec.metric_label(&f.y), f.x));
    let mut series: BTreeMap<usize, Series> = BTreeMap::new();
    let series_values: Vec<Value> = match &f.series {
        Some(s) => distinct_sorted(groups.iter().filter_map(|g| agg.value_of(g, s))),
        None => vec![Value::Str(String::new())],
    };
    // One series per value of `series`, or, with `also`, one per metric (labelled by it).
    let metrics: Vec<&String> = std::iter::once(&f.y).chain(&f.also).collect();
    for g in &groups {
        let Some(x_value) = agg.value_of(g, &f.x) else {
            continue;
        };
        let Some(x) = x_value.as_f64() else {
            continue;
        };
        let x_label = f.x_label.as_deref().unwrap_or(&f.x);
        for (m, metric) in metrics.iter().enumerate() {
            let Some(stats) = g.metrics.get(metric.as_str()) else {
                continue;
            };
            let index = match &f.series {
                Some(s) => series_values
                    .iter()
                    .position(|v| agg.value_of(g, s).is_some_and(|gv| same_value(gv, v)))
                    .unwrap_or(0),
                None => 0,
            };
            let label = if f.also.is_empty() {
                series_label(f, &series_values, index)
            } else {
                String::new()
            };
            let point = Point {
                x,
                y: stats.mean,
                low: stats.ci_low,
                high: stats.ci_high,
                hover: hover_text(
                    &group_text(&label, x_label, &display_value(x_value)),
                    &spec.metric_label(metric),
                    stats,
                ),
            };
            if f.also.is_empty() {
                add_point(&mut series, f, &series_values, index, point);
            } else {
                series
                    .entry(m)
                    .or_insert_with(|| Series {
                        label: spec.metric_label(metric),
                        points: Vec::new(),
                    })
                    .points
                    .push(point);
            }
        }
    }
    if series.is_empty() {
        notes.push(format!(
            "nothing to draw: no ok trials with a numeric `{}` and metric `{}`",
            f.x, f.y
        ));
    }
    let plot = Plot {
        title: title.clone(),
        x_label: f.x_label.clone().unwrap_or_else(|| f.x.clone()),
        y_label: match &f.y_label {
            Some(label) => label.clone(),
            None if f.also.is_empty() => spec.metric_label(&f.y),
            None => String::new(),
        },
        log_x: f.log_x,
        log_y: f.log_y,
        lines: f.kind == FigureKind::Line,
        series: series.into_values().collect(),
        shade,
        width: f.width.unwrap_or(crate::svg::WIDTH),
        height: f.height.unwrap_or(crate::svg::HEIGHT),
    };
    (title, render_plot(&plot), notes)
}
