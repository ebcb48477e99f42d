//! Fisher's linear discriminant analysis by language: the directions along which languages'
//! states differ most relative to how much they vary within a language. ShifCon motivates its
//! band with a layer-wise LDA picture of the languages' representations [summary, docs/papers/shifcon.md];
//! this is that picture's projection.
//!
//! Directions solve S_b v = λ S_w v with S_w the pooled within-class covariance and S_b the
//! between-class scatter of the class means. With S_w = L Lᵀ (Cholesky) they are v = L⁻ᵀ u for
//! the top eigenvectors u of L⁻¹ S_b L⁻ᵀ, so vᵀ S_w v = 1: coordinates are in units of the
//! within-language spread, and they do not change under an invertible linear map of the states.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use ndarray_linalg::{Cholesky, Diag, Eigh, SolveTriangular, UPLO};

/// The discriminant directions of a labelled sample.
#[derive(Debug, Clone)]
pub struct Discriminant {
    /// `width × k`, columns normalised to vᵀ S_w v = 1, signed so that class 0's centred mean
    /// projects to a value ≤ 0.
    pub directions: Array2<f64>,
    /// The generalised eigenvalues λ of the directions, largest first: between-class variance
    /// over within-class variance along each.
    pub ratios: Vec<f64>,
    /// Per class, the mean (`classes × width`).
    pub means: Array2<f64>,
}

/// LDA of `rows` (`n × width`) labelled `labels[i] < classes`, keeping `k` directions.
/// `shrinkage` adds `shrinkage · tr(S_w)/width · I` to S_w (0: plain LDA; needed when the width
/// exceeds the rows minus the classes). Every class must have a row.
pub fn lda(
    rows: ArrayView2<f64>,
    labels: &[usize],
    classes: usize,
    k: usize,
    shrinkage: f64,
) -> Result<Discriminant, String> {
    let (n, width) = rows.dim();
    let mut means = Array2::<f64>::zeros((classes, width));
    let mut counts = vec![0usize; classes];
    for (row, &c) in rows.outer_iter().zip(labels) {
        means.row_mut(c).scaled_add(1.0, &row);
        counts[c] += 1;
    }
    if let Some(empty) = counts.iter().position(|&c| c == 0) {
        return Err(format!("LDA: class {empty} has no rows"));
    }
    for (mut mean, &count) in means.outer_iter_mut().zip(&counts) {
        mean /= count as f64;
    }
    if n <= classes {
        return Err(format!(
            "LDA needs more rows ({n}) than classes ({classes})"
        ));
    }
    let mut centred = rows.to_owned();
    for (mut row, &c) in centred.outer_iter_mut().zip(labels) {
        row -= &means.row(c);
    }
    let mut within = centred.t().dot(&centred) / (n - classes) as f64;
    let ridge = shrinkage * within.diag().sum() / width as f64;
    for i in 0..width {
        within[(i, i)] += ridge;
    }
    let overall: Array1<f64> = rows.mean_axis(Axis(0)).expect("rows");
    let mut spread = means.clone();
    for (mut m, &count) in spread.outer_iter_mut().zip(&counts) {
        m -= &overall;
        m *= (count as f64 / n as f64).sqrt();
    }
    let between = spread.t().dot(&spread);
    let lower = within.cholesky(UPLO::Lower).map_err(|_| {
        "LDA: the within-language covariance is singular (more dimensions than rows?); set `lda_shrinkage` above 0".to_string()
    })?;
    let half = lower
        .solve_triangular(UPLO::Lower, Diag::NonUnit, &between)
        .map_err(|e| e.to_string())?;
    let mut whitened = lower
        .solve_triangular(UPLO::Lower, Diag::NonUnit, &half.t().to_owned())
        .map_err(|e| e.to_string())?;
    // Symmetrise the rounding of the two solves before the symmetric eigensolver.
    whitened = (&whitened + &whitened.t()) / 2.0;
    let (values, vectors) = whitened.eigh(UPLO::Upper).map_err(|e| e.to_string())?;
    let k = k.min(width);
    let top: Vec<usize> = (0..width).rev().take(k).collect();
    let chosen = vectors.select(Axis(1), &top);
    let mut directions = lower
        .t()
        .to_owned()
        .solve_triangular(UPLO::Upper, Diag::NonUnit, &chosen)
        .map_err(|e| e.to_string())?;
    let class0 = &means.row(0) - &overall;
    for mut v in directions.columns_mut() {
        if class0.dot(&v) > 0.0 {
            v *= -1.0;
        }
    }
    Ok(Discriminant {
        directions,
        ratios: top.iter().map(|&i| values[i].max(0.0)).collect(),
        means,
    })
}

impl Discriminant {
    /// Coordinates of `rows` along the directions (`n × k`).
    pub fn project(&self, rows: ArrayView2<f64>) -> Array2<f64> {
        rows.dot(&self.directions)
    }

    /// The class of each row by the nearest projected class mean (Euclidean in the projection,
    /// which is the within-class metric).
    pub fn classify(&self, rows: ArrayView2<f64>) -> Vec<usize> {
        let centres = self.project(self.means.view());
        self.project(rows)
            .outer_iter()
            .map(|p| {
                let mut best = (0, f64::INFINITY);
                for (c, centre) in centres.outer_iter().enumerate() {
                    let d = (&p - &centre).mapv(|v| v * v).sum();
                    if d < best.1 {
                        best = (c, d);
                    }
                }
                best.0
            })
            .collect()
    }
}

/// Between-class over within-class variance of already projected points, summed over the
/// projection's axes: tr(S_b) / tr(S_w) of `points` (`n × k`) by `labels`.
pub fn separation(points: ArrayView2<f64>, labels: &[usize], classes: usize) -> f64 {
    let k = points.ncols();
    let mut means = Array2::<f64>::zeros((classes, k));
    let mut counts = vec![0usize; classes];
    for (p, &c) in points.outer_iter().zip(labels) {
        means.row_mut(c).scaled_add(1.0, &p);
        counts[c] += 1;
    }
    let overall = points.mean_axis(Axis(0)).expect("points");
    let mut between = 0.0;
    for (c, mut m) in means.outer_iter_mut().enumerate() {
        if counts[c] > 0 {
            m /= counts[c] as f64;
            between += counts[c] as f64 * (&m - &overall).mapv(|v| v * v).sum();
        }
    }
    let within: f64 = points
        .outer_iter()
        .zip(labels)
        .map(|(p, &c)| (&p - &means.row(c)).mapv(|v| v * v).sum())
        .sum();
    between / within.max(f64::MIN_POSITIVE)
}

/// The first `count` rows of every class among `rows` (in order): the points a picture keeps.
pub fn first_per_class(labels: &[usize], classes: usize, count: usize) -> Vec<usize> {
    let mut taken = vec![0usize; classes];
    let mut out = Vec::new();
    for (i, &c) in labels.iter().enumerate() {
        if taken[c] < count {
            taken[c] += 1;
            out.push(i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, s};
    use ndarray_linalg::{Inverse, Norm};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use subspace::gaussian_matrix;

    /// Two classes with means μ0, μ1 and a shared covariance Σ = R Rᵀ, `n` rows each.
    fn two_gaussians(n: usize, seed: u64) -> (Array2<f64>, Vec<usize>, Array1<f64>, Array2<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let root = array![[2.0, 0.0, 0.0], [0.6, 0.5, 0.0], [-0.3, 0.2, 1.2]];
        let delta = array![1.0, -0.5, 0.25];
        let mut rows = gaussian_matrix(2 * n, 3, &mut rng).dot(&root.t());
        for mut r in rows.slice_mut(s![n.., ..]).outer_iter_mut() {
            r += &delta;
        }
        let labels = (0..2 * n).map(|i| usize::from(i >= n)).collect();
        (rows, labels, delta, root.dot(&root.t()))
    }

    fn cosine(a: &Array1<f64>, b: &Array1<f64>) -> f64 {
        a.dot(b) / (a.dot(a) * b.dot(b)).sqrt()
    }

    #[test]
    fn two_classes_give_the_sample_fisher_direction_exactly() {
        // With K = 2, S_b ∝ (m1 − m0)(m1 − m0)ᵀ has rank one: the direction is S_w⁻¹(m1 − m0)
        // for the sample moments, an algebraic identity.
        let (rows, labels, _, _) = two_gaussians(50, 1);
        let d = lda(rows.view(), &labels, 2, 1, 0.0).unwrap();
        let diff = &d.means.row(1) - &d.means.row(0);
        let mut centred = rows.clone();
        for (mut r, &c) in centred.outer_iter_mut().zip(&labels) {
            r -= &d.means.row(c);
        }
        let within = centred.t().dot(&centred) / 98.0;
        let fisher = within.inv().unwrap().dot(&diff);
        let v = d.directions.column(0).to_owned();
        assert!(
            (cosine(&v, &fisher) - 1.0).abs() < 1e-12,
            "{}",
            cosine(&v, &fisher)
        );
        assert!((v.dot(&within.dot(&v)) - 1.0).abs() < 1e-12);
        // Class 0 projects below the mean, so class 1 above.
        assert!(d.means.row(0).dot(&v) < d.means.row(1).dot(&v));
    }

    #[test]
    fn two_classes_approach_the_population_direction() {
        // Population: Σ⁻¹(μ1 − μ0). With 20,000 rows per class the sample direction's error is
        // O(1/√n) ≈ 0.007 in angle.
        let (rows, labels, delta, sigma) = two_gaussians(20_000, 2);
        let d = lda(rows.view(), &labels, 2, 1, 0.0).unwrap();
        let truth = sigma.inv().unwrap().dot(&delta);
        let c = cosine(&d.directions.column(0).to_owned(), &truth);
        assert!(c > 0.9995, "{c}");
        // λ = (n0 n1/n²)·Δᵀ Σ⁻¹ Δ = Δᵀ Σ⁻¹ Δ / 4 in population.
        let lambda = delta.dot(&truth) / 4.0;
        assert!(
            (d.ratios[0] - lambda).abs() < 0.05 * lambda,
            "{} vs {lambda}",
            d.ratios[0]
        );
    }

    #[test]
    fn the_picture_does_not_change_under_an_invertible_linear_map() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let classes = 4;
        let mut rows = gaussian_matrix(200, 6, &mut rng);
        let offsets = gaussian_matrix(classes, 6, &mut rng) * 2.0;
        let labels: Vec<usize> = (0..200).map(|i| i % classes).collect();
        for (mut r, &c) in rows.outer_iter_mut().zip(&labels) {
            r += &offsets.row(c);
        }
        let map = gaussian_matrix(6, 6, &mut rng) + Array2::<f64>::eye(6) * 0.5;
        let mapped = rows.dot(&map.t()) + &array![3.0, -1.0, 0.0, 2.0, 5.0, 1.0];
        let before = lda(rows.view(), &labels, classes, 2, 0.0).unwrap();
        let after = lda(mapped.view(), &labels, classes, 2, 0.0).unwrap();
        let p0 = before.project(rows.view());
        let p1 = after.project(mapped.view());
        // Coordinates move by a constant (the translation) and by rounding amplified by the
        // condition of the mapped within-class covariance M S_w Mᵀ, up to cond(M)² times S_w's.
        let shift = &p1.row(0) - &p0.row(0);
        let cond = {
            let sv = ndarray_linalg::SVD::svd(&map, false, false).unwrap().1;
            sv[0] / sv[sv.len() - 1]
        };
        let err = (&(&p1 - &p0) - &shift.insert_axis(Axis(0))).norm_max();
        assert!(
            err < 1e2 * f64::EPSILON * cond * cond * p0.norm_max(),
            "{err}, cond {cond}"
        );
        for (a, b) in before.ratios.iter().zip(&after.ratios) {
            assert!(
                (a - b).abs() < 1e2 * f64::EPSILON * cond * cond * a,
                "{a} vs {b}"
            );
        }
        assert_eq!(before.classify(rows.view()), after.classify(mapped.view()));
    }

    #[test]
    fn separation_of_points_is_between_over_within_spread() {
        // Two classes at −1 and +1 with within-class deviations ±0.5: between 4·1, within 4·0.25.
        let points = array![[-1.5], [-0.5], [0.5], [1.5]];
        let s = separation(points.view(), &[0, 0, 1, 1], 2);
        assert!((s - 4.0).abs() < 1e-15, "{s}");
    }

    #[test]
    fn a_singular_within_covariance_is_a_clear_error_and_shrinkage_solves_it() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let rows = gaussian_matrix(6, 10, &mut rng);
        let labels = [0, 0, 0, 1, 1, 1];
        assert!(lda(rows.view(), &labels, 2, 1, 0.0)
            .unwrap_err()
            .contains("lda_shrinkage"));
        assert!(lda(rows.view(), &labels, 2, 1, 0.1).is_ok());
        assert!(lda(rows.view(), &[0, 0, 0, 0, 0, 0], 2, 1, 0.1)
            .unwrap_err()
            .contains("no rows"));
    }

    #[test]
    fn the_first_rows_of_each_class_are_kept_in_order() {
        assert_eq!(
            first_per_class(&[0, 1, 0, 1, 0, 2], 3, 2),
            vec![0, 1, 2, 3, 5]
        );
    }
}
