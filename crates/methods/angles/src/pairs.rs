//! Pairs of subspaces with prescribed principal angles, built from a seed by a construction
//! another language reproduces bit for bit (see the crate documentation).

use std::f64::consts::PI;

use ndarray::{s, Array2};

/// SplitMix64 (Steele, Lea & Flood 2014): a generator any language reproduces in a few lines.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits (exact in binary64).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// A pair of subspaces of R^n with prescribed principal angles.
pub struct Pair {
    /// n × (k + extra).
    pub a: Array2<f64>,
    /// n × k.
    pub b: Array2<f64>,
    /// The k prescribed angles, ascending.
    pub angles: Vec<f64>,
}

/// The first `2k + extra` columns of an orthogonal Q = a butterfly of Givens rotations (for
/// stride = 1, 2, 4, … < n, rows (i, i + stride) for every i without the stride's bit, in
/// ascending i; angles 2π·U from SplitMix64(seed)), so every row of Q mixes every input; then
/// A = [q_0 … q_{k−1}, q_{2k} … q_{2k+extra−1}] and B_j = cos θ_j q_j + sin θ_j q_{k+j}, where
/// θ_j = `angles[j mod len]`. span(A) ⊃ … has exactly the k principal angles θ with span(B).
pub fn prescribed_pair(n: usize, k: usize, extra: usize, angles: &[f64], seed: u64) -> Pair {
    let m = 2 * k + extra;
    assert!(
        m <= n && k >= 1 && !angles.is_empty(),
        "checked by the method"
    );
    let mut x = Array2::<f64>::zeros((n, m));
    for j in 0..m {
        x[[j, j]] = 1.0;
    }
    let mut rng = SplitMix64::new(seed);
    let mut stride = 1;
    while stride < n {
        for i in (0..n).filter(|i| i & stride == 0 && i + stride < n) {
            let phi = 2.0 * PI * rng.uniform();
            let (c, s) = (phi.cos(), phi.sin());
            for j in 0..m {
                let (p, q) = (x[[i, j]], x[[i + stride, j]]);
                x[[i, j]] = c * p - s * q;
                x[[i + stride, j]] = s * p + c * q;
            }
        }
        stride *= 2;
    }
    let theta: Vec<f64> = (0..k).map(|j| angles[j % angles.len()]).collect();
    let mut a = Array2::<f64>::zeros((n, k + extra));
    a.slice_mut(s![.., ..k]).assign(&x.slice(s![.., ..k]));
    a.slice_mut(s![.., k..]).assign(&x.slice(s![.., 2 * k..]));
    let mut b = Array2::<f64>::zeros((n, k));
    for (j, t) in theta.iter().enumerate() {
        let (c, s) = (t.cos(), t.sin());
        for i in 0..n {
            b[[i, j]] = c * x[[i, j]] + s * x[[i, k + j]];
        }
    }
    let mut sorted = theta;
    sorted.sort_by(f64::total_cmp);
    Pair {
        a,
        b,
        angles: sorted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pinned: `methods/external/scipy_angles/pairs.py` draws the same stream.
    #[test]
    fn splitmix_matches_its_reference() {
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
    }

    #[test]
    fn pairs_have_orthonormal_bases_and_the_prescribed_angles() {
        let pair = prescribed_pair(40, 3, 2, &[1.5, 1e-10, 0.7], 9);
        let eps = f64::EPSILON;
        let gram = pair.a.t().dot(&pair.a);
        for ((i, j), g) in gram.indexed_iter() {
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((g - want).abs() < 100.0 * eps, "{i} {j} {g}");
        }
        let got = subspace::principal_angles(pair.a.view(), pair.b.view(), false).unwrap();
        for (c, t) in got.angles.iter().zip(&pair.angles) {
            assert!((c - t).abs() < 100.0 * eps, "{c} vs {t}");
        }
        // Q is dense: every row of A has non-zero entries.
        assert!(pair
            .a
            .rows()
            .into_iter()
            .all(|r| r.iter().any(|x| x.abs() > 1e-3)));
    }
}
