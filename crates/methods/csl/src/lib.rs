//! Compressed subspace learning (Jiao, Li & Gu): a random projection with the Johnson–
//! Lindenstrauss property approximately preserves the principal angles between subspaces, so
//! subspace methods (clustering, detection) can run on ΦY instead of Y.
//!
//! Methods: `csl.angles` (angle and affinity preservation), `csl.cluster` (SSC, SSC-OMP, TSC on
//! compressed data), `csl.detect` (which known subspace a compressed sample lies in),
//! `csl.visualize` (MDS of pairwise subspace distances) and `csl.digits` (real data).

mod clustering;
mod methods;
mod visualize;

pub use clustering::{
    hungarian, kmeans, lasso_gram, matched_accuracy, spectral_clustering, ssc_affinity,
    ssc_omp_affinity, tsc_affinity,
};
pub use methods::{register, Angles, Cluster, Detect};
pub use visualize::{classical_mds, procrustes_disparity, Digits, Visualize};
