//! A spec writes an optional parameter's unset word (`layer: auto`) wherever it names values of
//! that parameter: in `params` and sweeps (handled by [`Params::validate`](crate::Params)) and
//! in the `where`, `better` and `worse` filters of figures, tables and checks. Trials record the
//! parameter's recorded value instead, so the filters' words are translated to it once, here,
//! before anything validates or evaluates them.

use indexmap::IndexMap;

use super::checks::CheckSpec;
use super::external::SpecMethods;
use super::raw::RawSpec;
use crate::param::{ParamDefault, Unset};
use crate::value::Value;

/// Rewrite every filter value of `raw` that is the unset word of a parameter (of any of
/// `methods`) into the value trials record for it.
pub(crate) fn translate(raw: &mut RawSpec, methods: &[String], registry: &SpecMethods) {
    let mut words: Vec<(String, &'static str, Value)> = Vec::new();
    for id in methods {
        let Ok(method) = registry.get(id) else {
            continue;
        };
        for p in method.params() {
            if let ParamDefault::Unset(Unset {
                word: Some(word),
                recorded: Some(recorded),
            }) = &p.default
            {
                words.push((p.name.clone(), word, recorded.clone()));
            }
        }
    }
    if words.is_empty() {
        return;
    }
    let rewrite = |filter: &mut IndexMap<String, Value>| {
        for (name, value) in filter.iter_mut() {
            if let Some((_, _, recorded)) = words
                .iter()
                .find(|(n, w, _)| n == name && matches!(value, Value::Str(s) if s == w))
            {
                *value = recorded.clone();
            }
        }
    };
    for figure in &mut raw.report.figures {
        rewrite(&mut figure.filter);
    }
    for table in &mut raw.report.tables {
        rewrite(&mut table.filter);
    }
    for check in raw.expect.iter_mut().chain(raw.refuted.iter_mut()) {
        match check {
            CheckSpec::Threshold(c) => rewrite(&mut c.filter),
            CheckSpec::Ordering(c) => {
                rewrite(&mut c.filter);
                rewrite(&mut c.better);
                rewrite(&mut c.worse);
            }
            CheckSpec::Agreement(c) => rewrite(&mut c.filter),
            CheckSpec::Trend(c) => rewrite(&mut c.filter),
            CheckSpec::Baseline(_) => {}
        }
    }
}
