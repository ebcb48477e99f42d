//! Hidden states and their labels, from the synthetic multilingual model or from files.
//!
//! Both sources answer the same questions, so every analysis runs unchanged on either: which
//! languages exist (and which one dominates), the language, translation group, task label and
//! split of each row, and the `rows × width` states of one layer.

use std::sync::Arc;

use ndarray::{Array1, Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use subspace::{gaussian_matrix, haar_orthonormal, SubspaceError};

pub use crate::corpus::Corpus;
use crate::states::{LoadedStates, WritableStates};

/// The languages of the synthetic model, dominant first (docs/papers/shifcon.md).
pub const SYNTHETIC_LANGUAGES: [&str; 6] = ["en", "zh", "de", "ru", "th", "sw"];

/// The knobs of the synthetic model (docs/papers/shifcon.md, a proposal; every one is a spec parameter).
#[derive(Debug, Clone, PartialEq)]
pub struct Generator {
    pub layers: usize,
    pub width: usize,
    /// Translation groups; each language has one sentence per group.
    pub sentences: usize,
    /// Degradation δ_l per language, dominant first: the share of a sentence's semantics that a
    /// language's representation loses to noise (0 = fully resourced).
    pub degradation: Vec<f64>,
    /// Centre, width and depth of the planted band: γ_i = 1 − depth·exp(−((i − centre)/width)²).
    pub planted_layer: f64,
    pub planted_width: f64,
    pub planted_depth: f64,
    /// Language codes c_l ~ N(0, scale² I_r).
    pub code_scale: f64,
    /// Rank r of the language-specific subspace B_i.
    pub code_rank: usize,
    /// Per-sentence spread of the language-specific component (0 in docs/papers/shifcon.md): what a mean
    /// shift cannot remove, and a contrastive alignment can.
    pub spread: f64,
    /// Language-specific distortion of the semantics (0 in docs/papers/shifcon.md): layer i maps a sentence
    /// of language l through `A_i + γ_i·mixing·R_{i,l}`, `R_{i,l}` Gaussian with entries of variance
    /// 1/d. No mean shift removes it; a linear alignment can.
    pub mixing: f64,
    /// Isotropic noise level (0.6 in docs/papers/shifcon.md).
    pub noise: f64,
}

impl Default for Generator {
    /// The model of docs/papers/shifcon.md (the method's parameter defaults are the same; a test keeps
    /// them so).
    fn default() -> Self {
        Generator {
            layers: 32,
            width: 64,
            sentences: 300,
            degradation: vec![0.0, 0.1, 0.1, 0.15, 0.3, 0.4],
            planted_layer: 14.0,
            planted_width: 5.0,
            planted_depth: 0.85,
            code_scale: 6.0,
            code_rank: 3,
            spread: 0.0,
            mixing: 0.0,
            noise: 0.6,
        }
    }
}

impl Generator {
    /// The weight of the language-specific component at layer `i`.
    pub fn gamma(&self, i: usize) -> f64 {
        let t = (i as f64 - self.planted_layer) / self.planted_width;
        1.0 - self.planted_depth * (-t * t).exp()
    }
}

/// One draw of the synthetic model:
/// `h_{i,l}(s) = (A_i + γ_i·mixing·R_{i,l})[(1 − δ_l)s + δ_l ξ] + γ_i(μ_i + B_i(c_l + ζ)) + noise·η`
/// with shared semantics `s ~ N(0, I)` per translation group, Haar-orthogonal `A_i`,
/// orthonormal `B_i ∈ R^{d×r}`, and task label `1[⟨w, s⟩ > 0]`.
#[derive(Debug, Clone)]
pub struct World {
    pub generator: Generator,
    corpus: Corpus,
    /// `rows × d`: `(1 − δ_l)s + δ_l ξ`, the same at every layer.
    semantic: Array2<f64>,
    /// `rows × r`: `c_l + ζ`, the same at every layer.
    specific: Array2<f64>,
    /// Layer `i` draws from stream `i` of a generator seeded with this, so one layer can be
    /// produced without the others and always comes out the same.
    layer_seed: u64,
}

impl World {
    pub fn new<R: Rng + ?Sized>(generator: Generator, rng: &mut R) -> Self {
        let (n, d, r) = (generator.sentences, generator.width, generator.code_rank);
        let k = generator.degradation.len();
        let semantics = gaussian_matrix(n, d, rng);
        let direction = gaussian_matrix(d, 1, rng).column(0).to_owned();
        let task: Vec<usize> = semantics
            .outer_iter()
            .map(|s| usize::from(s.dot(&direction) > 0.0))
            .collect();
        let codes = gaussian_matrix(k, r, rng) * generator.code_scale;
        let mut semantic = Array2::zeros((k * n, d));
        let mut specific = Array2::zeros((k * n, r));
        let mut corpus = Corpus {
            languages: SYNTHETIC_LANGUAGES[..k]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            dominant: 0,
            language: Vec::with_capacity(k * n),
            group: Vec::with_capacity(k * n),
            label: Vec::with_capacity(k * n),
            classes: 2,
            train: Vec::with_capacity(k * n),
        };
        for (l, &delta) in generator.degradation.iter().enumerate() {
            for (g, &label) in task.iter().enumerate() {
                let row = l * n + g;
                let xi = gaussian_matrix(1, d, rng);
                let mut target = semantic.row_mut(row);
                target.assign(&(&semantics.row(g) * (1.0 - delta)));
                target.scaled_add(delta, &xi.row(0));
                for c in 0..r {
                    let zeta: f64 = rng.sample(StandardNormal);
                    specific[(row, c)] = codes[(l, c)] + generator.spread * zeta;
                }
                corpus.language.push(l);
                corpus.group.push(g as u64);
                corpus.label.push(label);
                corpus.train.push(g % 2 == 0);
            }
        }
        World {
            generator,
            corpus,
            semantic,
            specific,
            layer_seed: rng.gen(),
        }
    }

    /// The states of layer `i`, `rows × width`.
    pub fn layer(&self, i: usize) -> Result<Array2<f64>, SubspaceError> {
        let g = &self.generator;
        let mut rng = ChaCha8Rng::seed_from_u64(self.layer_seed);
        rng.set_stream(i as u64);
        let rotation = haar_orthonormal(g.width, g.width, &mut rng)?;
        let mean: Array1<f64> = gaussian_matrix(1, g.width, &mut rng).row(0).to_owned();
        let basis = haar_orthonormal(g.width, g.code_rank, &mut rng)?;
        let gamma = g.gamma(i);
        let mut states = self.semantic.dot(&rotation.t());
        if g.mixing > 0.0 {
            let n = g.sentences;
            for l in 0..g.degradation.len() {
                let distortion = gaussian_matrix(g.width, g.width, &mut rng)
                    * (gamma * g.mixing / (g.width as f64).sqrt());
                let rows = ndarray::s![l * n..(l + 1) * n, ..];
                let mixed = self.semantic.slice(rows).dot(&distortion.t());
                states.slice_mut(rows).scaled_add(1.0, &mixed);
            }
        }
        states.scaled_add(gamma, &self.specific.dot(&basis.t()));
        states += &(&mean * gamma).insert_axis(Axis(0));
        states.scaled_add(g.noise, &gaussian_matrix(states.nrows(), g.width, &mut rng));
        Ok(states)
    }
}

/// Where a trial's hidden states come from.
#[derive(Debug, Clone)]
pub enum States {
    Synthetic(Box<World>),
    Loaded(Arc<LoadedStates>),
}

impl States {
    pub fn corpus(&self) -> &Corpus {
        match self {
            States::Synthetic(w) => &w.corpus,
            States::Loaded(s) => &s.corpus,
        }
    }

    pub fn layers(&self) -> usize {
        match self {
            States::Synthetic(w) => w.generator.layers,
            States::Loaded(s) => s.states.shape()[0],
        }
    }

    /// `rows × width` states of layer `i < layers()`.
    pub fn layer(&self, i: usize) -> Result<Array2<f64>, SubspaceError> {
        match self {
            States::Synthetic(w) => w.layer(i),
            States::Loaded(s) => Ok(s.states.index_axis(Axis(0), i).to_owned()),
        }
    }

    /// The synthetic model's degradation per language (none for loaded states).
    pub fn degradation(&self) -> Option<&[f64]> {
        match self {
            States::Synthetic(w) => Some(&w.generator.degradation),
            States::Loaded(_) => None,
        }
    }

    /// The layer where the synthetic model planted its band (none for loaded states).
    pub fn planted_layer(&self) -> Option<f64> {
        match self {
            States::Synthetic(w) => Some(w.generator.planted_layer),
            States::Loaded(_) => None,
        }
    }
}

impl WritableStates for States {
    fn corpus(&self) -> &Corpus {
        States::corpus(self)
    }
    fn layers(&self) -> usize {
        States::layers(self)
    }
    fn layer(&self, i: usize) -> Result<Array2<f64>, SubspaceError> {
        States::layer(self, i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn small() -> Generator {
        Generator {
            layers: 8,
            width: 12,
            sentences: 20,
            degradation: vec![0.0, 0.1, 0.4],
            planted_layer: 4.0,
            planted_width: 2.0,
            planted_depth: 0.85,
            code_scale: 6.0,
            code_rank: 3,
            spread: 0.0,
            mixing: 0.0,
            noise: 0.6,
        }
    }

    #[test]
    fn a_layer_is_the_same_whether_or_not_others_were_drawn() {
        let world = World::new(small(), &mut ChaCha8Rng::seed_from_u64(1));
        let late = world.layer(6).unwrap();
        for i in 0..8 {
            world.layer(i).unwrap();
        }
        assert_eq!(world.layer(6).unwrap(), late);
        assert_ne!(world.layer(5).unwrap(), late);
    }

    #[test]
    fn without_noise_and_degradation_translations_differ_by_the_language_offset_alone() {
        let mut g = small();
        g.noise = 0.0;
        g.degradation = vec![0.0, 0.0];
        let world = World::new(g, &mut ChaCha8Rng::seed_from_u64(2));
        let h = world.layer(1).unwrap();
        // Rows g and n + g are translations: their difference is γ B (c_1 − c_0), the same for
        // every group.
        let n = 20;
        let first = &h.row(n) - &h.row(0);
        for group in 1..n {
            let diff = &h.row(n + group) - &h.row(group);
            let err = (&diff - &first)
                .mapv(f64::abs)
                .fold(0.0_f64, |a, &b| a.max(b));
            assert!(err < 1e3 * f64::EPSILON * first.dot(&first).sqrt().max(1.0));
        }
    }

    #[test]
    fn groups_are_split_whole_and_labels_shared_by_translations() {
        let world = World::new(small(), &mut ChaCha8Rng::seed_from_u64(3));
        let c = &world.corpus;
        for r in 0..c.language.len() {
            let twin = r % 20;
            assert_eq!(c.train[r], c.train[twin]);
            assert_eq!(c.label[r], c.label[twin]);
            assert_eq!(c.group[r], c.group[twin]);
        }
        assert_eq!(c.split(true).len(), 30);
    }
}
