//! The largest eigenvalue of a symmetric positive semi-definite matrix by power iteration: what
//! step sizes need (gradient methods scale steps by 1/λ_max), far cheaper than a decomposition.

use ndarray::{Array1, ArrayView2};

/// λ_max of a symmetric positive semi-definite `m` after `iterations` steps of power iteration from
/// the uniform unit vector. It approaches λ_max from below, geometrically in λ₂/λ₁; callers that
/// need an upper bound add a margin. Returns 0 for the zero matrix.
pub fn largest_eigenvalue_psd(m: ArrayView2<f64>, iterations: usize) -> f64 {
    let mut v = Array1::from_elem(m.nrows(), 1.0 / (m.nrows() as f64).sqrt());
    let mut top = 0.0;
    for _ in 0..iterations {
        let w = m.dot(&v);
        top = w.dot(&w).sqrt();
        if top == 0.0 {
            return 0.0;
        }
        v = w / top;
    }
    top
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{gaussian_matrix, haar_orthonormal};
    use ndarray::{Array1, Array2};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn converges_to_the_top_of_a_known_spectrum() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let u = haar_orthonormal(20, 20, &mut rng).unwrap();
        let spectrum = Array1::from_shape_fn(20, |i| 10.0 / (1.0 + i as f64)); // gap 2
        let m = (&u * &spectrum).dot(&u.t());
        let estimate = largest_eigenvalue_psd(m.view(), 100);
        // (λ₂/λ₁)^(2·100) = 2^-200: only rounding remains.
        assert!(
            (estimate - 10.0).abs() < 1e3 * f64::EPSILON * 10.0,
            "{estimate}"
        );
        assert!(largest_eigenvalue_psd(m.view(), 3) <= 10.0 * (1.0 + 1e-12));
        assert_eq!(
            largest_eigenvalue_psd(Array2::zeros((4, 4)).view(), 10),
            0.0
        );
        let g = gaussian_matrix(30, 5, &mut rng);
        assert!(largest_eigenvalue_psd(g.t().dot(&g).view(), 50) > 0.0);
    }
}
