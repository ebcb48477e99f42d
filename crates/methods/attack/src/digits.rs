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
use harness::legacy::{Fallback, Method, ParamKind, ParamSpec, Params};
use harness::{MethodError, MetricSpec, Outcome, TrialRng};
use subspace::{principal_angles_orthonormal, top_left_singular_subspace, Distance};

use crate::closed_form::unconstrained;
use crate::method::embed_plane;
use crate::search::{gaussian_with_energy, outer, unit_vector};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "k",
        kind: ParamKind::Int { min: 1, max: 30 },
        default: Fallback::Int(5),
        doc: "PCA dimension per class",
    },
    ParamSpec {
        name: "budget_rel",
        kind: ParamKind::Float { min: 0.0, max: 1e6 },
        default: Fallback::Float(0.0),
        doc: "ε_c/(σ_k − σ_{k+1}) of each class matrix",
    },
    ParamSpec {
        name: "budget",
        kind: ParamKind::Float {
            min: -1.0,
            max: 1e6,
        },
        default: Fallback::Float(-1.0),
        doc: "absolute ε per class; when ≥ 0 it replaces budget_rel",
    },
    ParamSpec {
        name: "attack",
        kind: ParamKind::Choice(&["optimal", "random_rank_one", "gaussian"]),
        default: Fallback::Str("optimal"),
        doc: "how each class matrix is perturbed",
    },
    ParamSpec {
        name: "classes",
        kind: ParamKind::Int { min: 2, max: 10 },
        default: Fallback::Int(10),
        doc: "use the digits 0..classes−1",
    },
    ParamSpec {
        name: "train_fraction",
        kind: ParamKind::Float { min: 0.1, max: 0.9 },
        default: Fallback::Float(0.5),
        doc: "share of each class used for training (random split per trial)",
    },
];

const METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: "accuracy",
        doc: "test accuracy of nearest-subspace classification",
    },
    MetricSpec {
        name: "distance",
        doc: "mean over classes of sin θ_max between clean and attacked class subspaces",
    },
    MetricSpec {
        name: "relative_energy",
        doc: "mean over classes of ‖Δ_c‖_F/‖X_c‖_F",
    },
];

/// See the module documentation.
pub struct DigitsAttack;

impl Method for DigitsAttack {
    fn id(&self) -> &'static str {
        "attack.digits"
    }
    fn summary(&self) -> &'static str {
        "nearest-subspace digit classification with attacked class subspaces (application, proposal)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        METRICS
    }

    fn run(&self, p: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        let (images, labels) = digits();
        let (k, classes) = (p.usize("k"), p.usize("classes"));
        let failed = |e: subspace::SubspaceError| MethodError::Failed(e.to_string());
        let mut bases = Vec::with_capacity(classes);
        let mut tests: Vec<(usize, usize)> = Vec::new(); // (row, label)
        let (mut distance, mut energy) = (0.0, 0.0);
        for class in 0..classes {
            let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
            rows.shuffle(rng);
            let n_train = ((rows.len() as f64) * p.float("train_fraction")).round() as usize;
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
            let eps = if p.float("budget") >= 0.0 {
                p.float("budget")
            } else {
                p.float("budget_rel") * (s1 - s2)
            };
            let (m, n) = x.dim();
            let delta = match p.str("attack") {
                "optimal" => embed_plane(
                    &unconstrained(s1, s2, eps),
                    u.column(k - 1),
                    u.column(k),
                    vt.row(k - 1),
                    Some(vt.row(k)),
                ),
                "random_rank_one" => outer(eps, &unit_vector(m, rng), &unit_vector(n, rng)),
                _ => gaussian_with_energy(m, n, eps, rng),
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
    use harness::Value;
    use rand::SeedableRng;
    use std::collections::BTreeMap;

    fn params(budget: f64, attack: &str) -> Params {
        let mut map: BTreeMap<String, Value> = PARAMS
            .iter()
            .filter_map(|p| Some((p.name.to_string(), p.default_value()?)))
            .collect();
        map.insert("budget_rel".into(), Value::Float(budget));
        map.insert("attack".into(), Value::Str(attack.into()));
        Params(map)
    }

    #[test]
    fn clean_classification_is_accurate_and_attacks_move_the_subspaces() {
        let clean = DigitsAttack
            .run(&params(0.0, "optimal"), &mut TrialRng::seed_from_u64(1))
            .unwrap();
        assert!(
            clean.metrics["accuracy"] > 0.9,
            "{}",
            clean.metrics["accuracy"]
        );
        assert!(clean.metrics["distance"] < 1e-12);
        let attacked = DigitsAttack
            .run(&params(2.0, "optimal"), &mut TrialRng::seed_from_u64(1))
            .unwrap();
        assert!(
            (attacked.metrics["distance"] - 1.0).abs() < 1e-9,
            "every class swapped a direction"
        );
    }
}
