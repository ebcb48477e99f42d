//! How far apart the languages are at one layer, and the band of layers where they are closest.
//!
//! ShifCon's public code does not contain its metric; docs/papers/shifcon.md proposes the low-rank
//! decomposition of Xie et al. (2022) and two simpler alternatives. All three work on the states
//! of the training split.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use ndarray_linalg::{JobSvd, SVDDC};
use subspace::{distance, top_left_singular_subspace, Distance, SubspaceError};

use crate::corpus::Corpus;

harness::choice! {
    /// The per-layer distance between languages.
    pub enum LanguageDistance {
        /// Mean over non-dominant `l` of `‖M_sᵀ(m_l − m_dom)‖`, `M_s` the rank-r language-specific
        /// subspace of the language means (Xie et al. 2022).
        Decomposition = "decomposition",
        /// Mean over non-dominant `l` of `‖m_l − m_dom‖`.
        Mean = "mean",
        /// Mean over non-dominant `l` of the projection F-distance `‖sin θ‖₂` between the rank-r PCA
        /// subspaces of language `l`'s and the dominant language's centred states.
        Pca = "pca",
    }
}

/// `languages × width`: the mean state of each language over the training rows.
pub fn language_means(states: ArrayView2<f64>, corpus: &Corpus) -> Array2<f64> {
    let mut means = Array2::zeros((corpus.languages.len(), states.ncols()));
    for l in 0..corpus.languages.len() {
        let rows = corpus.rows(l, true);
        let picked = states.select(Axis(0), &rows);
        means
            .row_mut(l)
            .assign(&picked.mean_axis(Axis(0)).expect("rows"));
    }
    means
}

/// The rank-`rank` language-specific subspace (`width × rank`, orthonormal columns) of the
/// language means (`languages × width`), after Xie et al. (2022): centre the means, take the top
/// singular vectors, re-derive the language-agnostic point as `μ = M⁺ᵀ1 / ‖M⁺ᵀ1‖²` (the point
/// nearest the origin on the hyperplane through every mean) and take them again.
///
/// When the means are `μ₀ + B c_l` with `B` orthonormal and the `c_l` affinely spanning `R^r`,
/// both centring points lie in the means' affine hull, so the result spans `B` exactly.
pub fn language_specific_subspace(
    means: ArrayView2<f64>,
    rank: usize,
) -> Result<Array2<f64>, SubspaceError> {
    let m = means.t(); // width × languages
    let centre = means.mean_axis(Axis(0)).expect("languages");
    let top = |centre: &Array1<f64>| {
        let centred = &m - &centre.view().insert_axis(Axis(1));
        top_left_singular_subspace(centred.view(), rank).map(|p| p.basis)
    };
    // The first pass (centring on the mean) is what the re-derived point refines; with exact
    // arithmetic on planted data both give the same subspace.
    let first = top(&centre)?;
    let (u, sigma, vt) = m.svddc(JobSvd::Some)?;
    let (u, vt) = (u.expect("U"), vt.expect("Vᵀ"));
    let tolerance = subspace::numerical_rank_tolerance(m.nrows(), m.ncols(), sigma[0]);
    // M⁺ᵀ1 = U Σ⁺ Vᵀ 1, keeping the numerically non-zero singular values.
    let coefficients: Array1<f64> = vt
        .outer_iter()
        .zip(&sigma)
        .map(|(v, &s)| if s > tolerance { v.sum() / s } else { 0.0 })
        .collect();
    let direction = u.dot(&coefficients);
    let norm2 = direction.dot(&direction);
    if norm2 == 0.0 || !norm2.is_finite() {
        return Ok(first);
    }
    top(&(direction / norm2))
}

/// The distance between languages at one layer (`rows × width` states).
pub fn layer_distance(
    states: ArrayView2<f64>,
    corpus: &Corpus,
    metric: LanguageDistance,
    rank: usize,
) -> Result<f64, SubspaceError> {
    let dom = corpus.dominant;
    let others: Vec<usize> = corpus.others().collect();
    let mut total = 0.0;
    match metric {
        LanguageDistance::Decomposition | LanguageDistance::Mean => {
            let means = language_means(states, corpus);
            let specific = match metric {
                LanguageDistance::Decomposition => Some(language_specific_subspace(
                    means.view(),
                    rank.min(corpus.languages.len()),
                )?),
                LanguageDistance::Mean | LanguageDistance::Pca => None,
            };
            for &l in &others {
                let diff = &means.row(l) - &means.row(dom);
                let v = match &specific {
                    Some(basis) => basis.t().dot(&diff),
                    None => diff,
                };
                total += v.dot(&v).sqrt();
            }
        }
        LanguageDistance::Pca => {
            let basis = |l: usize| {
                let rows = states.select(Axis(0), &corpus.rows(l, true));
                let centred = &rows - &rows.mean_axis(Axis(0)).expect("rows");
                top_left_singular_subspace(centred.t(), rank).map(|p| p.basis)
            };
            let reference = basis(dom)?;
            for &l in &others {
                total += distance(reference.view(), basis(l)?.view(), Distance::Chordal)?;
            }
        }
    }
    Ok(total / others.len() as f64)
}

/// The first start of the contiguous window of `width` layers with the lowest mean distance.
pub fn choose_band(distances: &[f64], width: usize) -> usize {
    assert!(
        width >= 1 && width <= distances.len(),
        "band width in 1..=layers"
    );
    let mut best = (0, f64::INFINITY);
    for start in 0..=distances.len() - width {
        let mean = distances[start..start + width].iter().sum::<f64>() / width as f64;
        if mean < best.1 {
            best = (start, mean);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use subspace::{gaussian_matrix, haar_orthonormal, principal_angles};

    #[test]
    fn the_decomposition_recovers_a_planted_language_subspace() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (d, r, k) = (30, 3, 7);
        let basis = haar_orthonormal(d, r, &mut rng).unwrap();
        let agnostic = gaussian_matrix(1, d, &mut rng).row(0).to_owned() * 5.0;
        let codes = gaussian_matrix(k, r, &mut rng) * 4.0;
        let means = codes.dot(&basis.t()) + &agnostic.insert_axis(Axis(0));
        let found = language_specific_subspace(means.view(), r).unwrap();
        let angles = principal_angles(found.view(), basis.view(), false).unwrap();
        // The means are ~10 in size; the SVDs are backward stable, so the subspace is exact to a
        // few hundred roundings of the data relative to the smallest planted singular value.
        let largest = angles.angles.iter().cloned().fold(0.0, f64::max);
        assert!(
            largest < 1e3 * f64::EPSILON * 10.0,
            "largest angle {largest}"
        );
    }

    #[test]
    fn the_band_is_the_window_with_the_lowest_mean() {
        let d = [5.0, 4.0, 1.0, 2.0, 0.5, 6.0, 7.0];
        assert_eq!(choose_band(&d, 1), 4);
        assert_eq!(choose_band(&d, 2), 3);
        assert_eq!(choose_band(&d, 3), 2);
        assert_eq!(choose_band(&d, 7), 0);
        // Ties go to the earliest window.
        assert_eq!(choose_band(&[1.0, 1.0, 1.0], 2), 0);
    }

    #[test]
    fn distances_are_invariant_under_a_rotation_of_the_states() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let corpus = Corpus {
            languages: vec!["en".into(), "de".into(), "sw".into()],
            dominant: 0,
            language: (0..60).map(|r| r / 20).collect(),
            group: (0..60).map(|r| (r % 20) as u64).collect(),
            label: vec![0; 60],
            classes: 1,
            train: (0..60).map(|r| r % 2 == 0).collect(),
        };
        let mut states = gaussian_matrix(60, 10, &mut rng);
        for r in 20..40 {
            states[(r, 0)] += 3.0;
        }
        let rotation = haar_orthonormal(10, 10, &mut rng).unwrap();
        let rotated = states.dot(&rotation);
        for metric in [
            LanguageDistance::Decomposition,
            LanguageDistance::Mean,
            LanguageDistance::Pca,
        ] {
            let a = layer_distance(states.view(), &corpus, metric, 2).unwrap();
            let b = layer_distance(rotated.view(), &corpus, metric, 2).unwrap();
            assert!(
                (a - b).abs() < 1e3 * f64::EPSILON * a.max(1.0),
                "{metric:?}: {a} vs {b}"
            );
        }
    }
}
