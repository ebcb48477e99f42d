//! `subspace.angles`: the subspace crate's principal angles, on pairs of subspaces with
//! prescribed angles, so that specs can put it beside external implementations (scipy's
//! `subspace_angles` in `methods/external/scipy_angles/`) on the very same matrices.
//!
//! The pair is built from the trial's seed by a construction that uses only correctly rounded
//! IEEE operations and the C library's `sin`/`cos`, in a fixed order, so that the Python worker
//! (`methods/external/scipy_angles/pairs.py`) builds bit-identical matrices (tested in
//! `crates/cli/tests/external.rs`). That is why it does not use the trial's ChaCha generator:
//! another language cannot reproduce those draws cheaply.

use std::f64::consts::PI;
use std::time::Instant;

use harness::{
    Fallback, Method, MethodError, MetricSpec, Outcome, ParamKind, ParamSpec, Params, Registry,
    TrialRng,
};
use ndarray::{s, Array2};

/// Register the method.
pub fn register(registry: &mut Registry) {
    registry.register(Box::new(Angles));
}

/// SplitMix64 (Steele, Lea & Flood 2014): a generator any language reproduces in a few lines.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits (exact in binary64).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// A pair of subspaces of R^n with prescribed principal angles.
pub struct Pair {
    /// n × (k + extra).
    pub a: Array2<f64>,
    /// n × k.
    pub b: Array2<f64>,
    /// The k prescribed angles, ascending.
    pub angles: Vec<f64>,
}

/// The first `2k + extra` columns of an orthogonal Q = a butterfly of Givens rotations (for
/// stride = 1, 2, 4, … < n, rows (i, i + stride) for every i without the stride's bit, in
/// ascending i; angles 2π·U from SplitMix64(seed)), so every row of Q mixes every input; then
/// A = [q_0 … q_{k−1}, q_{2k} … q_{2k+extra−1}] and B_j = cos θ_j q_j + sin θ_j q_{k+j}, where
/// θ_j = `angles[j mod len]`. span(A) ⊃ … has exactly the k principal angles θ with span(B).
pub fn prescribed_pair(n: usize, k: usize, extra: usize, angles: &[f64], seed: u64) -> Pair {
    let m = 2 * k + extra;
    assert!(
        m <= n && k >= 1 && !angles.is_empty(),
        "checked by the method"
    );
    let mut x = Array2::<f64>::zeros((n, m));
    for j in 0..m {
        x[[j, j]] = 1.0;
    }
    let mut rng = SplitMix64::new(seed);
    let mut stride = 1;
    while stride < n {
        for i in (0..n).filter(|i| i & stride == 0 && i + stride < n) {
            let phi = 2.0 * PI * rng.uniform();
            let (c, s) = (phi.cos(), phi.sin());
            for j in 0..m {
                let (p, q) = (x[[i, j]], x[[i + stride, j]]);
                x[[i, j]] = c * p - s * q;
                x[[i + stride, j]] = s * p + c * q;
            }
        }
        stride *= 2;
    }
    let theta: Vec<f64> = (0..k).map(|j| angles[j % angles.len()]).collect();
    let mut a = Array2::<f64>::zeros((n, k + extra));
    a.slice_mut(s![.., ..k]).assign(&x.slice(s![.., ..k]));
    a.slice_mut(s![.., k..]).assign(&x.slice(s![.., 2 * k..]));
    let mut b = Array2::<f64>::zeros((n, k));
    for (j, t) in theta.iter().enumerate() {
        let (c, s) = (t.cos(), t.sin());
        for i in 0..n {
            b[[i, j]] = c * x[[i, j]] + s * x[[i, k + j]];
        }
    }
    let mut sorted = theta;
    sorted.sort_by(f64::total_cmp);
    Pair {
        a,
        b,
        angles: sorted,
    }
}

/// `subspace.angles`.
pub struct Angles;

/// The declarations, shared word for word with `methods/external/scipy_angles/manifest.yaml`.
const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "n",
        kind: ParamKind::Int {
            min: 2,
            max: 100_000,
        },
        default: Fallback::Int(100),
        doc: "ambient dimension",
    },
    ParamSpec {
        name: "k",
        kind: ParamKind::Int { min: 1, max: 5000 },
        default: Fallback::Int(2),
        doc: "dimension of the second subspace = number of principal angles",
    },
    ParamSpec {
        name: "extra",
        kind: ParamKind::Int { min: 0, max: 5000 },
        default: Fallback::Int(0),
        doc: "extra dimensions of the first subspace (unequal dimensions when > 0)",
    },
    ParamSpec {
        name: "angles",
        kind: ParamKind::FloatList {
            min: 0.0,
            max: std::f64::consts::FRAC_PI_2,
        },
        default: Fallback::List(&[1.5, 1.0e-10]),
        doc: "prescribed angles, used cyclically for the k angles",
    },
    ParamSpec {
        name: "small",
        kind: ParamKind::Float {
            min: 0.0,
            max: std::f64::consts::FRAC_PI_2,
        },
        default: Fallback::Float(0.0),
        doc: "when > 0, an angle put before `angles` (to sweep the small angle of a mixed pair)",
    },
    ParamSpec {
        name: "repeats",
        kind: ParamKind::Int { min: 1, max: 1000 },
        default: Fallback::Int(1),
        doc: "calls timed; `seconds` is the fastest",
    },
];

const METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: "max_abs_err",
        doc: "largest |computed − true| angle (both ascending)",
    },
    MetricSpec {
        name: "small_abs_err",
        doc: "|computed − true| for the smallest angle",
    },
    MetricSpec {
        name: "small_rel_err",
        doc: "|computed − true| / true for the smallest angle (0 when it is 0)",
    },
    MetricSpec {
        name: "seconds",
        doc: "fastest wall time of one call (the only metric that is not reproducible)",
    },
];

impl Method for Angles {
    fn id(&self) -> &'static str {
        "subspace.angles"
    }
    fn summary(&self) -> &'static str {
        "principal angles by the subspace crate (Knyazev–Argentati sine/cosine split) on pairs with prescribed angles"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        METRICS
    }
    fn check(&self, p: &Params) -> Result<(), String> {
        let (n, k, extra) = (p.usize("n"), p.usize("k"), p.usize("extra"));
        if 2 * k + extra > n {
            return Err(format!(
                "2k + extra = {} must not exceed n = {n}",
                2 * k + extra
            ));
        }
        harness::check_trial_memory("subspace.angles", 8.0 * 4.0 * (n * (2 * k + extra)) as f64)
    }
    fn run(&self, _p: &Params, _rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        // The pair is built from the trial's seed as the Python worker builds it (module doc),
        // so the runner's `run_trial`, which passes the seed, is the entry point.
        Err(MethodError::Failed(
            "subspace.angles needs the trial's seed: run it through run_trial".into(),
        ))
    }
    fn run_trial(
        &self,
        trial: &harness::TrialContext<'_>,
        p: &Params,
        _rng: &mut TrialRng,
    ) -> Result<Outcome, MethodError> {
        let pair = prescribed_pair(
            p.usize("n"),
            p.usize("k"),
            p.usize("extra"),
            &angle_list(p.float("small"), p.list("angles")),
            trial.seed,
        );
        let mut best = f64::INFINITY;
        let mut computed = Vec::new();
        for _ in 0..p.usize("repeats") {
            let started = Instant::now();
            let result = subspace::principal_angles(pair.a.view(), pair.b.view(), false)
                .map_err(|e| MethodError::Failed(e.to_string()))?;
            best = best.min(started.elapsed().as_secs_f64());
            computed = result.angles.to_vec();
        }
        Ok(errors(&computed, &pair.angles).metric("seconds", best))
    }
}

/// The prescribed angles: `small` (when > 0) and then `angles`.
pub fn angle_list(small: f64, angles: &[f64]) -> Vec<f64> {
    let mut list = Vec::with_capacity(angles.len() + 1);
    if small > 0.0 {
        list.push(small);
    }
    list.extend_from_slice(angles);
    list
}

/// The error metrics of computed angles against the true ones (both ascending).
pub fn errors(computed: &[f64], truth: &[f64]) -> Outcome {
    let max_abs = computed
        .iter()
        .zip(truth)
        .map(|(c, t)| (c - t).abs())
        .fold(0.0, f64::max);
    let small = (computed[0] - truth[0]).abs();
    let relative = if truth[0] > 0.0 {
        small / truth[0]
    } else {
        0.0
    };
    Outcome::new()
        .metric("max_abs_err", max_abs)
        .metric("small_abs_err", small)
        .metric("small_rel_err", relative)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pinned: `methods/external/scipy_angles/pairs.py` draws the same stream.
    #[test]
    fn splitmix_matches_its_reference() {
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
    }

    #[test]
    fn pairs_have_orthonormal_bases_and_the_prescribed_angles() {
        let pair = prescribed_pair(40, 3, 2, &[1.5, 1e-10, 0.7], 9);
        let eps = f64::EPSILON;
        let gram = pair.a.t().dot(&pair.a);
        for ((i, j), g) in gram.indexed_iter() {
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((g - want).abs() < 100.0 * eps, "{i} {j} {g}");
        }
        let got = subspace::principal_angles(pair.a.view(), pair.b.view(), false).unwrap();
        for (c, t) in got.angles.iter().zip(&pair.angles) {
            assert!((c - t).abs() < 100.0 * eps, "{c} vs {t}");
        }
        // Q is dense: every row of A has non-zero entries.
        assert!(pair
            .a
            .rows()
            .into_iter()
            .all(|r| r.iter().any(|x| x.abs() > 1e-3)));
    }
}
