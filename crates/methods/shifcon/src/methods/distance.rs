//! `shifcon.distance`: distance between languages at every layer and the band it selects.

use harness::{MethodError, MetricSpec, Outcome, TrialContext, TrialRng, TypedMethod};

use crate::analysis::per_layer;
use crate::distance::choose_band;
use crate::setup::{shifcon_params, Shared};

/// `shifcon.distance`.
pub struct Distance;

shifcon_params! {
    /// Only the shared parameters.
    pub struct DistanceParams {}
}

impl TypedMethod for Distance {
    type Params = DistanceParams;
    const ID: &'static str = "shifcon.distance";
    const SUMMARY: &'static str =
        "distance between languages at every layer; the band of lowest mean distance";
    const METRICS: &'static [MetricSpec] = &[
        MetricSpec {
            name: "band_start",
            doc: "first layer of the chosen band",
            reproducible: true,
        },
        MetricSpec {
            name: "band_end",
            doc: "last layer of the chosen band",
            reproducible: true,
        },
        MetricSpec {
            name: "min_layer",
            doc: "layer of the smallest distance",
            reproducible: true,
        },
        MetricSpec {
            name: "contrast",
            doc: "smallest / largest distance over layers",
            reproducible: true,
        },
        MetricSpec {
            name: "distance_min",
            doc: "smallest distance over layers",
            reproducible: true,
        },
        MetricSpec {
            name: "distance_max",
            doc: "largest distance over layers",
            reproducible: true,
        },
        MetricSpec {
            name: "planted_in_band",
            doc: "synthetic: 1 if the planted layer lies in the chosen band, else 0",
            reproducible: true,
        },
        MetricSpec {
            name: "planted_offset",
            doc: "synthetic: |centre of the chosen band − planted layer|",
            reproducible: true,
        },
    ];
    const CURVES: &'static [MetricSpec] = &[MetricSpec {
        name: "distance",
        doc: "distance between languages per layer",
        reproducible: true,
    }];

    /// Memory: one layer at a time and its per-language copies. Measured peaks (resident
    /// size minus the idle binary's 57 MiB; 6 languages, 2 layers) were 2.8 layer arrays at
    /// 48,000 × 256 and 3.2 at 12,000 × 1024 (with `mixing`); the guard counts 4 and 4 `width²`.
    fn check(&self, p: &DistanceParams) -> Result<(), String> {
        let sizes = p.setup().check(None)?;
        harness::check_trial_memory(Self::ID, sizes.bytes(4.0, 4.0, 0.0))
    }

    fn run(
        &self,
        p: &DistanceParams,
        rng: &mut TrialRng,
        _trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError> {
        let setup = p.setup();
        let states = setup.states(rng)?;
        let d = setup.distances(&states)?;
        let w = setup.band_width;
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

#[cfg(test)]
mod tests {
    use super::*;
    use harness::{ParamStruct, Params, Value};

    use crate::source::Generator;
    use crate::states::Language;

    #[test]
    fn parameter_defaults_are_the_generator_defaults() {
        let checked = Params::validate(
            DistanceParams::specs(),
            std::iter::empty(),
            Distance::ID,
            |_| unreachable!("no file"),
        )
        .unwrap();
        let setup = DistanceParams::from_params(&checked).setup();
        assert_eq!(setup.generator, Generator::default());
        assert_eq!(setup.dominant, Language::En);
        // Unset files keep the identity they had as empty-string sentinels.
        assert_eq!(checked.recorded()["states"], Value::Str(String::new()));
        assert_eq!(checked.recorded()["labels"], Value::Str(String::new()));
        assert!(setup.states.is_none() && setup.labels.is_none());
    }
}
