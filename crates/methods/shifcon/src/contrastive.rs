//! The multilingual contrastive loss of the authors' code, and a linear alignment trained with it.
//!
//! For a batch of non-dominant sentences `x` and their dominant-language translations `y`: shift
//! `x` by its batch mean toward `y`'s, map it by the alignment `W`, take logits
//! `scale · cos(W x'_i, y_j)` and average the cross-entropies of rows and columns with the
//! translations as positives (symmetric InfoNCE).

use ndarray::{Array1, Array2, ArrayView2, Axis};

/// The loss and, when asked, its gradient with respect to `w`.
pub fn info_nce(
    w: ArrayView2<f64>,
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    scale: f64,
    want_gradient: bool,
) -> (f64, Option<Array2<f64>>) {
    let b = x.nrows();
    assert_eq!(b, y.nrows(), "one translation per source sentence");
    let shift = &y.mean_axis(Axis(0)).expect("rows") - &x.mean_axis(Axis(0)).expect("rows");
    let shifted = &x + &shift.insert_axis(Axis(0));
    let u = shifted.dot(&w.t());
    let unit = |m: &Array2<f64>| -> (Array2<f64>, Array1<f64>) {
        let norms = m.map_axis(Axis(1), |r| r.dot(&r).sqrt().max(f64::MIN_POSITIVE));
        (m / &norms.view().insert_axis(Axis(1)), norms)
    };
    let (u_hat, u_norm) = unit(&u);
    let (y_hat, _) = unit(&y.to_owned());
    let logits = u_hat.dot(&y_hat.t()) * scale;
    // Row softmax P (each source picks its translation) and column softmax Q (each target picks
    // its source), with their cross-entropies.
    let softmax_rows = |m: &Array2<f64>| -> (Array2<f64>, f64) {
        let mut p = m.clone();
        let mut loss = 0.0;
        for (i, mut row) in p.outer_iter_mut().enumerate() {
            let top = row.fold(f64::NEG_INFINITY, |a, &v| a.max(v));
            let total: f64 = row.iter().map(|v| (v - top).exp()).sum();
            loss += top + total.ln() - row[i];
            row.mapv_inplace(|v| (v - top).exp() / total);
        }
        (p, loss / m.nrows() as f64)
    };
    let (p, row_loss) = softmax_rows(&logits);
    let (qt, column_loss) = softmax_rows(&logits.t().to_owned());
    let loss = 0.5 * (row_loss + column_loss);
    if !want_gradient {
        return (loss, None);
    }
    // ∂loss/∂logits = ((P − I) + (Q − I)) / (2B).
    let mut g = (&p + &qt.t()) / (2.0 * b as f64);
    for i in 0..b {
        g[(i, i)] -= 1.0 / b as f64;
    }
    // Through the cosine: ∂/∂u_i = (I − û_i û_iᵀ) g_i / ‖u_i‖ with g_i = scale Σ_j G_ij ŷ_j.
    let gu = g.dot(&y_hat) * scale;
    let mut du = gu.clone();
    for (i, mut row) in du.outer_iter_mut().enumerate() {
        let along = u_hat.row(i).dot(&gu.row(i));
        row.scaled_add(-along, &u_hat.row(i));
        row /= u_norm[i];
    }
    (loss, Some(du.t().dot(&shifted)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use subspace::gaussian_matrix;

    #[test]
    fn matches_a_hand_computed_value() {
        // Two orthogonal pairs, W = I: the logits are the identity, and each row's and column's
        // cross-entropy is −log(e / (e + 1)) = log(1 + 1/e).
        let x = array![[1.0, 0.0], [0.0, 1.0]];
        let w = Array2::eye(2);
        let (loss, _) = info_nce(w.view(), x.view(), x.view(), 1.0, false);
        let expected = (1.0 + (-1.0_f64).exp()).ln();
        assert!(
            (loss - expected).abs() <= 4.0 * f64::EPSILON,
            "{loss} vs {expected}"
        );
        // Four unit vectors with mean zero (so the batch-mean shift is nil), targets rotated by
        // 90°, scale 2: each row and column holds the logits 0 (diagonal), 2, −2 and 0, so every
        // cross-entropy is log(2 + e² + e⁻²).
        let x = array![[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]];
        let y = array![[0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [1.0, 0.0]];
        let (loss, _) = info_nce(w.view(), x.view(), y.view(), 2.0, false);
        let expected = (2.0 + 2.0_f64.exp() + (-2.0_f64).exp()).ln();
        assert!(
            (loss - expected).abs() <= 8.0 * f64::EPSILON * expected,
            "{loss} vs {expected}"
        );
    }

    #[test]
    fn the_gradient_matches_central_differences() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let (b, d) = (7, 5);
        let x = gaussian_matrix(b, d, &mut rng);
        let y = gaussian_matrix(b, d, &mut rng);
        let w = Array2::eye(d) + gaussian_matrix(d, d, &mut rng) * 0.3;
        let (_, g) = info_nce(w.view(), x.view(), y.view(), 3.0, true);
        let g = g.unwrap();
        let h = 1e-6;
        for i in 0..d {
            for j in 0..d {
                let mut plus = w.clone();
                plus[(i, j)] += h;
                let mut minus = w.clone();
                minus[(i, j)] -= h;
                let numeric = (info_nce(plus.view(), x.view(), y.view(), 3.0, false).0
                    - info_nce(minus.view(), x.view(), y.view(), 3.0, false).0)
                    / (2.0 * h);
                // Central differences: O(h²) truncation plus O(ε/h) rounding.
                assert!(
                    (numeric - g[(i, j)]).abs() < 1e-7,
                    "({i},{j}): {numeric} vs {}",
                    g[(i, j)]
                );
            }
        }
    }

    #[test]
    fn the_loss_ignores_a_common_offset_and_the_scale_of_w() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let x = gaussian_matrix(6, 4, &mut rng);
        let y = gaussian_matrix(6, 4, &mut rng);
        let w = gaussian_matrix(4, 4, &mut rng);
        let (a, _) = info_nce(w.view(), x.view(), y.view(), 1.0, false);
        let (b, _) = info_nce((&w * 3.5).view(), (&x + 10.0).view(), y.view(), 1.0, false);
        assert!((a - b).abs() < 1e3 * f64::EPSILON, "{a} vs {b}");
    }
}
