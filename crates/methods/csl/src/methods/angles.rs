//! `csl.angles`: a pair of subspaces with prescribed principal angles, projected by Φ.

use harness::{MethodError, MetricSpec, Outcome, TrialContext, TrialRng, TypedMethod};
use subspace::{principal_angles, subspace_pair_with_angles, Distance};

use super::failed;
use crate::projection::Family;

/// `csl.angles`.
pub struct Angles;

harness::params! {
    /// The parameters of `csl.angles`.
    pub struct AnglesParams {
        /// ambient dimension N
        ambient: usize [2, 100_000] = 1024;
        /// [d] or [d1, d2]: subspace dimensions
        dims: Vec<usize> [1, 10_000] = vec![5];
        /// the min(d1, d2) principal angles in degrees
        angles_deg: Vec<f64> [0.0, 90.0] = vec![10.0, 28.75, 47.5, 66.25, 85.0];
        /// compressed dimension n
        compressed: usize [1, 100_000] = 80;
        /// JL family: gaussian, rademacher, achlioptas, sparse (very sparse, s = √N), srht
        projection: Family = Family::Gaussian;
    }
}

/// (d1, d2): `[d]` is `[d, d]`.
fn dims(p: &AnglesParams) -> (usize, usize) {
    (p.dims[0], *p.dims.get(1).unwrap_or(&p.dims[0]))
}

impl TypedMethod for Angles {
    type Params = AnglesParams;
    const ID: &'static str = "csl.angles";
    const SUMMARY: &'static str =
        "principal angles of two subspaces before and after a random projection";
    const METRICS: &'static [MetricSpec] = &[
        MetricSpec {
            name: "max_cos2_err",
            doc: "max_i |cos²θ'_i − cos²θ_i|", reproducible: true
        },
        MetricSpec {
            name: "mean_cos2_err",
            doc: "mean_i |cos²θ'_i − cos²θ_i|", reproducible: true
        },
        MetricSpec {
            name: "affinity",
            doc: "‖U₁ᵀU₂‖_F = √Σcos²θ before compression", reproducible: true
        },
        MetricSpec {
            name: "affinity_compressed",
            doc: "the same after compression", reproducible: true
        },
        MetricSpec {
            name: "affinity_sq_bias",
            doc: "aff'² − aff²", reproducible: true
        },
        MetricSpec {
            name: "bias_theory",
            doc: "((Σaᵢ)² + Σaᵢ² − Σaᵢ)/n with aᵢ = sin²θᵢ [derived]; d1·d2/n for orthogonal subspaces", reproducible: true
        },
        MetricSpec {
            name: "bias_ratio",
            doc: "affinity_sq_bias / bias_theory", reproducible: true
        },
        MetricSpec {
            name: "distance",
            doc: "projection F-distance ‖sin θ‖₂ before", reproducible: true
        },
        MetricSpec {
            name: "distance_compressed",
            doc: "the same after", reproducible: true
        },
    ];

    fn check(&self, p: &AnglesParams) -> Result<(), String> {
        if p.dims.len() > 2 {
            return Err("dims is [d] or [d1, d2]".into());
        }
        let (d1, d2) = dims(p);
        if p.angles_deg.len() != d1.min(d2) {
            return Err(format!(
                "angles_deg needs min(d1, d2) = {} angles",
                d1.min(d2)
            ));
        }
        if d1 + d2 > p.ambient {
            return Err(format!(
                "d1 + d2 = {} exceeds the ambient dimension {}",
                d1 + d2,
                p.ambient
            ));
        }
        if p.compressed < d1.max(d2) {
            return Err("the compressed dimension must be at least max(d1, d2)".into());
        }
        // The projection and the projected bases: an upper bound of measured one-trial peaks
        // (RSS minus the binary's idle 82 MiB): ambient 20000, compressed 5000: 709 of 768 MiB;
        // ambient 100000, dims [100], compressed 200: 554 of 610 MiB.
        let (big_n, n) = (p.ambient as f64, p.compressed as f64);
        harness::check_trial_memory(
            "csl.angles",
            8.0 * (n * big_n + 3.0 * big_n * (d1 + d2) as f64),
        )?;
        Ok(())
    }

    fn run(
        &self,
        p: &AnglesParams,
        rng: &mut TrialRng,
        _trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError> {
        let (d1, d2) = dims(p);
        let (big_n, n) = (p.ambient, p.compressed);
        let mut truth: Vec<f64> = p.angles_deg.iter().map(|d| d.to_radians()).collect();
        let pair = subspace_pair_with_angles(big_n, d1, d2, &truth, rng).map_err(failed)?;
        let phi = p
            .projection
            .projection()
            .matrix(n, big_n, rng)
            .map_err(failed)?;
        let compressed = principal_angles(phi.dot(&pair.a).view(), phi.dot(&pair.b).view(), false)
            .map_err(failed)?
            .angles;
        truth.sort_by(f64::total_cmp);
        let errors: Vec<f64> = truth
            .iter()
            .zip(compressed.iter())
            .map(|(t, c)| (c.cos().powi(2) - t.cos().powi(2)).abs())
            .collect();
        let aff = |angles: &[f64]| angles.iter().map(|t| t.cos().powi(2)).sum::<f64>().sqrt();
        let compressed = compressed.to_vec();
        let a: Vec<f64> = truth.iter().map(|t| t.sin().powi(2)).collect();
        let (sum_a, sum_a2) = (a.iter().sum::<f64>(), a.iter().map(|x| x * x).sum::<f64>());
        let bias_theory = (sum_a * sum_a + sum_a2 - sum_a) / n as f64;
        Ok(Outcome::new()
            .metric("max_cos2_err", errors.iter().copied().fold(0.0, f64::max))
            .metric(
                "mean_cos2_err",
                errors.iter().sum::<f64>() / errors.len() as f64,
            )
            .metric("affinity", aff(&truth))
            .metric("affinity_compressed", aff(&compressed))
            .metric(
                "affinity_sq_bias",
                aff(&compressed).powi(2) - aff(&truth).powi(2),
            )
            .metric("bias_theory", bias_theory)
            .metric(
                "bias_ratio",
                (aff(&compressed).powi(2) - aff(&truth).powi(2)) / bias_theory,
            )
            .metric("distance", Distance::Chordal.from_angles(&truth))
            .metric(
                "distance_compressed",
                Distance::Chordal.from_angles(&compressed),
            ))
    }
}
