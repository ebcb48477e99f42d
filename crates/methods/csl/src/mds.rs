//! Subspace visualisation: classical MDS of pairwise subspace distances, and Procrustes
//! comparison of two embeddings.

use ndarray::{Array2, Axis};
use ndarray_linalg::{Eigh, JobSvd, SVDDC, UPLO};
use subspace::{principal_angles_orthonormal, Distance};

/// Classical (Torgerson) MDS: the top-`dims` coordinates of `−½ J D² J`.
pub fn classical_mds(d: &Array2<f64>, dims: usize) -> Array2<f64> {
    let m = d.nrows();
    let d2 = d.mapv(|x| x * x);
    let row_means = d2.mean_axis(Axis(1)).expect("non-empty");
    let total = row_means.mean().expect("non-empty");
    let b = Array2::from_shape_fn((m, m), |(i, j)| {
        -0.5 * (d2[(i, j)] - row_means[i] - row_means[j] + total)
    });
    let (values, vectors) = b.eigh(UPLO::Upper).expect("symmetric");
    let mut x = Array2::zeros((m, dims));
    for k in 0..dims {
        let idx = m - 1 - k; // eigh sorts ascending
        let scale = values[idx].max(0.0).sqrt();
        x.column_mut(k).assign(&(&vectors.column(idx) * scale));
    }
    x
}

/// Procrustes disparity as scipy.spatial.procrustes defines it: both configurations centred and
/// scaled to unit Frobenius norm, the second rotated (or reflected) onto the first; the residual
/// sum of squares, in [0, 1].
pub fn procrustes_disparity(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let standardise = |x: &Array2<f64>| {
        let centred = x - &x.mean_axis(Axis(0)).expect("non-empty");
        let norm = centred.iter().map(|v| v * v).sum::<f64>().sqrt();
        centred / norm
    };
    let (a, b) = (standardise(a), standardise(b));
    let (_, s, _) = a
        .t()
        .dot(&b)
        .svddc(JobSvd::None)
        .expect("a small SVD converges");
    1.0 - s.sum().powi(2)
}

/// `x` centred on `target`'s centre and rotated (or reflected) onto it: orthogonal Procrustes,
/// `R = U Vᵀ` from the SVD of `x_cᵀ target_c`. Only for display; the disparity metric is
/// computed on the unaligned embeddings.
pub fn align(x: &Array2<f64>, target: &Array2<f64>) -> Array2<f64> {
    let centre = |m: &Array2<f64>| m - &m.mean_axis(Axis(0)).expect("non-empty");
    let (xc, tc) = (centre(x), centre(target));
    let (u, _, vt) = xc
        .t()
        .dot(&tc)
        .svddc(JobSvd::All)
        .expect("a 2 × 2 SVD converges");
    xc.dot(&u.expect("requested U").dot(&vt.expect("requested Vᵀ")))
        + &target.mean_axis(Axis(0)).expect("non-empty")
}

/// The pairwise projection F-distances (chordal, `‖sin θ‖₂`) of subspaces given by orthonormal
/// bases.
pub fn pairwise_chordal(bases: &[Array2<f64>]) -> subspace::Result<Array2<f64>> {
    let m = bases.len();
    let mut d = Array2::zeros((m, m));
    for i in 0..m {
        for j in i + 1..m {
            let angles =
                principal_angles_orthonormal(bases[i].view(), bases[j].view(), false)?.angles;
            let v = Distance::Chordal.from_angles(angles.as_slice().expect("contiguous"));
            d[(i, j)] = v;
            d[(j, i)] = v;
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mds_recovers_a_planar_configuration_up_to_rotation() {
        let points: Array2<f64> =
            ndarray::array![[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 1.0], [-1.0, -1.0]];
        let m = points.nrows();
        let d = Array2::from_shape_fn((m, m), |(i, j)| {
            let diff = &points.row(i) - &points.row(j);
            diff.dot(&diff).sqrt() as f64
        });
        let embedded = classical_mds(&d, 2);
        assert!(procrustes_disparity(&points, &embedded) < 1e-20);
        // A genuinely different configuration has a positive disparity.
        let other = ndarray::array![[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [0.0, 3.0], [1.0, -2.0]];
        assert!(procrustes_disparity(&points, &other) > 0.1);
    }
}
