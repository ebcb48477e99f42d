//! `csl.digits`: compressed subspace clustering of real handwritten digits (UCI optical digits,
//! CC BY 4.0, compiled into the binary so that the method stays a pure function).

use ndarray::Axis;
use rand::seq::SliceRandom;

use datasets::digits;
use harness::{MethodError, MetricSpec, Outcome, TrialContext, TrialRng, TypedMethod};

use super::failed;
use crate::clustering::{matched_accuracy, spectral_clustering, ssc_affinity, tsc_affinity};
use crate::projection::Family;

/// `csl.digits`.
pub struct Digits;

harness::choice! {
    /// How the affinity between images is built.
    pub enum Algorithm {
        /// Sparse subspace clustering (Lasso, α = 20).
        Ssc = "ssc",
        /// Thresholding-based subspace clustering (q = max(3, points/5)).
        Tsc = "tsc",
    }
}

harness::params! {
    /// The parameters of `csl.digits`.
    pub struct DigitsParams {
        /// cluster the digits 0..classes−1
        classes: usize [2, 10] = 3;
        /// images per digit (random subset per trial)
        points: usize [5, 150] = 50;
        /// compressed dimension n (64 = no compression)
        compressed: usize [1, 64] = 16;
        /// JL family: gaussian, rademacher, achlioptas, sparse (very sparse, s = √N), srht
        projection: Family = Family::Gaussian;
        /// affinity
        algorithm: Algorithm = Algorithm::Ssc;
    }
}

impl TypedMethod for Digits {
    type Params = DigitsParams;
    const ID: &'static str = "csl.digits";
    const SUMMARY: &'static str =
        "subspace clustering of randomly compressed handwritten digits (UCI, CC BY 4.0)";
    const METRICS: &'static [MetricSpec] = &[MetricSpec {
        name: "accuracy",
        doc: "clustering accuracy after Hungarian matching",
        reproducible: true,
    }];

    fn run(
        &self,
        p: &DigitsParams,
        rng: &mut TrialRng,
        _trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError> {
        let (images, labels) = digits();
        let (classes, per) = (p.classes, p.points);
        let mut rows = Vec::new();
        let mut truth = Vec::new();
        for class in 0..classes {
            let mut members: Vec<usize> =
                (0..labels.len()).filter(|&i| labels[i] == class).collect();
            members.shuffle(rng);
            rows.extend_from_slice(&members[..per.min(members.len())]);
            truth.extend(std::iter::repeat_n(class, per.min(members.len())));
        }
        let y = images.select(Axis(0), &rows).reversed_axes(); // 64 × points
        let n = p.compressed;
        let data = if n >= y.nrows() {
            y
        } else {
            p.projection
                .projection()
                .matrix(n, y.nrows(), rng)
                .map_err(failed)?
                .dot(&y)
        };
        let affinity = match p.algorithm {
            Algorithm::Ssc => ssc_affinity(data.view(), 20.0),
            Algorithm::Tsc => tsc_affinity(data.view(), (per / 5).max(3)),
        };
        let predicted = spectral_clustering(&affinity, classes, 10, rng);
        Ok(Outcome::new().metric("accuracy", matched_accuracy(&truth, &predicted, classes)))
    }
}
