use std::f64::consts::FRAC_1_SQRT_2;

use ndarray::{Array1, Array2, ArrayView2, Axis};
use ndarray_linalg::{JobSvd, SVDDC};

use crate::basis::{orthonormal_basis, RankPolicy};
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

/// Principal angles between the column spans of `a` and `b` (any bases, same row count).
///
/// The bases are orthonormalised first ([`orthonormal_basis`], strict: dependent columns are an
/// error), so the result depends only on the spans.
pub fn principal_angles(
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    with_vectors: bool,
) -> Result<PrincipalAngles> {
    if a.nrows() != b.nrows() {
        return Err(SubspaceError::RowMismatch {
            left: a.nrows(),
            right: b.nrows(),
        });
    }
    let qa = orthonormal_basis(a, RankPolicy::Strict)?;
    let qb = orthonormal_basis(b, RankPolicy::Strict)?;
    principal_angles_orthonormal(qa.view(), qb.view(), with_vectors)
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
