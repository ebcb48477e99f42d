//! Accuracy of principal angles against prescribed (closed-form) angles, under random rotations
//! and well-conditioned changes of basis. The bound is the one a backward-stable method can
//! promise: absolute error ≤ 100 · ε · cond(basis). `principal_angles` takes one of two paths
//! (Gram matrices for well-conditioned bases, Householder QR otherwise); the tests at the end
//! show which inputs take which path, that each path meets the bound where it is taken, and that
//! the guard is needed.

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4};

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use subspace::{
    haar_orthonormal, matrix_with_condition, principal_angles, principal_angles_reporting,
    principal_angles_with, subspace_pair_with_angles, AnglesMethod, SubspaceError,
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

/// Bases of span(R·A₀·M₁) and span(R·B₀·M₂): a pair with the given principal angles, rotated
/// by a Haar R and multiplied by changes of basis of condition number `cond`.
fn conditioned_pair(truth: &[f64], n: usize, cond: f64, seed: u64) -> (Array2<f64>, Array2<f64>) {
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
    (a, b)
}

fn error_against(truth: &[f64], got: &[f64]) -> f64 {
    let want = sorted(truth.to_vec());
    got.iter()
        .zip(&want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max)
}

/// Largest absolute error of the computed angles of span(a·M₁) and span(b·M₂).
fn worst_error(truth: &[f64], n: usize, cond: f64, seed: u64) -> f64 {
    let (a, b) = conditioned_pair(truth, n, cond, seed);
    let got = principal_angles(a.view(), b.view(), false).unwrap().angles;
    error_against(truth, got.as_slice().unwrap())
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

/// The path `principal_angles` reports, after checking that its result is bit for bit the one
/// of that path forced, and its error.
fn path_and_error(truth: &[f64], a: &Array2<f64>, b: &Array2<f64>) -> (AnglesMethod, f64) {
    let (result, method) = principal_angles_reporting(a.view(), b.view(), false).unwrap();
    let forced = principal_angles_with(a.view(), b.view(), false, method).unwrap();
    assert_eq!(result, forced, "{method:?} reported but not taken");
    let error = error_against(truth, result.angles.as_slice().unwrap());
    (method, error)
}

#[test]
fn well_conditioned_bases_take_the_gram_path_within_the_bound() {
    for (n, cond) in [(14, 1.0), (20, 2.0), (100, 4.0), (400, 8.0)] {
        for seed in 0..5 {
            let (a, b) = conditioned_pair(&MIXED, n, cond, seed);
            let (method, error) = path_and_error(&MIXED, &a, &b);
            assert_eq!(
                method,
                AnglesMethod::Gram,
                "n = {n}, cond = {cond}, seed {seed}"
            );
            let bound = 100.0 * f64::EPSILON * cond;
            assert!(
                error <= bound,
                "n = {n}, cond = {cond}, seed {seed}: error {error:e}"
            );
        }
    }
    // Unequal dimensions, either order, and a transposed (column-major) view.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let truth = [1e-9, 0.7, 1.5];
    let pair = subspace_pair_with_angles(12, 3, 5, &truth, &mut rng).unwrap();
    let a_f = pair.a.t().as_standard_layout().t().to_owned();
    assert!(!a_f.is_standard_layout());
    for (a, b) in [(&pair.a, &pair.b), (&pair.b, &pair.a), (&a_f, &pair.b)] {
        let (method, error) = path_and_error(&truth, a, b);
        assert_eq!(method, AnglesMethod::Gram);
        assert!(error <= 100.0 * f64::EPSILON, "{error:e}");
    }
}

#[test]
fn ill_conditioned_bases_take_the_householder_path_within_the_bound() {
    for (n, cond) in [(40, 1e3), (100, 1e5), (100, 1e8)] {
        for seed in 0..5 {
            let (a, b) = conditioned_pair(&MIXED, n, cond, seed);
            let (method, error) = path_and_error(&MIXED, &a, &b);
            assert_eq!(method, AnglesMethod::Householder, "n = {n}, cond = {cond}");
            let bound = 100.0 * f64::EPSILON * cond;
            assert!(
                error <= bound,
                "n = {n}, cond = {cond}, seed {seed}: error {error:e}"
            );
        }
    }
}

/// Without the guard the Gram path breaks the bound: its error grows like ε κ², Householder's
/// like ε κ.
#[test]
fn the_condition_guard_is_needed() {
    for seed in 0..3 {
        let (a, b) = conditioned_pair(&MIXED, 100, 1e5, seed);
        let bound = 100.0 * f64::EPSILON * 1e5;
        let gram = principal_angles_with(a.view(), b.view(), false, AnglesMethod::Gram).unwrap();
        let gram_error = error_against(&MIXED, gram.angles.as_slice().unwrap());
        assert!(
            gram_error > 10.0 * bound,
            "seed {seed}: Gram error only {gram_error:e}"
        );
        let (_, error) = path_and_error(&MIXED, &a, &b);
        assert!(error <= bound, "seed {seed}: {error:e}");
    }
}

/// Nearly dependent columns, dependent columns, extreme scales and principal vectors go to the
/// Householder path, which reports rank deficiency exactly as `orthonormal_basis` does.
#[test]
fn rank_deficient_scaled_and_vector_requests_take_the_householder_path() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let truth = [0.2, 0.9, 1.3];
    let pair = subspace_pair_with_angles(30, 3, 3, &truth, &mut rng).unwrap();
    // Column 2 := column 0 + 1e-9 · column 2: the span is unchanged, cond(A) ≈ 1e9.
    let mut nearly = pair.a.clone();
    let mixed = &pair.a.column(0) + &(&pair.a.column(2) * 1e-9);
    nearly.column_mut(2).assign(&mixed);
    let (method, error) = path_and_error(&truth, &nearly, &pair.b);
    assert_eq!(method, AnglesMethod::Householder);
    assert!(error <= 100.0 * f64::EPSILON * 1e9, "{error:e}");
    let mut dependent = pair.a.clone();
    let copy = pair.a.column(0).to_owned();
    dependent.column_mut(2).assign(&copy);
    assert!(matches!(
        principal_angles(dependent.view(), pair.b.view(), false),
        Err(SubspaceError::RankDeficient {
            cols: 3,
            rank: 2,
            ..
        })
    ));
    for scale in [1e-300, 1e-150, 1e150, 1e300] {
        let scaled = &pair.a * scale;
        let (method, error) = path_and_error(&truth, &scaled, &pair.b);
        assert_eq!(method, AnglesMethod::Householder, "scale {scale:e}");
        assert!(error <= 100.0 * f64::EPSILON, "scale {scale:e}: {error:e}");
    }
    let (_, method) = principal_angles_reporting(pair.a.view(), pair.b.view(), true).unwrap();
    assert_eq!(method, AnglesMethod::Householder);
    assert!(principal_angles_with(pair.a.view(), pair.b.view(), true, AnglesMethod::Gram).is_err());
}
