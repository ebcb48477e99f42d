//! Principal angles between two random subspaces, from orthonormalisation to the angles, at the
//! sizes the papers use: (n, k) = (100, 5), (1000, 50), (4000, 200).

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
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
        // O(n k²) flops: Gram matrices and one cross product (two QRs on the fallback path).
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

/// PCA (top-k left singular subspace) of an m × n data matrix.
fn pca_bench(c: &mut Criterion) {
    force_single_threaded_blas();
    let mut group = c.benchmark_group("pca");
    group.sample_size(10);
    for (m, n, k) in [(100, 50, 5), (1000, 500, 20)] {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let x = subspace::matrix_with_condition(m.max(n), 10.0, &mut rng).expect("cond ≥ 1");
        let x = x.slice(ndarray::s![..m, ..n]).to_owned();
        group.throughput(Throughput::Elements((m * n * n.min(m)) as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{m}x{n}_k{k}")),
            &x,
            |bench, x| {
                bench.iter(|| {
                    subspace::top_left_singular_subspace(x.view(), k).expect("k ≤ min(m, n)")
                })
            },
        );
    }
    group.finish();
}

/// This machine's single-thread DGEMM rate, the yardstick `just bench-reference` divides by:
/// OpenBLAS `dgemm` on ndarray matrices ([`subspace::gemm`]), and ndarray's own `dot` (which
/// runs `matrixmultiply` in this workspace) for comparison. 2n³ flops per call.
fn dgemm_bench(c: &mut Criterion) {
    force_single_threaded_blas();
    let mut group = c.benchmark_group("dgemm");
    group.sample_size(10);
    let n = 1000;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let a = subspace::gaussian_matrix(n, n, &mut rng);
    let b = subspace::gaussian_matrix(n, n, &mut rng);
    group.throughput(Throughput::Elements((2 * n * n * n) as u64));
    group.bench_function(BenchmarkId::new("openblas", n), |bench| {
        bench.iter(|| subspace::gemm(a.view(), b.view()))
    });
    group.bench_function(BenchmarkId::new("ndarray_dot", n), |bench| {
        bench.iter(|| a.dot(&b))
    });
    group.finish();
}

criterion_group!(benches, principal_angles_bench, pca_bench, dgemm_bench);
fn main() {
    // The kernels the subbench binary runs with (see subspace::reexec_with_better_blas_kernels).
    subspace::reexec_with_better_blas_kernels();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
