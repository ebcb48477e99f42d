//! One CoLoRA alternating-least-squares sweep (S-, A- and B-steps) for k = 10 users with 30
//! samples each, rank 3, at d = 25, 50 and 100.

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn als(c: &mut Criterion) {
    subspace::force_single_threaded_blas();
    let mut group = c.benchmark_group("colora_als_sweep");
    group.sample_size(10);
    for d in [25, 50, 100] {
        let spec = colora::ProblemSpec {
            d_in: d,
            d_out: d,
            rank: 3,
            users: 10,
            samples: 30,
            theta: 0.0,
            clusters: 1,
            noise: 0.1,
            condition: 1.0,
            truth_block: colora::Block::Full,
        };
        let problem = spec
            .draw(&mut ChaCha8Rng::seed_from_u64(4))
            .expect("valid sizes");
        group.throughput(Throughput::Elements(10));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("d{d}")),
            &problem,
            |bench, p| bench.iter(|| colora::colora(&p.users, 3, 1, colora::Block::Full, None)),
        );
    }
    group.finish();
}

criterion_group!(benches, als);
fn main() {
    // The kernels the subbench binary runs with (see subspace::reexec_with_better_blas_kernels).
    subspace::reexec_with_better_blas_kernels();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
