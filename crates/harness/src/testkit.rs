//! Small methods for the test suites: deterministic, fast, and able to fail
//! in every way a real method can. Registered only when the binary is built with the `testkit`
//! feature (the test suite), never in a shipped binary.

use rand::Rng;
use rand_distr::StandardNormal;

use crate::method::{
    MethodError, MetricSpec, Outcome, Registry, TrialContext, TrialRng, TypedMethod,
};
use crate::param::InputFile;

/// `value = x² + noise·N(0,1)`, plus a uniform draw and a short curve.
pub struct Quadratic;

/// `value = x + U(0,1)`, which panics, errors, diverges or sleeps on request.
pub struct Flaky;

crate::choice! {
    /// Whether the quadratic is offset.
    pub enum Mode { Plain = "plain", Shifted = "shifted" }
}

crate::params! {
    /// Parameters of `test.quadratic`.
    pub struct QuadraticParams {
        /// the point
        x: f64 [-1e6, 1e6];
        /// noise level
        noise: f64 [0.0, 1e3] = 0.0;
        /// curve length
        steps: u32 [0, 1000] = 3;
        /// offset by 1 when shifted
        mode: Mode = Mode::Plain;
        /// multiplies the value by their sum
        weights: Vec<f64> [0.0, 10.0] = vec![1.0];
        /// a text file holding a number added to the value (an input file, for tests)
        offset_file: Option<InputFile>;
    }
}

impl TypedMethod for Quadratic {
    type Params = QuadraticParams;
    const ID: &'static str = "test.quadratic";
    const SUMMARY: &'static str = "x² plus optional Gaussian noise (test method)";
    const METRICS: &'static [MetricSpec] = &[
        MetricSpec {
            name: "value",
            doc: "x² (+ noise)",
            reproducible: true,
        },
        MetricSpec {
            name: "draw",
            doc: "a U(0,1) draw from the trial's generator",
            reproducible: true,
        },
        MetricSpec {
            name: "theory",
            doc: "x² exactly",
            reproducible: true,
        },
    ];
    const CURVES: &'static [MetricSpec] = &[MetricSpec {
        name: "path",
        doc: "value/(1 + step)",
        reproducible: true,
    }];

    /// A test build can change this method's code identity without recompiling (the
    /// stale-trial tests set `SUBBENCH_TESTKIT_CODE`); otherwise it has the testkit's identity.
    fn code(&self) -> Option<String> {
        std::env::var("SUBBENCH_TESTKIT_CODE").ok()
    }
    fn check(&self, p: &QuadraticParams) -> Result<(), String> {
        if p.x == 13.0 && p.noise > 0.0 {
            return Err("x = 13 is unlucky with noise (constraint check for tests)".into());
        }
        // A check that opens its input file, as shifcon's does (the test that a stored spec's
        // files are found from any folder needs one).
        if let Some(file) = &p.offset_file {
            std::fs::read_to_string(&file.0)
                .map_err(|e| format!("cannot read {}: {e}", file.0.display()))?;
        }
        // A bug in a method's check, for the test that it is reported as one.
        assert!(p.x != 666.0, "the check of x = 666 is broken (test bug)");
        Ok(())
    }
    fn run(
        &self,
        p: &QuadraticParams,
        rng: &mut TrialRng,
        _trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError> {
        let shift = match p.mode {
            Mode::Plain => 0.0,
            Mode::Shifted => 1.0,
        };
        let scale: f64 = p.weights.iter().sum();
        let offset = match &p.offset_file {
            Some(file) => std::fs::read_to_string(&file.0)
                .ok()
                .and_then(|t| t.trim().parse::<f64>().ok())
                .ok_or_else(|| MethodError::Failed("the offset file holds no number".into()))?,
            None => 0.0,
        };
        let noise: f64 = rng.sample(StandardNormal);
        let value = scale * (p.x * p.x + shift) + p.noise * noise + offset;
        let curve = (0..p.steps)
            .map(|s| (s, value / (1.0 + s as f64)))
            .collect();
        Ok(Outcome::new()
            .metric("value", value)
            .metric("draw", rng.gen())
            .metric("theory", scale * (p.x * p.x + shift) + offset)
            .curve("path", curve))
    }
}

crate::params! {
    /// Parameters of `test.flaky`.
    pub struct FlakyParams {
        /// the point
        x: i64 [-1_000_000, 1_000_000];
        /// panic when x equals it
        panic_at: i64 [-1, 1_000_000] = -1;
        /// return an error when x equals it
        error_at: i64 [-1, 1_000_000] = -1;
        /// return NaN when x equals it
        nan_at: i64 [-1, 1_000_000] = -1;
        /// sleep before returning
        sleep_ms: u64 [0, 60_000] = 0;
        /// also emit a metric it does not declare when x equals it (a bug, for tests)
        undeclared_at: i64 [-1, 1_000_000] = -1;
    }
}

impl TypedMethod for Flaky {
    type Params = FlakyParams;
    const ID: &'static str = "test.flaky";
    const SUMMARY: &'static str = "fails in chosen ways (test method)";
    const METRICS: &'static [MetricSpec] = &[MetricSpec {
        name: "value",
        doc: "x + U(0,1)",
        reproducible: true,
    }];

    fn run(
        &self,
        p: &FlakyParams,
        rng: &mut TrialRng,
        _trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError> {
        let x = p.x;
        std::thread::sleep(std::time::Duration::from_millis(p.sleep_ms));
        if x == p.panic_at {
            panic!("asked to panic at x = {x}");
        }
        if x == p.error_at {
            return Err(MethodError::Failed(format!("asked to fail at x = {x}")));
        }
        let value = if x == p.nan_at {
            f64::NAN
        } else {
            x as f64 + rng.gen::<f64>()
        };
        let outcome = Outcome::new().metric("value", value);
        Ok(if x == p.undeclared_at {
            outcome.metric("valeu", value)
        } else {
            outcome
        })
    }
}

/// `value = x`, except that the trial at `x = hang_at` never returns: a built-in method stuck in
/// a loop or a deadlock, which no thread can stop.
pub struct Hang;

crate::params! {
    /// Parameters of `test.hang`.
    pub struct HangParams {
        /// the point
        x: i64 [-1_000_000, 1_000_000];
        /// never return when x equals it
        hang_at: i64 [-1, 1_000_000] = -1;
    }
}

impl TypedMethod for Hang {
    type Params = HangParams;
    const ID: &'static str = "test.hang";
    const SUMMARY: &'static str = "never returns at a chosen point (test method)";
    const METRICS: &'static [MetricSpec] = &[MetricSpec {
        name: "value",
        doc: "x",
        reproducible: true,
    }];

    fn run(
        &self,
        p: &HangParams,
        _rng: &mut TrialRng,
        _trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError> {
        if p.x == p.hang_at {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        Ok(Outcome::new().metric("value", p.x as f64))
    }
}

/// `value = x + U(0,1)` from a generator seeded by the clock, not by the trial: nondeterministic
/// on purpose (a method that breaks the contract), for the test that `verify` catches it.
pub struct Clock;

crate::params! {
    /// Parameters of `test.clock`.
    pub struct ClockParams {
        /// the point
        x: i64 [-1_000_000, 1_000_000];
    }
}

impl TypedMethod for Clock {
    type Params = ClockParams;
    const ID: &'static str = "test.clock";
    const SUMMARY: &'static str =
        "draws from a clock-seeded generator: nondeterministic (test method)";
    const METRICS: &'static [MetricSpec] = &[MetricSpec {
        name: "value",
        doc: "x + U(0,1), the draw seeded by the clock",
        reproducible: true,
    }];

    fn run(
        &self,
        p: &ClockParams,
        _rng: &mut TrialRng,
        _trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError> {
        use rand::SeedableRng;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut clocked = TrialRng::seed_from_u64(nanos);
        Ok(Outcome::new().metric("value", p.x as f64 + clocked.gen::<f64>()))
    }
}

/// `x = mean + shift + shared_sd·S + sd·E` with `S, E ~ N(0,1)`: a draw from a known normal
/// distribution, for the tests of `compare`'s statistics. `S` comes from the trial's generator,
/// so two stores with the same seeds share it (paired noise); `E` from a generator seeded by the
/// seed and a salt (`SUBBENCH_TESTKIT_SALT`), so that two runs of the same trials can differ
/// like two machines; `SUBBENCH_TESTKIT_SHIFT` adds to the mean like a code change would.
pub struct Normal;

crate::params! {
    /// Parameters of `test.normal`.
    pub struct NormalParams {
        /// mean of `x`
        mean: f64 [-1e6, 1e6] = 0.0;
        /// standard deviation of the noise of the trial's own
        sd: f64 [0.0, 1e3] = 1.0;
        /// standard deviation of the noise every trial with the same seed shares
        shared_sd: f64 [0.0, 1e3] = 0.0;
        /// a label that changes nothing (points to compare)
        k: i64 [0, 1_000_000] = 0;
    }
}

/// The distribution of `test.normal`'s `x`, and what the environment adds to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormalDraw {
    pub mean: f64,
    pub sd: f64,
    pub shared_sd: f64,
    /// Added to `x` (a change of the code).
    pub shift: f64,
    /// Seeds the trial's own noise together with the trial's seed.
    pub salt: u64,
}

/// The metrics of `test.normal` for a trial with `seed`: `x` as above, `y ~ N(0,1)` from the
/// own generator (never shifted), and `seconds = |N(0,1)|` from it, declared not reproducible
/// as timings are. The one function behind the method and the simulated stores of the tests.
pub fn normal_metrics(d: &NormalDraw, seed: u64) -> [(&'static str, f64); 3] {
    use rand::SeedableRng;
    let mut shared = TrialRng::seed_from_u64(seed);
    let mut own = TrialRng::seed_from_u64(seed ^ d.salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let s: f64 = shared.sample(StandardNormal);
    let e: f64 = own.sample(StandardNormal);
    let y: f64 = own.sample(StandardNormal);
    let t: f64 = own.sample(StandardNormal);
    [
        ("x", d.mean + d.shift + d.shared_sd * s + d.sd * e),
        ("y", y),
        ("seconds", t.abs()),
    ]
}

/// Records of a store of `test.normal` as the runner would store them: one ok trial per point
/// and seed, its parameters `params` (`method` excluded), seed and metrics.
pub fn normal_records(
    points: &[(std::collections::BTreeMap<String, crate::Value>, NormalDraw)],
    seeds: &[u64],
) -> Vec<crate::TrialRecord> {
    let mut records = Vec::new();
    for (params, draw) in points {
        for (rep, &seed) in seeds.iter().enumerate() {
            let order = records.len() as u64;
            records.push(crate::TrialRecord {
                trial_id: format!("{order:016x}"),
                order,
                spec: "simulated".into(),
                method: Normal::ID.into(),
                method_code: "testkit".into(),
                rep: rep as u32,
                seed,
                status: crate::Status::Ok,
                error: None,
                elapsed_s: 0.0,
                params: params.clone(),
                metrics: normal_metrics(draw, seed)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                curves: Default::default(),
            });
        }
    }
    records
}

fn env_number<T: std::str::FromStr>(name: &str) -> Result<Option<T>, MethodError> {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .map(Some)
            .map_err(|_| MethodError::Failed(format!("{name}={text} is not a number"))),
        Err(_) => Ok(None),
    }
}

impl TypedMethod for Normal {
    type Params = NormalParams;
    const ID: &'static str = "test.normal";
    const SUMMARY: &'static str = "draws from a known normal distribution (test method)";
    const METRICS: &'static [MetricSpec] = &[
        MetricSpec {
            name: "x",
            doc: "mean + shift + shared_sd·N(0,1) (by seed) + sd·N(0,1) (own)",
            reproducible: true,
        },
        MetricSpec {
            name: "y",
            doc: "N(0,1) (own)",
            reproducible: true,
        },
        MetricSpec {
            name: "seconds",
            doc: "|N(0,1)|, random like a wall time (not reproducible)",
            reproducible: false,
        },
    ];

    fn run(
        &self,
        p: &NormalParams,
        _rng: &mut TrialRng,
        trial: &TrialContext<'_>,
    ) -> Result<Outcome, MethodError> {
        let draw = NormalDraw {
            mean: p.mean,
            sd: p.sd,
            shared_sd: p.shared_sd,
            shift: env_number("SUBBENCH_TESTKIT_SHIFT")?.unwrap_or(0.0),
            salt: env_number("SUBBENCH_TESTKIT_SALT")?.unwrap_or(0),
        };
        Ok(normal_metrics(&draw, trial.seed)
            .into_iter()
            .fold(Outcome::new(), |o, (k, v)| o.metric(k, v)))
    }
}

/// A registry holding the test methods.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    register(&mut registry);
    registry
}

/// Add the test methods to `registry`.
pub fn register(registry: &mut Registry) {
    registry.register(Box::new(Quadratic));
    registry.register(Box::new(Flaky));
    registry.register(Box::new(Hang));
    registry.register(Box::new(Clock));
    registry.register(Box::new(Normal));
}
