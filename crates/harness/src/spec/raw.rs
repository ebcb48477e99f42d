//! The spec file as written: the serde model of its fields, the YAML parse with messages that
//! name what the user wrote, the `quick:` overrides, and the checks of the header fields (name,
//! title, seeds, …) that need nothing else.

use indexmap::IndexMap;
use serde::Deserialize;

use super::checks::CheckSpec;
use super::context::{Context, Source};
use super::figures::FigureSpec;
use super::tables::TableSpec;
use crate::error::{did_you_mean, SpecError};
use crate::locate::Location;
use crate::value::Value;

/// Which direction of a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Higher,
    Lower,
    #[default]
    None,
}

/// A metric the spec reports, with its label and direction.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MetricDecl {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub better: Better,
}

/// Where the spec's claim comes from (the labels of docs/papers/README.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    Paper,
    Derived,
    Proposal,
}

/// How the 95% interval of a group mean is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    /// `mean ± t_{0.975, n−1} · s/√n`.
    #[default]
    Student,
    /// Percentile bootstrap of the mean (2,000 resamples, seeded from the group's values).
    Bootstrap,
}

/// The `report:` block: figures ([`super::figures`]), tables ([`super::tables`]) and the interval.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    #[serde(default)]
    pub figures: Vec<FigureSpec>,
    #[serde(default)]
    pub tables: Vec<TableSpec>,
    /// The interval shown in figures and tables and used by checks (`ci_low`, `ci_high`).
    #[serde(default)]
    pub interval: Interval,
}

impl ReportSpec {
    /// Every figure and table, each at its own place (`report.figures[i]`, `report.tables[i]`).
    pub(crate) fn validate(&self, ctx: &Context<'_>) -> Result<(), SpecError> {
        let report = Location::root().key("report");
        for (i, figure) in self.figures.iter().enumerate() {
            figure.validate(ctx, &report.key("figures").index(i))?;
        }
        for (i, table) in self.tables.iter().enumerate() {
            table.validate(ctx, &report.key("tables").index(i))?;
        }
        Ok(())
    }
}

/// The fields of a spec file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSpec {
    pub name: String,
    pub title: String,
    pub paper: String,
    pub claim: String,
    #[serde(default)]
    pub evidence: Option<Evidence>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default = "one")]
    pub seeds: u32,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub timeout: Option<f64>,
    #[serde(default)]
    pub params: IndexMap<String, Value>,
    #[serde(default)]
    pub sweep: Option<serde_norway::Value>,
    #[serde(default)]
    pub metrics: IndexMap<String, MetricDecl>,
    #[serde(default)]
    pub report: ReportSpec,
    /// Each check is a one-key map (`- threshold: {…}`), not a YAML tag.
    #[serde(default, with = "serde_norway::with::singleton_map_recursive")]
    pub expect: Vec<CheckSpec>,
    /// Claims of the paper that this reproduction finds do not hold, written as checks that are
    /// expected to fail. They keep the report honest: shown as "not reproduced", and a check that
    /// starts to pass fails the run, so the text cannot go stale.
    #[serde(default, with = "serde_norway::with::singleton_map_recursive")]
    pub refuted: Vec<CheckSpec>,
    #[serde(default)]
    pub quick: Option<QuickSpec>,
    /// Manifests of external methods, relative to the spec file (see [`super::external`]).
    #[serde(default)]
    pub external: Vec<String>,
    /// `seeds` came from the `quick:` overrides (so its errors point there).
    #[serde(skip)]
    pub quick_seeds: bool,
}

/// Overrides for `--quick` (CI): fewer seeds, smaller parameters, a smaller sweep.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuickSpec {
    #[serde(default)]
    seeds: Option<u32>,
    #[serde(default)]
    params: IndexMap<String, Value>,
    #[serde(default)]
    sweep: Option<serde_norway::Value>,
}

const FIELDS: [&str; 17] = [
    "name", "title", "paper", "claim", "evidence", "method", "seeds", "seed", "timeout", "params",
    "sweep", "metrics", "report", "expect", "refuted", "quick", "external",
];

fn one() -> u32 {
    1
}

impl RawSpec {
    /// Parse the text; with `quick`, apply the `quick:` overrides (which are dropped otherwise).
    pub fn parse(source: Source<'_>, quick: bool) -> Result<RawSpec, SpecError> {
        let text = source.text;
        if text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            return Err(source.fail(
                "the file is empty; a spec needs at least name, title, paper, claim and method",
                None,
            ));
        }
        let mut raw: RawSpec = serde_norway::from_str(text).map_err(|e| {
            let place = e.location().map(|l| (l.line(), l.column()));
            source.fail(yaml_message(&e.to_string()), place)
        })?;
        if let Some(overrides) = raw.quick.take().filter(|_| quick) {
            raw.quick_seeds = overrides.seeds.is_some();
            raw.seeds = overrides.seeds.unwrap_or(raw.seeds);
            raw.params.extend(overrides.params);
            if overrides.sweep.is_some() {
                raw.sweep = overrides.sweep;
            }
        }
        Ok(raw)
    }

    /// The fields that stand alone: a folder-safe name, non-empty texts, seeds and timeout in
    /// range.
    pub fn validate_header(&self, source: Source<'_>) -> Result<(), SpecError> {
        if self.name.len() > 100 {
            return Err(source.fail(
                format!(
                    "name is {} characters long; at most 100 are allowed (it names the results folder)",
                    self.name.len()
                ),
                source.top("name"),
            ));
        }
        if !valid_name(&self.name) {
            return Err(source.fail(
                format!("name `{}` is not allowed: use lowercase letters, digits, `-` and `_`, starting with a letter or digit (it names the results folder)", self.name),
                source.top("name"),
            ));
        }
        for (field, value) in [
            ("title", &self.title),
            ("paper", &self.paper),
            ("claim", &self.claim),
        ] {
            if value.trim().is_empty() {
                return Err(source.fail(format!("`{field}` is empty"), source.top(field)));
            }
        }
        if self.seeds == 0 || self.seeds > 100_000 {
            return Err(source.fail(
                format!("`seeds` must be in [1, 100000]; got {}", self.seeds),
                if self.quick_seeds {
                    Location::root().key("quick").key("seeds").find(source.text)
                } else {
                    source.top("seeds")
                },
            ));
        }
        if let Some(t) = self.timeout {
            if !(t.is_finite() && t > 0.0) {
                return Err(source.fail(
                    format!("`timeout` is seconds per trial, a positive number; got {t}"),
                    source.top("timeout"),
                ));
            }
        }
        Ok(())
    }
}

/// `[a-z0-9][a-z0-9_-]*`, at most 100 characters: safe as a folder name on every system.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name.len() <= 100
}

/// The parser's message without its own "at line … column …" (the place is printed in front),
/// with a did-you-mean for unknown fields.
fn yaml_message(message: &str) -> String {
    let mut text = match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    };
    // serde names our private struct; say what the user wrote instead.
    text = text.replace(
        "expected struct RawSpec",
        "expected a mapping of spec fields (name, title, paper, claim, method, …)",
    );
    if let Some(rest) = text.strip_prefix("unknown field `") {
        if let Some(end) = rest.find('`') {
            let wrong = &rest[..end];
            let hint = did_you_mean(wrong, FIELDS);
            text = format!(
                "unknown field `{wrong}`{hint}; accepted: {}",
                FIELDS.join(", ")
            );
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_folder_safe() {
        assert!(valid_name("attack-rank-one_2"));
        for bad in ["", "../x", "a/b", "Upper", "-x", "a b", "é"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn unknown_fields_get_a_suggestion() {
        let m = yaml_message(
            "unknown field `sweeep`, expected one of `name`, `title` at line 3 column 1",
        );
        assert!(
            m.starts_with("unknown field `sweeep` (did you mean `sweep`?); accepted: name"),
            "{m}"
        );
    }
}
