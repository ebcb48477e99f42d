//! The spec model: a YAML file describing one experiment, parsed, then validated against the
//! registered methods into a checked [`Spec`] whose trials can run without further checks.
//!
//! One module per concern, each type validating itself and naming its own place in the file
//! ([`crate::locate::Location`], so that a mistake in the fifth figure is shown at its line):
//!
//! - [`raw`]: the fields as written (serde), the YAML parse, `quick:`, the header fields;
//! - `points`: the sweep expanded and each point's parameters checked by its method;
//! - `metrics`: the declared (or default) metrics;
//! - [`figures`], [`tables`]: the `report:` block (`defaults` when it is left out);
//! - [`checks`]: `expect:` and `refuted:`, one struct per kind (evaluated in `report::checks`);
//! - [`external`]: the `external:` manifests;
//! - `context`: what validation of the report and the checks refers to.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

pub mod checks;
mod context;
mod defaults;
pub mod external;
pub mod figures;
mod metrics;
mod points;
pub mod raw;
pub mod tables;

pub use checks::{
    AgreementCheck, BaselineCheck, CheckSpec, Monotone, OrderingCheck, Stat, ThresholdCheck,
    TrendCheck,
};
pub use figures::{FigureKind, FigureSpec};
pub use raw::{Better, Evidence, Interval, MetricDecl, ReportSpec};
pub use tables::TableSpec;

use crate::error::{HarnessError, SpecError};
use crate::locate::{locate, Location};
use crate::method::{Method, Registry};
use crate::param::Params;
use crate::trial::Trial;
use crate::value::Value;
use context::{Context, Source};
use external::{load_externals, ExternalMethods, SpecMethods};
use raw::RawSpec;

/// A sweep larger than this many trials is refused unless the user passes `--allow-large`.
pub const MAX_TRIALS: usize = 1_000_000;
/// Spec files are a page of YAML; anything this large is a mistake (or an attack).
pub const MAX_SPEC_BYTES: u64 = 1 << 20;

/// One validated sweep point: the method and its complete, checked parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecPoint {
    pub method: String,
    pub params: Params,
}

impl SpecPoint {
    /// The point's value of a parameter, `method` included (what `where:` selects on).
    pub fn value(&self, name: &str) -> Option<Value> {
        if name == "method" {
            Some(Value::Str(self.method.clone()))
        } else {
            self.params.0.get(name).cloned()
        }
    }
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

/// Validate a spec from its text (`file` is used in messages only).
pub fn parse_spec(
    file: &Path,
    text: &str,
    registry: &Registry,
    options: LoadOptions,
) -> Result<Spec, SpecError> {
    let source = Source { file, text };
    let mut raw = RawSpec::parse(source, options.quick)?;
    let external = load_externals(file, text, &raw.external, registry)?;
    let registry = &SpecMethods {
        registry,
        external: &external,
    };
    raw.validate_header(source)?;
    let expanded = points::expand(&raw, source, registry, options)?;
    let methods = expanded.methods();
    raw.metrics = metrics::resolve(std::mem::take(&mut raw.metrics), &methods, registry, source)?;
    if raw.report.figures.is_empty() && raw.report.tables.is_empty() {
        raw.report = defaults::default_report(
            &expanded.swept,
            &expanded.points,
            &raw.metrics,
            raw.report.interval,
        );
    }

    let mut parameters: Vec<String> = raw.params.keys().cloned().collect();
    parameters.extend(expanded.swept.iter().cloned());
    parameters.push("method".into());
    // Parameters left at their defaults are still parameters (e.g. in an expression).
    for name in expanded.declared.values().flatten() {
        if !parameters.contains(name) {
            parameters.push(name.clone());
        }
    }
    let ctx = Context {
        source,
        metrics: &raw.metrics,
        parameters,
        points: &expanded.points,
        methods: &methods,
        registry,
    };
    let report = Location::root().key("report");
    for (i, figure) in raw.report.figures.iter().enumerate() {
        figure.validate(&ctx, &report.key("figures").index(i))?;
    }
    for (i, table) in raw.report.tables.iter().enumerate() {
        table.validate(&ctx, &report.key("tables").index(i))?;
    }
    checks::validate_all(&raw.expect, &raw.refuted, &ctx)?;

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
        swept: expanded.swept,
        points: expanded.points,
        metrics: raw.metrics,
        report: raw.report,
        expect: raw.expect,
        refuted: raw.refuted,
        external,
        codes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "name: s\ntitle: t\npaper: p\nclaim: c\nmethod: test.quadratic\nsweep:\n  grid:\n    x: [1, 2]\n    mode: [plain, shifted]\nmetrics: {value: {}}\n";

    /// The error of `HEAD` + `rest`: its message and its (line, column).
    fn error(rest: &str) -> (String, (usize, usize)) {
        let text = format!("{HEAD}{rest}");
        let e = parse_spec(
            Path::new("s.yaml"),
            &text,
            &crate::testkit::registry(),
            LoadOptions::default(),
        )
        .unwrap_err();
        (e.message, (e.line.unwrap(), e.column.unwrap()))
    }

    /// The (line, column) of the `nth` occurrence (0-based) of `needle` in `HEAD` + `rest`.
    fn place(rest: &str, needle: &str, nth: usize) -> (usize, usize) {
        let text = format!("{HEAD}{rest}");
        text.lines()
            .enumerate()
            .flat_map(|(i, line)| line.match_indices(needle).map(move |(c, _)| (i + 1, c + 1)))
            .nth(nth)
            .unwrap_or_else(|| panic!("`{needle}` #{nth} not in the spec"))
    }

    #[test]
    fn an_error_in_the_fifth_figure_names_the_fifth_figures_line() {
        let report = "report:\n  figures:\n    - {kind: line, x: x, y: value}\n    - {kind: line, x: x, y: value, series: mode}\n    - {kind: scatter, x: x, y: value}\n    - {kind: line, x: x, y: value, series: mode}\n    - {kind: line, x: x, y: value, series: mood}\n";
        let (message, at) = error(report);
        assert!(message.contains("parameter `mood`"), "{message}");
        assert_eq!(at, place(report, "series: mood", 0));
    }

    #[test]
    fn an_error_in_a_block_style_figure_names_its_own_key() {
        let report = "report:\n  figures:\n    - kind: line\n      x: x\n      y: value\n    - kind: line\n      x: x\n      where:\n        mode: plain\n        x: 3\n      y: value\n";
        let (message, at) = error(report);
        assert!(message.contains("no trial has x = 3"), "{message}");
        assert_eq!(at, place(report, "x: 3", 0));
    }

    #[test]
    fn an_error_in_the_third_table_names_the_third_tables_line() {
        let report = "report:\n  tables:\n    - {rows: x, value: value, format: .3f}\n    - {rows: mode, value: value, format: .2e}\n    - {rows: x, value: value, format: .3d}\n";
        let (message, at) = error(report);
        assert!(message.contains("format `.3d`"), "{message}");
        assert_eq!(at, place(report, "format: .3d", 0));
        // In a flow list too: the second table's `value`.
        let report = "report:\n  tables: [{rows: x, value: value}, {rows: x, value: valeu}]\n";
        let (message, at) = error(report);
        assert!(message.contains("metric `valeu`"), "{message}");
        assert_eq!(at, place(report, "value: valeu", 0));
    }

    #[test]
    fn an_error_in_the_fourth_check_names_the_fourth_checks_line() {
        let expect = "expect:\n  - threshold: {metric: value, above: 0}\n  - threshold: {metric: value, where: {x: 1}, above: 0}\n  - trend: {metric: value, along: x, monotone: increasing}\n  - threshold: {metric: value, where: {x: 3}, above: 0}\n";
        let (message, at) = error(expect);
        assert!(message.contains("no trial has x = 3"), "{message}");
        assert_eq!(at, place(expect, "x: 3", 0));
        let expect = "expect:\n  - threshold: {metric: value, above: 0}\n  - ordering: {metric: value, better: {mode: plain}, worse: {mode: shifted}}\n  - agreement: {metric: value, expr: \"2 * x\"}\n  - agreement: {metric: valeu, with: value}\n";
        let (message, at) = error(expect);
        assert!(message.contains("metric `valeu`"), "{message}");
        assert_eq!(at, place(expect, "metric: valeu", 0));
    }

    #[test]
    fn an_error_in_a_refuted_check_names_its_line_not_an_expect_line() {
        let checks = "expect:\n  - threshold: {metric: value, above: 0}\nrefuted:\n  - threshold: {metric: value, below: 0}\n  - threshold: {metric: value}\n";
        let (message, at) = error(checks);
        assert!(
            message.contains("needs `above` and/or `below`"),
            "{message}"
        );
        assert_eq!(at, place(checks, "threshold", 2));
        let checks = "refuted:\n  - threshold: {metric: value, below: 0}\n  - baseline: {}\n";
        let (message, at) = error(checks);
        assert!(
            message.contains("a baseline belongs under `expect`"),
            "{message}"
        );
        assert_eq!(at, place(checks, "- baseline", 0));
    }

    #[test]
    fn a_bad_quick_seeds_names_the_quick_line() {
        let text = format!("{HEAD}quick:\n  seeds: 0\n");
        let e = parse_spec(
            Path::new("s.yaml"),
            &text,
            &crate::testkit::registry(),
            LoadOptions {
                quick: true,
                ..LoadOptions::default()
            },
        )
        .unwrap_err();
        assert!(e.message.contains("`seeds` must be in"), "{}", e.message);
        let at = place("quick:\n  seeds: 0\n", "seeds", 0);
        assert_eq!((e.line, e.column), (Some(at.0), Some(at.1)));
    }
}
