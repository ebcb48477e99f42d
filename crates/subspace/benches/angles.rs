//! Principal angles between two random subspaces, from orthonormalisation to the angles, at the
//! sizes the papers use: (n, k) = (100, 5), (1000, 50), (4000, 200).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use subspace::{force_single_threaded_blas, haar_orthonormal, principal_angles};

fn principal_angles_bench(c: &mut Criterion) {
    force_single_threaded_blas();
    let mut group = c.benchmark_group("principal_angles");
    group.sample_size(10);
    for (n, k) in [(100, 5), (1000, 50), (4000, 200)] {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let a = haar_orthonormal(n, k, &mut rng).expect("k ≤ n");
        let b = haar_orthonormal(n, k, &mut rng).expect("k ≤ n");
        // Work is dominated by two n×k QRs and an n×k SVD: O(n k²) flops.
        group.throughput(Throughput::Elements((n * k * k) as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{n}x{k}")),
            &(a, b),
            |bench, (a, b)| {
                bench.iter(|| principal_angles(a.view(), b.view(), false).expect("full rank"))
            },
        );
    }
    group.finish();
}

criterion_group!(benches, principal_angles_bench);
criterion_main!(benches);
