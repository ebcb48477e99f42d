//! Numerical attacks: projected gradient ascent of the Frobenius sin-distance between the top-k
//! left singular subspaces of X and X + Δ over the sphere ‖Δ‖_F = ε, from several random starts.
//! It knows nothing of the closed forms, which is what makes it a check of their optimality.

use ndarray::{s, Array2, ArrayView2};
use ndarray_linalg::{JobSvd, SVDDC};
use rand::Rng;
use rand_distr::StandardNormal;

/// `f(Δ) = ‖U₀ᵀ U_k(X + Δ)‖_F²` (k minus the squared Frobenius sin-distance) and its gradient,
/// from first-order perturbation theory of the singular vectors:
/// `du_i = Σ_{j≠i} u_j (σ_i u_jᵀ E v_i + σ_j u_iᵀ E v_j)/(σ_i² − σ_j²) + (I − U Uᵀ) E v_i/σ_i`.
fn objective_and_gradient(
    x: &Array2<f64>,
    delta: &Array2<f64>,
    u0: ArrayView2<f64>,
    k: usize,
) -> Option<(f64, Array2<f64>)> {
    let y = x + delta;
    let (m, n) = y.dim();
    let (u, sigma, vt) = y.svddc(JobSvd::Some).ok()?;
    let (u, vt) = (u?, vt?);
    let r = sigma.len();
    let p0u = u0.dot(&u0.t().dot(&u)); // P₀ U, m × r
    let uk = u.slice(s![.., ..k]);
    let value = u0.t().dot(&uk).iter().map(|c| c * c).sum::<f64>();
    let mut grad = Array2::<f64>::zeros((m, n));
    // w_ij = u_iᵀ P₀ u_j
    let w = u.t().dot(&p0u);
    for i in 0..k {
        for j in k..r {
            let gap = sigma[i] * sigma[i] - sigma[j] * sigma[j];
            if gap <= 0.0 {
                return None;
            }
            let c = 2.0 * w[(i, j)] / gap;
            let (ui, uj, vi, vj) = (u.column(i), u.column(j), vt.row(i), vt.row(j));
            for a in 0..m {
                for b in 0..n {
                    grad[(a, b)] += c * (sigma[i] * uj[a] * vi[b] + sigma[j] * ui[a] * vj[b]);
                }
            }
        }
        // Directions outside the column space of Y (m > rank).
        if m > r && sigma[i] > 0.0 {
            let ui = u.column(i);
            let mut p0ui = u0.dot(&u0.t().dot(&ui));
            let proj = u.dot(&u.t().dot(&p0ui));
            p0ui -= &proj;
            let vi = vt.row(i);
            for a in 0..m {
                for b in 0..n {
                    grad[(a, b)] += 2.0 * p0ui[a] * vi[b] / sigma[i];
                }
            }
        }
    }
    Some((value, grad))
}

fn unit_frobenius(mut d: Array2<f64>, eps: f64) -> Array2<f64> {
    let norm = d.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm > 0.0 {
        d *= eps / norm;
    }
    d
}

/// How the numerical attack searches.
#[derive(Debug, Clone, Copy)]
pub struct Search {
    /// The budget ‖Δ‖_F = ε.
    pub eps: f64,
    /// Restrict to Δ = ε a bᵀ.
    pub rank_one: bool,
    pub restarts: usize,
    pub iterations: usize,
}

/// A candidate step: the new Δ and, for the rank-one search, its unit factors.
type Candidate = (Array2<f64>, Option<(Vec<f64>, Vec<f64>)>);

/// Best Δ found (full rank allowed, or rank one), with ‖Δ‖_F = ε.
pub fn gradient_attack<R: Rng + ?Sized>(
    x: &Array2<f64>,
    u0: ArrayView2<f64>,
    k: usize,
    search: Search,
    rng: &mut R,
) -> Array2<f64> {
    let Search {
        eps,
        rank_one,
        restarts,
        iterations,
    } = search;
    let (m, n) = x.dim();
    let mut best: Option<(f64, Array2<f64>)> = None;
    for _ in 0..restarts.max(1) {
        // Δ = ε a bᵀ for the rank-one variant (a, b unit vectors), a free matrix otherwise.
        let mut a = unit_vector(m, rng);
        let mut b = unit_vector(n, rng);
        let mut delta = if rank_one {
            outer(eps, &a, &b)
        } else {
            gaussian_with_energy(m, n, eps, rng)
        };
        let mut step = 0.5;
        // The objective and gradient at Δ: computed once per accepted point, since the
        // backtracking search already evaluates them at the candidate it accepts.
        let mut state = objective_and_gradient(x, &delta, u0, k);
        let mut current = state.as_ref().map_or(f64::INFINITY, |v| v.0);
        for _ in 0..iterations {
            let Some((value, grad)) = state.take() else {
                break;
            };
            current = value;
            // Minimise f (maximise the distance) with a backtracking step on the sphere.
            let candidate_of = |step: f64| -> Candidate {
                if rank_one {
                    let ga = grad.dot(&ndarray::Array1::from(b.clone())) * eps;
                    let gb = grad.t().dot(&ndarray::Array1::from(a.clone())) * eps;
                    let na =
                        normalise(a.iter().zip(ga.iter()).map(|(x, g)| x - step * g).collect());
                    let nb =
                        normalise(b.iter().zip(gb.iter()).map(|(x, g)| x - step * g).collect());
                    (outer(eps, &na, &nb), Some((na, nb)))
                } else {
                    let gnorm = grad.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-300);
                    (
                        unit_frobenius(&delta - &(&grad * (step * eps / gnorm)), eps),
                        None,
                    )
                }
            };
            while step > 1e-8 {
                let (candidate, vectors) = candidate_of(step);
                if let Some((value_new, grad_new)) = objective_and_gradient(x, &candidate, u0, k) {
                    if value_new < value {
                        delta = candidate;
                        if let Some((na, nb)) = vectors {
                            a = na;
                            b = nb;
                        }
                        current = value_new;
                        step *= 1.5;
                        state = Some((value_new, grad_new));
                        break;
                    }
                }
                step *= 0.5;
            }
            if state.is_none() {
                break; // no step decreased the objective: a local optimum
            }
        }
        if best.as_ref().is_none_or(|(v, _)| current < *v) {
            best = Some((current, delta));
        }
    }
    best.expect("at least one restart").1
}

/// A Gaussian m × n matrix scaled to ‖Δ‖_F = ε: the random baseline of the same energy.
pub fn gaussian_with_energy<R: Rng + ?Sized>(
    m: usize,
    n: usize,
    eps: f64,
    rng: &mut R,
) -> Array2<f64> {
    unit_frobenius(subspace::gaussian_matrix(m, n, rng), eps)
}

pub fn unit_vector<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<f64> {
    normalise((0..n).map(|_| rng.sample(StandardNormal)).collect())
}

fn normalise(v: Vec<f64>) -> Vec<f64> {
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    v.into_iter().map(|x| x / norm).collect()
}

pub fn outer(eps: f64, a: &[f64], b: &[f64]) -> Array2<f64> {
    Array2::from_shape_fn((a.len(), b.len()), |(i, j)| eps * a[i] * b[j])
}
