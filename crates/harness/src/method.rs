//! The contract between the harness and a paper's code: a method is a pure function of
//! (parameters, random generator) → metrics and curves. It never reads the clock for results,
//! never touches files and never prints; that is what makes a trial reproducible and cacheable.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rand_chacha::ChaCha8Rng;
use thiserror::Error;

use crate::error::{did_you_mean, SpecError};
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
    /// The method itself stopped the trial at its deadline (an external worker is killed at the
    /// spec's `timeout`); recorded with status `timeout`.
    #[error("timeout: {0}")]
    Timeout(String),
}

/// What the runner tells a method about the trial it runs, beyond parameters and generator.
#[derive(Debug, Clone, Copy)]
pub struct TrialContext<'a> {
    /// The trial's id (16 hex digits).
    pub trial_id: &'a str,
    /// The trial's 64-bit seed (the generator is seeded from it).
    pub seed: u64,
    /// When the spec's `timeout` expires. Built-in methods are timed when they return (threads
    /// cannot be killed); a method that can stop itself (an external worker process) does so.
    pub deadline: Option<Instant>,
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

    /// [`Method::run`] with the trial's context; what the runner calls. Methods that run
    /// elsewhere than in this process (external workers) override it to receive the trial's id
    /// and seed and to enforce the deadline; built-in methods keep the default.
    fn run_trial(
        &self,
        _trial: &TrialContext<'_>,
        params: &Params,
        rng: &mut TrialRng,
    ) -> Result<Outcome, MethodError> {
        self.run(params, rng)
    }

    /// The identity of the code that computes this method's results, when the method knows it
    /// itself (an external method: the blake3 of its manifest and files). `None` for built-in
    /// methods: the registry then uses the identity of the crate that registered them (see
    /// [`Registry::with_code`]). Stored with every trial; a stored trial whose identity differs
    /// from the current one is stale and is recomputed.
    fn code(&self) -> Option<String> {
        None
    }
}

/// Turns a manifest file into a method (set by the binary: the harness does not know how
/// external methods run). Gets the registry to refuse ids that collide with built-in methods.
pub type ExternalLoader =
    dyn Fn(&Path, &Registry) -> Result<Arc<dyn Method>, SpecError> + Send + Sync;

struct Entry {
    method: Box<dyn Method>,
    code: String,
}

/// Every method the binary knows, by id.
#[derive(Default)]
pub struct Registry {
    methods: Vec<Entry>,
    /// The code identity given to methods registered inside [`Registry::with_code`].
    registering_code: Option<String>,
    external_loader: Option<Box<ExternalLoader>>,
    /// Manifests loaded so far, by canonical path: every spec naming a manifest shares one method
    /// (and so one pool of worker processes), and the manifest is read and hashed once.
    external: Mutex<HashMap<PathBuf, Arc<dyn Method>>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a method; ids must be unique (a duplicate is a programming error). Its code identity
    /// is its own [`Method::code`], else the one of the enclosing [`Registry::with_code`], else
    /// empty (a method without identity: its stored trials are never stale).
    pub fn register(&mut self, method: Box<dyn Method>) {
        assert!(
            self.find(method.id()).is_none(),
            "method {} registered twice",
            method.id()
        );
        let code = method
            .code()
            .or_else(|| self.registering_code.clone())
            .unwrap_or_default();
        self.methods.push(Entry { method, code });
        self.methods.sort_by_key(|e| e.method.id());
    }

    /// Register the methods of one crate, giving them that crate's code identity (the binary
    /// derives it at build time from the crate's sources).
    pub fn with_code(&mut self, code: &str, register: impl FnOnce(&mut Registry)) {
        let previous = self.registering_code.replace(code.to_string());
        register(self);
        self.registering_code = previous;
    }

    pub fn find(&self, id: &str) -> Option<&dyn Method> {
        self.methods
            .iter()
            .find(|e| e.method.id() == id)
            .map(|e| e.method.as_ref())
    }

    /// The code identity of a registered method (see [`Registry::register`]).
    pub fn code(&self, id: &str) -> Option<&str> {
        self.methods
            .iter()
            .find(|e| e.method.id() == id)
            .map(|e| e.code.as_str())
    }

    /// How manifests named by a spec's `external:` become methods.
    pub fn set_external_loader(&mut self, loader: Box<ExternalLoader>) {
        self.external_loader = Some(loader);
    }

    /// The external method of a manifest file, loaded once per process.
    pub fn load_external(&self, manifest: &Path) -> Result<Arc<dyn Method>, SpecError> {
        let loader = self.external_loader.as_ref().ok_or_else(|| {
            SpecError::new(
                manifest,
                "this build of subbench cannot run external methods",
            )
        })?;
        let key = std::fs::canonicalize(manifest).unwrap_or_else(|_| manifest.to_path_buf());
        if let Some(method) = self.external.lock().expect("not poisoned").get(&key) {
            return Ok(method.clone());
        }
        let method = loader(manifest, self)?;
        self.external
            .lock()
            .expect("not poisoned")
            .insert(key, method.clone());
        Ok(method)
    }

    /// The method, or a message listing what exists (with a suggestion).
    pub fn get(&self, id: &str) -> Result<&dyn Method, String> {
        self.find(id).ok_or_else(|| {
            let ids: Vec<&str> = self.methods.iter().map(|e| e.method.id()).collect();
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
        self.methods.iter().map(|e| e.method.as_ref())
    }
}
