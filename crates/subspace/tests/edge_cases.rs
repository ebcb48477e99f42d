//! Edge cases of the math: full-space and zero-dimensional subspaces, identical and orthogonal
//! spans, nearly rank-deficient bases, and denormal or huge entries. Each has a defined result or
//! a documented error, never a silent NaN.

use std::f64::consts::FRAC_PI_2;

use ndarray::{s, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use subspace::{
    distance, haar_orthonormal, orthonormal_basis, principal_angles, Distance, RankPolicy,
    SubspaceError,
};

fn angles(a: &Array2<f64>, b: &Array2<f64>) -> Vec<f64> {
    principal_angles(a.view(), b.view(), false)
        .unwrap()
        .angles
        .to_vec()
}

#[test]
fn the_whole_space_contains_every_subspace() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let full = haar_orthonormal(6, 6, &mut rng).unwrap();
    let part = haar_orthonormal(6, 3, &mut rng).unwrap();
    for t in angles(&full, &part) {
        assert!(t.abs() <= 16.0 * f64::EPSILON, "{t}");
    }
    assert!(distance(full.view(), part.view(), Distance::Geodesic).unwrap() <= 32.0 * f64::EPSILON);
}

#[test]
fn zero_dimensional_subspaces_are_a_documented_error() {
    let empty = Array2::<f64>::zeros((5, 0));
    let some = Array2::<f64>::eye(5).slice(s![.., ..2]).to_owned();
    assert!(matches!(
        principal_angles(empty.view(), some.view(), false),
        Err(SubspaceError::Empty { rows: 5, cols: 0 })
    ));
}

#[test]
fn identical_and_orthogonal_spans_give_exact_extremes() {
    let e = Array2::<f64>::eye(4);
    let (a, b) = (
        e.slice(s![.., ..2]).to_owned(),
        e.slice(s![.., 2..]).to_owned(),
    );
    assert_eq!(angles(&a, &a), vec![0.0, 0.0]);
    assert_eq!(angles(&a, &b), vec![FRAC_PI_2, FRAC_PI_2]);
    // cos(fl(π/2)) = 6.1e-17: the affinity is zero to within one rounding of π/2.
    assert!(distance(a.view(), b.view(), Distance::Affinity).unwrap() <= f64::EPSILON);
    assert!(
        distance(a.view(), b.view(), Distance::Martin)
            .unwrap()
            .is_infinite(),
        "Martin's distance is infinite at π/2, by definition"
    );
}

#[test]
fn nearly_dependent_columns_are_kept_until_they_are_numerically_dependent() {
    // Columns e₁ and e₁ + δe₂: independent for δ well above ε, dependent at δ below the tolerance.
    let column = |delta: f64| ndarray::array![[1.0, 1.0], [0.0, delta], [0.0, 0.0]];
    assert_eq!(
        orthonormal_basis(column(1e-10).view(), RankPolicy::Strict)
            .unwrap()
            .ncols(),
        2
    );
    assert!(matches!(
        orthonormal_basis(column(1e-17).view(), RankPolicy::Strict),
        Err(SubspaceError::RankDeficient { rank: 1, .. })
    ));
    assert_eq!(
        orthonormal_basis(column(1e-17).view(), RankPolicy::Truncate)
            .unwrap()
            .ncols(),
        1
    );
}

#[test]
fn denormal_and_huge_scales_do_not_change_the_span() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let a = haar_orthonormal(8, 3, &mut rng).unwrap();
    let b = haar_orthonormal(8, 3, &mut rng).unwrap();
    let reference = angles(&a, &b);
    for scale in [1e-310, 1e-200, 1e200] {
        let got = angles(&(&a * scale), &(&b * scale));
        for (g, r) in got.iter().zip(&reference) {
            assert!(
                g.is_finite() && (g - r).abs() <= 1e-13,
                "scale {scale:e}: {g} vs {r}"
            );
        }
    }
}
