"""subbench.principal_angles against scipy.linalg.subspace_angles, from Python, on one thread.

    python python/bench.py      (in an environment with the package: pip install ./python)

For each size n x k (two Haar-random bases, as bench/reference/reference.py times the Rust side),
prints the median time per call of both (median of 7 timeit runs of at least 0.2 s each) and the
ratio subbench/scipy (below 1: subbench is faster). Both run single-threaded BLAS: the package
always does (as the binary), scipy's OpenBLAS is limited here by OPENBLAS_NUM_THREADS=1. The
time includes the call from Python (argument conversion, the GIL released and taken back).
"""
import os
import statistics
import timeit

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402

import subbench  # noqa: E402

SIZES = [(100, 5), (1000, 50), (4000, 200)]


def haar(rng, n, k):
    q, r = np.linalg.qr(rng.standard_normal((n, k)))
    return q * np.sign(np.diag(r))


def per_call(f, minimum=0.2, repeats=7):
    number = 1
    while timeit.timeit(f, number=number) < minimum:
        number *= 2
    return statistics.median(timeit.repeat(f, number=number, repeat=repeats)) / number


def main():
    rng = np.random.default_rng(0)
    print(f"{'size':<12} {'subbench':>11} {'scipy':>11} {'ratio':>6}")
    for n, k in SIZES:
        a, b = haar(rng, n, k), haar(rng, n, k)
        ours = per_call(lambda: subbench.principal_angles(a, b))
        theirs = per_call(lambda: scipy.linalg.subspace_angles(a, b))
        print(f"{f'{n}x{k}':<12} {ours * 1e3:>9.3f}ms {theirs * 1e3:>9.3f}ms {ours / theirs:>6.2f}")


if __name__ == "__main__":
    main()
