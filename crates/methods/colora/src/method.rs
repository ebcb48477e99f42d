//! `colora.regression`.

use ndarray::Array2;

use harness::legacy::{Fallback, Method, ParamKind, ParamSpec, Params};
use harness::{MethodError, MetricSpec, Outcome, Registry, TrialRng};
use subspace::{principal_angles, Distance};

use crate::federated::{federated, plateau, Federated, Schedule};
use crate::model::{colora, oracle, relative_errors, Block, Fit, ProblemSpec, User};

/// Register the methods of this paper.
pub fn register(registry: &mut Registry) {
    registry.register(harness::legacy::Legacy::boxed(Regression));
}

/// Heterogeneous linear regression with shared and personal low-rank adapters.
pub struct Regression;

const PARAMS: &[ParamSpec] = &[
    ParamSpec { name: "d_in", kind: ParamKind::Int { min: 1, max: 2000 }, default: Fallback::Int(50), doc: "input dimension" },
    ParamSpec { name: "d_out", kind: ParamKind::Int { min: 1, max: 2000 }, default: Fallback::Int(50), doc: "output dimension" },
    ParamSpec { name: "rank", kind: ParamKind::Int { min: 1, max: 200 }, default: Fallback::Int(3), doc: "adapter rank r" },
    ParamSpec { name: "users", kind: ParamKind::Int { min: 1, max: 1000 }, default: Fallback::Int(10), doc: "number of users k" },
    ParamSpec { name: "samples", kind: ParamKind::Int { min: 1, max: 100_000 }, default: Fallback::Int(30), doc: "samples per user nᵢ" },
    ParamSpec { name: "theta_deg", kind: ParamKind::Float { min: 0.0, max: 90.0 }, default: Fallback::Float(0.0), doc: "task dissimilarity: Bᵢ* = orth(cos θ B* + sin θ Pᵢ), likewise Aᵢ*" },
    ParamSpec { name: "clusters", kind: ParamKind::Int { min: 1, max: 100 }, default: Fallback::Int(1), doc: "users come from this many clusters with unrelated subspaces" },
    ParamSpec { name: "noise", kind: ParamKind::Float { min: 0.0, max: 100.0 }, default: Fallback::Float(0.1), doc: "noise σ" },
    ParamSpec { name: "condition", kind: ParamKind::Float { min: 1.0, max: 1e8 }, default: Fallback::Float(1.0), doc: "condition number of the input covariance Σ (1: isotropic x ~ N(0, I))" },
    ParamSpec { name: "estimator", kind: ParamKind::Choice(&["colora", "local", "global", "oracle", "fedavg_lora", "ffa_lora", "fedsa_lora"]), default: Fallback::Str("colora"), doc: "colora (shared B, A + personal Sᵢ), local (each user alone), global (one adapter), oracle (knows B*, A*); federated gradient baselines: fedavg_lora (B, A averaged), ffa_lora (A frozen, B averaged), fedsa_lora (A averaged, B per user)" },
    ParamSpec { name: "grouping", kind: ParamKind::Choice(&["joint", "per_cluster"]), default: Fallback::Str("joint"), doc: "colora over all users at once, or per cluster (knowing the clusters)" },
    ParamSpec { name: "iters", kind: ParamKind::Int { min: 1, max: 10_000 }, default: Fallback::Int(30), doc: "alternating least-squares rounds" },
    ParamSpec { name: "personal", kind: ParamKind::Choice(&Block::NAMES), default: Fallback::Str("full"), doc: "shape of the personal block Sᵢ of colora, local, global and oracle: full r×r, diagonal, or one scalar per user" },
    ParamSpec { name: "truth_block", kind: ParamKind::Choice(&Block::NAMES), default: Fallback::Str("full"), doc: "shape of the ground truth Sᵢ*: full G + 2I (G Gaussian), diagonal with entries 2·exp(Gⱼⱼ/2), or scalar 2·exp(G₁₁/2)·I" },
    ParamSpec { name: "rounds", kind: ParamKind::Int { min: 1, max: 100_000 }, default: Fallback::Int(ROUNDS), doc: "federated: communication rounds" },
    ParamSpec { name: "local_steps", kind: ParamKind::Int { min: 1, max: 10_000 }, default: Fallback::Int(LOCAL_STEPS), doc: "federated: gradient steps per user per round" },
    ParamSpec { name: "lr", kind: ParamKind::Float { min: 0.0, max: 100.0 }, default: Fallback::Float(LR), doc: "federated: step size of the users' gradient steps" },
];

/// Federated defaults; `federated`'s module doc says how they were chosen (the shortest
/// schedule after which every baseline's error and training loss stop moving over
/// specs/colora/federated.yaml's sweep).
const ROUNDS: i64 = 600;
const LOCAL_STEPS: i64 = 5;
const LR: f64 = 0.05;

const METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: "rel_error",
        doc: "mean over users of ‖ΔŴᵢ − ΔWᵢ*‖_F/‖ΔWᵢ*‖_F",
    },
    MetricSpec {
        name: "rel_error_worst",
        doc: "the worst user's relative error",
    },
    MetricSpec {
        name: "subspace_dist",
        doc: "sin θ_max between span B and span B* (mean over groups)",
    },
    MetricSpec {
        name: "test_mse",
        doc: "mean squared error per output on 200 fresh samples per user",
    },
    MetricSpec {
        name: "rate",
        doc: "geometric convergence rate of the error curve (colora, federated)",
    },
    MetricSpec {
        name: "params",
        doc: "trained parameters, all users together",
    },
    MetricSpec {
        name: "plateau",
        doc: "federated: relative decrease of the users' mean training loss over the last fifth of the rounds (≈ 0: converged)",
    },
];

fn spec(p: &Params) -> ProblemSpec {
    ProblemSpec {
        d_in: p.usize("d_in"),
        d_out: p.usize("d_out"),
        rank: p.usize("rank"),
        users: p.usize("users"),
        samples: p.usize("samples"),
        theta: p.float("theta_deg").to_radians(),
        clusters: p.usize("clusters"),
        noise: p.float("noise"),
        condition: p.float("condition"),
        truth_block: Block::from_name(p.str("truth_block")).expect("validated choice"),
    }
}

/// Trained parameters of `estimator` over `users` users in `groups` groups (colora per
/// cluster trains one shared adapter per cluster). Frozen ones (FFA-LoRA's A, the oracle's
/// B*, A*) do not count.
fn parameter_count(estimator: &str, p: &Params, block: Block, groups: usize) -> usize {
    let (d_in, d_out, r, k) = (
        p.usize("d_in"),
        p.usize("d_out"),
        p.usize("rank"),
        p.usize("users"),
    );
    let shared = (d_in + d_out) * r;
    let personal = block.parameters(r);
    match estimator {
        "colora" => groups * shared + k * personal,
        "local" => k * (shared + personal),
        "global" => shared + personal,
        "oracle" => k * personal,
        "fedavg_lora" => shared,
        "ffa_lora" => d_out * r,
        "fedsa_lora" => d_in * r + k * d_out * r,
        other => unreachable!("validated estimator {other}"),
    }
}

/// Geometric rate of `curve` toward its final value: exp of the least-squares slope of
/// log(eₜ − e_final) over the iterations still at least 1% of the initial gap away.
fn convergence_rate(curve: &[f64]) -> f64 {
    let Some(&last) = curve.last() else {
        return f64::NAN;
    };
    let first_gap = curve[0] - last;
    let points: Vec<(f64, f64)> = curve[..curve.len().saturating_sub(1)]
        .iter()
        .enumerate()
        .filter(|(_, e)| **e - last > 0.01 * first_gap && **e > last)
        .map(|(t, e)| (t as f64, (e - last).ln()))
        .collect();
    if points.len() < 2 {
        return 0.0; // converged within one or two rounds
    }
    let n = points.len() as f64;
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxy / sxx).exp()
}

impl Method for Regression {
    fn id(&self) -> &'static str {
        "colora.regression"
    }
    fn summary(&self) -> &'static str {
        "CoLoRA vs local, global and oracle adapters on heterogeneous linear regression"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        METRICS
    }
    fn curves(&self) -> &'static [MetricSpec] {
        &[MetricSpec {
            name: "rel_error",
            doc: "mean relative error after each ALS round",
        }]
    }
    fn check(&self, p: &Params) -> Result<(), String> {
        if p.usize("rank") > p.usize("d_in").min(p.usize("d_out")) {
            return Err("rank must not exceed min(d_in, d_out)".into());
        }
        // Every user's inputs and outputs (with working copies) and the pooled Kronecker system
        // of the shared adapter's step.
        let (d_in, d_out, r) = (p.float("d_in"), p.float("d_out"), p.float("rank"));
        let pooled = d_in * r;
        harness::check_trial_memory(
            "colora",
            8.0 * (3.0 * p.float("users") * p.float("samples") * (d_in + d_out)
                + pooled * pooled
                + p.float("users") * d_in * (d_in + d_out)),
        )
    }
    fn run(&self, p: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        let spec = spec(p);
        let problem = spec
            .draw(rng)
            .map_err(|e| MethodError::Failed(e.to_string()))?;
        let (rank, iters) = (p.usize("rank"), p.usize("iters"));
        let block = Block::from_name(p.str("personal")).expect("validated choice");
        let estimator = p.str("estimator");
        let mut train_loss: Option<Vec<f64>> = None;
        let users = &problem.users;
        // Fit per group; each group's users keep their order in `updates`.
        let groups: Vec<Vec<usize>> = match (p.str("estimator"), p.str("grouping")) {
            ("local", _) => (0..users.len()).map(|i| vec![i]).collect(),
            ("colora", "per_cluster") => (0..spec.clusters)
                .map(|c| {
                    (0..users.len())
                        .filter(|&i| users[i].cluster == c)
                        .collect()
                })
                .filter(|g: &Vec<usize>| !g.is_empty())
                .collect(),
            _ => vec![(0..users.len()).collect()],
        };
        let mut updates = vec![Array2::<f64>::zeros((spec.d_out, spec.d_in)); users.len()];
        let mut curve_sum: Vec<f64> = Vec::new();
        let mut dist_sum = 0.0;
        for group in &groups {
            let members: Vec<User> = group.iter().map(|&i| users[i].clone()).collect();
            let fit: Fit = match estimator {
                "oracle" => oracle(&members, &problem, block),
                "global" => {
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
                "fedavg_lora" | "ffa_lora" | "fedsa_lora" => {
                    let schedule = Schedule {
                        rounds: p.usize("rounds"),
                        local_steps: p.usize("local_steps"),
                        lr: p.float("lr"),
                    };
                    let kind = Federated::from_name(estimator).expect("federated estimator");
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
                _ => colora(&members, rank, iters, block, Some(&members)),
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
            .metric(
                "params",
                parameter_count(estimator, p, block, groups.len()) as f64,
            )
            .metric("rel_error", mean)
            .metric("rel_error_worst", worst)
            .metric("subspace_dist", dist_sum / groups.len() as f64)
            .metric("test_mse", mse / users.len() as f64);
        if let Some(losses) = &train_loss {
            outcome = outcome.metric("plateau", plateau(losses));
        }
        if !curve_sum.is_empty() {
            outcome = outcome.metric("rate", convergence_rate(&curve_sum)).curve(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_of_a_geometric_sequence() {
        let curve: Vec<f64> = (0..30).map(|t| 0.1 + 0.5f64.powi(t)).collect();
        let rate = convergence_rate(&curve);
        assert!((rate - 0.5).abs() < 0.01, "{rate}");
    }
}
