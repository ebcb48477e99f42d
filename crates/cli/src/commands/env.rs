//! `subbench env`: make (or check) the Python environments that external methods declare
//! (`python: {requirements: …}` in a manifest) ahead of any run, e.g. on a login node before
//! `slurm --submit`. A requirement that cannot be installed is one line naming it and its
//! manifest, exit 2, before any trial runs.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use harness::Registry;

use crate::user_error::UserError;

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Specs (files or folders searched for .yaml files) or manifests.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

pub fn env(args: &EnvArgs, registry: &Registry) -> Result<()> {
    let mut methods = super::run::external_methods(&args.paths, registry)?;
    let mut seen = std::collections::HashSet::new();
    methods.retain(|m| seen.insert(m.id().to_string()));
    if methods.is_empty() {
        say!("no external methods: nothing to make");
        return Ok(());
    }
    for method in methods {
        match method.environment(true).map_err(UserError::new)? {
            Some(env) => say!(
                "ok {}: Python {} with {} packages ({}) in {}",
                method.id(),
                env["python_version"].as_str().unwrap_or("?"),
                env["pip_freeze"].as_array().map_or(0, Vec::len),
                env["requirements"].as_str().unwrap_or("?"),
                env["path"].as_str().unwrap_or("?"),
            ),
            None => say!(
                "ok {}: declares no environment (`python:`); it runs with what is on PATH",
                method.id()
            ),
        }
    }
    Ok(())
}
