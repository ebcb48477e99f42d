//! The typed filter: `KEY=VALUE[,VALUE…]` clauses (from `--where`), parsed once, resolved
//! against a spec (an optional parameter's unset word such as `auto` becomes "unset"), and
//! matched by one set of rules against spec points, stored trial records and aggregated groups
//! alike (`method` is a key like the parameters).
//!
//! Values compare as a spec's `where:` values do ([`Value::matches`]): `3` equals `3.0`, and
//! numbers agree to 12 significant digits.

use std::collections::BTreeMap;

use crate::error::HarnessError;
use crate::method::Registry;
use crate::param::{ParamDefault, Unset};
use crate::spec::{Spec, SpecPoint};
use crate::store::TrialRecord;
use crate::value::Value;

/// What one clause accepts for its key.
#[derive(Debug, Clone, PartialEq)]
enum Wanted {
    Value(Value),
    /// The parameter left unset (its unset word was written); `recorded` is what a trial
    /// record holds for it then (absent when `None`).
    Unset {
        word: String,
        recorded: Option<Value>,
    },
}

/// `KEY=V1,V2`: the key takes one of the values.
#[derive(Debug, Clone, PartialEq)]
struct Clause {
    /// As written, for messages (`--where rank=1,2`).
    text: String,
    key: String,
    wanted: Vec<Wanted>,
}

/// A conjunction of clauses; the empty filter matches everything.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    clauses: Vec<Clause>,
}

impl Filter {
    /// Parse `--where` arguments (values read as YAML scalars: `5` an integer, `svd` a string).
    pub fn parse(args: &[String]) -> Result<Filter, HarnessError> {
        let mut clauses = Vec::with_capacity(args.len());
        for text in args {
            let usage = |why: &str| {
                HarnessError::Usage(format!(
                    "--where {text}: {why}; write KEY=VALUE or KEY=VALUE,VALUE (e.g. --where rank=1,2 --where method=attack.rank_one)"
                ))
            };
            let (key, values) = text.split_once('=').ok_or_else(|| usage("no `=`"))?;
            let key = key.trim();
            if key.is_empty() {
                return Err(usage("the key is empty"));
            }
            let wanted = values
                .split(',')
                .map(|v| match v.trim() {
                    "" => Err(usage("a value is empty")),
                    v => Ok(Wanted::Value(scalar(v))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            clauses.push(Clause {
                text: text.clone(),
                key: key.to_string(),
                wanted,
            });
        }
        Ok(Filter { clauses })
    }

    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// The filter with unset words resolved against the methods of `spec` (a string value that
    /// is a parameter's word for "unset" selects the points that leave it unset).
    pub fn resolved(&self, spec: &Spec, registry: &Registry) -> Filter {
        let mut out = self.clone();
        for clause in &mut out.clauses {
            for wanted in &mut clause.wanted {
                let Wanted::Value(Value::Str(word)) = wanted else {
                    continue;
                };
                if let Some(unset) = unset_of(spec, registry, &clause.key, word) {
                    *wanted = Wanted::Unset {
                        word: word.clone(),
                        recorded: unset.recorded,
                    };
                }
            }
        }
        out
    }

    /// Whether a spec point matches.
    pub fn matches_point(&self, point: &SpecPoint) -> bool {
        self.clauses.iter().all(|c| {
            c.wanted.iter().any(|w| match w {
                Wanted::Unset { .. } => point.params.is_unset(&c.key),
                Wanted::Value(v) => {
                    !point.params.is_unset(&c.key)
                        && point.value(&c.key).is_some_and(|x| x.matches(v))
                }
            })
        })
    }

    /// Whether a stored trial matches.
    pub fn matches_record(&self, record: &TrialRecord) -> bool {
        self.matches_values(&record.method, &record.params)
    }

    /// Whether a group of aggregated trials (its method and recorded parameters) matches.
    pub fn matches_values(&self, method: &str, params: &BTreeMap<String, Value>) -> bool {
        self.clauses.iter().all(|c| {
            let value = if c.key == "method" {
                Some(Value::Str(method.to_string()))
            } else {
                params.get(&c.key).cloned()
            };
            c.wanted.iter().any(|w| match w {
                Wanted::Unset { recorded, .. } => value.as_ref() == recorded.as_ref(),
                Wanted::Value(v) => value.as_ref().is_some_and(|x| x.matches(v)),
            })
        })
    }

    /// Whether `key = value` (a claim's own `where:` value, say) can hold under the filter:
    /// false only when the filter constrains `key` to other values.
    pub fn admits(&self, key: &str, value: &Value) -> bool {
        self.clauses.iter().filter(|c| c.key == key).all(|c| {
            c.wanted.iter().any(|w| match w {
                Wanted::Value(v) => v.matches(value),
                Wanted::Unset { word, .. } => matches!(value, Value::Str(s) if s == word),
            })
        })
    }

    /// Whether every `key = value` of a selection (a check's `where:`) can hold.
    pub fn admits_all(&self, selection: &indexmap::IndexMap<String, Value>) -> bool {
        selection.iter().all(|(k, v)| self.admits(k, v))
    }

    /// The points of `spec` that match; an error when a clause names no parameter of the spec
    /// or selects nothing (naming the values that exist), or the clauses select nothing together.
    pub fn select(&self, spec: &Spec, registry: &Registry) -> Result<Vec<SpecPoint>, HarnessError> {
        let filter = self.resolved(spec, registry);
        for clause in &filter.clauses {
            let single = Filter {
                clauses: vec![clause.clone()],
            };
            if spec.points.iter().any(|p| single.matches_point(p)) {
                continue;
            }
            let values = values_of(spec, &clause.key);
            if values.is_empty() {
                let mut names: Vec<String> = vec!["method".into()];
                for p in &spec.points {
                    for name in p.params.recorded().keys() {
                        if !names.contains(name) && !name.ends_with("_blake3") {
                            names.push(name.clone());
                        }
                    }
                }
                return Err(HarnessError::Usage(format!(
                    "--where {}: spec `{}` has no parameter `{}`; its parameters: {}",
                    clause.text,
                    spec.name,
                    clause.key,
                    names.join(", ")
                )));
            }
            return Err(HarnessError::Usage(format!(
                "--where {}: no point of spec `{}` has it; the values of `{}` are: {}",
                clause.text,
                spec.name,
                clause.key,
                values.join(", ")
            )));
        }
        let points: Vec<SpecPoint> = spec
            .points
            .iter()
            .filter(|p| filter.matches_point(p))
            .cloned()
            .collect();
        if points.is_empty() {
            let texts: Vec<&str> = filter.clauses.iter().map(|c| c.text.as_str()).collect();
            return Err(HarnessError::Usage(format!(
                "--where {}: each selects points of spec `{}`, but no point has them all",
                texts.join(" --where "),
                spec.name
            )));
        }
        Ok(points)
    }
}

/// A YAML scalar as a value; anything else as the text itself.
fn scalar(text: &str) -> Value {
    serde_norway::from_str::<Value>(text).unwrap_or_else(|_| Value::Str(text.to_string()))
}

/// The unset declaration of parameter `key` whose word is `word`, among the spec's methods.
fn unset_of(spec: &Spec, registry: &Registry, key: &str, word: &str) -> Option<Unset> {
    spec.codes.keys().find_map(|id| {
        let method = spec.method(registry, id)?;
        method.params().iter().find_map(|p| match &p.default {
            ParamDefault::Unset(unset) if p.name == key && unset.word == Some(word) => {
                Some(unset.clone())
            }
            _ => None,
        })
    })
}

/// The distinct values of `key` over the spec's points, as text (unset ones as `unset`).
fn values_of(spec: &Spec, key: &str) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for p in &spec.points {
        let text = if key != "method" && p.params.is_unset(key) {
            "unset".to_string()
        } else {
            match p.value(key) {
                Some(v) => v.to_string(),
                None => continue,
            }
        };
        if !values.contains(&text) {
            values.push(text);
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_read_typed_values() {
        let f = Filter::parse(&["rank=1,2.0".into(), "method=a.b".into()]).unwrap();
        let mut params = BTreeMap::new();
        params.insert("rank".to_string(), Value::Int(2));
        assert!(f.matches_values("a.b", &params));
        assert!(!f.matches_values("a.c", &params));
        params.insert("rank".to_string(), Value::Int(3));
        assert!(!f.matches_values("a.b", &params));
        assert!(f.admits("rank", &Value::Float(1.0)));
        assert!(!f.admits("rank", &Value::Int(3)));
        assert!(f.admits("other", &Value::Int(3)));
    }

    #[test]
    fn malformed_clauses_are_usage_errors() {
        for bad in ["rank", "=1", "rank=1,"] {
            let e = Filter::parse(&[bad.to_string()]).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--where {bad}: ")), "{e}");
        }
    }
}
