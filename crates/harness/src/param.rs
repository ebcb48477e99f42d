//! Parameter declarations (what a method accepts) and checked parameters (what a trial gets).
//!
//! A spec's `params`/`sweep` values are the unchecked state; [`ParamSpec::check`] turns each into a
//! value of the declared kind, inside the declared range, once, before any trial runs. A method
//! then reads its [`Params`] without re-validating.

use std::collections::BTreeMap;
use std::fmt;

use crate::value::Value;

/// The type and domain of a parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamKind {
    /// An integer in `[min, max]`.
    Int {
        min: i64,
        max: i64,
    },
    /// A finite number in `[min, max]`.
    Float {
        min: f64,
        max: f64,
    },
    Bool,
    /// One of a fixed set of names.
    Choice(&'static [&'static str]),
    /// A non-empty list of finite numbers, each in `[min, max]`.
    FloatList {
        min: f64,
        max: f64,
    },
    /// A path to an input file, relative to the folder subbench runs in (like `--out`); `""`
    /// means "none". The spec loader checks that it is readable and records the blake3 of its
    /// bytes as the hidden parameter `<name>_blake3`, so that a trial's identity (and therefore
    /// its cache entry) changes when the file's content does.
    File,
}

/// The value a parameter takes when a spec does not set it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fallback {
    /// The spec must set it.
    Required,
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(&'static str),
    List(&'static [f64]),
}

/// One declared parameter of a method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ParamKind,
    pub default: Fallback,
    /// One line for `subbench list`.
    pub doc: &'static str,
}

impl ParamSpec {
    /// The default as a value, when there is one.
    pub fn default_value(&self) -> Option<Value> {
        Some(match self.default {
            Fallback::Required => return None,
            Fallback::Int(i) => Value::Int(i),
            Fallback::Float(x) => Value::Float(x),
            Fallback::Bool(b) => Value::Bool(b),
            Fallback::Str(s) => Value::Str(s.to_string()),
            Fallback::List(v) => Value::List(v.to_vec()),
        })
    }

    /// Convert `value` to this parameter's kind and check its range; the error says what is accepted.
    pub fn check(&self, value: &Value) -> Result<Value, String> {
        let accepted = self.accepted();
        let wrong = || {
            format!(
                "`{}` must be {accepted}; got {} `{value}`",
                self.name,
                value.kind()
            )
        };
        match (self.kind, value) {
            (ParamKind::Int { min, max }, _) => {
                let i = match *value {
                    Value::Int(i) => i,
                    // Generators such as linspace produce floats; an integral one is accepted.
                    Value::Float(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => x as i64,
                    _ => return Err(wrong()),
                };
                if (min..=max).contains(&i) {
                    Ok(Value::Int(i))
                } else {
                    Err(wrong())
                }
            }
            (ParamKind::Float { min, max }, _) => {
                let x = value.as_f64().ok_or_else(wrong)?;
                if x.is_finite() && x >= min && x <= max {
                    Ok(Value::Float(x))
                } else {
                    Err(wrong())
                }
            }
            (ParamKind::Bool, Value::Bool(b)) => Ok(Value::Bool(*b)),
            (ParamKind::Choice(names), Value::Str(s)) if names.contains(&s.as_str()) => {
                Ok(Value::Str(s.clone()))
            }
            (ParamKind::Choice(names), Value::Str(s)) => Err(format!(
                "{}{}",
                wrong(),
                crate::error::did_you_mean(s, names.iter().copied())
            )),
            (ParamKind::File, Value::Str(s)) => Ok(Value::Str(s.clone())),
            (ParamKind::FloatList { min, max }, Value::List(v))
                if !v.is_empty() && v.iter().all(|x| x.is_finite() && *x >= min && *x <= max) =>
            {
                Ok(Value::List(v.clone()))
            }
            _ => Err(wrong()),
        }
    }

    /// What the parameter accepts, as a phrase.
    pub fn accepted(&self) -> String {
        match self.kind {
            ParamKind::Int { min, max } => format!("an integer in [{min}, {}]", bound(max as f64)),
            ParamKind::Float { min, max } => {
                format!("a number in [{}, {}]", bound(min), bound(max))
            }
            ParamKind::Bool => "true or false".to_string(),
            ParamKind::Choice(names) => format!("one of {}", names.join(", ")),
            ParamKind::File => "a file path, relative to the folder subbench runs in".to_string(),
            ParamKind::FloatList { min, max } => {
                format!(
                    "a non-empty list of numbers in [{}, {}]",
                    bound(min),
                    bound(max)
                )
            }
        }
    }
}

fn bound(x: f64) -> String {
    if x >= i64::MAX as f64 || x == f64::INFINITY {
        "∞".into()
    } else if x == f64::NEG_INFINITY {
        "-∞".into()
    } else {
        format!("{x}")
    }
}

/// Checked parameters of one trial: every declared parameter present, of its declared kind.
///
/// The getters panic when a method asks for a name it did not declare or with the wrong type:
/// that is a bug in the method, and the runner records the panic as the trial's error.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Params(pub BTreeMap<String, Value>);

impl Params {
    fn get(&self, name: &str) -> &Value {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("method read undeclared parameter `{name}`"))
    }

    pub fn int(&self, name: &str) -> i64 {
        match self.get(name) {
            Value::Int(i) => *i,
            other => panic!("parameter `{name}` is {}, not an integer", other.kind()),
        }
    }

    /// An integer parameter declared with `min ≥ 0`.
    pub fn usize(&self, name: &str) -> usize {
        usize::try_from(self.int(name)).unwrap_or_else(|_| panic!("parameter `{name}` is negative"))
    }

    pub fn float(&self, name: &str) -> f64 {
        self.get(name)
            .as_f64()
            .unwrap_or_else(|| panic!("parameter `{name}` is not a number"))
    }

    pub fn bool(&self, name: &str) -> bool {
        match self.get(name) {
            Value::Bool(b) => *b,
            other => panic!("parameter `{name}` is {}, not a boolean", other.kind()),
        }
    }

    pub fn str(&self, name: &str) -> &str {
        match self.get(name) {
            Value::Str(s) => s,
            other => panic!("parameter `{name}` is {}, not a string", other.kind()),
        }
    }

    pub fn list(&self, name: &str) -> &[f64] {
        match self.get(name) {
            Value::List(v) => v,
            other => panic!("parameter `{name}` is {}, not a list", other.kind()),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter()
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: ParamSpec = ParamSpec {
        name: "k",
        kind: ParamKind::Int { min: 1, max: 100 },
        default: Fallback::Int(5),
        doc: "rank",
    };
    const MODE: ParamSpec = ParamSpec {
        name: "attack",
        kind: ParamKind::Choice(&["optimal", "random"]),
        default: Fallback::Required,
        doc: "",
    };

    #[test]
    fn integers_accept_integral_floats_and_reject_the_rest() {
        assert_eq!(K.check(&Value::Float(7.0)), Ok(Value::Int(7)));
        let e = K.check(&Value::Float(7.5)).unwrap_err();
        assert_eq!(e, "`k` must be an integer in [1, 100]; got a number `7.5`");
        assert!(K.check(&Value::Int(0)).is_err());
    }

    #[test]
    fn choices_suggest_the_closest_name() {
        let e = MODE.check(&Value::Str("optimall".into())).unwrap_err();
        assert!(e.ends_with("(did you mean `optimal`?)"), "{e}");
    }
}
