//! The figures of `report:`: their model and their validation against the spec's metrics,
//! parameters and the curves its methods record. Drawn by `report::page` and `report::svg`.

use indexmap::IndexMap;
use serde::Deserialize;

use super::context::Context;
use crate::error::{did_you_mean, SpecError};
use crate::locate::Location;
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FigureKind {
    Line,
    Scatter,
    Heatmap,
    /// A per-iteration curve (`y` names the curve, `x` must be `step`), one line per `series` value.
    Curve,
    /// A point cloud recorded by one trial (e.g. an MDS embedding): curves `x` and `y` hold the
    /// coordinates indexed by point, optional curve `z` a group label per point; the first
    /// repetition of the group selected by `where` is drawn.
    Embedding,
}

/// A figure of the report: `y` (a metric) against `x` (a parameter), one series per value of
/// `series`; for a heat map, `z` (a metric) over `x` and `y` (parameters).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureSpec {
    pub kind: FigureKind,
    pub x: String,
    pub y: String,
    #[serde(default)]
    pub z: Option<String>,
    #[serde(default)]
    pub series: Option<String>,
    #[serde(default)]
    pub log_x: bool,
    #[serde(default)]
    pub log_y: bool,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, rename = "where")]
    pub filter: IndexMap<String, Value>,
    /// Line and scatter figures: more metrics drawn as their own series beside `y` (instead of
    /// a `series` parameter), e.g. one per language.
    #[serde(default)]
    pub also: Vec<String>,
    /// Shade the x-interval from the mean of the first metric to the mean of the second (over
    /// the figure's groups), e.g. a chosen band of layers.
    #[serde(default)]
    pub shade: Option<[String; 2]>,
    /// The x axis' label, when the parameter's name (or "iteration" for curves) is not the best.
    #[serde(default)]
    pub x_label: Option<String>,
    /// The y axis' label, when the metric's label is not the best.
    #[serde(default)]
    pub y_label: Option<String>,
    /// The figure's size in pixels (default 640 × 420; the text keeps its size).
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
}

/// The sizes a figure may have, in pixels: below the smallest the axes and legend do not fit.
pub const FIGURE_WIDTHS: std::ops::RangeInclusive<u32> = 320..=2000;
pub const FIGURE_HEIGHTS: std::ops::RangeInclusive<u32> = 240..=2000;

impl FigureSpec {
    /// Every name the figure (written at `at`, e.g. `report.figures[4]`) uses exists.
    pub(crate) fn validate(&self, ctx: &Context<'_>, at: &Location) -> Result<(), SpecError> {
        const WHAT: &str = "report figure";
        ctx.check_filter(&self.filter, WHAT, &at.key("where"))?;
        for (key, value, range) in [
            ("width", self.width, FIGURE_WIDTHS),
            ("height", self.height, FIGURE_HEIGHTS),
        ] {
            if let Some(v) = value.filter(|v| !range.contains(v)) {
                return Err(ctx.fail_at(
                    format!(
                        "report figure: {key} {v} is not accepted; give pixels from {} to {}",
                        range.start(),
                        range.end()
                    ),
                    &at.key(key),
                ));
            }
        }
        for m in self.shade.iter().flatten() {
            ctx.check_metric(m, "report figure shade", &at.key("shade"))?;
        }
        if !self.also.is_empty() {
            if !matches!(self.kind, FigureKind::Line | FigureKind::Scatter) || self.series.is_some()
            {
                return Err(ctx.fail_at(
                    "`also` adds metrics as series to a line or scatter figure without `series`",
                    &at.key("also"),
                ));
            }
            for m in &self.also {
                ctx.check_metric(m, WHAT, &at.key("also"))?;
            }
        }
        if matches!(self.kind, FigureKind::Curve | FigureKind::Embedding) {
            return self.validate_curves(ctx, at);
        }
        ctx.check_param(&self.x, WHAT, &at.key("x"))?;
        match self.kind {
            FigureKind::Heatmap => {
                ctx.check_param(&self.y, WHAT, &at.key("y"))?;
                ctx.check_metric(self.z.as_deref().unwrap_or(""), WHAT, &at.key("z"))?;
            }
            FigureKind::Line | FigureKind::Scatter | FigureKind::Curve | FigureKind::Embedding => {
                ctx.check_metric(&self.y, WHAT, &at.key("y"))?
            }
        }
        if let Some(s) = &self.series {
            ctx.check_param(s, WHAT, &at.key("series"))?;
        }
        ctx.check_keys(&self.filter, WHAT, &at.key("where"))
    }

    /// Curve and embedding figures draw curves, which every method of the spec must record.
    fn validate_curves(&self, ctx: &Context<'_>, at: &Location) -> Result<(), SpecError> {
        if self.kind == FigureKind::Curve && self.x != "step" {
            return Err(ctx.fail_at(
                format!("a curve figure has `x: step`; got `{}`", self.x),
                &at.key("x"),
            ));
        }
        let wanted: Vec<(&str, &String)> = match self.kind {
            FigureKind::Curve => vec![("y", &self.y)],
            _ => [
                ("x", Some(&self.x)),
                ("y", Some(&self.y)),
                ("z", self.z.as_ref()),
            ]
            .into_iter()
            .filter_map(|(field, name)| Some((field, name?)))
            .collect(),
        };
        for id in ctx.methods {
            let curves = ctx.registry.get(id).expect("validated above").curves();
            let names: Vec<&str> = curves.iter().map(|c| c.name).collect();
            if let Some((field, missing)) =
                wanted.iter().find(|(_, w)| !names.contains(&w.as_str()))
            {
                let known = if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                };
                return Err(ctx.fail_at(
                    format!(
                        "method {id} records no curve `{missing}`{}; it records: {known}",
                        did_you_mean(missing, names.iter().copied())
                    ),
                    &at.key(field),
                ));
            }
        }
        if let Some(s) = &self.series {
            ctx.check_param(s, "report figure", &at.key("series"))?;
        }
        Ok(())
    }
}
