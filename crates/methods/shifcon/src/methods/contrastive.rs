//! `shifcon.contrastive`: a linear alignment of shifted non-dominant states trained with the
//! symmetric InfoNCE of the authors' code.

use ndarray::{Array2, Axis};
use rand::seq::SliceRandom;

use harness::{MethodError, MetricSpec, Outcome, TrialContext, TrialRng, TypedMethod};

use crate::analysis::{mean_over, Prepared};
use crate::contrastive::info_nce;
use crate::setup::{failed, shifcon_params, Shared};

/// `shifcon.contrastive`.
pub struct Contrastive;

shifcon_params! {
    /// The shared parameters, the layer and the training.
    pub struct ContrastiveParams {
        /// layer of the shift; `auto`: the start of the band the metric chooses
        layer: Option<usize> [0, 4095], unset "auto", recorded harness::Value::Int(-1);
        /// gradient steps
        steps: usize [0, 100_000] = 200;
        /// translation pairs per batch (one language per batch)
        batch: usize [2, 100_000] = 64;
        /// step size of gradient descent on W
        lr: f64 [0.0, 1e4] = 1.0;
        /// logit scale (1 in the authors' code)
        scale: f64 [1e-6, 1e4] = 1.0;
        /// steps between evaluations
        eval_every: usize [1, 100_000] = 10;
    }
}

impl TypedMethod for Contrastive {
    type Params = ContrastiveParams;
    const ID: &'static str = "shifcon.contrastive";
    const SUMMARY: &'static str =
        "linear alignment in the band trained with symmetric InfoNCE: loss and task accuracy";
    const METRICS: &'static [MetricSpec] = &[
        MetricSpec {
            name: "layer",
            doc: "layer where the alignment is trained",
            reproducible: true,
        },
        MetricSpec {
            name: "infonce_initial",
            doc: "held-out InfoNCE before training (W = I)",
            reproducible: true,
        },
        MetricSpec {
            name: "infonce_final",
            doc: "held-out InfoNCE after training",
            reproducible: true,
        },
        MetricSpec {
            name: "infonce_drop",
            doc: "infonce_initial − infonce_final",
            reproducible: true,
        },
        MetricSpec {
            name: "task_initial",
            doc: "task accuracy on shifted held-out states, W = I",
            reproducible: true,
        },
        MetricSpec {
            name: "task_final",
            doc: "task accuracy on shifted, aligned held-out states",
            reproducible: true,
        },
        MetricSpec {
            name: "task_gain",
            doc: "task_final − task_initial",
            reproducible: true,
        },
    ];
    const CURVES: &'static [MetricSpec] = &[
        MetricSpec {
            name: "infonce",
            doc: "held-out InfoNCE per step",
            reproducible: true,
        },
        MetricSpec {
            name: "task_accuracy",
            doc: "held-out shifted task accuracy per step",
            reproducible: true,
        },
    ];

    /// Memory: the layer's representations and pairs, and the InfoNCE of all held-out pairs of
    /// one language at once: several `pairs × pairs` logit and softmax matrices. Measured peaks
    /// (resident size minus the idle binary's 57 MiB) fit 4.5 layer arrays + 4.0 `pairs²` at
    /// 48,000 × 256 (4,000 pairs, 914 MiB) and 96,000 × 128 (8,000 pairs, 2,380 MiB); at
    /// 12,000 × 1024, 576 MiB. The guard counts 6 layer arrays, 24 `width²` and 5 `pairs²`.
    fn check(&self, p: &ContrastiveParams) -> Result<(), String> {
        let sizes = p.setup().check(p.layer)?;
        harness::check_trial_memory(Self::ID, sizes.bytes(6.0, 24.0, 5.0))
    }

    fn run(
        &self,
        p: &ContrastiveParams,
        rng: &mut TrialRng,
        _trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError> {
        let setup = p.setup();
        let states = setup.states(rng)?;
        let corpus = states.corpus();
        let layer = setup.shift_layer(p.layer, &states)?;
        let raw = states.layer(layer).map_err(failed)?;
        let prepared = Prepared::new(raw.view(), raw.view(), corpus, setup.shift_space);
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
        let scale = p.scale;
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
        let steps = p.steps;
        let batch = p.batch;
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
            w.scaled_add(-p.lr, &gradient.expect("asked for"));
            if step % p.eval_every == 0 || step == steps {
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
