//! The data a check stands on. Every group (or trial) a check selects must have an ok value of
//! its metric in every trial, or the check fails naming the group and the cause: the failed
//! trials' most frequent error, or the trials without a value. A claim never passes on part of
//! its data, and a `refuted` claim is never "not reproduced" for want of data.

use std::path::Path;

use harness::spec::Interval;
use harness::store::schema;
use harness::{Status, TrialRecord, Value};

use super::family::Family;
use super::group_label;
use crate::aggregate::{same_value, Aggregate, Group, Stats};

/// What a check is evaluated on.
pub struct Data<'a> {
    pub agg: &'a Aggregate,
    /// The stored records of the spec's current trials (the failed ones name their errors).
    pub records: &'a [TrialRecord],
    /// The store's folder: its `trials.csv` lists every trial's error.
    pub store: &'a Path,
    /// How the store's intervals were computed (family-wise ones are recomputed).
    pub interval: Interval,
}

impl<'a> Data<'a> {
    /// The groups `filter` selects, each with its statistics of `metric`; `Err` names the first
    /// selected group without an ok value in every trial, or says that none is selected.
    pub fn groups(
        &self,
        filter: &[(String, Value)],
        metric: &str,
    ) -> Result<Vec<(&'a Group, &'a Stats)>, String> {
        let mut out = Vec::new();
        for g in self.agg.matching(filter) {
            out.push(self.stats(g, metric)?);
        }
        if out.is_empty() {
            return Err("no stored trial matches (run the spec first)".into());
        }
        Ok(out)
    }

    /// `metric` in group `g`, when every trial of the group is ok and has a value of it.
    pub fn stats(&self, g: &'a Group, metric: &str) -> Result<(&'a Group, &'a Stats), String> {
        let label = group_label(self.agg, g);
        if g.n_failed > 0 {
            return Err(self.failure_cause(g, &label));
        }
        let ok = g.n_trials;
        match g.metrics.get(metric) {
            Some(s) if s.n >= ok => Ok((g, s)),
            found => Err(format!(
                "{} of {ok} trials of {label} have no value of `{metric}` (the method returned none; see {})",
                ok - found.map_or(0, |s| s.n),
                self.csv()
            )),
        }
    }

    /// The family of `members` intervals at family-wise `level`.
    pub fn family(&self, level: f64, members: usize) -> Family {
        Family::new(level, members, self.interval)
    }

    fn csv(&self) -> String {
        self.store.join(schema::TRIALS_CSV).display().to_string()
    }

    /// `3 of 8 trials of method=a failed: <error> (first of 3 identical errors; see …/trials.csv)`.
    fn failure_cause(&self, g: &Group, label: &str) -> String {
        let failed: Vec<&TrialRecord> = self
            .records
            .iter()
            .filter(|r| r.status != Status::Ok && self.in_group(r, g))
            .collect();
        format!(
            "{} of {} trials of {label} failed: {}",
            g.n_failed,
            g.n_trials,
            self.errors_text(&failed)
        )
    }

    /// The most frequent error of `failed` (first seen among equals), how many share it and
    /// how many others there are, and where all of them are listed.
    pub fn errors_text(&self, failed: &[&TrialRecord]) -> String {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for r in failed {
            let text = r
                .error
                .clone()
                .unwrap_or_else(|| format!("status {}", r.status.as_str()));
            match counts.iter_mut().find(|(t, _)| *t == text) {
                Some((_, n)) => *n += 1,
                None => counts.push((text, 1)),
            }
        }
        let top = counts.iter().fold(None::<&(String, usize)>, |best, c| {
            if best.is_none_or(|b| c.1 > b.1) {
                Some(c)
            } else {
                best
            }
        });
        let Some(top) = top else {
            return format!("no error recorded (see {})", self.csv());
        };
        let others = failed.len() - top.1;
        let others = if others > 0 {
            format!(", and {others} other errors")
        } else {
            String::new()
        };
        format!(
            "{} (first of {} identical errors{others}; see {})",
            top.0,
            top.1,
            self.csv()
        )
    }

    /// Whether record `r` belongs to group `g` (its method and parameters equal the key).
    fn in_group(&self, r: &TrialRecord, g: &Group) -> bool {
        self.agg.keys.iter().zip(&g.key).all(|(k, v)| {
            if k == schema::METHOD {
                same_value(&Value::Str(r.method.clone()), v)
            } else {
                r.params.get(k).is_some_and(|p| same_value(p, v))
            }
        })
    }
}
