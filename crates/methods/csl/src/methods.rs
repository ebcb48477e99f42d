//! The `csl.*` methods.

use std::time::Instant;

use ndarray::Array2;
use rand::Rng;
use rand_distr::StandardNormal;

use harness::legacy::{Fallback, Method, ParamKind, ParamSpec, Params};
use harness::{MethodError, MetricSpec, Outcome, Registry, TrialRng};
use subspace::{
    haar_orthonormal, orthonormal_basis, principal_angles, subspace_pair_with_angles, Distance,
    Projection, RankPolicy,
};

use crate::clustering::{
    matched_accuracy, spectral_clustering, ssc_affinity, ssc_omp_affinity, tsc_affinity,
};

/// Register the methods of this paper.
pub fn register(registry: &mut Registry) {
    registry.register(harness::legacy::Legacy::boxed(Angles));
    registry.register(harness::legacy::Legacy::boxed(Cluster));
    registry.register(harness::legacy::Legacy::boxed(Detect));
    registry.register(harness::legacy::Legacy::boxed(crate::visualize::Visualize));
    registry.register(harness::legacy::Legacy::boxed(crate::visualize::Digits));
}

const PROJECTIONS: &[&str] = &["gaussian", "rademacher", "achlioptas", "sparse", "srht"];

pub(crate) fn projection(p: &Params) -> Projection {
    match p.str("projection") {
        "rademacher" => Projection::Rademacher,
        "achlioptas" => Projection::Achlioptas,
        "sparse" => Projection::VerySparse,
        "srht" => Projection::Srht,
        _ => Projection::Gaussian,
    }
}

pub(crate) fn failed(e: subspace::SubspaceError) -> MethodError {
    MethodError::Failed(e.to_string())
}

pub(crate) const PROJECTION_PARAM: ParamSpec = ParamSpec {
    name: "projection",
    kind: ParamKind::Choice(PROJECTIONS),
    default: Fallback::Str("gaussian"),
    doc: "JL family: gaussian, rademacher, achlioptas, sparse (very sparse, s = √N), srht",
};

// ---------------------------------------------------------------------------------------------
/// `csl.angles`: a pair of subspaces with prescribed principal angles, projected by Φ.
pub struct Angles;

const ANGLES_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "ambient",
        kind: ParamKind::Int {
            min: 2,
            max: 100_000,
        },
        default: Fallback::Int(1024),
        doc: "ambient dimension N",
    },
    ParamSpec {
        name: "dims",
        kind: ParamKind::FloatList {
            min: 1.0,
            max: 10_000.0,
        },
        default: Fallback::List(&[5.0]),
        doc: "[d] or [d1, d2]: subspace dimensions",
    },
    ParamSpec {
        name: "angles_deg",
        kind: ParamKind::FloatList {
            min: 0.0,
            max: 90.0,
        },
        default: Fallback::List(&[10.0, 28.75, 47.5, 66.25, 85.0]),
        doc: "the min(d1, d2) principal angles in degrees",
    },
    ParamSpec {
        name: "compressed",
        kind: ParamKind::Int {
            min: 1,
            max: 100_000,
        },
        default: Fallback::Int(80),
        doc: "compressed dimension n",
    },
    PROJECTION_PARAM,
];

const ANGLES_METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: "max_cos2_err",
        doc: "max_i |cos²θ'_i − cos²θ_i|",
    },
    MetricSpec {
        name: "mean_cos2_err",
        doc: "mean_i |cos²θ'_i − cos²θ_i|",
    },
    MetricSpec {
        name: "affinity",
        doc: "‖U₁ᵀU₂‖_F = √Σcos²θ before compression",
    },
    MetricSpec {
        name: "affinity_compressed",
        doc: "the same after compression",
    },
    MetricSpec {
        name: "affinity_sq_bias",
        doc: "aff'² − aff²",
    },
    MetricSpec {
        name: "bias_theory",
        doc: "((Σaᵢ)² + Σaᵢ² − Σaᵢ)/n with aᵢ = sin²θᵢ [derived]; d1·d2/n for orthogonal subspaces",
    },
    MetricSpec {
        name: "bias_ratio",
        doc: "affinity_sq_bias / bias_theory",
    },
    MetricSpec {
        name: "distance",
        doc: "projection F-distance ‖sin θ‖₂ before",
    },
    MetricSpec {
        name: "distance_compressed",
        doc: "the same after",
    },
];

fn dims(p: &Params) -> (usize, usize) {
    let d = p.list("dims");
    (d[0] as usize, *d.get(1).unwrap_or(&d[0]) as usize)
}

impl Method for Angles {
    fn id(&self) -> &'static str {
        "csl.angles"
    }
    fn summary(&self) -> &'static str {
        "principal angles of two subspaces before and after a random projection"
    }
    fn params(&self) -> &'static [ParamSpec] {
        ANGLES_PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        ANGLES_METRICS
    }
    fn check(&self, p: &Params) -> Result<(), String> {
        let d = p.list("dims");
        if d.len() > 2 || d.iter().any(|x| x.fract() != 0.0) {
            return Err("dims is [d] or [d1, d2] with integers".into());
        }
        let (d1, d2) = dims(p);
        if p.list("angles_deg").len() != d1.min(d2) {
            return Err(format!(
                "angles_deg needs min(d1, d2) = {} angles",
                d1.min(d2)
            ));
        }
        if d1 + d2 > p.usize("ambient") {
            return Err(format!(
                "d1 + d2 = {} exceeds the ambient dimension {}",
                d1 + d2,
                p.usize("ambient")
            ));
        }
        if p.usize("compressed") < d1.max(d2) {
            return Err("the compressed dimension must be at least max(d1, d2)".into());
        }
        // The projection and the projected bases.
        let (big_n, n) = (p.float("ambient"), p.float("compressed"));
        harness::check_trial_memory(
            "csl.angles",
            8.0 * (n * big_n + 3.0 * big_n * (d1 + d2) as f64),
        )?;
        Ok(())
    }
    fn run(&self, p: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        let (d1, d2) = dims(p);
        let (big_n, n) = (p.usize("ambient"), p.usize("compressed"));
        let mut truth: Vec<f64> = p
            .list("angles_deg")
            .iter()
            .map(|d| d.to_radians())
            .collect();
        let pair = subspace_pair_with_angles(big_n, d1, d2, &truth, rng).map_err(failed)?;
        let phi = projection(p).matrix(n, big_n, rng).map_err(failed)?;
        let compressed = principal_angles(phi.dot(&pair.a).view(), phi.dot(&pair.b).view(), false)
            .map_err(failed)?
            .angles;
        truth.sort_by(f64::total_cmp);
        let errors: Vec<f64> = truth
            .iter()
            .zip(compressed.iter())
            .map(|(t, c)| (c.cos().powi(2) - t.cos().powi(2)).abs())
            .collect();
        let aff = |angles: &[f64]| angles.iter().map(|t| t.cos().powi(2)).sum::<f64>().sqrt();
        let compressed = compressed.to_vec();
        let a: Vec<f64> = truth.iter().map(|t| t.sin().powi(2)).collect();
        let (sum_a, sum_a2) = (a.iter().sum::<f64>(), a.iter().map(|x| x * x).sum::<f64>());
        let bias_theory = (sum_a * sum_a + sum_a2 - sum_a) / n as f64;
        Ok(Outcome::new()
            .metric("max_cos2_err", errors.iter().copied().fold(0.0, f64::max))
            .metric(
                "mean_cos2_err",
                errors.iter().sum::<f64>() / errors.len() as f64,
            )
            .metric("affinity", aff(&truth))
            .metric("affinity_compressed", aff(&compressed))
            .metric(
                "affinity_sq_bias",
                aff(&compressed).powi(2) - aff(&truth).powi(2),
            )
            .metric("bias_theory", bias_theory)
            .metric(
                "bias_ratio",
                (aff(&compressed).powi(2) - aff(&truth).powi(2)) / bias_theory,
            )
            .metric("distance", Distance::Chordal.from_angles(&truth))
            .metric(
                "distance_compressed",
                Distance::Chordal.from_angles(&compressed),
            ))
    }
}

// ---------------------------------------------------------------------------------------------
/// `csl.cluster`: a union of subspaces, compressed, clustered.
pub struct Cluster;

const CLUSTER_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "ambient",
        kind: ParamKind::Int {
            min: 2,
            max: 100_000,
        },
        default: Fallback::Int(500),
        doc: "ambient dimension N",
    },
    ParamSpec {
        name: "dim",
        kind: ParamKind::Int { min: 1, max: 1000 },
        default: Fallback::Int(6),
        doc: "dimension d of every subspace",
    },
    ParamSpec {
        name: "subspaces",
        kind: ParamKind::Int { min: 2, max: 50 },
        default: Fallback::Int(4),
        doc: "number of subspaces L",
    },
    ParamSpec {
        name: "points",
        kind: ParamKind::Int { min: 2, max: 2000 },
        default: Fallback::Int(30),
        doc: "points per subspace",
    },
    ParamSpec {
        name: "correlation",
        kind: ParamKind::Float {
            min: 0.0,
            max: 0.99,
        },
        default: Fallback::Float(0.0),
        doc: "weight of a component shared by all subspaces (0: independent random subspaces)",
    },
    ParamSpec {
        name: "noise",
        kind: ParamKind::Float {
            min: 0.0,
            max: 10.0,
        },
        default: Fallback::Float(0.0),
        doc: "noise norm relative to the unit-norm points",
    },
    ParamSpec {
        name: "compressed",
        kind: ParamKind::Int {
            min: 1,
            max: 100_000,
        },
        default: Fallback::Int(50),
        doc: "compressed dimension n",
    },
    PROJECTION_PARAM,
    ParamSpec {
        name: "algorithm",
        kind: ParamKind::Choice(&["ssc", "ssc_omp", "tsc"]),
        default: Fallback::Str("ssc"),
        doc: "affinity: ssc (Lasso), ssc_omp, tsc",
    },
    ParamSpec {
        name: "ssc_alpha",
        kind: ParamKind::Float { min: 1.0, max: 1e4 },
        default: Fallback::Float(20.0),
        doc: "SSC λ = α/μ",
    },
    ParamSpec {
        name: "omp_atoms",
        kind: ParamKind::Int { min: 0, max: 1000 },
        default: Fallback::Int(0),
        doc: "SSC-OMP atoms per point (0: the subspace dimension)",
    },
    ParamSpec {
        name: "tsc_q",
        kind: ParamKind::Int { min: 0, max: 1000 },
        default: Fallback::Int(0),
        doc: "TSC neighbours per point (0: max(3, points/5))",
    },
    ParamSpec {
        name: "with_uncompressed",
        kind: ParamKind::Bool,
        default: Fallback::Bool(true),
        doc: "also cluster the uncompressed data",
    },
];

const CLUSTER_METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: "accuracy",
        doc: "clustering accuracy on ΦY after Hungarian matching",
    },
    MetricSpec {
        name: "accuracy_uncompressed",
        doc: "the same on Y",
    },
    MetricSpec {
        name: "seconds",
        doc: "wall time of clustering ΦY (the only metric that is not reproducible bit for bit)",
    },
];

/// Union of `l` subspaces of dimension `d`: returns the N × (l·p) data and the labels.
fn union_of_subspaces(
    p: &Params,
    rng: &mut TrialRng,
) -> Result<(Array2<f64>, Vec<usize>), MethodError> {
    let (big_n, d, l, per) = (
        p.usize("ambient"),
        p.usize("dim"),
        p.usize("subspaces"),
        p.usize("points"),
    );
    let rho = p.float("correlation");
    let shared = haar_orthonormal(big_n, d, rng).map_err(failed)?;
    let mut data = Array2::zeros((big_n, l * per));
    let mut labels = Vec::with_capacity(l * per);
    for class in 0..l {
        let own = haar_orthonormal(big_n, d, rng).map_err(failed)?;
        let basis = orthonormal_basis(
            (&shared * rho.sqrt() + &own * (1.0 - rho).sqrt()).view(),
            RankPolicy::Strict,
        )
        .map_err(failed)?;
        for j in 0..per {
            let w: Vec<f64> = (0..d).map(|_| rng.sample(StandardNormal)).collect();
            let mut x = basis.dot(&ndarray::Array1::from(w));
            x /= x.dot(&x).sqrt();
            if p.float("noise") > 0.0 {
                let e: ndarray::Array1<f64> = (0..big_n)
                    .map(|_| rng.sample::<f64, _>(StandardNormal))
                    .collect();
                x += &(e * (p.float("noise") / (big_n as f64).sqrt()));
            }
            data.column_mut(class * per + j).assign(&x);
            labels.push(class);
        }
    }
    Ok((data, labels))
}

fn cluster_accuracy(y: &Array2<f64>, labels: &[usize], p: &Params, rng: &mut TrialRng) -> f64 {
    let l = p.usize("subspaces");
    let affinity = match p.str("algorithm") {
        "ssc" => ssc_affinity(y.view(), p.float("ssc_alpha")),
        "ssc_omp" => {
            let atoms = if p.usize("omp_atoms") == 0 {
                p.usize("dim")
            } else {
                p.usize("omp_atoms")
            };
            ssc_omp_affinity(y.view(), atoms.min(y.nrows()), 1e-6)
        }
        _ => {
            let q = if p.usize("tsc_q") == 0 {
                (p.usize("points") / 5).max(3)
            } else {
                p.usize("tsc_q")
            };
            tsc_affinity(y.view(), q)
        }
    };
    let predicted = spectral_clustering(&affinity, l, 10, rng);
    matched_accuracy(labels, &predicted, l)
}

impl Method for Cluster {
    fn id(&self) -> &'static str {
        "csl.cluster"
    }
    fn summary(&self) -> &'static str {
        "subspace clustering (SSC, SSC-OMP, TSC + spectral clustering) of randomly compressed data"
    }
    fn params(&self) -> &'static [ParamSpec] {
        CLUSTER_PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        CLUSTER_METRICS
    }
    fn check(&self, p: &Params) -> Result<(), String> {
        if p.usize("dim") >= p.usize("ambient") {
            return Err("dim must be below the ambient dimension".into());
        }
        // The projection, the points before and after it, and the affinity matrices.
        let (big_n, n) = (p.float("ambient"), p.float("compressed"));
        let points = p.float("points") * p.float("subspaces");
        harness::check_trial_memory(
            "csl.cluster",
            8.0 * (n * big_n + (big_n + n) * points + 4.0 * points * points),
        )
    }
    fn run(&self, p: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        let (y, labels) = union_of_subspaces(p, rng)?;
        let phi = projection(p)
            .matrix(p.usize("compressed"), p.usize("ambient"), rng)
            .map_err(failed)?;
        let compressed = phi.dot(&y);
        // Timing is reported, as the paper's claim is about cost; it is never used in checks of
        // correctness or baselines.
        let started = Instant::now();
        let accuracy = cluster_accuracy(&compressed, &labels, p, rng);
        let seconds = started.elapsed().as_secs_f64();
        let mut outcome = Outcome::new()
            .metric("accuracy", accuracy)
            .metric("seconds", seconds);
        if p.bool("with_uncompressed") {
            outcome = outcome.metric(
                "accuracy_uncompressed",
                cluster_accuracy(&y, &labels, p, rng),
            );
        }
        Ok(outcome)
    }
}

// ---------------------------------------------------------------------------------------------
/// `csl.detect`: which of L known subspaces a compressed noisy sample lies in.
pub struct Detect;

const DETECT_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "ambient",
        kind: ParamKind::Int {
            min: 2,
            max: 100_000,
        },
        default: Fallback::Int(1000),
        doc: "ambient dimension N",
    },
    ParamSpec {
        name: "dim",
        kind: ParamKind::Int { min: 1, max: 1000 },
        default: Fallback::Int(5),
        doc: "subspace dimension d",
    },
    ParamSpec {
        name: "subspaces",
        kind: ParamKind::Int { min: 2, max: 1000 },
        default: Fallback::Int(10),
        doc: "number of known subspaces L",
    },
    ParamSpec {
        name: "noise",
        kind: ParamKind::Float {
            min: 0.0,
            max: 10.0,
        },
        default: Fallback::Float(0.3),
        doc: "noise norm relative to the unit-norm signal",
    },
    ParamSpec {
        name: "samples",
        kind: ParamKind::Int {
            min: 1,
            max: 100_000,
        },
        default: Fallback::Int(200),
        doc: "test samples per trial",
    },
    ParamSpec {
        name: "compressed",
        kind: ParamKind::Int {
            min: 1,
            max: 100_000,
        },
        default: Fallback::Int(20),
        doc: "compressed dimension n",
    },
    PROJECTION_PARAM,
];

impl Method for Detect {
    fn id(&self) -> &'static str {
        "csl.detect"
    }
    fn summary(&self) -> &'static str {
        "active subspace detection from compressed samples by smallest residual"
    }
    fn params(&self) -> &'static [ParamSpec] {
        DETECT_PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        &[MetricSpec {
            name: "accuracy",
            doc: "fraction of samples assigned to their subspace",
        }]
    }
    fn check(&self, p: &Params) -> Result<(), String> {
        if p.usize("compressed") <= p.usize("dim") {
            return Err("the compressed dimension must exceed the subspace dimension".into());
        }
        // The projection, the samples before and after it, and the subspace bases.
        let (big_n, n) = (p.float("ambient"), p.float("compressed"));
        harness::check_trial_memory(
            "csl.detect",
            8.0 * (n * big_n
                + 2.0 * p.float("samples") * (big_n + n)
                + p.float("subspaces") * p.float("dim") * (big_n + n)),
        )
    }
    fn run(&self, p: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        let (big_n, d, l, n) = (
            p.usize("ambient"),
            p.usize("dim"),
            p.usize("subspaces"),
            p.usize("compressed"),
        );
        let bases: Vec<Array2<f64>> = (0..l)
            .map(|_| haar_orthonormal(big_n, d, rng).map_err(failed))
            .collect::<Result<_, _>>()?;
        let phi = projection(p).matrix(n, big_n, rng).map_err(failed)?;
        // Orthonormal bases of the compressed subspaces span(ΦU_l).
        let compressed: Vec<Array2<f64>> = bases
            .iter()
            .map(|u| orthonormal_basis(phi.dot(u).view(), RankPolicy::Strict).map_err(failed))
            .collect::<Result<_, _>>()?;
        let mut correct = 0;
        let samples = p.usize("samples");
        for _ in 0..samples {
            let class = rng.gen_range(0..l);
            let w: ndarray::Array1<f64> = (0..d)
                .map(|_| rng.sample::<f64, _>(StandardNormal))
                .collect();
            let mut x = bases[class].dot(&w);
            x /= x.dot(&x).sqrt();
            let e: ndarray::Array1<f64> = (0..big_n)
                .map(|_| rng.sample::<f64, _>(StandardNormal))
                .collect();
            x += &(e * (p.float("noise") / (big_n as f64).sqrt()));
            let y = phi.dot(&x);
            let residual = |q: &Array2<f64>| {
                let c = q.t().dot(&y);
                y.dot(&y) - c.dot(&c)
            };
            let guess = (0..l)
                .min_by(|&a, &b| residual(&compressed[a]).total_cmp(&residual(&compressed[b])))
                .expect("L ≥ 2");
            correct += usize::from(guess == class);
        }

        Ok(Outcome::new().metric("accuracy", correct as f64 / samples as f64))
    }
}
