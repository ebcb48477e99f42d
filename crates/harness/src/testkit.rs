//! Small methods for the test suites: deterministic, fast, and able to fail
//! in every way a real method can. Registered only when the binary is built with the `testkit`
//! feature (the test suite), never in a shipped binary.

use rand::Rng;
use rand_distr::StandardNormal;

use crate::method::{Method, MethodError, MetricSpec, Outcome, Registry, TrialRng};
use crate::param::{Fallback, ParamKind, ParamSpec, Params};

/// `value = x² + noise·N(0,1)`, plus a uniform draw and a short curve.
pub struct Quadratic;

/// `value = x + U(0,1)`, which panics, errors, diverges or sleeps on request.
pub struct Flaky;

const QUADRATIC_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "x",
        kind: ParamKind::Float {
            min: -1e6,
            max: 1e6,
        },
        default: Fallback::Required,
        doc: "the point",
    },
    ParamSpec {
        name: "noise",
        kind: ParamKind::Float { min: 0.0, max: 1e3 },
        default: Fallback::Float(0.0),
        doc: "noise level",
    },
    ParamSpec {
        name: "steps",
        kind: ParamKind::Int { min: 0, max: 1000 },
        default: Fallback::Int(3),
        doc: "curve length",
    },
    ParamSpec {
        name: "mode",
        kind: ParamKind::Choice(&["plain", "shifted"]),
        default: Fallback::Str("plain"),
        doc: "offset by 1 when shifted",
    },
    ParamSpec {
        name: "weights",
        kind: ParamKind::FloatList {
            min: 0.0,
            max: 10.0,
        },
        default: Fallback::List(&[1.0]),
        doc: "multiplies the value by their sum",
    },
];
const QUADRATIC_METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: "value",
        doc: "x² (+ noise)",
    },
    MetricSpec {
        name: "draw",
        doc: "a U(0,1) draw from the trial's generator",
    },
    MetricSpec {
        name: "theory",
        doc: "x² exactly",
    },
];

impl Method for Quadratic {
    fn id(&self) -> &'static str {
        "test.quadratic"
    }
    fn summary(&self) -> &'static str {
        "x² plus optional Gaussian noise (test method)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        QUADRATIC_PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        QUADRATIC_METRICS
    }
    fn curves(&self) -> &'static [MetricSpec] {
        &[MetricSpec {
            name: "path",
            doc: "value/(1 + step)",
        }]
    }
    /// A test build can change this method's code identity without recompiling (the
    /// stale-trial tests set `SUBBENCH_TESTKIT_CODE`); otherwise it has the testkit's identity.
    fn code(&self) -> Option<String> {
        std::env::var("SUBBENCH_TESTKIT_CODE").ok()
    }
    fn check(&self, p: &Params) -> Result<(), String> {
        if p.float("x") == 13.0 && p.float("noise") > 0.0 {
            return Err("x = 13 is unlucky with noise (constraint check for tests)".into());
        }
        Ok(())
    }
    fn run(&self, p: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        let x = p.float("x");
        let shift = if p.str("mode") == "shifted" { 1.0 } else { 0.0 };
        let scale: f64 = p.list("weights").iter().sum();
        let noise: f64 = rng.sample(StandardNormal);
        let value = scale * (x * x + shift) + p.float("noise") * noise;
        let curve = (0..p.usize("steps") as u32)
            .map(|s| (s, value / (1.0 + s as f64)))
            .collect();
        Ok(Outcome::new()
            .metric("value", value)
            .metric("draw", rng.gen())
            .metric("theory", scale * (x * x + shift))
            .curve("path", curve))
    }
}

const FLAKY_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "x",
        kind: ParamKind::Int {
            min: -1_000_000,
            max: 1_000_000,
        },
        default: Fallback::Required,
        doc: "the point",
    },
    ParamSpec {
        name: "panic_at",
        kind: ParamKind::Int {
            min: -1,
            max: 1_000_000,
        },
        default: Fallback::Int(-1),
        doc: "panic when x equals it",
    },
    ParamSpec {
        name: "error_at",
        kind: ParamKind::Int {
            min: -1,
            max: 1_000_000,
        },
        default: Fallback::Int(-1),
        doc: "return an error when x equals it",
    },
    ParamSpec {
        name: "nan_at",
        kind: ParamKind::Int {
            min: -1,
            max: 1_000_000,
        },
        default: Fallback::Int(-1),
        doc: "return NaN when x equals it",
    },
    ParamSpec {
        name: "sleep_ms",
        kind: ParamKind::Int {
            min: 0,
            max: 60_000,
        },
        default: Fallback::Int(0),
        doc: "sleep before returning",
    },
];
const FLAKY_METRICS: &[MetricSpec] = &[MetricSpec {
    name: "value",
    doc: "x + U(0,1)",
}];

impl Method for Flaky {
    fn id(&self) -> &'static str {
        "test.flaky"
    }
    fn summary(&self) -> &'static str {
        "fails in chosen ways (test method)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        FLAKY_PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        FLAKY_METRICS
    }
    fn run(&self, p: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        let x = p.int("x");
        std::thread::sleep(std::time::Duration::from_millis(p.usize("sleep_ms") as u64));
        if x == p.int("panic_at") {
            panic!("asked to panic at x = {x}");
        }
        if x == p.int("error_at") {
            return Err(MethodError::Failed(format!("asked to fail at x = {x}")));
        }
        let value = if x == p.int("nan_at") {
            f64::NAN
        } else {
            x as f64 + rng.gen::<f64>()
        };
        Ok(Outcome::new().metric("value", value))
    }
}

/// `value = x`, except that the trial at `x = hang_at` never returns: a built-in method stuck in
/// a loop or a deadlock, which no thread can stop.
pub struct Hang;

const HANG_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "x",
        kind: ParamKind::Int {
            min: -1_000_000,
            max: 1_000_000,
        },
        default: Fallback::Required,
        doc: "the point",
    },
    ParamSpec {
        name: "hang_at",
        kind: ParamKind::Int {
            min: -1,
            max: 1_000_000,
        },
        default: Fallback::Int(-1),
        doc: "never return when x equals it",
    },
];
const HANG_METRICS: &[MetricSpec] = &[MetricSpec {
    name: "value",
    doc: "x",
}];

impl Method for Hang {
    fn id(&self) -> &'static str {
        "test.hang"
    }
    fn summary(&self) -> &'static str {
        "never returns at a chosen point (test method)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        HANG_PARAMS
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        HANG_METRICS
    }
    fn run(&self, p: &Params, _rng: &mut TrialRng) -> Result<Outcome, MethodError> {
        let x = p.int("x");
        if x == p.int("hang_at") {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        Ok(Outcome::new().metric("value", x as f64))
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
}
