//! Invariants every principal-angle computation must satisfy, checked on random inputs with
//! proptest: rotation invariance, change-of-basis invariance, symmetry, zero for equal spans,
//! π/2 for orthogonal spans, and the triangle inequality for the distances that are metrics.

use std::f64::consts::FRAC_PI_2;

use ndarray::{s, Array2};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use subspace::{distance, haar_orthonormal, matrix_with_condition, principal_angles, Distance};

/// The accuracy `principal_angles` documents and `tests/accuracy.rs` proves: `100 ε κ`.
///
/// It used to be `16 ε √n κ`, which the Householder path meets (7 ε at most over 20,000 draws
/// at n = 4). The Gram path, which well-conditioned bases take, computes angles of subspaces
/// that intersect (exact zeros) to about 60 ε whatever n (measured: 42 ε at n = 4, 62 ε at
/// n = 16, 3,000 draws each), within its documented bound but not within the old one, so the
/// invariance test failed for about one seed in a few thousand. An invariant must hold to the
/// accuracy the function promises, for any seed.
fn tol(cond: f64) -> f64 {
    100.0 * f64::EPSILON * cond
}

fn angles(a: &Array2<f64>, b: &Array2<f64>) -> Vec<f64> {
    principal_angles(a.view(), b.view(), false)
        .unwrap()
        .angles
        .to_vec()
}

fn max_diff(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len());
    x.iter()
        .zip(y)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

prop_compose! {
    /// Ambient dimension and two subspace dimensions, with a seed for the draws.
    fn dims()(n in 2usize..24)(n in Just(n), k1 in 1..=n, k2 in 1..=n, seed in any::<u64>())
        -> (usize, usize, usize, u64) { (n, k1, k2, seed) }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn invariant_under_a_common_rotation((n, k1, k2, seed) in dims()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = haar_orthonormal(n, k1, &mut rng).unwrap();
        let b = haar_orthonormal(n, k2, &mut rng).unwrap();
        let q = haar_orthonormal(n, n, &mut rng).unwrap();
        let before = angles(&a, &b);
        let after = angles(&q.dot(&a), &q.dot(&b));
        prop_assert!(max_diff(&before, &after) <= tol(1.0));
    }

    #[test]
    fn invariant_under_change_of_basis((n, k1, k2, seed) in dims(), log_cond in 0.0f64..4.0) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let cond = 10f64.powf(log_cond);
        let a = haar_orthonormal(n, k1, &mut rng).unwrap();
        let b = haar_orthonormal(n, k2, &mut rng).unwrap();
        let a2 = a.dot(&matrix_with_condition(k1, cond, &mut rng).unwrap());
        let b2 = b.dot(&matrix_with_condition(k2, cond, &mut rng).unwrap());
        prop_assert!(max_diff(&angles(&a, &b), &angles(&a2, &b2)) <= tol(cond));
    }

    #[test]
    fn symmetric_and_ascending_in_range((n, k1, k2, seed) in dims()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = haar_orthonormal(n, k1, &mut rng).unwrap();
        let b = haar_orthonormal(n, k2, &mut rng).unwrap();
        let ab = angles(&a, &b);
        prop_assert_eq!(ab.len(), k1.min(k2));
        prop_assert!(max_diff(&ab, &angles(&b, &a)) <= tol(1.0));
        prop_assert!(ab.windows(2).all(|w| w[0] <= w[1]));
        prop_assert!(ab.iter().all(|t| (0.0..=FRAC_PI_2).contains(t)));
    }

    #[test]
    fn zero_for_equal_spans((n, k1, _k2, seed) in dims()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = haar_orthonormal(n, k1, &mut rng).unwrap();
        let b = a.dot(&matrix_with_condition(k1, 10.0, &mut rng).unwrap());
        prop_assert!(angles(&a, &b).iter().all(|&t| t <= tol(10.0)));
        for d in Distance::ALL.into_iter().filter(|d| *d != Distance::Affinity) {
            let v = distance(a.view(), b.view(), d).unwrap();
            prop_assert!(v <= tol(10.0), "{} = {}", d, v);
        }
    }

    #[test]
    fn right_angles_for_orthogonal_spans(n in 2usize..24, seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let frame = haar_orthonormal(n, n, &mut rng).unwrap();
        let split = 1 + (seed as usize) % (n - 1);
        let a = frame.slice(s![.., ..split]).to_owned();
        let b = frame.slice(s![.., split..]).to_owned();
        prop_assert!(angles(&a, &b).iter().all(|&t| (t - FRAC_PI_2).abs() <= tol(1.0)));
    }

    #[test]
    fn metrics_satisfy_the_triangle_inequality(n in 2usize..16, k in 1usize..6, seed in any::<u64>()) {
        prop_assume!(k <= n);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = haar_orthonormal(n, k, &mut rng).unwrap();
        let y = haar_orthonormal(n, k, &mut rng).unwrap();
        let z = haar_orthonormal(n, k, &mut rng).unwrap();
        for d in Distance::ALL.into_iter().filter(|d| d.is_metric()) {
            let xy = distance(x.view(), y.view(), d).unwrap();
            let yz = distance(y.view(), z.view(), d).unwrap();
            let xz = distance(x.view(), z.view(), d).unwrap();
            prop_assert!(xz <= xy + yz + tol(1.0), "{}: {} > {} + {}", d, xz, xy, yz);
        }
    }
}

/// Distances computed from angles agree with their matrix definitions, where one exists.
#[test]
fn distances_match_their_matrix_definitions() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let (n, k) = (15, 4);
    let a = haar_orthonormal(n, k, &mut rng).unwrap();
    let b = haar_orthonormal(n, k, &mut rng).unwrap();
    let pa = a.dot(&a.t());
    let pb = b.dot(&b.t());
    let diff = &pa - &pb;
    let frobenius = diff.iter().map(|v| v * v).sum::<f64>().sqrt();
    let chordal = distance(a.view(), b.view(), Distance::Chordal).unwrap();
    assert!((chordal - frobenius / 2f64.sqrt()).abs() <= tol(1.0));
    // ‖U₁ᵀU₂‖_F² = Σcos²θ: the affinity.
    let cross = a.t().dot(&b);
    let affinity = (cross.iter().map(|v| v * v).sum::<f64>() / k as f64).sqrt();
    let got = distance(a.view(), b.view(), Distance::Affinity).unwrap();
    assert!((got - affinity).abs() <= tol(1.0));
    // Binet–Cauchy: √(1 − det(U₁ᵀU₂)²). The 4×4 determinant by cofactor-free Gaussian elimination.
    let det = determinant(cross);
    let bc = distance(a.view(), b.view(), Distance::BinetCauchy).unwrap();
    assert!((bc - (1.0 - det * det).sqrt()).abs() <= tol(1.0));
}

fn determinant(mut m: Array2<f64>) -> f64 {
    let k = m.nrows();
    let mut det = 1.0;
    for c in 0..k {
        let p = (c..k)
            .max_by(|&i, &j| m[(i, c)].abs().total_cmp(&m[(j, c)].abs()))
            .unwrap();
        if p != c {
            for j in 0..k {
                m.swap((p, j), (c, j));
            }
            det = -det;
        }
        det *= m[(c, c)];
        for i in c + 1..k {
            let f = m[(i, c)] / m[(c, c)];
            for j in c..k {
                m[(i, j)] -= f * m[(c, j)];
            }
        }
    }
    det
}
