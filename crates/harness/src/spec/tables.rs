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
        ctx.check_keys(&self.filter, WHAT, &at.key("where"))
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
