//! The spec model: a YAML file describing one experiment, parsed, then validated against the
//! registered methods into a checked [`Spec`] whose trials can run without further checks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;

use crate::error::{did_you_mean, HarnessError, SpecError};
use crate::locate::{locate, locate_under};
use crate::method::{check_point, CheckFailure};
use crate::method::{Method, Registry};
use crate::param::Params;
use crate::spec_external::{load_externals, ExternalMethods, SpecMethods};
use crate::sweep::{Point, Sweep};
use crate::trial::Trial;
use crate::value::Value;

/// A sweep larger than this many trials is refused unless the user passes `--allow-large`.
pub const MAX_TRIALS: usize = 1_000_000;
/// Spec files are a page of YAML; anything this large is a mistake (or an attack).
pub const MAX_SPEC_BYTES: u64 = 1 << 20;

/// Which direction of a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Higher,
    Lower,
    #[default]
    None,
}

/// A metric the spec reports, with its label and direction.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MetricDecl {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub better: Better,
}

/// Where the spec's claim comes from (the labels of PAPERS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    Paper,
    Derived,
    Proposal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FigureKind {
    Line,
    Scatter,
    Heatmap,
    /// A per-iteration curve (`y` names the curve, `x` must be `step`), one line per `series` value.
    Curve,
    /// A point cloud recorded by one trial (e.g. an MDS embedding): curves `x` and `y` hold the
    /// coordinates indexed by point, optional curve `z` a group label per point; the first
    /// repetition of the group selected by `where` is drawn.
    Embedding,
}

/// A figure of the report: `y` (a metric) against `x` (a parameter), one series per value of
/// `series`; for a heat map, `z` (a metric) over `x` and `y` (parameters).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureSpec {
    pub kind: FigureKind,
    pub x: String,
    pub y: String,
    #[serde(default)]
    pub z: Option<String>,
    #[serde(default)]
    pub series: Option<String>,
    #[serde(default)]
    pub log_x: bool,
    #[serde(default)]
    pub log_y: bool,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, rename = "where")]
    pub filter: IndexMap<String, Value>,
    /// Line and scatter figures: more metrics drawn as their own series beside `y` (instead of
    /// a `series` parameter), e.g. one per language.
    #[serde(default)]
    pub also: Vec<String>,
    /// Shade the x-interval from the mean of the first metric to the mean of the second (over
    /// the figure's groups), e.g. a chosen band of layers.
    #[serde(default)]
    pub shade: Option<[String; 2]>,
    /// The x axis' label, when the parameter's name (or "iteration" for curves) is not the best.
    #[serde(default)]
    pub x_label: Option<String>,
}

/// A table of the report: one row per value of `rows`, one column per value of `columns`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub rows: String,
    #[serde(default)]
    pub columns: Option<String>,
    pub value: String,
    /// A precision such as `.3f` or `.2e`.
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, rename = "where")]
    pub filter: IndexMap<String, Value>,
}

/// How the 95% interval of a group mean is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    /// `mean ± t_{0.975, n−1} · s/√n`.
    #[default]
    Student,
    /// Percentile bootstrap of the mean (2,000 resamples, seeded from the group's values).
    Bootstrap,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    #[serde(default)]
    pub figures: Vec<FigureSpec>,
    #[serde(default)]
    pub tables: Vec<TableSpec>,
    /// The interval shown in figures and tables and used by checks (`ci_low`, `ci_high`).
    #[serde(default)]
    pub interval: Interval,
}

/// Which statistic of a group a threshold compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    #[default]
    Mean,
    CiLow,
    CiHigh,
    Min,
    Max,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Monotone {
    Increasing,
    Decreasing,
}

/// One claim turned into a check (evaluated by `subbench check`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CheckSpec {
    /// The metric's statistic is above and/or below a value in every matching group.
    Threshold {
        metric: String,
        #[serde(default, rename = "where")]
        filter: IndexMap<String, Value>,
        #[serde(default)]
        stat: Stat,
        #[serde(default)]
        above: Option<f64>,
        #[serde(default)]
        below: Option<f64>,
    },
    /// Groups matching `better` beat those matching `worse`, pairing the other parameters.
    Ordering {
        metric: String,
        better: IndexMap<String, Value>,
        worse: IndexMap<String, Value>,
        #[serde(default, rename = "where")]
        filter: IndexMap<String, Value>,
        #[serde(default)]
        margin: f64,
        #[serde(default)]
        ci_separated: bool,
    },
    /// The metric agrees with another metric of the same trial, or with an expression of the parameters.
    Agreement {
        metric: String,
        #[serde(default)]
        with: Option<String>,
        #[serde(default)]
        expr: Option<String>,
        #[serde(default, rename = "where")]
        filter: IndexMap<String, Value>,
        #[serde(default)]
        abs_tol: f64,
        #[serde(default)]
        rel_tol: f64,
    },
    /// Monotone in a parameter, or a fitted log-log slope in a range.
    Trend {
        metric: String,
        along: String,
        #[serde(default, rename = "where")]
        filter: IndexMap<String, Value>,
        #[serde(default)]
        monotone: Option<Monotone>,
        #[serde(default)]
        slope: Option<[f64; 2]>,
        /// `true` (default): every step of the means goes the trend's way and the fitted slope
        /// lies in its bounds. `false`, for means with sampling noise: a step against the trend
        /// fails only when the two 95% intervals are separated (the first and last means must
        /// still go the trend's way), and a slope passes when its 95% interval (from the fit's
        /// standard error) meets the bounds.
        #[serde(default = "default_true")]
        strict: bool,
    },
    /// The aggregated table equals `results/baselines/<name>.parquet` within tolerances.
    Baseline {
        #[serde(default)]
        metrics: Vec<String>,
        #[serde(default)]
        abs_tol: f64,
        #[serde(default)]
        rel_tol: f64,
    },
}

/// The fields of a spec file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    name: String,
    title: String,
    paper: String,
    claim: String,
    #[serde(default)]
    evidence: Option<Evidence>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default = "one")]
    seeds: u32,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    timeout: Option<f64>,
    #[serde(default)]
    params: IndexMap<String, Value>,
    #[serde(default)]
    sweep: Option<serde_norway::Value>,
    #[serde(default)]
    metrics: IndexMap<String, MetricDecl>,
    #[serde(default)]
    report: ReportSpec,
    /// Each check is a one-key map (`- threshold: {…}`), not a YAML tag.
    #[serde(default, with = "serde_norway::with::singleton_map_recursive")]
    expect: Vec<CheckSpec>,
    /// Claims of the paper that this reproduction finds do not hold, written as checks that are
    /// expected to fail. They keep the report honest: shown as "not reproduced", and a check that
    /// starts to pass fails the run, so the text cannot go stale.
    #[serde(default, with = "serde_norway::with::singleton_map_recursive")]
    refuted: Vec<CheckSpec>,
    #[serde(default)]
    quick: Option<QuickSpec>,
    /// Manifests of external methods, relative to the spec file (see `spec_external`).
    #[serde(default)]
    external: Vec<String>,
}

/// Overrides for `--quick` (CI): fewer seeds, smaller parameters, a smaller sweep.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuickSpec {
    #[serde(default)]
    seeds: Option<u32>,
    #[serde(default)]
    params: IndexMap<String, Value>,
    #[serde(default)]
    sweep: Option<serde_norway::Value>,
}

const FIELDS: [&str; 17] = [
    "name", "title", "paper", "claim", "evidence", "method", "seeds", "seed", "timeout", "params",
    "sweep", "metrics", "report", "expect", "refuted", "quick", "external",
];

fn default_true() -> bool {
    true
}

fn one() -> u32 {
    1
}

/// One validated sweep point: the method and its complete, checked parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecPoint {
    pub method: String,
    pub params: Params,
}

/// A validated spec.
#[derive(Debug, Clone)]
pub struct Spec {
    pub file: PathBuf,
    /// blake3 of the file's bytes, recorded in provenance.
    pub hash: String,
    /// The text that was loaded and hashed; stored with the results as `spec.yaml`.
    pub text: String,
    /// Loaded with its `quick:` overrides (the reduced sweep CI checks).
    pub quick: bool,
    pub name: String,
    pub title: String,
    pub paper: String,
    pub claim: String,
    pub evidence: Option<Evidence>,
    pub seeds: u32,
    pub seed: u64,
    pub timeout: Option<f64>,
    /// Parameters set in `params:`.
    pub fixed: IndexMap<String, Value>,
    /// Names the sweep varies (including `method` when it is swept), in order.
    pub swept: Vec<String>,
    pub points: Vec<SpecPoint>,
    pub metrics: IndexMap<String, MetricDecl>,
    pub report: ReportSpec,
    pub expect: Vec<CheckSpec>,
    /// Checks of claims that do not reproduce (expected to fail).
    pub refuted: Vec<CheckSpec>,
    /// The methods of the manifests in `external:`.
    pub external: ExternalMethods,
    /// The current code identity of every method the spec runs (method id → identity): a stored
    /// trial with another identity is stale, recomputed by `run` and left out of reports.
    pub codes: BTreeMap<String, String>,
}

impl Spec {
    /// Every trial: each point repeated `seeds` times (or `seeds_override`).
    pub fn trials(&self, seeds_override: Option<u32>) -> Vec<Trial> {
        let seeds = seeds_override.unwrap_or(self.seeds);
        let mut trials = Vec::with_capacity(self.points.len() * seeds as usize);
        for point in &self.points {
            for rep in 0..seeds {
                trials.push(Trial::new(&point.method, &point.params, rep, self.seed));
            }
        }
        trials
    }

    /// A method the spec names: one of its external methods or a built-in one.
    pub fn method<'a>(&'a self, registry: &'a Registry, id: &str) -> Option<&'a dyn Method> {
        self.external.find(id).or_else(|| registry.find(id))
    }

    /// The spec under its `i`-th derived root seed (`i ≥ 1`), for `check --reseed`: the same
    /// sweep under another root seed, so every trial gets a new id and generator. The seed is
    /// `blake3("subbench-reseed", seed, i)` truncated to 64 bits: a stable function of the
    /// spec's own `seed:`, so a reseeded check is reproducible and its trials are cached.
    pub fn reseeded(&self, i: u32) -> Spec {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"subbench-reseed\n");
        hasher.update(&self.seed.to_le_bytes());
        hasher.update(&i.to_le_bytes());
        let digest = hasher.finalize();
        let seed = u64::from_le_bytes(digest.as_bytes()[..8].try_into().expect("8 bytes"));
        Spec {
            seed,
            ..self.clone()
        }
    }

    /// The label of a metric for axes and tables.
    pub fn metric_label(&self, metric: &str) -> String {
        self.metrics
            .get(metric)
            .and_then(|m| m.label.clone())
            .unwrap_or_else(|| metric.to_string())
    }
}

/// How strict loading is.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Accept sweeps above [`MAX_TRIALS`].
    pub allow_large: bool,
    /// Apply the spec's `quick:` overrides.
    pub quick: bool,
}

/// Every spec file named by `paths` (files, or folders searched recursively for `.yaml`/`.yml`),
/// validated. All invalid files are reported together; duplicate names are an error.
pub fn load_specs(
    paths: &[PathBuf],
    registry: &Registry,
    options: LoadOptions,
) -> Result<Vec<Spec>, HarnessError> {
    let mut files = Vec::new();
    for path in paths {
        collect_spec_files(path, &mut files)?;
    }
    // The same file named twice (`specs specs/a.yaml`, or through a link) is one spec, not a
    // duplicate of itself.
    let mut unique = HashSet::new();
    files.retain(|f| unique.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match load_spec(&file, registry, options) {
            Ok(spec) => specs.push(spec),
            Err(e) => errors.push(e),
        }
    }
    let mut seen: HashMap<&str, &Path> = HashMap::new();
    for spec in &specs {
        if let Some(first) = seen.insert(&spec.name, &spec.file) {
            errors.push(
                SpecError::new(
                    &spec.file,
                    format!(
                        "spec name `{}` is already used by {}; names must be unique (they name the results folder)",
                        spec.name,
                        first.display()
                    ),
                )
                .at(locate(&std::fs::read_to_string(&spec.file).unwrap_or_default(), &["name"])),
            );
        }
    }
    match errors.len() {
        0 => Ok(specs),
        1 => Err(HarnessError::Spec(errors.remove(0))),
        _ => Err(HarnessError::Specs(errors)),
    }
}

/// The spec files under `path` (a file, or a folder searched recursively). A folder given that
/// holds none is an error, whatever else it holds.
fn collect_spec_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), HarnessError> {
    let before = out.len();
    collect_under(path, out, &mut HashSet::new())?;
    if out.len() == before {
        return Err(HarnessError::Usage(format!(
            "{}: no spec files (.yaml or .yml) in this folder or below",
            path.display()
        )));
    }
    Ok(())
}

fn collect_under(
    path: &Path,
    out: &mut Vec<PathBuf>,
    seen: &mut HashSet<PathBuf>,
) -> Result<(), HarnessError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| HarnessError::Usage(format!("{}: cannot read: {e}", path.display())))?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    if !meta.is_dir() {
        return Err(HarnessError::Usage(format!(
            "{}: not a regular file (a device, FIFO or socket); give a spec file or a folder of them",
            path.display()
        )));
    }
    // A folder reached twice (a symbolic link back up the tree) is searched once: a link loop
    // ends here instead of 40 levels down in an error per level.
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if !seen.insert(canonical) {
        return Ok(());
    }
    // A result store (an `--out` folder inside the specs folder) holds a copy of its spec, which
    // is not a spec of its own.
    if ["provenance.json", "trials.parquet", "parts"]
        .iter()
        .any(|f| path.join(f).exists())
    {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| HarnessError::Usage(format!("{}: cannot list: {e}", path.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect_under(&entry, out, seen)?;
        } else if matches!(
            entry.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(entry);
        }
    }
    Ok(())
}

/// Read and validate one spec file.
pub fn load_spec(
    file: &Path,
    registry: &Registry,
    options: LoadOptions,
) -> Result<Spec, SpecError> {
    let fail = |message: String| SpecError::new(file, message);
    let bytes = crate::input::read_regular(file, MAX_SPEC_BYTES).map_err(|why| {
        fail(format!(
            "{why} (a spec is a YAML file of at most {MAX_SPEC_BYTES} bytes)"
        ))
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        fail(format!(
            "not UTF-8 text (invalid byte at offset {}); save the spec as UTF-8",
            e.utf8_error().valid_up_to()
        ))
    })?;
    parse_spec(file, &text, registry, options)
}

/// Read a `File` parameter's file and hash its bytes. Paths are relative to the folder subbench
/// runs in, like `--out`: the spec is copied into its store and re-read from there by `report`,
/// so a path relative to the spec's own folder would change meaning. `""` (no file) has no hash.
fn resolve_input_file(path: &str) -> Result<String, String> {
    let hash = crate::input::hash_regular(Path::new(path)).map_err(|why| {
        format!("cannot read `{path}` (relative to the folder subbench runs in): {why}")
    })?;
    Ok(hash.to_hex()[..16].to_string())
}

/// Validate a spec from its text (`file` is used in messages only).
pub fn parse_spec(
    file: &Path,
    text: &str,
    registry: &Registry,
    options: LoadOptions,
) -> Result<Spec, SpecError> {
    let fail =
        |message: String, place: Option<(usize, usize)>| SpecError::new(file, message).at(place);
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(fail(
            "the file is empty; a spec needs at least name, title, paper, claim and method".into(),
            None,
        ));
    }
    let mut raw: RawSpec = serde_norway::from_str(text).map_err(|e| {
        let place = e.location().map(|l| (l.line(), l.column()));
        fail(yaml_message(&e.to_string()), place)
    })?;
    if let Some(quick) = raw.quick.take().filter(|_| options.quick) {
        raw.seeds = quick.seeds.unwrap_or(raw.seeds);
        raw.params.extend(quick.params);
        if quick.sweep.is_some() {
            raw.sweep = quick.sweep;
        }
    }
    let at = |path: &[&str]| locate(text, path);
    let external = load_externals(file, text, &raw.external, registry)?;
    let registry = &SpecMethods {
        registry,
        external: &external,
    };

    if raw.name.len() > 100 {
        return Err(fail(
            format!(
                "name is {} characters long; at most 100 are allowed (it names the results folder)",
                raw.name.len()
            ),
            at(&["name"]),
        ));
    }
    if !valid_name(&raw.name) {
        return Err(fail(
            format!("name `{}` is not allowed: use lowercase letters, digits, `-` and `_`, starting with a letter or digit (it names the results folder)", raw.name),
            at(&["name"]),
        ));
    }
    for (field, value) in [
        ("title", &raw.title),
        ("paper", &raw.paper),
        ("claim", &raw.claim),
    ] {
        if value.trim().is_empty() {
            return Err(fail(format!("`{field}` is empty"), at(&[field])));
        }
    }
    if raw.seeds == 0 || raw.seeds > 100_000 {
        return Err(fail(
            format!("`seeds` must be in [1, 100000]; got {}", raw.seeds),
            at(&["seeds"]),
        ));
    }
    if let Some(t) = raw.timeout {
        if !(t.is_finite() && t > 0.0) {
            return Err(fail(
                format!("`timeout` is seconds per trial, a positive number; got {t}"),
                at(&["timeout"]),
            ));
        }
    }

    let sweep = match &raw.sweep {
        Some(yaml) => Some(Sweep::parse(yaml).map_err(|e| {
            let place = e
                .key
                .as_deref()
                .and_then(|k| locate_under(text, "sweep", k))
                .or(at(&["sweep"]));
            fail(format!("sweep: {}", e.message), place)
        })?),
        None => None,
    };
    let swept = sweep.as_ref().map(Sweep::names).unwrap_or_default();
    if let Some(name) = swept.iter().find(|n| raw.params.contains_key(*n)) {
        return Err(fail(
            format!("`{name}` is set both in `params` and in `sweep`; keep one"),
            locate_under(text, "sweep", name),
        ));
    }
    let n_points = sweep.as_ref().map_or(1, Sweep::len);
    let n_trials = n_points.saturating_mul(raw.seeds as usize);
    if n_trials > MAX_TRIALS && !options.allow_large {
        return Err(fail(
            format!("the sweep has {n_trials} trials ({n_points} points × {} seeds); the limit is {MAX_TRIALS}: narrow it or pass --allow-large", raw.seeds),
            at(&["sweep"]),
        ));
    }
    let raw_points: Vec<Point> = match &sweep {
        Some(s) => s.expand().map_err(|e| {
            let place = e
                .key
                .as_deref()
                .and_then(|k| locate_under(text, "sweep", k));
            fail(format!("sweep: {}", e.message), place)
        })?,
        None => vec![Point::new()],
    };

    // Where a parameter was written: under `params` or somewhere in `sweep`.
    let place_of = |name: &str| at(&["params", name]).or_else(|| locate_under(text, "sweep", name));
    let mut points = Vec::with_capacity(raw_points.len());
    let mut checked_constraints: HashMap<String, ()> = HashMap::new();
    for point in raw_points {
        let method_id = match point.get("method") {
            Some(Value::Str(id)) => id.clone(),
            Some(other) => {
                return Err(fail(
                    format!(
                        "`method` values must be method ids (strings); got {}",
                        other.kind()
                    ),
                    place_of("method"),
                ))
            }
            None => raw.method.clone().ok_or_else(|| {
                fail(
                    "no `method`: name one (e.g. `method: attack.rank_one`) or sweep over `method`"
                        .into(),
                    None,
                )
            })?,
        };
        let method = registry.get(&method_id).map_err(|m| {
            fail(
                m,
                at(&["method"]).or_else(|| locate_under(text, "sweep", "method")),
            )
        })?;
        let values = raw
            .params
            .iter()
            .chain(point.iter().filter(|(k, _)| *k != "method"))
            .map(|(k, v)| (k.as_str(), v));
        let params = Params::validate(method.params(), values, method.id(), resolve_input_file)
            .map_err(|e| match &e.name {
                Some(name) => fail(e.message, place_of(name)),
                None => fail(e.message, at(&["params"])),
            })?;
        match check_point(method, &params) {
            Ok(()) => {}
            Err(CheckFailure::Invalid(message)) => {
                if checked_constraints.insert(message.clone(), ()).is_none() {
                    return Err(fail(
                        format!("method {}: {message} (at {params})", method.id()),
                        at(&["sweep"]).or(at(&["params"])),
                    ));
                }
            }
            Err(CheckFailure::Bug(message)) => return Err(SpecError::bug(file, message)),
        }
        points.push(SpecPoint {
            method: method_id,
            params,
        });
    }

    // Declared metrics must be produced by every method the spec runs.
    let mut methods: Vec<&str> = points.iter().map(|p| p.method.as_str()).collect();
    methods.sort();
    methods.dedup();
    for name in raw.metrics.keys() {
        for id in &methods {
            let method = registry.get(id).expect("validated above");
            if !method.metrics().iter().any(|m| m.name == name) {
                let names: Vec<&str> = method.metrics().iter().map(|m| m.name).collect();
                return Err(fail(
                    format!(
                        "method {id} does not produce metric `{name}`{}; it produces: {}",
                        did_you_mean(name, names.iter().copied()),
                        names.join(", ")
                    ),
                    at(&["metrics", name]),
                ));
            }
        }
    }
    if raw.metrics.is_empty() {
        raw.metrics = default_metrics(&methods, registry);
        if raw.metrics.is_empty() {
            return Err(fail(
                format!("`metrics` is not given and the methods of this spec ({}) declare no metric in common; declare the metrics to report, e.g. `metrics: {{distance: {{better: higher}}}}`", methods.join(", ")),
                at(&["method"]).or(at(&["sweep"])),
            ));
        }
    }
    if raw.report.figures.is_empty() && raw.report.tables.is_empty() {
        raw.report = default_report(&swept, &points, &raw.metrics, raw.report.interval);
    }

    let mut parameters: Vec<String> = raw.params.keys().cloned().collect();
    parameters.extend(swept.iter().cloned());
    parameters.push("method".into());
    // Parameters left at their defaults are still parameters (e.g. in an expression).
    for id in &methods {
        for p in registry.get(id).expect("validated above").params() {
            if !parameters.iter().any(|q| *q == p.name) {
                parameters.push(p.name.clone());
            }
        }
    }
    let check_metric = |m: &str, what: &str| -> Result<(), SpecError> {
        if raw.metrics.contains_key(m) {
            Ok(())
        } else {
            let names: Vec<&str> = raw.metrics.keys().map(String::as_str).collect();
            Err(fail(
                format!("{what} refers to metric `{m}`, which `metrics` does not declare{}; declared: {}", did_you_mean(m, names.iter().copied()), names.join(", ")),
                locate_under(text, if what.starts_with("expect") { "expect" } else { "report" }, "metric").or(at(&[what.split(' ').next().unwrap_or(what)])),
            ))
        }
    };
    let check_param = |p: &str, what: &str| -> Result<(), SpecError> {
        if parameters.iter().any(|q| q == p) {
            Ok(())
        } else {
            Err(fail(
                format!("{what} refers to parameter `{p}`, which the spec neither sets nor sweeps{}; known: {}", did_you_mean(p, parameters.iter().map(String::as_str)), parameters.join(", ")),
                at(&[what.split(' ').next().unwrap_or(what)]),
            ))
        }
    };
    // Every `where` value must select something: a typo (0.73 for 0.725) would otherwise make a
    // check fail on no data, or a figure silently empty.
    let check_filter = |filter: &IndexMap<String, Value>, what: &str| -> Result<(), SpecError> {
        for (name, wanted) in filter {
            check_param(name, what)?;
            let found = points.iter().any(|p| {
                let value = if name == "method" {
                    Some(Value::Str(p.method.clone()))
                } else {
                    p.params.recorded().get(name).cloned()
                };
                value.is_some_and(|v| v.matches(wanted))
            });
            if !found {
                return Err(fail(
                    format!("{what}: no trial has {name} = {wanted}; the spec's values of `{name}` do not include it"),
                    locate_under(text, what.split(' ').next().unwrap_or(what), name),
                ));
            }
        }
        Ok(())
    };
    for figure in &raw.report.figures {
        check_filter(&figure.filter, "report figure")?;
        for m in figure.shade.iter().flatten() {
            check_metric(m, "report figure shade")?;
        }
        if !figure.also.is_empty() {
            if !matches!(figure.kind, FigureKind::Line | FigureKind::Scatter)
                || figure.series.is_some()
            {
                return Err(fail(
                    "`also` adds metrics as series to a line or scatter figure without `series`"
                        .into(),
                    locate_under(text, "report", "also"),
                ));
            }
            for m in &figure.also {
                check_metric(m, "report figure")?;
            }
        }
        if matches!(figure.kind, FigureKind::Curve | FigureKind::Embedding) {
            if figure.kind == FigureKind::Curve && figure.x != "step" {
                return Err(fail(
                    format!("a curve figure has `x: step`; got `{}`", figure.x),
                    at(&["report"]),
                ));
            }
            let wanted: Vec<&String> = match figure.kind {
                FigureKind::Curve => vec![&figure.y],
                _ => [Some(&figure.x), Some(&figure.y), figure.z.as_ref()]
                    .into_iter()
                    .flatten()
                    .collect(),
            };
            for id in &methods {
                let curves = registry.get(id).expect("validated above").curves();
                let names: Vec<&str> = curves.iter().map(|c| c.name).collect();
                if let Some(missing) = wanted.iter().find(|w| !names.contains(&w.as_str())) {
                    let known = if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    };
                    return Err(fail(
                        format!(
                            "method {id} records no curve `{missing}`{}; it records: {known}",
                            did_you_mean(missing, names.iter().copied())
                        ),
                        locate_under(text, "report", "y"),
                    ));
                }
            }
            if let Some(s) = &figure.series {
                check_param(s, "report figure")?;
            }
            continue;
        }
        check_param(&figure.x, "report figure")?;
        match figure.kind {
            FigureKind::Heatmap => {
                check_param(&figure.y, "report figure")?;
                check_metric(figure.z.as_deref().unwrap_or(""), "report figure")?;
            }
            FigureKind::Line | FigureKind::Scatter | FigureKind::Curve | FigureKind::Embedding => {
                check_metric(&figure.y, "report figure")?
            }
        }
        if let Some(s) = &figure.series {
            check_param(s, "report figure")?;
        }
        for key in figure.filter.keys() {
            check_param(key, "report figure")?;
        }
    }
    for table in &raw.report.tables {
        check_filter(&table.filter, "report table")?;
        if let Some(format) = &table.format {
            if !valid_number_format(format) {
                return Err(fail(
                    format!("report table: format `{format}` is not accepted; use `.Nf` (N decimals), `.Ne` (scientific) or `.Ng` (N significant digits), N from 0 to 17"),
                    locate_under(text, "report", "format").or(at(&["report"])),
                ));
            }
        }
        check_param(&table.rows, "report table")?;
        if let Some(c) = &table.columns {
            check_param(c, "report table")?;
        }
        check_metric(&table.value, "report table")?;
        for key in table.filter.keys() {
            check_param(key, "report table")?;
        }
    }
    if raw
        .refuted
        .iter()
        .any(|c| matches!(c, CheckSpec::Baseline { .. }))
    {
        return Err(fail(
            "`refuted` lists claims that do not hold; a baseline belongs under `expect`".into(),
            at(&["refuted"]),
        ));
    }
    for check in raw.expect.iter().chain(&raw.refuted) {
        match check {
            CheckSpec::Threshold {
                metric,
                filter,
                above,
                below,
                ..
            } => {
                check_filter(filter, "expect threshold")?;
                check_metric(metric, "expect threshold")?;
                filter
                    .keys()
                    .try_for_each(|k| check_param(k, "expect threshold"))?;
                if above.is_none() && below.is_none() {
                    return Err(fail(
                        "expect threshold needs `above` and/or `below`".into(),
                        at(&["expect"]),
                    ));
                }
                // A bound that no value can meet makes a check that never passes, and a
                // `refuted` claim built on it green for ever.
                if let Some(bad) = [above, below]
                    .into_iter()
                    .flatten()
                    .find(|b| !b.is_finite())
                {
                    return Err(fail(
                        format!("expect threshold: bounds are finite numbers; got {bad}"),
                        locate_under(text, "expect", "threshold").or(at(&["expect"])),
                    ));
                }
                if let (Some(a), Some(b)) = (above, below) {
                    if a >= b {
                        return Err(fail(
                            format!("expect threshold: `above: {a}` and `below: {b}` leave no value between them; `above` must be less than `below`"),
                            locate_under(text, "expect", "threshold").or(at(&["expect"])),
                        ));
                    }
                }
            }
            CheckSpec::Ordering {
                metric,
                better,
                worse,
                filter,
                margin,
                ..
            } => {
                check_filter(filter, "expect ordering")?;
                check_filter(better, "expect ordering")?;
                check_filter(worse, "expect ordering")?;
                let place = locate_under(text, "expect", "ordering").or(at(&["expect"]));
                if !(margin.is_finite() && *margin >= 0.0) {
                    return Err(fail(
                        format!("expect ordering: `margin` is how much better, a number ≥ 0; got {margin} (a negative margin passes a reversed order)"),
                        place,
                    ));
                }
                // Groups that match both sides compare with themselves: vacuous.
                let same = better.len() == worse.len()
                    && better
                        .iter()
                        .all(|(k, v)| worse.get(k).is_some_and(|w| w.matches(v)));
                if same {
                    return Err(fail(
                        "expect ordering: `better` and `worse` select the same groups; they must differ in at least one value".into(),
                        place,
                    ));
                }
                if better.is_empty() || worse.is_empty() {
                    return Err(fail(
                        "expect ordering: `better` and `worse` each name at least one parameter value".into(),
                        place,
                    ));
                }
                check_metric(metric, "expect ordering")?;
                better
                    .keys()
                    .chain(worse.keys())
                    .chain(filter.keys())
                    .try_for_each(|k| check_param(k, "expect ordering"))?;
            }
            CheckSpec::Agreement {
                metric,
                with,
                expr,
                filter,
                abs_tol,
                rel_tol,
            } => {
                check_filter(filter, "expect agreement")?;
                check_metric(metric, "expect agreement")?;
                filter
                    .keys()
                    .try_for_each(|k| check_param(k, "expect agreement"))?;
                match (with, expr) {
                    (Some(other), None) => check_metric(other, "expect agreement")?,
                    (None, Some(text)) => {
                        let parsed = crate::expr::Expr::parse(text)
                            .map_err(|m| fail(format!("expect agreement: {m}"), at(&["expect"])))?;
                        for v in parsed.variables().into_iter().filter(|v| v != "pi") {
                            check_param(&v, "expect agreement")?;
                        }
                    }
                    _ => {
                        return Err(fail(
                            "expect agreement needs exactly one of `with` (a metric) and `expr`"
                                .into(),
                            at(&["expect"]),
                        ))
                    }
                }
                if !(*abs_tol >= 0.0
                    && *rel_tol >= 0.0
                    && abs_tol.is_finite()
                    && rel_tol.is_finite())
                {
                    return Err(fail(
                        "expect agreement: tolerances are finite numbers ≥ 0 (an infinite one accepts anything)".into(),
                        at(&["expect"]),
                    ));
                }
            }
            CheckSpec::Trend {
                metric,
                along,
                filter,
                monotone,
                slope,
                ..
            } => {
                check_filter(filter, "expect trend")?;
                check_metric(metric, "expect trend")?;
                check_param(along, "expect trend")?;
                filter
                    .keys()
                    .try_for_each(|k| check_param(k, "expect trend"))?;
                if monotone.is_none() == slope.is_none() {
                    return Err(fail(
                        "expect trend needs exactly one of `monotone` and `slope: [low, high]`"
                            .into(),
                        at(&["expect"]),
                    ));
                }
                if let Some([lo, hi]) = slope {
                    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                        return Err(fail(
                            format!("expect trend: `slope: [{lo}, {hi}]` is not an interval; give finite bounds with low ≤ high"),
                            locate_under(text, "expect", "slope").or(at(&["expect"])),
                        ));
                    }
                }
            }
            CheckSpec::Baseline {
                metrics,
                abs_tol,
                rel_tol,
            } => {
                metrics
                    .iter()
                    .try_for_each(|m| check_metric(m, "expect baseline"))?;
                if !(*abs_tol >= 0.0
                    && *rel_tol >= 0.0
                    && abs_tol.is_finite()
                    && rel_tol.is_finite())
                {
                    return Err(fail(
                        "expect baseline: tolerances are finite numbers ≥ 0 (an infinite one accepts anything)".into(),
                        locate_under(text, "expect", "baseline").or(at(&["expect"])),
                    ));
                }
            }
        }
    }

    let codes = methods
        .iter()
        .map(|id| (id.to_string(), registry.code(id)))
        .collect();
    Ok(Spec {
        file: file.to_path_buf(),
        hash: blake3::hash(text.as_bytes()).to_hex().to_string(),
        text: text.to_string(),
        quick: options.quick,
        name: raw.name,
        title: raw.title,
        paper: raw.paper,
        claim: raw.claim,
        evidence: raw.evidence,
        seeds: raw.seeds,
        seed: raw.seed,
        timeout: raw.timeout,
        fixed: raw.params,
        swept,
        points,
        metrics: raw.metrics,
        report: raw.report,
        expect: raw.expect,
        refuted: raw.refuted,
        external,
        codes,
    })
}

/// `metrics:` left out: every metric that every method of the spec declares, in the first
/// method's order, labelled by its name and with no direction (declarations carry none).
fn default_metrics(methods: &[&str], registry: &SpecMethods<'_>) -> IndexMap<String, MetricDecl> {
    let declared = |id: &str| -> Vec<&'static str> {
        registry
            .get(id)
            .map(|m| m.metrics().iter().map(|m| m.name).collect())
            .unwrap_or_default()
    };
    let Some(first) = methods.first() else {
        return IndexMap::new();
    };
    declared(first)
        .into_iter()
        .filter(|name| methods.iter().all(|id| declared(id).contains(name)))
        .map(|name| (name.to_string(), MetricDecl::default()))
        .collect()
}

/// `report:` left out (or with neither figures nor tables): what a newcomer's first spec needs to
/// see its numbers. One table per metric over the first two swept parameters that take more than
/// one value, and one line figure per metric along the first numeric one of them (one series per
/// value of the next). A spec that sweeps nothing gets one table per metric by `method`.
fn default_report(
    swept: &[String],
    points: &[SpecPoint],
    metrics: &IndexMap<String, MetricDecl>,
    interval: Interval,
) -> ReportSpec {
    let values = |name: &str| -> Vec<Value> {
        let mut distinct: Vec<Value> = Vec::new();
        for point in points {
            let value = if name == "method" {
                Some(Value::Str(point.method.clone()))
            } else {
                point.params.recorded().get(name).cloned()
            };
            if let Some(v) = value {
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
        })
        .collect();
    ReportSpec {
        figures,
        tables,
        interval,
    }
}

/// `.3f`, `.2e`, `.4g`: what `report::tables::format_number` understands. Anything else used to
/// fall back silently (`%s`), and `.100f` printed a hundred digits.
fn valid_number_format(format: &str) -> bool {
    let Some(body) = format.strip_prefix('.') else {
        return false;
    };
    let Some(digits) = body.strip_suffix(['f', 'e', 'g']) else {
        return false;
    };
    !digits.is_empty()
        && digits.len() <= 2
        && digits.chars().all(|c| c.is_ascii_digit())
        && digits.parse::<u32>().is_ok_and(|n| n <= 17)
}

/// `[a-z0-9][a-z0-9_-]*`, at most 100 characters: safe as a folder name on every system.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name.len() <= 100
}

/// The parser's message without its own "at line … column …" (the place is printed in front),
/// with a did-you-mean for unknown fields.
fn yaml_message(message: &str) -> String {
    let mut text = match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    };
    // serde names our private struct; say what the user wrote instead.
    text = text.replace(
        "expected struct RawSpec",
        "expected a mapping of spec fields (name, title, paper, claim, method, …)",
    );
    if let Some(rest) = text.strip_prefix("unknown field `") {
        if let Some(end) = rest.find('`') {
            let wrong = &rest[..end];
            let hint = did_you_mean(wrong, FIELDS);
            text = format!(
                "unknown field `{wrong}`{hint}; accepted: {}",
                FIELDS.join(", ")
            );
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_folder_safe() {
        assert!(valid_name("attack-rank-one_2"));
        for bad in ["", "../x", "a/b", "Upper", "-x", "a b", "é"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn unknown_fields_get_a_suggestion() {
        let m = yaml_message(
            "unknown field `sweeep`, expected one of `name`, `title` at line 3 column 1",
        );
        assert!(
            m.starts_with("unknown field `sweeep` (did you mean `sweep`?); accepted: name"),
            "{m}"
        );
    }
}
