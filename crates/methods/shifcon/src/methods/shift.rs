//! `shifcon.shift`: language-ID and task probes on original, shifted and shifted-back states.

use ndarray::Axis;

use harness::{MethodError, MetricSpec, Outcome, TrialContext, TrialRng, TypedMethod};

use crate::analysis::{accuracy_by_language, mean_over, pick, slope, Prepared};
use crate::probe::{Probe, ProbeSettings};
use crate::setup::{applied_layer, failed, shifcon_params, Shared};
use crate::shift::shift;

/// `shifcon.shift`.
pub struct Shift;

shifcon_params! {
    /// The shared parameters, the layer and the offset.
    pub struct ShiftParams {
        /// layer of the shift; `auto`: the start of the band the metric chooses
        layer: Option<usize> [0, 4095], unset "auto", recorded harness::Value::Int(-1);
        /// loaded states: the language vectors measured on states[layer] are added to states[layer − shift_offset], which the probes then read (the authors' code: 1, vectors of hidden_states[L] added at the input of layer L − 1); index i of a states file is the model's hidden_states[i], 0 = the embeddings
        shift_offset: usize [0, 1023] = 0;
    }
}

/// The shared metrics, then `<prefix>_<code>` for every prefix and every code of
/// [`crate::states::LANGUAGE_CODES`] (the codes are spelt here because metric names are
/// `&'static str`; a test keeps the two lists equal).
macro_rules! language_metrics {
    ([$($shared:expr),* $(,)?], [$(($prefix:literal, $doc:literal)),* $(,)?], [$($code:literal),*]) => {
        language_metrics!(@acc [$($shared,)*] [$(($prefix, $doc))*] [$($code),*])
    };
    (@acc [$($out:tt)*] [] [$($code:literal),*]) => { &[$($out)*] };
    (@acc [$($out:tt)*] [($prefix:literal, $doc:literal) $($rest:tt)*] [$($code:literal),*]) => {
        language_metrics!(@acc
            [$($out)* $(MetricSpec { name: concat!($prefix, "_", $code), doc: concat!($doc, ", language ", $code), reproducible: true },)*]
            [$($rest)*]
            [$($code),*])
    };
}

impl TypedMethod for Shift {
    type Params = ShiftParams;
    const ID: &'static str = "shifcon.shift";
    const SUMMARY: &'static str =
        "shift toward the dominant language at a layer: language-ID and English-trained task probes";
    const METRICS: &'static [MetricSpec] = language_metrics!(
        [
            MetricSpec {
                name: "layer",
                doc: "layer where the shift is applied", reproducible: true
            },
            MetricSpec {
                name: "lid_original",
                doc: "language-ID accuracy, all languages, original", reproducible: true
            },
            MetricSpec {
                name: "lid_shifted",
                doc: "language-ID accuracy, all languages, shifted", reproducible: true
            },
            MetricSpec {
                name: "lid_back",
                doc: "language-ID accuracy, all languages, shifted back", reproducible: true
            },
            MetricSpec {
                name: "shifted_layer",
                doc: "layer the shift is added to and the probes read: layer − shift_offset", reproducible: true
            },
            MetricSpec {
                name: "lid_chance",
                doc: "1 / number of languages", reproducible: true
            },
            MetricSpec {
                name: "task_dominant",
                doc: "task accuracy on the dominant language's test rows", reproducible: true
            },
            MetricSpec {
                name: "task_original",
                doc: "task accuracy, mean over non-dominant languages, original", reproducible: true
            },
            MetricSpec {
                name: "task_shifted",
                doc: "task accuracy, mean over non-dominant languages, shifted", reproducible: true
            },
            MetricSpec {
                name: "task_gain",
                doc: "mean task gain from the shift over non-dominant languages", reproducible: true
            },
            MetricSpec {
                name: "gain_vs_degradation",
                doc: "synthetic: least-squares slope of the task gain against δ over non-dominant languages (> 0: the more degraded gain more)", reproducible: true
            },
        ],
        [
            ("lid_original", "language-ID accuracy on original states"),
            (
                "lid_shifted",
                "language-ID accuracy after the shift toward the dominant language"
            ),
            ("lid_back", "language-ID accuracy after shifting back"),
            (
                "task_original",
                "English-trained task probe accuracy, original states"
            ),
            (
                "task_shifted",
                "English-trained task probe accuracy, shifted states"
            ),
            ("task_gain", "task accuracy shifted − original"),
        ],
        ["en", "zh", "de", "ru", "th", "sw", "bn", "es", "fr", "ja", "te"]
    );

    /// Memory: the measured and shifted layers, the representation, original, shifted and
    /// shifted-back test rows. Measured peaks (resident size minus the idle binary's 57 MiB) were
    /// 6.5 layer arrays at 48,000 × 256 and 6.7 at 12,000 × 1024; the guard counts 8 and 4
    /// `width²`.
    fn check(&self, p: &ShiftParams) -> Result<(), String> {
        let setup = p.setup();
        let sizes = setup.check(p.layer)?;
        setup.check_offset(p.shift_offset, p.layer)?;
        harness::check_trial_memory(Self::ID, sizes.bytes(8.0, 4.0, 0.0))
    }

    fn run(
        &self,
        p: &ShiftParams,
        rng: &mut TrialRng,
        _trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError> {
        let setup = p.setup();
        let states = setup.states(rng)?;
        let corpus = states.corpus();
        let layer = setup.shift_layer(p.layer, &states)?;
        let applied = applied_layer(layer, p.shift_offset)?;
        let measured = states.layer(layer).map_err(failed)?;
        let raw = if applied == layer {
            measured.clone()
        } else {
            states.layer(applied).map_err(failed)?
        };
        let prepared = Prepared::new(raw.view(), measured.view(), corpus, setup.shift_space);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::states::LANGUAGE_CODES;

    #[test]
    fn per_language_metrics_cover_every_language_code() {
        let names: Vec<&str> = Shift::METRICS.iter().map(|m| m.name).collect();
        for prefix in [
            "lid_original",
            "lid_shifted",
            "lid_back",
            "task_original",
            "task_shifted",
            "task_gain",
        ] {
            for code in LANGUAGE_CODES {
                assert!(names.contains(&format!("{prefix}_{code}").as_str()));
            }
        }
        // 11 shared, then six per-language families: no more, no fewer.
        assert_eq!(names.len(), 11 + 6 * LANGUAGE_CODES.len());
    }
}
