use ndarray::{s, Array2, ArrayView2};
use ndarray_linalg::{JobSvd, QR, SVDDC};

use crate::{Result, SubspaceError};

/// What to do when the columns of a basis are numerically linearly dependent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RankPolicy {
    /// Rank deficiency is an error: the caller said these columns span a `k`-dimensional space.
    #[default]
    Strict,
    /// Keep the numerically significant directions only (the returned basis has fewer columns).
    Truncate,
}

/// The threshold below which a singular value counts as zero: `max(rows, cols) · ε · σ_max`.
///
/// This is the convention of LAPACK's rank-revealing drivers, MATLAB's `rank` and NumPy's
/// `matrix_rank`: a singular value that small is indistinguishable from rounding noise in a
/// backward-stable factorisation of the matrix.
pub fn numerical_rank_tolerance(rows: usize, cols: usize, largest_singular_value: f64) -> f64 {
    rows.max(cols) as f64 * f64::EPSILON * largest_singular_value
}

/// `Ok` when every entry is finite; otherwise the first offending entry, row-major.
pub fn check_finite(a: ArrayView2<f64>) -> Result<()> {
    match a.indexed_iter().find(|(_, v)| !v.is_finite()) {
        None => Ok(()),
        Some(((row, col), &value)) => Err(SubspaceError::NonFinite { row, col, value }),
    }
}

/// An orthonormal basis (`n × r`, `QᵀQ = I` to rounding) of the column span of `a` (`n × k`).
///
/// Computed as a Householder QR followed by an SVD of the small triangular factor, which reveals
/// the numerical rank `r` (see [`numerical_rank_tolerance`]). With [`RankPolicy::Strict`] a rank
/// below `k` is an error; with [`RankPolicy::Truncate`] the `r` dominant directions are kept.
/// The span is perturbed by `O(ε · cond(a))`, which is the best any backward-stable method does.
pub fn orthonormal_basis(a: ArrayView2<f64>, policy: RankPolicy) -> Result<Array2<f64>> {
    let (n, k) = a.dim();
    if n == 0 || k == 0 {
        return Err(SubspaceError::Empty { rows: n, cols: k });
    }
    check_finite(a)?;
    // Rotate the factor's column space so that directions come sorted by singular value:
    // A = Q R = (Q U_R) Σ V_Rᵀ.
    let rank_of = |sv: &ndarray::Array1<f64>| {
        let tolerance = numerical_rank_tolerance(n, k, sv[0]);
        (sv.iter().take_while(|&&s| s > tolerance).count(), tolerance)
    };
    let (q, u, sv) = if n >= k {
        let (q, r) = a.qr()?;
        // The singular values decide the rank; the rotation U is needed only to truncate, and
        // costs several times more than the values for large k.
        let (_, sv, _) = r.svddc(JobSvd::None)?;
        if rank_of(&sv).0 == k {
            return Ok(q);
        }
        let (u, sv, _) = r.svddc(JobSvd::Some)?;
        (Some(q), u.expect("requested U"), sv)
    } else {
        let (u, sv, _) = a.svddc(JobSvd::Some)?;
        (None, u.expect("requested U"), sv)
    };
    let (rank, tolerance) = rank_of(&sv);
    if rank < k && policy == RankPolicy::Strict {
        return Err(SubspaceError::RankDeficient {
            cols: k,
            rank,
            tolerance,
        });
    }
    if rank == 0 {
        return Err(SubspaceError::RankDeficient {
            cols: k,
            rank,
            tolerance,
        });
    }
    Ok(match q {
        // Full rank by these singular values (the values-only ones said otherwise, by an ulp).
        Some(q) if rank == k => q,
        Some(q) => q.dot(&u.slice(s![.., ..rank])),
        None => u.slice(s![.., ..rank]).to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn orthonormality_defect(q: &Array2<f64>) -> f64 {
        let g = q.t().dot(q) - Array2::<f64>::eye(q.ncols());
        g.iter().fold(0.0_f64, |m, v| m.max(v.abs()))
    }

    #[test]
    fn basis_is_orthonormal_and_spans_the_columns() {
        let a = array![[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]];
        let q = orthonormal_basis(a.view(), RankPolicy::Strict).unwrap();
        assert_eq!(q.dim(), (3, 2));
        assert!(orthonormality_defect(&q) <= 8.0 * f64::EPSILON);
        // Every column of `a` is reproduced by projecting onto span(q).
        let residual = &a - &q.dot(&q.t().dot(&a));
        let scale = a.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        assert!(residual
            .iter()
            .all(|r| r.abs() <= 32.0 * f64::EPSILON * scale));
    }

    #[test]
    fn rank_deficiency_is_an_error_unless_truncation_is_asked_for() {
        let a = array![
            [1.0, 2.0, 3.0],
            [2.0, 4.0, 1.0],
            [3.0, 6.0, 0.0],
            [4.0, 8.0, 2.0]
        ];
        match orthonormal_basis(a.view(), RankPolicy::Strict) {
            Err(SubspaceError::RankDeficient {
                cols: 3, rank: 2, ..
            }) => {}
            other => panic!("expected rank deficiency, got {other:?}"),
        }
        let q = orthonormal_basis(a.view(), RankPolicy::Truncate).unwrap();
        assert_eq!(q.ncols(), 2);
        assert!(orthonormality_defect(&q) <= 8.0 * f64::EPSILON);
    }

    #[test]
    fn wide_input_is_rank_deficient() {
        let a = array![[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]];
        assert!(matches!(
            orthonormal_basis(a.view(), RankPolicy::Strict),
            Err(SubspaceError::RankDeficient {
                cols: 3,
                rank: 2,
                ..
            })
        ));
        assert_eq!(
            orthonormal_basis(a.view(), RankPolicy::Truncate)
                .unwrap()
                .dim(),
            (2, 2)
        );
    }

    #[test]
    fn empty_and_non_finite_inputs_are_rejected() {
        let empty = Array2::<f64>::zeros((4, 0));
        assert!(matches!(
            orthonormal_basis(empty.view(), RankPolicy::Strict),
            Err(SubspaceError::Empty { rows: 4, cols: 0 })
        ));
        let a = array![[1.0, 0.0], [f64::NAN, 1.0]];
        assert!(matches!(
            orthonormal_basis(a.view(), RankPolicy::Strict),
            Err(SubspaceError::NonFinite { row: 1, col: 0, .. })
        ));
        let zero = Array2::<f64>::zeros((3, 2));
        assert!(matches!(
            orthonormal_basis(zero.view(), RankPolicy::Truncate),
            Err(SubspaceError::RankDeficient { rank: 0, .. })
        ));
    }
}
