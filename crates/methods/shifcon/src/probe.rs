//! Linear probes: multinomial logistic regression with a small ridge, fitted by accelerated
//! gradient descent on standardised features.
//!
//! One implementation serves the language-ID probe (one class per language) and the task probe
//! (the task's classes; two in the synthetic model). The loss is convex and smooth, so Nesterov's
//! method with step 1/L converges; L is bounded by `λ_max(XᵀX)/n · ½ + ridge` (the softmax
//! Hessian is at most ½ I per sample in the relevant norm).

use ndarray::{Array1, Array2, ArrayView2, Axis};

/// A fitted probe.
#[derive(Debug, Clone)]
pub struct Probe {
    centre: Array1<f64>,
    scale: Array1<f64>,
    /// `(width + 1) × classes`, the last row is the bias.
    weights: Array2<f64>,
}

/// Fitting settings.
#[derive(Debug, Clone, Copy)]
pub struct ProbeSettings {
    pub ridge: f64,
    pub iterations: usize,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        ProbeSettings {
            ridge: 1e-3,
            iterations: 400,
        }
    }
}

fn with_bias(x: ArrayView2<f64>, centre: &Array1<f64>, scale: &Array1<f64>) -> Array2<f64> {
    let mut z = Array2::ones((x.nrows(), x.ncols() + 1));
    let mut body = z.slice_mut(ndarray::s![.., ..x.ncols()]);
    body.assign(&((&x - &centre.view().insert_axis(Axis(0))) / scale.view().insert_axis(Axis(0))));
    z
}

/// Row-wise softmax, stable for large logits.
fn softmax(logits: &mut Array2<f64>) {
    for mut row in logits.outer_iter_mut() {
        let top = row.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        row.mapv_inplace(|v| (v - top).exp());
        let total = row.sum();
        row /= total;
    }
}

impl Probe {
    /// Fit on `x` (`rows × width`) with labels in `0..classes`.
    pub fn fit(x: ArrayView2<f64>, labels: &[usize], classes: usize, s: ProbeSettings) -> Probe {
        assert_eq!(x.nrows(), labels.len());
        let n = x.nrows() as f64;
        let centre = x.mean_axis(Axis(0)).expect("rows");
        // Constant features keep scale 1 rather than dividing by zero.
        let scale = x
            .std_axis(Axis(0), 0.0)
            .mapv(|v| if v > 0.0 { v } else { 1.0 });
        let z = with_bias(x, &centre, &scale);
        let mut onehot = Array2::zeros((labels.len(), classes));
        for (r, &c) in labels.iter().enumerate() {
            onehot[(r, c)] = 1.0;
        }
        // λ_max(ZᵀZ/n) by power iteration: 30 steps overestimate nothing and underestimate by
        // little; the factor 1.1 covers the rest.
        let top = subspace::largest_eigenvalue_psd((z.t().dot(&z) / n).view(), 30);
        let step = 1.0 / (1.1 * 0.5 * top + s.ridge);
        let gradient = |w: &Array2<f64>| {
            let mut p = z.dot(w);
            softmax(&mut p);
            let mut g = z.t().dot(&(p - &onehot)) / n;
            // The bias (last row) is not penalised.
            let body = w.slice(ndarray::s![..w.nrows() - 1, ..]);
            g.slice_mut(ndarray::s![..w.nrows() - 1, ..])
                .scaled_add(s.ridge, &body);
            g
        };
        let mut w = Array2::zeros((z.ncols(), classes));
        let mut previous = w.clone();
        for t in 0..s.iterations {
            let momentum = t as f64 / (t as f64 + 3.0);
            let look = &w + &((&w - &previous) * momentum);
            let g = gradient(&look);
            previous = w;
            w = &look - &(g * step);
        }
        Probe {
            centre,
            scale,
            weights: w,
        }
    }

    /// The predicted class of each row.
    pub fn predict(&self, x: ArrayView2<f64>) -> Vec<usize> {
        let logits = with_bias(x, &self.centre, &self.scale).dot(&self.weights);
        logits
            .outer_iter()
            .map(|row| {
                let mut best = 0;
                for (c, &v) in row.iter().enumerate() {
                    if v > row[best] {
                        best = c;
                    }
                }
                best
            })
            .collect()
    }

    /// Share of rows predicted correctly.
    pub fn accuracy(&self, x: ArrayView2<f64>, labels: &[usize]) -> f64 {
        let predicted = self.predict(x);
        let right = predicted.iter().zip(labels).filter(|(a, b)| a == b).count();
        right as f64 / labels.len().max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use subspace::gaussian_matrix;

    #[test]
    fn separable_classes_are_probed_perfectly() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (n, d, k) = (300, 10, 4);
        let mut x = gaussian_matrix(n, d, &mut rng);
        let labels: Vec<usize> = (0..n).map(|r| r % k).collect();
        // Class c sits 8 standard deviations out along axis c: linearly separable.
        for (r, &c) in labels.iter().enumerate() {
            x[(r, c)] += 8.0;
        }
        let probe = Probe::fit(x.view(), &labels, k, ProbeSettings::default());
        assert_eq!(probe.accuracy(x.view(), &labels), 1.0);
        let mut test = gaussian_matrix(n, d, &mut rng);
        for (r, &c) in labels.iter().enumerate() {
            test[(r, c)] += 8.0;
        }
        assert_eq!(probe.accuracy(test.view(), &labels), 1.0);
    }

    #[test]
    fn labels_independent_of_the_features_are_probed_at_chance() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let x = gaussian_matrix(2000, 5, &mut rng);
        let labels: Vec<usize> = (0..2000).map(|r| r % 2).collect();
        let probe = Probe::fit(x.view(), &labels, 2, ProbeSettings::default());
        let test = gaussian_matrix(2000, 5, &mut rng);
        let accuracy = probe.accuracy(test.view(), &labels);
        // Binomial(2000, ½): 4 standard deviations is 0.045.
        assert!((accuracy - 0.5).abs() < 0.045, "{accuracy}");
    }

    #[test]
    fn the_fit_reaches_a_stationary_point() {
        // On overlapping classes the optimum is finite: the gradient must vanish there.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut x = gaussian_matrix(400, 3, &mut rng);
        let labels: Vec<usize> = (0..400).map(|r| r % 3).collect();
        for (r, &c) in labels.iter().enumerate() {
            x[(r, c)] += 1.0;
        }
        let settings = ProbeSettings {
            ridge: 1e-2,
            iterations: 3000,
        };
        let probe = Probe::fit(x.view(), &labels, 3, settings);
        let more = Probe::fit(
            x.view(),
            &labels,
            3,
            ProbeSettings {
                iterations: 6000,
                ..settings
            },
        );
        let change = (&probe.weights - &more.weights)
            .mapv(f64::abs)
            .fold(0.0_f64, |a, &b| a.max(b));
        assert!(change < 1e-8, "weights still moving by {change}");
    }
}
