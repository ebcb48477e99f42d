use std::fmt;
use std::str::FromStr;

use ndarray::Array2;
use rand::seq::index::sample;
use rand::Rng;
use rand_distr::StandardNormal;

use crate::{Result, SubspaceError};

/// Random projection families with the Johnson–Lindenstrauss property, each scaled so that
/// `E[ΦᵀΦ] = I`: distances and inner products are preserved in expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Projection {
    /// Entries `N(0, 1/n)`.
    Gaussian,
    /// Entries `±1/√n` with equal probability.
    Rademacher,
    /// Achlioptas (2003): `√(3/n)·{+1, 0, −1}` with probabilities `1/6, 2/3, 1/6`.
    Achlioptas,
    /// "Very sparse" random projections (Li, Hastie & Church, 2006) with `s = √N`:
    /// `√(s/n)·{+1, 0, −1}` with probabilities `1/(2s), 1 − 1/s, 1/(2s)`. Named `sparse` in
    /// specs and here (one name for the family everywhere).
    Sparse,
    /// Subsampled randomised Hadamard transform `√(N'/n) · R H D` (Ailon & Chazelle), `N'` the
    /// next power of two ≥ N, `H` the orthonormal Walsh–Hadamard matrix, `D` random signs and
    /// `R` `n` rows drawn without replacement; the columns beyond `N` are dropped.
    Srht,
}

impl Projection {
    /// Every family, in the order the CLI lists them.
    pub const ALL: [Projection; 5] = [
        Projection::Gaussian,
        Projection::Rademacher,
        Projection::Achlioptas,
        Projection::Sparse,
        Projection::Srht,
    ];

    /// The name used in specs.
    pub fn name(self) -> &'static str {
        match self {
            Projection::Gaussian => "gaussian",
            Projection::Rademacher => "rademacher",
            Projection::Achlioptas => "achlioptas",
            Projection::Sparse => "sparse",
            Projection::Srht => "srht",
        }
    }

    /// A projection `Φ ∈ R^{n × big_n}` from this family.
    pub fn matrix<R: Rng + ?Sized>(
        self,
        n: usize,
        big_n: usize,
        rng: &mut R,
    ) -> Result<Array2<f64>> {
        if n == 0 || big_n == 0 {
            return Err(SubspaceError::InvalidArgument(format!(
                "a projection needs n ≥ 1 and N ≥ 1; got n = {n}, N = {big_n}"
            )));
        }
        let scale = 1.0 / (n as f64).sqrt();
        Ok(match self {
            Projection::Gaussian => Array2::from_shape_simple_fn((n, big_n), || {
                scale * rng.sample::<f64, _>(StandardNormal)
            }),
            Projection::Rademacher => Array2::from_shape_simple_fn((n, big_n), || {
                if rng.gen::<bool>() {
                    scale
                } else {
                    -scale
                }
            }),
            Projection::Achlioptas => sparse_sign_matrix(n, big_n, 3.0, rng),
            Projection::Sparse => sparse_sign_matrix(n, big_n, (big_n as f64).sqrt(), rng),
            Projection::Srht => {
                let padded = big_n.next_power_of_two();
                if n > padded {
                    return Err(SubspaceError::InvalidArgument(format!(
                        "SRHT draws n = {n} distinct rows of a {padded}-point transform; need n ≤ {padded}"
                    )));
                }
                let rows = sample(rng, padded, n).into_vec();
                let signs: Vec<f64> = (0..big_n)
                    .map(|_| if rng.gen::<bool>() { 1.0 } else { -1.0 })
                    .collect();
                // √(N'/n) · (1/√N') · (−1)^popcount(i & j) · d_j
                Array2::from_shape_fn((n, big_n), |(r, j)| {
                    let parity = (rows[r] & j).count_ones() & 1;
                    let h = if parity == 0 { scale } else { -scale };
                    h * signs[j]
                })
            }
        })
    }
}

/// Entries `√(s/n)·{+1, 0, −1}` with probabilities `1/(2s), 1 − 1/s, 1/(2s)`: unit variance after scaling.
fn sparse_sign_matrix<R: Rng + ?Sized>(n: usize, big_n: usize, s: f64, rng: &mut R) -> Array2<f64> {
    let magnitude = (s / n as f64).sqrt();
    let half = 0.5 / s;
    Array2::from_shape_simple_fn((n, big_n), || {
        let u: f64 = rng.gen();
        if u < half {
            magnitude
        } else if u < 2.0 * half {
            -magnitude
        } else {
            0.0
        }
    })
}

impl fmt::Display for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Projection {
    type Err = SubspaceError;

    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        Projection::ALL
            .into_iter()
            .find(|p| p.name() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = Projection::ALL.iter().map(|p| p.name()).collect();
                SubspaceError::InvalidArgument(format!(
                    "unknown projection '{s}'; accepted: {}",
                    names.join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// `E[ΦᵀΦ] = I`: averaged over draws, the Gram matrix of a projection approaches the identity
    /// at the Monte-Carlo rate. The bound is five standard errors of an entry whose variance is
    /// at most 3/n per draw (sparse families have the heaviest tails, kurtosis s).
    #[test]
    fn every_family_is_isotropic_in_expectation() {
        let (n, big_n, draws) = (16, 12, 400);
        for family in Projection::ALL {
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            let mut mean = Array2::<f64>::zeros((big_n, big_n));
            for _ in 0..draws {
                let phi = family.matrix(n, big_n, &mut rng).unwrap();
                mean = mean + phi.t().dot(&phi);
            }
            mean /= draws as f64;
            let s = (big_n as f64).sqrt().max(3.0);
            let se = (s / (n as f64 * draws as f64)).sqrt();
            let worst = (mean - Array2::<f64>::eye(big_n))
                .mapv(f64::abs)
                .fold(0.0_f64, |m, &v| m.max(v));
            assert!(
                worst <= 5.0 * se,
                "{family}: worst deviation {worst}, 5·se = {}",
                5.0 * se
            );
        }
    }

    #[test]
    fn srht_rows_are_orthogonal() {
        // Distinct rows of an orthonormal Hadamard transform with signs: ΦΦᵀ = (N/n) I exactly
        // when N is a power of two.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let phi = Projection::Srht.matrix(8, 32, &mut rng).unwrap();
        let gram = phi.dot(&phi.t()) - Array2::<f64>::eye(8) * 4.0;
        assert!(gram.iter().all(|v| v.abs() <= 64.0 * f64::EPSILON));
    }
}
