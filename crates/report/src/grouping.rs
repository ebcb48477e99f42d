//! Which groups of an [`Aggregate`] a filter selects and which two groups are the same setting,
//! for tables, figures and checks alike.
//!
//! A spec that compares methods with different parameter sets (a built-in method beside an
//! external one) stores, for each trial, the parameters of its own method only. A parameter that
//! a group's method does not have is "not applicable" to that group: a filter on it does not
//! exclude the group, and it never tells two groups apart. Likewise, a parameter that varies
//! only from one method to the next (each method keeps its own default) is part of what the
//! method is: it does not keep two methods from being compared.

use harness::Value;

use crate::aggregate::{same_value, Aggregate, Group};

/// The value of `name` in `constants`.
pub(crate) fn constant<'a>(constants: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    constants.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

impl Aggregate {
    /// The value of parameter `name` in group `g`: its key, or the value every trial shares.
    pub fn value_of<'a>(&'a self, g: &'a Group, name: &str) -> Option<&'a Value> {
        g.get(&self.keys, name)
            .or_else(|| constant(&self.constants, name))
    }

    /// Whether group `g`'s method lacks parameter `name` (a key whose trials have no value).
    pub fn not_applicable(&self, g: &Group, name: &str) -> bool {
        self.keys
            .iter()
            .position(|k| k == name)
            .is_some_and(|i| g.absent.get(i).copied().unwrap_or(false))
    }

    /// The groups whose parameters match every `(name, value)` of `filter` (numbers compare by
    /// value); a parameter that a group's method does not have matches (it is not applicable).
    pub fn matching<'a, 'f>(
        &'a self,
        filter: &'f [(String, Value)],
    ) -> impl Iterator<Item = &'a Group> + 'f
    where
        'a: 'f,
    {
        self.groups.iter().filter(move |g| {
            filter.iter().all(|(name, want)| {
                self.not_applicable(g, name)
                    || self.value_of(g, name).is_some_and(|v| same_value(v, want))
            })
        })
    }

    /// The keys that take one value within each method (each method's own default, or a
    /// parameter only one method has): they vary with the method, not along the sweep.
    pub fn method_bound_keys(&self) -> Vec<&str> {
        let Some(method) = self.keys.iter().position(|k| k == "method") else {
            return Vec::new();
        };
        self.keys
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != method)
            .filter(|&(i, _)| {
                self.groups.iter().all(|a| {
                    self.groups.iter().all(|b| {
                        a.key[method] != b.key[method]
                            || a.absent[i] != b.absent[i]
                            || same_value(&a.key[i], &b.key[i])
                    })
                })
            })
            .map(|(_, k)| k.as_str())
            .collect()
    }

    /// Whether groups `a` and `b` are the same setting apart from the keys `except`: every other
    /// key is equal, or not applicable to one of them; when `method` is among `except`, the
    /// keys bound to the method ([`Self::method_bound_keys`]) do not count either.
    pub fn same_setting(&self, a: &Group, b: &Group, except: &[&str]) -> bool {
        let bound = if except.contains(&"method") {
            self.method_bound_keys()
        } else {
            Vec::new()
        };
        self.keys.iter().enumerate().all(|(i, k)| {
            except.contains(&k.as_str())
                || bound.contains(&k.as_str())
                || a.absent[i]
                || b.absent[i]
                || same_value(&a.key[i], &b.key[i])
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use harness::spec::Interval;
    use polars::prelude::*;

    use crate::aggregate::aggregate_frame;

    /// Method `a` has `extra` (swept), method `b` has not; both sweep `x`.
    fn frame() -> DataFrame {
        df!(
            "trial_id" => ["1", "2", "3", "4", "5", "6"],
            "status" => ["ok"; 6],
            "error" => [None::<&str>; 6],
            "method" => ["a", "a", "a", "a", "b", "b"],
            "p_x" => [1i64, 2, 1, 2, 1, 2],
            "p_extra" => [Some(5i64), Some(5), Some(9), Some(9), None, None],
            "p_own" => [Some(0.5), Some(0.5), Some(0.5), Some(0.5), Some(1.5), Some(1.5)],
            "m_v" => [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        )
        .unwrap()
    }

    #[test]
    fn a_parameter_a_method_lacks_neither_filters_nor_separates_it() {
        let agg = aggregate_frame(frame(), Path::new("t"), Interval::Student).unwrap();
        let filter = vec![("extra".to_string(), harness::Value::Int(5))];
        let methods: Vec<String> = agg
            .matching(&filter)
            .map(|g| agg.value_of(g, "method").unwrap().to_string())
            .collect();
        assert_eq!(methods, ["a", "a", "b", "b"]);
        assert_eq!(agg.method_bound_keys(), ["own"]);
        let group = |m: &str, x: i64, extra: Option<i64>| {
            agg.groups
                .iter()
                .find(|g| {
                    agg.value_of(g, "method").unwrap().to_string() == m
                        && agg.value_of(g, "x") == Some(&harness::Value::Int(x))
                        && extra.is_none_or(|e| {
                            agg.value_of(g, "extra") == Some(&harness::Value::Int(e))
                        })
                })
                .unwrap()
        };
        let (a, b) = (group("a", 1, Some(5)), group("b", 1, None));
        assert!(agg.same_setting(a, b, &["method"]));
        assert!(!agg.same_setting(a, group("b", 2, None), &["method"]));
        // Without comparing methods, a method's own default still tells groups apart.
        assert!(!agg.same_setting(a, b, &["x"]));
        assert!(!agg.same_setting(a, group("a", 1, Some(9)), &["method"]));
    }
}
