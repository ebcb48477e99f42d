//! The record model: one stored trial, how it ended, and which of two rows of one trial id wins.

use std::collections::{BTreeMap, HashMap};

use crate::value::Value;

/// How a trial ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Ok,
    /// The method returned an error or panicked.
    Error,
    /// A metric was not finite, or the method reported divergence.
    Diverged,
    /// The trial ran longer than the spec's `timeout`.
    Timeout,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Error => "error",
            Status::Diverged => "diverged",
            Status::Timeout => "timeout",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [Status::Ok, Status::Error, Status::Diverged, Status::Timeout]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// One stored trial.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialRecord {
    pub trial_id: String,
    /// Position of the trial in the spec's expansion; rows are stored in this order.
    pub order: u64,
    pub spec: String,
    pub method: String,
    /// The code identity of the method that computed the trial (see `Method::code`); empty for
    /// trials stored before code identities existed (they are stale).
    pub method_code: String,
    pub rep: u32,
    pub seed: u64,
    pub status: Status,
    pub error: Option<String>,
    pub elapsed_s: f64,
    pub params: BTreeMap<String, Value>,
    pub metrics: BTreeMap<String, f64>,
    pub curves: BTreeMap<String, Vec<(u32, f64)>>,
}

/// Whether `new`, read after `old` (of the same trial id), replaces it. Under one code identity
/// an ok result is never replaced by a later failure (failures are retried, not cached); a record
/// of another code identity (a stale trial recomputed) replaces whatever the old code produced,
/// failure included, or a failed rerun would hide behind the stale ok row.
pub(crate) fn replaces(old: &TrialRecord, new: &TrialRecord) -> bool {
    old.method_code != new.method_code || new.status == Status::Ok || old.status != Status::Ok
}

/// One row per trial id: the last `ok` row if there is one, else the last row; sorted by order.
/// Records come oldest first (see [`replaces`]).
pub(crate) fn deduplicate(records: Vec<TrialRecord>) -> Vec<TrialRecord> {
    let mut best: HashMap<String, TrialRecord> = HashMap::new();
    for record in records {
        let replace = best
            .get(&record.trial_id)
            .is_none_or(|old| replaces(old, &record));
        if replace {
            best.insert(record.trial_id.clone(), record);
        }
    }
    let mut out: Vec<TrialRecord> = best.into_values().collect();
    out.sort_by(|a, b| (a.order, &a.trial_id).cmp(&(b.order, &b.trial_id)));
    out
}
