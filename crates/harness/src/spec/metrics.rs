//! The `metrics:` block: every declared metric is produced by every method the spec runs; left
//! out, it is every metric the methods have in common.

use indexmap::IndexMap;

use super::context::Source;
use super::external::SpecMethods;
use super::raw::MetricDecl;
use crate::error::{did_you_mean, SpecError};
use crate::locate::Location;

/// The declared metrics (or, when none are, the default ones), checked against `methods`.
pub(crate) fn resolve(
    declared: IndexMap<String, MetricDecl>,
    methods: &[String],
    registry: &SpecMethods<'_>,
    source: Source<'_>,
) -> Result<IndexMap<String, MetricDecl>, SpecError> {
    for name in declared.keys() {
        for id in methods {
            let method = registry.get(id).expect("validated above");
            if !method.metrics().iter().any(|m| m.name == name) {
                let names: Vec<&str> = method.metrics().iter().map(|m| m.name).collect();
                return Err(source.fail_at(
                    format!(
                        "method {id} does not produce metric `{name}`{}; it produces: {}",
                        did_you_mean(name, names.iter().copied()),
                        names.join(", ")
                    ),
                    &Location::root().key("metrics").key(name),
                ));
            }
        }
    }
    if !declared.is_empty() {
        return Ok(declared);
    }
    let defaults = default_metrics(methods, registry);
    if defaults.is_empty() {
        return Err(source.fail(
            format!("`metrics` is not given and the methods of this spec ({}) declare no metric in common; declare the metrics to report, e.g. `metrics: {{distance: {{better: higher}}}}`", methods.join(", ")),
            source.top("method").or(source.top("sweep")),
        ));
    }
    Ok(defaults)
}

/// `metrics:` left out: every metric that every method of the spec declares, in the first
/// method's order, labelled by its name and with no direction (declarations carry none).
fn default_metrics(methods: &[String], registry: &SpecMethods<'_>) -> IndexMap<String, MetricDecl> {
    let declared = |id: &str| -> Vec<&'static str> {
        registry
            .get(id)
            .map(|m| m.metrics().iter().map(|m| m.name).collect())
            .unwrap_or_default()
    };
    let Some(first) = methods.first() else {
        return IndexMap::new();
    };
    declared(first)
        .into_iter()
        .filter(|name| methods.iter().all(|id| declared(id).contains(name)))
        .map(|name| (name.to_string(), MetricDecl::default()))
        .collect()
}
