//! What every `shifcon.*` method shares: where the hidden states come from (the synthetic
//! model or loaded files), how languages are compared per layer, the constraints between those
//! parameters and the memory guard of the synthetic model.
//!
//! The shared parameters are declared once, by [`shifcon_params!`], which puts them before a
//! method's own in its `params!` struct and gives the struct [`Shared::setup`].

use std::path::Path;

use harness::{InputFile, MethodError, TrialRng};

use crate::distance::{choose_band, layer_distance, LanguageDistance};
use crate::shift::ShiftSpace;
use crate::source::{Generator, States, World, SYNTHETIC_LANGUAGES};
use crate::states::{load_cached, Language};

/// A method's parameters declared with `harness::params!`, the shared ones first (names, kinds,
/// ranges and defaults as they always were: they are part of every trial's identity).
macro_rules! shifcon_params {
    (
        $(#[doc = $sdoc:literal])*
        pub struct $name:ident { $($own:tt)* }
    ) => {
        harness::params! {
            $(#[doc = $sdoc])*
            pub struct $name {
                /// real hidden states, .npy layers × sentences × width (float64/float32); unset: the synthetic model
                states: Option<harness::InputFile>, recorded harness::Value::Str(String::new());
                /// CSV sentence,language,group,label for `states` (even groups train, odd test)
                labels: Option<harness::InputFile>, recorded harness::Value::Str(String::new());
                /// the dominant language, target of the shift
                dominant: $crate::states::Language = $crate::states::Language::En;
                /// synthetic: number of layers
                layers: usize [2, 1024] = 32;
                /// synthetic: width d of the states
                width: usize [2, 4096] = 64;
                /// synthetic: translation groups (half train, half test)
                sentences: usize [4, 100_000] = 300;
                /// synthetic: δ per language (en, zh, de, ru, th, sw; 2 to 6 values): share of semantics lost to noise
                degradation: Vec<f64> [0.0, 1.0] = vec![0.0, 0.1, 0.1, 0.15, 0.3, 0.4];
                /// synthetic: centre of the planted low-distance band
                planted_layer: f64 [-1e6, 1e6] = 14.0;
                /// synthetic: width of the planted band (γ_i = 1 − depth·exp(−((i − centre)/width)²))
                planted_width: f64 [1e-6, 1e6] = 5.0;
                /// synthetic: depth of the planted band
                planted_depth: f64 [0.0, 1.0] = 0.85;
                /// synthetic: language codes c_l ~ N(0, scale² I_r)
                code_scale: f64 [0.0, 1e4] = 6.0;
                /// synthetic: rank r of the language-specific subspace B_i
                code_rank: usize [1, 256] = 3;
                /// synthetic: per-sentence spread of the language-specific component (not removable by a mean shift)
                spread: f64 [0.0, 1e4] = 0.0;
                /// synthetic: language-specific distortion of the semantics, γ_i·mixing·R_{i,l} (removable by a linear alignment, not by a shift)
                mixing: f64 [0.0, 1e4] = 0.0;
                /// synthetic: isotropic noise level
                noise: f64 [0.0, 1e4] = 0.6;
                /// per-layer distance: decomposition (Xie et al. low-rank), mean, pca (projection F-distance)
                metric: $crate::distance::LanguageDistance = $crate::distance::LanguageDistance::Decomposition;
                /// rank of the language-specific subspace (decomposition) or of the PCA subspaces
                rank: usize [1, 256] = 3;
                /// width w of the band of layers
                band_width: usize [1, 1024] = 4;
                /// normalized (unit sentence vectors), raw (raw means), authors (raw states shifted by normalised differences)
                shift_space: $crate::shift::ShiftSpace = $crate::shift::ShiftSpace::Normalized;
                $($own)*
            }
        }

        impl $crate::setup::Shared for $name {
            fn setup(&self) -> $crate::setup::Setup {
                $crate::setup::Setup {
                    states: self.states.clone(),
                    labels: self.labels.clone(),
                    dominant: self.dominant,
                    generator: $crate::source::Generator {
                        layers: self.layers,
                        width: self.width,
                        sentences: self.sentences,
                        degradation: self.degradation.clone(),
                        planted_layer: self.planted_layer,
                        planted_width: self.planted_width,
                        planted_depth: self.planted_depth,
                        code_scale: self.code_scale,
                        code_rank: self.code_rank,
                        spread: self.spread,
                        mixing: self.mixing,
                        noise: self.noise,
                    },
                    metric: self.metric,
                    rank: self.rank,
                    band_width: self.band_width,
                    shift_space: self.shift_space,
                }
            }
        }
    };
}
pub(crate) use shifcon_params;

/// The shared parameters of a method's struct.
pub trait Shared {
    fn setup(&self) -> Setup;
}

/// The shared parameters, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    pub states: Option<InputFile>,
    pub labels: Option<InputFile>,
    pub dominant: Language,
    /// The synthetic model (used when `states` is unset).
    pub generator: Generator,
    pub metric: LanguageDistance,
    pub rank: usize,
    pub band_width: usize,
    pub shift_space: ShiftSpace,
}

/// `MethodError::Failed` with `e`'s message.
pub fn failed(e: impl std::fmt::Display) -> MethodError {
    MethodError::Failed(e.to_string())
}

impl Setup {
    /// The loaded states when the spec names files; `None` for the synthetic model.
    pub fn loaded_states(&self) -> Result<Option<States>, String> {
        match (&self.states, &self.labels) {
            (None, None) => Ok(None),
            (Some(states), Some(labels)) => load_cached(
                Path::new(&states.0),
                Path::new(&labels.0),
                self.dominant.name(),
            )
            .map(|loaded| Some(States::Loaded(loaded))),
            (Some(_), None) | (None, Some(_)) => Err("`states` and `labels` go together: set both (real states) or neither (synthetic model)".into()),
        }
    }

    /// The trial's states: loaded, or drawn from the synthetic model with the trial's generator.
    pub fn states(&self, rng: &mut TrialRng) -> Result<States, MethodError> {
        Ok(match self.loaded_states().map_err(MethodError::Failed)? {
            Some(states) => states,
            None => States::Synthetic(Box::new(World::new(self.generator.clone(), rng))),
        })
    }

    /// Constraints shared by every method, and `layer` (when the method has one) below the
    /// number of layers; loads (and caches) real states to check them. The sizes it returns are
    /// what a method's memory guard ([`Sizes::bytes`]) needs.
    pub fn check(&self, layer: Option<usize>) -> Result<Sizes, String> {
        let (layers, width, rows_per_language, sizes) = match self.loaded_states()? {
            Some(states) => {
                let c = states.corpus();
                let fewest = (0..c.languages.len())
                    .map(|l| c.rows(l, true).len())
                    .min()
                    .unwrap_or(0);
                let most = (0..c.languages.len())
                    .flat_map(|l| [c.rows(l, true).len(), c.rows(l, false).len()])
                    .max()
                    .unwrap_or(0);
                let width = states.layer(0).map_err(|e| e.to_string())?.ncols();
                let sizes = Sizes {
                    rows: c.language.len(),
                    width,
                    code_rank: 0,
                    language_rows: most,
                };
                (states.layers(), width, fewest, sizes)
            }
            None => {
                let g = &self.generator;
                let k = g.degradation.len();
                if !(2..=SYNTHETIC_LANGUAGES.len()).contains(&k) {
                    return Err(format!(
                        "`degradation` needs 2 to 6 values (one per language: {}); got {k}",
                        SYNTHETIC_LANGUAGES.join(", ")
                    ));
                }
                if !SYNTHETIC_LANGUAGES[..k].contains(&self.dominant.name()) {
                    return Err(format!(
                        "the synthetic model's languages are {}; `dominant` must be one of them",
                        SYNTHETIC_LANGUAGES[..k].join(", ")
                    ));
                }
                if g.code_rank > g.width {
                    return Err("`code_rank` must not exceed `width`".into());
                }
                let sizes = Sizes {
                    rows: k * g.sentences,
                    width: g.width,
                    code_rank: g.code_rank,
                    // Even groups train, odd ones test.
                    language_rows: g.sentences.div_ceil(2),
                };
                (g.layers, g.width, g.sentences / 2, sizes)
            }
        };
        if self.band_width > layers {
            return Err(format!(
                "`band_width` {} exceeds the {layers} layers",
                self.band_width
            ));
        }
        if self.rank > width {
            return Err(format!("`rank` {} exceeds the width {width}", self.rank));
        }
        if self.metric == LanguageDistance::Pca && self.rank > rows_per_language {
            return Err(format!(
                "`rank` {} exceeds the {rows_per_language} training sentences of the smallest language",
                self.rank
            ));
        }
        if let Some(layer) = layer {
            if layer >= layers {
                return Err(format!("`layer` {layer} is not below the {layers} layers"));
            }
        }
        Ok(sizes)
    }

    /// `shift_offset` belongs to states of a model, whose consecutive layers are one residual
    /// update apart; the synthetic model draws every layer independently. `layer`: the one the
    /// spec sets (`None`: chosen from the band at run time, checked then by [`applied_layer`]).
    pub fn check_offset(&self, offset: usize, layer: Option<usize>) -> Result<(), String> {
        if offset == 0 {
            return Ok(());
        }
        if self.states.is_none() {
            return Err("`shift_offset` applies to loaded states (`states`, `labels`), whose layers are a model's; the synthetic model draws each layer independently, so a vector of one layer means nothing at another".into());
        }
        match layer {
            Some(layer) if layer < offset => Err(format!(
                "`layer` {layer} minus `shift_offset` {offset} is below the first layer 0"
            )),
            Some(_) | None => Ok(()),
        }
    }

    /// Distance per layer for the spec's metric.
    pub fn distances(&self, states: &States) -> Result<Vec<f64>, MethodError> {
        (0..states.layers())
            .map(|i| {
                let layer = states.layer(i).map_err(failed)?;
                layer_distance(layer.view(), states.corpus(), self.metric, self.rank)
                    .map_err(failed)
            })
            .collect()
    }

    /// The layer a shift is applied at: the spec's, or (unset, `auto`) the start of the chosen
    /// band.
    pub fn shift_layer(&self, layer: Option<usize>, states: &States) -> Result<usize, MethodError> {
        Ok(match layer {
            None => choose_band(&self.distances(states)?, self.band_width),
            Some(l) => l,
        })
    }
}

/// The sizes a trial's memory grows with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Sentences over all languages (rows of one layer's states).
    pub rows: usize,
    pub width: usize,
    /// The synthetic model's language-specific rank (0 for loaded states).
    pub code_rank: usize,
    /// The most sentences of one language in one split (train or test).
    pub language_rows: usize,
}

impl Sizes {
    /// An upper bound of a trial's peak memory in bytes: `layer_copies` arrays of one layer's
    /// states (`rows × width`; for the synthetic model they include its draw, which holds about
    /// one and a half), `square_copies` of `width × width` and `pair_copies` of one language's
    /// sentences against each other (`language_rows²`, the InfoNCE logits). The copies are
    /// measured per method (peak resident size minus the binary's idle peak, see the methods'
    /// `check`) and rounded up.
    pub fn bytes(&self, layer_copies: f64, square_copies: f64, pair_copies: f64) -> f64 {
        let (rows, width) = (self.rows as f64, self.width as f64);
        let pairs = self.language_rows as f64;
        8.0 * (rows * (layer_copies * width + self.code_rank as f64)
            + square_copies * width * width
            + pair_copies * pairs * pairs)
    }
}

/// The layer the shift measured at `layer` is added to.
pub fn applied_layer(layer: usize, offset: usize) -> Result<usize, MethodError> {
    layer.checked_sub(offset).ok_or_else(|| {
        MethodError::Failed(format!(
            "the band starts at layer {layer}; `shift_offset` {offset} would add its vectors below layer 0"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Setup {
        Setup {
            states: None,
            labels: None,
            dominant: Language::En,
            generator: Generator::default(),
            metric: LanguageDistance::Decomposition,
            rank: 3,
            band_width: 4,
            shift_space: ShiftSpace::Normalized,
        }
    }

    #[test]
    fn the_memory_guard_counts_the_synthetic_model_s_sizes() {
        let sizes = defaults().check(None).unwrap();
        // 6 languages × 300 sentences; even groups (150 of 300) train, odd ones test.
        assert_eq!(
            sizes,
            Sizes {
                rows: 1800,
                width: 64,
                code_rank: 3,
                language_rows: 150
            }
        );
        let bytes = 8.0 * (1800.0 * (2.0 * 64.0 + 3.0) + 3.0 * 64.0 * 64.0 + 5.0 * 150.0 * 150.0);
        assert_eq!(sizes.bytes(2.0, 3.0, 5.0), bytes);
    }

    #[test]
    fn an_odd_number_of_groups_puts_the_extra_one_in_training() {
        let mut setup = defaults();
        setup.generator.sentences = 301;
        assert_eq!(setup.check(None).unwrap().language_rows, 151);
    }
}
