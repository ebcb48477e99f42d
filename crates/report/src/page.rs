//! The HTML pages: one per spec and an index, rendered with tera from templates compiled into the
//! binary (autoescaping on; only our own SVG and CSS are inserted unescaped).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use harness::spec::{Better, FigureKind, FigureSpec};
use harness::{Spec, Status, TrialRecord, Value};
use serde::Serialize;
use serde_json::Value as Json;
use tera::{Context, Tera};

use crate::aggregate::{same_value, Aggregate, CurveAggregate};
use crate::checks::CheckOutcome;
use crate::svg::{render_heatmap, render_plot, Heatmap, Plot, Point, Series};
use crate::tables::{build_table, display_value, distinct_sorted, to_latex, to_markdown, Table};
use crate::ReportError;

const CSS: &str = include_str!("../templates/style.css");
const SPEC_TEMPLATE: &str = include_str!("../templates/spec.html");
const INDEX_TEMPLATE: &str = include_str!("../templates/index.html");

/// What the index needs to know about a rendered spec.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SpecSummary {
    pub name: String,
    /// The page shows the reduced (`quick:`) sweep.
    pub quick: bool,
    pub title: String,
    pub paper: String,
    pub claim: String,
    pub evidence: Option<String>,
    pub page: String,
    pub checks_passed: usize,
    pub checks_failed: usize,
    /// Claims of the paper found not to hold (as the spec's `refuted` says); counted in neither.
    pub checks_refuted: usize,
    pub trials_ok: usize,
    pub trials_failed: usize,
    pub thumbnail: Option<String>,
}

fn templates() -> Result<Tera, ReportError> {
    let mut tera = Tera::default();
    tera.add_raw_templates([("spec.html", SPEC_TEMPLATE), ("index.html", INDEX_TEMPLATE)])
        .map_err(|e| ReportError::Template(e.to_string()))?;
    Ok(tera)
}

fn write(path: &Path, text: &str) -> Result<(), ReportError> {
    fs::write(path, text).map_err(|e| ReportError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

#[derive(Serialize)]
struct FigureOut {
    title: String,
    caption: &'static str,
    svg: String,
    file: String,
    notes: Vec<String>,
}

/// A check as the page shows it.
#[derive(Serialize)]
struct CheckOut<'a> {
    description: &'a str,
    verdict: &'static str,
    /// CSS class of the verdict.
    class: &'static str,
    /// "held in 5/5 seed sets" after `check --reseed`.
    seeds: Option<String>,
    detail: &'a str,
}

#[derive(Serialize)]
struct TableOut {
    table: Table,
    markdown: String,
    latex: String,
}

/// What a spec's page shows: its aggregated trials and curves, the stored records of its
/// current trials, its checks, and the input files that changed since stored trials ran.
#[derive(Clone, Copy)]
pub struct PageData<'a> {
    pub agg: &'a Aggregate,
    pub curves: &'a CurveAggregate,
    pub records: &'a [TrialRecord],
    pub checks: &'a [CheckOutcome],
    pub input_changes: &'a [String],
}

/// Render `reports/<name>.html` (plus its `.svg`, `.md` and `.tex` files) from the store at
/// `store_dir`; returns what the index shows.
pub fn write_spec_report(
    spec: &Spec,
    data: &PageData<'_>,
    store_dir: &Path,
    out: &Path,
) -> Result<SpecSummary, ReportError> {
    let PageData {
        agg,
        curves,
        records,
        checks,
        input_changes,
    } = *data;
    fs::create_dir_all(out).map_err(|e| ReportError::Write {
        path: out.display().to_string(),
        message: e.to_string(),
    })?;
    let mut figures = Vec::new();
    for (i, f) in spec.report.figures.iter().enumerate() {
        let shade = shade_interval(spec, agg, f);
        let (title, svg, notes) = match f.kind {
            FigureKind::Curve => render_curve(curves, f, shade),
            FigureKind::Embedding => render_embedding(records, f),
            _ => render_figure(spec, agg, f, shade),
        };
        let file = format!("{}-figure-{}.svg", spec.name, i + 1);
        write(&out.join(&file), &svg)?;
        let caption = match f.kind {
            FigureKind::Embedding => "Points recorded by one trial.",
            FigureKind::Heatmap => "Mean over seeds per cell.",
            _ => "Mean over seeds with 95% confidence band.",
        };
        figures.push(FigureOut {
            title,
            caption,
            svg,
            file,
            notes,
        });
    }
    let mut tables = Vec::new();
    for (i, t) in spec.report.tables.iter().enumerate() {
        let better = spec
            .metrics
            .get(&t.value)
            .map_or(Better::None, |m| m.better);
        let table = build_table(agg, t, &spec.metric_label(&t.value), better);
        let (markdown, latex) = (
            format!("{}-table-{}.md", spec.name, i + 1),
            format!("{}-table-{}.tex", spec.name, i + 1),
        );
        write(&out.join(&markdown), &to_markdown(&table))?;
        write(&out.join(&latex), &to_latex(&table))?;
        tables.push(TableOut {
            table,
            markdown,
            latex,
        });
    }
    let total: usize = agg.groups.iter().map(|g| g.n_trials).sum();
    let failed: usize = agg.groups.iter().map(|g| g.n_failed).sum();
    let mut methods: Vec<&str> = spec.points.iter().map(|p| p.method.as_str()).collect();
    methods.dedup();
    methods.sort();
    methods.dedup();

    let mut ctx = Context::new();
    ctx.insert("css", CSS);
    ctx.insert("version", env!("CARGO_PKG_VERSION"));
    ctx.insert(
        "spec",
        &serde_json::json!({
            "name": spec.name, "title": spec.title, "paper": spec.paper, "claim": spec.claim,
            "evidence": spec.evidence.map(|e| format!("{e:?}").to_lowercase()),
            "seeds": spec.seeds, "seed": spec.seed, "file": spec.file.display().to_string(), "hash": spec.hash,
            "quick": spec.quick,
        }),
    );
    ctx.insert("methods", &methods);
    ctx.insert(
        "trials",
        &serde_json::json!({"total": total, "ok": total - failed, "failed": failed}),
    );
    ctx.insert(
        "fixed",
        &spec
            .fixed
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect::<Vec<_>>(),
    );
    let swept: Vec<(String, String)> = spec
        .swept
        .iter()
        .map(|name| {
            let values = distinct_sorted(spec.points.iter().filter_map(|p| {
                if name == "method" {
                    None
                } else {
                    p.params.recorded().get(name)
                }
            }));
            let text = if name == "method" {
                methods.join(", ")
            } else {
                values
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            (name.clone(), text)
        })
        .collect();
    ctx.insert("swept", &swept);
    ctx.insert("figures", &figures);
    ctx.insert("tables", &tables);
    let checks_out: Vec<CheckOut> = checks
        .iter()
        .map(|c| CheckOut {
            description: &c.description,
            verdict: c.verdict(),
            class: match c.verdict() {
                "PASS" => "pass",
                "NOT REPRODUCED" => "refuted",
                _ => "fail",
            },
            seeds: c.seeds_text(),
            detail: &c.detail,
        })
        .collect();
    ctx.insert("checks", &checks_out);
    ctx.insert("failures", &agg.failures);
    ctx.insert("provenance", &last_provenance(store_dir));
    ctx.insert("verification", &crate::citation::verification(store_dir));
    ctx.insert("citation", &crate::citation::citation(&spec.paper));
    ctx.insert("input_changes", input_changes);
    // Trials read from the parts of a run that is still running or was stopped.
    ctx.insert(
        "unconsolidated",
        &harness::Store::at(store_dir).unconsolidated_parts(),
    );
    let html = templates()?
        .render("spec.html", &ctx)
        .map_err(|e| ReportError::Template(format!("{e:?}")))?;
    let page = format!("{}.html", spec.name);
    write(&out.join(&page), &html)?;

    Ok(SpecSummary {
        name: spec.name.clone(),
        quick: spec.quick,
        title: spec.title.clone(),
        paper: spec.paper.clone(),
        claim: spec.claim.clone(),
        evidence: spec.evidence.map(|e| format!("{e:?}").to_lowercase()),
        page,
        checks_passed: checks.iter().filter(|c| c.ok() && !c.refuted).count(),
        checks_failed: checks.iter().filter(|c| !c.ok()).count(),
        checks_refuted: checks.iter().filter(|c| c.ok() && c.refuted).count(),
        trials_ok: total - failed,
        trials_failed: failed,
        thumbnail: figures.into_iter().next().map(|f| f.svg),
    })
}

/// The latest run of `provenance.json` as (field, value) rows.
fn last_provenance(store_dir: &Path) -> Vec<(String, String)> {
    let Ok(text) = fs::read_to_string(store_dir.join(harness::store::schema::PROVENANCE_FILE))
    else {
        return Vec::new();
    };
    let Ok(json) = serde_json::from_str::<Json>(&text) else {
        return Vec::new();
    };
    // Verifications are recorded among the runs; the table shows the last run that computed.
    let Some(Json::Object(last)) = json
        .get("runs")
        .and_then(|r| r.as_array())
        .and_then(|r| r.iter().rev().find(|run| run.get("verify").is_none()))
        .cloned()
    else {
        return Vec::new();
    };
    let runs = json["runs"].as_array().map_or(0, Vec::len);
    let mut rows: Vec<(String, String)> = last
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                match v {
                    Json::String(s) => s,
                    Json::Null => "unknown".into(),
                    other => other.to_string(),
                },
            )
        })
        .collect();
    rows.push(("runs recorded".into(), runs.to_string()));
    rows
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
        let point = Point {
            x: p.step as f64,
            y: p.stats.mean,
            low: p.stats.ci_low,
            high: p.stats.ci_high,
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
        y_label: f.y.clone(),
        log_x: f.log_x,
        log_y: f.log_y,
        lines: true,
        series: series.into_values().collect(),
        shade,
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
            x_label: f.x.clone(),
            y_label: f.y.clone(),
            log_x: false,
            log_y: false,
            lines: false,
            shade: None,
            series: vec![],
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
            });
    }
    let plot = Plot {
        title: title.clone(),
        x_label: f.x.clone(),
        y_label: f.y.clone(),
        log_x: f.log_x,
        log_y: f.log_y,
        lines: false,
        shade: None,
        series: series.into_values().collect(),
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
            label: f.series.as_ref().map_or(String::new(), |s| {
                format!("{s} = {}", display_value(&series_values[index]))
            }),
            points: Vec::new(),
        })
        .points
        .push(point);
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
                            .and_then(|g| g.metrics.get(&z).map(|s| s.mean))
                    })
                    .collect()
            })
            .collect();
        let map = Heatmap {
            title: title.clone(),
            x_label: f.x.clone(),
            y_label: f.y.clone(),
            value_label: spec.metric_label(&z),
            x_values: xs.iter().map(display_value).collect(),
            y_values: ys.iter().map(display_value).collect(),
            cells,
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
        let Some(x) = agg.value_of(g, &f.x).and_then(Value::as_f64) else {
            continue;
        };
        for (m, metric) in metrics.iter().enumerate() {
            let Some(stats) = g.metrics.get(metric.as_str()) else {
                continue;
            };
            let point = Point {
                x,
                y: stats.mean,
                low: stats.ci_low,
                high: stats.ci_high,
            };
            if f.also.is_empty() {
                let index = match &f.series {
                    Some(s) => series_values
                        .iter()
                        .position(|v| agg.value_of(g, s).is_some_and(|gv| same_value(gv, v)))
                        .unwrap_or(0),
                    None => 0,
                };
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
        y_label: if f.also.is_empty() {
            spec.metric_label(&f.y)
        } else {
            String::new()
        },
        log_x: f.log_x,
        log_y: f.log_y,
        lines: f.kind == FigureKind::Line,
        series: series.into_values().collect(),
        shade,
    };
    (title, render_plot(&plot), notes)
}

/// A store that could not be reported, and why (shown on the index, never silently left out).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct StoreProblem {
    pub store: String,
    pub why: String,
}

/// The index's entries, kept beside it as `index.json` so that rendering some specs keeps the
/// others' entries (`check ONE.yaml` used to leave an index of one spec).
const INDEX_ENTRIES: &str = "index.json";

/// [`write_index`] for some of the specs of `out`: the entries of earlier renders into the same
/// folder are kept, those of `summaries` replace theirs.
pub fn update_index(summaries: &[SpecSummary], out: &Path) -> Result<(), ReportError> {
    let IndexEntries {
        mut specs,
        mut problems,
    } = fs::read_to_string(out.join(INDEX_ENTRIES))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let rendered = |name: &str| summaries.iter().any(|s| s.name == name);
    specs.retain(|old| !rendered(&old.name));
    // A store listed as not reported that has now been rendered is no longer a problem.
    problems.retain(|p| {
        !Path::new(&p.store)
            .file_name()
            .is_some_and(|n| rendered(&n.to_string_lossy()))
    });
    specs.extend(summaries.iter().cloned());
    specs.sort_by(|a, b| a.name.cmp(&b.name));
    write_index(&specs, &problems, out)
}

/// What `index.json` keeps: the index's entries and the stores that could not be reported.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
struct IndexEntries {
    specs: Vec<SpecSummary>,
    problems: Vec<StoreProblem>,
}

/// Render `reports/index.html` from every spec of the folder: grouped by paper, then the stores
/// that could not be reported.
pub fn write_index(
    summaries: &[SpecSummary],
    problems: &[StoreProblem],
    out: &Path,
) -> Result<(), ReportError> {
    fs::create_dir_all(out).map_err(|e| ReportError::Write {
        path: out.display().to_string(),
        message: e.to_string(),
    })?;
    let entries = serde_json::to_string(&serde_json::json!({
        "specs": summaries,
        "problems": problems,
    }))
    .map_err(|e| ReportError::Write {
        path: out.join(INDEX_ENTRIES).display().to_string(),
        message: e.to_string(),
    })?;
    write(&out.join(INDEX_ENTRIES), &entries)?;
    crate::citation::write_references(summaries, out)?;
    let mut papers: BTreeMap<&str, Vec<&SpecSummary>> = BTreeMap::new();
    for s in summaries {
        papers.entry(&s.paper).or_default().push(s);
    }
    let papers: Vec<Json> = papers
        .into_iter()
        .map(|(name, specs)| {
            serde_json::json!({
                "name": name,
                "passed": specs.iter().map(|s| s.checks_passed).sum::<usize>(),
                "failed": specs.iter().map(|s| s.checks_failed).sum::<usize>(),
                "refuted": specs.iter().map(|s| s.checks_refuted).sum::<usize>(),
                "specs": specs,
            })
        })
        .collect();
    let mut ctx = Context::new();
    ctx.insert("css", CSS);
    ctx.insert("version", env!("CARGO_PKG_VERSION"));
    ctx.insert("specs", summaries);
    ctx.insert("papers", &papers);
    ctx.insert("problems", problems);
    ctx.insert(
        "checks_passed",
        &summaries.iter().map(|s| s.checks_passed).sum::<usize>(),
    );
    ctx.insert(
        "checks_refuted",
        &summaries.iter().map(|s| s.checks_refuted).sum::<usize>(),
    );
    ctx.insert(
        "checks_failed",
        &summaries.iter().map(|s| s.checks_failed).sum::<usize>(),
    );
    ctx.insert(
        "trials_ok",
        &summaries.iter().map(|s| s.trials_ok).sum::<usize>(),
    );
    ctx.insert(
        "trials_failed",
        &summaries.iter().map(|s| s.trials_failed).sum::<usize>(),
    );
    let html = templates()?
        .render("index.html", &ctx)
        .map_err(|e| ReportError::Template(format!("{e:?}")))?;
    write(&out.join("index.html"), &html)
}
