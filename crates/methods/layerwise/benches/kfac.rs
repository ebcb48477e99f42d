//! One stylised KFAC training step (batch 512) of the linear representation model at d_X = 50
//! and 200 (d_Y = 10, k = 4), including drawing the batch.

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

fn kfac(c: &mut Criterion) {
    subspace::force_single_threaded_blas();
    let mut group = c.benchmark_group("kfac_step");
    group.sample_size(10);
    for d in [50, 200] {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let g_star = subspace::haar_orthonormal(d, 4, &mut rng)
            .expect("4 ≤ d")
            .t()
            .to_owned();
        let head = Array2::from_shape_simple_fn((10, 4), || rng.sample::<f64, _>(StandardNormal));
        let task = layerwise::Task {
            head,
            inputs: layerwise::Inputs::new(d, 100.0, &mut rng).expect("valid"),
        };
        let settings = layerwise::Training {
            optimizer: layerwise::Optimizer::Kfac,
            steps: 1,
            batch: 512,
            lr: 1.0,
            adam_lr: 0.01,
            damping: 1e-3,
            noise: 0.1,
        };
        group.throughput(Throughput::Elements(512));
        group.bench_function(
            BenchmarkId::from_parameter(format!("d{d}_batch512")),
            |bench| {
                bench.iter(|| {
                    layerwise::train(&task, &g_star, &settings, None, &mut rng).expect("valid")
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, kfac);
fn main() {
    // The kernels the subbench binary runs with (see subspace::reexec_with_better_blas_kernels).
    subspace::reexec_with_better_blas_kernels();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
