//! `csl.visualize` and `csl.digits`: subspace visualisation by classical MDS of pairwise
//! distances before and after compression, and compressed clustering of real digits.

use ndarray::{Array2, Axis};
use ndarray_linalg::{Eigh, JobSvd, SVDDC, UPLO};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_distr::StandardNormal;

use datasets::digits;
use harness::legacy::{Fallback, Method, ParamKind, ParamSpec, Params};
use harness::{MethodError, MetricSpec, Outcome, TrialRng};
use subspace::{
    haar_orthonormal, orthonormal_basis, principal_angles_orthonormal, Distance, RankPolicy,
};

use crate::clustering::{matched_accuracy, spectral_clustering, ssc_affinity, tsc_affinity};
use crate::methods::{failed, projection, PROJECTION_PARAM};

/// Classical (Torgerson) MDS: the top-`dims` coordinates of `−½ J D² J`.
pub fn classical_mds(d: &Array2<f64>, dims: usize) -> Array2<f64> {
    let m = d.nrows();
    let d2 = d.mapv(|x| x * x);
    let row_means = d2.mean_axis(Axis(1)).expect("non-empty");
    let total = row_means.mean().expect("non-empty");
    let b = Array2::from_shape_fn((m, m), |(i, j)| {
        -0.5 * (d2[(i, j)] - row_means[i] - row_means[j] + total)
    });
    let (values, vectors) = b.eigh(UPLO::Upper).expect("symmetric");
    let mut x = Array2::zeros((m, dims));
    for k in 0..dims {
        let idx = m - 1 - k; // eigh sorts ascending
        let scale = values[idx].max(0.0).sqrt();
        x.column_mut(k).assign(&(&vectors.column(idx) * scale));
    }
    x
}

/// Procrustes disparity as scipy.spatial.procrustes defines it: both configurations centred and
/// scaled to unit Frobenius norm, the second rotated (or reflected) onto the first; the residual
/// sum of squares, in [0, 1].
pub fn procrustes_disparity(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let standardise = |x: &Array2<f64>| {
        let centred = x - &x.mean_axis(Axis(0)).expect("non-empty");
        let norm = centred.iter().map(|v| v * v).sum::<f64>().sqrt();
        centred / norm
    };
    let (a, b) = (standardise(a), standardise(b));
    let (_, s, _) = a
        .t()
        .dot(&b)
        .svddc(JobSvd::None)
        .expect("a small SVD converges");
    1.0 - s.sum().powi(2)
}

/// `x` centred on `target`'s centre and rotated (or reflected) onto it: orthogonal Procrustes,
/// `R = U Vᵀ` from the SVD of `x_cᵀ target_c`. Only for display; the disparity metric is
/// computed on the unaligned embeddings.
fn align(x: &Array2<f64>, target: &Array2<f64>) -> Array2<f64> {
    let centre = |m: &Array2<f64>| m - &m.mean_axis(Axis(0)).expect("non-empty");
    let (xc, tc) = (centre(x), centre(target));
    let (u, _, vt) = xc
        .t()
        .dot(&tc)
        .svddc(JobSvd::All)
        .expect("a 2 × 2 SVD converges");
    xc.dot(&u.expect("requested U").dot(&vt.expect("requested Vᵀ")))
        + &target.mean_axis(Axis(0)).expect("non-empty")
}

fn pairwise_chordal(bases: &[Array2<f64>]) -> Result<Array2<f64>, MethodError> {
    let m = bases.len();
    let mut d = Array2::zeros((m, m));
    for i in 0..m {
        for j in i + 1..m {
            let angles = principal_angles_orthonormal(bases[i].view(), bases[j].view(), false)
                .map_err(failed)?
                .angles;
            let v = Distance::Chordal.from_angles(angles.as_slice().expect("contiguous"));
            d[(i, j)] = v;
            d[(j, i)] = v;
        }
    }
    Ok(d)
}

/// See the module documentation.
pub struct Visualize;

const VISUALIZE_PARAMS: &[ParamSpec] = &[
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
        kind: ParamKind::Int { min: 1, max: 100 },
        default: Fallback::Int(5),
        doc: "subspace dimension d",
    },
    ParamSpec {
        name: "families",
        kind: ParamKind::Int { min: 1, max: 20 },
        default: Fallback::Int(3),
        doc: "families of subspaces",
    },
    ParamSpec {
        name: "per_family",
        kind: ParamKind::Int { min: 1, max: 200 },
        default: Fallback::Int(20),
        doc: "subspaces per family",
    },
    ParamSpec {
        name: "spread",
        kind: ParamKind::Float {
            min: 0.0,
            max: 10.0,
        },
        default: Fallback::Float(0.5),
        doc: "size of the perturbation of a family's centre",
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
];

impl Method for Visualize {
    fn id(&self) -> &'static str {
        "csl.visualize"
    }
    fn summary(&self) -> &'static str {
        "2-D classical MDS of pairwise subspace distances before and after compression"
    }
    fn params(&self) -> &'static [ParamSpec] {
        VISUALIZE_PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        &[
            MetricSpec {
                name: "distance_error",
                doc: "‖D' − D‖_F/‖D‖_F of the pairwise projection F-distances",
            },
            MetricSpec {
                name: "disparity",
                doc: "Procrustes disparity between the MDS embeddings before and after",
            },
        ]
    }
    fn curves(&self) -> &'static [MetricSpec] {
        &[
            MetricSpec { name: "mds_before_x", doc: "MDS coordinate 1 of each subspace before compression (indexed by subspace)" },
            MetricSpec { name: "mds_before_y", doc: "MDS coordinate 2 before compression" },
            MetricSpec { name: "mds_after_x", doc: "MDS coordinate 1 after compression, rotated onto the one before (orthogonal Procrustes)" },
            MetricSpec { name: "mds_after_y", doc: "MDS coordinate 2 after compression, aligned likewise" },
            MetricSpec { name: "family", doc: "family index of each subspace" },
        ]
    }
    fn check(&self, p: &Params) -> Result<(), String> {
        if p.usize("compressed") < p.usize("dim") || p.usize("ambient") <= p.usize("dim") {
            return Err("need dim < ambient and dim ≤ compressed".into());
        }
        Ok(())
    }
    fn run(&self, p: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        let (big_n, d, n) = (p.usize("ambient"), p.usize("dim"), p.usize("compressed"));
        let mut bases = Vec::new();
        for _ in 0..p.usize("families") {
            let centre = haar_orthonormal(big_n, d, rng).map_err(failed)?;
            for _ in 0..p.usize("per_family") {
                let noise = Array2::from_shape_simple_fn((big_n, d), || {
                    rng.sample::<f64, _>(StandardNormal) / (big_n as f64).sqrt()
                });
                bases.push(
                    orthonormal_basis(
                        (&centre + &(noise * p.float("spread"))).view(),
                        RankPolicy::Strict,
                    )
                    .map_err(failed)?,
                );
            }
        }
        let phi = projection(p).matrix(n, big_n, rng).map_err(failed)?;
        let compressed: Vec<Array2<f64>> = bases
            .iter()
            .map(|u| orthonormal_basis(phi.dot(u).view(), RankPolicy::Strict).map_err(failed))
            .collect::<Result<_, _>>()?;
        let (before, after) = (pairwise_chordal(&bases)?, pairwise_chordal(&compressed)?);
        let frob = |x: &Array2<f64>| x.iter().map(|v| v * v).sum::<f64>().sqrt();
        let (embed_before, embed_after) = (classical_mds(&before, 2), classical_mds(&after, 2));
        let disparity = procrustes_disparity(&embed_before, &embed_after);
        let aligned = align(&embed_after, &embed_before);
        let column = |x: &Array2<f64>, j: usize| {
            x.column(j)
                .iter()
                .enumerate()
                .map(|(i, v)| (i as u32, *v))
                .collect::<Vec<_>>()
        };
        let per = p.usize("per_family");
        let family = (0..bases.len())
            .map(|i| (i as u32, (i / per) as f64))
            .collect();
        Ok(Outcome::new()
            .metric("distance_error", frob(&(&after - &before)) / frob(&before))
            .metric("disparity", disparity)
            .curve("mds_before_x", column(&embed_before, 0))
            .curve("mds_before_y", column(&embed_before, 1))
            .curve("mds_after_x", column(&aligned, 0))
            .curve("mds_after_y", column(&aligned, 1))
            .curve("family", family))
    }
}

/// `csl.digits`: compressed subspace clustering of real handwritten digits.
pub struct Digits;

const DIGITS_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "classes",
        kind: ParamKind::Int { min: 2, max: 10 },
        default: Fallback::Int(3),
        doc: "cluster the digits 0..classes−1",
    },
    ParamSpec {
        name: "points",
        kind: ParamKind::Int { min: 5, max: 150 },
        default: Fallback::Int(50),
        doc: "images per digit (random subset per trial)",
    },
    ParamSpec {
        name: "compressed",
        kind: ParamKind::Int { min: 1, max: 64 },
        default: Fallback::Int(16),
        doc: "compressed dimension n (64 = no compression)",
    },
    PROJECTION_PARAM,
    ParamSpec {
        name: "algorithm",
        kind: ParamKind::Choice(&["ssc", "tsc"]),
        default: Fallback::Str("ssc"),
        doc: "affinity",
    },
];

impl Method for Digits {
    fn id(&self) -> &'static str {
        "csl.digits"
    }
    fn summary(&self) -> &'static str {
        "subspace clustering of randomly compressed handwritten digits (UCI, CC BY 4.0)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        DIGITS_PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        &[MetricSpec {
            name: "accuracy",
            doc: "clustering accuracy after Hungarian matching",
        }]
    }
    fn run(&self, p: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        let (images, labels) = digits();
        let (classes, per) = (p.usize("classes"), p.usize("points"));
        let mut rows = Vec::new();
        let mut truth = Vec::new();
        for class in 0..classes {
            let mut members: Vec<usize> =
                (0..labels.len()).filter(|&i| labels[i] == class).collect();
            members.shuffle(rng);
            rows.extend_from_slice(&members[..per.min(members.len())]);
            truth.extend(std::iter::repeat_n(class, per.min(members.len())));
        }
        let y = images.select(Axis(0), &rows).reversed_axes(); // 64 × points
        let n = p.usize("compressed");
        let data = if n >= y.nrows() {
            y
        } else {
            projection(p)
                .matrix(n, y.nrows(), rng)
                .map_err(failed)?
                .dot(&y)
        };
        let affinity = if p.str("algorithm") == "ssc" {
            ssc_affinity(data.view(), 20.0)
        } else {
            tsc_affinity(data.view(), (per / 5).max(3))
        };
        let predicted = spectral_clustering(&affinity, classes, 10, rng);
        Ok(Outcome::new().metric("accuracy", matched_accuracy(&truth, &predicted, classes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mds_recovers_a_planar_configuration_up_to_rotation() {
        let points: Array2<f64> =
            ndarray::array![[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 1.0], [-1.0, -1.0]];
        let m = points.nrows();
        let d = Array2::from_shape_fn((m, m), |(i, j)| {
            let diff = &points.row(i) - &points.row(j);
            diff.dot(&diff).sqrt() as f64
        });
        let embedded = classical_mds(&d, 2);
        assert!(procrustes_disparity(&points, &embedded) < 1e-20);
        // A genuinely different configuration has a positive disparity.
        let other = ndarray::array![[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [0.0, 3.0], [1.0, -2.0]];
        assert!(procrustes_disparity(&points, &other) > 0.1);
    }
}
