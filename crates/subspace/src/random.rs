use ndarray::{s, Array1, Array2};
use ndarray_linalg::QR;
use rand::Rng;
use rand_distr::StandardNormal;

use crate::{Result, SubspaceError};

/// An `n × k` matrix of independent standard normal entries, drawn row by row.
pub fn gaussian_matrix<R: Rng + ?Sized>(n: usize, k: usize, rng: &mut R) -> Array2<f64> {
    Array2::from_shape_simple_fn((n, k), || rng.sample(StandardNormal))
}

/// An orthonormal basis of a uniformly (Haar) distributed `k`-dimensional subspace of `Rⁿ`.
///
/// QR of a Gaussian matrix with the signs of `R`'s diagonal folded into `Q` (Mezzadri 2007):
/// without that correction the distribution of `Q` is not Haar. With `k = n` the result is a
/// Haar-distributed orthogonal matrix.
pub fn haar_orthonormal<R: Rng + ?Sized>(n: usize, k: usize, rng: &mut R) -> Result<Array2<f64>> {
    if k == 0 || k > n {
        return Err(SubspaceError::InvalidArgument(format!(
            "a random subspace needs 1 ≤ k ≤ n; got k = {k}, n = {n}"
        )));
    }
    let (mut q, r) = gaussian_matrix(n, k, rng).qr()?;
    for (j, mut column) in q.columns_mut().into_iter().enumerate() {
        if r[(j, j)] < 0.0 {
            column.mapv_inplace(|v| -v);
        }
    }
    Ok(q)
}

/// Two subspaces of `Rⁿ` with prescribed principal angles, as orthonormal bases.
#[derive(Debug, Clone)]
pub struct SubspacePair {
    /// `n × k₁`, orthonormal columns.
    pub a: Array2<f64>,
    /// `n × k₂`, orthonormal columns.
    pub b: Array2<f64>,
}

/// A random pair of subspaces (dimensions `k_a`, `k_b`) whose principal angles are `angles`.
///
/// `angles` has `min(k_a, k_b)` entries in `[0, π/2]`, any order. A Haar-random orthonormal frame
/// `[q₁ … q_{k_a+k_b}]` is drawn (so `n ≥ k_a + k_b`); `a = [q₁ … q_{k_a}]` and column `i` of `b`
/// is `cos θᵢ qᵢ + sin θᵢ q_{k_a+i}`, plus the remaining frame vectors when `k_b > k_a`. The
/// computed angles equal the prescribed ones to `O(ε)` absolutely.
pub fn subspace_pair_with_angles<R: Rng + ?Sized>(
    n: usize,
    k_a: usize,
    k_b: usize,
    angles: &[f64],
    rng: &mut R,
) -> Result<SubspacePair> {
    let m = k_a.min(k_b);
    if m == 0 || angles.len() != m {
        return Err(SubspaceError::InvalidArgument(format!(
            "need min(k_a, k_b) = {m} ≥ 1 angles; got {}",
            angles.len()
        )));
    }
    if let Some(bad) = angles
        .iter()
        .find(|t| !(0.0..=std::f64::consts::FRAC_PI_2).contains(*t))
    {
        return Err(SubspaceError::InvalidArgument(format!(
            "principal angles lie in [0, π/2]; got {bad}"
        )));
    }
    if n < k_a + k_b {
        return Err(SubspaceError::InvalidArgument(format!(
            "prescribing angles between dimensions {k_a} and {k_b} needs n ≥ {}; got n = {n}",
            k_a + k_b
        )));
    }
    let frame = haar_orthonormal(n, k_a + k_b, rng)?;
    let a = frame.slice(s![.., ..k_a]).to_owned();
    let mut b = Array2::zeros((n, k_b));
    for (i, &theta) in angles.iter().enumerate() {
        let column = &frame.column(i) * theta.cos() + &frame.column(k_a + i) * theta.sin();
        b.column_mut(i).assign(&column);
    }
    for i in m..k_b {
        b.column_mut(i).assign(&frame.column(k_a + i));
    }
    Ok(SubspacePair { a, b })
}

/// A random `k × k` matrix with 2-norm condition number `cond`: `Q₁ diag(σ) Q₂ᵀ` with Haar `Qᵢ`
/// and singular values log-spaced from 1 down to `1/cond`. Multiplying a basis by it changes the
/// basis but not its span: the tool for change-of-basis tests.
pub fn matrix_with_condition<R: Rng + ?Sized>(
    k: usize,
    cond: f64,
    rng: &mut R,
) -> Result<Array2<f64>> {
    if !(cond >= 1.0 && cond.is_finite()) {
        return Err(SubspaceError::InvalidArgument(format!(
            "a condition number is finite and ≥ 1; got {cond}"
        )));
    }
    let q1 = haar_orthonormal(k, k, rng)?;
    let q2 = haar_orthonormal(k, k, rng)?;
    let sigma: Array1<f64> = if k == 1 {
        Array1::ones(1)
    } else {
        Array1::from_shape_fn(k, |i| cond.powf(-(i as f64) / (k - 1) as f64))
    };
    Ok((q1 * &sigma).dot(&q2.t()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn haar_basis_is_orthonormal() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let q = haar_orthonormal(30, 7, &mut rng).unwrap();
        let defect = (q.t().dot(&q) - Array2::<f64>::eye(7)).mapv(f64::abs);
        assert!(defect.iter().all(|&d| d <= 30.0 * f64::EPSILON));
    }

    #[test]
    fn same_seed_same_subspace() {
        let draw = |seed| haar_orthonormal(10, 3, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
        assert_eq!(draw(5), draw(5));
        assert_ne!(draw(5), draw(6));
    }

    #[test]
    fn bad_arguments_are_errors() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert!(haar_orthonormal(3, 4, &mut rng).is_err());
        assert!(subspace_pair_with_angles(5, 3, 3, &[0.1, 0.2, 0.3], &mut rng).is_err());
        assert!(subspace_pair_with_angles(8, 2, 2, &[0.1, 2.0], &mut rng).is_err());
        assert!(subspace_pair_with_angles(8, 2, 2, &[0.1], &mut rng).is_err());
        assert!(matrix_with_condition(3, 0.5, &mut rng).is_err());
    }
}
