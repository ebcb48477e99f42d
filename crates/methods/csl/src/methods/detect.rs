//! `csl.detect`: which of L known subspaces a compressed noisy sample lies in.

use ndarray::Array2;
use rand::Rng;
use rand_distr::StandardNormal;

use harness::{MethodError, MetricSpec, Outcome, TrialContext, TrialRng, TypedMethod};
use subspace::{haar_orthonormal, orthonormal_basis, RankPolicy};

use super::failed;
use crate::projection::Family;

/// `csl.detect`.
pub struct Detect;

harness::params! {
    /// The parameters of `csl.detect`.
    pub struct DetectParams {
        /// ambient dimension N
        ambient: usize [2, 100_000] = 1000;
        /// subspace dimension d
        dim: usize [1, 1000] = 5;
        /// number of known subspaces L
        subspaces: usize [2, 1000] = 10;
        /// noise norm relative to the unit-norm signal
        noise: f64 [0.0, 10.0] = 0.3;
        /// test samples per trial
        samples: usize [1, 100_000] = 200;
        /// compressed dimension n
        compressed: usize [1, 100_000] = 20;
        /// JL family: gaussian, rademacher, achlioptas, sparse (very sparse, s = √N), srht
        projection: Family = Family::Gaussian;
    }
}

impl TypedMethod for Detect {
    type Params = DetectParams;
    const ID: &'static str = "csl.detect";
    const SUMMARY: &'static str =
        "active subspace detection from compressed samples by smallest residual";
    const METRICS: &'static [MetricSpec] = &[MetricSpec {
        name: "accuracy",
        doc: "fraction of samples assigned to their subspace",
        reproducible: true,
    }];

    fn check(&self, p: &DetectParams) -> Result<(), String> {
        if p.compressed <= p.dim {
            return Err("the compressed dimension must exceed the subspace dimension".into());
        }
        // The projection, the samples before and after it, and the subspace bases: an upper
        // bound of measured one-trial peaks (RSS minus the binary's idle 82 MiB): ambient 20000,
        // compressed 5000: 717 of 776 MiB; 500 subspaces of dimension 20 in R^10000: 745 of 772.
        let (big_n, n) = (p.ambient as f64, p.compressed as f64);
        harness::check_trial_memory(
            "csl.detect",
            8.0 * (n * big_n
                + 2.0 * p.samples as f64 * (big_n + n)
                + p.subspaces as f64 * p.dim as f64 * (big_n + n)),
        )
    }

    fn run(
        &self,
        p: &DetectParams,
        rng: &mut TrialRng,
        _trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError> {
        let (big_n, d, l, n) = (p.ambient, p.dim, p.subspaces, p.compressed);
        let bases: Vec<Array2<f64>> = (0..l)
            .map(|_| haar_orthonormal(big_n, d, rng).map_err(failed))
            .collect::<Result<_, _>>()?;
        let phi = p
            .projection
            .projection()
            .matrix(n, big_n, rng)
            .map_err(failed)?;
        // Orthonormal bases of the compressed subspaces span(ΦU_l).
        let compressed: Vec<Array2<f64>> = bases
            .iter()
            .map(|u| orthonormal_basis(phi.dot(u).view(), RankPolicy::Strict).map_err(failed))
            .collect::<Result<_, _>>()?;
        let mut correct = 0;
        let samples = p.samples;
        for _ in 0..samples {
            let class = rng.gen_range(0..l);
            let w: ndarray::Array1<f64> = (0..d)
                .map(|_| rng.sample::<f64, _>(StandardNormal))
                .collect();
            let mut x = bases[class].dot(&w);
            x /= x.dot(&x).sqrt();
            let e: ndarray::Array1<f64> = (0..big_n)
                .map(|_| rng.sample::<f64, _>(StandardNormal))
                .collect();
            x += &(e * (p.noise / (big_n as f64).sqrt()));
            let y = phi.dot(&x);
            let residual = |q: &Array2<f64>| {
                let c = q.t().dot(&y);
                y.dot(&y) - c.dot(&c)
            };
            let guess = (0..l)
                .min_by(|&a, &b| residual(&compressed[a]).total_cmp(&residual(&compressed[b])))
                .expect("L ≥ 2");
            correct += usize::from(guess == class);
        }

        Ok(Outcome::new().metric("accuracy", correct as f64 / samples as f64))
    }
}
