//! The HTML pages: one per spec and an index, rendered with tera from templates compiled into the
//! binary (autoescaping on; only our own SVG and CSS are inserted unescaped).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use harness::spec::Better;
use harness::{Spec, TrialRecord};
use serde::Serialize;
use serde_json::Value as Json;
use tera::{Context, Tera};

use crate::aggregate::{Aggregate, CurveAggregate};
use crate::checks::CheckOutcome;
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
    /// Refuted claims the data can neither confirm nor exclude; counted in none of the above.
    #[serde(default)]
    pub checks_inconclusive: usize,
    pub trials_ok: usize,
    pub trials_failed: usize,
    /// The trials the spec's sweep asks for (points × seeds); more than ok + failed when the
    /// sweep is incomplete. 0 in an index written before it was recorded.
    #[serde(default)]
    pub trials_expected: usize,
    pub thumbnail: Option<String>,
}

impl SpecSummary {
    /// "48 of 60 trials" when the sweep is incomplete.
    pub fn incomplete(&self) -> Option<String> {
        let stored = self.trials_ok + self.trials_failed;
        (stored < self.trials_expected)
            .then(|| format!("{stored} of {} trials", self.trials_expected))
    }
}

/// The line `run` and `check` end with: where the pages are, and what their checks say.
pub fn pages_line(summaries: &[SpecSummary], reports: &Path) -> String {
    let sum = |f: fn(&SpecSummary) -> usize| summaries.iter().map(f).sum::<usize>();
    let incomplete = summaries
        .iter()
        .filter(|s| s.incomplete().is_some())
        .count();
    let mut line = format!(
        "pages: {} ({} spec page{}; checks: {} passed, {} failed, {} not reproduced",
        reports.join("index.html").display(),
        summaries.len(),
        if summaries.len() == 1 { "" } else { "s" },
        sum(|s| s.checks_passed),
        sum(|s| s.checks_failed),
        sum(|s| s.checks_refuted),
    );
    let inconclusive = sum(|s| s.checks_inconclusive);
    if inconclusive > 0 {
        line.push_str(&format!(", {inconclusive} inconclusive"));
    }
    if incomplete > 0 {
        line.push_str(&format!("; {incomplete} with an incomplete sweep"));
    }
    line.push(')');
    line
}

/// How many seeds the points of a sweep have: "10" when all have the spec's, else the range
/// and what the spec asks ("2–4 seeds per point (the spec asks 10)").
fn seeds_text(agg: &Aggregate, points: usize, seeds: u32) -> String {
    let counts: Vec<usize> = agg.groups.iter().map(|g| g.n_trials).collect();
    let (lo, hi) = (
        counts.iter().copied().min().unwrap_or(0),
        counts.iter().copied().max().unwrap_or(0),
    );
    let lo = if counts.len() < points { 0 } else { lo };
    if lo == hi && hi == seeds as usize {
        return format!("{seeds} seeds per point");
    }
    let range = if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}–{hi}")
    };
    format!("{range} seeds per point (the spec asks {seeds})")
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
        let figure = crate::figures::render(spec, agg, curves, records, f);
        let file = format!("{}-figure-{}.svg", spec.name, i + 1);
        write(&out.join(&file), &figure.svg)?;
        figures.push(FigureOut {
            title: figure.title,
            caption: figure.caption,
            svg: figure.svg,
            file,
            notes: figure.notes,
        });
    }
    let mut tables = Vec::new();
    for (i, t) in spec.report.tables.iter().enumerate() {
        let better = spec
            .metrics
            .get(&t.value)
            .map_or(Better::None, |m| m.better);
        let mut table = build_table(
            agg,
            t,
            &spec.metric_label(&t.value),
            better,
            spec.report.interval,
        );
        table
            .label
            .get_or_insert_with(|| format!("tab:{}-{}", spec.name, i + 1));
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
    let expected = spec.points.len() * spec.seeds as usize;
    ctx.insert(
        "trials",
        &serde_json::json!({
            "total": total, "ok": total - failed, "failed": failed, "expected": expected,
            "seeds": seeds_text(agg, spec.points.len(), spec.seeds),
        }),
    );
    ctx.insert(
        "fixed",
        &spec
            .fixed
            .iter()
            .map(|(k, v)| (k.clone(), display_value(v)))
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
                    .map(display_value)
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
        checks_failed: checks.iter().filter(|c| c.fails()).count(),
        checks_refuted: checks.iter().filter(|c| c.ok() && c.refuted).count(),
        checks_inconclusive: checks.iter().filter(|c| c.inconclusive).count(),
        trials_ok: total - failed,
        trials_failed: failed,
        trials_expected: expected,
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
        "checks_inconclusive",
        &summaries
            .iter()
            .map(|s| s.checks_inconclusive)
            .sum::<usize>(),
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
