//! The flags of the researcher's loop, shared by `run`, `check`, `validate`, `list` and `slurm`:
//! `-p KEY=VALUE` overrides (a variation stored under its own name), `--name`, `--print-spec`
//! and `--where` (run part of a sweep).

use anyhow::Result;
use clap::Args;
use harness::filter::Filter;
use harness::spec::overrides::{resolve, Overrides};
use harness::spec::LoadOptions;
use harness::{Registry, Spec};

use crate::user_error::UserError;

#[derive(Debug, Args, Default, Clone)]
pub struct VariationArgs {
    /// Override a parameter: KEY=VALUE fixes it, KEY=a,b,c or KEY='range(1, 10, 2)' sweeps it;
    /// also seeds=N and seed=S. The variation is stored apart, under the spec's name plus a hash
    /// of the overrides (or --name).
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// The store name of the overridden spec (one spec only).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Print the resolved spec (overrides written in) and run nothing.
    #[arg(long)]
    pub print_spec: bool,
    /// Only the points where KEY takes one of the values (repeatable; `method` included).
    #[arg(long = "where", value_name = "KEY=VALUE[,VALUE…]")]
    pub filter: Vec<String>,
}

impl VariationArgs {
    /// The specs with the overrides applied (and `seed=S` last, for `--root-seed`).
    pub fn resolve(
        &self,
        specs: &[Spec],
        registry: &Registry,
        options: LoadOptions,
        root_seed: Option<u64>,
    ) -> Result<Vec<Spec>> {
        let mut overrides = Overrides::parse(&self.params, self.name.clone())?;
        if let Some(seed) = root_seed {
            overrides = overrides.with_root_seed(seed);
        }
        if overrides.name.is_some() && specs.len() != 1 {
            return Err(UserError::new(format!(
                "--name names one overridden spec; {} specs are given",
                specs.len()
            ))
            .into());
        }
        let mut resolved = Vec::with_capacity(specs.len());
        for spec in specs {
            resolved.push(resolve(spec, &overrides, registry, options).map_err(|e| {
                if specs.len() > 1 {
                    anyhow::Error::from(e).context(format!("{}", spec.file.display()))
                } else {
                    e.into()
                }
            })?);
        }
        Ok(resolved)
    }

    /// `--print-spec`: the resolved text of each spec on stdout. `true` when printed (the
    /// command then runs nothing).
    pub fn print(&self, specs: &[Spec]) -> bool {
        if !self.print_spec {
            return false;
        }
        for spec in specs {
            say_raw!("{}", spec.text);
            if !spec.text.ends_with('\n') {
                say!();
            }
        }
        true
    }

    /// The `--where` filter, resolved against `spec` and checked to select some of its points.
    pub fn filter(&self, spec: &Spec, registry: &Registry) -> Result<Filter> {
        let filter = Filter::parse(&self.filter)?;
        if filter.is_empty() {
            return Ok(filter);
        }
        filter.select(spec, registry)?;
        Ok(filter.resolved(spec, registry))
    }

    /// `spec` with only the points `--where` selects (for counting and listing; a run keeps
    /// the positions of the whole sweep through `RunOptions::filter`).
    pub fn selected(&self, spec: &Spec, registry: &Registry) -> Result<Spec> {
        let filter = Filter::parse(&self.filter)?;
        if filter.is_empty() {
            return Ok(spec.clone());
        }
        let points = filter.select(spec, registry)?;
        Ok(Spec {
            points,
            ..spec.clone()
        })
    }
}
