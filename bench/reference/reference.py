"""Side-by-side timing of subbench against what a researcher would write with NumPy/SciPy/sklearn.

Run by `just bench-reference`. For each case it prints the time per call or per trial of both and
the ratio subbench/reference (below 1: subbench is faster). Both sides run single-threaded BLAS.
Times are medians (criterion's median on the subbench side, the median of repeated timeit runs
here; per-trial medians for the trials on both sides), so that a burst of load from other
processes moves neither side much. The two sides are measured in alternation, ROUNDS times
(environment SUBBENCH_REFERENCE_ROUNDS, default 3: each round runs the criterion benchmarks and
the two trial specs, then the reference), and the table shows the medians over rounds with the
range of the per-round ratios.

The run also measures this machine's single-thread DGEMM rate on both sides (1000 x 1000 x 1000:
OpenBLAS dgemm on ndarray matrices through `subspace::gemm`, ndarray's own `dot`, numpy's `@`)
and prints, beside each ratio, the GFlop/s each side reaches and its percentage of its own DGEMM
rate. The flop counts are nominal and the same for both sides: the textbook (Golub & Van Loan)
counts of the reference's algorithm (for principal angles: two Householder QRs with Q, the k x k
product and its singular values, 1.6 GFlop at 4000 x 200). A side that does less work than the
textbook algorithm can therefore exceed 100%.

- principal angles: scipy.linalg.subspace_angles vs the criterion benchmark of the subspace crate;
- attack trial: build X = Q1 diag(s) Q2^T (100 x 50), the closed-form rank-one attack, PCA of X + D,
  the subspace distance -- vs `subbench run` of bench/reference/attack-trial.yaml (--jobs 1);
- clustering trial: 120 points on 4 subspaces of R^500, Gaussian compression to n = 50, SSC with
  sklearn's Lasso per point, normalised spectral clustering with sklearn's KMeans -- vs
  bench/reference/cluster-trial.yaml.
"""
import json
import os
import statistics
import warnings
import subprocess
import sys
import time
import timeit
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import scipy.linalg as sl  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import Lasso  # noqa: E402

# subbench also stops at 200 sweeps; sklearn's notice about it is noise here.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
BIN = TARGET / "debug" / "subbench"
rng = np.random.default_rng(0)


def haar(n, k):
    q, r = np.linalg.qr(rng.standard_normal((n, k)))
    return q * np.sign(np.diag(r))


def per_call(f, minimum=0.2, repeats=7):
    """Median time per call over `repeats` runs of at least `minimum` seconds each."""
    number = 1
    while timeit.timeit(f, number=number) < minimum:
        number *= 2
    return statistics.median(timeit.repeat(f, number=number, repeat=repeats)) / number


def criterion_median(group, name):
    path = TARGET / "criterion" / group / name / "new" / "estimates.json"
    return json.loads(path.read_text())["median"]["point_estimate"] * 1e-9


def qr_flops(m, n):
    """Householder QR of an m x n matrix, Q formed explicitly: 2mn^2 - 2n^3/3 twice."""
    return 4 * m * n * n - 4 * n ** 3 / 3


def angle_flops(n, k):
    """The textbook cosine path: orthonormalise both bases, Q_A^T Q_B, its singular values."""
    return 2 * qr_flops(n, k) + 2 * n * k * k + 8 * k ** 3 / 3


def attack_flops(m=100, n=50, k=5):
    """haar(m, n), haar(n, n), X = Q1 diag(s) Q2^T, thin SVD (Golub-Reinsch: Sigma, U1, V:
    14mn^2 + 8n^3), subspace angles of two m x k bases (two thin SVDs of m x k, one k x k)."""
    svd = 14 * m * n * n + 8 * n ** 3
    angles = 2 * (14 * m * k * k + 8 * k ** 3) + 2 * m * k * k
    return qr_flops(m, n) + qr_flops(n, n) + 2 * m * n * n + svd + angles


def dgemm_seconds(n=1000):
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    return per_call(lambda: a @ b, 0.5, 5)


def per_trial(f, count):
    """Median time of `count` single calls: what the per-trial medians of subbench measure."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def subbench_trial_seconds(spec):
    out = TARGET / "reference-results"
    subprocess.run([str(BIN), "run", str(spec), "--out", str(out), "--jobs", "1", "--force", "--no-report"],
                   check=True, stderr=subprocess.DEVNULL)
    name = spec.read_text().split("\n")[0].split(": ")[1]
    table = pq.read_table(out / name / "trials.parquet").to_pydict()
    times = sorted(table["elapsed_s"])
    return times[len(times) // 2]  # median: robust to the first trial's warm-up


def attack_trial():
    m, n, k = 100, 50, 5
    q1, q2 = haar(m, n), haar(n, n)
    s = np.concatenate([1.1 ** np.arange(k - 1, -1, -1), 0.5 * 0.9 ** np.arange(n - k)])
    x = (q1 * s) @ q2.T
    s1, s2 = s[k - 1], s[k]
    eps = 0.5 * (s1 - s2)
    a = s1 ** 2 + s2 ** 2 - eps ** 2
    big1 = np.sqrt(0.5 * (a + np.sqrt(a * a - 4 * s1 ** 2 * s2 ** 2)))
    big2 = s1 * s2 / big1
    theta = np.arctan(abs(s1 ** 2 - big1 ** 2) / (eps * big1))
    phi = np.arctan(abs(big2 ** 2 - s2 ** 2) / (eps * big2))
    left = -np.sin(theta) * q1[:, k - 1] + np.cos(theta) * q1[:, k]
    right = np.cos(phi) * q2[:, k - 1] + np.sin(phi) * q2[:, k]
    u = np.linalg.svd(x + eps * np.outer(left, right), full_matrices=False)[0][:, :k]
    return np.sin(sl.subspace_angles(q1[:, :k], u).max())


def cluster_trial():
    big_n, d, l, p, n = 500, 6, 4, 30, 50
    y = np.concatenate([haar(big_n, d) @ rng.standard_normal((d, p)) for _ in range(l)], axis=1)
    y /= np.linalg.norm(y, axis=0)
    y = (rng.standard_normal((n, big_n)) / np.sqrt(n)) @ y
    y /= np.linalg.norm(y, axis=0)
    count = y.shape[1]
    c = np.zeros((count, count))
    gram = np.abs(y.T @ y)
    np.fill_diagonal(gram, 0)
    for j in range(count):
        others = np.delete(np.arange(count), j)
        lam = 20.0 / gram[:, j].max()
        # ours: ||c||_1 + (lam/2)||y - Yc||^2; sklearn: (1/(2n))||y - Yc||^2 + alpha||c||_1.
        lasso = Lasso(alpha=1.0 / (lam * n), fit_intercept=False, max_iter=200, tol=1e-7)
        lasso.fit(y[:, others], y[:, j])
        c[others, j] = lasso.coef_
    w = np.abs(c) + np.abs(c).T
    dinv = 1 / np.sqrt(np.maximum(w.sum(axis=1), 1e-300))
    vals, vecs = sl.eigh(dinv[:, None] * w * dinv[None, :])
    emb = vecs[:, -l:]
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return KMeans(n_clusters=l, n_init=10, random_state=0).fit_predict(emb)


def blas_description():
    """The OpenBLAS builds numpy and scipy loaded (each wheel bundles its own)."""
    try:
        from threadpoolctl import threadpool_info
        pools = {(p.get("version"), p.get("architecture"), p.get("num_threads"))
                 for p in threadpool_info() if p.get("internal_api") == "openblas"}
        if pools:
            return ", ".join(f"OpenBLAS {v} {a} x{t}" for v, a, t in sorted(pools, key=str))
    except Exception:  # noqa: BLE001 - informational only
        pass
    return "unknown BLAS"


ANGLE_SIZES = [(100, 5), (1000, 50), (4000, 200)]
GEMM_FLOPS = 2 * 1000 ** 3


def subbench_round():
    bench = ["cargo", "bench", "--profile", "dev", "-p", "subspace", "--bench", "angles", "--", "principal_angles|dgemm",
             "--warm-up-time", "2", "--measurement-time", "4"]
    subprocess.run(bench, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times = {f"principal angles {n}x{k}": criterion_median("principal_angles", f"{n}x{k}") for n, k in ANGLE_SIZES}
    times["attack trial 100x50"] = subbench_trial_seconds(ROOT / "bench/reference/attack-trial.yaml")
    times["SSC clustering trial"] = subbench_trial_seconds(ROOT / "bench/reference/cluster-trial.yaml")
    times["dgemm"] = criterion_median("dgemm", "openblas/1000")
    times["dot"] = criterion_median("dgemm", "ndarray_dot/1000")
    return times


def reference_round(bases):
    times = {}
    for (n, k), (a, b) in zip(ANGLE_SIZES, bases):
        times[f"principal angles {n}x{k}"] = per_call(lambda: sl.subspace_angles(a, b))
    times["attack trial 100x50"] = per_trial(attack_trial, 200)
    times["SSC clustering trial"] = per_trial(cluster_trial, 10)
    times["dgemm"] = dgemm_seconds()
    return times


def main():
    rounds = int(os.environ.get("SUBBENCH_REFERENCE_ROUNDS", "3"))
    bases = [(haar(n, k), haar(n, k)) for n, k in ANGLE_SIZES]
    ours, refs = [], []
    for r in range(rounds):
        print(f"round {r + 1}/{rounds}: subbench ...", end="", flush=True)
        ours.append(subbench_round())
        print(" reference ...", flush=True)
        refs.append(reference_round(bases))

    def median(side, key):
        return statistics.median(t[key] for t in side)

    dgemm_ours, dgemm_dot = GEMM_FLOPS / median(ours, "dgemm"), GEMM_FLOPS / median(ours, "dot")
    dgemm_ref = GEMM_FLOPS / median(refs, "dgemm")
    flops = {f"principal angles {n}x{k}": angle_flops(n, k) for n, k in ANGLE_SIZES}
    flops["attack trial 100x50"] = attack_flops()
    # Coordinate-descent Lasso: the flop count depends on how many sweeps converge, so none.
    flops["SSC clustering trial"] = None
    print(f"single-thread DGEMM 1000^3 (median of {rounds} rounds): subbench, system OpenBLAS dgemm via "
          f"subspace::gemm {dgemm_ours / 1e9:.1f} GFlop/s (ndarray .dot, matrixmultiply: "
          f"{dgemm_dot / 1e9:.1f}); numpy, {blas_description()}: {dgemm_ref / 1e9:.1f} GFlop/s")
    print(f"{'case':<26} {'subbench':>11} {'reference':>11} {'ratio':>6} {'(range)':>13}   "
          f"{'subbench GFlop/s (% DGEMM)':>27} {'reference GFlop/s (% DGEMM)':>28}")
    for name, work in flops.items():
        t_ours, t_ref = median(ours, name), median(refs, name)
        ratios = [o[name] / r[name] for o, r in zip(ours, refs)]
        spread = f"({min(ratios):.2f}-{max(ratios):.2f})"
        if work is None:
            rates = f"{'n/a (iterative)':>27} {'n/a (iterative)':>28}"
        else:
            rates = (f"{work / t_ours / 1e9:>16.1f} ({100 * work / t_ours / dgemm_ours:>5.0f}%)    "
                     f"{work / t_ref / 1e9:>17.1f} ({100 * work / t_ref / dgemm_ref:>5.0f}%)")
        print(f"{name:<26} {t_ours * 1e3:>9.3f}ms {t_ref * 1e3:>9.3f}ms {statistics.median(ratios):>6.2f} "
              f"{spread:>13}   {rates}")
    # What subbench's Gram path for orthonormal inputs actually executes: dsyrk twice (nk^2 each),
    # one dgemm (2nk^2), the k x k solves and singular values.
    executed = []
    for n, k in ANGLE_SIZES:
        work = 4 * n * k * k + 2 * k ** 3 + 8 * k ** 3 / 3
        rate = work / median(ours, f"principal angles {n}x{k}")
        executed.append(f"{n}x{k} {work / 1e9:.3f} GFlop, {rate / 1e9:.1f} GFlop/s ({100 * rate / dgemm_ours:.0f}%)")
    print("subbench principal angles, executed flops (Gram path): " + "; ".join(executed))


if __name__ == "__main__":
    sys.exit(main())
