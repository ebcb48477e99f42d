//! A parameter value as a spec writes it: a number, an integer, a boolean, a string, or a list of
//! numbers (one value, e.g. a spectrum).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<f64>),
}

impl Value {
    /// The kind as a user reads it in an error message.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::List(_) => "a list of numbers",
        }
    }

    /// Numeric view: integers and floats alike.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i as f64),
            Value::Float(x) => Some(x),
            _ => None,
        }
    }

    /// Equality as a spec author means it: `3` equals `3.0`, and numbers agree to 12 significant
    /// digits, so that `where: {budget: 0.725}` finds the 0.7250000000000001 that `linspace`
    /// produced. Used wherever a spec's value selects trials.
    pub fn matches(&self, other: &Value) -> bool {
        match (self.as_f64(), other.as_f64()) {
            (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
            _ => self == other,
        }
    }

    /// The canonical text that identifies the value in a trial's hash. Floats use Rust's shortest
    /// round-trip representation, so equal values always hash equal and distinct ones never do.
    pub fn canonical(&self) -> String {
        match self {
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(x) => format!("{x:?}"),
            Value::Str(s) => serde_json::to_string(s).expect("strings serialise"),
            Value::List(v) => {
                let items: Vec<String> = v.iter().map(|x| format!("{x:?}")).collect();
                format!("[{}]", items.join(","))
            }
        }
    }

    /// Parse the canonical text of a list back (the store keeps lists as text).
    pub fn parse_list(text: &str) -> Option<Vec<f64>> {
        let inner = text.strip_prefix('[')?.strip_suffix(']')?;
        if inner.trim().is_empty() {
            return Some(Vec::new());
        }
        inner
            .split(',')
            .map(|s| s.trim().parse::<f64>().ok())
            .collect()
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::Float(x) => write!(f, "{x}"),
            other => f.write_str(&other.canonical()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_scalars_map_to_their_kinds() {
        let v: Vec<Value> = serde_norway::from_str("[true, 3, 3.5, abc, [1, 2.5]]").unwrap();
        assert_eq!(
            v,
            vec![
                Value::Bool(true),
                Value::Int(3),
                Value::Float(3.5),
                Value::Str("abc".into()),
                Value::List(vec![1.0, 2.5])
            ]
        );
    }

    #[test]
    fn canonical_lists_round_trip() {
        let v = Value::List(vec![0.1, 3.0, -1e-300]);
        assert_eq!(
            Value::parse_list(&v.canonical()),
            Some(vec![0.1, 3.0, -1e-300])
        );
        assert_eq!(Value::Float(0.1).canonical(), "0.1");
        assert_ne!(Value::Float(3.0).canonical(), Value::Int(3).canonical());
    }
}
