//! `attack.pca`: build X with a controlled spectrum, attack it, measure the subspace distance.

use ndarray::{s, Array1, Array2, ArrayView1};
use ndarray_linalg::{JobSvd, SVDDC};
use rand::Rng;
use rand_distr::StandardNormal;

use harness::legacy::{Fallback, Method, ParamKind, ParamSpec, Params};
use harness::{MethodError, MetricSpec, Outcome, Registry, TrialRng};
use subspace::{haar_orthonormal, principal_angles_orthonormal, top_left_singular_basis, Distance};

use crate::closed_form::{rank_one, unconstrained, PlaneAttack};
use crate::search::{gaussian_with_energy, gradient_attack, outer, unit_vector, Search};

const ATTACKS: &[&str] = &[
    "rank_one",
    "unconstrained",
    "search",
    "search_rank_one",
    "random_rank_one",
    "gaussian",
];

const PARAMS: &[ParamSpec] = &[
    ParamSpec { name: "model", kind: ParamKind::Choice(&["svd", "spiked", "digits"]), default: Fallback::Str("svd"), doc: "X with a controlled spectrum (svd), a spiked model (spiked), or the real 64 × 1797 digits matrix (digits)" },
    ParamSpec { name: "spikes", kind: ParamKind::FloatList { min: 0.0, max: 1e12 }, default: Fallback::List(&[5.0, 4.0, 3.0, 2.0, 1.0]), doc: "spiked model: the spike strengths" },
    ParamSpec { name: "noise", kind: ParamKind::Float { min: 0.0, max: 1e6 }, default: Fallback::Float(0.1), doc: "spiked model: noise level (entries N(0, noise²/n))" },
    ParamSpec { name: "m", kind: ParamKind::Int { min: 2, max: 5000 }, default: Fallback::Int(100), doc: "rows of X (ambient dimension of the subspace)" },
    ParamSpec { name: "n", kind: ParamKind::Int { min: 1, max: 5000 }, default: Fallback::Int(50), doc: "columns of X (samples)" },
    ParamSpec { name: "k", kind: ParamKind::Int { min: 1, max: 5000 }, default: Fallback::Int(5), doc: "PCA dimension" },
    ParamSpec { name: "sigma", kind: ParamKind::FloatList { min: 0.0, max: 1e12 }, default: Fallback::List(&[]), doc: "explicit singular values (min(m, n) of them, descending); overrides gap and decay" },
    ParamSpec { name: "gap", kind: ParamKind::Float { min: 0.0, max: 0.999999 }, default: Fallback::Float(0.5), doc: "σ_{k+1}/σ_k (σ_k = 1); 0 makes rank X = k" },
    ParamSpec { name: "decay", kind: ParamKind::Choice(&["flat", "geometric"]), default: Fallback::Str("geometric"), doc: "profile of the other singular values: flat, or geometric (ratio 1.1 above σ_k, 0.9 below σ_{k+1})" },
    ParamSpec { name: "budget", kind: ParamKind::Float { min: 0.0, max: 1e12 }, default: Fallback::Float(0.1), doc: "ε = ‖Δ‖_F, absolute" },
    ParamSpec { name: "budget_rel", kind: ParamKind::Float { min: -1.0, max: 1e6 }, default: Fallback::Float(-1.0), doc: "ε/(σ_k − σ_{k+1}); when ≥ 0 it replaces budget" },
    ParamSpec { name: "attack", kind: ParamKind::Choice(ATTACKS), default: Fallback::Str("rank_one"), doc: "rank_one, unconstrained (closed forms), search, search_rank_one (gradient ascent), random_rank_one, gaussian" },
    ParamSpec { name: "restarts", kind: ParamKind::Int { min: 1, max: 100 }, default: Fallback::Int(4), doc: "random starts of the search attacks" },
    ParamSpec { name: "iterations", kind: ParamKind::Int { min: 1, max: 100_000 }, default: Fallback::Int(300), doc: "iterations per start of the search attacks" },
];

const METRICS: &[MetricSpec] = &[
    MetricSpec { name: "distance", doc: "measured sin θ_max between the top-k subspaces of X and X + Δ" },
    MetricSpec { name: "distance_f", doc: "measured Frobenius sin-distance ‖sin θ‖₂" },
    MetricSpec { name: "theory", doc: "closed-form optimum for the attack's class (rank one or unconstrained); absent for random baselines" },
    MetricSpec { name: "excess", doc: "distance_f − theory (how much an attack beats the closed form)" },
    MetricSpec { name: "energy", doc: "‖Δ‖_F" },
    MetricSpec { name: "epsilon", doc: "the budget ε used" },
    MetricSpec { name: "rank", doc: "numerical rank of Δ" },
    MetricSpec { name: "davis_kahan", doc: "min(1, ε/(σ_k − σ_{k+1})): the Davis–Kahan-type bound" },
];

/// See the module documentation.
pub struct PcaAttack;

/// Register the methods of this paper.
pub fn register(registry: &mut Registry) {
    registry.register(harness::legacy::Legacy::boxed(PcaAttack));
    registry.register(harness::legacy::Legacy::boxed(crate::digits::DigitsAttack));
}

/// The m × n perturbation `[u_k u_{k+1}] D [v_k v_{k+1}]ᵀ` of a plane attack; without a
/// `v_{k+1}` (k = rank X) its column of `D` is dropped (it is zero for those attacks).
pub fn embed_plane<'a>(
    a: &PlaneAttack,
    uk: ArrayView1<'a, f64>,
    uk1: ArrayView1<'a, f64>,
    vk: ArrayView1<'a, f64>,
    vk1: Option<ArrayView1<'a, f64>>,
) -> Array2<f64> {
    // Δ = Σ_c w_c v_cᵀ with w_c = D[0][c] u_k + D[1][c] u_{k+1}: one pass over Δ per column of D.
    let mut delta = Array2::zeros((uk.len(), vk.len()));
    for (col, v) in [(0, Some(vk)), (1, vk1)] {
        let Some(v) = v else { continue };
        let w = &uk * a.d[0][col] + &uk1 * a.d[1][col];
        for (mut row, &wi) in delta.rows_mut().into_iter().zip(&w) {
            row.scaled_add(wi, &v);
        }
    }
    delta
}

/// The numerical rank of an `m × n` matrix from its singular values (descending).
fn numerical_rank(singular_values: &[f64], m: usize, n: usize) -> usize {
    let largest = singular_values.first().copied().unwrap_or(0.0);
    let tol = subspace::numerical_rank_tolerance(m, n, largest);
    singular_values
        .iter()
        .filter(|&&s| s > tol && s > 0.0)
        .count()
}

/// The numerical rank of the `m × n` embedding `[u_k u_{k+1}] D [v_k v_{k+1}]ᵀ` of a plane
/// attack: the factors have orthonormal columns, so its singular values are those of `D` (only
/// its first column without `v_{k+1}`), in closed form. Saves an SVD of Δ per trial.
fn plane_rank(a: &PlaneAttack, m: usize, n: usize, has_v_next: bool) -> usize {
    let d = a.d;
    let singular_values = if has_v_next {
        // σ₁ = (√((a+d)² + (b−c)²) + √((a−d)² + (b+c)²))/2, σ₂ = |ad − bc|/σ₁.
        let (p, q) = (d[0][0] + d[1][1], d[0][1] - d[1][0]);
        let (r, t) = (d[0][0] - d[1][1], d[0][1] + d[1][0]);
        let s1 = 0.5 * (p.hypot(q) + r.hypot(t));
        let s2 = if s1 > 0.0 {
            (d[0][0] * d[1][1] - d[0][1] * d[1][0]).abs() / s1
        } else {
            0.0
        };
        vec![s1, s2]
    } else {
        vec![d[0][0].hypot(d[1][0])]
    };
    numerical_rank(&singular_values, m, n)
}

/// X and its SVD. `svd`: X = Q₁ diag(σ) Q₂ᵀ with Haar factors and a controlled spectrum (the
/// triplets are exact by construction); `spiked`: X = U diag(spikes) Vᵀ + noise·E; `digits`: the
/// 64 × 1797 matrix of real digit images (pixels / 16). For the last two the SVD is computed.
#[allow(clippy::type_complexity)]
fn data_matrix(
    p: &Params,
    rng: &mut TrialRng,
) -> Result<(Array2<f64>, Array2<f64>, Vec<f64>, Array2<f64>), MethodError> {
    let failed = |e: subspace::SubspaceError| MethodError::Failed(e.to_string());
    let x = match p.str("model") {
        "svd" => {
            let (m, n, k) = (p.usize("m"), p.usize("n"), p.usize("k"));
            let r = m.min(n);
            let sigma = spectrum(p, r, k);
            // Q₁ has one extra column (u_{r+1}) when m > r, for k = rank X.
            let q1 = haar_orthonormal(m, (r + 1).min(m), rng).map_err(failed)?;
            let q2 = haar_orthonormal(n, r, rng).map_err(failed)?;
            let x = (&q1.slice(s![.., ..r]) * &Array1::from(sigma.clone())).dot(&q2.t());
            return Ok((x, q1, sigma, q2));
        }
        "spiked" => {
            let (m, n) = (p.usize("m"), p.usize("n"));
            let spikes = p.list("spikes");
            let u = haar_orthonormal(m, spikes.len(), rng).map_err(failed)?;
            let v = haar_orthonormal(n, spikes.len(), rng).map_err(failed)?;
            let noise =
                Array2::from_shape_simple_fn((m, n), || rng.sample::<f64, _>(StandardNormal))
                    * (p.float("noise") / (n as f64).sqrt());
            (&u * &Array1::from(spikes.to_vec())).dot(&v.t()) + noise
        }
        _ => datasets::digits().0.t().mapv(|v| v / 16.0),
    };
    let (m, n) = x.dim();
    let r = m.min(n);
    let (u, sigma, vt) = x
        .svddc(if m > n { JobSvd::All } else { JobSvd::Some })
        .map_err(|e| MethodError::Failed(e.to_string()))?;
    let u = u.expect("requested U");
    let q1 = u.slice(s![.., ..(r + 1).min(m)]).to_owned();
    let q2 = vt.expect("requested Vᵀ").slice(s![..r, ..]).t().to_owned();
    Ok((x, q1, sigma.to_vec(), q2))
}

/// The singular values of X.
fn spectrum(p: &Params, r: usize, k: usize) -> Vec<f64> {
    let given = p.list("sigma");
    if !given.is_empty() {
        return given.to_vec();
    }
    let gap = p.float("gap");
    let geometric = p.str("decay") == "geometric";
    (0..r)
        .map(|i| {
            if i < k {
                if geometric {
                    1.1f64.powi((k - 1 - i) as i32)
                } else {
                    1.0
                }
            } else if geometric {
                gap * 0.9f64.powi((i - k) as i32)
            } else {
                gap
            }
        })
        .collect()
}

impl Method for PcaAttack {
    fn id(&self) -> &'static str {
        "attack.pca"
    }
    fn summary(&self) -> &'static str {
        "perturb X with energy ε to move its top-k PCA subspace (Li, Lai & Cui)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        METRICS
    }

    fn check(&self, p: &Params) -> Result<(), String> {
        let (m, n, k) = (p.usize("m"), p.usize("n"), p.usize("k"));
        let r = m.min(n);
        if k >= m {
            return Err(format!(
                "k = {k} must be below m = {m}: a subspace of everything cannot move"
            ));
        }
        if k > r {
            return Err(format!("k = {k} exceeds min(m, n) = {r}"));
        }
        let sigma = p.list("sigma");
        if !sigma.is_empty() {
            if sigma.len() != r {
                return Err(format!(
                    "sigma has {} values; X is {m} × {n}, so give min(m, n) = {r}",
                    sigma.len()
                ));
            }
            if sigma.windows(2).any(|w| w[0] < w[1]) {
                return Err("sigma must be descending".into());
            }
            if k < r && sigma[k - 1] <= sigma[k] {
                return Err(format!(
                    "σ_k = {} must exceed σ_{{k+1}} = {}: otherwise the PCA subspace is not unique",
                    sigma[k - 1],
                    sigma[k]
                ));
            }
        }
        Ok(())
    }

    fn run(&self, p: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        let k = p.usize("k");
        let failed = |e: subspace::SubspaceError| MethodError::Failed(e.to_string());
        // The data and its singular triplets: u (m × (r+1) when m > r), σ (r), v (n × r).
        let (x, q1, sigma, q2) = data_matrix(p, rng)?;
        let (m, n) = x.dim();
        let r = sigma.len();
        if k > r || k >= m {
            return Err(MethodError::Failed(format!(
                "k = {k} needs k ≤ rank = {r} and k < m = {m}"
            )));
        }
        let s1 = sigma[k - 1];
        let s2 = if k < r { sigma[k] } else { 0.0 };
        if s1 <= s2 {
            return Err(MethodError::Failed(format!(
                "σ_k = {s1} = σ_(k+1): the PCA subspace of this X is not unique"
            )));
        }
        let eps = if p.float("budget_rel") >= 0.0 {
            p.float("budget_rel") * (s1 - s2)
        } else {
            p.float("budget")
        };
        let u0 = q1.slice(s![.., ..k]);

        let attack = p.str("attack");
        let v_next = (k < r).then(|| q2.column(k));
        let plane = |a: PlaneAttack| {
            embed_plane(&a, q1.column(k - 1), q1.column(k), q2.column(k - 1), v_next)
        };
        // A plane attack keeps its 2 × 2 block: the rank of Δ is the rank of that block.
        let (delta, theory, block) = match attack {
            "rank_one" => {
                let a = rank_one(s1, s2, eps);
                (plane(a), Some(a.theta.sin()), Some(a))
            }
            "unconstrained" => {
                let a = unconstrained(s1, s2, eps);
                (plane(a), Some(a.theta.sin()), Some(a))
            }
            "search" | "search_rank_one" => {
                let only_rank_one = attack == "search_rank_one";
                let search = Search {
                    eps,
                    rank_one: only_rank_one,
                    restarts: p.usize("restarts"),
                    iterations: p.usize("iterations"),
                };
                let optimum = if only_rank_one {
                    rank_one(s1, s2, eps)
                } else {
                    unconstrained(s1, s2, eps)
                };
                (
                    gradient_attack(&x, u0, k, search, rng),
                    Some(optimum.theta.sin()),
                    None,
                )
            }
            "random_rank_one" => (
                outer(eps, &unit_vector(m, rng), &unit_vector(n, rng)),
                None,
                None,
            ),
            _ => (gaussian_with_energy(m, n, eps, rng), None, None),
        };

        let attacked = top_left_singular_basis((&x + &delta).view(), k).map_err(failed)?;
        let angles = principal_angles_orthonormal(u0, attacked.view(), false)
            .map_err(failed)?
            .angles;
        let angles = angles.as_slice().expect("contiguous");
        let distance = Distance::Projection.from_angles(angles);
        let distance_f = Distance::Chordal.from_angles(angles);
        let energy = delta.iter().map(|v| v * v).sum::<f64>().sqrt();
        let rank = match block {
            Some(a) => plane_rank(&a, m, n, v_next.is_some()),
            None => {
                let (_, dsv, _) = delta
                    .svddc(JobSvd::None)
                    .map_err(|e| MethodError::Failed(e.to_string()))?;
                numerical_rank(dsv.as_slice().expect("contiguous"), m, n)
            }
        };

        let mut outcome = Outcome::new()
            .metric("distance", distance)
            .metric("distance_f", distance_f)
            .metric("energy", energy)
            .metric("epsilon", eps)
            .metric("rank", rank as f64)
            .metric("davis_kahan", (eps / (s1 - s2)).min(1.0));
        if let Some(t) = theory {
            outcome = outcome.metric("theory", t).metric("excess", distance_f - t);
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::Value;
    use rand::SeedableRng;
    use std::collections::BTreeMap;

    fn params(pairs: &[(&str, Value)]) -> Params {
        let mut map: BTreeMap<String, Value> = PARAMS
            .iter()
            .filter_map(|p| Some((p.name.to_string(), p.default_value()?)))
            .collect();
        for (k, v) in pairs {
            map.insert(k.to_string(), v.clone());
        }
        Params(map)
    }

    /// The explicit Δ of both closed forms achieves the predicted distance on random 50 × 40
    /// matrices, with ‖Δ‖_F = ε to 1e-12.
    #[test]
    fn explicit_attacks_achieve_their_prediction() {
        for attack in ["rank_one", "unconstrained"] {
            for rel in [0.1, 0.4, 0.69, 0.95, 1.5] {
                let p = params(&[
                    ("m", Value::Int(50)),
                    ("n", Value::Int(40)),
                    ("attack", Value::Str(attack.into())),
                    ("budget_rel", Value::Float(rel)),
                ]);
                let out = PcaAttack.run(&p, &mut TrialRng::seed_from_u64(7)).unwrap();
                let m = &out.metrics;
                assert!(
                    (m["distance"] - m["theory"]).abs() < 1e-9,
                    "{attack} at {rel}: {} vs {}",
                    m["distance"],
                    m["theory"]
                );
                assert!((m["energy"] - m["epsilon"]).abs() <= 1e-12 * m["epsilon"]);
                assert!(m["rank"] <= if attack == "rank_one" { 1.0 } else { 2.0 });
            }
        }
    }

    /// On a spiked model and on the real digits the triplets come from a computed SVD: the
    /// explicit attacks still achieve their prediction.
    #[test]
    fn explicit_attacks_achieve_their_prediction_on_computed_svds() {
        for (model, k) in [("spiked", 3), ("digits", 5)] {
            for attack in ["rank_one", "unconstrained"] {
                let p = params(&[
                    ("model", Value::Str(model.into())),
                    ("m", Value::Int(40)),
                    ("n", Value::Int(30)),
                    ("k", Value::Int(k)),
                    ("attack", Value::Str(attack.into())),
                    ("budget_rel", Value::Float(0.4)),
                ]);
                let out = PcaAttack.run(&p, &mut TrialRng::seed_from_u64(2)).unwrap();
                let m = &out.metrics;
                assert!(
                    (m["distance"] - m["theory"]).abs() < 1e-9,
                    "{model} {attack}: {} vs {}",
                    m["distance"],
                    m["theory"]
                );
            }
        }
    }

    #[test]
    fn rank_k_case_has_sin_theta_equal_to_eps_over_sigma_k() {
        let p = params(&[
            ("m", Value::Int(20)),
            ("n", Value::Int(12)),
            ("k", Value::Int(12)),
            ("gap", Value::Float(0.0)),
            ("budget", Value::Float(0.3)),
            ("decay", Value::Str("flat".into())),
        ]);
        let out = PcaAttack.run(&p, &mut TrialRng::seed_from_u64(1)).unwrap();
        assert!(
            (out.metrics["distance"] - 0.3).abs() < 1e-12,
            "{}",
            out.metrics["distance"]
        );
    }

    /// The rank of a plane attack from its 2 × 2 block equals the numerical rank of the embedded
    /// Δ from its SVD, for both closed forms on both sides of their thresholds and for k = rank X.
    #[test]
    fn plane_rank_equals_the_rank_of_the_embedded_perturbation() {
        let mut rng = TrialRng::seed_from_u64(4);
        let (m, n) = (30, 12);
        let u = haar_orthonormal(m, 13, &mut rng).unwrap();
        let v = haar_orthonormal(n, n, &mut rng).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for (s1, s2) in [(1.0, 0.5), (2.0, 1.9), (1.0, 0.0)] {
            for eps in [0.05, 0.3, 0.49, 0.6, 1.2, 3.0] {
                for a in [rank_one(s1, s2, eps), unconstrained(s1, s2, eps)] {
                    for k in [5, 12] {
                        let v_next = (k < n).then(|| v.column(k));
                        let delta =
                            embed_plane(&a, u.column(k - 1), u.column(k), v.column(k - 1), v_next);
                        let (_, sv, _) = delta.svddc(JobSvd::None).unwrap();
                        let want = numerical_rank(sv.as_slice().unwrap(), m, n);
                        let got = plane_rank(&a, m, n, v_next.is_some());
                        assert_eq!(got, want, "s = ({s1}, {s2}), eps = {eps}, k = {k}");
                        seen.insert(got);
                    }
                }
            }
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![1, 2]);
    }

    /// Gradient search on a small 6 × 5 matrix never beats the closed form (it is optimal) and
    /// comes close to it (the closed form is attainable).
    #[test]
    fn search_confirms_optimality_on_small_matrices() {
        for (attack, rel) in [("search", 0.3), ("search_rank_one", 0.5)] {
            let p = params(&[
                ("m", Value::Int(6)),
                ("n", Value::Int(5)),
                ("k", Value::Int(2)),
                ("attack", Value::Str(attack.into())),
                ("budget_rel", Value::Float(rel)),
                ("restarts", Value::Int(6)),
            ]);
            let out = PcaAttack.run(&p, &mut TrialRng::seed_from_u64(3)).unwrap();
            let m = &out.metrics;
            assert!(
                m["excess"] <= 1e-9,
                "{attack}: search beat the closed form by {}",
                m["excess"]
            );
            assert!(
                m["excess"] > -1e-3,
                "{attack}: search stopped {} short",
                -m["excess"]
            );
        }
    }

    #[test]
    fn inconsistent_parameters_are_rejected() {
        assert!(PcaAttack
            .check(&params(&[("m", Value::Int(5)), ("k", Value::Int(5))]))
            .is_err());
        assert!(PcaAttack
            .check(&params(&[
                ("m", Value::Int(3)),
                ("n", Value::Int(2)),
                ("k", Value::Int(1)),
                ("sigma", Value::List(vec![1.0]))
            ]))
            .is_err());
        assert!(PcaAttack
            .check(&params(&[
                ("m", Value::Int(3)),
                ("n", Value::Int(2)),
                ("k", Value::Int(1)),
                ("sigma", Value::List(vec![1.0, 1.0]))
            ]))
            .is_err());
    }
}
