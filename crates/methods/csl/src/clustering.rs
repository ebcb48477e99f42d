//! Subspace clustering: self-expressive affinities (SSC by Lasso coordinate descent, SSC-OMP),
//! thresholding (TSC), then normalised spectral clustering (Ng–Jordan–Weiss with k-means
//! restarts) and accuracy after Hungarian matching of labels.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use ndarray_linalg::{Eigh, UPLO};
use rand::Rng;

/// Columns scaled to unit Euclidean norm (zero columns are left as they are).
pub fn normalise_columns(y: ArrayView2<f64>) -> Array2<f64> {
    let mut out = y.to_owned();
    for mut c in out.columns_mut() {
        let norm = c.dot(&c).sqrt();
        if norm > 0.0 {
            c /= norm;
        }
    }
    out
}

/// Soft thresholding `sign(x) max(|x| − t, 0)`.
fn soft(x: f64, t: f64) -> f64 {
    x.signum() * (x.abs() - t).max(0.0)
}

/// Lasso `min_c ‖c‖₁ + (λ/2)‖y − Xc‖²` by cyclic coordinate descent on the Gram matrix
/// `G = XᵀX`, `b = Xᵀy`; coordinates listed in `excluded` stay zero (SSC's c_jj = 0).
pub fn lasso_gram(
    g: ArrayView2<f64>,
    b: &[f64],
    lambda: f64,
    excluded: Option<usize>,
    sweeps: usize,
    tol: f64,
) -> Vec<f64> {
    let p = b.len();
    let mut c = vec![0.0; p];
    // r = b − G c, kept up to date so that a coordinate update costs O(p). The update reads a
    // column of G; a transposed copy makes that a contiguous row (the inner loop vectorises)
    // while reading exactly the same numbers, so results do not change by a bit.
    let columns = g.t().as_standard_layout().into_owned();
    let mut r = b.to_vec();
    for _ in 0..sweeps {
        let mut largest_change: f64 = 0.0;
        for i in 0..p {
            if Some(i) == excluded || g[(i, i)] <= 0.0 {
                continue;
            }
            let rho = r[i] + g[(i, i)] * c[i];
            let new = soft(lambda * rho, 1.0) / (lambda * g[(i, i)]);
            let delta = new - c[i];
            if delta != 0.0 {
                let column = columns.row(i);
                let column = column.as_slice().expect("standard layout");
                for (rk, gki) in r.iter_mut().zip(column) {
                    *rk -= gki * delta;
                }
                c[i] = new;
                largest_change = largest_change.max(delta.abs());
            }
        }
        if largest_change <= tol {
            break;
        }
    }
    c
}

/// SSC affinity `|C| + |C|ᵀ` (Elhamifar & Vidal): each point as a sparse combination of the
/// others, with `λ = α / μ_j`, `μ_j = max_{i≠j} |⟨y_i, y_j⟩|` on unit-norm columns.
pub fn ssc_affinity(y: ArrayView2<f64>, alpha: f64) -> Array2<f64> {
    let y = normalise_columns(y);
    let g = y.t().dot(&y);
    let p = g.nrows();
    let mut c = Array2::<f64>::zeros((p, p));
    for j in 0..p {
        let b: Vec<f64> = g.column(j).to_vec();
        let mu = (0..p)
            .filter(|&i| i != j)
            .map(|i| b[i].abs())
            .fold(0.0, f64::max)
            .max(1e-12);
        let coefficients = lasso_gram(g.view(), &b, alpha / mu, Some(j), 200, 1e-7);
        for (i, v) in coefficients.into_iter().enumerate() {
            c[(i, j)] = v;
        }
    }
    symmetric_abs(&c)
}

/// SSC-OMP (You, Robinson & Vidal): orthogonal matching pursuit over the other points, at most
/// `max_atoms` atoms or until the residual falls below `tol`.
pub fn ssc_omp_affinity(y: ArrayView2<f64>, max_atoms: usize, tol: f64) -> Array2<f64> {
    let y = normalise_columns(y);
    let p = y.ncols();
    let mut c = Array2::<f64>::zeros((p, p));
    for j in 0..p {
        let target = y.column(j).to_owned();
        let mut residual = target.clone();
        let mut support: Vec<usize> = Vec::new();
        let mut coefficients = Vec::new();
        while support.len() < max_atoms && residual.dot(&residual).sqrt() > tol {
            let correlations = y.t().dot(&residual);
            let Some(best) = (0..p)
                .filter(|&i| i != j && !support.contains(&i))
                .max_by(|&a, &b| correlations[a].abs().total_cmp(&correlations[b].abs()))
            else {
                break;
            };
            support.push(best);
            // Least squares on the support by normal equations (the support is small and the
            // columns nearly independent, so the Gram matrix is well conditioned).
            let a = y.select(Axis(1), &support);
            let gram = a.t().dot(&a);
            let rhs = a.t().dot(&target);
            coefficients = solve_small(&gram, &rhs);
            residual = &target - &a.dot(&Array1::from(coefficients.clone()));
        }
        for (k, &i) in support.iter().enumerate() {
            c[(i, j)] = coefficients.get(k).copied().unwrap_or(0.0);
        }
    }
    symmetric_abs(&c)
}

/// Gaussian elimination with partial pivoting for a small dense system.
fn solve_small(a: &Array2<f64>, b: &Array1<f64>) -> Vec<f64> {
    let n = b.len();
    let mut m = a.clone();
    let mut x = b.to_vec();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| m[(i, col)].abs().total_cmp(&m[(j, col)].abs()))
            .unwrap_or(col);
        if m[(pivot, col)].abs() < 1e-14 {
            continue;
        }
        for k in 0..n {
            m.swap((col, k), (pivot, k));
        }
        x.swap(col, pivot);
        for row in col + 1..n {
            let f = m[(row, col)] / m[(col, col)];
            for k in col..n {
                m[(row, k)] -= f * m[(col, k)];
            }
            x[row] -= f * x[col];
        }
    }
    for col in (0..n).rev() {
        let s: f64 = (col + 1..n).map(|k| m[(col, k)] * x[k]).sum();
        x[col] = if m[(col, col)].abs() < 1e-14 {
            0.0
        } else {
            (x[col] - s) / m[(col, col)]
        };
    }
    x
}

/// TSC (Heckel & Bölcskei): keep each point's `q` largest |⟨y_i, y_j⟩|, weight them
/// `exp(−2 arccos |⟨y_i, y_j⟩|)`, symmetrise.
pub fn tsc_affinity(y: ArrayView2<f64>, q: usize) -> Array2<f64> {
    let y = normalise_columns(y);
    let g = y.t().dot(&y);
    let p = g.nrows();
    let mut a = Array2::<f64>::zeros((p, p));
    for j in 0..p {
        let mut others: Vec<usize> = (0..p).filter(|&i| i != j).collect();
        others.sort_by(|&a, &b| g[(b, j)].abs().total_cmp(&g[(a, j)].abs()));
        for &i in others.iter().take(q) {
            a[(i, j)] = (-2.0 * g[(i, j)].abs().min(1.0).acos()).exp();
        }
    }
    &a + &a.t()
}

fn symmetric_abs(c: &Array2<f64>) -> Array2<f64> {
    let a = c.mapv(f64::abs);
    &a + &a.t()
}

/// Normalised spectral clustering (Ng, Jordan & Weiss): the top `clusters` eigenvectors of
/// `D^{-1/2} W D^{-1/2}`, rows normalised, k-means with `restarts` k-means++ starts.
pub fn spectral_clustering<R: Rng + ?Sized>(
    w: &Array2<f64>,
    clusters: usize,
    restarts: usize,
    rng: &mut R,
) -> Vec<usize> {
    let p = w.nrows();
    let d: Vec<f64> = w.rows().into_iter().map(|r| r.sum()).collect();
    let scale: Vec<f64> = d
        .iter()
        .map(|&x| if x > 0.0 { 1.0 / x.sqrt() } else { 0.0 })
        .collect();
    let m = Array2::from_shape_fn((p, p), |(i, j)| scale[i] * w[(i, j)] * scale[j]);
    let (_, vectors) = m
        .eigh(UPLO::Upper)
        .expect("a symmetric real matrix has an eigendecomposition");
    // eigh sorts ascending: the last `clusters` columns are the leading eigenvectors.
    let mut embedding = vectors.slice(ndarray::s![.., p - clusters..]).to_owned();
    for mut row in embedding.rows_mut() {
        let norm = row.dot(&row).sqrt();
        if norm > 0.0 {
            row /= norm;
        }
    }
    kmeans(embedding.view(), clusters, restarts, rng)
}

/// k-means (Lloyd) with k-means++ seeding, best of `restarts` by within-cluster sum of squares.
pub fn kmeans<R: Rng + ?Sized>(
    x: ArrayView2<f64>,
    k: usize,
    restarts: usize,
    rng: &mut R,
) -> Vec<usize> {
    let n = x.nrows();
    let dist2 = |a: ndarray::ArrayView1<f64>, b: ndarray::ArrayView1<f64>| {
        a.iter().zip(b).map(|(u, v)| (u - v) * (u - v)).sum::<f64>()
    };
    let mut best: Option<(f64, Vec<usize>)> = None;
    for _ in 0..restarts.max(1) {
        // k-means++ seeding.
        let mut centres: Vec<usize> = vec![rng.gen_range(0..n)];
        while centres.len() < k {
            let weights: Vec<f64> = (0..n)
                .map(|i| {
                    centres
                        .iter()
                        .map(|&c| dist2(x.row(i), x.row(c)))
                        .fold(f64::INFINITY, f64::min)
                })
                .collect();
            let total: f64 = weights.iter().sum();
            if total <= 0.0 {
                centres.push(rng.gen_range(0..n));
                continue;
            }
            let mut target = rng.gen::<f64>() * total;
            let pick = weights.iter().position(|&w| {
                target -= w;
                target <= 0.0
            });
            centres.push(pick.unwrap_or(n - 1));
        }
        let mut c = x.select(Axis(0), &centres);
        let mut labels = vec![0usize; n];
        for _ in 0..100 {
            let mut changed = false;
            for (i, label) in labels.iter_mut().enumerate() {
                let nearest = (0..k)
                    .min_by(|&a, &b| {
                        dist2(x.row(i), c.row(a)).total_cmp(&dist2(x.row(i), c.row(b)))
                    })
                    .expect("k ≥ 1");
                if nearest != *label {
                    *label = nearest;
                    changed = true;
                }
            }
            let mut sums = Array2::<f64>::zeros((k, x.ncols()));
            let mut counts = vec![0usize; k];
            for i in 0..n {
                sums.row_mut(labels[i])
                    .zip_mut_with(&x.row(i), |s, v| *s += v);
                counts[labels[i]] += 1;
            }
            for (j, &count) in counts.iter().enumerate() {
                if count > 0 {
                    c.row_mut(j).assign(&(&sums.row(j) / count as f64));
                }
            }
            if !changed {
                break;
            }
        }
        let inertia: f64 = (0..n).map(|i| dist2(x.row(i), c.row(labels[i]))).sum();
        if best.as_ref().is_none_or(|(b, _)| inertia < *b) {
            best = Some((inertia, labels));
        }
    }
    best.expect("at least one restart").1
}

/// Fraction of points whose predicted cluster maps to their true class under the best
/// one-to-one matching of cluster ids to classes (Hungarian algorithm).
pub fn matched_accuracy(truth: &[usize], predicted: &[usize], classes: usize) -> f64 {
    let k = classes.max(predicted.iter().copied().max().map_or(0, |m| m + 1));
    let mut counts = vec![vec![0i64; k]; k];
    for (&t, &p) in truth.iter().zip(predicted) {
        counts[p][t] += 1;
    }
    // Maximise matches = minimise negated counts.
    let cost: Vec<Vec<i64>> = counts
        .iter()
        .map(|row| row.iter().map(|&c| -c).collect())
        .collect();
    let assignment = hungarian(&cost);
    let matched: i64 = assignment
        .iter()
        .enumerate()
        .map(|(p, &t)| counts[p][t])
        .sum();
    matched as f64 / truth.len() as f64
}

/// Minimum-cost perfect matching of a square cost matrix: `result[row] = column`
/// (Kuhn–Munkres with potentials, O(n³)).
pub fn hungarian(cost: &[Vec<i64>]) -> Vec<usize> {
    let n = cost.len();
    let inf = i64::MAX / 4;
    let (mut u, mut v) = (vec![0i64; n + 1], vec![0i64; n + 1]);
    let (mut p, mut way) = (vec![0usize; n + 1], vec![0usize; n + 1]);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![inf; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = inf;
            let mut j1 = 0;
            for j in 1..=n {
                if !used[j] {
                    let cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut result = vec![0usize; n];
    for j in 1..=n {
        if p[j] > 0 {
            result[p[j] - 1] = j - 1;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn lasso_matches_the_closed_form_for_orthogonal_designs() {
        // X = I: the minimiser of ‖c‖₁ + (λ/2)‖y − c‖² is soft(y, 1/λ).
        let g = Array2::<f64>::eye(4);
        let y = [3.0, -0.2, 0.5, -2.0];
        let lambda = 2.0;
        let c = lasso_gram(g.view(), &y, lambda, None, 100, 1e-14);
        for (ci, yi) in c.iter().zip(y) {
            assert!(
                (ci - soft(yi, 1.0 / lambda)).abs() < 1e-14,
                "{ci} vs {}",
                soft(yi, 0.5)
            );
        }
        // An excluded coordinate stays zero.
        assert_eq!(
            lasso_gram(g.view(), &y, lambda, Some(0), 100, 1e-14)[0],
            0.0
        );
    }

    #[test]
    fn lasso_satisfies_the_optimality_conditions_on_a_correlated_problem() {
        let x = ndarray::array![
            [1.0, 0.5, 0.2],
            [0.0, 1.0, 0.3],
            [0.2, 0.1, 1.0],
            [0.4, 0.0, 0.5]
        ];
        let y = ndarray::array![1.0, 2.0, -0.5, 0.3];
        let (g, b) = (x.t().dot(&x), x.t().dot(&y));
        let lambda = 3.0;
        let c = lasso_gram(g.view(), b.as_slice().unwrap(), lambda, None, 10_000, 1e-15);
        // KKT: λ Xᵢᵀ(y − Xc) = sign(cᵢ) where cᵢ ≠ 0, and |…| ≤ 1 elsewhere.
        let r = &y - &x.dot(&Array1::from(c.clone()));
        for (i, &ci) in c.iter().enumerate() {
            let grad = lambda * x.column(i).dot(&r);
            if ci != 0.0 {
                assert!((grad - ci.signum()).abs() < 1e-9, "{i}: {grad}");
            } else {
                assert!(grad.abs() <= 1.0 + 1e-9);
            }
        }
    }

    #[test]
    fn hungarian_finds_the_optimum() {
        let cost = vec![vec![4, 1, 3], vec![2, 0, 5], vec![3, 2, 2]];
        let a = hungarian(&cost);
        let total: i64 = a.iter().enumerate().map(|(i, &j)| cost[i][j]).sum();
        assert_eq!(total, 5); // brute force over the 6 permutations gives 5 (1 + 2 + 2)
        assert_eq!(
            matched_accuracy(&[0, 0, 1, 1, 2, 2], &[2, 2, 0, 0, 1, 0], 3),
            5.0 / 6.0
        );
    }

    #[test]
    fn spectral_clustering_separates_disconnected_blocks() {
        let mut w = Array2::<f64>::zeros((9, 9));
        for b in 0..3 {
            for i in 0..3 {
                for j in 0..3 {
                    if i != j {
                        w[(3 * b + i, 3 * b + j)] = 1.0;
                    }
                }
            }
        }
        w[(0, 3)] = 0.01;
        w[(3, 0)] = 0.01;
        let labels = spectral_clustering(&w, 3, 5, &mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!(
            matched_accuracy(&[0, 0, 0, 1, 1, 1, 2, 2, 2], &labels, 3),
            1.0
        );
    }
}
