//! `csl.visualize`: families of subspaces embedded in 2-D by classical MDS of their pairwise
//! distances, before and after compression.

use ndarray::Array2;
use rand::Rng;
use rand_distr::StandardNormal;

use harness::{MethodError, MetricSpec, Outcome, TrialContext, TrialRng, TypedMethod};
use subspace::{haar_orthonormal, orthonormal_basis, RankPolicy};

use super::failed;
use crate::mds::{align, classical_mds, pairwise_chordal, procrustes_disparity};
use crate::projection::Family;

/// `csl.visualize`.
pub struct Visualize;

harness::params! {
    /// The parameters of `csl.visualize`.
    pub struct VisualizeParams {
        /// ambient dimension N
        ambient: usize [2, 100_000] = 500;
        /// subspace dimension d
        dim: usize [1, 100] = 5;
        /// families of subspaces
        families: usize [1, 20] = 3;
        /// subspaces per family
        per_family: usize [1, 200] = 20;
        /// size of the perturbation of a family's centre
        spread: f64 [0.0, 10.0] = 0.5;
        /// compressed dimension n
        compressed: usize [1, 100_000] = 50;
        /// JL family: gaussian, rademacher, achlioptas, sparse (very sparse, s = √N), srht
        projection: Family = Family::Gaussian;
    }
}

/// An upper bound of a trial's memory: the projection (n × N), the M = families · per_family
/// bases before and after it (N × d and n × d each), a family's centre, noise and their sum
/// (N × d), and eight M × M matrices (the distances before and after, their difference, and
/// MDS's squared distances, centred Gram matrix, eigenvectors and eigensolver workspace).
/// Measured peaks of one-trial runs (resident set minus the binary's idle 82 MiB), each below
/// its estimate: ambient 20000 / 40000, compressed 5000 (Φ-bound): 711 / 1479 MiB of 767 / 1534;
/// ambient 50000 / 100000, dim 20 / 40, 20 subspaces (bases-bound): 184 / 706 MiB of 195 / 740.
fn memory_bytes(p: &VisualizeParams) -> f64 {
    let (big_n, n, d) = (p.ambient as f64, p.compressed as f64, p.dim as f64);
    let subspaces = (p.families * p.per_family) as f64;
    8.0 * (n * big_n + subspaces * d * (big_n + n) + 3.0 * big_n * d + 8.0 * subspaces * subspaces)
}

impl TypedMethod for Visualize {
    type Params = VisualizeParams;
    const ID: &'static str = "csl.visualize";
    const SUMMARY: &'static str =
        "2-D classical MDS of pairwise subspace distances before and after compression";
    const METRICS: &'static [MetricSpec] = &[
        MetricSpec {
            name: "distance_error",
            doc: "‖D' − D‖_F/‖D‖_F of the pairwise projection F-distances",
            reproducible: true,
        },
        MetricSpec {
            name: "disparity",
            doc: "Procrustes disparity between the MDS embeddings before and after",
            reproducible: true,
        },
    ];
    const CURVES: &'static [MetricSpec] = &[
        MetricSpec { name: "mds_before_x", doc: "MDS coordinate 1 of each subspace before compression (indexed by subspace)", reproducible: true },
        MetricSpec { name: "mds_before_y", doc: "MDS coordinate 2 before compression", reproducible: true },
        MetricSpec { name: "mds_after_x", doc: "MDS coordinate 1 after compression, rotated onto the one before (orthogonal Procrustes)", reproducible: true },
        MetricSpec { name: "mds_after_y", doc: "MDS coordinate 2 after compression, aligned likewise", reproducible: true },
        MetricSpec { name: "family", doc: "family index of each subspace", reproducible: true },
    ];

    fn check(&self, p: &VisualizeParams) -> Result<(), String> {
        if p.compressed < p.dim || p.ambient <= p.dim {
            return Err("need dim < ambient and dim ≤ compressed".into());
        }
        harness::check_trial_memory("csl.visualize", memory_bytes(p))
    }

    fn run(
        &self,
        p: &VisualizeParams,
        rng: &mut TrialRng,
        _trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError> {
        let (big_n, d, n) = (p.ambient, p.dim, p.compressed);
        let mut bases = Vec::new();
        for _ in 0..p.families {
            let centre = haar_orthonormal(big_n, d, rng).map_err(failed)?;
            for _ in 0..p.per_family {
                let noise = Array2::from_shape_simple_fn((big_n, d), || {
                    rng.sample::<f64, _>(StandardNormal) / (big_n as f64).sqrt()
                });
                bases.push(
                    orthonormal_basis((&centre + &(noise * p.spread)).view(), RankPolicy::Strict)
                        .map_err(failed)?,
                );
            }
        }
        let phi = p
            .projection
            .projection()
            .matrix(n, big_n, rng)
            .map_err(failed)?;
        let compressed: Vec<Array2<f64>> = bases
            .iter()
            .map(|u| orthonormal_basis(phi.dot(u).view(), RankPolicy::Strict).map_err(failed))
            .collect::<Result<_, _>>()?;
        let before = pairwise_chordal(&bases).map_err(failed)?;
        let after = pairwise_chordal(&compressed).map_err(failed)?;
        let frob = |x: &Array2<f64>| x.iter().map(|v| v * v).sum::<f64>().sqrt();
        let (embed_before, embed_after) = (classical_mds(&before, 2), classical_mds(&after, 2));
        let disparity = procrustes_disparity(&embed_before, &embed_after);
        let aligned = align(&embed_after, &embed_before);
        let column = |x: &Array2<f64>, j: usize| {
            x.column(j)
                .iter()
                .enumerate()
                .map(|(i, v)| (i as u32, *v))
                .collect::<Vec<_>>()
        };
        let per = p.per_family;
        let family = (0..bases.len())
            .map(|i| (i as u32, (i / per) as f64))
            .collect();
        Ok(Outcome::new()
            .metric("distance_error", frob(&(&after - &before)) / frob(&before))
            .metric("disparity", disparity)
            .curve("mds_before_x", column(&embed_before, 0))
            .curve("mds_before_y", column(&embed_before, 1))
            .curve("mds_after_x", column(&aligned, 0))
            .curve("mds_after_y", column(&aligned, 1))
            .curve("family", family))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::{ParamStruct, Params, Value};

    fn params(pairs: &[(&str, Value)]) -> VisualizeParams {
        let checked = Params::validate(
            VisualizeParams::specs(),
            pairs.iter().map(|(k, v)| (*k, v)),
            Visualize::ID,
            |_| Ok(String::new()),
        )
        .expect("valid parameters");
        VisualizeParams::from_params(&checked)
    }

    /// The largest sizes the parameters accept validate one by one but not together: the
    /// projection alone would be 80 GB. The defaults pass.
    #[test]
    fn the_memory_guard_rejects_a_projection_too_large_for_a_trial() {
        let huge = params(&[
            ("ambient", Value::Int(100_000)),
            ("compressed", Value::Int(100_000)),
        ]);
        let e = Visualize.check(&huge).unwrap_err();
        assert!(e.contains("csl.visualize needs about"), "{e}");
        assert!(Visualize.check(&params(&[])).is_ok());
    }
}
