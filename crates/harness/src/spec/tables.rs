//! The tables of `report:`: their model and their validation. Rendered by `report::tables`.

use indexmap::IndexMap;
use serde::Deserialize;

use super::context::Context;
use crate::error::SpecError;
use crate::locate::Location;
use crate::value::Value;

/// A table of the report: one row per value of `rows`, one column per value of `columns`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub rows: String,
    #[serde(default)]
    pub columns: Option<String>,
    pub value: String,
    /// A precision such as `.3f` or `.2e`.
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, rename = "where")]
    pub filter: IndexMap<String, Value>,
    /// The LaTeX float's caption (default: the title).
    #[serde(default)]
    pub caption: Option<String>,
    /// The LaTeX float's `\label` (default `tab:SPEC-N`).
    #[serde(default)]
    pub label: Option<String>,
    /// What a cell shows.
    #[serde(default)]
    pub cell: CellFormat,
    /// Which best cells are bold: the best of each column, of each row, or none.
    #[serde(default)]
    pub bold: BoldBy,
    /// Headers for people: the `rows`/`columns` parameter names and their values (as written
    /// in the spec) mapped to the text a paper shows, e.g. `{budget_rel: "Budget", rank_one:
    /// "Rank-one"}`.
    #[serde(default)]
    pub labels: IndexMap<String, String>,
}

/// What a table cell shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellFormat {
    /// The mean.
    Mean,
    /// `mean ± half-width of the interval` (the report's `interval`).
    #[default]
    MeanCi,
    /// `mean (standard deviation)`.
    MeanSd,
}

/// Which cells of a table are set in bold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoldBy {
    /// The best cell of each column (by the metric's `better`).
    #[default]
    Column,
    /// The best cell of each row.
    Row,
    /// None.
    None,
}

/// Whether a `labels:` key names the value `v` (as written in the spec: `0.075` names the
/// generated 0.07500000000000001, `true` a boolean).
pub fn label_names(key: &str, v: &Value) -> bool {
    v.to_string() == key
        || matches!(v, Value::Str(s) if s == key)
        || key.parse::<f64>().is_ok_and(|k| Value::Float(k).matches(v))
}

impl TableSpec {
    /// Every name the table (written at `at`, e.g. `report.tables[1]`) uses exists, and its
    /// format is one the renderer understands.
    pub(crate) fn validate(&self, ctx: &Context<'_>, at: &Location) -> Result<(), SpecError> {
        const WHAT: &str = "report table";
        ctx.check_filter(&self.filter, WHAT, &at.key("where"))?;
        if let Some(format) = &self.format {
            if !valid_number_format(format) {
                return Err(ctx.fail_at(
                    format!("report table: format `{format}` is not accepted; use `.Nf` (N decimals), `.Ne` (scientific) or `.Ng` (N significant digits), N from 0 to 17"),
                    &at.key("format"),
                ));
            }
        }
        ctx.check_param(&self.rows, WHAT, &at.key("rows"))?;
        if let Some(c) = &self.columns {
            ctx.check_param(c, WHAT, &at.key("columns"))?;
        }
        ctx.check_metric(&self.value, WHAT, &at.key("value"))?;
        ctx.check_keys(&self.filter, WHAT, &at.key("where"))?;
        if let Some(label) = &self.label {
            if label.is_empty()
                || !label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ":-_./".contains(c))
            {
                return Err(ctx.fail_at(
                    format!("report table: label `{label}` is not accepted; use letters, digits and : - _ . / (e.g. tab:budget)"),
                    &at.key("label"),
                ));
            }
        }
        self.validate_labels(ctx, at)
    }

    /// Every key of `labels` is the `rows` or `columns` parameter or one of their values.
    fn validate_labels(&self, ctx: &Context<'_>, at: &Location) -> Result<(), SpecError> {
        let axes: Vec<&str> = std::iter::once(self.rows.as_str())
            .chain(self.columns.as_deref())
            .collect();
        let mut values: Vec<Value> = Vec::new();
        for p in ctx.points {
            for axis in &axes {
                if let Some(v) = p.value(axis) {
                    if !values.iter().any(|o| o.matches(&v)) {
                        values.push(v);
                    }
                }
            }
        }
        for key in self.labels.keys() {
            if axes.contains(&key.as_str()) || values.iter().any(|v| label_names(key, v)) {
                continue;
            }
            let known: Vec<String> = axes
                .iter()
                .map(|a| a.to_string())
                .chain(values.iter().map(Value::to_string))
                .collect();
            return Err(ctx.fail_at(
                format!(
                    "report table: labels: `{key}` is neither the rows or columns parameter nor one of their values; known: {}",
                    known.join(", ")
                ),
                &at.key("labels").key(key),
            ));
        }
        Ok(())
    }
}

/// `.3f`, `.2e`, `.4g`: what `report::tables::format_number` understands. Anything else used to
/// fall back silently (`%s`), and `.100f` printed a hundred digits.
fn valid_number_format(format: &str) -> bool {
    let Some(body) = format.strip_prefix('.') else {
        return false;
    };
    let Some(digits) = body.strip_suffix(['f', 'e', 'g']) else {
        return false;
    };
    !digits.is_empty()
        && digits.len() <= 2
        && digits.chars().all(|c| c.is_ascii_digit())
        && digits.parse::<u32>().is_ok_and(|n| n <= 17)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats_are_the_renderers() {
        for good in [".3f", ".2e", ".4g", ".0f", ".17g"] {
            assert!(valid_number_format(good), "{good}");
        }
        for bad in ["3f", ".f", ".18f", ".100f", ".3d", "%s", ""] {
            assert!(!valid_number_format(bad), "{bad}");
        }
    }
}
