//! `subbench bundle`: pack a store with everything a stranger needs to verify it.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use harness::Registry;
use report::DEFAULT_BASELINES;

#[derive(Debug, Args)]
pub struct BundleArgs {
    /// A spec's store, e.g. results/attack-budget.
    pub dir: PathBuf,
    /// A file ending in .tar.gz (or .tgz), or a new folder [default: NAME.tar.gz].
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Where the committed baselines are (the page's baseline checks read them).
    #[arg(long, default_value = DEFAULT_BASELINES)]
    pub baselines: PathBuf,
}

pub fn bundle(args: &BundleArgs, registry: &Registry) -> Result<()> {
    let name = args
        .dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bundle".into());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{name}.tar.gz")));
    let made = report::bundle::make(&args.dir, &out, &args.baselines, registry)?;
    match made.sha256 {
        Some(sum) => say!(
            "bundled {} files into {} (sha256 {sum})",
            made.files,
            made.path.display()
        ),
        None => say!("bundled {} files into {}/", made.files, made.path.display()),
    }
    Ok(())
}
