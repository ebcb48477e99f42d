//! A plane attack embedded in the data's dimensions: the m × n perturbation
//! `[u_k u_{k+1}] D [v_k v_{k+1}]ᵀ` of a 2 × 2 block `D` (see [`crate::closed_form`]), and its
//! numerical rank in closed form.

use ndarray::{Array2, ArrayView1};

use crate::closed_form::PlaneAttack;

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
pub fn numerical_rank(singular_values: &[f64], m: usize, n: usize) -> usize {
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
pub fn plane_rank(a: &PlaneAttack, m: usize, n: usize, has_v_next: bool) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::closed_form::{rank_one, unconstrained};
    use ndarray_linalg::{JobSvd, SVDDC};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use subspace::haar_orthonormal;

    /// The rank of a plane attack from its 2 × 2 block equals the numerical rank of the embedded
    /// Δ from its SVD, for both closed forms on both sides of their thresholds and for k = rank X.
    #[test]
    fn plane_rank_equals_the_rank_of_the_embedded_perturbation() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
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
}
