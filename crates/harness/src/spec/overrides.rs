//! Command-line overrides (`-p KEY=VALUE`): a variation of a spec without editing its file.
//!
//! An override is applied to the spec's YAML tree, and the result is validated by the ordinary
//! loader ([`super::parse_spec`]): one code path checks a value whether the file or the command
//! line wrote it (type, range, choices, the method's own check). A failure is blamed on the
//! first override that makes the spec invalid (they are applied one at a time until it fails),
//! so the message names it: `-p 3: rank=abc: …`.
//!
//! The overridden spec is another experiment: it gets a name of its own (the spec's name and a
//! short hash of the overrides, or `--name`), so its store never mixes with the spec's, and the
//! resolved text (the overrides written in, the original named in a comment) is what is stored
//! as its `spec.yaml`. Trial ids derive from the parameters alone, so a point both share has
//! one id and seed in both stores.

use serde_norway::{Mapping, Value as Yaml};

use super::{parse_spec, LoadOptions, Spec};
use crate::error::{one_line, HarnessError, SpecError};
use crate::method::Registry;

/// Parameters that are fields of the spec itself rather than of its method.
const SEEDS: &str = "seeds";
const SEED: &str = "seed";
const METHOD: &str = "method";

/// What one override does to a name.
#[derive(Debug, Clone, PartialEq)]
enum Change {
    /// One value: the parameter is fixed (an axis of that name is reduced to it).
    Fix(Yaml),
    /// Several values (`a,b,c`) or a generator (`range(1, 10, 2)`): the parameter is swept.
    Sweep(Yaml),
}

/// One `-p KEY=VALUE` as given.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// 1-based position among the `-p` flags, for messages.
    pub index: usize,
    /// As written on the command line.
    pub text: String,
    key: String,
    change: Change,
}

impl Override {
    /// `-p 3: rank=abc` — how messages name this override.
    pub fn label(&self) -> String {
        format!("-p {}: {}", self.index, one_line(&self.text))
    }

    /// The canonical form hashed into the overridden spec's name.
    fn canonical(&self) -> String {
        let value = match &self.change {
            Change::Fix(v) => format!("={}", yaml_inline(v)),
            Change::Sweep(v) => format!("~{}", yaml_inline(v)),
        };
        format!("{}{value}", self.key)
    }
}

/// Every override of one command, and the store name asked for (`--name`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub list: Vec<Override>,
    pub name: Option<String>,
}

impl Overrides {
    /// Parse the `-p` arguments; a malformed one is a usage error naming it.
    pub fn parse(args: &[String], name: Option<String>) -> Result<Overrides, HarnessError> {
        let list = args
            .iter()
            .enumerate()
            .map(|(i, text)| parse_one(i + 1, text))
            .collect::<Result<_, _>>()?;
        Ok(Overrides { list, name })
    }

    /// No `-p` and no `--name`: the spec runs as written.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty() && self.name.is_none()
    }

    /// The override of `seed=S` appended (for `check --root-seed S`).
    pub fn with_root_seed(&self, seed: u64) -> Overrides {
        let mut out = self.clone();
        out.list.push(Override {
            index: self.list.len() + 1,
            text: format!("seed={seed}"),
            key: SEED.into(),
            change: Change::Fix(Yaml::Number(seed.into())),
        });
        out
    }

    /// The store name of `spec` overridden: `--name`, or the spec's name and 8 hex digits of
    /// the hash of the overrides (last one per key wins, sorted by key, so the order of the
    /// flags does not matter) and of the `--quick` flag.
    fn store_name(&self, spec_name: &str, quick: bool) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        let mut last: std::collections::BTreeMap<&str, String> = Default::default();
        for o in &self.list {
            last.insert(&o.key, o.canonical());
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"subbench-overrides-v1\n");
        if quick {
            hasher.update(b"quick\n");
        }
        for line in last.values() {
            hasher.update(line.as_bytes());
            hasher.update(b"\n");
        }
        let hash = hasher.finalize().to_hex();
        let stem: String = spec_name.chars().take(91).collect();
        format!("{stem}-{}", &hash[..8])
    }
}

/// `KEY=VALUE`, `KEY=a,b,c` or `KEY=range(…)` (also `linspace(…)`, `logspace(…)`).
fn parse_one(index: usize, text: &str) -> Result<Override, HarnessError> {
    let usage = |why: &str| {
        HarnessError::Usage(format!(
            "-p {index}: {}: {why}; write KEY=VALUE (rank=5), KEY=a,b,c (a sweep) or KEY='range(1, 10, 2)'",
            one_line(text)
        ))
    };
    let (key, value) = text.split_once('=').ok_or_else(|| usage("no `=`"))?;
    let key = key.trim();
    let value = value.trim();
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(usage("the key is not a parameter name"));
    }
    if value.is_empty() {
        return Err(usage("the value is empty"));
    }
    let change = if let Some(generator) = generator(value) {
        Change::Sweep(generator.map_err(|why| usage(&why))?)
    } else {
        let items = split_top_level(value);
        let scalars = items
            .iter()
            .map(|item| scalar(item).map_err(|why| usage(&why)))
            .collect::<Result<Vec<_>, _>>()?;
        if scalars.len() == 1 {
            Change::Fix(scalars.into_iter().next().expect("one"))
        } else {
            Change::Sweep(Yaml::Sequence(scalars))
        }
    };
    if matches!(key, SEEDS | SEED) && !matches!(change, Change::Fix(_)) {
        return Err(usage(&format!("`{key}` takes one value")));
    }
    Ok(Override {
        index,
        text: text.to_string(),
        key: key.to_string(),
        change,
    })
}

/// `range(1, 10, 2)` as the spec's generator `{range: [1, 10, 2]}`; `None` when `value` is not
/// a generator call.
fn generator(value: &str) -> Option<Result<Yaml, String>> {
    let (kind, rest) = value.split_once('(')?;
    let kind = kind.trim();
    if !["range", "linspace", "logspace"].contains(&kind) {
        return None;
    }
    let Some(args) = rest.trim_end().strip_suffix(')') else {
        return Some(Err(format!("`{kind}(` is not closed by `)`")));
    };
    let numbers: Result<Vec<Yaml>, String> = args
        .split(',')
        .map(|a| match serde_norway::from_str::<Yaml>(a.trim()) {
            Ok(n @ Yaml::Number(_)) => Ok(n),
            _ => Err(format!("`{kind}` takes numbers; got `{}`", a.trim())),
        })
        .collect();
    Some(numbers.map(|n| {
        let mut map = Mapping::new();
        map.insert(Yaml::String(kind.into()), Yaml::Sequence(n));
        Yaml::Mapping(map)
    }))
}

/// Split at the commas that are not inside brackets (`[1, 2]` is one list value).
fn split_top_level(value: &str) -> Vec<String> {
    let mut items = vec![String::new()];
    let mut depth = 0usize;
    for c in value.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(String::new());
                continue;
            }
            _ => {}
        }
        items.last_mut().expect("non-empty").push(c);
    }
    items.into_iter().map(|s| s.trim().to_string()).collect()
}

/// One value as YAML reads it (so `5` is an integer, `0.5` a number, `svd` a string).
fn scalar(text: &str) -> Result<Yaml, String> {
    if text.is_empty() {
        return Err("a value in the list is empty".into());
    }
    match serde_norway::from_str::<Yaml>(text) {
        Ok(Yaml::Mapping(_)) | Ok(Yaml::Tagged(_)) | Err(_) => Ok(Yaml::String(text.into())),
        Ok(Yaml::Null) => Ok(Yaml::String(text.into())),
        Ok(v) => Ok(v),
    }
}

fn yaml_inline(value: &Yaml) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| format!("{value:?}"))
}

/// `spec` with `overrides` applied and validated, under its own name. Without overrides the
/// spec is returned as it is.
pub fn resolve(
    spec: &Spec,
    overrides: &Overrides,
    registry: &Registry,
    options: LoadOptions,
) -> Result<Spec, HarnessError> {
    if overrides.is_empty() {
        return Ok(spec.clone());
    }
    let file = spec.file.as_path();
    let root: Yaml = serde_norway::from_str(&spec.text).map_err(|e| {
        HarnessError::Usage(format!("{}: cannot re-read the spec: {e}", file.display()))
    })?;
    let Yaml::Mapping(mut root) = root else {
        return Err(HarnessError::Usage(format!(
            "{}: not a mapping",
            file.display()
        )));
    };
    fold_quick(&mut root, options.quick);
    let name = overrides.store_name(&spec.name, options.quick);
    root.insert(Yaml::String("name".into()), Yaml::String(name.clone()));
    let mut dropped = drop_baseline_checks(&mut root);
    let parse = |map: &Mapping| {
        let text = serde_norway::to_string(map).expect("a YAML tree serialises");
        parse_spec(
            file,
            &text,
            registry,
            LoadOptions {
                quick: false,
                ..options
            },
        )
    };
    // The parameters alone first, one override at a time, so that a failure names its override.
    let mut bare = without_report(&root);
    if let Err(e) = parse(&bare) {
        return Err(name_error(&overrides.name, &name, e));
    }
    for o in &overrides.list {
        apply(&mut bare, o);
        if let Err(e) = parse(&bare) {
            return Err(blame(o, e));
        }
    }
    for o in &overrides.list {
        apply(&mut root, o);
    }
    // Figures, tables and claims that select values the overrides removed cannot be shown or
    // evaluated in the variation; they are left out of it, and the resolved spec says which.
    if parse(&root).is_err() {
        dropped.extend(drop_unselectable(&mut root, &bare, &parse));
    }
    let resolved = parse(&root).map_err(|e| blame(overrides.list.last().expect("some"), e))?;
    let points = &resolved.points;
    for (i, p) in points.iter().enumerate() {
        if points[..i].contains(p) {
            return Err(HarnessError::Usage(format!(
                "{}: with these overrides two blocks of the sweep give the same point ({}); narrow it with --where instead",
                file.display(),
                p.params
            )));
        }
    }
    let text = header(spec, overrides, options.quick, &dropped)
        + &serde_norway::to_string(&root).expect("a YAML tree serialises");
    Ok(Spec {
        text: text.clone(),
        hash: blake3::hash(text.as_bytes()).to_hex().to_string(),
        ..resolved
    })
}

fn name_error(asked: &Option<String>, name: &str, e: SpecError) -> HarnessError {
    match asked {
        Some(_) => HarnessError::Usage(format!("--name {name}: {}", one_line(&e.message))),
        None => HarnessError::Spec(e),
    }
}

fn blame(o: &Override, e: SpecError) -> HarnessError {
    if e.bug {
        return HarnessError::Spec(e);
    }
    HarnessError::Usage(format!("{}: {}", o.label(), one_line(&e.message)))
}

/// The comment at the top of a resolved spec: what it was resolved from.
fn header(spec: &Spec, overrides: &Overrides, quick: bool, dropped: &[String]) -> String {
    let mut out = format!(
        "# Resolved by subbench from {} (spec `{}`{}) with:\n",
        spec.file.display(),
        spec.name,
        if quick {
            ", its quick: block applied"
        } else {
            ""
        }
    );
    for o in &overrides.list {
        out += &format!("#   -p {}\n", one_line(&o.text));
    }
    if let Some(name) = &overrides.name {
        out += &format!("#   --name {name}\n");
    }
    for d in dropped {
        out += &format!("# left out: {}\n", one_line(d));
    }
    out
}

/// Apply the `quick:` block (with `--quick`) and remove it: a resolved spec is one variant.
fn fold_quick(root: &mut Mapping, quick: bool) {
    let block = root.remove("quick");
    let Some(Yaml::Mapping(block)) = block.filter(|_| quick) else {
        return;
    };
    for (key, value) in block {
        match key.as_str() {
            Some("params") => {
                let params = table(root, "params");
                if let Yaml::Mapping(extra) = value {
                    params.extend(extra);
                }
            }
            _ => {
                root.insert(key, value);
            }
        }
    }
}

/// The mapping under `key`, created empty when missing.
fn table<'a>(root: &'a mut Mapping, key: &str) -> &'a mut Mapping {
    let entry = root
        .entry(Yaml::String(key.into()))
        .or_insert_with(|| Yaml::Mapping(Mapping::new()));
    if !entry.is_mapping() {
        *entry = Yaml::Mapping(Mapping::new());
    }
    entry.as_mapping_mut().expect("a mapping")
}

/// Apply one override to the spec's tree.
fn apply(root: &mut Mapping, o: &Override) {
    let key = o.key.as_str();
    if matches!(key, SEEDS | SEED) {
        if let Change::Fix(v) = &o.change {
            root.insert(Yaml::String(key.into()), v.clone());
        }
        return;
    }
    let swept = root.get("sweep").is_some_and(|s| block_sets(s, key));
    match (&o.change, swept) {
        (Change::Fix(v), true) => {
            let sweep = root.get_mut("sweep").expect("swept");
            set_axis(sweep, key, &Yaml::Sequence(vec![v.clone()]));
            dedup_union(sweep);
        }
        (Change::Fix(v), false) => {
            if key == METHOD {
                root.insert(Yaml::String(METHOD.into()), v.clone());
            } else {
                table(root, "params").insert(Yaml::String(key.into()), v.clone());
            }
        }
        (Change::Sweep(values), true) => {
            set_axis(root.get_mut("sweep").expect("swept"), key, values);
        }
        (Change::Sweep(values), false) => {
            if key == METHOD {
                root.remove(METHOD);
            } else if let Some(Yaml::Mapping(params)) = root.get_mut("params") {
                params.remove(key);
            }
            let sweep = table(root, "sweep");
            let grid = table(sweep, "grid");
            grid.insert(Yaml::String(key.into()), values.clone());
        }
    }
}

/// Whether a sweep block (or one of its `union` blocks) sets `key`.
fn block_sets(block: &Yaml, key: &str) -> bool {
    let Some(map) = block.as_mapping() else {
        return false;
    };
    let in_axes = |field: &str| {
        map.get(field)
            .and_then(Yaml::as_mapping)
            .is_some_and(|m| m.contains_key(key))
    };
    in_axes("grid")
        || in_axes("zip")
        || map
            .get("union")
            .and_then(Yaml::as_sequence)
            .is_some_and(|blocks| blocks.iter().any(|b| block_sets(b, key)))
}

/// Replace the values of axis `key` wherever the block sets it: in `grid` in place; a `zip`
/// list is taken out of the zip (its values no longer advance with the others) into `grid`.
fn set_axis(block: &mut Yaml, key: &str, values: &Yaml) {
    let Some(map) = block.as_mapping_mut() else {
        return;
    };
    let mut in_zip = false;
    if let Some(Yaml::Mapping(zip)) = map.get_mut("zip") {
        in_zip = zip.remove(key).is_some();
        if zip.is_empty() {
            map.remove("zip");
        }
    }
    let in_grid = map
        .get("grid")
        .and_then(Yaml::as_mapping)
        .is_some_and(|g| g.contains_key(key));
    if in_zip || in_grid {
        table(map, "grid").insert(Yaml::String(key.into()), values.clone());
    }
    if let Some(Yaml::Sequence(blocks)) = map.get_mut("union") {
        for b in blocks {
            set_axis(b, key, values);
        }
    }
}

/// Union blocks made equal by fixing an axis are one block.
fn dedup_union(block: &mut Yaml) {
    let Some(Yaml::Sequence(blocks)) = block.get_mut("union") else {
        return;
    };
    let mut kept: Vec<Yaml> = Vec::new();
    for b in blocks.drain(..) {
        if !kept.contains(&b) {
            kept.push(b);
        }
    }
    for b in &mut kept {
        dedup_union(b);
    }
    *blocks = kept;
}

/// The tree without what refers to points (figures, tables, claims).
fn without_report(root: &Mapping) -> Mapping {
    let mut bare = root.clone();
    for key in ["report", "expect", "refuted"] {
        bare.remove(key);
    }
    bare
}

/// Baseline checks compare a run with a saved run of the same experiment; an overridden spec
/// is a new experiment with none saved.
fn drop_baseline_checks(root: &mut Mapping) -> Vec<String> {
    let mut dropped = Vec::new();
    for list in ["expect", "refuted"] {
        let Some(Yaml::Sequence(checks)) = root.get_mut(list) else {
            continue;
        };
        let before = checks.len();
        checks.retain(|c| !c.as_mapping().is_some_and(|m| m.contains_key("baseline")));
        if checks.len() < before {
            dropped.push(format!(
                "{} baseline check(s) of `{list}` (an overridden run has no baseline)",
                before - checks.len()
            ));
        }
    }
    dropped
}

/// Take out every figure, table and claim that does not validate alone on the overridden
/// points; returns what was taken out and why.
fn drop_unselectable(
    root: &mut Mapping,
    bare: &Mapping,
    parse: &dyn Fn(&Mapping) -> Result<Spec, SpecError>,
) -> Vec<String> {
    let mut dropped = Vec::new();
    let lists: [(&[&str], &str); 4] = [
        (&["report", "figures"], "report.figures"),
        (&["report", "tables"], "report.tables"),
        (&["expect"], "expect"),
        (&["refuted"], "refuted"),
    ];
    for (path, label) in lists {
        let Some(items) = sequence(root, path).cloned() else {
            continue;
        };
        let mut kept = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let mut alone = bare.clone();
            set_sequence(&mut alone, path, vec![item.clone()]);
            if let Some(interval) = root.get("report").and_then(|r| r.get("interval")) {
                table(&mut alone, "report").insert("interval".into(), interval.clone());
            }
            match parse(&alone) {
                Ok(_) => kept.push(item),
                Err(e) => dropped.push(format!("{label}[{i}]: {}", e.message)),
            }
        }
        set_sequence(root, path, kept);
    }
    dropped
}

fn sequence<'a>(root: &'a Mapping, path: &[&str]) -> Option<&'a Vec<Yaml>> {
    let mut node = root.get(path[0])?;
    for key in &path[1..] {
        node = node.get(*key)?;
    }
    node.as_sequence()
}

fn set_sequence(root: &mut Mapping, path: &[&str], items: Vec<Yaml>) {
    let parent = path[..path.len() - 1]
        .iter()
        .fold(root, |map, key| table(map, key));
    let key = Yaml::String(path[path.len() - 1].into());
    if items.is_empty() {
        parent.remove(&key);
    } else {
        parent.insert(key, Yaml::Sequence(items));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Override {
        parse_one(1, text).unwrap()
    }

    #[test]
    fn values_are_read_as_yaml_reads_them() {
        assert_eq!(one("rank=5").change, Change::Fix(Yaml::Number(5.into())));
        assert_eq!(
            one("solver=svd").change,
            Change::Fix(Yaml::String("svd".into()))
        );
        let Change::Sweep(Yaml::Sequence(v)) = one("rank=1,2, 4").change else {
            panic!("a sweep")
        };
        assert_eq!(v.len(), 3);
        let Change::Fix(Yaml::Sequence(list)) = one("spectrum=[1, 2]").change else {
            panic!("one list value")
        };
        assert_eq!(list.len(), 2);
        let Change::Sweep(Yaml::Mapping(g)) = one("k=range(1, 10, 2)").change else {
            panic!("a generator")
        };
        assert!(g.contains_key("range"));
    }

    #[test]
    fn malformed_overrides_name_themselves() {
        for bad in ["rank", "=3", "rank=", "seeds=1,2", "k=range(1, x)", "a b=1"] {
            let e = parse_one(2, bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("-p 2: {bad}: ")), "{e}");
        }
    }

    #[test]
    fn the_store_name_ignores_the_order_of_flags() {
        let a = Overrides::parse(&["a=1".into(), "b=2".into()], None).unwrap();
        let b = Overrides::parse(&["b=2".into(), "a=1".into()], None).unwrap();
        let c = Overrides::parse(&["b=3".into(), "a=1".into()], None).unwrap();
        assert_eq!(a.store_name("s", false), b.store_name("s", false));
        assert_ne!(a.store_name("s", false), c.store_name("s", false));
        assert_ne!(a.store_name("s", false), a.store_name("s", true));
    }
}
