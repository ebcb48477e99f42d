//! `subbench list SPEC` / `validate --points`: the points a spec (with its overrides and
//! filters) would run, with their trial counts and how many are stored; and `status DIR --why`:
//! what a run of a stored spec would run again, and why, without running it.

use std::path::Path;

use anyhow::Result;
use harness::spec::{load_spec, LoadOptions};
use harness::store::schema;
use harness::why::Plan;
use harness::{Registry, Spec, Store, Trial, TrialRecord};

use crate::user_error::UserError;

/// The store's records, or none when nothing is stored yet.
fn stored_records(store: &Path) -> Result<Vec<TrialRecord>> {
    let store = Store::at(store);
    if !store.has_trials() {
        return Ok(Vec::new());
    }
    Ok(store.load_trials()?)
}

/// One line per point (its swept values), with its trials and how many are stored and current.
pub fn print_points(spec: &Spec, out: &Path) -> Result<()> {
    let dir = out.join(&spec.name);
    let records = stored_records(&dir)?;
    let mut stored_total = 0;
    let mut lines = Vec::with_capacity(spec.points.len());
    let mut all_trials = Vec::new();
    for point in &spec.points {
        let trials: Vec<Trial> = (0..spec.seeds)
            .map(|rep| Trial::new(&point.method, &point.params, rep, spec.seed))
            .collect();
        let refs: Vec<&Trial> = trials.iter().collect();
        let stored = Plan::of(spec, &refs, &records).stored;
        stored_total += stored;
        let mut shown: Vec<String> = Vec::new();
        if !spec.swept.iter().any(|n| n == "method") {
            shown.push(format!("method={}", point.method));
        }
        for name in &spec.swept {
            let value = point
                .value(name)
                .map_or("unset".to_string(), |v| v.to_string());
            shown.push(format!("{name}={value}"));
        }
        lines.push(format!(
            "  {}  {} trials, {stored} stored",
            shown.join(" "),
            trials.len()
        ));
        all_trials.extend(trials);
    }
    say!(
        "{}: {} points × {} seeds = {} trials, {stored_total} stored ({})",
        spec.name,
        spec.points.len(),
        spec.seeds,
        all_trials.len(),
        dir.display()
    );
    for line in lines {
        say!("{line}");
    }
    let refs: Vec<&Trial> = all_trials.iter().collect();
    for line in Plan::of(spec, &refs, &records).rerun_lines() {
        say!("{}: {line}", spec.name);
    }
    Ok(())
}

/// `status DIR --why`: the stored spec's trials that a run would compute, grouped by reason.
pub fn why(dir: &Path, registry: &Registry) -> Result<()> {
    let spec_file = dir.join(schema::SPEC_FILE);
    if !spec_file.is_file() {
        return Err(UserError::new(format!(
            "{}: no stored spec ({} is missing); give a spec's store, e.g. results/NAME",
            dir.display(),
            spec_file.display()
        ))
        .into());
    }
    let spec = load_spec(&spec_file, registry, LoadOptions::default())?;
    let records = stored_records(dir)?;
    let trials = spec.trials(None);
    let refs: Vec<&Trial> = trials.iter().collect();
    let plan = Plan::of(&spec, &refs, &records);
    let reruns = plan.rerun_lines();
    let new = plan.new_trials();
    if plan.to_run.is_empty() {
        say!(
            "{}: all {} trials are stored and current; a run would compute nothing",
            dir.display(),
            trials.len()
        );
        return Ok(());
    }
    say!(
        "{}: a run would compute {} of {} trials",
        dir.display(),
        plan.to_run.len(),
        trials.len()
    );
    for line in reruns {
        say!("  {line}");
    }
    if new > 0 {
        say!("  {new} trials were never stored");
    }
    Ok(())
}
