//! The analyses several methods share: one layer prepared for the probes (representation,
//! language vectors, the dominant-language task probe), accuracies per language and the small
//! statistics of the metrics.

use ndarray::{Array2, ArrayView2, Axis};

use crate::corpus::Corpus;
use crate::probe::{Probe, ProbeSettings};
use crate::shift::{language_vectors, shift, ShiftSpace};

/// A curve over layers: `(layer, value)`.
pub fn per_layer(values: &[f64]) -> Vec<(u32, f64)> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as u32, v))
        .collect()
}

/// One layer prepared for probing: the representation probes see, the language vectors, and the
/// English-trained task probe.
pub struct Prepared<'a> {
    pub corpus: &'a Corpus,
    pub represented: Array2<f64>,
    pub vectors: Array2<f64>,
    pub task: Probe,
    pub test: Vec<usize>,
}

impl<'a> Prepared<'a> {
    /// `raw`: the states shifted and probed; `measured`: the states the language vectors are
    /// averaged from (the same layer, or `shift_offset` layers deeper).
    pub fn new(
        raw: ArrayView2<f64>,
        measured: ArrayView2<f64>,
        corpus: &'a Corpus,
        space: ShiftSpace,
    ) -> Self {
        let represented = space.represent(raw);
        let vectors = language_vectors(measured, corpus, space);
        let train = corpus.rows(corpus.dominant, true);
        let task = Probe::fit(
            represented.select(Axis(0), &train).view(),
            &pick(&corpus.label, &train),
            corpus.classes,
            ProbeSettings::default(),
        );
        Prepared {
            corpus,
            represented,
            vectors,
            task,
            test: corpus.split(false),
        }
    }

    /// Test rows, shifted toward the dominant language (`sign = 1`), back (`−1`) or not (`0`).
    pub fn test_rows(&self, sign: f64) -> Array2<f64> {
        let rows = self.represented.select(Axis(0), &self.test);
        if sign == 0.0 {
            return rows;
        }
        let languages = pick(&self.corpus.language, &self.test);
        shift(
            rows.view(),
            &languages,
            self.vectors.view(),
            self.corpus.dominant,
            sign,
        )
    }

    /// Task accuracy of the English-trained probe on `rows` (test rows), per language.
    pub fn task_accuracy(&self, rows: ArrayView2<f64>) -> Vec<f64> {
        let predicted = self.task.predict(rows);
        accuracy_by_language(self.corpus, &self.test, &predicted, &self.corpus.label)
    }
}

/// `values` at `rows`.
pub fn pick<T: Copy>(values: &[T], rows: &[usize]) -> Vec<T> {
    rows.iter().map(|&r| values[r]).collect()
}

/// Share of `rows` whose prediction is right, per language.
pub fn accuracy_by_language(
    corpus: &Corpus,
    rows: &[usize],
    predicted: &[usize],
    truth: &[usize],
) -> Vec<f64> {
    let mut right = vec![0usize; corpus.languages.len()];
    let mut seen = vec![0usize; corpus.languages.len()];
    for (&r, &guess) in rows.iter().zip(predicted) {
        let l = corpus.language[r];
        seen[l] += 1;
        right[l] += usize::from(guess == truth[r]);
    }
    right
        .iter()
        .zip(&seen)
        .map(|(&a, &n)| a as f64 / n.max(1) as f64)
        .collect()
}

/// Mean of `values` over `languages`.
pub fn mean_over<'a>(values: &[f64], languages: impl Iterator<Item = usize> + 'a) -> f64 {
    let picked: Vec<f64> = languages.map(|l| values[l]).collect();
    picked.iter().sum::<f64>() / picked.len().max(1) as f64
}

/// Least-squares slope of y on x (NaN when x does not vary).
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = points.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    if sxx > 0.0 {
        sxy / sxx
    } else {
        f64::NAN
    }
}
