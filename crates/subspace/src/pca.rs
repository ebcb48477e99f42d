use ndarray::{s, Array1, Array2, ArrayView2};
use ndarray_linalg::{JobSvd, SVDDC};

use crate::basis::check_finite;
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
    let (m, n) = x.dim();
    if k == 0 || k > m.min(n) {
        return Err(SubspaceError::InvalidArgument(format!(
            "PCA rank k must satisfy 1 ≤ k ≤ min(m, n) = {}; got {k}",
            m.min(n)
        )));
    }
    check_finite(x)?;
    let (u, singular_values, _) = x.svddc(JobSvd::Some)?;
    let basis = u.expect("requested U").slice(s![.., ..k]).to_owned();
    Ok(Pca {
        basis,
        singular_values,
    })
}
