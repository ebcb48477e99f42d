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

    /// What `check --where` evaluates: the selected points, and the claims whose own `where:`
    /// values the filter admits (a claim about other points is not shown; baseline checks,
    /// which compare every group, are left out).
    pub fn narrowed(&self, spec: &Spec, registry: &Registry) -> Result<Spec> {
        let filter = Filter::parse(&self.filter)?;
        if filter.is_empty() {
            return Ok(spec.clone());
        }
        let mut narrowed = self.selected(spec, registry)?;
        let filter = filter.resolved(spec, registry);
        let concerns = |c: &harness::spec::CheckSpec| {
            !matches!(c, harness::spec::CheckSpec::Baseline(_))
                && c.selections().iter().all(|s| filter.admits_all(s))
        };
        narrowed.expect.retain(concerns);
        narrowed.refuted.retain(concerns);
        Ok(narrowed)
    }
}

/// `--root-seeds A..B`: the root seeds A to B, both included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeedRange {
    pub first: u64,
    pub last: u64,
}

/// More root seeds than this in one command is a mistake (each reruns every sweep).
pub const MAX_ROOT_SEEDS: u64 = 100;

impl std::str::FromStr for SeedRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{text}` is not a range of root seeds; write A..B (both included, at most {MAX_ROOT_SEEDS} seeds), e.g. 1..20"
            )
        };
        let (a, b) = text.split_once("..").ok_or_else(bad)?;
        let first: u64 = a.trim().parse().map_err(|_| bad())?;
        let last: u64 = b.trim().parse().map_err(|_| bad())?;
        if last < first || last - first >= MAX_ROOT_SEEDS {
            return Err(bad());
        }
        Ok(SeedRange { first, last })
    }
}

impl SeedRange {
    pub fn seeds(&self) -> Vec<u64> {
        (self.first..=self.last).collect()
    }
}
