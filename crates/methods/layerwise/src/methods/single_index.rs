//! `layerwise.single_index`: the first large step of single-index learning — which direction
//! is learned, against closed forms, and what it is worth once the second layer is fitted.

use harness::{MethodError, MetricSpec, Outcome, TrialContext, TrialRng, TypedMethod};

use crate::single_index::{
    alignment, learned_direction, predicted_alignment, sample, sgd_ceiling, test_error, Design,
    Link, Network, Step,
};

/// The first large step of single-index learning: which direction is learned, and what it is
/// worth once the second layer is fitted.
pub struct SingleIndex;

harness::params! {
    /// Parameters of `layerwise.single_index`.
    pub struct SingleIndexParams {
        /// input dimension
        d: usize [2, 5000] = 200;
        /// samples per dimension n/d (for the step, and again for the ridge fit)
        ratio: f64 [0.1, 1000.0] = 2.0;
        /// condition number of Σ: eigenvalues log-spaced in [1/√κ, √κ]
        kappa: f64 [1.0, 1e8] = 100.0;
        /// target link σ*: tanh, relu, he2 (z² − 1, information exponent 2)
        link: Link = Link::Tanh;
        /// label noise σ
        noise: f64 [0.0, 100.0] = 0.1;
        /// sgd (Xᵀy/n), kfac (Σ̂⁻¹Xᵀy/n), kfac_population (Σ⁻¹Xᵀy/n), adam (sign step),
        /// batchnorm (D̂⁻²Xᵀy/n)
        optimizer: Step = Step::Sgd;
        /// hidden units of the network whose test error is measured (0: skip the test error)
        width: usize [0, 100_000] = 400;
        /// size of the first step's rank-one spike, in units of the learned feature's standard
        /// deviation
        spike: f64 [0.0, 1e6] = 2.0;
        /// ridge penalty of the second-layer fit
        ridge: f64 [0.0, 1e6] = 1e-3;
    }
}

impl TypedMethod for SingleIndex {
    type Params = SingleIndexParams;
    const ID: &'static str = "layerwise.single_index";
    const SUMMARY: &'static str = "one large first-layer step: alignment cos²(v, β*) against closed forms, and test error after ridge";
    const METRICS: &'static [MetricSpec] = &[
            MetricSpec { name: "alignment", doc: "simulated cos²(v, β*)", reproducible: true },
            MetricSpec { name: "theory", doc: "the closed-form prediction for sgd and kfac [derived]", reproducible: true },
            MetricSpec { name: "gap", doc: "alignment − theory", reproducible: true },
            MetricSpec { name: "ceiling_margin", doc: "SGD's limiting alignment (n → ∞) minus the simulated one", reproducible: true },
            MetricSpec { name: "test_error", doc: "test MSE / Var(y) of the network after the step and a ridge fit of its second layer", reproducible: true },
        ];

    fn check(&self, p: &SingleIndexParams) -> Result<(), String> {
        if p.optimizer == Step::Kfac && p.ratio * (p.d as f64) <= p.d as f64 + 1.0 {
            return Err("kfac with the sample covariance needs n > d + 1 (ratio > 1)".into());
        }
        // Samples for the step, the ridge fit and the test set, their features, and Σ. An upper
        // bound of the measured one-trial peak (/usr/bin/time -v, RSS minus the idle binary):
        // d 1500, ratio 20, width 1500: 1414 MiB measured, 1626 estimated.
        let d = p.d as f64;
        let n = p.ratio * d;
        let width = p.width as f64;
        harness::check_trial_memory(
            "layerwise.single_index",
            8.0 * (3.0 * n * d + 4000.0 * d + (n + 4000.0) * width + width * width + 4.0 * d * d),
        )
    }

    fn run(
        &self,
        p: &SingleIndexParams,
        rng: &mut TrialRng,
        _trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError> {
        let d = p.d;
        let n = (p.ratio * d as f64).round() as usize;
        let root = p.kappa.sqrt();
        let design = Design::new(d, 1.0 / root, root, rng)
            .map_err(|e| MethodError::Failed(e.to_string()))?;
        let (step, link, noise) = (p.optimizer, p.link, p.noise);
        let (x, y) = sample(&design, n, noise, link, rng);
        let v = learned_direction(&design, &x, &y, step);
        let aligned = alignment(&design, &v);
        let net = Network {
            width: p.width,
            spike: p.spike,
            ridge: p.ridge,
        };
        let mut outcome = Outcome::new().metric("alignment", aligned);
        if net.width > 0 {
            let error = test_error(&design, &v, n, noise, link, &net, rng);
            outcome = outcome.metric("test_error", error);
        }
        let (sgd, kfac) = predicted_alignment(&design, n, noise, link);
        let theory = match step {
            Step::Sgd => Some(sgd),
            Step::Kfac => Some(kfac),
            Step::KfacPopulation | Step::AdamSign | Step::BatchNorm => None,
        };
        if let Some(t) = theory {
            outcome = outcome.metric("theory", t).metric("gap", aligned - t);
        }
        if step == Step::Sgd {
            outcome = outcome.metric("ceiling_margin", sgd_ceiling(&design) - aligned);
        }
        Ok(outcome)
    }
}
