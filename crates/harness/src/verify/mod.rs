//! `subbench verify`: re-run a stratified random sample of a store's `ok` trials with the code
//! of this binary (and the external methods as they are now) and compare every value the
//! methods declare reproducible, bit for bit. A store is then not only intact (its checksums)
//! but confirmed: its numbers come out of the code that claims to have made them.
//!
//! A trial whose method's code identity differs from the stored one is skipped (the comparison
//! would not be fair) unless forced; the verification is recorded in the store's provenance, so
//! that its page can say when it was last verified and with what result.

pub mod cause;
pub mod compare;
pub mod sample;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::SystemTime;

use rayon::prelude::*;
use serde_json::json;

use crate::error::HarnessError;
use crate::method::Registry;
use crate::provenance::{record_verification, BuildInfo};
use crate::runner::{execute, Shard};
use crate::spec::{load_spec, LoadOptions, Spec};
use crate::store::schema::{SHARDS_DIR, SPEC_FILE};
use crate::store::{Status, Store, TrialRecord};
use crate::trial::Trial;

pub use compare::{Comparison, Mismatch};
pub use sample::SampleSize;

/// How to verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    pub sample: SampleSize,
    /// Seed of the sample's draw.
    pub seed: u64,
    /// Compare trials whose method's code identity changed, instead of skipping them.
    pub force: bool,
    /// Worker threads (default: all cores).
    pub jobs: Option<usize>,
    /// Verify only the sampled trials of one slice (the slices `run --shard` uses).
    pub shard: Option<Shard>,
}

/// The result for one trial.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass,
    Fail(Vec<Mismatch>),
    /// Not compared, and why.
    Skip(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrialVerdict {
    pub trial_id: String,
    pub method: String,
    /// The trial's parameters as `name=value` pairs.
    pub params: String,
    pub verdict: Verdict,
}

/// What a verification found.
#[derive(Debug, Clone, Default)]
pub struct Verification {
    pub spec: String,
    pub trials: Vec<TrialVerdict>,
    /// The stored `ok` trials of the spec's expansion the sample was drawn from.
    pub population: usize,
    /// Values not compared because their metric or curve is declared not reproducible.
    pub skipped_values: usize,
    /// Those metrics' and curves' names.
    pub not_reproducible: BTreeSet<String>,
    /// Likely causes of the failures (empty when none failed).
    pub causes: Vec<String>,
    /// Things the user should know (stored trials outside the expansion, a provenance kept aside).
    pub notes: Vec<String>,
}

impl Verification {
    fn count(&self, f: impl Fn(&Verdict) -> bool) -> usize {
        self.trials.iter().filter(|t| f(&t.verdict)).count()
    }
    pub fn passed(&self) -> usize {
        self.count(|v| *v == Verdict::Pass)
    }
    pub fn failed(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Fail(_)))
    }
    pub fn skipped(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Skip(_)))
    }

    /// `verified 120 trials: 120 pass, 0 fail, 0 skip`.
    pub fn summary_line(&self) -> String {
        format!(
            "verified {} trials: {} pass, {} fail, {} skip",
            self.trials.len(),
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }
}

/// The trials of the stored spec, by id, with the variant of the spec (full sweep or `quick:`)
/// that expands to them: a store of `check --quick` holds the quick trials.
fn expansion(spec_file: &Path, registry: &Registry) -> Result<Vec<Spec>, HarnessError> {
    let full = load_spec(spec_file, registry, LoadOptions::default())?;
    let quick = LoadOptions {
        quick: true,
        ..LoadOptions::default()
    };
    let quick = load_spec(spec_file, registry, quick)?;
    Ok(vec![full, quick])
}

/// Verify the store at `dir` (a spec's folder under `results/`), record the verification in
/// its provenance and return what it found.
pub fn verify_store(
    dir: &Path,
    registry: &Registry,
    options: &VerifyOptions,
    build: &BuildInfo,
) -> Result<Verification, HarnessError> {
    let started = SystemTime::now();
    let spec_file = dir.join(SPEC_FILE);
    if !spec_file.is_file() {
        return Err(HarnessError::Usage(format!(
            "{} is not a store (it has no {SPEC_FILE}); give a spec's results folder such as results/NAME, or a bundle",
            dir.display()
        )));
    }
    let specs = expansion(&spec_file, registry)?;
    let mut trials: HashMap<String, (&Trial, &Spec)> = HashMap::new();
    let expanded: Vec<(Vec<Trial>, &Spec)> = specs.iter().map(|s| (s.trials(None), s)).collect();
    for (list, spec) in &expanded {
        for trial in list {
            trials.entry(trial.id.clone()).or_insert((trial, spec));
        }
    }
    let records = Store::at(dir).load()?;
    if records.is_empty() && dir.join(SHARDS_DIR).is_dir() {
        return Err(HarnessError::Usage(format!(
            "{} holds unmerged shards and no merged trials; run `subbench merge {}` first",
            dir.display(),
            dir.display()
        )));
    }
    let mut result = Verification {
        spec: specs[0].name.clone(),
        ..Verification::default()
    };
    let ok: Vec<&TrialRecord> = records.iter().filter(|r| r.status == Status::Ok).collect();
    let eligible: Vec<&TrialRecord> = ok
        .iter()
        .copied()
        .filter(|r| trials.contains_key(&r.trial_id))
        .collect();
    if eligible.len() < ok.len() {
        result.notes.push(format!(
            "{} stored ok trials are not in the spec's expansion (an earlier version of the spec, or changed input files) and are not sampled",
            ok.len() - eligible.len()
        ));
    }
    result.population = eligible.len();
    if eligible.is_empty() {
        return Err(HarnessError::Usage(format!(
            "{}: no stored ok trial of the spec to verify; run the spec first",
            dir.display()
        )));
    }
    let chosen = choose(&eligible, &trials, options);
    let jobs = options
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| HarnessError::Usage(format!("cannot start {jobs} worker threads: {e}")))?;
    let verdicts: Vec<(TrialVerdict, Comparison)> = pool.install(|| {
        chosen
            .par_iter()
            .map(|record| {
                let (trial, spec) = trials[&record.trial_id];
                verify_trial(record, trial, spec, registry, options.force)
            })
            .collect()
    });
    for (verdict, comparison) in verdicts {
        result.skipped_values += comparison.skipped;
        result.trials.push(verdict);
    }
    result.not_reproducible = not_reproducible(&chosen, &trials, registry);
    let failed: Vec<&TrialRecord> = chosen
        .iter()
        .zip(&result.trials)
        .filter(|(_, v)| matches!(v.verdict, Verdict::Fail(_)))
        .map(|(r, _)| *r)
        .collect();
    if !failed.is_empty() {
        let now = cause::Now {
            build,
            threads: jobs,
        };
        result.causes = cause::likely_causes(dir, &specs[0], &records, &failed, &now);
    }
    let entry = json!({
        "sample": options.sample.to_string(),
        "seed": options.seed,
        "shard": options.shard.map(|s| format!("{}/{}", s.index, s.count)),
        "jobs": jobs,
        "force": options.force,
        "trials": result.trials.len(),
        "pass": result.passed(),
        "fail": result.failed(),
        "skip": result.skipped(),
        "values_not_reproducible": result.skipped_values,
    });
    let warning = record_verification(dir, &result.spec, entry, build, started)?;
    result.notes.extend(warning);
    Ok(result)
}

/// The sampled records, in store order, restricted to the shard's slice.
fn choose<'a>(
    eligible: &[&'a TrialRecord],
    trials: &HashMap<String, (&Trial, &Spec)>,
    options: &VerifyOptions,
) -> Vec<&'a TrialRecord> {
    let mut strata: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, record) in eligible.iter().enumerate() {
        let (trial, _) = trials[&record.trial_id];
        strata
            .entry(format!("{} {}", trial.method, trial.params))
            .or_default()
            .push(i);
    }
    sample::stratified(&strata, options.sample, options.seed)
        .into_iter()
        .map(|i| eligible[i])
        .filter(|r| {
            options
                .shard
                .is_none_or(|s| trials[&r.trial_id].0.shard(s.count) == s.index - 1)
        })
        .collect()
}

/// Re-run one stored trial and compare.
fn verify_trial(
    record: &TrialRecord,
    trial: &Trial,
    spec: &Spec,
    registry: &Registry,
    force: bool,
) -> (TrialVerdict, Comparison) {
    let mut verdict = TrialVerdict {
        trial_id: record.trial_id.clone(),
        method: record.method.clone(),
        params: trial.params.to_string(),
        verdict: Verdict::Pass,
    };
    let current = spec.codes.get(&record.method).cloned().unwrap_or_default();
    if record.method_code != current && !force {
        verdict.verdict = Verdict::Skip(format!(
            "the code identity of method {} differs (stored `{}`, current `{current}`), so the comparison would not be fair; --force compares anyway",
            record.method,
            if record.method_code.is_empty() { "none" } else { &record.method_code }
        ));
        return (verdict, Comparison::default());
    }
    let Some(method) = spec.method(registry, &record.method) else {
        verdict.verdict = Verdict::Skip(format!("method {} is not in this build", record.method));
        return (verdict, Comparison::default());
    };
    let rerun = execute(trial, record.order, spec, registry);
    let comparison = compare::compare(record, &rerun, method.metrics(), method.curves());
    if !comparison.mismatches.is_empty() {
        verdict.verdict = Verdict::Fail(comparison.mismatches.clone());
    }
    (verdict, comparison)
}

/// The names of the metrics and curves not compared in the sampled trials' methods.
fn not_reproducible(
    chosen: &[&TrialRecord],
    trials: &HashMap<String, (&Trial, &Spec)>,
    registry: &Registry,
) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for record in chosen {
        let (_, spec) = trials[&record.trial_id];
        if let Some(method) = spec.method(registry, &record.method) {
            for m in method.metrics().iter().chain(method.curves()) {
                if !m.reproducible {
                    names.insert(format!("{}.{}", method.id(), m.name));
                }
            }
        }
    }
    names
}
