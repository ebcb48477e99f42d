//! `colora.regression`: CoLoRA against local, global, oracle and federated adapters on
//! heterogeneous linear regression.

use ndarray::Array2;

use harness::{MethodError, MetricSpec, Outcome, TrialContext, TrialRng, TypedMethod};
use subspace::{principal_angles, Distance};

use crate::federated::{federated, plateau, Federated, Schedule};
use crate::model::{
    colora, convergence_rate, oracle, relative_errors, Block, Fit, ProblemSpec, User,
};

/// Heterogeneous linear regression with shared and personal low-rank adapters.
pub struct Regression;

/// Federated defaults; `federated`'s module doc says how they were chosen (the shortest
/// schedule after which every baseline's error and training loss stop moving over
/// specs/colora/federated.yaml's sweep).
const ROUNDS: usize = 600;
const LOCAL_STEPS: usize = 5;
const LR: f64 = 0.05;

harness::choice! {
    /// Who estimates the adapters.
    pub enum Estimator {
        Colora = "colora",
        Local = "local",
        Global = "global",
        Oracle = "oracle",
        FedavgLora = "fedavg_lora",
        FfaLora = "ffa_lora",
        FedsaLora = "fedsa_lora",
    }
}

impl Estimator {
    /// The federated baseline this estimator is, if it is one.
    fn federated(self) -> Option<Federated> {
        match self {
            Estimator::FedavgLora => Some(Federated::FedAvg),
            Estimator::FfaLora => Some(Federated::Ffa),
            Estimator::FedsaLora => Some(Federated::FedSa),
            Estimator::Colora | Estimator::Local | Estimator::Global | Estimator::Oracle => None,
        }
    }
}

harness::choice! {
    /// Whether colora pools all users or trains one shared adapter per (known) cluster.
    pub enum Grouping { Joint = "joint", PerCluster = "per_cluster" }
}

harness::params! {
    /// Parameters of `colora.regression`.
    pub struct RegressionParams {
        /// input dimension
        d_in: usize [1, 2000] = 50;
        /// output dimension
        d_out: usize [1, 2000] = 50;
        /// adapter rank r
        rank: usize [1, 200] = 3;
        /// number of users k
        users: usize [1, 1000] = 10;
        /// samples per user nᵢ
        samples: usize [1, 100_000] = 30;
        /// task dissimilarity: Bᵢ* = orth(cos θ B* + sin θ Pᵢ), likewise Aᵢ*
        theta_deg: f64 [0.0, 90.0] = 0.0;
        /// users come from this many clusters with unrelated subspaces
        clusters: usize [1, 100] = 1;
        /// noise σ
        noise: f64 [0.0, 100.0] = 0.1;
        /// condition number of the input covariance Σ (1: isotropic x ~ N(0, I))
        condition: f64 [1.0, 1e8] = 1.0;
        /// colora (shared B, A + personal Sᵢ), local (each user alone), global (one adapter),
        /// oracle (knows B*, A*); federated gradient baselines: fedavg_lora (B, A averaged),
        /// ffa_lora (A frozen, B averaged), fedsa_lora (A averaged, B per user)
        estimator: Estimator = Estimator::Colora;
        /// colora over all users at once, or per cluster (knowing the clusters)
        grouping: Grouping = Grouping::Joint;
        /// alternating least-squares rounds
        iters: usize [1, 10_000] = 30;
        /// shape of the personal block Sᵢ of colora, local, global and oracle: full r×r,
        /// diagonal, or one scalar per user
        personal: Block = Block::Full;
        /// shape of the ground truth Sᵢ*: full G + 2I (G Gaussian), diagonal with entries
        /// 2·exp(Gⱼⱼ/2), or scalar 2·exp(G₁₁/2)·I
        truth_block: Block = Block::Full;
        /// federated: communication rounds
        rounds: usize [1, 100_000] = ROUNDS;
        /// federated: gradient steps per user per round
        local_steps: usize [1, 10_000] = LOCAL_STEPS;
        /// federated: step size of the users' gradient steps
        lr: f64 [0.0, 100.0] = LR;
    }
}

fn spec(p: &RegressionParams) -> ProblemSpec {
    ProblemSpec {
        d_in: p.d_in,
        d_out: p.d_out,
        rank: p.rank,
        users: p.users,
        samples: p.samples,
        theta: p.theta_deg.to_radians(),
        clusters: p.clusters,
        noise: p.noise,
        condition: p.condition,
        truth_block: p.truth_block,
    }
}

/// Trained parameters of the estimator over `users` users in `groups` groups (colora per
/// cluster trains one shared adapter per cluster). Frozen ones (FFA-LoRA's A, the oracle's
/// B*, A*) do not count.
fn parameter_count(p: &RegressionParams, groups: usize) -> usize {
    let (d_in, d_out, r, k) = (p.d_in, p.d_out, p.rank, p.users);
    let shared = (d_in + d_out) * r;
    let personal = p.personal.parameters(r);
    match p.estimator {
        Estimator::Colora => groups * shared + k * personal,
        Estimator::Local => k * (shared + personal),
        Estimator::Global => shared + personal,
        Estimator::Oracle => k * personal,
        Estimator::FedavgLora => shared,
        Estimator::FfaLora => d_out * r,
        Estimator::FedsaLora => d_in * r + k * d_out * r,
    }
}

impl TypedMethod for Regression {
    type Params = RegressionParams;
    const ID: &'static str = "colora.regression";
    const SUMMARY: &'static str =
        "CoLoRA vs local, global and oracle adapters on heterogeneous linear regression";
    const METRICS: &'static [MetricSpec] = &[
    MetricSpec {
        name: "rel_error",
        doc: "mean over users of ‖ΔŴᵢ − ΔWᵢ*‖_F/‖ΔWᵢ*‖_F", reproducible: true
    },
    MetricSpec {
        name: "rel_error_worst",
        doc: "the worst user's relative error", reproducible: true
    },
    MetricSpec {
        name: "subspace_dist",
        doc: "sin θ_max between span B and span B* (mean over groups)", reproducible: true
    },
    MetricSpec {
        name: "test_mse",
        doc: "mean squared error per output on 200 fresh samples per user", reproducible: true
    },
    MetricSpec {
        name: "rate",
        doc: "geometric convergence rate of the error curve (colora, federated); no value where none is defined (a flat or rising curve, or one within 1% of its end after one iteration)",
        reproducible: true,
    },
    MetricSpec {
        name: "params",
        doc: "trained parameters, all users together", reproducible: true
    },
    MetricSpec {
        name: "plateau",
        doc: "federated: relative decrease of the users' mean training loss over the last fifth of the rounds (≈ 0: converged)", reproducible: true
    },
];
    const CURVES: &'static [MetricSpec] = &[MetricSpec {
        name: "rel_error",
        doc: "mean relative error after each ALS round",
        reproducible: true,
    }];

    fn check(&self, p: &RegressionParams) -> Result<(), String> {
        if p.rank > p.d_in.min(p.d_out) {
            return Err("rank must not exceed min(d_in, d_out)".into());
        }
        // The pooled Kronecker system of the A-step and LAPACK's copy of it while it is solved
        // (2 P², P = r·d_in: the peak); every user's inputs and outputs with working copies; per
        // user d_out × d_in matrices: truth, its copy in the group, the estimate, the fit's copy
        // and the test-time product (5); two d_in × d_in Gram matrices at a time. An upper bound
        // of one-trial peaks measured with /usr/bin/time -v (RSS minus the idle binary, 58 MiB):
        // d_in 1000, rank 7: 773 MiB measured, 830 estimated (the old estimate said 483);
        // d_in 800, rank 10: 979 vs 1058; d_in = d_out = 1000, rank 7, 20 users × 200 samples:
        // 1377 vs 1856.
        let (d_in, d_out, r) = (p.d_in as f64, p.d_out as f64, p.rank as f64);
        let (users, samples) = (p.users as f64, p.samples as f64);
        let pooled = d_in * r;
        harness::check_trial_memory(
            "colora",
            8.0 * (2.0 * pooled * pooled
                + 4.0 * users * samples * (d_in + d_out)
                + 5.0 * users * d_in * d_out
                + 2.0 * d_in * d_in),
        )
    }

    fn run(
        &self,
        p: &RegressionParams,
        rng: &mut TrialRng,
        _trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError> {
        let spec = spec(p);
        let problem = spec
            .draw(rng)
            .map_err(|e| MethodError::Failed(e.to_string()))?;
        let (rank, iters) = (p.rank, p.iters);
        let block = p.personal;
        let mut train_loss: Option<Vec<f64>> = None;
        let users = &problem.users;
        // Fit per group; each group's users keep their order in `updates`.
        let groups: Vec<Vec<usize>> = match (p.estimator, p.grouping) {
            (Estimator::Local, _) => (0..users.len()).map(|i| vec![i]).collect(),
            (Estimator::Colora, Grouping::PerCluster) => (0..spec.clusters)
                .map(|c| {
                    (0..users.len())
                        .filter(|&i| users[i].cluster == c)
                        .collect()
                })
                .filter(|g: &Vec<usize>| !g.is_empty())
                .collect(),
            (Estimator::Colora, Grouping::Joint)
            | (
                Estimator::Global
                | Estimator::Oracle
                | Estimator::FedavgLora
                | Estimator::FfaLora
                | Estimator::FedsaLora,
                _,
            ) => vec![(0..users.len()).collect()],
        };
        let mut updates = vec![Array2::<f64>::zeros((spec.d_out, spec.d_in)); users.len()];
        let mut curve_sum: Vec<f64> = Vec::new();
        let mut dist_sum = 0.0;
        for group in &groups {
            let members: Vec<User> = group.iter().map(|&i| users[i].clone()).collect();
            let fit: Fit = match p.estimator {
                Estimator::Oracle => oracle(&members, &problem, block),
                Estimator::Global => {
                    // One adapter for everyone: stack all data as a single task.
                    let stacked = User {
                        x: ndarray::concatenate(
                            ndarray::Axis(0),
                            &members.iter().map(|u| u.x.view()).collect::<Vec<_>>(),
                        )
                        .expect("same width"),
                        y: ndarray::concatenate(
                            ndarray::Axis(0),
                            &members.iter().map(|u| u.y.view()).collect::<Vec<_>>(),
                        )
                        .expect("same width"),
                        truth: members[0].truth.clone(),
                        cluster: 0,
                    };
                    let single = colora(std::slice::from_ref(&stacked), rank, iters, block, None);
                    Fit {
                        updates: vec![single.updates[0].clone(); members.len()],
                        b: single.b,
                        curve: Vec::new(),
                    }
                }
                Estimator::FedavgLora | Estimator::FfaLora | Estimator::FedsaLora => {
                    let schedule = Schedule {
                        rounds: p.rounds,
                        local_steps: p.local_steps,
                        lr: p.lr,
                    };
                    let Some(kind) = p.estimator.federated() else {
                        unreachable!("the arm of the federated estimators")
                    };
                    let out = federated(&members, rank, kind, schedule, Some(&members), rng)
                        .map_err(|d| {
                            MethodError::Diverged(format!(
                                "training loss {} after round {} (lower `lr`)",
                                d.loss,
                                d.round + 1
                            ))
                        })?;
                    train_loss = Some(out.train_loss);
                    out.fit
                }
                Estimator::Colora | Estimator::Local => {
                    colora(&members, rank, iters, block, Some(&members))
                }
            };
            for (k, &i) in group.iter().enumerate() {
                updates[i] = fit.updates[k].clone();
            }
            if curve_sum.is_empty() {
                curve_sum = vec![0.0; fit.curve.len()];
            }
            for (t, e) in fit.curve.iter().enumerate() {
                curve_sum[t] += e * group.len() as f64 / users.len() as f64;
            }
            dist_sum += match &fit.b {
                Some(b) => {
                    let cluster = members[0].cluster;
                    let angles =
                        principal_angles(b.view(), problem.shared_b[cluster].view(), false)
                            .map_err(|e| MethodError::Failed(e.to_string()))?
                            .angles;
                    Distance::Projection.from_angles(angles.as_slice().expect("contiguous"))
                }
                None => 0.0,
            };
        }
        let (mean, worst) = relative_errors(users, &updates);
        let mut mse = 0.0;
        for (u, w) in users.iter().zip(&updates) {
            let (x, y) = spec.sample(&u.truth, 200, problem.sqrt_sigma.as_ref(), rng);
            let residual = &y - &x.dot(&w.t());
            mse += residual.iter().map(|v| v * v).sum::<f64>() / (200 * spec.d_out) as f64;
        }
        let mut outcome = Outcome::new()
            .metric("params", parameter_count(p, groups.len()) as f64)
            .metric("rel_error", mean)
            .metric("rel_error_worst", worst)
            .metric("subspace_dist", dist_sum / groups.len() as f64)
            .metric("test_mse", mse / users.len() as f64);
        if let Some(losses) = &train_loss {
            outcome = outcome.metric("plateau", plateau(losses));
        }
        if let Some(rate) = convergence_rate(&curve_sum) {
            outcome = outcome.metric("rate", rate);
        }
        if !curve_sum.is_empty() {
            outcome = outcome.curve(
                "rel_error",
                curve_sum
                    .iter()
                    .enumerate()
                    .map(|(t, e)| (t as u32 + 1, *e))
                    .collect(),
            );
        }
        Ok(outcome)
    }
}
