//! `subbench new METHOD` / `new --external MANIFEST`: a first spec that validates and runs as
//! written. Every parameter is there with its default (or, when required, the nearest value to
//! zero it accepts), its type, range and doc as comments; one parameter is swept as an
//! example; the metrics are listed; a `quick:` block makes `check --quick` fast; there are no
//! claims (a claim is the author's statement of what the paper says).

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use anyhow::Result;
use clap::Args;
use harness::{Method, ParamDefault, ParamKind, ParamSpec, Registry, Value};

use crate::user_error::UserError;

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The method id (see `subbench list`).
    #[arg(required_unless_present = "external", conflicts_with = "external")]
    pub method: Option<String>,
    /// Scaffold the (first) method of this external manifest instead.
    #[arg(long, value_name = "MANIFEST")]
    pub external: Option<PathBuf>,
    /// Write the spec to this file (its folders are created; an existing file is kept) instead
    /// of printing it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn new(args: &NewArgs, registry: &Registry) -> Result<()> {
    let external;
    let method: &dyn Method = match (&args.method, &args.external) {
        (_, Some(manifest)) => {
            external = registry
                .load_external(manifest)
                .map_err(|e| UserError::new(e.to_string()))?;
            external.as_ref()
        }
        (Some(id), None) => registry.get(id).map_err(UserError::new)?,
        (None, None) => unreachable!("clap requires one"),
    };
    let name = match &args.out {
        Some(file) => spec_name(
            &file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
        None => spec_name(method.id()),
    };
    let manifest = match &args.external {
        Some(m) => Some(relative_to_spec(m, args.out.as_deref())?),
        None => None,
    };
    let text = scaffold(method, &name, manifest.as_deref());
    let Some(file) = &args.out else {
        say_raw!("{text}");
        return Ok(());
    };
    if file.exists() {
        return Err(UserError::new(format!(
            "{}: already exists; subbench new never overwrites a spec (give another --out)",
            file.display()
        ))
        .into());
    }
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            UserError::new(format!(
                "{}: cannot create the folder: {e}",
                parent.display()
            ))
        })?;
    }
    std::fs::write(file, &text)
        .map_err(|e| UserError::new(format!("{}: cannot write: {e}", file.display())))?;
    eprintln!(
        "wrote {}: check it with `subbench validate {0}`, run it with `subbench run {0}`",
        file.display()
    );
    Ok(())
}

/// A folder-safe spec name: lowercase, `.` and other characters as `-`.
fn spec_name(stem: &str) -> String {
    let mut name: String = stem
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_' | '-') => c,
            _ => '-',
        })
        .take(100)
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        name.insert(0, 's');
        name.truncate(100);
    }
    name
}

/// The manifest's path as the spec's `external:` reads it: relative to the spec's folder.
fn relative_to_spec(manifest: &Path, spec: Option<&Path>) -> Result<String> {
    let absolute = |p: &Path| -> Result<PathBuf> {
        Ok(std::path::absolute(p).map_err(|e| UserError::new(format!("{}: {e}", p.display())))?)
    };
    let manifest = absolute(manifest)?;
    let folder = match spec
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
    {
        Some(parent) => absolute(parent)?,
        None => absolute(Path::new("."))?,
    };
    let from: Vec<Component> = folder.components().collect();
    let to: Vec<Component> = manifest.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut relative = PathBuf::new();
    for _ in common..from.len() {
        relative.push("..");
    }
    for c in &to[common..] {
        relative.push(c.as_os_str());
    }
    relative.to_str().map(str::to_string).ok_or_else(|| {
        UserError::new(format!("{}: the path must be UTF-8", manifest.display())).into()
    })
}

/// A value the parameter accepts: its default, or for a required one the accepted value
/// nearest to zero (the first choice, `false`, a one-element list).
fn starting_value(p: &ParamSpec) -> Option<Value> {
    if let Some(v) = p.default_value() {
        return Some(v);
    }
    if !matches!(p.default, ParamDefault::Required) {
        return None;
    }
    Some(match &p.kind {
        ParamKind::Int { min, max } => Value::Int(0.clamp(*min, *max)),
        ParamKind::Float { min, max } => Value::Float(0.0_f64.clamp(*min, *max)),
        ParamKind::Bool => Value::Bool(false),
        ParamKind::Choice(names) => Value::Str(names.first()?.clone()),
        ParamKind::FloatList { min, max } => Value::List(vec![0.0_f64.clamp(*min, *max)]),
        ParamKind::IntList { min, max } => Value::List(vec![0.clamp(*min, *max) as f64]),
        ParamKind::File => return None,
    })
}

/// Two values of the first parameter that can be swept: its start and a neighbour in range.
fn example_axis(params: &[ParamSpec]) -> Option<(&ParamSpec, Vec<Value>)> {
    params.iter().find_map(|p| {
        let start = starting_value(p)?;
        let values = match (&p.kind, &start) {
            (&ParamKind::Int { min, max }, &Value::Int(d)) if max > min => {
                let other = if d < max { d + 1 } else { d - 1 };
                vec![Value::Int(d.min(other)), Value::Int(d.max(other))]
            }
            (ParamKind::Choice(names), Value::Str(d)) if names.len() > 1 => {
                let other = names.iter().find(|n| *n != d)?;
                vec![start.clone(), Value::Str(other.clone())]
            }
            (ParamKind::Bool, _) => vec![Value::Bool(false), Value::Bool(true)],
            _ => return None,
        };
        Some((p, values))
    })
}

fn yaml(value: &Value) -> String {
    // JSON is YAML, and keeps a number a number and a string a string.
    serde_json::to_string(value).unwrap_or_else(|_| value.to_string())
}

/// Quote a text as a YAML string.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialise")
}

/// The spec's text.
fn scaffold(method: &dyn Method, name: &str, manifest: Option<&str>) -> String {
    let axis = example_axis(method.params());
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# A first spec for {}: {}\n# Written by `subbench new`. Check it with `subbench validate FILE`, run it with\n# `subbench run FILE` (or `subbench check FILE --quick` for the quick variant), vary it\n# with `-p KEY=VALUE`. Claims (`expect:`) are yours to state: see docs/loop.md.",
        method.id(),
        method.summary()
    );
    let _ = writeln!(s, "name: {name}");
    let _ = writeln!(
        s,
        "title: {}",
        quoted(&format!("{} — first spec", method.id()))
    );
    // `paper:` must name an entry of references.yaml: the paper of the method's crate when its
    // id says one (`attack.pca` → attack), else `compare` (methods compared with each other).
    let crate_name = method.id().split('.').next().unwrap_or_default();
    let paper = match harness::papers::lookup(crate_name) {
        Some(harness::papers::Reproduces::Paper(_)) => crate_name,
        _ => "compare",
    };
    let _ = writeln!(
        s,
        "paper: {paper}                        # an entry of references.yaml"
    );
    let _ = writeln!(s, "claim: {}", quoted(method.summary()));
    if let Some(manifest) = manifest {
        let _ = writeln!(s, "external: [{}]", quoted(manifest));
    }
    let _ = writeln!(s, "method: {}", method.id());
    let _ = writeln!(s, "seeds: 3\nseed: 1");
    let _ = writeln!(s, "params:");
    let mut any = false;
    for p in method.params() {
        let default = match &p.default {
            ParamDefault::Required => "required".to_string(),
            _ => format!("default {}", p.default_text()),
        };
        let _ = writeln!(s, "  # {}: {} ({default}). {}", p.name, p.accepted(), p.doc);
        let swept = axis.as_ref().is_some_and(|(a, _)| a.name == p.name);
        match starting_value(p) {
            _ if swept => {
                let _ = writeln!(s, "  # {}: swept below", p.name);
            }
            Some(v) => {
                any = true;
                let _ = writeln!(s, "  {}: {}", p.name, yaml(&v));
            }
            None => {
                let _ = writeln!(s, "  # {}: {}", p.name, p.default_text());
            }
        }
    }
    if !any {
        let _ = writeln!(s, "  {{}}");
    }
    if let Some((p, values)) = &axis {
        let list: Vec<String> = values.iter().map(yaml).collect();
        let _ = writeln!(
            s,
            "# One example axis; add more, or sweep from the command line with `-p {}=a,b,c`.\nsweep:\n  grid:\n    {}: [{}]",
            p.name,
            p.name,
            list.join(", ")
        );
    }
    let _ = writeln!(s, "metrics:");
    for m in method.metrics() {
        let _ = writeln!(s, "  # {}", m.doc);
        let _ = writeln!(s, "  {}: {{}}", m.name);
    }
    if method.metrics().is_empty() {
        let _ = writeln!(s, "  {{}}");
    }
    let _ = writeln!(
        s,
        "# `check --quick` (CI): one seed, the first value of the axis."
    );
    let _ = writeln!(s, "quick:\n  seeds: 1");
    if let Some((p, values)) = &axis {
        let _ = writeln!(
            s,
            "  sweep:\n    grid:\n      {}: [{}]",
            p.name,
            yaml(&values[0])
        );
    }
    s
}
