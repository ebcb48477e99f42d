//! Single-index learning [derived, docs/papers/layerwise.md]: y = σ*(⟨β*, x⟩) + ε with x ~ N(0, Σ), and the
//! direction one large first-layer step learns. SGD's spike is Xᵀy/n → c·Σβ* (pulled toward
//! high-variance directions); KFAC's is (Σ̂ + λI)⁻¹Xᵀy/n → c·β*; Adam's first step is a sign step;
//! batch-norm of the inputs makes it D̂⁻²Xᵀy/n (D̂ the per-coordinate standard deviations).
//! The closed-form predictions of cos²(v, β*) are computed beside the simulation, and the test
//! error of a two-layer network whose first layer took the step and whose second layer is then
//! fitted by ridge regression is measured.

use ndarray::{Array1, Array2};
use ndarray_linalg::Solve;
use rand::Rng;
use rand_distr::StandardNormal;

use subspace::{haar_orthonormal, SubspaceError};

harness::choice! {
    /// The learned direction's rule.
    pub enum Step {
        /// Xᵀy/n.
        Sgd = "sgd",
        /// Sample covariance Σ̂ (λ = 0).
        Kfac = "kfac",
        /// Population covariance Σ.
        KfacPopulation = "kfac_population",
        /// Adam's first step: the sign of the gradient.
        AdamSign = "adam",
        /// Batch-norm of the inputs, then SGD: a diagonal preconditioner D̂⁻².
        BatchNorm = "batchnorm",
    }
}

harness::choice! {
    /// The target's link σ*.
    pub enum Link {
        Tanh = "tanh",
        Relu = "relu",
        /// The second Hermite polynomial z² − 1: E σ*′(z) = 0, so one gradient step learns
        /// nothing about β* (information exponent 2).
        He2 = "he2",
    }
}

impl Link {
    pub fn apply(self, z: f64) -> f64 {
        match self {
            Link::Tanh => z.tanh(),
            Link::Relu => z.max(0.0),
            Link::He2 => z * z - 1.0,
        }
    }

    /// c = E σ*′(z), z ~ N(0, 1) (Stein: = E[z σ*(z)]).
    pub fn slope(self) -> f64 {
        gaussian_mean(|z| z * self.apply(z))
    }

    /// E σ*(z)², z ~ N(0, 1).
    pub fn second_moment(self) -> f64 {
        gaussian_mean(|z| self.apply(z).powi(2))
    }
}

/// Σ = U diag(λ) Uᵀ with λ log-spaced in [low, high], and β* with β*ᵀΣβ* = 1.
pub struct Design {
    pub sigma: Array2<f64>,
    pub sqrt_sigma: Array2<f64>,
    /// Σ's eigenvalues (so that spectral quantities such as tr Σ⁻¹ need no factorisation).
    pub eigenvalues: Array1<f64>,
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
            eigenvalues: lambda,
            beta: raw / scale,
        })
    }
}

/// E[f(z)] for z ~ N(0, 1), by the trapezoid rule on [−12, 12] (error far below 1e-9 for the
/// integrands used here: smooth or with one kink, growing at most polynomially).
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
pub fn predicted_alignment(design: &Design, n: usize, noise: f64, link: Link) -> (f64, f64) {
    let d = design.beta.len() as f64;
    let c = link.slope();
    let second = link.second_moment() + noise * noise;
    let residual = second - c * c; // σ_r²
    let b = &design.beta;
    let sb = design.sigma.dot(b);
    let (bsb, beta2, sb2) = (b.dot(&sb), b.dot(b), sb.dot(&sb));
    let trace: f64 = design.sigma.diag().sum();
    let bs2b = sb2; // β*ᵀΣ²β* = ‖Σβ*‖²
    let n = n as f64;
    let sgd = (c * bsb).powi(2)
        / (beta2 * (c * c * sb2 + (c * c * (trace * bsb + bs2b) + residual * trace) / n));
    // tr Σ⁻¹ from the spectrum (it was d LU solves, the most expensive line of a trial).
    let inverse_trace: f64 = design.eigenvalues.iter().map(|l| 1.0 / l).sum();
    let kfac = if n > d + 1.0 {
        1.0 / (1.0 + residual * inverse_trace / ((n - d - 1.0) * c * c * beta2))
    } else {
        f64::NAN
    };
    (sgd, kfac)
}

/// Inputs and labels: `n` samples of x ~ N(0, Σ) and y = σ*(⟨β*, x⟩) + noise·ε.
pub fn sample<R: Rng + ?Sized>(
    design: &Design,
    n: usize,
    noise: f64,
    link: Link,
    rng: &mut R,
) -> (Array2<f64>, Array1<f64>) {
    let d = design.beta.len();
    let r = Array2::from_shape_simple_fn((n, d), || rng.sample::<f64, _>(StandardNormal));
    let x = r.dot(&design.sqrt_sigma);
    let y: Array1<f64> = x.dot(&design.beta).mapv(|z| link.apply(z))
        + Array1::from_shape_simple_fn(n, || noise * rng.sample::<f64, _>(StandardNormal));
    (x, y)
}

/// The direction one large first-layer step learns from (x, y).
pub fn learned_direction(
    design: &Design,
    x: &Array2<f64>,
    y: &Array1<f64>,
    step: Step,
) -> Array1<f64> {
    let (n, d) = x.dim();
    let g = x.t().dot(y) / n as f64;
    let failed = |_| Array1::from_elem(d, f64::NAN);
    match step {
        Step::Sgd => g,
        Step::AdamSign => g.mapv(f64::signum),
        Step::Kfac => (x.t().dot(x) / n as f64).solve(&g).unwrap_or_else(failed),
        Step::KfacPopulation => design.sigma.solve(&g).unwrap_or_else(failed),
        Step::BatchNorm => {
            // The step is taken on D̂⁻¹x; in x's coordinates the direction is D̂⁻¹·D̂⁻¹Xᵀy/n.
            let variance = x.map_axis(ndarray::Axis(0), |c| c.dot(&c) / n as f64);
            &g / &variance
        }
    }
}

/// cos²(v, β*).
pub fn alignment(design: &Design, v: &Array1<f64>) -> f64 {
    let b = &design.beta;
    v.dot(b).powi(2) / (v.dot(v) * b.dot(b))
}

/// The network after the step and its second-layer fit.
pub struct Network {
    /// Hidden units.
    pub width: usize,
    /// Size of the spike in units of the learned feature's standard deviation.
    pub spike: f64,
    /// Ridge penalty λ of the second layer (times n).
    pub ridge: f64,
}

/// Test error (mean squared error over Var(y), on fresh samples) of f(x) = aᵀ tanh(W₁x): W₁ is a
/// random first layer W₀ (rows N(0, I/d)) plus the rank-one spike `spike·s vᵀ/√(vᵀΣ̂v)` along the
/// learned direction v with random signs s (what one large gradient step adds, Ba et al. 2022);
/// `a` is fitted by ridge regression on `n` fresh samples.
pub fn test_error<R: Rng + ?Sized>(
    design: &Design,
    v: &Array1<f64>,
    n: usize,
    noise: f64,
    link: Link,
    net: &Network,
    rng: &mut R,
) -> f64 {
    let d = design.beta.len();
    let (x, y) = sample(design, n, noise, link, rng);
    let scale = (x.dot(v).mapv(|t| t * t).sum() / n as f64).sqrt();
    if !(scale.is_finite() && scale > 0.0) {
        return f64::NAN;
    }
    let mut w = Array2::from_shape_simple_fn((net.width, d), || {
        rng.sample::<f64, _>(StandardNormal) / (d as f64).sqrt()
    });
    for mut row in w.outer_iter_mut() {
        let sign = if rng.gen::<bool>() { 1.0 } else { -1.0 };
        row.scaled_add(sign * net.spike / scale, v);
    }
    let features = |x: &Array2<f64>| x.dot(&w.t()).mapv(f64::tanh);
    let phi = features(&x);
    let mut gram = phi.t().dot(&phi);
    gram.diag_mut().mapv_inplace(|g| g + net.ridge * n as f64);
    let Ok(a) = gram.solve(&phi.t().dot(&y)) else {
        return f64::NAN;
    };
    // 4,000 test samples: the relative standard error of a test MSE is about √(2/4000) ≈ 2%.
    let (x_test, y_test) = sample(design, 4000, noise, link, rng);
    let residual = &y_test - &features(&x_test).dot(&a);
    let mean = y_test.mean().unwrap_or(0.0);
    let variance = y_test.mapv(|t| (t - mean).powi(2)).sum();
    residual.dot(&residual) / variance
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
        let (sgd, kfac) = predicted_alignment(&design, 1_000_000, 0.1, Link::Tanh);
        assert!(sgd > 0.999 && kfac > 0.999, "{sgd} {kfac}");
    }

    #[test]
    fn the_spectral_inverse_trace_is_the_trace_of_the_inverse() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let design = Design::new(12, 0.1, 10.0, &mut rng).unwrap();
        let inverse = ndarray_linalg::Inverse::inv(&design.sigma).unwrap();
        let spectral: f64 = design.eigenvalues.iter().map(|l| 1.0 / l).sum();
        // κ = 100: inversion loses about κ·ε relative accuracy.
        assert!((inverse.diag().sum() - spectral).abs() < 1e3 * 100.0 * f64::EPSILON * spectral);
    }

    #[test]
    fn link_moments_match_closed_forms() {
        // relu: E σ′ = ½, E σ² = ½; He₂: E σ′ = E 2z = 0, E (z² − 1)² = 2.
        assert!((Link::Relu.slope() - 0.5).abs() < 1e-6);
        assert!((Link::Relu.second_moment() - 0.5).abs() < 1e-9);
        assert!(Link::He2.slope().abs() < 1e-9);
        assert!((Link::He2.second_moment() - 2.0).abs() < 1e-8);
    }

    #[test]
    fn a_step_along_beta_beats_a_random_one_on_test_error() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let design = Design::new(30, 0.1, 10.0, &mut rng).unwrap();
        let net = Network {
            width: 60,
            spike: 1.0,
            ridge: 1e-3,
        };
        let good = test_error(&design, &design.beta, 600, 0.1, Link::Tanh, &net, &mut rng);
        let random = Array1::from_shape_simple_fn(30, || rng.sample::<f64, _>(StandardNormal));
        let bad = test_error(&design, &random, 600, 0.1, Link::Tanh, &net, &mut rng);
        assert!(good < 0.5 * bad, "along β*: {good}, random: {bad}");
    }
    use rand::SeedableRng;
}
