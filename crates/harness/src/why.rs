//! What a run of a spec would do with each trial, and why: stored (reused), new, or run again
//! because its method's code changed, because it failed before, or (a new id for an old point)
//! because an input file it reads changed. `run`/`check` print the grouped reasons of what runs
//! again; `status --why` prints them without running.
//!
//! Nothing else decides a rerun: a trial's id is a hash of its method, parameters, repetition
//! and root seed, so an edit of the spec that changes none of them (whitespace, comments,
//! reordered keys) reruns nothing.

use std::collections::{BTreeMap, HashMap};

use crate::spec::external::is_current;
use crate::spec::Spec;
use crate::store::{Status, TrialRecord};
use crate::trial::Trial;
use crate::value::Value;

/// Why a trial of the spec is not served from the store.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// Stored with another code identity of its method (`from` empty: stored before code
    /// identities existed).
    CodeChanged {
        method: String,
        from: String,
        to: String,
    },
    /// Stored, but its last attempt failed (error, diverged, timeout).
    FailedBefore,
    /// Its point was stored computed from other bytes of the input file `path` (so the trial
    /// has a new id).
    InputChanged { path: String },
    /// Never stored.
    New,
}

/// The trials of a spec that will run, each with its reason (stored ones are left out).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub stored: usize,
    pub to_run: Vec<(String, Reason)>,
}

impl Plan {
    /// What runs for `trials` given the store's `records`.
    pub fn of(spec: &Spec, trials: &[&Trial], records: &[TrialRecord]) -> Plan {
        let by_id: HashMap<&str, &TrialRecord> =
            records.iter().map(|r| (r.trial_id.as_str(), r)).collect();
        let changed_inputs = changed_input_paths(records);
        let mut plan = Plan::default();
        for trial in trials {
            let reason = match by_id.get(trial.id.as_str()) {
                Some(r) if r.status != Status::Ok => Reason::FailedBefore,
                Some(r) if is_current(r, &spec.codes) => {
                    plan.stored += 1;
                    continue;
                }
                Some(r) => Reason::CodeChanged {
                    method: r.method.clone(),
                    from: r.method_code.clone(),
                    to: spec.codes.get(&r.method).cloned().unwrap_or_default(),
                },
                None => input_reason(trial, &changed_inputs).unwrap_or(Reason::New),
            };
            plan.to_run.push((trial.id.clone(), reason));
        }
        plan
    }

    /// One line per reason for trials that were stored before and run again (new trials are
    /// not re-runs), e.g. `12 trials re-run: method code of layerwise.linrep changed (9a79… →
    /// 41c2…)`.
    pub fn rerun_lines(&self) -> Vec<String> {
        let mut counts: BTreeMap<&Reason, usize> = BTreeMap::new();
        for (_, reason) in &self.to_run {
            if *reason != Reason::New {
                *counts.entry(reason).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .map(|(reason, n)| {
                let trials = if n == 1 { "trial" } else { "trials" };
                match reason {
                    Reason::CodeChanged { method, from, to } if from.is_empty() => format!(
                        "{n} {trials} re-run: stored before code identities existed (method {method}, now {})",
                        short(to)
                    ),
                    Reason::CodeChanged { method, from, to } => format!(
                        "{n} {trials} re-run: method code of {method} changed ({} → {})",
                        short(from),
                        short(to)
                    ),
                    Reason::FailedBefore => format!(
                        "{n} {trials} had failed before (error, divergence or timeout): run again"
                    ),
                    Reason::InputChanged { path } => {
                        format!("{n} {trials} re-run: input file {path} changed")
                    }
                    Reason::New => unreachable!("left out above"),
                }
            })
            .collect()
    }

    /// Trials never stored.
    pub fn new_trials(&self) -> usize {
        self.to_run
            .iter()
            .filter(|(_, r)| *r == Reason::New)
            .count()
    }
}

/// The first 4 hex digits of a code identity, as `9a79…`.
fn short(code: &str) -> String {
    let head: String = code.chars().take(4).collect();
    format!("{head}…")
}

/// Input files by (parameter, path as written) → the hashes stored trials were computed from.
fn changed_input_paths(records: &[TrialRecord]) -> BTreeMap<(String, String), Vec<String>> {
    let mut out: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.status == Status::Ok) {
        for (name, value) in &r.params {
            let Some(file) = name.strip_suffix("_blake3") else {
                continue;
            };
            if let (Some(Value::Str(path)), Value::Str(hash)) = (r.params.get(file), value) {
                let hashes = out.entry((file.to_string(), path.clone())).or_default();
                if !hashes.contains(hash) {
                    hashes.push(hash.clone());
                }
            }
        }
    }
    out
}

/// Whether a new trial reads an input file that stored trials read with other bytes.
fn input_reason(trial: &Trial, stored: &BTreeMap<(String, String), Vec<String>>) -> Option<Reason> {
    let recorded = trial.params.recorded();
    recorded.iter().find_map(|(name, value)| {
        let file = name.strip_suffix("_blake3")?;
        let (Some(Value::Str(path)), Value::Str(hash)) = (recorded.get(file), value) else {
            return None;
        };
        let hashes = stored.get(&(file.to_string(), path.clone()))?;
        (!hashes.contains(hash)).then(|| Reason::InputChanged { path: path.clone() })
    })
}
