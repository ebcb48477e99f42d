//! Compressed subspace learning (Jiao, Li & Gu): a random projection with the Johnson–
//! Lindenstrauss property approximately preserves the principal angles between subspaces, so
//! subspace methods (clustering, detection) can run on ΦY instead of Y.
//!
//! Methods: `csl.angles` (angle and affinity preservation), `csl.cluster` (SSC, SSC-OMP, TSC on
//! compressed data), `csl.detect` (which known subspace a compressed sample lies in),
//! `csl.visualize` (MDS of pairwise subspace distances) and `csl.digits` (real data). Every
//! method compresses with a JL family a spec names (`projection`, see [`projection::Family`]).

mod clustering;
mod mds;
pub mod methods;
pub mod projection;

use harness::Registry;

pub use clustering::{
    hungarian, kmeans, lasso_gram, matched_accuracy, spectral_clustering, ssc_affinity,
    ssc_omp_affinity, tsc_affinity,
};
pub use mds::{classical_mds, procrustes_disparity};
pub use methods::{
    angles::Angles, cluster::Cluster, detect::Detect, digits::Digits, visualize::Visualize,
};

/// Register the methods of this paper.
pub fn register(registry: &mut Registry) {
    registry.register(Box::new(Angles));
    registry.register(Box::new(Cluster));
    registry.register(Box::new(Detect));
    registry.register(Box::new(Visualize));
    registry.register(Box::new(Digits));
}
