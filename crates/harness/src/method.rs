//! The contract between the harness and a paper's code: a method is a pure function of
//! (parameters, random generator) → metrics and curves. It never reads the clock for results,
//! never touches files and never prints; that is what makes a trial reproducible and cacheable.

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use thiserror::Error;

use crate::error::did_you_mean;
use crate::param::{ParamSpec, Params};

/// The generator every trial gets, seeded from the trial's id alone.
pub type TrialRng = ChaCha8Rng;

/// A metric a method produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricSpec {
    pub name: &'static str,
    /// One line for `subbench list`.
    pub doc: &'static str,
}

/// What one trial produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    pub metrics: BTreeMap<String, f64>,
    /// Per-iteration values: `curve name → [(step, value)]`.
    pub curves: BTreeMap<String, Vec<(u32, f64)>>,
}

impl Outcome {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn metric(mut self, name: &str, value: f64) -> Self {
        self.metrics.insert(name.to_string(), value);
        self
    }

    pub fn curve(mut self, name: &str, points: Vec<(u32, f64)>) -> Self {
        self.curves.insert(name.to_string(), points);
        self
    }
}

/// Why a trial failed. Stored with the trial; the sweep goes on.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum MethodError {
    /// The computation failed (e.g. an SVD did not converge, parameters inconsistent).
    #[error("{0}")]
    Failed(String),
    /// An iterative method blew up; recorded with status `diverged`, not dropped.
    #[error("diverged: {0}")]
    Diverged(String),
}

/// The memory one trial may plan to use. Trials run side by side and an allocation failure
/// aborts the whole process (it cannot be caught like a panic), so methods whose parameters
/// size their arrays check them against this in [`Method::check`], before anything runs.
pub const TRIAL_MEMORY_LIMIT: f64 = 2.0 * (1u64 << 30) as f64;

/// `Err` with a message naming `what` when `bytes` exceeds [`TRIAL_MEMORY_LIMIT`].
pub fn check_trial_memory(what: &str, bytes: f64) -> Result<(), String> {
    if bytes > TRIAL_MEMORY_LIMIT {
        Err(format!(
            "{what} needs about {:.1} GiB per trial; the limit is {:.0} GiB: choose smaller sizes",
            bytes / (1u64 << 30) as f64,
            TRIAL_MEMORY_LIMIT / (1u64 << 30) as f64
        ))
    } else {
        Ok(())
    }
}

/// A method that a spec can name.
pub trait Method: Send + Sync {
    /// `paper.method`, e.g. `attack.rank_one`.
    fn id(&self) -> &'static str;
    /// One line for `subbench list`.
    fn summary(&self) -> &'static str;
    fn params(&self) -> &'static [ParamSpec];
    fn metrics(&self) -> &'static [MetricSpec];
    /// Per-iteration curves the method records (names, for `kind: curve` figures).
    fn curves(&self) -> &'static [MetricSpec] {
        &[]
    }
    /// Constraints between parameters (e.g. `k ≤ n`), checked before any trial runs.
    fn check(&self, _params: &Params) -> Result<(), String> {
        Ok(())
    }
    fn run(&self, params: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError>;
}

/// Every method the binary knows, by id.
#[derive(Default)]
pub struct Registry {
    methods: Vec<Box<dyn Method>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a method; ids must be unique (a duplicate is a programming error).
    pub fn register(&mut self, method: Box<dyn Method>) {
        assert!(
            self.find(method.id()).is_none(),
            "method {} registered twice",
            method.id()
        );
        self.methods.push(method);
        self.methods.sort_by_key(|m| m.id());
    }

    pub fn find(&self, id: &str) -> Option<&dyn Method> {
        self.methods
            .iter()
            .find(|m| m.id() == id)
            .map(|m| m.as_ref())
    }

    /// The method, or a message listing what exists (with a suggestion).
    pub fn get(&self, id: &str) -> Result<&dyn Method, String> {
        self.find(id).ok_or_else(|| {
            let ids: Vec<&str> = self.methods.iter().map(|m| m.id()).collect();
            let known = if ids.is_empty() {
                "no methods are registered in this build".to_string()
            } else {
                format!("known methods: {}", ids.join(", "))
            };
            format!(
                "unknown method `{id}`{}; {known}",
                did_you_mean(id, ids.iter().copied())
            )
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &dyn Method> {
        self.methods.iter().map(|m| m.as_ref())
    }
}
