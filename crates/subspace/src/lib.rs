//! The mathematics of subbench: orthonormal bases, principal angles, Grassmann distances, random
//! subspaces and projections, and PCA.
//!
//! This crate is pure numerics. It must not read files, print, read the clock or know anything
//! about specs, trials or reports: the harness and the paper crates build on it, never the other
//! way round. Every random draw takes the caller's generator, so results are reproducible.
//!
//! Conventions: a subspace is given by a basis, an `n × k` matrix whose columns span it. Principal
//! angles are returned ascending, `0 ≤ θ₁ ≤ … ≤ θ_m ≤ π/2` with `m = min(k₁, k₂)`.

mod angles;
mod basis;
mod blas;
mod distance;
mod error;
mod kernels;
mod pca;
mod power;
mod projection;
mod random;

pub use angles::{
    principal_angles, principal_angles_orthonormal, principal_angles_reporting,
    principal_angles_with, AnglesMethod, PrincipalAngles, GRAM_CONDITION_LIMIT,
};
pub use basis::{check_finite, numerical_rank_tolerance, orthonormal_basis, RankPolicy};
pub use blas::{
    better_blas_core, blas_core_name, force_single_threaded_blas, reexec_with_better_blas_kernels,
};
pub use distance::{distance, Distance};
pub use error::SubspaceError;
pub use kernels::gemm;
pub use pca::{
    top_left_singular_basis, top_left_singular_basis_reporting, top_left_singular_subspace, Pca,
    GRAM_PCA_SPREAD_LIMIT,
};
pub use power::largest_eigenvalue_psd;
pub use projection::Projection;
pub use random::{
    gaussian_matrix, haar_orthonormal, matrix_with_condition, subspace_pair_with_angles,
    SubspacePair,
};

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, SubspaceError>;
