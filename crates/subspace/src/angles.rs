use std::f64::consts::FRAC_1_SQRT_2;

use ndarray::{s, Array1, Array2, ArrayView2, Axis};
use ndarray_linalg::{JobSvd, SVDDC};

use crate::basis::{orthonormal_basis, RankPolicy};
use crate::kernels::{self, BlasMatrix};
use crate::{Result, SubspaceError};

/// Principal angles between two subspaces and, when asked for, their principal vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct PrincipalAngles {
    /// `θ₁ ≤ … ≤ θ_m` in radians, `m = min(k₁, k₂)`.
    pub angles: Array1<f64>,
    /// Principal vectors: column `i` of the first matrix lies in the first subspace, column `i`
    /// of the second in the second, both of unit length, with `uᵢᵀvᵢ = cos θᵢ ≥ 0`.
    pub vectors: Option<(Array2<f64>, Array2<f64>)>,
}

/// How [`principal_angles`] reached the orthonormal bases the angles are defined by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnglesMethod {
    /// The Gram matrices `AᵀA`, `BᵀB` and `AᵀB` and the Cholesky factors `R` of the first two;
    /// the orthonormal bases `A R⁻¹` are never formed (BLAS-3 only, `2nk²` flops per basis
    /// instead of a QR's `4nk²`). Its rounding error grows like `ε κ²`, so it is taken only for
    /// well-conditioned bases (see [`GRAM_CONDITION_LIMIT`]) and without principal vectors.
    Gram,
    /// A Householder QR of each basis ([`orthonormal_basis`], backward stable: `O(ε κ)`), then
    /// [`principal_angles_orthonormal`].
    Householder,
}

/// The largest estimated condition number `κ(A)` of a basis for which [`principal_angles`]
/// takes the [`AnglesMethod::Gram`] path.
///
/// The Gram path's absolute error grows like `ε κ²` (the rounding of `AᵀA` relative to
/// `σ_min²`), Householder's like `ε κ`. Measured on the accuracy suite's bases (n ≤ 1000,
/// κ ≤ 10⁵) the Gram error stays below `0.6 ε κ²`, so up to this limit below `40 ε κ`, inside
/// the `100 ε κ` the tests demand. The estimate is `√(κ₁ κ∞)` of LAPACK's `dtrcon` on the
/// Cholesky factor, an upper bound on `κ₂` when `dtrcon`'s estimates are exact; it is about 1
/// for orthonormal bases and overestimates bases mixed by a random change of basis by up to
/// about `√k` (14× at k = 100), which then take the Householder path sooner than they need to.
pub const GRAM_CONDITION_LIMIT: f64 = 64.0;

/// Principal angles between the column spans of `a` and `b` (any bases, same row count).
///
/// The result depends only on the spans: dependent columns are an error, as for
/// [`orthonormal_basis`] with [`RankPolicy::Strict`]. Well-conditioned bases take the BLAS-3
/// [`AnglesMethod::Gram`] path when no vectors are asked for; everything else (ill-conditioned,
/// nearly rank-deficient, extreme scales, principal vectors) is orthonormalised by Householder
/// QR. Both stay within `100 ε κ` of the true angles (`tests/accuracy.rs`).
pub fn principal_angles(
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    with_vectors: bool,
) -> Result<PrincipalAngles> {
    principal_angles_reporting(a, b, with_vectors).map(|(result, _)| result)
}

/// [`principal_angles`], also saying which path it took.
pub fn principal_angles_reporting(
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    with_vectors: bool,
) -> Result<(PrincipalAngles, AnglesMethod)> {
    if a.nrows() != b.nrows() {
        return Err(SubspaceError::RowMismatch {
            left: a.nrows(),
            right: b.nrows(),
        });
    }
    if !with_vectors {
        if let Some(angles) = gram_angles(a, b, GRAM_CONDITION_LIMIT)? {
            let result = PrincipalAngles {
                angles,
                vectors: None,
            };
            return Ok((result, AnglesMethod::Gram));
        }
    }
    let result = householder_angles(a, b, with_vectors)?;
    Ok((result, AnglesMethod::Householder))
}

/// Principal angles by the path given, whatever the conditioning: what the tests use to show
/// that the guard of [`principal_angles`] is needed. [`AnglesMethod::Gram`] refuses principal
/// vectors and bases whose Gram matrix is not numerically positive definite or whose entries
/// would over- or underflow when squared ([`SubspaceError::InvalidArgument`]).
pub fn principal_angles_with(
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    with_vectors: bool,
    method: AnglesMethod,
) -> Result<PrincipalAngles> {
    if a.nrows() != b.nrows() {
        return Err(SubspaceError::RowMismatch {
            left: a.nrows(),
            right: b.nrows(),
        });
    }
    match method {
        AnglesMethod::Householder => householder_angles(a, b, with_vectors),
        AnglesMethod::Gram if with_vectors => Err(SubspaceError::InvalidArgument(
            "the Gram path computes angles only; principal vectors need the Householder path"
                .into(),
        )),
        AnglesMethod::Gram => match gram_angles(a, b, f64::INFINITY)? {
            Some(angles) => Ok(PrincipalAngles {
                angles,
                vectors: None,
            }),
            None => Err(SubspaceError::InvalidArgument(
                "the Gram path needs finite, moderately scaled bases with positive definite Gram \
                 matrices"
                    .into(),
            )),
        },
    }
}

fn householder_angles(
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    with_vectors: bool,
) -> Result<PrincipalAngles> {
    let qa = orthonormal_basis(a, RankPolicy::Strict)?;
    let qb = orthonormal_basis(b, RankPolicy::Strict)?;
    principal_angles_orthonormal(qa.view(), qb.view(), with_vectors)
}

/// The Cholesky factor of `AᵀA` when `A` suits the Gram path with condition at most `limit`.
fn gram_factor(a: &BlasMatrix, limit: f64) -> Option<Vec<f64>> {
    // Squared column norms in [2⁻⁹⁰⁰, 2⁹⁰⁰]: nothing in AᵀA, AᵀB or the solves overflowed, and
    // whatever underflowed is below 2⁻¹²² of its column's norm. NaN and ±∞ fail this test too.
    const LOW: f64 = 1.2e-271; // ≈ 2⁻⁹⁰⁰
    const HIGH: f64 = 8.5e270; // ≈ 2⁹⁰⁰
    let k = a.cols();
    let mut r = kernels::gram_upper(a);
    if !(0..k).all(|j| (LOW..=HIGH).contains(&r[j * k + j])) {
        return None;
    }
    if !kernels::cholesky_upper(&mut r, k) {
        return None;
    }
    if limit.is_finite() {
        let condition = kernels::triangular_condition(&r, k);
        if condition.is_nan() || condition > limit {
            return None;
        }
    }
    Some(r)
}

/// The [`AnglesMethod::Gram`] path; `Ok(None)` when a basis does not qualify (then the
/// Householder path decides, and reports any error exactly as before).
///
/// With `R_A`, `R_B` the Cholesky factors of `AᵀA`, `BᵀB`, the implicit orthonormal bases are
/// `Q_A = A R_A⁻¹`, `Q_B = B R_B⁻¹` and the cosines are the singular values of
/// `M = R_L⁻ᵀ (LᵀS) R_S⁻¹` (`L` the basis of the larger subspace, `S` of the smaller). As in
/// [`principal_angles_orthonormal`], an angle whose cosine is at least `1/√2` is taken from its
/// sine: with `M = Y Σ Zᵀ` and `Z_s`, `Y_s`, `Σ_s` the columns of those angles, the sines are
/// the singular values of the `n × s` residual `Q_S Z_s − Q_L Y_s Σ_s = S (R_S⁻¹ Z_s) −
/// L (R_L⁻¹ Y_s Σ_s)`. Restricting the residual to those columns (Knyazev & Argentati take all
/// `m`) costs `O(n k s)` instead of `O(n k m)`; a rotation of `Z_s` towards neighbouring angles
/// changes the sines only by the difference of the angles times the square of the rotation.
fn gram_angles(a: ArrayView2<f64>, b: ArrayView2<f64>, limit: f64) -> Result<Option<Array1<f64>>> {
    let (n, ka, kb) = (a.nrows(), a.ncols(), b.ncols());
    if n == 0 || ka == 0 || kb == 0 || ka > n || kb > n || !kernels::fits_blas(&[n, ka, kb]) {
        return Ok(None);
    }
    let (a, b) = (BlasMatrix::new(a), BlasMatrix::new(b));
    let Some(ra) = gram_factor(&a, limit) else {
        return Ok(None);
    };
    let Some(rb) = gram_factor(&b, limit) else {
        return Ok(None);
    };
    // Project the smaller subspace onto the larger one: its dimension is the number of angles.
    let (large, r_large, small, r_small) = if ka >= kb {
        (&a, &ra, &b, &rb)
    } else {
        (&b, &rb, &a, &ra)
    };
    let (kl, m) = (large.cols(), small.cols());
    let mut cross = kernels::cross(large, small); // Lᵀ S, kl × m
    kernels::solve_upper_left(r_large, kl, &mut cross, m, true);
    kernels::solve_upper_right(r_small, m, &mut cross, kl);
    let cross = kernels::to_array(cross, kl, m); // Q_Lᵀ Q_S
    let (_, cosines, _) = cross.svddc(JobSvd::None)?; // descending
    let small_count = cosines.iter().take_while(|&&c| c >= FRAC_1_SQRT_2).count();
    let mut angles = Array1::zeros(m);
    for i in small_count..m {
        angles[i] = cosines[i].min(1.0).acos();
    }
    if small_count > 0 {
        let (y, sigma, zt) = cross.svddc(JobSvd::Some)?;
        let (y, zt) = (y.expect("requested U"), zt.expect("requested Vᵀ"));
        // x = R_S⁻¹ Z_s (m × s), w = R_L⁻¹ Y_s Σ_s (kl × s), both column-major.
        let mut x: Vec<f64> = zt.slice(s![..small_count, ..]).iter().copied().collect();
        let mut w: Vec<f64> = Vec::with_capacity(kl * small_count);
        for j in 0..small_count {
            w.extend(y.column(j).iter().map(|v| v * sigma[j]));
        }
        kernels::solve_upper_left(r_small, m, &mut x, small_count, false);
        kernels::solve_upper_left(r_large, kl, &mut w, small_count, false);
        let mut residual = vec![0.0; n * small_count];
        kernels::multiply_into(1.0, small, &x, small_count, 0.0, &mut residual);
        kernels::multiply_into(-1.0, large, &w, small_count, 1.0, &mut residual);
        let (_, sines, _) = kernels::to_array(residual, n, small_count).svddc(JobSvd::None)?; // descending
        for i in 0..small_count {
            angles[i] = sines[small_count - 1 - i].min(1.0).asin();
        }
    }
    let mut result = PrincipalAngles {
        angles,
        vectors: None,
    };
    sort_ascending(&mut result);
    Ok(Some(result.angles))
}

/// Principal angles between the spans of two matrices with orthonormal columns.
///
/// Follows Knyazev & Argentati (2002, SIAM J. Sci. Comput. 23(6), Alg. 3.1): the cosines are the
/// singular values of `Q_Lᵀ Q_S`, the sines those of `Q_S − Q_L (Q_Lᵀ Q_S)`, where `Q_S` is the
/// basis of the smaller subspace. An angle whose cosine is at least `1/√2` is taken from its sine
/// (arccos loses all accuracy near 0), the others from their cosine (arcsin loses it near π/2).
/// Cosines sorted descending pair with sines sorted ascending, so each angle is accurate to
/// `O(ε)` absolutely whatever mix of small and large angles the pair has. (`scipy.linalg.
/// subspace_angles` does not: for true angles [1.5, 1e-10] it reports 0 or 1.49e-8 for the
/// small one; `tests/accuracy.rs` holds that case.)
pub fn principal_angles_orthonormal<'a>(
    qa: ArrayView2<'a, f64>,
    qb: ArrayView2<'a, f64>,
    with_vectors: bool,
) -> Result<PrincipalAngles> {
    if qa.nrows() != qb.nrows() {
        return Err(SubspaceError::RowMismatch {
            left: qa.nrows(),
            right: qb.nrows(),
        });
    }
    for q in [&qa, &qb] {
        if q.nrows() == 0 || q.ncols() == 0 {
            return Err(SubspaceError::Empty {
                rows: q.nrows(),
                cols: q.ncols(),
            });
        }
    }
    // Project the smaller subspace onto the larger one: its dimension is the number of angles.
    let swapped = qa.ncols() < qb.ncols();
    let (large, small) = if swapped { (qb, qa) } else { (qa, qb) };
    let m = small.ncols();

    let cross = large.t().dot(&small); // Q_Lᵀ Q_S, p × m
    let cos_job = if with_vectors {
        JobSvd::Some
    } else {
        JobSvd::None
    };
    let (y, cosines, zt) = cross.svddc(cos_job)?; // descending
    let use_sine: Vec<bool> = (0..m).map(|i| cosines[i] >= FRAC_1_SQRT_2).collect();
    // The sines are needed only for angles below π/4. Without any, skip the n × m residual and
    // its SVD: they cost as much as everything else together (random pairs in high dimension
    // have no small angles).
    let (sines, sine_vt) = if use_sine.iter().any(|&u| u) {
        let residual = &small - &large.dot(&cross); // (I − P_L) Q_S, n × m
        let (_, sines, sine_vt) = residual.svddc(cos_job)?; // descending; reversed below
        (sines, sine_vt)
    } else {
        (Array1::zeros(m), None)
    };

    let mut angles = Array1::zeros(m);
    for i in 0..m {
        angles[i] = if use_sine[i] {
            sines[m - 1 - i].min(1.0).asin()
        } else {
            cosines[i].min(1.0).acos()
        };
    }

    let vectors = if with_vectors {
        let (y, zt) = (y.expect("requested U"), zt.expect("requested Vᵀ"));
        let n = small.nrows();
        let mut u_large = Array2::zeros((n, m));
        let mut v_small = Array2::zeros((n, m));
        for (i, &small_angle) in use_sine.iter().enumerate() {
            if small_angle {
                // Small angle: the sine SVD resolves the direction in the small subspace; its
                // partner is the normalised projection onto the large one (cos θ ≥ 1/√2).
                let z = sine_vt
                    .as_ref()
                    .expect("sines are computed when an angle uses them")
                    .row(m - 1 - i);
                let v = small.dot(&z);
                let coefficients = cross.dot(&z); // Q_Lᵀ v
                let norm = coefficients.dot(&coefficients).sqrt();
                let u = large.dot(&(coefficients / norm));
                v_small.column_mut(i).assign(&v);
                u_large.column_mut(i).assign(&u);
            } else {
                v_small.column_mut(i).assign(&small.dot(&zt.row(i)));
                u_large.column_mut(i).assign(&large.dot(&y.column(i)));
            }
        }
        Some(if swapped {
            (v_small, u_large)
        } else {
            (u_large, v_small)
        })
    } else {
        None
    };

    let mut result = PrincipalAngles { angles, vectors };
    sort_ascending(&mut result);
    Ok(result)
}

/// Near π/4 the sine-side and cosine-side values can swap order by an ulp; restore the promise
/// of ascending angles, permuting the vectors along.
fn sort_ascending(result: &mut PrincipalAngles) {
    let m = result.angles.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| result.angles[i].total_cmp(&result.angles[j]));
    if order.iter().enumerate().all(|(pos, &i)| pos == i) {
        return;
    }
    result.angles = order.iter().map(|&i| result.angles[i]).collect();
    if let Some((u, v)) = &mut result.vectors {
        *u = u.select(Axis(1), &order);
        *v = v.select(Axis(1), &order);
    }
}
