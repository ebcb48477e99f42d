//! The heterogeneous linear-regression model of CoLoRA [proposal, docs/papers/colora.md] and the
//! estimators: alternating least squares for a shared (B, A) with personal S_i, local LoRA,
//! one global adapter, and the oracle that knows the shared subspaces.

use ndarray::{s, Array1, Array2, Axis};
use ndarray_linalg::{JobSvd, LeastSquaresSvd, Solve, QR, SVDDC};
use rand::Rng;

use subspace::{gaussian_matrix, haar_orthonormal, orthonormal_basis, RankPolicy, SubspaceError};

/// One user's task: data and the ground-truth update ΔW* = B* S* A*.
#[derive(Debug, Clone)]
pub struct User {
    /// n × d_in inputs.
    pub x: Array2<f64>,
    /// n × d_out outputs.
    pub y: Array2<f64>,
    /// d_out × d_in ground truth.
    pub truth: Array2<f64>,
    pub cluster: usize,
}

/// The problem: users and the shared subspaces of each cluster (B*: d_out × r, A*ᵀ: d_in × r).
#[derive(Debug, Clone)]
pub struct Problem {
    pub users: Vec<User>,
    pub shared_b: Vec<Array2<f64>>,
    pub shared_at: Vec<Array2<f64>>,
    /// Σ^{1/2} of the inputs (None: isotropic).
    pub sqrt_sigma: Option<Array2<f64>>,
}

pub struct ProblemSpec {
    pub d_in: usize,
    pub d_out: usize,
    pub rank: usize,
    pub users: usize,
    pub samples: usize,
    pub theta: f64,
    pub clusters: usize,
    pub noise: f64,
    /// Condition number κ of the input covariance Σ (eigenvalues log-spaced in [1, κ], random
    /// eigenvectors); 1 is isotropic.
    pub condition: f64,
    /// Shape of the ground-truth personal block Sᵢ*.
    pub truth_block: Block,
}

harness::choice! {
    /// Shape of a personal block Sᵢ (r × r): the paper's parameter count O(dr + kr²) says full, a
    /// summary's "personalized per-task scalars" says one scalar [summary, docs/papers/colora.md].
    pub enum Block {
        /// Any r × r matrix: r² parameters per user.
        Full = "full",
        /// A diagonal matrix: r parameters per user.
        Diagonal = "diagonal",
        /// A multiple of the identity: one parameter per user.
        Scalar = "scalar",
    }
}

impl Block {
    /// Parameters of one block of rank `r`.
    pub fn parameters(self, r: usize) -> usize {
        match self {
            Block::Full => r * r,
            Block::Diagonal => r,
            Block::Scalar => 1,
        }
    }

    /// A ground truth of this shape from a Gaussian draw `g` (r × r): full `g + 2I` (the
    /// docs/papers/colora.md model), diagonal with entries `2·exp(gⱼⱼ/2)`, scalar `2·exp(g₁₁/2)·I`. The
    /// shaped entries are positive and log-normal around 2 (the full model's diagonal): never
    /// near zero, which would make a user's ΔWᵢ* and its relative error degenerate; of one sign,
    /// so the users' mean update, CoLoRA's spectral start, does not cancel; and spread, since a
    /// diagonal model identifies B's columns only through how the entries' ratios vary.
    pub fn truth(self, g: &Array2<f64>) -> Array2<f64> {
        let positive = |v: f64| 2.0 * (v / 2.0).exp();
        match self {
            Block::Full => g + &(Array2::<f64>::eye(g.nrows()) * 2.0),
            Block::Diagonal => Array2::from_diag(&g.diag().mapv(positive)),
            Block::Scalar => Array2::eye(g.nrows()) * positive(g[(0, 0)]),
        }
    }
}

/// `orth(cos θ · base + sin θ · P)` with P a random orthonormal frame of the same shape.
fn tilted<R: Rng + ?Sized>(
    base: &Array2<f64>,
    theta: f64,
    rng: &mut R,
) -> Result<Array2<f64>, SubspaceError> {
    if theta == 0.0 {
        return Ok(base.clone());
    }
    let p = haar_orthonormal(base.nrows(), base.ncols(), rng)?;
    orthonormal_basis(
        (base * theta.cos() + &p * theta.sin()).view(),
        RankPolicy::Strict,
    )
}

impl ProblemSpec {
    /// Draw ground truth and data. Users are assigned to clusters round-robin.
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Problem, SubspaceError> {
        let r = self.rank;
        let shared_b: Vec<Array2<f64>> = (0..self.clusters)
            .map(|_| haar_orthonormal(self.d_out, r, rng))
            .collect::<Result<_, _>>()?;
        let shared_at: Vec<Array2<f64>> = (0..self.clusters)
            .map(|_| haar_orthonormal(self.d_in, r, rng))
            .collect::<Result<_, _>>()?;
        let sqrt_sigma = if self.condition > 1.0 {
            let u = haar_orthonormal(self.d_in, self.d_in, rng)?;
            let d = self.d_in.max(2) - 1;
            let roots: Array1<f64> = (0..self.d_in)
                .map(|i| self.condition.powf(i as f64 / d as f64).sqrt())
                .collect();
            Some((&u * &roots).dot(&u.t()))
        } else {
            None
        };
        let mut users = Vec::with_capacity(self.users);
        for i in 0..self.users {
            let cluster = i % self.clusters;
            let b = tilted(&shared_b[cluster], self.theta, rng)?;
            let at = tilted(&shared_at[cluster], self.theta, rng)?;
            let s_i = self.truth_block.truth(&gaussian_matrix(r, r, rng));
            let truth = b.dot(&s_i).dot(&at.t());
            let (x, y) = self.sample(&truth, self.samples, sqrt_sigma.as_ref(), rng);
            users.push(User {
                x,
                y,
                truth,
                cluster,
            });
        }
        Ok(Problem {
            users,
            shared_b,
            shared_at,
            sqrt_sigma,
        })
    }

    /// `n` fresh samples y = ΔW x + ε.
    pub fn sample<R: Rng + ?Sized>(
        &self,
        truth: &Array2<f64>,
        n: usize,
        sqrt_sigma: Option<&Array2<f64>>,
        rng: &mut R,
    ) -> (Array2<f64>, Array2<f64>) {
        let white = gaussian_matrix(n, self.d_in, rng);
        let x = match sqrt_sigma {
            Some(root) => white.dot(root),
            None => white,
        };
        let y = x.dot(&truth.t()) + gaussian_matrix(n, self.d_out, rng) * self.noise;
        (x, y)
    }
}

/// A fitted adapter per user: B_i S_i A_i (d_out × d_in), and the shared B when there is one.
pub struct Fit {
    pub updates: Vec<Array2<f64>>,
    pub b: Option<Array2<f64>>,
    /// Mean relative error after each iteration (when the estimator iterates).
    pub curve: Vec<f64>,
}

/// Mean relative error ‖ΔŴ_i − ΔW_i*‖_F/‖ΔW_i*‖_F over users, and the worst.
pub fn relative_errors(users: &[User], updates: &[Array2<f64>]) -> (f64, f64) {
    let errors: Vec<f64> = users
        .iter()
        .zip(updates)
        .map(|(u, w)| frobenius(&(w - &u.truth)) / frobenius(&u.truth))
        .collect();
    (
        errors.iter().sum::<f64>() / errors.len() as f64,
        errors.iter().copied().fold(0.0, f64::max),
    )
}

pub fn frobenius(m: &Array2<f64>) -> f64 {
    m.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// Least squares `min ‖a z − b‖` (column-wise), via an SVD: minimum norm when rank deficient.
fn lstsq(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    a.least_squares(b)
        .map(|r| r.solution)
        .unwrap_or_else(|_| Array2::zeros((a.ncols(), b.ncols())))
}

/// CoLoRA by alternating least squares over a group of users sharing (B, A): spectral start,
/// then `iters` rounds of S-step (per user), A-step (pooled Kronecker system), B-step (pooled).
/// A full block re-orthonormalises B and absorbs its triangular factor into every S_i; a
/// diagonal or scalar block, which that factor would not keep in shape, normalises B's columns
/// and absorbs their norms into the rows of A instead (a diagonal commutes with S_i).
pub fn colora(
    users: &[User],
    rank: usize,
    iters: usize,
    block: Block,
    truth_users: Option<&[User]>,
) -> Fit {
    let (d_in, d_out) = (users[0].x.ncols(), users[0].y.ncols());
    // Spectral start: top-r singular vectors of Σ YᵢᵀXᵢ / N.
    let total: usize = users.iter().map(|u| u.x.nrows()).sum();
    let mut m = Array2::<f64>::zeros((d_out, d_in));
    for u in users {
        m = m + u.y.t().dot(&u.x);
    }
    m /= total as f64;
    let (uu, _, vt) = m
        .svddc(JobSvd::Some)
        .expect("SVD of a finite matrix converges");
    let mut b = uu.expect("requested U").slice(s![.., ..rank]).to_owned();
    let mut a = vt.expect("requested Vᵀ").slice(s![..rank, ..]).to_owned(); // r × d_in
    let mut s_all: Vec<Array2<f64>> = vec![Array2::eye(rank); users.len()];
    let mut curve = Vec::with_capacity(iters);
    let updates_of = |b: &Array2<f64>,
                      s_all: &[Array2<f64>],
                      a: &Array2<f64>|
     -> Vec<Array2<f64>> { s_all.iter().map(|s| b.dot(s).dot(a)).collect() };
    for _ in 0..iters {
        // S-step: with B orthonormal, ‖Yᵢ − Zᵢ Sᵢᵀ Bᵀ‖ = ‖Yᵢ B − Zᵢ Sᵢᵀ‖ + const, Zᵢ = Xᵢ Aᵀ.
        for (u, s_i) in users.iter().zip(s_all.iter_mut()) {
            let z = u.x.dot(&a.t());
            *s_i = match block {
                Block::Full => lstsq(&z, &u.y.dot(&b)).t().to_owned(),
                Block::Diagonal | Block::Scalar => shaped_block(&z, &u.y, &b, block),
            };
        }
        // A-step: [Σ (SᵢᵀSᵢ) ⊗ (XᵢᵀXᵢ)] vec(Aᵀ) = Σ vec(Xᵢᵀ Yᵢ B Sᵢ).
        let size = rank * d_in;
        let mut lhs = Array2::<f64>::zeros((size, size));
        let mut rhs = Array1::<f64>::zeros(size);
        let btb = b.t().dot(&b);
        for (u, s_i) in users.iter().zip(&s_all) {
            // Sᵢᵀ(BᵀB)Sᵢ; B is orthonormal for a full block.
            let sts = match block {
                Block::Full => s_i.t().dot(s_i),
                Block::Diagonal | Block::Scalar => s_i.t().dot(&btb).dot(s_i),
            };
            let xtx = u.x.t().dot(&u.x);
            for p in 0..rank {
                for q in 0..rank {
                    lhs.slice_mut(s![p * d_in..(p + 1) * d_in, q * d_in..(q + 1) * d_in])
                        .scaled_add(sts[(p, q)], &xtx);
                }
            }
            let g = u.x.t().dot(&u.y.dot(&b)).dot(s_i); // d_in × r
            for p in 0..rank {
                rhs.slice_mut(s![p * d_in..(p + 1) * d_in])
                    .scaled_add(1.0, &g.column(p));
            }
        }
        // A tiny ridge keeps the system solvable when Σ nᵢ < d_in (local LoRA with scarce data).
        let ridge = 1e-9 * (0..size).map(|i| lhs[(i, i)]).sum::<f64>() / size as f64;
        for i in 0..size {
            lhs[(i, i)] += ridge.max(1e-12);
        }
        if let Ok(v) = lhs.solve_into(rhs) {
            let at = v
                .into_shape_with_order((rank, d_in))
                .expect("r·d_in values"); // row p = column p of Aᵀ
            a = at;
        }
        // B-step: Yᵢ ≈ Gᵢ Bᵀ with Gᵢ = Xᵢ Aᵀ Sᵢᵀ, pooled least squares, then QR.
        let g_all: Vec<Array2<f64>> = users
            .iter()
            .zip(&s_all)
            .map(|(u, s_i)| u.x.dot(&a.t()).dot(&s_i.t()))
            .collect();
        let g = ndarray::concatenate(Axis(0), &g_all.iter().map(|g| g.view()).collect::<Vec<_>>())
            .expect("same width");
        let y = ndarray::concatenate(
            Axis(0),
            &users.iter().map(|u| u.y.view()).collect::<Vec<_>>(),
        )
        .expect("same width");
        let bt = lstsq(&g, &y); // r × d_out
        match block {
            Block::Full => {
                if let Ok((q, r_factor)) = bt.t().to_owned().qr() {
                    b = q;
                    for s_i in s_all.iter_mut() {
                        *s_i = r_factor.dot(s_i);
                    }
                }
            }
            Block::Diagonal | Block::Scalar => {
                b = bt.t().to_owned();
                for (mut column, mut row) in b.columns_mut().into_iter().zip(a.rows_mut()) {
                    let norm = column.dot(&column).sqrt();
                    if norm > 0.0 {
                        column /= norm;
                        row *= norm;
                    }
                }
            }
        }
        if let Some(truth) = truth_users {
            curve.push(relative_errors(truth, &updates_of(&b, &s_all, &a)).0);
        }
    }
    Fit {
        updates: updates_of(&b, &s_all, &a),
        b: Some(b),
        curve,
    }
}

/// Least squares for a diagonal or scalar Sᵢ in Y ≈ Z Sᵢᵀ Bᵀ (any B): with columns zⱼ of Z and
/// bⱼ of B, Y ≈ Σⱼ sⱼ zⱼ bⱼᵀ, whose normal equations are G s = h with G = (ZᵀZ) ∘ (BᵀB) and
/// hⱼ = zⱼᵀ Y bⱼ; one scalar solves (1ᵀG1) s = 1ᵀh.
pub fn shaped_block(
    z: &Array2<f64>,
    y: &Array2<f64>,
    b: &Array2<f64>,
    block: Block,
) -> Array2<f64> {
    let r = z.ncols();
    let gram = &z.t().dot(z) * &b.t().dot(b);
    let h: Array1<f64> = z.t().dot(&y.dot(b)).diag().to_owned();
    match block {
        Block::Scalar => {
            let denominator = gram.sum();
            let s = if denominator > 0.0 {
                h.sum() / denominator
            } else {
                0.0
            };
            Array2::eye(r) * s
        }
        // Full blocks are fitted by least squares and never reach here.
        Block::Diagonal | Block::Full => {
            let diagonal = lstsq(&gram, &h.insert_axis(Axis(1)));
            Array2::from_diag(&diagonal.column(0))
        }
    }
}

/// The oracle: knows B* and A* of each user's cluster and fits only Sᵢ (of the given shape) by
/// least squares.
pub fn oracle(users: &[User], problem: &Problem, block: Block) -> Fit {
    let updates = users
        .iter()
        .map(|u| {
            let (b, at) = (&problem.shared_b[u.cluster], &problem.shared_at[u.cluster]);
            let z = u.x.dot(at);
            let s_i = match block {
                Block::Full => lstsq(&z, &u.y.dot(b)).t().to_owned(),
                Block::Diagonal | Block::Scalar => shaped_block(&z, &u.y, b, block),
            };
            b.dot(&s_i).dot(&at.t())
        })
        .collect();
    Fit {
        updates,
        b: None,
        curve: Vec::new(),
    }
}

/// Geometric rate of `curve` toward its final value: exp of the least-squares slope of
/// log(eₜ − e_final) over the iterations still at least 1% of the initial gap away.
pub fn convergence_rate(curve: &[f64]) -> f64 {
    let Some(&last) = curve.last() else {
        return f64::NAN;
    };
    let first_gap = curve[0] - last;
    let points: Vec<(f64, f64)> = curve[..curve.len().saturating_sub(1)]
        .iter()
        .enumerate()
        .filter(|(_, e)| **e - last > 0.01 * first_gap && **e > last)
        .map(|(t, e)| (t as f64, (e - last).ln()))
        .collect();
    if points.len() < 2 {
        return 0.0; // converged within one or two rounds
    }
    let n = points.len() as f64;
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxy / sxx).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_of_a_geometric_sequence() {
        let curve: Vec<f64> = (0..30).map(|t| 0.1 + 0.5f64.powi(t)).collect();
        let rate = convergence_rate(&curve);
        assert!((rate - 0.5).abs() < 0.01, "{rate}");
    }
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn spec(samples: usize, noise: f64, theta: f64) -> ProblemSpec {
        ProblemSpec {
            d_in: 12,
            d_out: 10,
            rank: 2,
            users: 6,
            samples,
            theta,
            clusters: 1,
            noise,
            condition: 1.0,
            truth_block: Block::Full,
        }
    }

    #[test]
    fn exact_recovery_without_noise_when_data_suffice() {
        let problem = spec(40, 0.0, 0.0)
            .draw(&mut ChaCha8Rng::seed_from_u64(1))
            .unwrap();
        let fit = colora(&problem.users, 2, 50, Block::Full, Some(&problem.users));
        let (mean, worst) = relative_errors(&problem.users, &fit.updates);
        assert!(worst < 1e-8, "mean {mean}, worst {worst}");
    }

    #[test]
    fn exact_recovery_with_anisotropic_inputs() {
        let mut anisotropic = spec(40, 0.0, 0.0);
        anisotropic.condition = 100.0;
        let problem = anisotropic.draw(&mut ChaCha8Rng::seed_from_u64(3)).unwrap();
        let root = problem.sqrt_sigma.as_ref().unwrap();
        // Σ^{1/2} is symmetric with eigenvalues √κ^{i/(d−1)}: its condition number is √κ = 10.
        let (eigenvalues, _) =
            ndarray_linalg::Eigh::eigh(root, ndarray_linalg::UPLO::Upper).unwrap();
        let cond = eigenvalues[eigenvalues.len() - 1] / eigenvalues[0];
        assert!((cond - 10.0).abs() < 1e-9, "{cond}");
        let fit = colora(&problem.users, 2, 80, Block::Full, None);
        assert!(relative_errors(&problem.users, &fit.updates).1 < 1e-7);
    }

    #[test]
    fn oracle_error_is_at_the_noise_level() {
        // With known subspaces the S-fit has r² unknowns from n·r equations: error ~ σ·√(r/n).
        let problem = spec(400, 0.1, 0.0)
            .draw(&mut ChaCha8Rng::seed_from_u64(2))
            .unwrap();
        let (mean, _) = relative_errors(
            &problem.users,
            &oracle(&problem.users, &problem, Block::Full).updates,
        );
        assert!(mean < 0.02 && mean > 1e-4, "{mean}");
    }

    #[test]
    fn shaped_blocks_recover_a_truth_of_their_shape_exactly_without_noise() {
        for block in [Block::Diagonal, Block::Scalar] {
            let mut shaped = spec(40, 0.0, 0.0);
            shaped.truth_block = block;
            let problem = shaped.draw(&mut ChaCha8Rng::seed_from_u64(5)).unwrap();
            let fit = colora(&problem.users, 2, 200, block, None);
            let worst = relative_errors(&problem.users, &fit.updates).1;
            assert!(worst < 1e-7, "{block:?}: {worst}");
            let oracle_worst = relative_errors(
                &problem.users,
                &oracle(&problem.users, &problem, block).updates,
            )
            .1;
            assert!(oracle_worst < 1e-12, "{block:?} oracle: {oracle_worst}");
        }
    }

    #[test]
    fn a_shaped_block_is_least_squares_over_its_pattern() {
        // Against brute force: the normal equations of vec(Y) ≈ Σⱼ sⱼ vec(zⱼ bⱼᵀ) built
        // explicitly, for a B that is not orthonormal.
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let (z, b, y) = (
            gaussian_matrix(15, 3, &mut rng),
            gaussian_matrix(7, 3, &mut rng),
            gaussian_matrix(15, 7, &mut rng),
        );
        let design =
            Array2::from_shape_fn((15 * 7, 3), |(row, j)| z[(row / 7, j)] * b[(row % 7, j)]);
        let target = Array2::from_shape_fn((15 * 7, 1), |(row, _)| y[(row / 7, row % 7)]);
        let brute = lstsq(&design, &target);
        let diagonal = shaped_block(&z, &y, &b, Block::Diagonal);
        for j in 0..3 {
            assert!(
                (diagonal[(j, j)] - brute[(j, 0)]).abs() < 1e-12 * brute[(j, 0)].abs().max(1.0)
            );
        }
        let summed = design.sum_axis(Axis(1)).insert_axis(Axis(1));
        let brute_scalar = lstsq(&summed, &target)[(0, 0)];
        let scalar = shaped_block(&z, &y, &b, Block::Scalar);
        assert!((scalar[(1, 1)] - brute_scalar).abs() < 1e-12 * brute_scalar.abs().max(1.0));
        assert_eq!(scalar[(0, 1)], 0.0);
    }

    #[test]
    fn a_full_truth_is_not_recovered_by_a_scalar_block() {
        let problem = spec(40, 0.0, 0.0)
            .draw(&mut ChaCha8Rng::seed_from_u64(1))
            .unwrap();
        let fit = colora(&problem.users, 2, 50, Block::Scalar, None);
        assert!(relative_errors(&problem.users, &fit.updates).0 > 0.1);
    }
}
