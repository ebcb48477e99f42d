//! `shifcon.lda`: the layer-wise LDA picture by language, before or after the shift.

use ndarray::Axis;

use harness::{MethodError, MetricSpec, Outcome, TrialContext, TrialRng, TypedMethod};

use crate::analysis::{accuracy_by_language, mean_over, pick};
use crate::lda::{first_per_class, lda, separation};
use crate::setup::{applied_layer, failed, shifcon_params, Shared};
use crate::shift::{language_vectors, shift};

/// `shifcon.lda`.
pub struct Lda;

harness::choice! {
    /// Which test states are pictured.
    pub enum Picture {
        /// As they are.
        None = "none",
        /// Shifted toward the dominant language (in the coordinates of the original states' LDA).
        Toward = "toward",
    }
}

shifcon_params! {
    /// The shared parameters and the picture's.
    pub struct LdaParams {
        /// layer pictured (with `shift_offset`, the layer the vectors are measured on; the picture is of states[layer − shift_offset])
        layer: usize [0, 4095] = 14;
        /// picture the test states as they are, or shifted toward the dominant language (in the coordinates of the original states' LDA)
        shift: Picture = Picture::None;
        /// loaded states: the language vectors measured on states[layer] are added to states[layer − shift_offset], which the probes then read (the authors' code: 1, vectors of hidden_states[L] added at the input of layer L − 1); index i of a states file is the model's hidden_states[i], 0 = the embeddings
        shift_offset: usize [0, 1023] = 0;
        /// adds shrinkage·tr(S_w)/width·I to the within-language covariance (needed when the width exceeds the training sentences)
        lda_shrinkage: f64 [0.0, 1e3] = 1e-3;
        /// test sentences per language recorded in the picture (metrics use all)
        points: usize [1, 100_000] = 60;
    }
}

impl TypedMethod for Lda {
    type Params = LdaParams;
    const ID: &'static str = "shifcon.lda";
    const SUMMARY: &'static str =
        "2-D linear discriminant picture of a layer's states by language, before or after the shift";
    const METRICS: &'static [MetricSpec] = &[
        MetricSpec {
            name: "layer",
            doc: "the `layer` parameter", reproducible: true
        },
        MetricSpec {
            name: "pictured_layer",
            doc: "layer whose states are pictured: layer − shift_offset", reproducible: true
        },
        MetricSpec {
            name: "lda_accuracy",
            doc: "language-ID accuracy of the nearest language mean in the 2-D picture (held-out sentences)", reproducible: true
        },
        MetricSpec {
            name: "lda_chance",
            doc: "1 / number of languages", reproducible: true
        },
        MetricSpec {
            name: "separation",
            doc: "between-language over within-language variance of the held-out points in the 2-D picture", reproducible: true
        },
        MetricSpec {
            name: "ratio_1",
            doc: "generalised eigenvalue of the first discriminant (training sentences)", reproducible: true
        },
        MetricSpec {
            name: "ratio_2",
            doc: "generalised eigenvalue of the second discriminant", reproducible: true
        },
    ];
    const CURVES: &'static [MetricSpec] = &[
        MetricSpec {
            name: "lda_x",
            doc: "first discriminant coordinate of each pictured test sentence (indexed by point)",
            reproducible: true,
        },
        MetricSpec {
            name: "lda_y",
            doc: "second discriminant coordinate",
            reproducible: true,
        },
        MetricSpec {
            name: "language",
            doc: "language index of each pictured point (the order of the corpus's languages)",
            reproducible: true,
        },
    ];

    /// Memory: the layer, its representation and test rows, and the `width²` scatter matrices.
    /// Measured peaks (resident size minus the idle binary's 57 MiB) were 3.8 layer arrays at
    /// 48,000 × 256 and 3.9 at 96,000 × 128; at 12,000 × 1024, 4.5 (7.4 `width²` beyond 3.9). The
    /// guard counts 5 and 12 `width²`.
    fn check(&self, p: &LdaParams) -> Result<(), String> {
        let setup = p.setup();
        let sizes = setup.check(Some(p.layer))?;
        setup.check_offset(p.shift_offset, Some(p.layer))?;
        harness::check_trial_memory(Self::ID, sizes.bytes(5.0, 12.0, 0.0))
    }

    fn run(
        &self,
        p: &LdaParams,
        rng: &mut TrialRng,
        _trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError> {
        let setup = p.setup();
        let states = setup.states(rng)?;
        let corpus = states.corpus();
        let layer = p.layer;
        let pictured = applied_layer(layer, p.shift_offset)?;
        let raw = states.layer(pictured).map_err(failed)?;
        let represented = setup.shift_space.represent(raw.view());
        let classes = corpus.languages.len();
        let train = corpus.split(true);
        let discriminant = lda(
            represented.select(Axis(0), &train).view(),
            &pick(&corpus.language, &train),
            classes,
            2,
            p.lda_shrinkage,
        )
        .map_err(MethodError::Failed)?;
        let test = corpus.split(false);
        let languages = pick(&corpus.language, &test);
        let mut rows = represented.select(Axis(0), &test);
        if p.shift == Picture::Toward {
            let measured = if pictured == layer {
                raw
            } else {
                states.layer(layer).map_err(failed)?
            };
            let vectors = language_vectors(measured.view(), corpus, setup.shift_space);
            rows = shift(
                rows.view(),
                &languages,
                vectors.view(),
                corpus.dominant,
                1.0,
            );
        }
        let points = discriminant.project(rows.view());
        let predicted = discriminant.classify(rows.view());
        let accuracy = accuracy_by_language(corpus, &test, &predicted, &corpus.language);
        let kept = first_per_class(&languages, classes, p.points);
        let coordinate = |axis: usize| -> Vec<(u32, f64)> {
            kept.iter()
                .enumerate()
                .map(|(i, &r)| (i as u32, points[(r, axis.min(points.ncols() - 1))]))
                .collect()
        };
        let ratio = |i: usize| discriminant.ratios.get(i).copied().unwrap_or(0.0);
        Ok(Outcome::new()
            .metric("layer", layer as f64)
            .metric("pictured_layer", pictured as f64)
            .metric("lda_accuracy", mean_over(&accuracy, 0..classes))
            .metric("lda_chance", 1.0 / classes as f64)
            .metric("separation", separation(points.view(), &languages, classes))
            .metric("ratio_1", ratio(0))
            .metric("ratio_2", ratio(1))
            .curve("lda_x", coordinate(0))
            .curve("lda_y", coordinate(1))
            .curve(
                "language",
                kept.iter()
                    .enumerate()
                    .map(|(i, &r)| (i as u32, languages[r] as f64))
                    .collect(),
            ))
    }
}
