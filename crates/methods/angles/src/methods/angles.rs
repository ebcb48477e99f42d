//! `subspace.angles`: principal angles of a pair with prescribed angles, and their errors.

use std::f64::consts::FRAC_PI_2;
use std::time::Instant;

use harness::{MethodError, MetricSpec, Outcome, TrialContext, TrialRng, TypedMethod};

use crate::pairs::prescribed_pair;

/// `subspace.angles`.
pub struct Angles;

harness::params! {
    /// The declarations, shared word for word with `methods/external/scipy_angles/manifest.yaml`.
    pub struct AnglesParams {
        /// ambient dimension
        n: usize [2, 100_000] = 100;
        /// dimension of the second subspace = number of principal angles
        k: usize [1, 5000] = 2;
        /// extra dimensions of the first subspace (unequal dimensions when > 0)
        extra: usize [0, 5000] = 0;
        /// prescribed angles, used cyclically for the k angles
        angles: Vec<f64> [0.0, FRAC_PI_2] = vec![1.5, 1.0e-10];
        /// when > 0, an angle put before `angles` (to sweep the small angle of a mixed pair)
        small: f64 [0.0, FRAC_PI_2] = 0.0;
        /// calls timed; `seconds` is the fastest
        repeats: usize [1, 1000] = 1;
    }
}

impl TypedMethod for Angles {
    type Params = AnglesParams;
    const ID: &'static str = "subspace.angles";
    const SUMMARY: &'static str = "principal angles by the subspace crate (Knyazev–Argentati sine/cosine split) on pairs with prescribed angles";
    const METRICS: &'static [MetricSpec] = &[
        MetricSpec {
            name: "max_abs_err",
            doc: "largest |computed − true| angle (both ascending)",
            reproducible: true,
        },
        MetricSpec {
            name: "small_abs_err",
            doc: "|computed − true| for the smallest angle",
            reproducible: true,
        },
        MetricSpec {
            name: "small_rel_err",
            doc: "|computed − true| / true for the smallest angle (0 when it is 0)",
            reproducible: true,
        },
        MetricSpec {
            name: "seconds",
            doc: "fastest wall time of one call (the only metric that is not reproducible)",
            reproducible: false,
        },
    ];

    fn check(&self, p: &AnglesParams) -> Result<(), String> {
        let (n, k, extra) = (p.n, p.k, p.extra);
        if 2 * k + extra > n {
            return Err(format!(
                "2k + extra = {} must not exceed n = {n}",
                2 * k + extra
            ));
        }
        harness::check_trial_memory("subspace.angles", 8.0 * 4.0 * (n * (2 * k + extra)) as f64)
    }
    /// The pair is built from the trial's seed as the Python worker builds it (crate doc), not
    /// from the generator.
    fn run(
        &self,
        p: &AnglesParams,
        _rng: &mut TrialRng,
        trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError> {
        let pair = prescribed_pair(
            p.n,
            p.k,
            p.extra,
            &angle_list(p.small, &p.angles),
            trial.seed,
        );
        let mut best = f64::INFINITY;
        let mut computed = Vec::new();
        for _ in 0..p.repeats {
            let started = Instant::now();
            let result = subspace::principal_angles(pair.a.view(), pair.b.view(), false)
                .map_err(|e| MethodError::Failed(e.to_string()))?;
            best = best.min(started.elapsed().as_secs_f64());
            computed = result.angles.to_vec();
        }
        Ok(errors(&computed, &pair.angles).metric("seconds", best))
    }
}

/// The prescribed angles: `small` (when > 0) and then `angles`.
pub fn angle_list(small: f64, angles: &[f64]) -> Vec<f64> {
    let mut list = Vec::with_capacity(angles.len() + 1);
    if small > 0.0 {
        list.push(small);
    }
    list.extend_from_slice(angles);
    list
}

/// The error metrics of computed angles against the true ones (both ascending).
pub fn errors(computed: &[f64], truth: &[f64]) -> Outcome {
    let max_abs = computed
        .iter()
        .zip(truth)
        .map(|(c, t)| (c - t).abs())
        .fold(0.0, f64::max);
    let small = (computed[0] - truth[0]).abs();
    let relative = if truth[0] > 0.0 {
        small / truth[0]
    } else {
        0.0
    };
    Outcome::new()
        .metric("max_abs_err", max_abs)
        .metric("small_abs_err", small)
        .metric("small_rel_err", relative)
}
