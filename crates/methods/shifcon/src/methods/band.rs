//! `shifcon.band`: task accuracy of every band position against the one the metric chooses.

use harness::{MethodError, MetricSpec, Outcome, TrialContext, TrialRng, TypedMethod};

use crate::analysis::{mean_over, per_layer, Prepared};
use crate::distance::choose_band;
use crate::setup::{failed, shifcon_params, Shared};

/// `shifcon.band`.
pub struct Band;

shifcon_params! {
    /// Only the shared parameters.
    pub struct BandParams {}
}

impl TypedMethod for Band {
    type Params = BandParams;
    const ID: &'static str = "shifcon.band";
    const SUMMARY: &'static str =
        "shifted task accuracy of every band position vs the band the distance metric chooses";
    const METRICS: &'static [MetricSpec] = &[
        MetricSpec {
            name: "chosen_start",
            doc: "start of the band the distance metric chooses",
            reproducible: true,
        },
        MetricSpec {
            name: "best_start",
            doc: "start of the band with the highest shifted task accuracy",
            reproducible: true,
        },
        MetricSpec {
            name: "chosen_accuracy",
            doc: "mean shifted task accuracy over the chosen band",
            reproducible: true,
        },
        MetricSpec {
            name: "best_accuracy",
            doc: "mean shifted task accuracy over the best band",
            reproducible: true,
        },
        MetricSpec {
            name: "worst_accuracy",
            doc: "mean shifted task accuracy over the worst band",
            reproducible: true,
        },
        MetricSpec {
            name: "regret",
            doc: "best − chosen band accuracy",
            reproducible: true,
        },
        MetricSpec {
            name: "chosen_rank",
            doc: "rank of the chosen band by accuracy (1 = best)",
            reproducible: true,
        },
        MetricSpec {
            name: "start_offset",
            doc: "|chosen start − best start|",
            reproducible: true,
        },
    ];
    const CURVES: &'static [MetricSpec] = &[
        MetricSpec {
            name: "distance",
            doc: "distance between languages per layer",
            reproducible: true,
        },
        MetricSpec {
            name: "task_shifted",
            doc: "shifted task accuracy per layer (non-dominant mean)",
            reproducible: true,
        },
        MetricSpec {
            name: "task_original",
            doc: "original task accuracy per layer (non-dominant mean)",
            reproducible: true,
        },
    ];

    /// Memory: one layer prepared at a time. Measured peaks (resident size minus the idle
    /// binary's 57 MiB) were 4.5 layer arrays at 48,000 × 256 and 4.6 at 12,000 × 1024; the guard
    /// counts 6 and 4 `width²`.
    fn check(&self, p: &BandParams) -> Result<(), String> {
        let sizes = p.setup().check(None)?;
        harness::check_trial_memory(Self::ID, sizes.bytes(6.0, 4.0, 0.0))
    }

    fn run(
        &self,
        p: &BandParams,
        rng: &mut TrialRng,
        _trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError> {
        let setup = p.setup();
        let states = setup.states(rng)?;
        let corpus = states.corpus();
        let d = setup.distances(&states)?;
        let mut shifted = Vec::with_capacity(d.len());
        let mut original = Vec::with_capacity(d.len());
        for i in 0..states.layers() {
            let raw = states.layer(i).map_err(failed)?;
            let prepared = Prepared::new(raw.view(), raw.view(), corpus, setup.shift_space);
            let after = prepared.task_accuracy(prepared.test_rows(1.0).view());
            let before = prepared.task_accuracy(prepared.test_rows(0.0).view());
            shifted.push(mean_over(&after, corpus.others()));
            original.push(mean_over(&before, corpus.others()));
        }
        let w = setup.band_width;
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
