//! Points and parameters: the `sweep:` parsed and expanded (with the trial limit), and each
//! point's method and parameters checked against the method's declarations.
//!
//! Every question asked of a method about its parameters (`Method::params`, `ParamSpec::check`,
//! `Method::check`) is asked in [`check_params`] and nowhere else in the spec loader, so that a
//! change of the parameter API changes one function.

use std::collections::BTreeMap;
use std::path::Path;

use indexmap::IndexMap;

use super::context::Source;
use super::external::SpecMethods;
use super::raw::RawSpec;
use super::{LoadOptions, SpecPoint, MAX_TRIALS};
use crate::error::SpecError;
use crate::locate::{locate, locate_under};
use crate::method::{check_point, CheckFailure, Method};
use crate::param::Params;
use crate::store::schema;
use crate::sweep::{Point, Sweep};
use crate::value::Value;

/// The validated points of a spec.
pub(crate) struct Points {
    /// Names the sweep varies (including `method` when it is swept), in order.
    pub swept: Vec<String>,
    pub points: Vec<SpecPoint>,
    /// Each method the spec runs (sorted by id) with the names of the parameters it declares,
    /// in its declaration order.
    pub declared: BTreeMap<String, Vec<String>>,
}

impl Points {
    /// The ids of the methods the spec runs, sorted.
    pub fn methods(&self) -> Vec<String> {
        self.declared.keys().cloned().collect()
    }

    /// The names the report and the checks may use as parameters: those set in `params:`
    /// (`fixed`), those swept, `method`, and those left at a method's default (e.g. in an
    /// expression), in that order.
    pub fn parameters(&self, fixed: &IndexMap<String, Value>) -> Vec<String> {
        let mut names: Vec<String> = fixed.keys().cloned().collect();
        names.extend(self.swept.iter().cloned());
        names.push("method".into());
        for name in self.declared.values().flatten() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    }
}

/// Parse and expand the sweep, and check every point.
pub(crate) fn expand(
    raw: &RawSpec,
    source: Source<'_>,
    registry: &SpecMethods<'_>,
    options: LoadOptions,
) -> Result<Points, SpecError> {
    let text = source.text;
    let at = |path: &[&str]| locate(text, path);
    let (swept, raw_points) = sweep_points(raw, source, options)?;

    // Where a parameter was written: under `params` or somewhere in `sweep`.
    let place_of = |name: &str| at(&["params", name]).or_else(|| locate_under(text, "sweep", name));
    let mut points = Vec::with_capacity(raw_points.len());
    let mut declared = BTreeMap::new();
    let inputs = input_folder(source.file);
    for point in raw_points {
        let method_id = match point.get("method") {
            Some(Value::Str(id)) => id.clone(),
            Some(other) => {
                return Err(source.fail(
                    format!(
                        "`method` values must be method ids (strings); got {}",
                        other.kind()
                    ),
                    place_of("method"),
                ))
            }
            None => raw.method.clone().ok_or_else(|| {
                source.fail(
                    "no `method`: name one (e.g. `method: attack.rank_one`) or sweep over `method`",
                    None,
                )
            })?,
        };
        let method = registry.get(&method_id).map_err(|m| {
            source.fail(
                m,
                at(&["method"]).or_else(|| locate_under(text, "sweep", "method")),
            )
        })?;
        let given = raw
            .params
            .iter()
            .chain(point.iter().filter(|(k, _)| *k != "method"));
        let checked =
            check_params(method, given, inputs.as_deref()).map_err(|problem| match problem {
                Problem::Param { name, message } => source.fail(message, place_of(&name)),
                Problem::Missing(message) => source.fail(message, at(&["params"])),
                Problem::Constraint(message) => {
                    source.fail(message, at(&["sweep"]).or(at(&["params"])))
                }
                Problem::Bug(message) => SpecError::bug(source.file, message),
            })?;
        declared
            .entry(method_id.clone())
            .or_insert(checked.declared);
        points.push(SpecPoint {
            method: method_id,
            params: checked.params,
        });
    }
    Ok(Points {
        swept,
        points,
        declared,
    })
}

/// The names the sweep varies and its points (one empty point without a sweep), within the
/// trial limit.
fn sweep_points(
    raw: &RawSpec,
    source: Source<'_>,
    options: LoadOptions,
) -> Result<(Vec<String>, Vec<Point>), SpecError> {
    let text = source.text;
    let at = |path: &[&str]| locate(text, path);
    let sweep = match &raw.sweep {
        Some(yaml) => Some(Sweep::parse(yaml).map_err(|e| {
            let place = e
                .key
                .as_deref()
                .and_then(|k| locate_under(text, "sweep", k))
                .or(at(&["sweep"]));
            source.fail(format!("sweep: {}", e.message), place)
        })?),
        None => None,
    };
    let swept = sweep.as_ref().map(Sweep::names).unwrap_or_default();
    if let Some(name) = swept.iter().find(|n| raw.params.contains_key(*n)) {
        return Err(source.fail(
            format!("`{name}` is set both in `params` and in `sweep`; keep one"),
            locate_under(text, "sweep", name),
        ));
    }
    let n_points = sweep.as_ref().map_or(1, Sweep::len);
    let n_trials = n_points.saturating_mul(raw.seeds as usize);
    if n_trials > MAX_TRIALS && !options.allow_large {
        return Err(source.fail(
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
            source.fail(format!("sweep: {}", e.message), place)
        })?,
        None => vec![Point::new()],
    };
    Ok((swept, raw_points))
}

/// A point's parameters as the method accepts them.
struct Checked {
    /// Every declared parameter (defaults filled in), and `<name>_blake3` for input files.
    params: Params,
    /// The names the method declares, in order.
    declared: Vec<String>,
}

/// Why a point's parameters are refused (the message; the caller finds the place).
enum Problem {
    /// About the parameter `name` as written.
    Param { name: String, message: String },
    /// A required parameter is not given.
    Missing(String),
    /// The method's own check of the whole point failed.
    Constraint(String),
    /// The method's check panicked: a bug of the method (exit 1), not the spec's mistake.
    Bug(String),
}

/// The folder a stored spec (`spec.yaml` of a store) ran in, as its run recorded it.
pub(crate) fn input_folder(spec_file: &Path) -> Option<std::path::PathBuf> {
    if spec_file.file_name() != Some(schema::SPEC_FILE.as_ref()) {
        return None;
    }
    let text = std::fs::read_to_string(spec_file.parent()?.join(schema::WORKDIR_FILE)).ok()?;
    Some(std::path::PathBuf::from(text.trim_end_matches('\n')))
}

/// The one place that asks a method about its parameters: each given value checked against its
/// declaration (an input file read and hashed), the defaults filled in, then the method's check
/// of the whole point.
fn check_params<'a>(
    method: &dyn Method,
    given: impl Iterator<Item = (&'a String, &'a Value)>,
    inputs: Option<&Path>,
) -> Result<Checked, Problem> {
    let given = given.map(|(k, v)| (k.as_str(), v));
    let hash = |path: &str| resolve_input_file(path, inputs);
    let mut params =
        Params::validate(method.params(), given, method.id(), hash).map_err(|e| match e.name {
            Some(name) => Problem::Param {
                name,
                message: e.message,
            },
            None => Problem::Missing(e.message),
        })?;
    if let Some(folder) = inputs {
        params.resolve_files(method.params(), folder);
    }
    match check_point(method, &params) {
        Ok(()) => {}
        Err(CheckFailure::Invalid(message)) => {
            return Err(Problem::Constraint(format!(
                "method {}: {message} (at {params})",
                method.id()
            )))
        }
        Err(CheckFailure::Bug(message)) => return Err(Problem::Bug(message)),
    }
    Ok(Checked {
        params,
        declared: method.params().iter().map(|p| p.name.clone()).collect(),
    })
}

/// Read a `File` parameter's file and hash its bytes. Paths are relative to the folder subbench
/// runs in, like `--out`: the spec is copied into its store and re-read from there by `report`,
/// so a path relative to the spec's own folder would change meaning. A stored spec's relative
/// paths are resolved against the folder it ran in (`inputs`, see [`input_folder`]), so that
/// `report` finds the same files from anywhere. The path itself, as written, is what the trial
/// records.
fn resolve_input_file(path: &str, inputs: Option<&Path>) -> Result<String, String> {
    let full = match inputs {
        Some(folder) if Path::new(path).is_relative() => folder.join(path),
        _ => Path::new(path).to_path_buf(),
    };
    let hash = crate::input::hash_regular(&full).map_err(|why| match inputs {
        Some(folder) => format!(
            "cannot read `{path}` (relative to {}, the folder the stored run ran in): {why}",
            folder.display()
        ),
        None => format!("cannot read `{path}` (relative to the folder subbench runs in): {why}"),
    })?;
    Ok(hash.to_hex()[..16].to_string())
}
