//! Methods in any language. A YAML manifest declares a method (id, parameters, metrics, the
//! command that serves it and the files that define its code); subbench starts the command once
//! per worker thread and sends it one JSON line per trial, reading one JSON line back.
//!
//! An external method is a `harness::Method` like any other: parameters are validated by the
//! same declarations, trials are cached, sharded and reported the same way. What a process gives
//! that a thread cannot: the spec's `timeout` kills the worker at the deadline; a worker that
//! crashes, prints garbage or closes its output fails only its trial and is replaced; its code
//! identity (the blake3 of the manifest and its files) makes its trials rerun when it changes.
//!
//! The protocol (every reply echoes its request's `trial_id`) and environments are documented
//! in docs/external.md.

mod env;
mod manifest;
mod method;
mod worker;

pub use env::{cache_root, Environment, Requirements};
pub use manifest::{parse_manifest, Manifest};
pub use method::ExternalMethod;
pub use worker::kill_all_workers;

use std::path::Path;
use std::sync::Arc;

use harness::{Registry, SpecError};

/// Load the manifest at `path` as a method (ids of `registry`'s methods are refused).
pub fn load(path: &Path, registry: &Registry) -> Result<Arc<ExternalMethod>, SpecError> {
    let manifest = manifest::load_manifest(path, registry)?;
    // Once per manifest and process: the registry loads each manifest once.
    for warning in &manifest.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(Arc::new(ExternalMethod::new(manifest)))
}
