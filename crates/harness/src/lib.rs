//! The spine of subbench: a YAML spec is parsed and validated against the registered methods,
//! expanded into trials, run in parallel and stored so that nothing finished is ever lost.
//!
//! What this crate must not do: know any paper's mathematics (that is `crates/methods/*`), print
//! to the terminal (progress goes through [`runner::Progress`], errors are returned), or decide
//! exit codes (that is the binary's job).

pub mod error;
pub mod expr;
pub mod filter;
pub mod input;
pub mod locate;
pub mod method;
pub mod papers;
pub mod param;
pub mod why;
/// `provenance.json`, the store's history (a module of the store; here under its own name).
pub use store::provenance;
pub mod runner;
pub mod spec;
pub mod store;
pub mod sweep;
/// Test-only methods; compiled always (so that toggling them never recompiles this crate and its
/// dependents) but registered only by test builds of the binary.
pub mod testkit;
pub mod trial;
pub mod value;
pub mod verify;

pub use error::{HarnessError, SpecError};
pub use method::{
    check_point, check_trial_memory, CheckFailure, ExternalLoader, Method, MethodError, MetricSpec,
    Outcome, Registry, TrialContext, TrialRng, TypedMethod,
};
pub use param::{
    InputFile, ParamDefault, ParamError, ParamKind, ParamSpec, ParamStruct, ParamType, Params,
    Unset,
};
pub use runner::{
    request_stop, run_spec, stop_requested, Progress, RunOptions, RunSummary, RunningTrial, Shard,
};
/// The spec's `external:` manifests, under its former name.
pub use spec::external as spec_external;
pub use spec::{load_specs, Spec};
pub use store::{Status, Store, TrialRecord};
pub use trial::Trial;
pub use value::Value;
