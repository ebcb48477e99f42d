//! `subspace.angles`: the subspace crate's principal angles, on pairs of subspaces with
//! prescribed angles, so that specs can put it beside external implementations (scipy's
//! `subspace_angles` in `methods/external/scipy_angles/`) on the very same matrices.
//!
//! The pair is built from the trial's seed by a construction that uses only correctly rounded
//! IEEE operations and the C library's `sin`/`cos`, in a fixed order, so that the Python worker
//! (`methods/external/scipy_angles/pairs.py`) builds bit-identical matrices (tested in
//! `crates/cli/tests/external.rs`). That is why it does not use the trial's ChaCha generator:
//! another language cannot reproduce those draws cheaply.

pub mod methods;
pub mod pairs;

use harness::Registry;

pub use pairs::{prescribed_pair, Pair, SplitMix64};

/// Register the method.
pub fn register(registry: &mut Registry) {
    registry.register(Box::new(methods::angles::Angles));
}
