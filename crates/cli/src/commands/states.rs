//! `subbench write-states`: hidden states of the synthetic ShifCon model in the format the
//! real-states loader reads, so the whole pipeline can be run on files (and a user can see the
//! format by example).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use shifcon::source::{Generator, States, World};
use shifcon::states::write_states;

use crate::user_error::UserError;

#[derive(Debug, Args)]
pub struct WriteStatesArgs {
    /// Folder to write `states.npy` (layers × sentences × width, float64) and `labels.csv`
    /// (sentence,language,group,label) into.
    pub out: PathBuf,
    /// Seed of the draw; the same seed writes the same bytes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Translation groups (each language has one sentence per group).
    #[arg(long, default_value_t = Generator::default().sentences)]
    pub sentences: usize,
    /// Layers.
    #[arg(long, default_value_t = Generator::default().layers)]
    pub layers: usize,
    /// Width of the states.
    #[arg(long, default_value_t = Generator::default().width)]
    pub width: usize,
    /// Language-specific distortion of the semantics (see `subbench list`).
    #[arg(long, default_value_t = 0.0)]
    pub mixing: f64,
}

pub fn write(args: &WriteStatesArgs) -> Result<()> {
    let generator = Generator {
        sentences: args.sentences,
        layers: args.layers,
        width: args.width,
        mixing: args.mixing,
        ..Generator::default()
    };
    // The same ranges as the shifcon.* parameters, and a cap on the file (it is built in memory).
    if !(4..=100_000).contains(&args.sentences)
        || !(1..=1024).contains(&args.layers)
        || !(generator.code_rank..=4096).contains(&args.width)
    {
        return Err(UserError::new(format!(
            "write-states needs --sentences in [4, 100000], --layers in [1, 1024] and --width in [{}, 4096]",
            generator.code_rank
        ))
        .into());
    }
    let bytes = args.layers * args.sentences * generator.degradation.len() * args.width * 8;
    if bytes > 4 << 30 {
        return Err(UserError::new(format!(
            "write-states would write {:.1} GiB (layers × 6 languages × sentences × width × 8 bytes); the limit is 4 GiB",
            bytes as f64 / (1u64 << 30) as f64
        ))
        .into());
    }
    if !(args.mixing.is_finite() && args.mixing >= 0.0) {
        return Err(UserError::new("--mixing must be a non-negative number").into());
    }
    let world = World::new(generator, &mut ChaCha8Rng::seed_from_u64(args.seed));
    write_states(&States::Synthetic(Box::new(world)), &args.out).map_err(UserError::new)?;
    say!(
        "wrote {} and {}",
        args.out.join("states.npy").display(),
        args.out.join("labels.csv").display()
    );
    Ok(())
}
