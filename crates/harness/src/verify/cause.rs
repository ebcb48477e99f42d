//! Why a rerun can differ from the stored trial: the facts provenance recorded about the runs
//! that computed the store, set against this verification's. A fact that differs is a likely
//! cause; when none does, the method itself depends on something besides its inputs.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value as Json;

use crate::provenance::{git_state, run_entries, BuildInfo};
use crate::spec::Spec;
use crate::store::TrialRecord;

/// What this verification runs with.
pub struct Now<'a> {
    pub build: &'a BuildInfo,
    pub threads: usize,
}

/// The distinct values of `key` over the stored runs (merges and verifications have none).
fn stored_values(runs: &[Json], key: &str) -> BTreeSet<String> {
    runs.iter()
        .filter(|r| r.get("spec_hash").is_some())
        .filter_map(|r| r.get(key))
        .filter(|v| !v.is_null())
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
        .collect()
}

fn differs(runs: &[Json], key: &str, what: &str, now: &str) -> Option<String> {
    let stored = stored_values(runs, key);
    if stored.is_empty() || (stored.len() == 1 && stored.contains(now)) {
        return None;
    }
    let list: Vec<&str> = stored.iter().map(String::as_str).collect();
    Some(format!(
        "{what}: the store was computed with {}, this verification runs with {now}",
        list.join(" and ")
    ))
}

/// The likely causes of the differences in `failed` (stored records of trials that failed).
pub fn likely_causes(
    dir: &Path,
    spec: &Spec,
    records: &[TrialRecord],
    failed: &[&TrialRecord],
    now: &Now<'_>,
) -> Vec<String> {
    let runs = run_entries(dir);
    let folder = std::env::current_dir().unwrap_or_default();
    let commit = git_state(&folder)
        .0
        .unwrap_or_else(|| "no git commit".into());
    let mut causes: Vec<String> = [
        differs(&runs, "blas", "BLAS kernels", &now.build.blas),
        differs(
            &runs,
            "subbench_version",
            "subbench version",
            &now.build.version,
        ),
        differs(&runs, "git_commit", "commit", &commit),
        differs(&runs, "threads", "thread count", &now.threads.to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut codes = BTreeSet::new();
    for record in failed {
        let current = spec.codes.get(&record.method).cloned().unwrap_or_default();
        if record.method_code != current {
            codes.insert(format!(
                "method code identity of {}: stored {}, current {current} (compared with --force)",
                record.method, record.method_code
            ));
        }
    }
    causes.extend(codes);
    causes.extend(spec.changed_inputs(records));
    if causes.is_empty() {
        causes.push("nothing recorded differs (BLAS kernels, subbench version, commit, method code identity, input files, thread count): the method's results depend on something besides its parameters and seed (the clock, an unseeded generator, thread scheduling)".into());
    }
    causes
}
