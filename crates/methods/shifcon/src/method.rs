//! The `shifcon.*` methods: distance per layer and band choice, the shift and its probes, band
//! position vs task accuracy, and the contrastive alignment.

use std::path::Path;
use std::sync::OnceLock;

use ndarray::{Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;

use harness::legacy::{Fallback, Method, ParamKind, ParamSpec, Params};
use harness::{MethodError, MetricSpec, Outcome, Registry, TrialRng};

use crate::contrastive::info_nce;
use crate::distance::{choose_band, layer_distance, LanguageDistance};
use crate::lda::{first_per_class, lda, separation};
use crate::probe::{Probe, ProbeSettings};
use crate::shift::{language_vectors, shift, ShiftSpace};
use crate::source::{Corpus, Generator, States, World, SYNTHETIC_LANGUAGES};
use crate::states::{load_cached, LANGUAGE_CODES};

/// Register the methods of this paper.
pub fn register(registry: &mut Registry) {
    registry.register(harness::legacy::Legacy::boxed(DistanceMethod));
    registry.register(harness::legacy::Legacy::boxed(ShiftMethod));
    registry.register(harness::legacy::Legacy::boxed(BandMethod));
    registry.register(harness::legacy::Legacy::boxed(ContrastiveMethod));
    registry.register(harness::legacy::Legacy::boxed(LdaMethod));
}

const fn int(name: &'static str, min: i64, max: i64, default: i64, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        kind: ParamKind::Int { min, max },
        default: Fallback::Int(default),
        doc,
    }
}

const fn float(
    name: &'static str,
    min: f64,
    max: f64,
    default: f64,
    doc: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        kind: ParamKind::Float { min, max },
        default: Fallback::Float(default),
        doc,
    }
}

const fn choice(
    name: &'static str,
    names: &'static [&'static str],
    default: &'static str,
    doc: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        kind: ParamKind::Choice(names),
        default: Fallback::Str(default),
        doc,
    }
}

/// The parameters every method shares (where the states come from, how languages are compared),
/// followed by the method's own.
macro_rules! params {
    ($($own:expr),* $(,)?) => {
        &[
            ParamSpec { name: "states", kind: ParamKind::File, default: Fallback::Str(""), doc: "real hidden states, .npy layers × sentences × width (float64/float32); empty: the synthetic model" },
            ParamSpec { name: "labels", kind: ParamKind::File, default: Fallback::Str(""), doc: "CSV sentence,language,group,label for `states` (even groups train, odd test)" },
            choice("dominant", &LANGUAGE_CODES, "en", "the dominant language, target of the shift"),
            int("layers", 2, 1024, 32, "synthetic: number of layers"),
            int("width", 2, 4096, 64, "synthetic: width d of the states"),
            int("sentences", 4, 100_000, 300, "synthetic: translation groups (half train, half test)"),
            ParamSpec { name: "degradation", kind: ParamKind::FloatList { min: 0.0, max: 1.0 }, default: Fallback::List(&[0.0, 0.1, 0.1, 0.15, 0.3, 0.4]), doc: "synthetic: δ per language (en, zh, de, ru, th, sw; 2 to 6 values): share of semantics lost to noise" },
            float("planted_layer", -1e6, 1e6, 14.0, "synthetic: centre of the planted low-distance band"),
            float("planted_width", 1e-6, 1e6, 5.0, "synthetic: width of the planted band (γ_i = 1 − depth·exp(−((i − centre)/width)²))"),
            float("planted_depth", 0.0, 1.0, 0.85, "synthetic: depth of the planted band"),
            float("code_scale", 0.0, 1e4, 6.0, "synthetic: language codes c_l ~ N(0, scale² I_r)"),
            int("code_rank", 1, 256, 3, "synthetic: rank r of the language-specific subspace B_i"),
            float("spread", 0.0, 1e4, 0.0, "synthetic: per-sentence spread of the language-specific component (not removable by a mean shift)"),
            float("mixing", 0.0, 1e4, 0.0, "synthetic: language-specific distortion of the semantics, γ_i·mixing·R_{i,l} (removable by a linear alignment, not by a shift)"),
            float("noise", 0.0, 1e4, 0.6, "synthetic: isotropic noise level"),
            choice("metric", &LanguageDistance::NAMES, "decomposition", "per-layer distance: decomposition (Xie et al. low-rank), mean, pca (projection F-distance)"),
            int("rank", 1, 256, 3, "rank of the language-specific subspace (decomposition) or of the PCA subspaces"),
            int("band_width", 1, 1024, 4, "width w of the band of layers"),
            choice("shift_space", &ShiftSpace::NAMES, "normalized", "normalized (unit sentence vectors), raw (raw means), authors (raw states shifted by normalised differences)"),
            $($own),*
        ]
    };
}

const LAYER: ParamSpec = int(
    "layer",
    -1,
    4095,
    -1,
    "layer of the shift; -1: the start of the band the metric chooses",
);

const SHIFT_OFFSET: ParamSpec = int(
    "shift_offset",
    0,
    1023,
    0,
    "loaded states: the language vectors measured on states[layer] are added to states[layer − shift_offset], which the probes then read (the authors' code: 1, vectors of hidden_states[L] added at the input of layer L − 1); index i of a states file is the model's hidden_states[i], 0 = the embeddings",
);

/// `shift_offset` belongs to states of a model, whose consecutive layers are one residual
/// update apart; the synthetic model draws every layer independently.
fn check_offset(p: &Params, layer: i64) -> Result<(), String> {
    let offset = p.int("shift_offset");
    if offset == 0 {
        return Ok(());
    }
    if p.str("states").is_empty() {
        return Err("`shift_offset` applies to loaded states (`states`, `labels`), whose layers are a model's; the synthetic model draws each layer independently, so a vector of one layer means nothing at another".into());
    }
    if layer >= 0 && layer < offset {
        return Err(format!(
            "`layer` {layer} minus `shift_offset` {offset} is below the first layer 0"
        ));
    }
    Ok(())
}

/// The layer the shift measured at `layer` is added to.
fn applied_layer(p: &Params, layer: usize) -> Result<usize, MethodError> {
    let offset = p.usize("shift_offset");
    layer.checked_sub(offset).ok_or_else(|| {
        MethodError::Failed(format!(
            "the band starts at layer {layer}; `shift_offset` {offset} would add its vectors below layer 0"
        ))
    })
}

/// The loaded states when the spec names files; `None` for the synthetic model.
fn loaded_states(p: &Params) -> Result<Option<States>, String> {
    let states = p.str("states");
    let labels = p.str("labels");
    if states.is_empty() != labels.is_empty() {
        return Err("`states` and `labels` go together: set both (real states) or neither (synthetic model)".into());
    }
    if states.is_empty() {
        return Ok(None);
    }
    load_cached(Path::new(states), Path::new(labels), p.str("dominant"))
        .map(|loaded| Some(States::Loaded(loaded)))
}

pub(crate) fn generator(p: &Params) -> Generator {
    Generator {
        layers: p.usize("layers"),
        width: p.usize("width"),
        sentences: p.usize("sentences"),
        degradation: p.list("degradation").to_vec(),
        planted_layer: p.float("planted_layer"),
        planted_width: p.float("planted_width"),
        planted_depth: p.float("planted_depth"),
        code_scale: p.float("code_scale"),
        code_rank: p.usize("code_rank"),
        spread: p.float("spread"),
        mixing: p.float("mixing"),
        noise: p.float("noise"),
    }
}

/// Constraints shared by every method; loads (and caches) real states to check them.
fn check_common(p: &Params, layer: Option<i64>) -> Result<(), String> {
    let (layers, width, rows_per_language) = match loaded_states(p)? {
        Some(states) => {
            let c = states.corpus();
            let fewest = (0..c.languages.len())
                .map(|l| c.rows(l, true).len())
                .min()
                .unwrap_or(0);
            (
                states.layers(),
                states.layer(0).map_err(|e| e.to_string())?.ncols(),
                fewest,
            )
        }
        None => {
            let k = p.list("degradation").len();
            // The world's semantic and language parts, a layer's states and its working copies.
            let rows = (k * p.usize("sentences")) as f64;
            let width = p.float("width");
            harness::check_trial_memory(
                "the synthetic model",
                8.0 * rows * (6.0 * width + p.float("code_rank")) + 16.0 * width * width,
            )?;
            if !(2..=SYNTHETIC_LANGUAGES.len()).contains(&k) {
                return Err(format!(
                    "`degradation` needs 2 to 6 values (one per language: {}); got {k}",
                    SYNTHETIC_LANGUAGES.join(", ")
                ));
            }
            if !SYNTHETIC_LANGUAGES[..k].contains(&p.str("dominant")) {
                return Err(format!(
                    "the synthetic model's languages are {}; `dominant` must be one of them",
                    SYNTHETIC_LANGUAGES[..k].join(", ")
                ));
            }
            if p.usize("code_rank") > p.usize("width") {
                return Err("`code_rank` must not exceed `width`".into());
            }
            (
                p.usize("layers"),
                p.usize("width"),
                p.usize("sentences") / 2,
            )
        }
    };
    if p.usize("band_width") > layers {
        return Err(format!(
            "`band_width` {} exceeds the {layers} layers",
            p.usize("band_width")
        ));
    }
    if p.usize("rank") > width {
        return Err(format!(
            "`rank` {} exceeds the width {width}",
            p.usize("rank")
        ));
    }
    if p.str("metric") == "pca" && p.usize("rank") > rows_per_language {
        return Err(format!(
            "`rank` {} exceeds the {rows_per_language} training sentences of the smallest language",
            p.usize("rank")
        ));
    }
    if let Some(layer) = layer {
        if layer >= layers as i64 {
            return Err(format!("`layer` {layer} is not below the {layers} layers"));
        }
    }
    Ok(())
}

fn states(p: &Params, rng: &mut TrialRng) -> Result<States, MethodError> {
    Ok(match loaded_states(p).map_err(MethodError::Failed)? {
        Some(states) => states,
        None => States::Synthetic(Box::new(World::new(generator(p), rng))),
    })
}

fn failed(e: impl std::fmt::Display) -> MethodError {
    MethodError::Failed(e.to_string())
}

/// Distance per layer for the spec's metric.
fn distances(p: &Params, states: &States) -> Result<Vec<f64>, MethodError> {
    let metric = LanguageDistance::from_name(p.str("metric")).expect("validated choice");
    (0..states.layers())
        .map(|i| {
            let layer = states.layer(i).map_err(failed)?;
            layer_distance(layer.view(), states.corpus(), metric, p.usize("rank")).map_err(failed)
        })
        .collect()
}

fn per_layer(values: &[f64]) -> Vec<(u32, f64)> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as u32, v))
        .collect()
}

/// The layer a shift is applied at: the spec's, or (`-1`) the start of the chosen band.
fn shift_layer(p: &Params, states: &States) -> Result<usize, MethodError> {
    Ok(match p.int("layer") {
        -1 => choose_band(&distances(p, states)?, p.usize("band_width")),
        l => l as usize,
    })
}

/// Per-language metric names, built once: `<prefix>_<code>` for every supported code.
fn language_metrics(prefixes: &[(&str, &str)], shared: &[MetricSpec]) -> Vec<MetricSpec> {
    let mut out = shared.to_vec();
    for (prefix, doc) in prefixes {
        for code in LANGUAGE_CODES {
            out.push(MetricSpec {
                name: Box::leak(format!("{prefix}_{code}").into_boxed_str()),
                doc: Box::leak(format!("{doc}, language {code}").into_boxed_str()),
            });
        }
    }
    out
}

/// One layer prepared for probing: the representation probes see, the language vectors, and the
/// English-trained task probe.
struct Prepared<'a> {
    corpus: &'a Corpus,
    represented: Array2<f64>,
    vectors: Array2<f64>,
    task: Probe,
    test: Vec<usize>,
}

impl<'a> Prepared<'a> {
    /// `raw`: the states shifted and probed; `measured`: the states the language vectors are
    /// averaged from (the same layer, or `shift_offset` layers deeper).
    fn new(
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
    fn test_rows(&self, sign: f64) -> Array2<f64> {
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
    fn task_accuracy(&self, rows: ArrayView2<f64>) -> Vec<f64> {
        let predicted = self.task.predict(rows);
        accuracy_by_language(self.corpus, &self.test, &predicted, &self.corpus.label)
    }
}

fn pick<T: Copy>(values: &[T], rows: &[usize]) -> Vec<T> {
    rows.iter().map(|&r| values[r]).collect()
}

fn accuracy_by_language(
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

fn mean_over<'a>(values: &[f64], languages: impl Iterator<Item = usize> + 'a) -> f64 {
    let picked: Vec<f64> = languages.map(|l| values[l]).collect();
    picked.iter().sum::<f64>() / picked.len().max(1) as f64
}

/// Least-squares slope of y on x (NaN when x does not vary).
fn slope(points: &[(f64, f64)]) -> f64 {
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

fn space(p: &Params) -> ShiftSpace {
    ShiftSpace::from_name(p.str("shift_space")).expect("validated choice")
}

// ---------------------------------------------------------------------------------------------

/// `shifcon.distance`: distance between languages at every layer and the band it selects.
pub struct DistanceMethod;

const DISTANCE_PARAMS: &[ParamSpec] = params!();

const DISTANCE_METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: "band_start",
        doc: "first layer of the chosen band",
    },
    MetricSpec {
        name: "band_end",
        doc: "last layer of the chosen band",
    },
    MetricSpec {
        name: "min_layer",
        doc: "layer of the smallest distance",
    },
    MetricSpec {
        name: "contrast",
        doc: "smallest / largest distance over layers",
    },
    MetricSpec {
        name: "distance_min",
        doc: "smallest distance over layers",
    },
    MetricSpec {
        name: "distance_max",
        doc: "largest distance over layers",
    },
    MetricSpec {
        name: "planted_in_band",
        doc: "synthetic: 1 if the planted layer lies in the chosen band, else 0",
    },
    MetricSpec {
        name: "planted_offset",
        doc: "synthetic: |centre of the chosen band − planted layer|",
    },
];

impl Method for DistanceMethod {
    fn id(&self) -> &'static str {
        "shifcon.distance"
    }
    fn summary(&self) -> &'static str {
        "distance between languages at every layer; the band of lowest mean distance"
    }
    fn params(&self) -> &'static [ParamSpec] {
        DISTANCE_PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        DISTANCE_METRICS
    }
    fn curves(&self) -> &'static [MetricSpec] {
        &[MetricSpec {
            name: "distance",
            doc: "distance between languages per layer",
        }]
    }
    fn check(&self, p: &Params) -> Result<(), String> {
        check_common(p, None)
    }
    fn run(&self, p: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        let states = states(p, rng)?;
        let d = distances(p, &states)?;
        let w = p.usize("band_width");
        let start = choose_band(&d, w);
        let (lo, hi) = d
            .iter()
            .fold((f64::INFINITY, 0.0_f64), |(a, b), &v| (a.min(v), b.max(v)));
        let min_layer = d.iter().position(|&v| v == lo).unwrap_or(0);
        let mut out = Outcome::new()
            .metric("band_start", start as f64)
            .metric("band_end", (start + w - 1) as f64)
            .metric("min_layer", min_layer as f64)
            .metric("contrast", lo / hi)
            .metric("distance_min", lo)
            .metric("distance_max", hi)
            .curve("distance", per_layer(&d));
        if let Some(planted) = states.planted_layer() {
            let inside = (start as f64) <= planted && planted <= (start + w - 1) as f64;
            out = out
                .metric("planted_in_band", f64::from(u8::from(inside)))
                .metric(
                    "planted_offset",
                    (start as f64 + (w as f64 - 1.0) / 2.0 - planted).abs(),
                );
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------

/// `shifcon.shift`: language-ID and task probes on original, shifted and shifted-back states.
pub struct ShiftMethod;

const SHIFT_PARAMS: &[ParamSpec] = params!(LAYER, SHIFT_OFFSET);

fn shift_metrics() -> &'static [MetricSpec] {
    static METRICS: OnceLock<Vec<MetricSpec>> = OnceLock::new();
    METRICS.get_or_init(|| {
        language_metrics(
            &[
                ("lid_original", "language-ID accuracy on original states"),
                (
                    "lid_shifted",
                    "language-ID accuracy after the shift toward the dominant language",
                ),
                ("lid_back", "language-ID accuracy after shifting back"),
                (
                    "task_original",
                    "English-trained task probe accuracy, original states",
                ),
                (
                    "task_shifted",
                    "English-trained task probe accuracy, shifted states",
                ),
                ("task_gain", "task accuracy shifted − original"),
            ],
            &[
                MetricSpec {
                    name: "layer",
                    doc: "layer where the shift is applied",
                },
                MetricSpec {
                    name: "lid_original",
                    doc: "language-ID accuracy, all languages, original",
                },
                MetricSpec {
                    name: "lid_shifted",
                    doc: "language-ID accuracy, all languages, shifted",
                },
                MetricSpec {
                    name: "lid_back",
                    doc: "language-ID accuracy, all languages, shifted back",
                },
                MetricSpec {
                    name: "shifted_layer",
                    doc: "layer the shift is added to and the probes read: layer − shift_offset",
                },
                MetricSpec {
                    name: "lid_chance",
                    doc: "1 / number of languages",
                },
                MetricSpec {
                    name: "task_dominant",
                    doc: "task accuracy on the dominant language's test rows",
                },
                MetricSpec {
                    name: "task_original",
                    doc: "task accuracy, mean over non-dominant languages, original",
                },
                MetricSpec {
                    name: "task_shifted",
                    doc: "task accuracy, mean over non-dominant languages, shifted",
                },
                MetricSpec {
                    name: "task_gain",
                    doc: "mean task gain from the shift over non-dominant languages",
                },
                MetricSpec {
                    name: "gain_vs_degradation",
                    doc: "synthetic: least-squares slope of the task gain against δ over non-dominant languages (> 0: the more degraded gain more)",
                },
            ],
        )
    })
}

impl Method for ShiftMethod {
    fn id(&self) -> &'static str {
        "shifcon.shift"
    }
    fn summary(&self) -> &'static str {
        "shift toward the dominant language at a layer: language-ID and English-trained task probes"
    }
    fn params(&self) -> &'static [ParamSpec] {
        SHIFT_PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        shift_metrics()
    }
    fn check(&self, p: &Params) -> Result<(), String> {
        check_common(p, Some(p.int("layer")))?;
        check_offset(p, p.int("layer"))
    }
    fn run(&self, p: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        let states = states(p, rng)?;
        let corpus = states.corpus();
        let layer = shift_layer(p, &states)?;
        let applied = applied_layer(p, layer)?;
        let measured = states.layer(layer).map_err(failed)?;
        let raw = if applied == layer {
            measured.clone()
        } else {
            states.layer(applied).map_err(failed)?
        };
        let prepared = Prepared::new(raw.view(), measured.view(), corpus, space(p));
        // The language-ID probe learns every language from the original training rows.
        let train = corpus.split(true);
        let lid = Probe::fit(
            prepared.represented.select(Axis(0), &train).view(),
            &pick(&corpus.language, &train),
            corpus.languages.len(),
            ProbeSettings::default(),
        );
        let mut out = Outcome::new()
            .metric("layer", layer as f64)
            .metric("shifted_layer", applied as f64)
            .metric("lid_chance", 1.0 / corpus.languages.len() as f64);
        let all = 0..corpus.languages.len();
        let original = prepared.test_rows(0.0);
        let shifted = prepared.test_rows(1.0);
        let back = shift(
            shifted.view(),
            &pick(&corpus.language, &prepared.test),
            prepared.vectors.view(),
            corpus.dominant,
            -1.0,
        );
        for (name, rows) in [
            ("original", &original),
            ("shifted", &shifted),
            ("back", &back),
        ] {
            let predicted = lid.predict(rows.view());
            let by_language =
                accuracy_by_language(corpus, &prepared.test, &predicted, &corpus.language);
            out = out.metric(&format!("lid_{name}"), mean_over(&by_language, all.clone()));
            for (l, acc) in by_language.iter().enumerate() {
                out = out.metric(&format!("lid_{name}_{}", corpus.languages[l]), *acc);
            }
        }
        let before = prepared.task_accuracy(original.view());
        let after = prepared.task_accuracy(shifted.view());
        out = out
            .metric("task_dominant", before[corpus.dominant])
            .metric("task_original", mean_over(&before, corpus.others()))
            .metric("task_shifted", mean_over(&after, corpus.others()))
            .metric(
                "task_gain",
                mean_over(&after, corpus.others()) - mean_over(&before, corpus.others()),
            );
        if let Some(degradation) = states.degradation() {
            let points: Vec<(f64, f64)> = corpus
                .others()
                .map(|l| (degradation[l], after[l] - before[l]))
                .collect();
            out = out.metric("gain_vs_degradation", slope(&points));
        }
        for l in corpus.others() {
            let code = &corpus.languages[l];
            out = out
                .metric(&format!("task_original_{code}"), before[l])
                .metric(&format!("task_shifted_{code}"), after[l])
                .metric(&format!("task_gain_{code}"), after[l] - before[l]);
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------

/// `shifcon.band`: task accuracy of every band position against the one the metric chooses.
pub struct BandMethod;

const BAND_PARAMS: &[ParamSpec] = params!();

const BAND_METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: "chosen_start",
        doc: "start of the band the distance metric chooses",
    },
    MetricSpec {
        name: "best_start",
        doc: "start of the band with the highest shifted task accuracy",
    },
    MetricSpec {
        name: "chosen_accuracy",
        doc: "mean shifted task accuracy over the chosen band",
    },
    MetricSpec {
        name: "best_accuracy",
        doc: "mean shifted task accuracy over the best band",
    },
    MetricSpec {
        name: "worst_accuracy",
        doc: "mean shifted task accuracy over the worst band",
    },
    MetricSpec {
        name: "regret",
        doc: "best − chosen band accuracy",
    },
    MetricSpec {
        name: "chosen_rank",
        doc: "rank of the chosen band by accuracy (1 = best)",
    },
    MetricSpec {
        name: "start_offset",
        doc: "|chosen start − best start|",
    },
];

impl Method for BandMethod {
    fn id(&self) -> &'static str {
        "shifcon.band"
    }
    fn summary(&self) -> &'static str {
        "shifted task accuracy of every band position vs the band the distance metric chooses"
    }
    fn params(&self) -> &'static [ParamSpec] {
        BAND_PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        BAND_METRICS
    }
    fn curves(&self) -> &'static [MetricSpec] {
        &[
            MetricSpec {
                name: "distance",
                doc: "distance between languages per layer",
            },
            MetricSpec {
                name: "task_shifted",
                doc: "shifted task accuracy per layer (non-dominant mean)",
            },
            MetricSpec {
                name: "task_original",
                doc: "original task accuracy per layer (non-dominant mean)",
            },
        ]
    }
    fn check(&self, p: &Params) -> Result<(), String> {
        check_common(p, None)
    }
    fn run(&self, p: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        let states = states(p, rng)?;
        let corpus = states.corpus();
        let d = distances(p, &states)?;
        let mut shifted = Vec::with_capacity(d.len());
        let mut original = Vec::with_capacity(d.len());
        for i in 0..states.layers() {
            let raw = states.layer(i).map_err(failed)?;
            let prepared = Prepared::new(raw.view(), raw.view(), corpus, space(p));
            let after = prepared.task_accuracy(prepared.test_rows(1.0).view());
            let before = prepared.task_accuracy(prepared.test_rows(0.0).view());
            shifted.push(mean_over(&after, corpus.others()));
            original.push(mean_over(&before, corpus.others()));
        }
        let w = p.usize("band_width");
        let windows: Vec<f64> = (0..=d.len() - w)
            .map(|s| shifted[s..s + w].iter().sum::<f64>() / w as f64)
            .collect();
        let chosen = choose_band(&d, w);
        // The best band: the first with the highest accuracy (negated, choose_band minimises).
        let best = choose_band(&windows.iter().map(|a| -a).collect::<Vec<_>>(), 1);
        let rank = 1 + windows.iter().filter(|&&a| a > windows[chosen]).count();
        let worst = windows.iter().cloned().fold(f64::INFINITY, f64::min);
        Ok(Outcome::new()
            .metric("chosen_start", chosen as f64)
            .metric("best_start", best as f64)
            .metric("chosen_accuracy", windows[chosen])
            .metric("best_accuracy", windows[best])
            .metric("worst_accuracy", worst)
            .metric("regret", windows[best] - windows[chosen])
            .metric("chosen_rank", rank as f64)
            .metric("start_offset", (chosen as f64 - best as f64).abs())
            .curve("distance", per_layer(&d))
            .curve("task_shifted", per_layer(&shifted))
            .curve("task_original", per_layer(&original)))
    }
}

// ---------------------------------------------------------------------------------------------

/// `shifcon.contrastive`: a linear alignment of shifted non-dominant states trained with the
/// symmetric InfoNCE of the authors' code.
pub struct ContrastiveMethod;

const CONTRASTIVE_PARAMS: &[ParamSpec] = params!(
    LAYER,
    int("steps", 0, 100_000, 200, "gradient steps"),
    int(
        "batch",
        2,
        100_000,
        64,
        "translation pairs per batch (one language per batch)"
    ),
    float("lr", 0.0, 1e4, 1.0, "step size of gradient descent on W"),
    float(
        "scale",
        1e-6,
        1e4,
        1.0,
        "logit scale (1 in the authors' code)"
    ),
    int("eval_every", 1, 100_000, 10, "steps between evaluations"),
);

const CONTRASTIVE_METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: "layer",
        doc: "layer where the alignment is trained",
    },
    MetricSpec {
        name: "infonce_initial",
        doc: "held-out InfoNCE before training (W = I)",
    },
    MetricSpec {
        name: "infonce_final",
        doc: "held-out InfoNCE after training",
    },
    MetricSpec {
        name: "infonce_drop",
        doc: "infonce_initial − infonce_final",
    },
    MetricSpec {
        name: "task_initial",
        doc: "task accuracy on shifted held-out states, W = I",
    },
    MetricSpec {
        name: "task_final",
        doc: "task accuracy on shifted, aligned held-out states",
    },
    MetricSpec {
        name: "task_gain",
        doc: "task_final − task_initial",
    },
];

impl Method for ContrastiveMethod {
    fn id(&self) -> &'static str {
        "shifcon.contrastive"
    }
    fn summary(&self) -> &'static str {
        "linear alignment in the band trained with symmetric InfoNCE: loss and task accuracy"
    }
    fn params(&self) -> &'static [ParamSpec] {
        CONTRASTIVE_PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        CONTRASTIVE_METRICS
    }
    fn curves(&self) -> &'static [MetricSpec] {
        &[
            MetricSpec {
                name: "infonce",
                doc: "held-out InfoNCE per step",
            },
            MetricSpec {
                name: "task_accuracy",
                doc: "held-out shifted task accuracy per step",
            },
        ]
    }
    fn check(&self, p: &Params) -> Result<(), String> {
        check_common(p, Some(p.int("layer")))
    }
    fn run(&self, p: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        let states = states(p, rng)?;
        let corpus = states.corpus();
        let layer = shift_layer(p, &states)?;
        let raw = states.layer(layer).map_err(failed)?;
        let prepared = Prepared::new(raw.view(), raw.view(), corpus, space(p));
        let x = &prepared.represented;
        // Pairs (source row, dominant-language row) of one translation group, per language.
        let pairs = |train: bool| -> Vec<Vec<(usize, usize)>> {
            let dominant: std::collections::HashMap<u64, usize> = corpus
                .rows(corpus.dominant, train)
                .into_iter()
                .map(|r| (corpus.group[r], r))
                .collect();
            corpus
                .others()
                .map(|l| {
                    corpus
                        .rows(l, train)
                        .into_iter()
                        .filter_map(|r| dominant.get(&corpus.group[r]).map(|&t| (r, t)))
                        .collect()
                })
                .collect()
        };
        let (train_pairs, test_pairs) = (pairs(true), pairs(false));
        if train_pairs.iter().chain(&test_pairs).any(|v| v.len() < 2) {
            return Err(MethodError::Failed(
                "every language needs at least two translations of dominant-language sentences on each side of the split".into(),
            ));
        }
        let scale = p.float("scale");
        let width = x.ncols();
        let mut w = Array2::<f64>::eye(width);
        let rows = |list: &[(usize, usize)]| {
            let (s, t): (Vec<usize>, Vec<usize>) = list.iter().cloned().unzip();
            (x.select(Axis(0), &s), x.select(Axis(0), &t))
        };
        let held_out: Vec<_> = test_pairs.iter().map(|l| rows(l)).collect();
        let shifted_test = prepared.test_rows(1.0);
        let others: Vec<usize> = corpus.others().collect();
        let evaluate = |w: &Array2<f64>| {
            let loss = held_out
                .iter()
                .map(|(s, t)| info_nce(w.view(), s.view(), t.view(), scale, false).0)
                .sum::<f64>()
                / held_out.len() as f64;
            // W acts on non-dominant rows only; the dominant language is the probe's own.
            let mut aligned = shifted_test.clone();
            for (mut row, &r) in aligned.outer_iter_mut().zip(&prepared.test) {
                if corpus.language[r] != corpus.dominant {
                    let mapped = w.dot(&row);
                    row.assign(&mapped);
                }
            }
            let accuracy = prepared.task_accuracy(aligned.view());
            (loss, mean_over(&accuracy, others.iter().copied()))
        };
        let (loss0, acc0) = evaluate(&w);
        let (mut loss_curve, mut acc_curve) = (vec![(0, loss0)], vec![(0, acc0)]);
        let steps = p.usize("steps");
        let batch = p.usize("batch");
        for step in 1..=steps {
            let language = step % train_pairs.len();
            let chosen: Vec<(usize, usize)> = train_pairs[language]
                .choose_multiple(rng, batch.min(train_pairs[language].len()))
                .cloned()
                .collect();
            let (s, t) = rows(&chosen);
            let (loss, gradient) = info_nce(w.view(), s.view(), t.view(), scale, true);
            if !loss.is_finite() {
                return Err(MethodError::Diverged(format!(
                    "InfoNCE is {loss} at step {step}"
                )));
            }
            w.scaled_add(-p.float("lr"), &gradient.expect("asked for"));
            if step % p.usize("eval_every") == 0 || step == steps {
                let (l, a) = evaluate(&w);
                loss_curve.push((step as u32, l));
                acc_curve.push((step as u32, a));
            }
        }
        let (loss1, acc1) = evaluate(&w);
        Ok(Outcome::new()
            .metric("layer", layer as f64)
            .metric("infonce_initial", loss0)
            .metric("infonce_final", loss1)
            .metric("infonce_drop", loss0 - loss1)
            .metric("task_initial", acc0)
            .metric("task_final", acc1)
            .metric("task_gain", acc1 - acc0)
            .curve("infonce", loss_curve)
            .curve("task_accuracy", acc_curve))
    }
}

// ---------------------------------------------------------------------------------------------

/// `shifcon.lda`: the layer-wise LDA picture by language, before or after the shift.
pub struct LdaMethod;

const LDA_PARAMS: &[ParamSpec] = params!(
    int(
        "layer",
        0,
        4095,
        14,
        "layer pictured (with `shift_offset`, the layer the vectors are measured on; the picture is of states[layer − shift_offset])"
    ),
    choice(
        "shift",
        &["none", "toward"],
        "none",
        "picture the test states as they are, or shifted toward the dominant language (in the coordinates of the original states' LDA)"
    ),
    SHIFT_OFFSET,
    float(
        "lda_shrinkage",
        0.0,
        1e3,
        1e-3,
        "adds shrinkage·tr(S_w)/width·I to the within-language covariance (needed when the width exceeds the training sentences)"
    ),
    int(
        "points",
        1,
        100_000,
        60,
        "test sentences per language recorded in the picture (metrics use all)"
    ),
);

const LDA_METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: "layer",
        doc: "the `layer` parameter",
    },
    MetricSpec {
        name: "pictured_layer",
        doc: "layer whose states are pictured: layer − shift_offset",
    },
    MetricSpec {
        name: "lda_accuracy",
        doc: "language-ID accuracy of the nearest language mean in the 2-D picture (held-out sentences)",
    },
    MetricSpec {
        name: "lda_chance",
        doc: "1 / number of languages",
    },
    MetricSpec {
        name: "separation",
        doc: "between-language over within-language variance of the held-out points in the 2-D picture",
    },
    MetricSpec {
        name: "ratio_1",
        doc: "generalised eigenvalue of the first discriminant (training sentences)",
    },
    MetricSpec {
        name: "ratio_2",
        doc: "generalised eigenvalue of the second discriminant",
    },
];

impl Method for LdaMethod {
    fn id(&self) -> &'static str {
        "shifcon.lda"
    }
    fn summary(&self) -> &'static str {
        "2-D linear discriminant picture of a layer's states by language, before or after the shift"
    }
    fn params(&self) -> &'static [ParamSpec] {
        LDA_PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        LDA_METRICS
    }
    fn curves(&self) -> &'static [MetricSpec] {
        &[
            MetricSpec {
                name: "lda_x",
                doc: "first discriminant coordinate of each pictured test sentence (indexed by point)",
            },
            MetricSpec {
                name: "lda_y",
                doc: "second discriminant coordinate",
            },
            MetricSpec {
                name: "language",
                doc: "language index of each pictured point (the order of the corpus's languages)",
            },
        ]
    }
    fn check(&self, p: &Params) -> Result<(), String> {
        check_common(p, Some(p.int("layer")))?;
        check_offset(p, p.int("layer"))
    }
    fn run(&self, p: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        let states = states(p, rng)?;
        let corpus = states.corpus();
        let layer = p.usize("layer");
        let pictured = applied_layer(p, layer)?;
        let raw = states.layer(pictured).map_err(failed)?;
        let represented = space(p).represent(raw.view());
        let classes = corpus.languages.len();
        let train = corpus.split(true);
        let discriminant = lda(
            represented.select(Axis(0), &train).view(),
            &pick(&corpus.language, &train),
            classes,
            2,
            p.float("lda_shrinkage"),
        )
        .map_err(MethodError::Failed)?;
        let test = corpus.split(false);
        let languages = pick(&corpus.language, &test);
        let mut rows = represented.select(Axis(0), &test);
        if p.str("shift") == "toward" {
            let measured = if pictured == layer {
                raw
            } else {
                states.layer(layer).map_err(failed)?
            };
            let vectors = language_vectors(measured.view(), corpus, space(p));
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
        let kept = first_per_class(&languages, classes, p.usize("points"));
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

#[cfg(test)]
mod tests {
    use super::*;
    use harness::Value;

    #[test]
    fn parameter_defaults_are_the_generator_defaults() {
        let params = Params(
            DISTANCE_PARAMS
                .iter()
                .filter_map(|p| Some((p.name.to_string(), p.default_value()?)))
                .collect(),
        );
        assert_eq!(generator(&params), Generator::default());
        assert_eq!(params.0["dominant"], Value::Str("en".into()));
    }
}
