//! The cost of the worker protocol: one trial of a no-op Python worker (request written, JSON
//! parsed by Python, reply read and checked), against a no-op built-in method as the floor.
//! The whole-run figure (10,000 trials with --jobs 2, store included) is `just bench-external`.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use harness::{Method, Params, Registry, TrialContext, TrialRng, Value};
use rand::SeedableRng;

fn protocol(c: &mut Criterion) {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/noop/manifest.yaml");
    let method = external::load(&manifest, &Registry::new()).expect("the bench manifest loads");
    let x = Value::Int(7);
    let params = Params::validate(method.params(), [("x", &x)], method.id(), |_| {
        unreachable!("no file parameters")
    })
    .expect("x is declared");
    let mut rng = TrialRng::seed_from_u64(1);
    let context = TrialContext {
        trial_id: "00000000000000ff",
        seed: 42,
        deadline: Some(Instant::now() + Duration::from_secs(3600)),
    };
    // Start the worker before measuring: its start-up is paid once per worker thread.
    method.run_trial(&context, &params, &mut rng).unwrap();
    c.bench_function("external no-op trial (python3 worker)", |b| {
        b.iter(|| method.run_trial(&context, &params, &mut rng).unwrap())
    });
}

criterion_group!(benches, protocol);
criterion_main!(benches);
