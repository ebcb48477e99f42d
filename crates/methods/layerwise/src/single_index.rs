//! Single-index learning [derived, PAPERS.md §4]: y = tanh(⟨β*, x⟩) + ε with x ~ N(0, Σ), and the
//! direction one large first-layer step learns. SGD's spike is Xᵀy/n → c·Σβ* (pulled toward
//! high-variance directions); KFAC's is (Σ̂ + λI)⁻¹Xᵀy/n → c·β*; Adam's first step is a sign step.
//! The closed-form predictions of cos²(v, β*) are computed beside the simulation.

use ndarray::{Array1, Array2};
use ndarray_linalg::Solve;
use rand::Rng;
use rand_distr::StandardNormal;

use subspace::{haar_orthonormal, SubspaceError};

/// The learned direction's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Sgd,
    /// Sample covariance Σ̂ (λ = 0).
    Kfac,
    /// Population covariance Σ.
    KfacPopulation,
    /// Adam's first step: the sign of the gradient.
    AdamSign,
}

/// Σ = U diag(λ) Uᵀ with λ log-spaced in [low, high], and β* with β*ᵀΣβ* = 1.
pub struct Design {
    pub sigma: Array2<f64>,
    pub sqrt_sigma: Array2<f64>,
    pub beta: Array1<f64>,
}

impl Design {
    pub fn new<R: Rng + ?Sized>(
        d: usize,
        low: f64,
        high: f64,
        rng: &mut R,
    ) -> Result<Design, SubspaceError> {
        let u = haar_orthonormal(d, d, rng)?;
        let denominator = d.max(2) - 1;
        let lambda: Array1<f64> = (0..d)
            .map(|i| low * (high / low).powf(i as f64 / denominator as f64))
            .collect();
        let sigma = (&u * &lambda).dot(&u.t());
        let sqrt_sigma = (&u * &lambda.mapv(f64::sqrt)).dot(&u.t());
        let raw: Array1<f64> = (0..d)
            .map(|_| rng.sample::<f64, _>(StandardNormal))
            .collect();
        let scale = raw.dot(&sigma.dot(&raw)).sqrt();
        Ok(Design {
            sigma,
            sqrt_sigma,
            beta: raw / scale,
        })
    }
}

/// E[f(z)] for z ~ N(0, 1), by the trapezoid rule on [−12, 12] (error far below 1e-12 for the
/// smooth, bounded integrands used here).
fn gaussian_mean(f: impl Fn(f64) -> f64) -> f64 {
    let (n, half) = (24_000, 12.0);
    let h = 2.0 * half / n as f64;
    let density = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    (0..=n)
        .map(|i| {
            let z = -half + i as f64 * h;
            let w = if i == 0 || i == n { 0.5 } else { 1.0 };
            w * f(z) * density(z)
        })
        .sum::<f64>()
        * h
}

/// SGD's limit as n → ∞: (β*ᵀΣβ*)²/(‖β*‖²‖Σβ*‖²) < 1 unless β* is an eigenvector of Σ.
pub fn sgd_ceiling(design: &Design) -> f64 {
    let b = &design.beta;
    let sb = design.sigma.dot(b);
    b.dot(&sb).powi(2) / (b.dot(b) * sb.dot(&sb))
}

/// The closed-form predictions of cos²(v, β*) for SGD and KFAC (sample Σ̂, λ = 0) at n samples.
pub fn predicted_alignment(design: &Design, n: usize, noise: f64) -> (f64, f64) {
    let d = design.beta.len() as f64;
    let c = gaussian_mean(|z| 1.0 - z.tanh().powi(2));
    let second = gaussian_mean(|z| z.tanh().powi(2)) + noise * noise;
    let residual = second - c * c; // σ_r²
    let b = &design.beta;
    let sb = design.sigma.dot(b);
    let (bsb, beta2, sb2) = (b.dot(&sb), b.dot(b), sb.dot(&sb));
    let trace: f64 = design.sigma.diag().sum();
    let bs2b = sb2; // β*ᵀΣ²β* = ‖Σβ*‖²
    let n = n as f64;
    let sgd = (c * bsb).powi(2)
        / (beta2 * (c * c * sb2 + (c * c * (trace * bsb + bs2b) + residual * trace) / n));
    let inverse_trace: f64 = {
        let eye = Array2::<f64>::eye(design.sigma.nrows());
        (0..eye.nrows())
            .map(|i| {
                design
                    .sigma
                    .solve(&eye.column(i).to_owned())
                    .map(|col| col[i])
                    .unwrap_or(f64::NAN)
            })
            .sum()
    };
    let kfac = if n > d + 1.0 {
        1.0 / (1.0 + residual * inverse_trace / ((n - d - 1.0) * c * c * beta2))
    } else {
        f64::NAN
    };
    (sgd, kfac)
}

/// cos²(v, β*) of the direction learned from n fresh samples.
pub fn simulated_alignment<R: Rng + ?Sized>(
    design: &Design,
    n: usize,
    noise: f64,
    step: Step,
    rng: &mut R,
) -> f64 {
    let d = design.beta.len();
    let r = Array2::from_shape_simple_fn((n, d), || rng.sample::<f64, _>(StandardNormal));
    let x = r.dot(&design.sqrt_sigma);
    let y: Array1<f64> = x.dot(&design.beta).mapv(f64::tanh)
        + Array1::from_shape_simple_fn(n, || noise * rng.sample::<f64, _>(StandardNormal));
    let g = x.t().dot(&y) / n as f64;
    let v = match step {
        Step::Sgd => g,
        Step::AdamSign => g.mapv(f64::signum),
        Step::Kfac => (x.t().dot(&x) / n as f64)
            .solve(&g)
            .unwrap_or_else(|_| Array1::from_elem(d, f64::NAN)),
        Step::KfacPopulation => design
            .sigma
            .solve(&g)
            .unwrap_or_else(|_| Array1::from_elem(d, f64::NAN)),
    };
    let b = &design.beta;
    v.dot(b).powi(2) / (v.dot(&v) * b.dot(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_expectations_match_known_values() {
        assert!((gaussian_mean(|_| 1.0) - 1.0).abs() < 1e-12);
        assert!((gaussian_mean(|z| z * z) - 1.0).abs() < 1e-10);
        assert!((gaussian_mean(|z| z.powi(4)) - 3.0).abs() < 1e-9);
    }

    #[test]
    fn isotropic_inputs_make_sgd_and_kfac_agree_in_the_limit() {
        // With Σ = I the SGD bias vanishes: its limiting alignment is 1.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let design = Design::new(20, 1.0, 1.0, &mut rng).unwrap();
        let (sgd, kfac) = predicted_alignment(&design, 1_000_000, 0.1);
        assert!(sgd > 0.999 && kfac > 0.999, "{sgd} {kfac}");
    }
    use rand::SeedableRng;
}
