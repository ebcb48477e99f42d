//! One method per file.

pub mod angles;
pub mod cluster;
pub mod detect;
pub mod digits;
pub mod visualize;

use harness::MethodError;

/// A failure of the `subspace` crate as a failed trial.
pub(crate) fn failed(e: subspace::SubspaceError) -> MethodError {
    MethodError::Failed(e.to_string())
}
