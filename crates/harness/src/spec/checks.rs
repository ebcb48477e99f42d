//! The checks of `expect:` and `refuted:`: one enum of kinds ([`CheckSpec`]), each kind a struct
//! holding its grammar (its fields, as serde reads them) and its validation. A kind's evaluation
//! lives in the `report` crate (which depends on this one), one file per kind:
//!
//! | kind        | grammar and validation | evaluation                              |
//! |-------------|------------------------|-----------------------------------------|
//! | `threshold` | [`ThresholdCheck`]     | `crates/report/src/checks/threshold.rs` |
//! | `ordering`  | [`OrderingCheck`]      | `crates/report/src/checks/ordering.rs`  |
//! | `agreement` | [`AgreementCheck`]     | `crates/report/src/checks/agreement.rs` |
//! | `trend`     | [`TrendCheck`]         | `crates/report/src/checks/trend.rs`     |
//! | `baseline`  | [`BaselineCheck`]      | `crates/report/src/checks/baseline.rs`  |
//!
//! A new kind is a struct here, a variant of [`CheckSpec`], and a file there; the compiler points
//! at the two `match`es (validation here, evaluation in `report::checks`) that must learn it.
//!
//! Validation messages say `expect <kind>` for `refuted:` checks too (the grammar is the same);
//! the line shown is the check's own.

use indexmap::IndexMap;
use serde::Deserialize;

use super::context::Context;
use super::raw::Better;
use crate::error::SpecError;
use crate::locate::Location;
use crate::value::Value;

/// Which statistic of a group a threshold compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    #[default]
    Mean,
    CiLow,
    CiHigh,
    Min,
    Max,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Monotone {
    Increasing,
    Decreasing,
}

/// One claim turned into a check (evaluated by `subbench check`), written `- <kind>: {…}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckSpec {
    Threshold(ThresholdCheck),
    Ordering(OrderingCheck),
    Agreement(AgreementCheck),
    Trend(TrendCheck),
    Baseline(BaselineCheck),
}

impl CheckSpec {
    /// The kind as written in the spec.
    pub fn kind(&self) -> &'static str {
        match self {
            CheckSpec::Threshold(_) => "threshold",
            CheckSpec::Ordering(_) => "ordering",
            CheckSpec::Agreement(_) => "agreement",
            CheckSpec::Trend(_) => "trend",
            CheckSpec::Baseline(_) => "baseline",
        }
    }

    /// The `where:` selections of the check (an ordering's `better:` and `worse:` too), for
    /// a command-line filter to tell whether the check concerns the points it selects.
    pub fn selections(&self) -> Vec<&IndexMap<String, Value>> {
        match self {
            CheckSpec::Threshold(c) => vec![&c.filter],
            CheckSpec::Ordering(c) => vec![&c.filter, &c.better, &c.worse],
            CheckSpec::Agreement(c) => vec![&c.filter],
            CheckSpec::Trend(c) => vec![&c.filter],
            CheckSpec::Baseline(_) => Vec::new(),
        }
    }

    /// Validate the check written at `at` (e.g. `expect[2]`).
    pub(crate) fn validate(&self, ctx: &Context<'_>, at: &Location) -> Result<(), SpecError> {
        let at = at.key(self.kind());
        match self {
            CheckSpec::Threshold(c) => c.validate(ctx, &at),
            CheckSpec::Ordering(c) => c.validate(ctx, &at),
            CheckSpec::Agreement(c) => c.validate(ctx, &at),
            CheckSpec::Trend(c) => c.validate(ctx, &at),
            CheckSpec::Baseline(c) => c.validate(ctx, &at),
        }
    }
}

/// Validate every check of `expect:` and `refuted:`, in that order.
pub(crate) fn validate_all(
    expect: &[CheckSpec],
    refuted: &[CheckSpec],
    ctx: &Context<'_>,
) -> Result<(), SpecError> {
    let refuted_at = Location::root().key("refuted");
    if let Some(i) = refuted
        .iter()
        .position(|c| matches!(c, CheckSpec::Baseline(_)))
    {
        return Err(ctx.fail_at(
            "`refuted` lists claims that do not hold; a baseline belongs under `expect`",
            &refuted_at.index(i),
        ));
    }
    let expect_at = Location::root().key("expect");
    for (i, check) in expect.iter().enumerate() {
        check.validate(ctx, &expect_at.index(i))?;
    }
    for (i, check) in refuted.iter().enumerate() {
        check.validate(ctx, &refuted_at.index(i))?;
    }
    Ok(())
}

/// The metric's statistic is above and/or below a value in every matching group.
/// Evaluated by `report::checks::threshold` (crates/report/src/checks/threshold.rs).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "struct variant CheckSpec::Threshold")]
pub struct ThresholdCheck {
    pub metric: String,
    #[serde(default, rename = "where")]
    pub filter: IndexMap<String, Value>,
    #[serde(default)]
    pub stat: Stat,
    #[serde(default)]
    pub above: Option<f64>,
    #[serde(default)]
    pub below: Option<f64>,
    /// Family-wise confidence of the claim's intervals (`ci_low`/`ci_high`, and the evidence a
    /// refutation needs): every group's interval covers its mean at once with this probability
    /// (Šidák across the groups).
    #[serde(default = "default_level")]
    pub level: f64,
}

fn default_level() -> f64 {
    0.95
}

/// `level` is a probability strictly between 0 and 1.
fn check_level(level: f64, what: &str, ctx: &Context<'_>, at: &Location) -> Result<(), SpecError> {
    if level > 0.0 && level < 1.0 {
        return Ok(());
    }
    Err(ctx.fail_at(
        format!("{what}: `level` is the family-wise confidence, a number strictly between 0 and 1 (e.g. 0.95); got {level}"),
        &at.key("level"),
    ))
}

impl ThresholdCheck {
    fn validate(&self, ctx: &Context<'_>, at: &Location) -> Result<(), SpecError> {
        const WHAT: &str = "expect threshold";
        ctx.check_filter(&self.filter, WHAT, &at.key("where"))?;
        ctx.check_metric(&self.metric, WHAT, &at.key("metric"))?;
        ctx.check_keys(&self.filter, WHAT, &at.key("where"))?;
        check_level(self.level, WHAT, ctx, at)?;
        if self.above.is_none() && self.below.is_none() {
            return Err(ctx.fail_at("expect threshold needs `above` and/or `below`", at));
        }
        // A bound that no value can meet makes a check that never passes, and a `refuted`
        // claim built on it green for ever.
        for (field, bound) in [("above", self.above), ("below", self.below)] {
            if let Some(bad) = bound.filter(|b| !b.is_finite()) {
                return Err(ctx.fail_at(
                    format!("expect threshold: bounds are finite numbers; got {bad}"),
                    &at.key(field),
                ));
            }
        }
        if let (Some(a), Some(b)) = (self.above, self.below) {
            if a >= b {
                return Err(ctx.fail_at(
                    format!("expect threshold: `above: {a}` and `below: {b}` leave no value between them; `above` must be less than `below`"),
                    at,
                ));
            }
        }
        Ok(())
    }
}

/// Groups matching `better` beat those matching `worse`, pairing the other parameters.
/// Evaluated by `report::checks::ordering` (crates/report/src/checks/ordering.rs).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "struct variant CheckSpec::Ordering")]
pub struct OrderingCheck {
    pub metric: String,
    pub better: IndexMap<String, Value>,
    pub worse: IndexMap<String, Value>,
    #[serde(default, rename = "where")]
    pub filter: IndexMap<String, Value>,
    #[serde(default)]
    pub margin: f64,
    #[serde(default)]
    pub ci_separated: bool,
    /// Family-wise confidence of the intervals compared (see [`ThresholdCheck::level`]).
    #[serde(default = "default_level")]
    pub level: f64,
}

impl OrderingCheck {
    fn validate(&self, ctx: &Context<'_>, at: &Location) -> Result<(), SpecError> {
        const WHAT: &str = "expect ordering";
        ctx.check_filter(&self.filter, WHAT, &at.key("where"))?;
        ctx.check_filter(&self.better, WHAT, &at.key("better"))?;
        ctx.check_filter(&self.worse, WHAT, &at.key("worse"))?;
        let margin = self.margin;
        if !(margin.is_finite() && margin >= 0.0) {
            return Err(ctx.fail_at(
                format!("expect ordering: `margin` is how much better, a number ≥ 0; got {margin} (a negative margin passes a reversed order)"),
                &at.key("margin"),
            ));
        }
        check_level(self.level, WHAT, ctx, at)?;
        // A group that matches both sides would be compared with itself: the two must give
        // different values to at least one parameter they both name.
        let disjoint = self
            .better
            .iter()
            .any(|(k, v)| self.worse.get(k).is_some_and(|w| !w.matches(v)));
        if !disjoint {
            return Err(ctx.fail_at(
                "expect ordering: `better` and `worse` can select the same group; give both a different value of the same parameter (e.g. `better: {method: a}, worse: {method: b}`)",
                at,
            ));
        }
        if self.better.is_empty() || self.worse.is_empty() {
            return Err(ctx.fail_at(
                "expect ordering: `better` and `worse` each name at least one parameter value",
                at,
            ));
        }
        ctx.check_metric(&self.metric, WHAT, &at.key("metric"))?;
        if ctx
            .metrics
            .get(&self.metric)
            .is_some_and(|m| m.better == Better::None)
        {
            return Err(ctx.fail_at(
                format!("expect ordering: metric `{}` has no direction, so `better` means nothing; declare it under `metrics:` as `{{better: higher}}` or `{{better: lower}}`", self.metric),
                &at.key("metric"),
            ));
        }
        ctx.check_keys(&self.better, WHAT, &at.key("better"))?;
        ctx.check_keys(&self.worse, WHAT, &at.key("worse"))?;
        ctx.check_keys(&self.filter, WHAT, &at.key("where"))
    }
}

/// The metric agrees with another metric of the same trial, or with an expression of the
/// parameters. Evaluated by `report::checks::agreement` (crates/report/src/checks/agreement.rs).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "struct variant CheckSpec::Agreement")]
pub struct AgreementCheck {
    pub metric: String,
    #[serde(default)]
    pub with: Option<String>,
    #[serde(default)]
    pub expr: Option<String>,
    #[serde(default, rename = "where")]
    pub filter: IndexMap<String, Value>,
    #[serde(default)]
    pub abs_tol: f64,
    #[serde(default)]
    pub rel_tol: f64,
}

impl AgreementCheck {
    fn validate(&self, ctx: &Context<'_>, at: &Location) -> Result<(), SpecError> {
        const WHAT: &str = "expect agreement";
        ctx.check_filter(&self.filter, WHAT, &at.key("where"))?;
        ctx.check_metric(&self.metric, WHAT, &at.key("metric"))?;
        ctx.check_keys(&self.filter, WHAT, &at.key("where"))?;
        match (&self.with, &self.expr) {
            (Some(other), None) => ctx.check_metric(other, WHAT, &at.key("with"))?,
            (None, Some(text)) => {
                let place = at.key("expr");
                let parsed = crate::expr::Expr::parse(text)
                    .map_err(|m| ctx.fail_at(format!("expect agreement: {m}"), &place))?;
                for v in parsed.variables().into_iter().filter(|v| v != "pi") {
                    ctx.check_param(&v, WHAT, &place)?;
                }
            }
            _ => {
                return Err(ctx.fail_at(
                    "expect agreement needs exactly one of `with` (a metric) and `expr`",
                    at,
                ))
            }
        }
        if !tolerances_valid(self.abs_tol, self.rel_tol) {
            return Err(ctx.fail_at(
                "expect agreement: tolerances are finite numbers ≥ 0 (an infinite one accepts anything)",
                at,
            ));
        }
        Ok(())
    }
}

/// Monotone in a parameter, or a fitted log-log slope in a range.
/// Evaluated by `report::checks::trend` (crates/report/src/checks/trend.rs).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "struct variant CheckSpec::Trend")]
pub struct TrendCheck {
    pub metric: String,
    pub along: String,
    #[serde(default, rename = "where")]
    pub filter: IndexMap<String, Value>,
    #[serde(default)]
    pub monotone: Option<Monotone>,
    #[serde(default)]
    pub slope: Option<[f64; 2]>,
    /// `true` (default): every step of the means goes the trend's way and the fitted slope
    /// lies in its bounds. `false`, for means with sampling noise: a step against the trend
    /// fails only when the two 95% intervals are separated (the first and last means must
    /// still go the trend's way), and a slope passes when its 95% interval (from the fit's
    /// standard error) meets the bounds.
    #[serde(default = "default_true")]
    pub strict: bool,
}

fn default_true() -> bool {
    true
}

impl TrendCheck {
    fn validate(&self, ctx: &Context<'_>, at: &Location) -> Result<(), SpecError> {
        const WHAT: &str = "expect trend";
        ctx.check_filter(&self.filter, WHAT, &at.key("where"))?;
        ctx.check_metric(&self.metric, WHAT, &at.key("metric"))?;
        ctx.check_param(&self.along, WHAT, &at.key("along"))?;
        ctx.check_keys(&self.filter, WHAT, &at.key("where"))?;
        if self.monotone.is_none() == self.slope.is_none() {
            return Err(ctx.fail_at(
                "expect trend needs exactly one of `monotone` and `slope: [low, high]`",
                at,
            ));
        }
        if let Some([lo, hi]) = self.slope {
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                return Err(ctx.fail_at(
                    format!("expect trend: `slope: [{lo}, {hi}]` is not an interval; give finite bounds with low ≤ high"),
                    &at.key("slope"),
                ));
            }
        }
        self.check_points(ctx, at)?;
        Ok(())
    }
}

impl TrendCheck {
    /// A trend is a shape: every line needs [`TREND_MIN_POINTS`] values of `along` among the
    /// points the filter selects (in the sweep as loaded, the `quick:` one under `--quick`);
    /// with two it is an ordering and is written as one.
    fn check_points(&self, ctx: &Context<'_>, at: &Location) -> Result<(), SpecError> {
        let mut values: Vec<Value> = Vec::new();
        for p in ctx.points.iter().filter(|p| {
            self.filter
                .iter()
                .all(|(k, want)| p.value(k).is_some_and(|v| v.matches(want)))
        }) {
            if let Some(v) = p.value(&self.along) {
                if !values.iter().any(|w| w.matches(&v)) {
                    values.push(v);
                }
            }
        }
        if values.len() >= TREND_MIN_POINTS {
            return Ok(());
        }
        Err(ctx.fail_at(
            format!(
                "expect trend: `{}` takes {} value(s) where the trend is checked{}; a trend needs at least {TREND_MIN_POINTS} — with two, write it as an `ordering` (better: {{{}: …}}, worse: {{{}: …}})",
                self.along,
                values.len(),
                if ctx.quick { " in the `quick:` sweep" } else { "" },
                self.along,
                self.along
            ),
            &at.key("along"),
        ))
    }
}

/// The fewest values of `along` a trend is checked on.
pub const TREND_MIN_POINTS: usize = 3;

/// The aggregated table equals `results/baselines/<name>.parquet` within tolerances.
/// Evaluated by `report::checks::baseline` (crates/report/src/checks/baseline.rs), which also
/// writes baselines.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "struct variant CheckSpec::Baseline")]
pub struct BaselineCheck {
    #[serde(default)]
    pub metrics: Vec<String>,
    #[serde(default)]
    pub abs_tol: f64,
    #[serde(default)]
    pub rel_tol: f64,
}

impl BaselineCheck {
    fn validate(&self, ctx: &Context<'_>, at: &Location) -> Result<(), SpecError> {
        self.metrics.iter().enumerate().try_for_each(|(i, m)| {
            ctx.check_metric(m, "expect baseline", &at.key("metrics").index(i))
        })?;
        if !tolerances_valid(self.abs_tol, self.rel_tol) {
            return Err(ctx.fail_at(
                "expect baseline: tolerances are finite numbers ≥ 0 (an infinite one accepts anything)",
                at,
            ));
        }
        Ok(())
    }
}

/// Tolerances are finite and ≥ 0: an infinite one accepts anything, a negative one nothing.
fn tolerances_valid(abs_tol: f64, rel_tol: f64) -> bool {
    abs_tol >= 0.0 && rel_tol >= 0.0 && abs_tol.is_finite() && rel_tol.is_finite()
}
