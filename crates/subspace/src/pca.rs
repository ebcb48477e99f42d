use ndarray::{s, Array1, Array2, ArrayView2};
use ndarray_linalg::{JobSvd, QR, SVDDC};

use crate::basis::check_finite;
use crate::kernels::{self, BlasMatrix};
use crate::{Result, SubspaceError};

/// The top-`k` left singular subspace of a data matrix and its spectrum.
#[derive(Debug, Clone)]
pub struct Pca {
    /// `m × k`, orthonormal columns: the leading left singular vectors.
    pub basis: Array2<f64>,
    /// All `min(m, n)` singular values, descending. `σ_k − σ_{k+1}` is the gap that makes the
    /// subspace well defined (Davis–Kahan).
    pub singular_values: Array1<f64>,
}

/// The PCA subspace as the subspace-learning papers define it: the span of the top-`k` left
/// singular vectors of `x` (`m × n`, columns are samples). No centring is done here; centre the
/// columns first when the model calls for it.
pub fn top_left_singular_subspace(x: ArrayView2<f64>, k: usize) -> Result<Pca> {
    check_pca_arguments(x, k)?;
    let (u, singular_values, _) = x.svddc(JobSvd::Some)?;
    let basis = u.expect("requested U").slice(s![.., ..k]).to_owned();
    Ok(Pca {
        basis,
        singular_values,
    })
}

fn check_pca_arguments(x: ArrayView2<f64>, k: usize) -> Result<()> {
    let (m, n) = x.dim();
    if k == 0 || k > m.min(n) {
        return Err(SubspaceError::InvalidArgument(format!(
            "PCA rank k must satisfy 1 ≤ k ≤ min(m, n) = {}; got {k}",
            m.min(n)
        )));
    }
    check_finite(x)
}

/// The largest `σ₁/σ_k` for which [`top_left_singular_basis`] uses the Gram matrix.
///
/// The eigenvectors of the Gram matrix perturb the top-`k` subspace by about
/// `ε σ₁² / (σ_k² − σ_{k+1}²)`, the SVD by `ε σ₁ / (σ_k − σ_{k+1})`: the ratio is
/// `σ₁ / (σ_k + σ_{k+1}) < σ₁/σ_k`, so up to this limit the Gram path is at most ten times the
/// SVD's rounding, and both grow alike as the gap closes.
pub const GRAM_PCA_SPREAD_LIMIT: f64 = 10.0;

/// An orthonormal basis (`m × k`) of the top-`k` left singular subspace of `x` (`m × n`), without
/// the spectrum [`top_left_singular_subspace`] also returns: what a PCA distance needs.
///
/// Computed from the eigenvectors of the smaller Gram matrix (`XXᵀ` when `m ≤ n`; otherwise
/// `XᵀX`, whose top eigenvectors `V_k` give the basis as the Q factor of `X V_k`), by LAPACK's
/// MRRR solver for the `k + 1` largest eigenpairs only: `O(mn·min(m, n))` BLAS-3 flops plus an
/// `O(min(m, n)²)`-sized eigenproblem, against a full SVD's vectors. When `σ₁/σ_k` exceeds
/// [`GRAM_PCA_SPREAD_LIMIT`], an entry is extreme, or LAPACK fails, it is the SVD's basis.
/// Columns come in descending order of singular value; their signs are arbitrary.
pub fn top_left_singular_basis(x: ArrayView2<f64>, k: usize) -> Result<Array2<f64>> {
    top_left_singular_basis_reporting(x, k).map(|(basis, _)| basis)
}

/// [`top_left_singular_basis`], also saying whether the Gram matrix (`true`) or the SVD served.
pub fn top_left_singular_basis_reporting(
    x: ArrayView2<f64>,
    k: usize,
) -> Result<(Array2<f64>, bool)> {
    check_pca_arguments(x, k)?;
    if let Some(basis) = gram_basis(x, k)? {
        return Ok((basis, true));
    }
    Ok((top_left_singular_subspace(x, k)?.basis, false))
}

fn gram_basis(x: ArrayView2<f64>, k: usize) -> Result<Option<Array2<f64>>> {
    // Squared row or column norms in [2⁻⁹⁰⁰, 2⁹⁰⁰]: nothing over- or underflowed (see angles).
    const LOW: f64 = 1.2e-271;
    const HIGH: f64 = 8.5e270;
    let (m, n) = x.dim();
    let p = m.min(n);
    if !kernels::fits_blas(&[m, n]) {
        return Ok(None);
    }
    let wide = m <= n;
    // The Gram matrix of the short side: XXᵀ = (Xᵀ)ᵀXᵀ when wide, XᵀX otherwise.
    let short = if wide {
        BlasMatrix::new(x.t())
    } else {
        BlasMatrix::new(x)
    };
    let mut gram = kernels::gram_upper(&short);
    if !(0..p).all(|j| (LOW..=HIGH).contains(&gram[j * p + j])) {
        return Ok(None);
    }
    let wanted = (k + 1).min(p);
    let Some((values, vectors)) = kernels::top_eigenpairs(&mut gram, p, wanted) else {
        return Ok(None);
    };
    // Ascending: values[wanted − 1] = σ₁², values[wanted − k] = σ_k².
    let (top, kth) = (values[wanted - 1], values[wanted - k]);
    if kth.is_nan() || kth <= 0.0 || top > GRAM_PCA_SPREAD_LIMIT.powi(2) * kth {
        return Ok(None);
    }
    // The k top eigenvectors, largest first, column-major p × k.
    let mut top_vectors = Vec::with_capacity(p * k);
    for j in (wanted - k..wanted).rev() {
        top_vectors.extend_from_slice(&vectors[j * p..(j + 1) * p]);
    }
    if wide {
        return Ok(Some(kernels::to_array(top_vectors, m, k)));
    }
    // X V_k has orthogonal columns of norms σ_i in exact arithmetic; its Q factor is the basis.
    let mut product = vec![0.0; m * k];
    kernels::multiply_into(1.0, &BlasMatrix::new(x), &top_vectors, k, 0.0, &mut product);
    let (q, _) = kernels::to_array(product, m, k).qr()?;
    Ok(Some(q))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{haar_orthonormal, principal_angles_orthonormal};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// X = U diag(σ) Vᵀ with Haar factors: the top-k left singular subspace is span(U[:, :k]).
    fn with_spectrum(m: usize, n: usize, sigma: &[f64], seed: u64) -> (Array2<f64>, Array2<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let r = sigma.len();
        let u = haar_orthonormal(m, r, &mut rng).unwrap();
        let v = haar_orthonormal(n, r, &mut rng).unwrap();
        ((&u * &Array1::from(sigma.to_vec())).dot(&v.t()), u)
    }

    fn largest_sine<'a>(a: ArrayView2<'a, f64>, b: ArrayView2<'a, f64>) -> f64 {
        let angles = principal_angles_orthonormal(a, b, false).unwrap().angles;
        angles.iter().fold(0.0_f64, |m, t| m.max(t.sin()))
    }

    #[test]
    fn gram_basis_is_the_top_singular_subspace_to_rounding() {
        // Tall (XᵀX path), wide (XXᵀ path) and square; σ₁/σ_k = 8, σ_{k+1}/σ_k = 1/2.
        for (m, n, k, seed) in [(100, 50, 5, 1), (40, 90, 3, 2), (60, 60, 10, 3)] {
            let r = m.min(n);
            let sigma: Vec<f64> = (0..r)
                .map(|i| {
                    if i < k {
                        8f64.powf(-(i as f64) / (k - 1) as f64)
                    } else {
                        0.0625 * 0.9f64.powi((i - k) as i32)
                    }
                })
                .collect();
            let (x, u) = with_spectrum(m, n, &sigma, seed);
            let (basis, gram) = top_left_singular_basis_reporting(x.view(), k).unwrap();
            assert!(gram, "{m} × {n}: expected the Gram path");
            assert_eq!(basis.dim(), (m, k));
            let defect = basis.t().dot(&basis) - Array2::<f64>::eye(k);
            assert!(
                defect.iter().all(|d| d.abs() <= 32.0 * f64::EPSILON),
                "{defect}"
            );
            // The SVD perturbs the subspace by about ε σ₁/(σ_k − σ_{k+1}) = 16ε; allow 100 ε.
            let svd = top_left_singular_subspace(x.view(), k).unwrap().basis;
            let exact = u.slice(s![.., ..k]);
            for reference in [svd.view(), exact] {
                let sine = largest_sine(basis.view(), reference);
                assert!(sine <= 100.0 * f64::EPSILON, "{m} × {n}: sin θ = {sine:e}");
            }
        }
    }

    #[test]
    fn a_wide_spectrum_takes_the_svd() {
        let sigma = [1.0, 0.3, 1e-3, 1e-4, 1e-5];
        let (x, _) = with_spectrum(30, 20, &sigma, 4);
        let (basis, gram) = top_left_singular_basis_reporting(x.view(), 3).unwrap();
        assert!(!gram, "σ₁/σ_k = 1000 exceeds the limit");
        assert_eq!(
            basis,
            top_left_singular_subspace(x.view(), 3).unwrap().basis
        );
        // Within the limit, the same matrix's top two directions take the Gram path.
        assert!(top_left_singular_basis_reporting(x.view(), 2).unwrap().1);
    }

    #[test]
    fn bad_ranks_and_entries_are_the_same_errors_as_the_svd_path() {
        let x = Array2::<f64>::eye(4);
        for k in [0, 5] {
            assert_eq!(
                top_left_singular_basis(x.view(), k).unwrap_err(),
                top_left_singular_subspace(x.view(), k).unwrap_err()
            );
        }
        let mut bad = x.clone();
        bad[(1, 2)] = f64::NAN;
        assert!(matches!(
            top_left_singular_basis(bad.view(), 2),
            Err(SubspaceError::NonFinite { row: 1, col: 2, .. })
        ));
    }
}
