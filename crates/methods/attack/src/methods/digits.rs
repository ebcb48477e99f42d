//! `attack.digits` [proposal]: nearest-subspace classification of handwritten digits (UCI optical
//! digits, CC BY 4.0, `data/digits.csv.gz`) when each class's training matrix is attacked.
//!
//! Per class c, the training images (columns, 64 pixels) give a PCA subspace U_c of dimension k;
//! a test image is assigned to the class with the smallest residual ‖y − U_c U_cᵀ y‖. The
//! attacker perturbs every class matrix with energy ε_c = budget_rel · (σ_k − σ_{k+1}) of that
//! class: the optimal unconstrained attack of the paper, or a random rank-one or Gaussian Δ of the
//! same energy. The data set is compiled into the binary, so the method stays a pure function.

use ndarray::{s, Array2, ArrayView2, Axis};
use ndarray_linalg::{JobSvd, SVDDC};
use rand::seq::SliceRandom;

use datasets::digits;
use harness::{MethodError, MetricSpec, Outcome, TrialContext, TrialRng, TypedMethod, Value};
use subspace::{principal_angles_orthonormal, top_left_singular_subspace, Distance};

use crate::closed_form::{epsilon, unconstrained};
use crate::plane::embed_plane;
use crate::search::{gaussian_with_energy, outer, unit_vector};

harness::choice! {
    /// How each class matrix is perturbed.
    pub enum Attack {
        /// The optimal attack without rank constraint, in closed form.
        Optimal = "optimal",
        /// A random rank-one perturbation of energy ε_c.
        RandomRankOne = "random_rank_one",
        /// A Gaussian perturbation of energy ε_c.
        Gaussian = "gaussian",
    }
}

harness::params! {
    /// The parameters of `attack.digits`.
    pub struct DigitsParams {
        /// PCA dimension per class
        k: usize [1, 30] = 5;
        /// ε_c/(σ_k − σ_{k+1}) of each class matrix; when given it wins over budget
        budget_rel: Option<f64> [0.0, 1e6], recorded Value::Float(-1.0);
        /// absolute ε per class, used when budget_rel is not given (neither: no attack)
        budget: Option<f64> [0.0, 1e6], recorded Value::Float(-1.0);
        /// how each class matrix is perturbed
        attack: Attack = Attack::Optimal;
        /// use the digits 0..classes−1
        classes: usize [2, 10] = 10;
        /// share of each class used for training (random split per trial)
        train_fraction: f64 [0.1, 0.9] = 0.5;
    }
}

/// See the module documentation.
pub struct DigitsAttack;

impl TypedMethod for DigitsAttack {
    type Params = DigitsParams;
    const ID: &'static str = "attack.digits";
    const SUMMARY: &'static str =
        "nearest-subspace digit classification with attacked class subspaces (application, proposal)";
    const METRICS: &'static [MetricSpec] = &[
        MetricSpec {
            name: "accuracy",
            doc: "test accuracy of nearest-subspace classification",
            reproducible: true,
        },
        MetricSpec {
            name: "distance",
            doc: "mean over classes of sin θ_max between clean and attacked class subspaces",
            reproducible: true,
        },
        MetricSpec {
            name: "relative_energy",
            doc: "mean over classes of ‖Δ_c‖_F/‖X_c‖_F",
            reproducible: true,
        },
    ];

    fn run(
        &self,
        p: &DigitsParams,
        rng: &mut TrialRng,
        _trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError> {
        let (images, labels) = digits();
        let (k, classes) = (p.k, p.classes);
        let failed = |e: subspace::SubspaceError| MethodError::Failed(e.to_string());
        let mut bases = Vec::with_capacity(classes);
        let mut tests: Vec<(usize, usize)> = Vec::new(); // (row, label)
        let (mut distance, mut energy) = (0.0, 0.0);
        for class in 0..classes {
            let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
            rows.shuffle(rng);
            let n_train = ((rows.len() as f64) * p.train_fraction).round() as usize;
            tests.extend(rows[n_train..].iter().map(|&i| (i, class)));
            // Columns are images: X_c is 64 × n_train.
            let x = images.select(Axis(0), &rows[..n_train]).reversed_axes();
            let (u, sigma, vt) = x
                .svddc(JobSvd::Some)
                .map_err(|e| MethodError::Failed(e.to_string()))?;
            let (u, vt) = (u.expect("requested U"), vt.expect("requested Vᵀ"));
            let r = sigma.len();
            if k >= r {
                return Err(MethodError::Failed(format!(
                    "class {class} has rank {r}; k = {k} must be smaller"
                )));
            }
            let (s1, s2) = (sigma[k - 1], sigma[k]);
            let eps = epsilon(p.budget, p.budget_rel, s1 - s2);
            let (m, n) = x.dim();
            let delta = match p.attack {
                Attack::Optimal => embed_plane(
                    &unconstrained(s1, s2, eps),
                    u.column(k - 1),
                    u.column(k),
                    vt.row(k - 1),
                    Some(vt.row(k)),
                ),
                Attack::RandomRankOne => outer(eps, &unit_vector(m, rng), &unit_vector(n, rng)),
                Attack::Gaussian => gaussian_with_energy(m, n, eps, rng),
            };
            let clean = u.slice(s![.., ..k]);
            let attacked = top_left_singular_subspace((&x + &delta).view(), k)
                .map_err(failed)?
                .basis;
            let angles = principal_angles_orthonormal(clean, attacked.view(), false)
                .map_err(failed)?
                .angles;
            distance += Distance::Projection.from_angles(angles.as_slice().expect("contiguous"));
            energy += frobenius(delta.view()) / frobenius(x.view());
            bases.push(attacked);
        }
        let correct = tests
            .iter()
            .filter(|&&(row, label)| {
                let y = images.row(row);
                let residual = |b: &Array2<f64>| {
                    let coefficients = b.t().dot(&y);
                    y.dot(&y) - coefficients.dot(&coefficients)
                };
                let best = (0..classes)
                    .min_by(|&a, &b| residual(&bases[a]).total_cmp(&residual(&bases[b])))
                    .expect("classes ≥ 2");
                best == label
            })
            .count();
        Ok(Outcome::new()
            .metric("accuracy", correct as f64 / tests.len() as f64)
            .metric("distance", distance / classes as f64)
            .metric("relative_energy", energy / classes as f64))
    }
}

fn frobenius(x: ArrayView2<f64>) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>().sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::ParamStruct;
    use rand::SeedableRng;

    fn params(pairs: &[(&str, Value)]) -> DigitsParams {
        let checked = harness::Params::validate(
            DigitsParams::specs(),
            pairs.iter().map(|(k, v)| (*k, v)),
            DigitsAttack::ID,
            |_| Ok(String::new()),
        )
        .expect("valid parameters");
        DigitsParams::from_params(&checked)
    }

    fn run(pairs: &[(&str, Value)]) -> Outcome {
        let trial = TrialContext {
            trial_id: "0000000000000000",
            seed: 1,
            deadline: None,
        };
        DigitsAttack
            .run(&params(pairs), &mut TrialRng::seed_from_u64(1), &trial)
            .unwrap()
    }

    #[test]
    fn clean_classification_is_accurate_and_attacks_move_the_subspaces() {
        let clean = run(&[("budget_rel", Value::Float(0.0))]);
        assert!(
            clean.metrics["accuracy"] > 0.9,
            "{}",
            clean.metrics["accuracy"]
        );
        assert!(clean.metrics["distance"] < 1e-12);
        let attacked = run(&[("budget_rel", Value::Float(2.0))]);
        assert!(
            (attacked.metrics["distance"] - 1.0).abs() < 1e-9,
            "every class swapped a direction"
        );
    }

    /// The budget rule of the crate doc: `budget_rel` wins over `budget` when both are given;
    /// `budget` alone is absolute; neither is no attack.
    #[test]
    fn budget_rel_wins_over_budget() {
        let relative = run(&[("budget_rel", Value::Float(2.0))]);
        let both = run(&[
            ("budget_rel", Value::Float(2.0)),
            ("budget", Value::Float(1e3)),
        ]);
        assert_eq!(both, relative);
        let absolute = run(&[("budget", Value::Float(1e3))]);
        assert_ne!(absolute, relative);
        let neither = run(&[]);
        assert_eq!(neither, run(&[("budget_rel", Value::Float(0.0))]));
    }
}
