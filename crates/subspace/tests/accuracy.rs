//! Accuracy of principal angles against prescribed (closed-form) angles, under random rotations
//! and well-conditioned changes of basis. The bound is the one a backward-stable method can
//! promise: absolute error ≤ 100 · ε · cond(basis).

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4};

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use subspace::{
    haar_orthonormal, matrix_with_condition, principal_angles, subspace_pair_with_angles,
};

const MIXED: [f64; 7] = [
    1e-10,
    1e-8,
    1e-5,
    FRAC_PI_4 - 1e-9,
    FRAC_PI_4 + 1e-9,
    1.5,
    FRAC_PI_2 - 1e-9,
];

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// Largest absolute error of the computed angles of span(a·M₁) and span(b·M₂).
fn worst_error(truth: &[f64], n: usize, cond: f64, seed: u64) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let k = truth.len();
    let pair = subspace_pair_with_angles(n, k, k, truth, &mut rng).unwrap();
    let rotation = haar_orthonormal(n, n, &mut rng).unwrap();
    let a = rotation
        .dot(&pair.a)
        .dot(&matrix_with_condition(k, cond, &mut rng).unwrap());
    let b = rotation
        .dot(&pair.b)
        .dot(&matrix_with_condition(k, cond, &mut rng).unwrap());
    let got = principal_angles(a.view(), b.view(), false).unwrap().angles;
    let want = sorted(truth.to_vec());
    got.iter()
        .zip(&want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max)
}

#[test]
fn mixed_angles_are_accurate_under_rotation_and_change_of_basis() {
    for (n, cond) in [(14, 1.0), (20, 10.0), (40, 1e3), (100, 1e5)] {
        for seed in 0..5 {
            let error = worst_error(&MIXED, n, cond, seed);
            let bound = 100.0 * f64::EPSILON * cond;
            assert!(
                error <= bound,
                "n = {n}, cond = {cond}, seed {seed}: error {error:e} > {bound:e}"
            );
        }
    }
}

/// The case that `scipy.linalg.subspace_angles` (1.x) gets wrong: one large and one tiny angle.
/// scipy reports 1.49e-8 (or 0) for the small one; the true value is 1e-10.
#[test]
fn regression_large_and_tiny_angle_in_one_pair() {
    for seed in 0..20 {
        let error = worst_error(&[1.5, 1e-10], 6, 1.0, seed);
        assert!(
            error <= 100.0 * f64::EPSILON,
            "seed {seed}: error {error:e}"
        );
    }
}

/// Different dimensions: the smaller subspace's angles to the larger, whichever is passed first.
#[test]
fn different_dimensions_either_order() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let truth = [1e-9, 0.7, 1.5];
    let pair = subspace_pair_with_angles(12, 3, 5, &truth, &mut rng).unwrap();
    for (a, b) in [(&pair.a, &pair.b), (&pair.b, &pair.a)] {
        let got = principal_angles(a.view(), b.view(), false).unwrap().angles;
        assert_eq!(got.len(), 3);
        for (g, w) in got.iter().zip(truth) {
            assert!((g - w).abs() <= 100.0 * f64::EPSILON, "{g} vs {w}");
        }
    }
}

#[test]
fn principal_vectors_realise_the_angles() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let pair = subspace_pair_with_angles(20, 4, 6, &[1e-7, 0.5, 0.9, 1.4], &mut rng).unwrap();
    let result = principal_angles(pair.a.view(), pair.b.view(), true).unwrap();
    let (u, v) = result.vectors.unwrap();
    let tol = 64.0 * f64::EPSILON;
    let m = result.angles.len();
    // Orthonormal within each subspace.
    for w in [&u, &v] {
        let defect = w.t().dot(w) - Array2::<f64>::eye(m);
        assert!(defect.iter().all(|d| d.abs() <= tol), "{defect}");
    }
    // u lies in span(a), v in span(b).
    let in_a = &u - &pair.a.dot(&pair.a.t().dot(&u));
    let in_b = &v - &pair.b.dot(&pair.b.t().dot(&v));
    assert!(in_a.iter().chain(in_b.iter()).all(|d| d.abs() <= tol));
    // UᵀV = diag(cos θ).
    let cross = u.t().dot(&v);
    for i in 0..m {
        for j in 0..m {
            let want = if i == j { result.angles[i].cos() } else { 0.0 };
            assert!(
                (cross[(i, j)] - want).abs() <= tol,
                "({i},{j}): {}",
                cross[(i, j)]
            );
        }
    }
}
