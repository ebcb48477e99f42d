//! What validation needs around one spec: the file and text an error points into, and (once the
//! points are known) the names the report and the checks may refer to.

use std::path::Path;

use indexmap::IndexMap;

use super::external::SpecMethods;
use super::raw::MetricDecl;
use super::SpecPoint;
use crate::error::{did_you_mean, SpecError};
use crate::locate::Location;
use crate::value::Value;

/// The spec file being validated: every error names it and a place in its text.
#[derive(Clone, Copy)]
pub(crate) struct Source<'a> {
    pub file: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    /// An error at a (line, column) found by other means (the YAML parser, a sweep key).
    pub fn fail(&self, message: impl Into<String>, place: Option<(usize, usize)>) -> SpecError {
        SpecError::new(self.file, message).at(place)
    }

    /// An error at the line of `location` (or of its nearest written ancestor).
    pub fn fail_at(&self, message: impl Into<String>, location: &Location) -> SpecError {
        self.fail(message, location.find(self.text))
    }

    /// The place of a top-level key.
    pub fn top(&self, key: &str) -> Option<(usize, usize)> {
        Location::root().key(key).find(self.text)
    }
}

/// The names a spec's figures, tables and checks may use: its declared metrics, its parameters
/// (set, swept or left at a method's default, and `method`) and the values its points take.
pub(crate) struct Context<'a> {
    pub source: Source<'a>,
    pub metrics: &'a IndexMap<String, MetricDecl>,
    pub parameters: Vec<String>,
    pub points: &'a [SpecPoint],
    /// The ids of the methods the spec runs, sorted, once each.
    pub methods: &'a [String],
    pub registry: &'a SpecMethods<'a>,
    /// The points are the `quick:` sweep's (said in messages about them).
    pub quick: bool,
}

impl Context<'_> {
    pub fn fail_at(&self, message: impl Into<String>, location: &Location) -> SpecError {
        self.source.fail_at(message, location)
    }

    /// `m` (written at `at`, in the part of the spec `what` names) is a declared metric.
    pub fn check_metric(&self, m: &str, what: &str, at: &Location) -> Result<(), SpecError> {
        if self.metrics.contains_key(m) {
            return Ok(());
        }
        let names: Vec<&str> = self.metrics.keys().map(String::as_str).collect();
        Err(self.fail_at(
            format!(
                "{what} refers to metric `{m}`, which `metrics` does not declare{}; declared: {}",
                did_you_mean(m, names.iter().copied()),
                names.join(", ")
            ),
            at,
        ))
    }

    /// `p` (written at `at`) is a parameter of the spec.
    pub fn check_param(&self, p: &str, what: &str, at: &Location) -> Result<(), SpecError> {
        if self.parameters.iter().any(|q| q == p) {
            return Ok(());
        }
        Err(self.fail_at(
            format!(
                "{what} refers to parameter `{p}`, which the spec neither sets nor sweeps{}; known: {}",
                did_you_mean(p, self.parameters.iter().map(String::as_str)),
                self.parameters.join(", ")
            ),
            at,
        ))
    }

    /// Every `where` value (the mapping at `at`) must select something: a typo (0.73 for
    /// 0.725) would otherwise make a check fail on no data, or a figure silently empty.
    pub fn check_filter(
        &self,
        filter: &IndexMap<String, Value>,
        what: &str,
        at: &Location,
    ) -> Result<(), SpecError> {
        for (name, wanted) in filter {
            let place = at.key(name);
            self.check_param(name, what, &place)?;
            let found = self
                .points
                .iter()
                .any(|p| p.value(name).is_some_and(|v| v.matches(wanted)));
            if !found {
                return Err(self.fail_at(
                    format!("{what}: no trial has {name} = {wanted}; the spec's values of `{name}` do not include it"),
                    &place,
                ));
            }
        }
        Ok(())
    }

    /// The keys of `filter` (the mapping at `at`) are parameters.
    pub fn check_keys(
        &self,
        filter: &IndexMap<String, Value>,
        what: &str,
        at: &Location,
    ) -> Result<(), SpecError> {
        filter
            .keys()
            .try_for_each(|k| self.check_param(k, what, &at.key(k)))
    }
}
