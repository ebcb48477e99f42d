//! The SSC solver (Lasso coordinate descent on every point) on compressed data: 120 points on
//! 4 subspaces of dimension 6, compressed to n = 12, 50, 200.

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

fn ssc(c: &mut Criterion) {
    subspace::force_single_threaded_blas();
    let mut group = c.benchmark_group("ssc_affinity");
    group.sample_size(10);
    for n in [12, 50, 200] {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        // Points on 4 random 6-dimensional subspaces of R^n (a compressed union of subspaces).
        let mut y = Array2::<f64>::zeros((n, 120));
        for class in 0..4 {
            let basis = subspace::haar_orthonormal(n, 6.min(n), &mut rng).expect("6 ≤ n");
            for j in 0..30 {
                let w: ndarray::Array1<f64> = (0..basis.ncols())
                    .map(|_| rng.sample::<f64, _>(StandardNormal))
                    .collect();
                y.column_mut(class * 30 + j).assign(&basis.dot(&w));
            }
        }
        group.throughput(Throughput::Elements(120));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("n{n}_p120")),
            &y,
            |bench, y| bench.iter(|| csl::ssc_affinity(y.view(), 20.0)),
        );
    }
    group.finish();
}

criterion_group!(benches, ssc);
fn main() {
    // The kernels the subbench binary runs with (see subspace::reexec_with_better_blas_kernels).
    subspace::reexec_with_better_blas_kernels();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
