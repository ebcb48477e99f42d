//! Linear representation learning [paper + derived, docs/papers/layerwise.md]: y = F* G* x + ε with
//! anisotropic x = Σ^{1/2} r (Rademacher r), a two-layer linear network f(x) = F G x trained on a
//! fresh batch per step. The first layer G is the learned representation; its quality is the
//! distance between row-span(G) and row-span(G*).

use ndarray::{Array1, Array2, Axis};
use ndarray_linalg::{Inverse, Solve};
use rand::Rng;
use rand_distr::StandardNormal;

use subspace::{
    haar_orthonormal, orthonormal_basis, principal_angles, Distance, RankPolicy, SubspaceError,
};

harness::choice! {
    /// The optimisers compared.
    pub enum Optimizer {
        /// Plain SGD with step lr/λ_max(Σ) (the largest stable scale for this problem).
        Sgd = "sgd",
        /// Adam on both layers.
        Adam = "adam",
        /// Batch-norm of the representation, f(x) = F BN(Gx), trained by SGD: it fixes the scale
        /// of each feature but not the anisotropy of the inputs that G sees.
        BatchNorm = "batchnorm",
        /// Alternating minimisation-descent: least-squares head, gradient step on G, orthonormalise.
        Amd = "amd",
        /// Σ̂-whitened gradient on G (the right KFAC factor alone):
        /// G ← G − η/λ_max(FᵀF) ∇_G (Σ̂ + λI)⁻¹; F as in KFAC.
        Dfw = "dfw",
        /// Stylised KFAC: G ← G − η (FᵀF)⁻¹ ∇_G (Σ̂ + λI)⁻¹, then F by its own preconditioned step.
        Kfac = "kfac",
        /// Damped full Gauss–Newton (= natural gradient for this loss) on (G, F) jointly:
        /// θ ← θ − η (JᵀJ + λI)⁻¹ ∇θ, with the cross terms between the layers that KFAC drops.
        Ngd = "ngd",
    }
}

/// One anisotropic input distribution: Σ^{1/2} = U diag(√λ) Uᵀ, λ log-spaced in [1, κ].
pub struct Inputs {
    pub sqrt_sigma: Array2<f64>,
    pub lambda_max: f64,
}

impl Inputs {
    pub fn new<R: Rng + ?Sized>(
        d: usize,
        kappa: f64,
        rng: &mut R,
    ) -> Result<Inputs, SubspaceError> {
        let u = haar_orthonormal(d, d, rng)?;
        let denominator = d.max(2) - 1;
        let roots: Array1<f64> = (0..d)
            .map(|i| kappa.powf(i as f64 / denominator as f64).sqrt())
            .collect();
        Ok(Inputs {
            sqrt_sigma: (&u * &roots).dot(&u.t()),
            lambda_max: kappa,
        })
    }

    /// `n × d` inputs x = Σ^{1/2} r with Rademacher r.
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Array2<f64> {
        let d = self.sqrt_sigma.nrows();
        let r = Array2::from_shape_simple_fn((n, d), || if rng.gen::<bool>() { 1.0 } else { -1.0 });
        r.dot(&self.sqrt_sigma)
    }
}

/// A task: head F* (d_y × k) on the shared representation G* (k × d_x, orthonormal rows).
pub struct Task {
    pub head: Array2<f64>,
    pub inputs: Inputs,
}

impl Task {
    /// (X, Y) with y = F* G* x + σ ε.
    pub fn batch<R: Rng + ?Sized>(
        &self,
        g_star: &Array2<f64>,
        n: usize,
        noise: f64,
        rng: &mut R,
    ) -> (Array2<f64>, Array2<f64>) {
        let x = self.inputs.sample(n, rng);
        let noise = Array2::from_shape_simple_fn((n, self.head.nrows()), || {
            noise * rng.sample::<f64, _>(StandardNormal)
        });
        let y = x.dot(&g_star.t()).dot(&self.head.t()) + noise;
        (x, y)
    }
}

/// ½ mean over the batch of ‖y − F G x‖².
pub fn loss(f: &Array2<f64>, g: &Array2<f64>, x: &Array2<f64>, y: &Array2<f64>) -> f64 {
    half_mean_square(&(y - &x.dot(&g.t()).dot(&f.t())))
}

/// ½ mean over rows of the squared norm of each row of `r`.
fn half_mean_square(r: &Array2<f64>) -> f64 {
    0.5 * r.iter().map(|v| v * v).sum::<f64>() / r.nrows() as f64
}

/// Gradients (∇_F, ∇_G) of [`loss`].
pub fn gradients(
    f: &Array2<f64>,
    g: &Array2<f64>,
    x: &Array2<f64>,
    y: &Array2<f64>,
) -> (Array2<f64>, Array2<f64>) {
    let n = x.nrows() as f64;
    let z = x.dot(&g.t()); // n × k
    let r = y - &z.dot(&f.t()); // n × d_y
    let grad_f = -r.t().dot(&z) / n;
    let grad_g = -f.t().dot(&r.t()).dot(x) / n;
    (grad_f, grad_g)
}

/// ‖(I − G*ᵀG*) Q‖₂ for Q an orthonormal basis of row-span(G): sin θ_max of the row spaces.
pub fn subspace_distance(g: &Array2<f64>, g_star: &Array2<f64>) -> f64 {
    match principal_angles(g.t(), g_star.t(), false) {
        Ok(p) => Distance::Projection.from_angles(p.angles.as_slice().expect("contiguous")),
        Err(_) => f64::NAN,
    }
}

/// Least-squares head for a fixed representation: F = argmin ‖Y − X Gᵀ Fᵀ‖ (with a tiny ridge).
pub fn fit_head(g: &Array2<f64>, x: &Array2<f64>, y: &Array2<f64>) -> Array2<f64> {
    let z = x.dot(&g.t());
    let mut gram = z.t().dot(&z);
    let ridge = 1e-10 * gram.diag().sum().max(1e-300);
    gram.diag_mut().mapv_inplace(|v| v + ridge);
    let rhs = z.t().dot(y); // k × d_y
    let mut f_t = Array2::zeros(rhs.dim());
    for (j, column) in rhs.axis_iter(Axis(1)).enumerate() {
        if let Ok(sol) = gram.solve(&column.to_owned()) {
            f_t.column_mut(j).assign(&sol);
        }
    }
    f_t.t().to_owned()
}

/// Batch-norm of z = X Gᵀ over the batch: (ẑ, standard deviation per feature).
fn batch_norm(g: &Array2<f64>, x: &Array2<f64>) -> (Array2<f64>, Array1<f64>) {
    let z = x.dot(&g.t());
    let mean = z.mean_axis(Axis(0)).expect("batch");
    let centred = &z - &mean.view().insert_axis(Axis(0));
    let std = centred.map_axis(Axis(0), |c| (c.dot(&c) / c.len() as f64 + 1e-12).sqrt());
    (&centred / &std.view().insert_axis(Axis(0)), std)
}

/// ½ mean over the batch of ‖y − F BN(Gx)‖².
pub fn batch_norm_loss(f: &Array2<f64>, g: &Array2<f64>, x: &Array2<f64>, y: &Array2<f64>) -> f64 {
    let (z_hat, _) = batch_norm(g, x);
    half_mean_square(&(y - &z_hat.dot(&f.t())))
}

/// Gradients (∇_F, ∇_G) of [`batch_norm_loss`], given ẑ and σ from `batch_norm`, through
/// the batch statistics:
/// ∂z = (∂ẑ − mean ∂ẑ − ẑ ⊙ mean(∂ẑ ⊙ ẑ)) / σ per feature.
fn batch_norm_gradients(
    f: &Array2<f64>,
    z_hat: &Array2<f64>,
    std: &Array1<f64>,
    x: &Array2<f64>,
    y: &Array2<f64>,
) -> (Array2<f64>, Array2<f64>) {
    let n = x.nrows() as f64;
    let r = y - &z_hat.dot(&f.t());
    let grad_f = -r.t().dot(z_hat) / n;
    let d_hat = -r.dot(f) / n; // n × k
    let mean_d = d_hat.mean_axis(Axis(0)).expect("batch");
    let mean_dz = (&d_hat * z_hat).mean_axis(Axis(0)).expect("batch");
    let dz = (&d_hat
        - &mean_d.view().insert_axis(Axis(0))
        - &(z_hat * &mean_dz.view().insert_axis(Axis(0))))
        / std.view().insert_axis(Axis(0));
    (grad_f, dz.t().dot(x))
}

/// The Gauss–Newton matrix E[JᵀJ] of f(x) = F G x over the batch, for θ = (vec G, vec F) in
/// row-major order: blocks FᵀF ⊗ Σ̂ (G, G), F_{ai}(Σ̂Gᵀ)_{jb} (G, F) and I ⊗ GΣ̂Gᵀ (F, F).
pub fn gauss_newton(f: &Array2<f64>, g: &Array2<f64>, sigma: &Array2<f64>) -> Array2<f64> {
    let (k, d_x) = g.dim();
    let d_y = f.nrows();
    let (pg, pf) = (k * d_x, d_y * k);
    let mut h = Array2::zeros((pg + pf, pg + pf));
    let ftf = f.t().dot(f);
    let sigma_gt = sigma.dot(&g.t()); // d_x × k
    let gsg = g.dot(&sigma_gt); // k × k
    for i in 0..k {
        for j in 0..d_x {
            let row = i * d_x + j;
            for i2 in 0..k {
                for j2 in 0..d_x {
                    h[(row, i2 * d_x + j2)] = ftf[(i, i2)] * sigma[(j, j2)];
                }
            }
            for a in 0..d_y {
                for b in 0..k {
                    let v = f[(a, i)] * sigma_gt[(j, b)];
                    h[(row, pg + a * k + b)] = v;
                    h[(pg + a * k + b, row)] = v;
                }
            }
        }
    }
    for a in 0..d_y {
        for b in 0..k {
            for b2 in 0..k {
                h[(pg + a * k + b, pg + a * k + b2)] = gsg[(b, b2)];
            }
        }
    }
    h
}

fn damped_inverse(m: &Array2<f64>, damping: f64) -> Option<Array2<f64>> {
    let mut m = m.clone();
    let scale = m.diag().sum() / m.nrows() as f64;
    m.diag_mut()
        .mapv_inplace(|v| v + damping * scale.max(1e-300));
    m.inv().ok()
}

/// Adam state for one matrix.
struct Adam {
    m: Array2<f64>,
    v: Array2<f64>,
}

impl Adam {
    fn new(shape: (usize, usize)) -> Adam {
        Adam {
            m: Array2::zeros(shape),
            v: Array2::zeros(shape),
        }
    }

    fn step(&mut self, grad: &Array2<f64>, t: i32, lr: f64) -> Array2<f64> {
        let (b1, b2, eps) = (0.9, 0.999, 1e-8);
        self.m = &self.m * b1 + grad * (1.0 - b1);
        self.v = &self.v * b2 + &grad.mapv(|g| g * g) * (1.0 - b2);
        let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
        Array2::from_shape_fn(grad.dim(), |ij| {
            -lr * (self.m[ij] / c1) / ((self.v[ij] / c2).sqrt() + eps)
        })
    }
}

/// Settings of one training run.
pub struct Training {
    pub optimizer: Optimizer,
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub adam_lr: f64,
    pub damping: f64,
    pub noise: f64,
}

/// Per-step distance and losses, and the final representation G.
pub struct Trajectory {
    pub distance: Vec<f64>,
    pub train_loss: Vec<f64>,
    /// Per step, when a transfer evaluation was given.
    pub transfer_loss: Vec<f64>,
    pub g: Array2<f64>,
}

/// Train from a random start; stops early (with NaN) when the iterates blow up.
/// Scores a representation G (the transfer loss of its refitted head).
pub type Score<'a> = &'a dyn Fn(&Array2<f64>) -> f64;

/// `transfer`, when given, scores the representation G after every step (the transfer loss).
pub fn train<R: Rng + ?Sized>(
    task: &Task,
    g_star: &Array2<f64>,
    settings: &Training,
    transfer: Option<Score<'_>>,
    rng: &mut R,
) -> Result<Trajectory, SubspaceError> {
    let (k, d_x) = g_star.dim();
    let d_y = task.head.nrows();
    let mut g = haar_orthonormal(d_x, k, rng)?.t().to_owned();
    let mut f =
        Array2::from_shape_simple_fn((d_y, k), || 0.1 * rng.sample::<f64, _>(StandardNormal));
    let (mut adam_f, mut adam_g) = (Adam::new(f.dim()), Adam::new(g.dim()));
    let sigma_max = {
        let sigma = task.inputs.sqrt_sigma.dot(&task.inputs.sqrt_sigma);
        largest_eigenvalue(&sigma)
    };
    let mut trajectory = Trajectory {
        distance: Vec::new(),
        train_loss: Vec::new(),
        transfer_loss: Vec::new(),
        g: g.clone(),
    };
    for t in 1..=settings.steps {
        let (x, y) = task.batch(g_star, settings.batch, settings.noise, rng);
        match settings.optimizer {
            Optimizer::Sgd => {
                let eta = settings.lr / task.inputs.lambda_max;
                let (_, grad_g) = gradients(&f, &g, &x, &y);
                g = &g - &(grad_g * eta);
                let (grad_f, _) = gradients(&f, &g, &x, &y);
                f = &f - &(grad_f * eta);
            }
            Optimizer::Adam => {
                let (grad_f, grad_g) = gradients(&f, &g, &x, &y);
                g = &g + &adam_g.step(&grad_g, t as i32, settings.adam_lr);
                f = &f + &adam_f.step(&grad_f, t as i32, settings.adam_lr);
            }
            Optimizer::Kfac => {
                let n = x.nrows() as f64;
                let (_, grad_g) = gradients(&f, &g, &x, &y);
                let sigma_x = x.t().dot(&x) / n;
                let left = damped_inverse(&f.t().dot(&f), settings.damping);
                let right = damped_inverse(&sigma_x, settings.damping);
                if let (Some(left), Some(right)) = (left, right) {
                    g = &g - &(left.dot(&grad_g).dot(&right) * settings.lr);
                }
                // F's own preconditioned step: with η_F = 1 it is exactly least squares.
                let z = x.dot(&g.t());
                let (grad_f, _) = gradients(&f, &g, &x, &y);
                if let Some(inv) = damped_inverse(&(z.t().dot(&z) / n), 1e-10) {
                    f = &f - &grad_f.dot(&inv);
                }
            }
            Optimizer::BatchNorm => {
                // G's rows are scale-free under batch-norm: the curvature along row i is at most
                // λ_max(FᵀF)·λ_max(Σ)/σ_i², σ_i² the variance of feature i, so the stable step
                // scales with σ_min² / (λ_max(FᵀF) λ_max(Σ)).
                let (z_hat, std) = batch_norm(&g, &x);
                let smallest = std.iter().fold(f64::INFINITY, |a, &v| a.min(v * v));
                let head = largest_eigenvalue(&f.t().dot(&f)).max(1e-300);
                let (_, grad_g) = batch_norm_gradients(&f, &z_hat, &std, &x, &y);
                g = &g - &(grad_g * (settings.lr * smallest / (sigma_max * head)));
                let (z_hat, std) = batch_norm(&g, &x);
                let corr = z_hat.t().dot(&z_hat) / x.nrows() as f64;
                let (grad_f, _) = batch_norm_gradients(&f, &z_hat, &std, &x, &y);
                f = &f - &(grad_f * (settings.lr / largest_eigenvalue(&corr).max(1e-300)));
            }
            Optimizer::Dfw => {
                let n = x.nrows() as f64;
                let (_, grad_g) = gradients(&f, &g, &x, &y);
                let sigma_x = x.t().dot(&x) / n;
                let top = largest_eigenvalue(&f.t().dot(&f)).max(1e-300);
                if let Some(right) = damped_inverse(&sigma_x, settings.damping) {
                    g = &g - &(grad_g.dot(&right) * (settings.lr / top));
                }
                let z = x.dot(&g.t());
                let (grad_f, _) = gradients(&f, &g, &x, &y);
                if let Some(inv) = damped_inverse(&(z.t().dot(&z) / n), 1e-10) {
                    f = &f - &grad_f.dot(&inv);
                }
            }
            Optimizer::Ngd => {
                let n = x.nrows() as f64;
                let (grad_f, grad_g) = gradients(&f, &g, &x, &y);
                let h = gauss_newton(&f, &g, &(x.t().dot(&x) / n));
                let gradient: Array1<f64> = grad_g.iter().chain(grad_f.iter()).copied().collect();
                if let Some(inverse) = damped_inverse(&h, settings.damping) {
                    let step = inverse.dot(&gradient) * settings.lr;
                    let pg = g.len();
                    g = &g
                        - &Array2::from_shape_vec(g.dim(), step.slice(ndarray::s![..pg]).to_vec())
                            .expect("shape");
                    f = &f
                        - &Array2::from_shape_vec(f.dim(), step.slice(ndarray::s![pg..]).to_vec())
                            .expect("shape");
                }
            }
            Optimizer::Amd => {
                f = fit_head(&g, &x, &y);
                let (_, grad_g) = gradients(&f, &g, &x, &y);
                let eta = settings.lr / task.inputs.lambda_max;
                let stepped = &g - &(grad_g * eta);
                g = orthonormal_basis(stepped.t(), RankPolicy::Strict)
                    .map(|q| q.t().to_owned())
                    .unwrap_or(stepped);
            }
        }
        let d = subspace_distance(&g, g_star);
        let l = match settings.optimizer {
            Optimizer::BatchNorm => batch_norm_loss(&f, &g, &x, &y),
            Optimizer::Sgd
            | Optimizer::Adam
            | Optimizer::Amd
            | Optimizer::Dfw
            | Optimizer::Kfac
            | Optimizer::Ngd => loss(&f, &g, &x, &y),
        };
        trajectory.distance.push(d);
        trajectory.train_loss.push(l);
        if let Some(score) = transfer {
            trajectory.transfer_loss.push(score(&g));
        }
        if !(d.is_finite() && l.is_finite()) || l > 1e12 {
            break;
        }
    }
    trajectory.g = g;
    Ok(trajectory)
}

/// λ_max of a symmetric positive semi-definite matrix (100 power steps: ample for step sizes).
fn largest_eigenvalue(m: &Array2<f64>) -> f64 {
    subspace::largest_eigenvalue_psd(m.view(), 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let x = Array2::from_shape_simple_fn((20, 6), || rng.sample::<f64, _>(StandardNormal));
        let y = Array2::from_shape_simple_fn((20, 3), || rng.sample::<f64, _>(StandardNormal));
        let f = Array2::from_shape_simple_fn((3, 2), || rng.sample::<f64, _>(StandardNormal));
        let g = Array2::from_shape_simple_fn((2, 6), || rng.sample::<f64, _>(StandardNormal));
        let (grad_f, grad_g) = gradients(&f, &g, &x, &y);
        for (i, j) in [(0, 0), (1, 3), (0, 5)] {
            let numeric = central_difference(&g, (i, j), |g| loss(&f, g, &x, &y));
            assert!(
                (numeric - grad_g[(i, j)]).abs() < 1e-6 * (1.0 + numeric.abs()),
                "G({i},{j}): {numeric} vs {}",
                grad_g[(i, j)]
            );
        }
        for (i, j) in [(0, 0), (2, 1)] {
            let numeric = central_difference(&f, (i, j), |f| loss(f, &g, &x, &y));
            assert!((numeric - grad_f[(i, j)]).abs() < 1e-6 * (1.0 + numeric.abs()));
        }
    }

    /// ∂loss/∂m_ij by a central difference with step 1e-6.
    fn central_difference(
        m: &Array2<f64>,
        ij: (usize, usize),
        loss: impl Fn(&Array2<f64>) -> f64,
    ) -> f64 {
        let h = 1e-6;
        let (mut plus, mut minus) = (m.clone(), m.clone());
        plus[ij] += h;
        minus[ij] -= h;
        (loss(&plus) - loss(&minus)) / (2.0 * h)
    }

    #[test]
    fn batch_norm_gradients_match_finite_differences() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let normal = |rng: &mut ChaCha8Rng| rng.sample::<f64, _>(StandardNormal);
        let x = Array2::from_shape_simple_fn((25, 5), || normal(&mut rng));
        let y = Array2::from_shape_simple_fn((25, 3), || normal(&mut rng));
        let f = Array2::from_shape_simple_fn((3, 2), || normal(&mut rng));
        let g = Array2::from_shape_simple_fn((2, 5), || normal(&mut rng));
        let (z_hat, std) = batch_norm(&g, &x);
        let (grad_f, grad_g) = batch_norm_gradients(&f, &z_hat, &std, &x, &y);
        for i in 0..2 {
            for j in 0..5 {
                let numeric = central_difference(&g, (i, j), |g| batch_norm_loss(&f, g, &x, &y));
                assert!(
                    (numeric - grad_g[(i, j)]).abs() < 1e-7 * (1.0 + numeric.abs()),
                    "G({i},{j}): {numeric} vs {}",
                    grad_g[(i, j)]
                );
            }
        }
        for (i, j) in [(0, 0), (2, 1)] {
            let numeric = central_difference(&f, (i, j), |f| batch_norm_loss(f, &g, &x, &y));
            assert!((numeric - grad_f[(i, j)]).abs() < 1e-7 * (1.0 + numeric.abs()));
        }
    }

    /// The blocks of the Gauss–Newton matrix against the Jacobian formed column by column.
    #[test]
    fn gauss_newton_matrix_matches_the_brute_force_jacobian() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (d_x, k, d_y, n) = (4, 2, 3, 7);
        let normal = |rng: &mut ChaCha8Rng| rng.sample::<f64, _>(StandardNormal);
        let x = Array2::from_shape_simple_fn((n, d_x), || normal(&mut rng));
        let f = Array2::from_shape_simple_fn((d_y, k), || normal(&mut rng));
        let g = Array2::from_shape_simple_fn((k, d_x), || normal(&mut rng));
        let h = gauss_newton(&f, &g, &(x.t().dot(&x) / n as f64));
        // J for one sample: ∂f_c/∂θ_p, with f = F G x linear in each θ_p (exact by unit steps).
        let (pg, p) = (k * d_x, k * d_x + d_y * k);
        let mut brute = Array2::<f64>::zeros((p, p));
        for row in x.outer_iter() {
            let output = |f: &Array2<f64>, g: &Array2<f64>| f.dot(&g.dot(&row));
            let base = output(&f, &g);
            let mut jac = Array2::<f64>::zeros((d_y, p));
            for q in 0..p {
                let (mut f2, mut g2) = (f.clone(), g.clone());
                if q < pg {
                    g2[(q / d_x, q % d_x)] += 1.0;
                } else {
                    f2[((q - pg) / k, (q - pg) % k)] += 1.0;
                }
                jac.column_mut(q).assign(&(output(&f2, &g2) - &base));
            }
            brute = brute + jac.t().dot(&jac) / n as f64;
        }
        let scale = brute.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
        let err = (&h - &brute).iter().fold(0.0_f64, |a, v| a.max(v.abs()));
        assert!(
            err < 1e3 * f64::EPSILON * scale,
            "max error {err} of {scale}"
        );
    }

    /// In population (Σ̂ = Σ, noiseless) the KFAC step is G₊ = (1 − η)G + η(FᵀF)⁻¹FᵀF*G*: the part
    /// of G outside row-span(G*) shrinks by exactly 1 − η, whatever κ.
    #[test]
    fn population_kfac_step_contracts_by_exactly_one_minus_eta() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (d, k, d_y, eta) = (8, 2, 3, 0.3);
        let inputs = Inputs::new(d, 100.0, &mut rng).unwrap();
        let sigma = inputs.sqrt_sigma.dot(&inputs.sqrt_sigma);
        let g_star = haar_orthonormal(d, k, &mut rng).unwrap().t().to_owned();
        let f_star =
            Array2::from_shape_simple_fn((d_y, k), || rng.sample::<f64, _>(StandardNormal));
        let f = Array2::from_shape_simple_fn((d_y, k), || rng.sample::<f64, _>(StandardNormal));
        let g = Array2::from_shape_simple_fn((k, d), || rng.sample::<f64, _>(StandardNormal));
        // Population gradient: ∇_G = Fᵀ(FG − F*G*)Σ.
        let grad_g = f.t().dot(&(f.dot(&g) - f_star.dot(&g_star))).dot(&sigma);
        let step = f
            .t()
            .dot(&f)
            .inv()
            .unwrap()
            .dot(&grad_g)
            .dot(&sigma.inv().unwrap());
        let g_next = &g - &(step * eta);
        let outside = |m: &Array2<f64>| m - &m.dot(&g_star.t()).dot(&g_star);
        let ratio = outside(&g_next).iter().map(|v| v * v).sum::<f64>().sqrt()
            / outside(&g).iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((ratio - (1.0 - eta)).abs() < 1e-9, "{ratio}");
    }
}
