//! `subbench verify`: re-run a sample of a store's trials (or of a bundle's) and compare them
//! bit for bit with what is stored.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use harness::verify::{verify_store, SampleSize, Verdict, Verification, VerifyOptions};
use harness::{Registry, Shard};

use crate::build_info::build_info;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A spec's store (results/NAME), a bundle folder, or a bundle file (NAME.tar.gz).
    pub path: PathBuf,
    /// How many stored ok trials to re-run: a percentage (5%) or a count (40).
    #[arg(long, default_value = "5%")]
    pub sample: SampleSize,
    /// Seed of the sample's draw (the same seed picks the same trials anywhere).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Compare trials whose method's code identity changed instead of skipping them.
    #[arg(long)]
    pub force: bool,
    /// Worker threads [default: all cores].
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Verify only the sampled trials of slice I of N (as `run --shard I/N` slices a sweep).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
}

/// Whether every compared trial passed (and at least one was compared).
pub fn verify(args: &VerifyArgs, registry: &Registry) -> Result<bool> {
    let options = VerifyOptions {
        sample: args.sample,
        seed: args.seed,
        force: args.force,
        jobs: args.jobs,
        shard: args.shard,
    };
    let build = build_info();
    let verification = if report::bundle::is_bundle(&args.path) {
        let unpacked = report::bundle::open(&args.path)?;
        say!("{}", unpacked.checksums_line());
        verify_store(&unpacked.store_dir(), registry, &options, &build)?
    } else {
        verify_store(&args.path, registry, &options, &build)?
    };
    print(&verification);
    // A verification that compared nothing confirms nothing: a failure, not a pass.
    if verification.passed() == 0 && verification.failed() == 0 {
        say!("nothing was compared: every sampled trial was skipped");
    }
    Ok(verification.failed() == 0 && verification.passed() > 0)
}

fn print(v: &Verification) {
    for note in &v.notes {
        eprintln!("note: {note}");
    }
    for trial in &v.trials {
        let head = format!("{} {} {}", trial.trial_id, trial.method, trial.params);
        match &trial.verdict {
            Verdict::Pass => say!("PASS {head}"),
            Verdict::Skip(why) => say!("SKIP {head}: {why}"),
            Verdict::Fail(mismatches) => {
                for m in mismatches {
                    let ulps = m.ulps.map_or(String::new(), |u| {
                        format!(" ({u} ulp{})", if u == 1 { "" } else { "s" })
                    });
                    say!(
                        "FAIL {head}: {}: stored {}, rerun {}{ulps}",
                        m.field,
                        m.stored,
                        m.rerun
                    );
                }
            }
        }
    }
    if v.skipped_values > 0 {
        say!(
            "not compared: {} values of metrics declared not reproducible ({})",
            v.skipped_values,
            v.not_reproducible
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for cause in &v.causes {
        say!("likely cause: {cause}");
    }
    say!(
        "{}: {} (sampled from {} stored ok trials)",
        v.spec,
        v.summary_line(),
        v.population
    );
}
