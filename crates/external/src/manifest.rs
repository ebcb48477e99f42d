//! The manifest of an external method: a YAML file, validated into declarations the harness
//! checks spec values against exactly as it checks built-in ones.
//!
//! Parameter declarations are owned values, as for built-in methods. Metric declarations are
//! `&'static` (built-in methods declare them as constants); a manifest's are built once per
//! process (the registry caches loaded manifests by path) and leaked to `'static`: a few hundred
//! bytes per manifest, for the life of the process.

use std::path::{Path, PathBuf};

use harness::locate::locate;
use harness::{MetricSpec, ParamDefault, ParamKind, ParamSpec, Registry, SpecError, Unset, Value};
use indexmap::IndexMap;
use serde::Deserialize;

/// Manifests are a page of YAML.
const MAX_MANIFEST_BYTES: u64 = 1 << 20;
/// A file that defines a method's code (`files:`), hashed into its identity.
const MAX_CODE_FILE_BYTES: u64 = 1 << 30;

const FIELDS: &[&str] = &[
    "id",
    "summary",
    "command",
    "files",
    "python",
    "params",
    "metrics",
    "curves",
    "not_reproducible",
];
/// Names a spec gives another meaning: `method` is the sweep's method key, `step` a curve's x.
const RESERVED_PARAMS: &[&str] = &["method", "step"];
/// Arguments of `command` that name a script by these endings must exist (a typo in the
/// script's name would otherwise fail every trial instead of the manifest).
const SCRIPT_ENDINGS: &[&str] = &[".py", ".sh", ".r", ".R", ".jl", ".js", ".pl", ".rb", ".lua"];
const PARAM_FIELDS: &[&str] = &["type", "range", "choices", "default", "doc"];
const TYPES: &[&str] = &["int", "float", "bool", "choice", "float_list", "file"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    id: String,
    summary: String,
    command: Vec<String>,
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    python: Option<RawPython>,
    #[serde(default)]
    params: IndexMap<String, RawParam>,
    metrics: IndexMap<String, String>,
    #[serde(default)]
    curves: IndexMap<String, String>,
    /// Metrics whose values a rerun does not give bit for bit (wall times): `verify` skips them.
    #[serde(default)]
    not_reproducible: Vec<String>,
}

/// `python: {requirements: requirements.txt}`: the environment subbench makes for the worker.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPython {
    requirements: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParam {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    range: Option<[f64; 2]>,
    #[serde(default)]
    choices: Option<Vec<String>>,
    #[serde(default)]
    default: Option<Value>,
    #[serde(default)]
    doc: String,
}

/// A validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub file: PathBuf,
    /// The manifest's folder, absolute: the worker's working directory.
    pub dir: PathBuf,
    pub id: String,
    pub summary: String,
    /// argv; the program resolved (a path with `/` is made absolute against the manifest's
    /// folder, its symbolic links kept: a venv's `bin/python` is a link whose name is what makes
    /// it that environment's interpreter; a bare name is looked up on `PATH` when the worker
    /// starts, as a shell would).
    pub command: Vec<String>,
    /// The Python environment the manifest declares (`python:`), made by subbench.
    pub python: Option<crate::env::Requirements>,
    /// What the user should know about the manifest but that does not stop it (printed once).
    pub warnings: Vec<String>,
    pub params: Vec<ParamSpec>,
    pub metrics: &'static [MetricSpec],
    pub curves: &'static [MetricSpec],
    /// blake3 of the manifest's bytes, of the command's program when it is a path, of the
    /// requirements file and of every file in `files` (16 hex digits).
    pub code: String,
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Read and validate the manifest at `path`; `registry` holds the ids it must not take.
pub fn load_manifest(path: &Path, registry: &Registry) -> Result<Manifest, SpecError> {
    let fail = |m: String| SpecError::new(path, m);
    let size = std::fs::metadata(path)
        .map_err(|e| fail(format!("cannot read the manifest: {e}")))?
        .len();
    if size > MAX_MANIFEST_BYTES {
        return Err(fail(format!(
            "the manifest is {size} bytes; at most {MAX_MANIFEST_BYTES} are accepted"
        )));
    }
    let bytes = harness::input::read_regular(path, MAX_MANIFEST_BYTES)
        .map_err(|e| fail(format!("cannot read the manifest: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| fail("not UTF-8 text; save the manifest as UTF-8".into()))?;
    let manifest = parse_manifest(path, &text)?;
    if registry.find(&manifest.id).is_some() {
        return Err(fail(format!(
            "id `{}` is a built-in method's; choose another (e.g. prefix it with your library's name)",
            manifest.id
        ))
        .at(locate(&text, &["id"])));
    }
    Ok(manifest)
}

/// Validate a manifest's text (`path` locates its folder and names it in messages).
pub fn parse_manifest(path: &Path, text: &str) -> Result<Manifest, SpecError> {
    let fail = |m: String, place: Option<(usize, usize)>| SpecError::new(path, m).at(place);
    let at = |keys: &[&str]| locate(text, keys);
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(fail(
            "the manifest is empty; it needs id, summary, command and metrics".to_string(),
            None,
        ));
    }
    let raw: RawManifest = serde_norway::from_str(text).map_err(|e| {
        let place = e.location().map(|l| (l.line(), l.column()));
        fail(yaml_message(&e.to_string()), place)
    })?;
    let dir = manifest_folder(path);
    let valid_id = {
        let mut parts = raw.id.split('.');
        raw.id.contains('.')
            && parts.all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
    };
    if !valid_id {
        return Err(fail(
            format!(
                "id `{}` is not accepted: use `library.method`, lowercase letters, digits and `_` (e.g. scipy.subspace_angles)",
                raw.id
            ),
            at(&["id"]),
        ));
    }
    if raw.summary.trim().is_empty() {
        return Err(fail(
            "`summary` is empty; one line for `subbench list`".into(),
            at(&["summary"]),
        ));
    }

    let command = resolve_command(&raw.command, &dir, raw.python.is_some())
        .map_err(|m| fail(m, at(&["command"])))?;
    let python = match &raw.python {
        None => None,
        Some(p) => Some(
            crate::env::Requirements::read(&dir, &p.requirements)
                .map_err(|m| fail(m, at(&["python", "requirements"]).or(at(&["python"]))))?,
        ),
    };

    // The code identity: the manifest, the program when it is a file, the requirements and
    // every file of `files:` (each with its name and length, so that no two sets hash alike).
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"subbench-external-v1\n");
    hasher.update(&(text.len() as u64).to_le_bytes());
    hasher.update(text.as_bytes());
    let mut hash_file = |name: &str, bytes: &[u8]| {
        hasher.update(name.as_bytes());
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    if raw.command[0].contains('/') {
        // Streamed: the program may be an interpreter of some megabytes.
        let hash = harness::input::hash_regular(Path::new(&command[0])).map_err(|e| {
            fail(
                format!("command: cannot read `{}`: {e}", raw.command[0]),
                at(&["command"]),
            )
        })?;
        hash_file(&raw.command[0], hash.as_bytes());
    }
    if let Some(python) = &python {
        hash_file(&python.name, &python.text);
    }
    for file in &raw.files {
        // Regular files only, sized before reading (a FIFO would hang, /dev/zero never end).
        let bytes =
            harness::input::read_regular(&dir.join(file), MAX_CODE_FILE_BYTES).map_err(|e| {
                fail(
                    format!("files: cannot read `{file}` (relative to the manifest's folder): {e}"),
                    line_of(text, file).or(at(&["files"])),
                )
            })?;
        hash_file(file, &bytes);
    }
    let code = hasher.finalize().to_hex()[..16].to_string();
    let warnings = unlisted_files(path, &raw.command[1..], &raw.files, &dir);

    let mut params = Vec::new();
    for (name, p) in &raw.params {
        params.push(param(name, p).map_err(|(m, key)| {
            let mut keys = vec!["params", name.as_str()];
            keys.extend(key);
            fail(
                format!("params: `{name}`: {m}"),
                at(&keys).or(at(&["params", name])),
            )
        })?);
    }
    if raw.metrics.is_empty() {
        return Err(fail(
            "`metrics` is empty; declare what the worker returns, e.g. `metrics: {error: \"…\"}`"
                .into(),
            at(&["metrics"]),
        ));
    }
    for (section, names) in [("metrics", &raw.metrics), ("curves", &raw.curves)] {
        for name in names.keys() {
            if !valid_name(name) {
                return Err(fail(
                    format!("{section}: name `{name}` is not accepted: use lowercase letters, digits and `_`"),
                    at(&[section, name]),
                ));
            }
        }
    }
    for name in raw.params.keys() {
        if !valid_name(name) || name.ends_with("_blake3") {
            return Err(fail(
                format!("params: name `{name}` is not accepted: use lowercase letters, digits and `_` (not ending in `_blake3`)"),
                at(&["params", name]),
            ));
        }
        if RESERVED_PARAMS.contains(&name.as_str()) {
            return Err(fail(
                format!(
                    "params: `{name}` is a reserved name (a spec's `method` key is the method, a curve's x is `step`); reserved: {}; rename the parameter",
                    RESERVED_PARAMS.join(", ")
                ),
                at(&["params", name]),
            ));
        }
    }
    if let Some(name) = raw
        .not_reproducible
        .iter()
        .find(|n| !raw.metrics.contains_key(*n))
    {
        return Err(fail(
            format!(
                "not_reproducible: `{name}` is not one of the manifest's metrics ({})",
                raw.metrics.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            at(&["not_reproducible"]),
        ));
    }
    let metric_specs = |m: &IndexMap<String, String>| -> &'static [MetricSpec] {
        let v: Vec<MetricSpec> = m
            .iter()
            .map(|(name, doc)| MetricSpec {
                name: leak(name.clone()),
                doc: leak(doc.clone()),
                reproducible: !raw.not_reproducible.contains(name),
            })
            .collect();
        Box::leak(v.into_boxed_slice())
    };
    Ok(Manifest {
        file: path.to_path_buf(),
        dir,
        id: raw.id.clone(),
        summary: raw.summary.clone(),
        command,
        python,
        warnings,
        params,
        metrics: metric_specs(&raw.metrics),
        curves: metric_specs(&raw.curves),
        code,
    })
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// One parameter declaration; the error names the offending key.
fn param(name: &str, p: &RawParam) -> Result<ParamSpec, (String, Option<&'static str>)> {
    if !TYPES.contains(&p.kind.as_str()) {
        return Err((
            format!("unknown type `{}`; accepted: {}", p.kind, TYPES.join(", ")),
            Some("type"),
        ));
    }
    let numeric = matches!(p.kind.as_str(), "int" | "float" | "float_list");
    if p.range.is_some() && !numeric {
        return Err((
            format!(
                "`range` applies to int, float and float_list parameters, not {}",
                p.kind
            ),
            Some("range"),
        ));
    }
    if p.choices.is_some() && p.kind != "choice" {
        return Err((
            "`choices` applies to choice parameters only".into(),
            Some("choices"),
        ));
    }
    let [low, high] = p.range.unwrap_or([f64::NEG_INFINITY, f64::INFINITY]);
    if low.is_nan() || high.is_nan() || low > high {
        return Err((
            format!("`range` is [low, high] with low ≤ high; got [{low}, {high}]"),
            Some("range"),
        ));
    }
    let kind = match p.kind.as_str() {
        "int" => {
            let integral = |x: f64| x.is_infinite() || (x.fract() == 0.0 && x.abs() < 9.0e15);
            if !integral(low) || !integral(high) {
                return Err((
                    format!("an int parameter's `range` has integer bounds; got [{low}, {high}]"),
                    Some("range"),
                ));
            }
            let clamp = |x: f64| {
                if x == f64::NEG_INFINITY {
                    i64::MIN
                } else if x == f64::INFINITY {
                    i64::MAX
                } else {
                    x as i64
                }
            };
            ParamKind::Int {
                min: clamp(low),
                max: clamp(high),
            }
        }
        "float" => ParamKind::Float {
            min: low,
            max: high,
        },
        "float_list" => ParamKind::FloatList {
            min: low,
            max: high,
        },
        "bool" => ParamKind::Bool,
        "file" => ParamKind::File,
        "choice" => {
            let choices = p.choices.as_ref().filter(|c| !c.is_empty()).ok_or((
                "a choice parameter needs `choices: [a, b, …]`".to_string(),
                Some("type"),
            ))?;
            ParamKind::Choice(choices.clone())
        }
        other => {
            return Err((
                format!("unknown type `{other}`; accepted: {}", TYPES.join(", ")),
                Some("type"),
            ))
        }
    };
    let mut spec = ParamSpec {
        name: name.to_string(),
        kind,
        default: ParamDefault::Required,
        doc: p.doc.clone(),
    };
    if spec.kind == ParamKind::File && p.default == Some(Value::Str(String::new())) {
        // An optional file: unset, recorded and sent to the worker as `""` (the protocol's
        // "none").
        spec.default = ParamDefault::Unset(Unset {
            word: None,
            recorded: Some(Value::Str(String::new())),
        });
    } else if let Some(value) = &p.default {
        let checked = spec
            .check(value)
            .map_err(|m| (format!("the default is refused: {m}"), Some("default")))?;
        spec.default = ParamDefault::Value(checked);
    }
    Ok(spec)
}

/// The folder of the manifest at `path`, absolute (`m.yaml` given from its own folder has the
/// empty path as its parent, which is no working directory).
fn manifest_folder(path: &Path) -> PathBuf {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf())
}

/// `command` with its program resolved, checked now so that a typo is an error before anything
/// runs. With `python:`, a program `python3` or `python` is the environment's interpreter
/// (substituted when the worker starts), so it need not be on PATH.
fn resolve_command(raw: &[String], dir: &Path, python: bool) -> Result<Vec<String>, String> {
    let Some(program) = raw.first() else {
        return Err(
            "`command` is empty; give the argv that starts the worker, e.g. [python3, worker.py]"
                .into(),
        );
    };
    let mut command = raw.to_vec();
    if program.contains('/') {
        let resolved = dir.join(program);
        if !resolved.is_file() {
            return Err(format!(
                "command: no program `{program}` (a path with `/` is relative to the manifest's folder)"
            ));
        }
        // Absolute, but not canonical: following the links of `.venv/bin/python` would start
        // the base interpreter, without the environment's packages.
        command[0] = lexically_normal(&resolved).display().to_string();
    } else if !(python && crate::env::is_python(program)) && find_on_path(program).is_none() {
        return Err(format!(
            "command: `{program}` is not on PATH; install it, or give a path relative to the manifest's folder"
        ));
    }
    let mut after_inline = false;
    for arg in &raw[1..] {
        // `python3 -m pkg.mod` and `-c "…"` name no file.
        let names_script = !after_inline
            && !arg.starts_with('-')
            && SCRIPT_ENDINGS.iter().any(|end| arg.ends_with(end));
        after_inline = matches!(arg.as_str(), "-m" | "-c");
        if names_script && !dir.join(arg).is_file() {
            return Err(format!(
                "command: no file `{arg}` in the manifest's folder {} (the worker runs there)",
                dir.display()
            ));
        }
    }
    Ok(command)
}

/// `path` without `.` and `..` components (textually: the links it goes through are kept).
fn lexically_normal(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Arguments of `command` that are files of the manifest's folder but not in `files:`: their
/// edits would not change the code identity, so old results would be served for new code.
fn unlisted_files(manifest: &Path, args: &[String], files: &[String], dir: &Path) -> Vec<String> {
    let listed: Vec<PathBuf> = files
        .iter()
        .map(|f| lexically_normal(&dir.join(f)))
        .collect();
    args.iter()
        .filter(|arg| !arg.starts_with('-') && dir.join(arg).is_file())
        .filter(|arg| !listed.contains(&lexically_normal(&dir.join(arg))))
        .map(|arg| {
            format!(
                "{}: command runs `{arg}`, which `files:` does not list: editing it will not rerun the method's trials; add it to `files:`",
                manifest.display()
            )
        })
        .collect()
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The first line (and column) where `needle` is written, 1-based.
fn line_of(text: &str, needle: &str) -> Option<(usize, usize)> {
    text.lines()
        .enumerate()
        .find_map(|(i, line)| line.find(needle).map(|c| (i + 1, c + 1)))
}

/// The parser's message without its own place (printed in front), saying what is accepted.
fn yaml_message(message: &str) -> String {
    let text = match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    };
    let text = text
        .replace(
            "expected struct RawManifest",
            &format!(
                "expected a mapping of manifest fields ({})",
                FIELDS.join(", ")
            ),
        )
        .replace(
            "expected struct RawParam",
            &format!(
                "expected a parameter declaration {{{}}}",
                PARAM_FIELDS.join(", ")
            ),
        );
    // serde_norway puts the path of the offending mapping first ("params.n: unknown field …").
    let (path, text) = match text
        .find("unknown field `")
        .or(text.find("missing field `"))
    {
        Some(i) => (text[..i].to_string(), text[i..].to_string()),
        None => (String::new(), text),
    };
    if let Some(rest) = text.strip_prefix("unknown field `") {
        let wrong = rest.split('`').next().unwrap_or("");
        // Parameter fields and manifest fields share no names, so the expected list tells which.
        let accepted = if text.contains("`type`") {
            PARAM_FIELDS
        } else {
            FIELDS
        };
        return format!("unknown field `{wrong}`; accepted: {}", accepted.join(", "));
    }
    if let Some(rest) = text.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or("");
        return format!("{path}missing field `{field}`; a manifest needs id, summary, command and metrics, and a parameter needs type");
    }
    format!("{path}{text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("w.py"), "print()").unwrap();
        parse_manifest(&dir.path().join("m.yaml"), text).map_err(|e| {
            e.to_string()
                .split_once("m.yaml")
                .map(|(_, r)| r.to_string())
                .unwrap()
        })
    }

    const GOOD: &str = "id: lib.m\nsummary: s\ncommand: [sh, w.py]\nfiles: [w.py]\nparams:\n  n: {type: int, range: [1, 10], default: 3, doc: d}\n  a: {type: float_list, range: [0, 2], default: [1.5, 1.0e-10]}\n  k: {type: choice, choices: [x, y], default: x}\n  b: {type: bool, default: false}\n  f: {type: file, default: \"\"}\nmetrics:\n  e: \"error\"\n";

    #[test]
    fn a_valid_manifest_gives_declarations_and_a_code_identity() {
        let m = parse(GOOD).unwrap();
        assert_eq!(m.id, "lib.m");
        assert_eq!(m.params.len(), 5);
        assert_eq!(m.params[0].kind, ParamKind::Int { min: 1, max: 10 });
        assert_eq!(
            m.params[1].default,
            ParamDefault::Value(Value::List(vec![1.5, 1e-10]))
        );
        assert_eq!(m.code.len(), 16);
        assert_ne!(m.code, parse(&GOOD.replace("error", "err")).unwrap().code);
    }

    #[test]
    fn every_mistake_names_its_line_and_what_is_accepted() {
        let cases = [
            (
                GOOD.replace("type: int", "type: integer"),
                ":6:",
                "unknown type `integer`; accepted: int, float",
            ),
            (
                GOOD.replace("default: 3", "default: 30"),
                ":6:",
                "default is refused",
            ),
            (
                GOOD.replace("summary: s", "summary: s\nflavour: x"),
                ":3:",
                "unknown field `flavour`; accepted: id, summary",
            ),
            (
                GOOD.replace("doc: d}", "doc: d, step: 2}"),
                ":6:",
                "unknown field `step`; accepted: type, range",
            ),
            (
                GOOD.replace("[sh, w.py]", "[]"),
                ":3:",
                "`command` is empty",
            ),
            (
                GOOD.replace("[sh, w.py]", "[no-such-program-xyz]"),
                ":3:",
                "not on PATH",
            ),
            (
                GOOD.replace("[sh, w.py]", "[./nothere.sh]"),
                ":3:",
                "no program `./nothere.sh`",
            ),
            (
                GOOD.replace("files: [w.py]", "files: [w.py, gone.py]"),
                ":4:",
                "cannot read `gone.py`",
            ),
            (
                GOOD.replace("id: lib.m", "id: Lib"),
                ":1:",
                "id `Lib` is not accepted",
            ),
            (
                GOOD.replace("choices: [x, y], ", ""),
                ":8:",
                "needs `choices",
            ),
            (
                GOOD.replace("range: [1, 10]", "range: [10, 1]"),
                ":6:",
                "low ≤ high",
            ),
            (
                GOOD.replace("type: bool,", "type: bool, range: [0, 1],"),
                ":9:",
                "`range` applies to",
            ),
            (
                GOOD.replace("metrics:\n  e: \"error\"\n", ""),
                "",
                "missing field `metrics`",
            ),
        ];
        for (text, line, wanted) in cases {
            let e = parse(&text).unwrap_err();
            assert!(
                e.starts_with(line) && e.contains(wanted),
                "{e} (wanted {line} {wanted})"
            );
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
