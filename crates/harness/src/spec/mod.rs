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
//! - `context`: what validation of the report and the checks refers to;
//! - `files`: the spec files named on the command line, folders searched.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

pub mod checks;
mod context;
mod defaults;
pub mod external;
pub mod figures;
mod files;
mod metrics;
pub mod overrides;
mod points;
pub mod raw;
pub mod tables;
mod words;

pub use checks::{
    AgreementCheck, BaselineCheck, CheckSpec, Monotone, OrderingCheck, Stat, ThresholdCheck,
    TrendCheck,
};
pub use figures::{FigureKind, FigureSpec};
pub use raw::{Better, Evidence, Interval, MetricDecl, ReportSpec};
pub use tables::{label_names, BoldBy, CellFormat, TableSpec};

use crate::error::{HarnessError, SpecError};
use crate::locate::locate;
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
            self.params.recorded().get(name).cloned()
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

    /// Why stored trials no longer belong to the spec because their method's code changed: one
    /// line per method whose stored trials of this spec's expansion were computed by other code
    /// than the method's current code identity (they run again at the next `run`). Without it a
    /// report shows "0 trials" and does not say why.
    pub fn changed_code(&self, records: &[crate::TrialRecord]) -> Vec<String> {
        let ids: std::collections::HashSet<String> =
            self.trials(None).into_iter().map(|t| t.id).collect();
        // method → (its current code, the other codes found, how many trials).
        let mut stale: BTreeMap<&str, (&str, std::collections::BTreeSet<&str>, usize)> =
            BTreeMap::new();
        for r in records.iter().filter(|r| ids.contains(&r.trial_id)) {
            let Some(current) = self.codes.get(&r.method) else {
                continue;
            };
            if *current != r.method_code {
                let entry = stale
                    .entry(&r.method)
                    .or_insert((current, Default::default(), 0));
                entry.1.insert(&r.method_code);
                entry.2 += 1;
            }
        }
        let short = |c: &str| -> String {
            if c.is_empty() {
                "none recorded".to_string()
            } else {
                c.chars().take(12).collect()
            }
        };
        stale
            .into_iter()
            .map(|(method, (current, old, n))| {
                let old: Vec<String> = old.into_iter().map(short).collect();
                format!(
                    "{n} stored trial{} of method `{method}` {} computed by other code ({} → {}); {} not shown and will run again at the next `subbench run`",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "was" } else { "were" },
                    old.join(", "),
                    short(current),
                    if n == 1 { "it is" } else { "they are" },
                )
            })
            .collect()
    }

    /// Why stored trials no longer belong to the spec because an input file changed: one line
    /// per file parameter whose stored trials were computed from other bytes of the same path
    /// (their hidden `<name>_blake3` differs from the file's hash now). Without it a report of
    /// such a store shows no trials and checks that match no data, and does not say why.
    pub fn changed_inputs(&self, records: &[crate::TrialRecord]) -> Vec<String> {
        // (parameter, path) → the hash the spec has now.
        let mut current: BTreeMap<(String, String), String> = BTreeMap::new();
        for point in &self.points {
            for (name, value) in point.params.recorded() {
                let Some(file) = name.strip_suffix("_blake3") else {
                    continue;
                };
                if let (Some(Value::Str(path)), Value::Str(hash)) =
                    (point.params.recorded().get(file), value)
                {
                    current.insert((file.to_string(), path.clone()), hash.clone());
                }
            }
        }
        let mut lines = Vec::new();
        for ((file, path), hash) in &current {
            let stale = records
                .iter()
                .filter(|r| r.spec == self.name)
                .filter(|r| r.params.get(file) == Some(&Value::Str(path.clone())))
                .filter(|r| {
                    matches!(r.params.get(&format!("{file}_blake3")), Some(Value::Str(h)) if h != hash)
                })
                .count();
            if stale > 0 {
                lines.push(format!(
                    "input file `{path}` (parameter `{file}`) changed since {stale} stored trial{} were computed from it; they are not shown: run the spec again to recompute them",
                    if stale == 1 { "" } else { "s" }
                ));
            }
        }
        lines
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
        files::collect_spec_files(path, &mut files)?;
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

    words::translate(&mut raw, &methods, registry);
    let ctx = Context {
        source,
        metrics: &raw.metrics,
        parameters: expanded.parameters(&raw.params),
        points: &expanded.points,
        methods: &methods,
        registry,
        quick: options.quick,
    };
    raw.report.validate(&ctx)?;
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
mod tests;
