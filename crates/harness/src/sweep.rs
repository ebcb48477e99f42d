//! Sweep expansion: `grid` (cartesian product), `zip` (lists advanced together), `union` (blocks
//! concatenated), and the value generators `linspace`, `logspace`, `range`.
//!
//! A block may combine all three: its points are the product grid × zip × union. A sweep is read
//! from the YAML value tree by hand rather than by serde so that every mistake gets a sentence
//! naming the key and what is accepted.

use indexmap::IndexMap;
use serde_norway::Value as Yaml;

use crate::value::Value;

/// One point of a sweep: parameter name → value, in the order the spec wrote them.
pub type Point = IndexMap<String, Value>;

/// A parsed sweep block.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sweep {
    pub grid: IndexMap<String, Vec<Value>>,
    pub zip: IndexMap<String, Vec<Value>>,
    pub union: Vec<Sweep>,
}

/// A sweep mistake: the key it concerns (for locating it in the file) and the message.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepError {
    pub key: Option<String>,
    pub message: String,
}

fn err(key: Option<&str>, message: impl Into<String>) -> SweepError {
    SweepError {
        key: key.map(str::to_string),
        message: message.into(),
    }
}

impl Sweep {
    /// Parse the `sweep:` value.
    pub fn parse(yaml: &Yaml) -> Result<Sweep, SweepError> {
        let map = yaml.as_mapping().ok_or_else(|| {
            err(
                None,
                "`sweep` must be a mapping with `grid`, `zip` and/or `union`",
            )
        })?;
        let mut sweep = Sweep::default();
        for (key, value) in map {
            match key.as_str() {
                Some("grid") => sweep.grid = parse_axes(value, "grid")?,
                Some("zip") => sweep.zip = parse_axes(value, "zip")?,
                Some("union") => {
                    let blocks = value.as_sequence().ok_or_else(|| {
                        err(Some("union"), "`union` must be a list of sweep blocks")
                    })?;
                    if blocks.is_empty() {
                        return Err(err(
                            Some("union"),
                            "`union` is empty; give at least one block",
                        ));
                    }
                    sweep.union = blocks.iter().map(Sweep::parse).collect::<Result<_, _>>()?;
                }
                other => {
                    let name = other
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("{key:?}"));
                    return Err(err(
                        other,
                        format!(
                            "unknown sweep key `{name}`{}; accepted: grid, zip, union",
                            crate::error::did_you_mean(&name, ["grid", "zip", "union"])
                        ),
                    ));
                }
            }
        }
        if sweep.grid.is_empty() && sweep.zip.is_empty() && sweep.union.is_empty() {
            return Err(err(
                None,
                "the sweep is empty; give `grid`, `zip` or `union`",
            ));
        }
        if let Some(n) = sweep.zip.values().map(Vec::len).next() {
            if let Some((name, v)) = sweep.zip.iter().find(|(_, v)| v.len() != n) {
                let (first, _) = sweep.zip.first().expect("non-empty");
                return Err(err(
                    Some(name),
                    format!(
                        "`zip` lists must have equal lengths: `{first}` has {n} values, `{name}` has {}",
                        v.len()
                    ),
                ));
            }
        }
        for name in sweep.grid.keys() {
            if sweep.zip.contains_key(name) {
                return Err(err(
                    Some(name),
                    format!("`{name}` is in both `grid` and `zip`"),
                ));
            }
        }
        Ok(sweep)
    }

    /// Number of points, computed without expanding (saturating, so a bomb cannot overflow).
    pub fn len(&self) -> usize {
        let grid = self
            .grid
            .values()
            .fold(1usize, |n, v| n.saturating_mul(v.len()));
        let zip = self.zip.values().map(Vec::len).next().unwrap_or(1);
        let union = if self.union.is_empty() {
            1
        } else {
            self.union
                .iter()
                .fold(0usize, |n, b| n.saturating_add(b.len()))
        };
        grid.saturating_mul(zip).saturating_mul(union)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every parameter name the sweep sets, in order of first appearance.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.grid.keys().chain(self.zip.keys()).cloned().collect();
        for block in &self.union {
            for name in block.names() {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// All points. Grid order: the last key varies fastest, as in nested loops written top-down.
    pub fn expand(&self) -> Result<Vec<Point>, SweepError> {
        let mut points = vec![Point::new()];
        for (name, values) in &self.grid {
            points = points
                .into_iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut q = p.clone();
                        q.insert(name.clone(), v.clone());
                        q
                    })
                })
                .collect();
        }
        if let Some(n) = self.zip.values().map(Vec::len).next() {
            points = points
                .into_iter()
                .flat_map(|p| {
                    (0..n).map(move |i| {
                        let mut q = p.clone();
                        for (name, values) in &self.zip {
                            q.insert(name.clone(), values[i].clone());
                        }
                        q
                    })
                })
                .collect();
        }
        if !self.union.is_empty() {
            let mut blocks = Vec::new();
            for block in &self.union {
                blocks.extend(block.expand()?);
            }
            let mut combined = Vec::with_capacity(points.len() * blocks.len());
            for p in &points {
                for b in &blocks {
                    if let Some(name) = b.keys().find(|k| p.contains_key(*k)) {
                        return Err(err(
                            Some(name),
                            format!("`{name}` is set both by a `union` block and by its parent"),
                        ));
                    }
                    let mut q = p.clone();
                    q.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
                    combined.push(q);
                }
            }
            points = combined;
        }
        Ok(points)
    }
}

fn parse_axes(yaml: &Yaml, what: &str) -> Result<IndexMap<String, Vec<Value>>, SweepError> {
    let map = yaml.as_mapping().ok_or_else(|| {
        err(
            Some(what),
            format!("`{what}` must map parameter names to lists of values"),
        )
    })?;
    let mut axes = IndexMap::new();
    for (key, value) in map {
        let name = key
            .as_str()
            .ok_or_else(|| err(Some(what), format!("`{what}` keys must be parameter names")))?;
        let values = parse_values(name, value)?;
        if values.is_empty() {
            return Err(err(
                Some(name),
                format!("`{name}` has no values; an empty sweep runs nothing"),
            ));
        }
        axes.insert(name.to_string(), values);
    }
    Ok(axes)
}

/// A list of values, a generator, or a single scalar (one value).
fn parse_values(name: &str, yaml: &Yaml) -> Result<Vec<Value>, SweepError> {
    match yaml {
        Yaml::Sequence(items) => items.iter().map(|item| scalar(name, item)).collect(),
        Yaml::Mapping(map) => {
            if map.len() != 1 {
                return Err(err(
                    Some(name),
                    format!("`{name}`: a generator is one of {{linspace: [a, b, n]}}, {{logspace: [a, b, n]}}, {{range: [start, stop, step]}}"),
                ));
            }
            let (kind, args) = map.iter().next().expect("one entry");
            let args: Vec<f64> = args
                .as_sequence()
                .map(|s| s.iter().map(|v| v.as_f64()).collect::<Option<Vec<f64>>>())
                .unwrap_or(None)
                .ok_or_else(|| {
                    err(
                        Some(name),
                        format!("`{name}`: generator arguments must be a list of numbers"),
                    )
                })?;
            generate(name, kind.as_str().unwrap_or(""), &args)
        }
        other => Ok(vec![scalar(name, other)?]),
    }
}

fn scalar(name: &str, yaml: &Yaml) -> Result<Value, SweepError> {
    serde_norway::from_value::<Value>(yaml.clone()).map_err(|_| {
        err(
            Some(name),
            format!("`{name}`: values must be numbers, booleans, strings or lists of numbers"),
        )
    })
}

/// Largest generator output accepted; the spec-level limit on trials applies on top.
const MAX_GENERATED: f64 = 1.0e6;

fn generate(name: &str, kind: &str, args: &[f64]) -> Result<Vec<Value>, SweepError> {
    let count = |n: f64| -> Result<usize, SweepError> {
        if n.fract() != 0.0 || !(1.0..=MAX_GENERATED).contains(&n) {
            return Err(err(
                Some(name),
                format!("`{name}`: the count must be an integer in [1, {MAX_GENERATED}]; got {n}"),
            ));
        }
        Ok(n as usize)
    };
    let spaced = |a: f64, b: f64, n: usize| -> Vec<f64> {
        if n == 1 {
            return vec![a];
        }
        (0..n)
            .map(|i| {
                if i == n - 1 {
                    b
                } else {
                    a + (b - a) * i as f64 / (n - 1) as f64
                }
            })
            .collect()
    };
    if args.iter().any(|a| !a.is_finite()) {
        return Err(err(
            Some(name),
            format!("`{name}`: generator arguments must be finite"),
        ));
    }
    match (kind, args) {
        ("linspace", [a, b, n]) => Ok(spaced(*a, *b, count(*n)?)
            .into_iter()
            .map(Value::Float)
            .collect()),
        ("logspace", [a, b, n]) => Ok(spaced(*a, *b, count(*n)?)
            .into_iter()
            .map(|e| Value::Float(10f64.powf(e)))
            .collect()),
        ("range", [start, stop]) => integer_range(name, *start, *stop, 1.0),
        ("range", [start, stop, step]) => integer_range(name, *start, *stop, *step),
        ("linspace" | "logspace", _) => Err(err(
            Some(name),
            format!("`{name}`: {kind} takes [start, stop, count]"),
        )),
        ("range", _) => Err(err(
            Some(name),
            format!("`{name}`: range takes [start, stop] or [start, stop, step] (stop excluded)"),
        )),
        (other, _) => Err(err(
            Some(name),
            format!(
                "`{name}`: unknown generator `{other}`{}; accepted: linspace, logspace, range",
                crate::error::did_you_mean(other, ["linspace", "logspace", "range"])
            ),
        )),
    }
}

fn integer_range(name: &str, start: f64, stop: f64, step: f64) -> Result<Vec<Value>, SweepError> {
    if [start, stop, step].iter().any(|x| x.fract() != 0.0) || step == 0.0 {
        return Err(err(
            Some(name),
            format!("`{name}`: range takes integers and a non-zero step"),
        ));
    }
    // Integers beyond 2^53 are not exact in the YAML's floating point, and start + i·step
    // near i64's limits would overflow.
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if [start, stop, step].iter().any(|x| x.abs() > EXACT) {
        return Err(err(
            Some(name),
            format!(
                "`{name}`: range bounds and step are integers of magnitude at most 2^53 = {EXACT}"
            ),
        ));
    }
    let n = ((stop - start) / step).ceil().max(0.0);
    if n > MAX_GENERATED {
        return Err(err(
            Some(name),
            format!("`{name}`: range would produce {n} values; the limit is {MAX_GENERATED}"),
        ));
    }
    if n == 0.0 {
        return Err(err(
            Some(name),
            format!("`{name}`: range [{start}, {stop}) with step {step} is empty"),
        ));
    }
    Ok((0..n as i64)
        .map(|i| Value::Int(start as i64 + i * step as i64))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(text: &str) -> Result<Sweep, SweepError> {
        Sweep::parse(&serde_norway::from_str(text).unwrap())
    }

    #[test]
    fn grid_is_a_cartesian_product_last_key_fastest() {
        let s = sweep("grid: {a: [1, 2], b: [x, y, z]}").unwrap();
        assert_eq!(s.len(), 6);
        let points = s.expand().unwrap();
        assert_eq!(points.len(), 6);
        assert_eq!(points[1]["a"], Value::Int(1));
        assert_eq!(points[1]["b"], Value::Str("y".into()));
        assert_eq!(points[3]["a"], Value::Int(2));
    }

    #[test]
    fn zip_advances_together_and_rejects_unequal_lengths() {
        let s = sweep("zip: {n: [10, 20], k: [1, 2]}\ngrid: {m: [true, false]}").unwrap();
        let points = s.expand().unwrap();
        assert_eq!(points.len(), 4);
        assert!(points
            .iter()
            .all(|p| p["k"].as_f64().unwrap() * 10.0 == p["n"].as_f64().unwrap()));
        let e = sweep("zip: {n: [10, 20], k: [1]}").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("k"));
        assert!(e.message.contains("equal lengths"), "{}", e.message);
    }

    #[test]
    fn union_concatenates_blocks() {
        let s = sweep("union:\n  - grid: {a: [1, 2]}\n  - zip: {a: [3], b: [4]}\n").unwrap();
        assert_eq!(s.len(), 3);
        let points = s.expand().unwrap();
        assert_eq!(points.len(), 3);
        assert_eq!(points[2]["b"], Value::Int(4));
        assert_eq!(s.names(), vec!["a", "b"]);
    }

    #[test]
    fn generators() {
        let s = sweep(
            "grid: {x: {linspace: [0, 1, 5]}, y: {logspace: [-2, 0, 3]}, z: {range: [2, 8, 3]}}",
        )
        .unwrap();
        assert_eq!(
            s.grid["x"],
            [0.0, 0.25, 0.5, 0.75, 1.0].map(Value::Float).to_vec()
        );
        assert_eq!(s.grid["y"], [0.01, 0.1, 1.0].map(Value::Float).to_vec());
        assert_eq!(s.grid["z"], [2, 5].map(Value::Int).to_vec());
        assert!(sweep("grid: {x: {linspace: [0, 1]}}").is_err());
        assert!(sweep("grid: {x: {range: [0, 5, 0]}}").is_err());
        let e = sweep("grid: {x: {logspce: [0, 1, 2]}}").unwrap_err();
        assert!(
            e.message.contains("did you mean `logspace`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn lists_of_lists_are_list_values() {
        let s = sweep("grid: {spectrum: [[3, 1], [2, 1]]}").unwrap();
        assert_eq!(s.grid["spectrum"][0], Value::List(vec![3.0, 1.0]));
    }

    /// `range: [9.2e18, 9.4e18, 1.0e17]` overflowed i64 in start + i·step (a panic with overflow
    /// checks, a silent wrap without).
    #[test]
    fn a_range_near_the_integer_limits_is_an_error_not_an_overflow() {
        let e = sweep("grid: {x: {range: [9.2e18, 9.4e18, 1.0e17]}}").unwrap_err();
        assert!(e.message.contains("2^53"), "{}", e.message);
        assert!(sweep("grid: {x: {range: [-9007199254740992, -9007199254740990]}}").is_ok());
    }

    #[test]
    fn empty_and_unknown_are_errors() {
        assert!(sweep("grid: {a: []}").is_err());
        assert!(sweep("{}").is_err());
        let e = sweep("gird: {a: [1]}").unwrap_err();
        assert!(e.message.contains("did you mean `grid`"), "{}", e.message);
    }

    #[test]
    fn size_is_computed_without_expanding() {
        let s =
            sweep("grid: {a: {range: [0, 1000]}, b: {range: [0, 1000]}, c: {range: [0, 1000]}}")
                .unwrap();
        assert_eq!(s.len(), 1_000_000_000);
    }
}
