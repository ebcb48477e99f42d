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
use crate::param::{ParamSpec, ParamStruct, Params};

/// The generator every trial gets, seeded from the trial's id alone.
pub type TrialRng = ChaCha8Rng;

/// A metric a method produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricSpec {
    pub name: &'static str,
    /// One line for `subbench list`.
    pub doc: &'static str,
    /// Whether a rerun gives the same value bit for bit. `false` for what depends on the
    /// machine's moment (a wall time): `subbench verify` skips it, with a count, instead of
    /// failing every trial.
    pub reproducible: bool,
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

/// A method that a spec can name, as the harness sees it: declarations to validate a spec
/// against, and a function of checked parameters. Built-in methods implement [`TypedMethod`]
/// instead (this trait then comes for free); external methods implement it directly.
pub trait Method: Send + Sync {
    /// `paper.method`, e.g. `attack.rank_one`.
    fn id(&self) -> &str;
    /// One line for `subbench list`.
    fn summary(&self) -> &str;
    fn params(&self) -> &[ParamSpec];
    fn metrics(&self) -> &[MetricSpec];
    /// Per-iteration curves the method records (names, for `kind: curve` figures).
    fn curves(&self) -> &[MetricSpec];
    /// Constraints between parameters (e.g. `k ≤ n`), checked before any trial runs.
    fn check(&self, params: &Params) -> Result<(), String>;
    /// One trial. `trial` says which (its id and seed) and when its deadline is.
    fn run_trial(
        &self,
        trial: &TrialContext<'_>,
        params: &Params,
        rng: &mut TrialRng,
    ) -> Result<Outcome, MethodError>;

    /// The identity of the code that computes this method's results, when the method knows it
    /// itself (an external method: the blake3 of its manifest and files). `None` for built-in
    /// methods: the registry then uses the identity of the crate that registered them (see
    /// [`Registry::with_code`]). Stored with every trial; a stored trial whose identity differs
    /// from the current one is stale and is recomputed.
    fn code(&self) -> Option<String> {
        None
    }

    /// What the method's trials run in beyond its code (an external method's Python
    /// environment: its requirements' hash, interpreter version, installed versions), recorded
    /// in the run's provenance. With `make`, it is made now when missing (`subbench env`);
    /// without, only one this process already uses is given. `Ok(None)`: nothing to record.
    fn environment(&self, make: bool) -> Result<Option<serde_json::Value>, String> {
        let _ = make;
        Ok(None)
    }
}

/// A built-in method: a pure function of its typed parameters and the trial's generator.
///
/// Everything about the method is declared once: its parameters by the struct
/// [`params!`](crate::params) generates, its metrics and curves here. The harness checks that a
/// trial emits only declared metrics and curves (an undeclared one fails the trial as a bug of
/// the method), so a misspelt name cannot reach a report.
pub trait TypedMethod: Send + Sync + 'static {
    type Params: ParamStruct;
    /// `paper.method`, e.g. `attack.rank_one`.
    const ID: &'static str;
    /// One line for `subbench list`.
    const SUMMARY: &'static str;
    const METRICS: &'static [MetricSpec];
    /// Per-iteration curves the method records (names, for `kind: curve` figures).
    const CURVES: &'static [MetricSpec] = &[];

    /// Constraints between parameters (e.g. `k ≤ n`) and the memory guard, checked before any
    /// trial runs; the message says what is accepted.
    fn check(&self, _params: &Self::Params) -> Result<(), String> {
        Ok(())
    }
    /// One trial: a pure function of the parameters and the generator (seeded from the trial's
    /// id). `trial` tells the few methods that need them the trial's id, seed and deadline (a
    /// method whose data another language must rebuild bit for bit derives them from the seed).
    fn run(
        &self,
        params: &Self::Params,
        rng: &mut TrialRng,
        trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError>;
    /// See [`Method::code`].
    fn code(&self) -> Option<String> {
        None
    }
}

impl<M: TypedMethod> Method for M {
    fn id(&self) -> &str {
        M::ID
    }
    fn summary(&self) -> &str {
        M::SUMMARY
    }
    fn params(&self) -> &[ParamSpec] {
        M::Params::specs()
    }
    fn metrics(&self) -> &[MetricSpec] {
        M::METRICS
    }
    fn curves(&self) -> &[MetricSpec] {
        M::CURVES
    }
    fn check(&self, params: &Params) -> Result<(), String> {
        TypedMethod::check(self, &M::Params::from_params(params))
    }
    fn run_trial(
        &self,
        trial: &TrialContext<'_>,
        params: &Params,
        rng: &mut TrialRng,
    ) -> Result<Outcome, MethodError> {
        let outcome = self.run(&M::Params::from_params(params), rng, trial)?;
        undeclared_output(M::ID, &outcome, M::METRICS, M::CURVES)
            .map_or(Ok(outcome), |bug| Err(MethodError::Failed(bug)))
    }
    fn code(&self) -> Option<String> {
        TypedMethod::code(self)
    }
}

/// The message for a metric or curve a trial emitted that its method does not declare.
pub fn undeclared_output(
    method: &str,
    outcome: &Outcome,
    metrics: &[MetricSpec],
    curves: &[MetricSpec],
) -> Option<String> {
    let declared = |specs: &[MetricSpec], name: &str| specs.iter().any(|m| m.name == name);
    let metric = outcome.metrics.keys().find(|n| !declared(metrics, n));
    let curve = outcome.curves.keys().find(|n| !declared(curves, n));
    match (metric, curve) {
        (Some(name), _) => Some(format!(
            "bug in method {method}: it emitted metric `{name}`, which it does not declare"
        )),
        (None, Some(name)) => Some(format!(
            "bug in method {method}: it emitted curve `{name}`, which it does not declare"
        )),
        (None, None) => None,
    }
}

/// Why a point's parameters cannot run.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckFailure {
    /// The parameters break one of the method's constraints: the user's to fix.
    Invalid(String),
    /// The method's check panicked: a bug of the method, not of the spec.
    Bug(String),
}

/// [`Method::check`], with a panic caught and reported as a bug of the method (one line), so
/// that no spec can crash `validate` with a Rust panic.
pub fn check_point(method: &dyn Method, params: &Params) -> Result<(), CheckFailure> {
    match quietly(|| method.check(params)) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(message)) => Err(CheckFailure::Invalid(message)),
        Err(panic) => Err(CheckFailure::Bug(format!(
            "bug in method {}: its parameter check panicked ({}) at {params}",
            method.id(),
            panic_text(panic.as_ref())
        ))),
    }
}

thread_local! {
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f`, catching a panic without printing it (the caller reports it in its own words).
/// Other threads' panics still reach the previous hook.
pub fn quietly<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    result
}

/// The message of a caught panic.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text panic payload".into())
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
        self.methods
            .sort_by(|a, b| a.method.id().cmp(b.method.id()));
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
