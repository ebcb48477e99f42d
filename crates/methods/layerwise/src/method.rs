//! `layerwise.linrep`.

use ndarray::Array2;
use rand::Rng;
use rand_distr::StandardNormal;

use harness::legacy::{Fallback, Method, ParamKind, ParamSpec, Params};
use harness::{MethodError, MetricSpec, Outcome, Registry, TrialRng};
use subspace::haar_orthonormal;

use crate::linrep::{fit_head, loss, train, Inputs, Optimizer, Task, Training};

/// Register the methods of this paper.
pub fn register(registry: &mut Registry) {
    registry.register(harness::legacy::Legacy::boxed(LinRep));
    registry.register(harness::legacy::Legacy::boxed(SingleIndex));
}

/// Linear representation learning under anisotropic inputs.
pub struct LinRep;

const PARAMS: &[ParamSpec] = &[
    ParamSpec { name: "d_x", kind: ParamKind::Int { min: 2, max: 2000 }, default: Fallback::Int(50), doc: "input dimension" },
    ParamSpec { name: "d_y", kind: ParamKind::Int { min: 1, max: 2000 }, default: Fallback::Int(10), doc: "output dimension" },
    ParamSpec { name: "k", kind: ParamKind::Int { min: 1, max: 500 }, default: Fallback::Int(4), doc: "representation dimension" },
    ParamSpec { name: "kappa", kind: ParamKind::Float { min: 1.0, max: 1e8 }, default: Fallback::Float(1.0), doc: "condition number of Σ_x (eigenvalues log-spaced in [1, κ])" },
    ParamSpec { name: "batch", kind: ParamKind::Int { min: 1, max: 1_000_000 }, default: Fallback::Int(512), doc: "fresh samples per step" },
    ParamSpec { name: "iters", kind: ParamKind::Int { min: 1, max: 100_000 }, default: Fallback::Int(300), doc: "training iterations (a fresh batch each)" },
    ParamSpec { name: "noise", kind: ParamKind::Float { min: 0.0, max: 100.0 }, default: Fallback::Float(0.1), doc: "label noise σ" },
    ParamSpec { name: "optimizer", kind: ParamKind::Choice(&["sgd", "adam", "batchnorm", "amd", "dfw", "kfac", "ngd"]), default: Fallback::Str("kfac"), doc: "sgd, adam, batchnorm (input standardisation + SGD), amd (least-squares head + gradient step + orthonormalise), dfw (Σ̂-whitened gradient), kfac (stylised layer-wise preconditioning), ngd (damped full Gauss–Newton)" },
    ParamSpec { name: "lr", kind: ParamKind::Float { min: 0.0, max: 100.0 }, default: Fallback::Float(0.5), doc: "SGD, batch-norm and AMD step, in units of 1/λ_max of the (standardised) input covariance" },
    ParamSpec { name: "kfac_lr", kind: ParamKind::Float { min: 0.0, max: 2.0 }, default: Fallback::Float(1.0), doc: "step η of KFAC, DFW and NGD" },
    ParamSpec { name: "adam_lr", kind: ParamKind::Float { min: 0.0, max: 10.0 }, default: Fallback::Float(0.01), doc: "Adam learning rate" },
    ParamSpec { name: "damping", kind: ParamKind::Float { min: 0.0, max: 10.0 }, default: Fallback::Float(1e-3), doc: "damping λ of KFAC, DFW and NGD, relative to the preconditioner's mean eigenvalue" },
];

const METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: "distance",
        doc: "final ‖(I − G*ᵀG*)Q‖₂ (Q: orthonormal basis of row-span G)",
    },
    MetricSpec {
        name: "train_loss",
        doc: "final training loss on the last batch",
    },
    MetricSpec {
        name: "transfer_loss",
        doc: "loss on a transfer task (new head, new Σ) after refitting the head with G frozen",
    },
    MetricSpec {
        name: "steps_to_0_1",
        doc: "first iteration with distance ≤ 0.1 (iters + 1 if never, so means and orderings stay defined)",
    },
    MetricSpec {
        name: "steps_to",
        doc: "first iteration with distance ≤ 0.1; absent if never (steps_to_0_1 is the censored version for averaging)",
    },
];

impl Method for LinRep {
    fn id(&self) -> &'static str {
        "layerwise.linrep"
    }
    fn summary(&self) -> &'static str {
        "two-layer linear representation learning under anisotropic inputs: SGD, Adam, batch-norm, AMD, DFW, KFAC, Gauss–Newton"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        METRICS
    }
    fn curves(&self) -> &'static [MetricSpec] {
        &[
            MetricSpec {
                name: "distance",
                doc: "subspace distance per step",
            },
            MetricSpec {
                name: "train_loss",
                doc: "training loss per step",
            },
            MetricSpec {
                name: "transfer_loss",
                doc: "transfer loss per step (head refitted on a fixed transfer batch, G frozen)",
            },
        ]
    }
    fn check(&self, p: &Params) -> Result<(), String> {
        if p.usize("k") > p.usize("d_x").min(p.usize("d_y")) {
            return Err("k must not exceed min(d_x, d_y)".into());
        }
        // A batch of inputs and outputs, and the Gauss–Newton matrix over both layers.
        let (d_x, d_y, k) = (p.float("d_x"), p.float("d_y"), p.float("k"));
        let params = k * (d_x + d_y);
        harness::check_trial_memory(
            "layerwise.linrep",
            8.0 * (4.0 * p.float("batch") * (d_x + d_y) + params * params + 4.0 * d_x * d_x),
        )
    }
    fn run(&self, p: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        let failed = |e: subspace::SubspaceError| MethodError::Failed(e.to_string());
        let (d_x, d_y, k) = (p.usize("d_x"), p.usize("d_y"), p.usize("k"));
        let kappa = p.float("kappa");
        let g_star = haar_orthonormal(d_x, k, rng)
            .map_err(failed)?
            .t()
            .to_owned();
        let head = |rng: &mut TrialRng| {
            Array2::from_shape_simple_fn((d_y, k), || {
                rng.sample::<f64, _>(StandardNormal) / (k as f64).sqrt()
            })
        };
        let task = Task {
            head: head(rng),
            inputs: Inputs::new(d_x, kappa, rng).map_err(failed)?,
        };
        let optimizer = match p.str("optimizer") {
            "sgd" => Optimizer::Sgd,
            "adam" => Optimizer::Adam,
            "batchnorm" => Optimizer::BatchNorm,
            "amd" => Optimizer::Amd,
            "dfw" => Optimizer::Dfw,
            "ngd" => Optimizer::Ngd,
            _ => Optimizer::Kfac,
        };
        let settings = Training {
            optimizer,
            steps: p.usize("iters"),
            batch: p.usize("batch"),
            lr: if matches!(optimizer, Optimizer::Kfac | Optimizer::Dfw | Optimizer::Ngd) {
                p.float("kfac_lr")
            } else {
                p.float("lr")
            },
            adam_lr: p.float("adam_lr"),
            damping: p.float("damping"),
            noise: p.float("noise"),
        };
        // Transfer: a new head and a new covariance on the same representation. After every
        // step the head is refitted on one fixed transfer batch (G frozen) and scored on another.
        let transfer = Task {
            head: head(rng),
            inputs: Inputs::new(d_x, kappa, rng).map_err(failed)?,
        };
        let (x_fit, y_fit) = transfer.batch(&g_star, settings.batch, settings.noise, rng);
        let (x_eval, y_eval) = transfer.batch(&g_star, settings.batch, settings.noise, rng);
        let score = |g: &Array2<f64>| loss(&fit_head(g, &x_fit, &y_fit), g, &x_eval, &y_eval);
        let trajectory = train(&task, &g_star, &settings, Some(&score), rng).map_err(failed)?;
        let final_distance = *trajectory.distance.last().unwrap_or(&f64::NAN);
        if !final_distance.is_finite() {
            return Err(MethodError::Diverged(format!(
                "the iterates blew up after {} steps",
                trajectory.distance.len()
            )));
        }
        let reached = trajectory.distance.iter().position(|&d| d <= 0.1);
        let steps_to = reached.map_or(settings.steps + 1, |t| t + 1);
        let curve = |v: &[f64]| {
            v.iter()
                .enumerate()
                .map(|(t, x)| (t as u32 + 1, *x))
                .collect::<Vec<_>>()
        };
        let mut outcome = Outcome::new();
        if let Some(t) = reached {
            outcome = outcome.metric("steps_to", (t + 1) as f64);
        }
        Ok(outcome
            .metric("distance", final_distance)
            .metric(
                "train_loss",
                *trajectory.train_loss.last().unwrap_or(&f64::NAN),
            )
            .metric(
                "transfer_loss",
                *trajectory.transfer_loss.last().unwrap_or(&f64::NAN),
            )
            .metric("steps_to_0_1", steps_to as f64)
            .curve("distance", curve(&trajectory.distance))
            .curve("train_loss", curve(&trajectory.train_loss))
            .curve("transfer_loss", curve(&trajectory.transfer_loss)))
    }
}

/// The first large step of single-index learning: which direction is learned, and what it is
/// worth once the second layer is fitted.
pub struct SingleIndex;

const SINGLE_INDEX_PARAMS: &[ParamSpec] = &[
    ParamSpec { name: "d", kind: ParamKind::Int { min: 2, max: 5000 }, default: Fallback::Int(200), doc: "input dimension" },
    ParamSpec { name: "ratio", kind: ParamKind::Float { min: 0.1, max: 1000.0 }, default: Fallback::Float(2.0), doc: "samples per dimension n/d (for the step, and again for the ridge fit)" },
    ParamSpec { name: "kappa", kind: ParamKind::Float { min: 1.0, max: 1e8 }, default: Fallback::Float(100.0), doc: "condition number of Σ: eigenvalues log-spaced in [1/√κ, √κ]" },
    ParamSpec { name: "link", kind: ParamKind::Choice(&["tanh", "relu", "he2"]), default: Fallback::Str("tanh"), doc: "target link σ*: tanh, relu, he2 (z² − 1, information exponent 2)" },
    ParamSpec { name: "noise", kind: ParamKind::Float { min: 0.0, max: 100.0 }, default: Fallback::Float(0.1), doc: "label noise σ" },
    ParamSpec { name: "optimizer", kind: ParamKind::Choice(&["sgd", "kfac", "kfac_population", "adam", "batchnorm"]), default: Fallback::Str("sgd"), doc: "sgd (Xᵀy/n), kfac (Σ̂⁻¹Xᵀy/n), kfac_population (Σ⁻¹Xᵀy/n), adam (sign step), batchnorm (D̂⁻²Xᵀy/n)" },
    ParamSpec { name: "width", kind: ParamKind::Int { min: 0, max: 100_000 }, default: Fallback::Int(400), doc: "hidden units of the network whose test error is measured (0: skip the test error)" },
    ParamSpec { name: "spike", kind: ParamKind::Float { min: 0.0, max: 1e6 }, default: Fallback::Float(2.0), doc: "size of the first step's rank-one spike, in units of the learned feature's standard deviation" },
    ParamSpec { name: "ridge", kind: ParamKind::Float { min: 0.0, max: 1e6 }, default: Fallback::Float(1e-3), doc: "ridge penalty of the second-layer fit" },
];

impl Method for SingleIndex {
    fn id(&self) -> &'static str {
        "layerwise.single_index"
    }
    fn summary(&self) -> &'static str {
        "one large first-layer step: alignment cos²(v, β*) against closed forms, and test error after ridge"
    }
    fn params(&self) -> &'static [ParamSpec] {
        SINGLE_INDEX_PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        &[
            MetricSpec { name: "alignment", doc: "simulated cos²(v, β*)" },
            MetricSpec { name: "theory", doc: "the closed-form prediction for sgd and kfac [derived]" },
            MetricSpec { name: "gap", doc: "alignment − theory" },
            MetricSpec { name: "ceiling_margin", doc: "SGD's limiting alignment (n → ∞) minus the simulated one" },
            MetricSpec { name: "test_error", doc: "test MSE / Var(y) of the network after the step and a ridge fit of its second layer" },
        ]
    }
    fn check(&self, p: &Params) -> Result<(), String> {
        if p.str("optimizer") == "kfac"
            && p.float("ratio") * (p.usize("d") as f64) <= p.usize("d") as f64 + 1.0
        {
            return Err("kfac with the sample covariance needs n > d + 1 (ratio > 1)".into());
        }
        // Samples for the step, the ridge fit and the test set, their features, and Σ.
        let d = p.float("d");
        let n = p.float("ratio") * d;
        let width = p.float("width");
        harness::check_trial_memory(
            "layerwise.single_index",
            8.0 * (3.0 * n * d + 4000.0 * d + (n + 4000.0) * width + width * width + 4.0 * d * d),
        )
    }
    fn run(&self, p: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        use crate::single_index::{
            alignment, learned_direction, predicted_alignment, sample, sgd_ceiling, test_error,
            Design, Link, Network, Step,
        };
        let d = p.usize("d");
        let n = (p.float("ratio") * d as f64).round() as usize;
        let root = p.float("kappa").sqrt();
        let design = Design::new(d, 1.0 / root, root, rng)
            .map_err(|e| MethodError::Failed(e.to_string()))?;
        let step = match p.str("optimizer") {
            "kfac" => Step::Kfac,
            "kfac_population" => Step::KfacPopulation,
            "adam" => Step::AdamSign,
            "batchnorm" => Step::BatchNorm,
            _ => Step::Sgd,
        };
        let link = match p.str("link") {
            "relu" => Link::Relu,
            "he2" => Link::He2,
            _ => Link::Tanh,
        };
        let noise = p.float("noise");
        let (x, y) = sample(&design, n, noise, link, rng);
        let v = learned_direction(&design, &x, &y, step);
        let aligned = alignment(&design, &v);
        let net = Network {
            width: p.usize("width"),
            spike: p.float("spike"),
            ridge: p.float("ridge"),
        };
        let mut outcome = Outcome::new().metric("alignment", aligned);
        if net.width > 0 {
            let error = test_error(&design, &v, n, noise, link, &net, rng);
            outcome = outcome.metric("test_error", error);
        }
        let (sgd, kfac) = predicted_alignment(&design, n, noise, link);
        let theory = match step {
            Step::Sgd => Some(sgd),
            Step::Kfac => Some(kfac),
            _ => None,
        };
        if let Some(t) = theory {
            outcome = outcome.metric("theory", t).metric("gap", aligned - t);
        }
        if step == Step::Sgd {
            outcome = outcome.metric("ceiling_margin", sgd_ceiling(&design) - aligned);
        }
        Ok(outcome)
    }
}
