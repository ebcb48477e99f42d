//! Language vectors and the shift that moves a language onto the dominant one.
//!
//! The authors' code: at layer j, each sentence's states are mean-pooled over tokens and
//! L2-normalised, and the language vector v_l(j) is their average over the sentences of l;
//! the shift toward is h ← h − v_l + v_dom for every non-dominant token, and back is the inverse.
//! The states here are already one vector per sentence. Whether the shift is applied to raw
//! states (as the code does) or to normalised ones, where the vectors live, is not settled by
//! the paper, so it is a parameter.

use ndarray::{Array2, ArrayView2, Axis};

use crate::corpus::Corpus;

harness::choice! {
    /// Where language vectors are averaged and where the shift acts.
    pub enum ShiftSpace {
        /// Sentence vectors are L2-normalised; vectors, shifts and probes all live on the sphere's
        /// scale. Self-consistent.
        Normalized = "normalized",
        /// Raw states and raw language means. Self-consistent.
        Raw = "raw",
        /// As the authors' code: raw states shifted by differences of normalised averages.
        Authors = "authors",
    }
}

impl ShiftSpace {
    /// The representation probes see: normalised rows in `Normalized`, raw rows otherwise.
    pub fn represent(self, states: ArrayView2<f64>) -> Array2<f64> {
        match self {
            ShiftSpace::Normalized => normalized(states),
            ShiftSpace::Raw | ShiftSpace::Authors => states.to_owned(),
        }
    }
}

fn normalized(states: ArrayView2<f64>) -> Array2<f64> {
    let mut out = states.to_owned();
    for mut row in out.outer_iter_mut() {
        let norm = row.dot(&row).sqrt();
        if norm > 0.0 {
            row /= norm;
        }
    }
    out
}

/// `languages × width`: each language's vector from the training rows of raw `states`.
pub fn language_vectors(
    states: ArrayView2<f64>,
    corpus: &Corpus,
    space: ShiftSpace,
) -> Array2<f64> {
    let source = match space {
        ShiftSpace::Raw => states.to_owned(),
        ShiftSpace::Normalized | ShiftSpace::Authors => normalized(states),
    };
    let mut vectors = Array2::zeros((corpus.languages.len(), states.ncols()));
    for l in 0..corpus.languages.len() {
        let rows = source.select(Axis(0), &corpus.rows(l, true));
        vectors
            .row_mut(l)
            .assign(&rows.mean_axis(Axis(0)).expect("rows"));
    }
    vectors
}

/// Shift `rows` (whose languages are `languages`) toward the dominant language (`sign = 1`) or
/// back (`sign = −1`): `h ± (v_dom − v_l)`. Dominant rows are left alone.
pub fn shift(
    rows: ArrayView2<f64>,
    languages: &[usize],
    vectors: ArrayView2<f64>,
    dominant: usize,
    sign: f64,
) -> Array2<f64> {
    let mut out = rows.to_owned();
    for (mut row, &l) in out.outer_iter_mut().zip(languages) {
        if l != dominant {
            row.scaled_add(sign, &vectors.row(dominant));
            row.scaled_add(-sign, &vectors.row(l));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn a_shift_moves_language_means_onto_the_dominant_mean_and_back() {
        let corpus = Corpus {
            languages: vec!["en".into(), "de".into()],
            dominant: 0,
            language: vec![0, 0, 1, 1],
            group: vec![0, 2, 0, 2],
            label: vec![0; 4],
            classes: 1,
            train: vec![true; 4],
        };
        let states = array![[1.0, 0.0], [3.0, 2.0], [10.0, 5.0], [12.0, 9.0]];
        let v = language_vectors(states.view(), &corpus, ShiftSpace::Raw);
        let moved = shift(states.view(), &corpus.language, v.view(), 0, 1.0);
        // en's mean is (2, 1) and de's (11, 7): de rows move by (−9, −6).
        assert_eq!(moved.row(2), array![1.0, -1.0]);
        assert_eq!(moved.row(3), array![3.0, 3.0]);
        assert_eq!(moved.row(0), states.row(0));
        let back = shift(moved.view(), &corpus.language, v.view(), 0, -1.0);
        assert_eq!(back, states);
    }
}
