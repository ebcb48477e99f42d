"""Pairs of subspaces with prescribed principal angles, built bit for bit as subbench's
`subspace.angles` builds them (crates/methods/angles/src/lib.rs): SplitMix64 from the trial's
seed, a butterfly of Givens rotations (rows i, i + stride for stride 1, 2, 4, ...) applied to
[I; 0], then
A = [q_0..q_{k-1}, q_{2k}..q_{2k+extra-1}], B_j = cos(t_j) q_j + sin(t_j) q_{k+j}.

Only correctly rounded operations and the C library's sin/cos (math.sin/cos, not numpy's own)
are used, in the same order, so both sides get identical matrices. With numpy the rows are
arrays (elementwise operations round the same way); without it, lists (for the tests).

    python3 pairs.py --dump N K EXTRA SEED    prints the bits of A then B (row-major), as
                                              integers, for angles [1.5, 1e-10, 0.785]
"""

import math
import sys

try:
    import numpy as np
except ImportError:  # the protocol tests run without numpy
    np = None

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next_u64() >> 11) * (1.0 / (1 << 53))


def prescribed_pair(n, k, extra, angles, seed, use_numpy=True):
    """(A, B, sorted true angles); A is n x (k+extra), B is n x k, as nested lists or arrays."""
    m = 2 * k + extra
    assert m <= n and k >= 1 and angles
    numeric = np is not None and use_numpy
    if numeric:
        x = np.zeros((n, m))
        for j in range(m):
            x[j, j] = 1.0
    else:
        x = [[1.0 if i == j else 0.0 for j in range(m)] for i in range(n)]
    rng = SplitMix64(seed)
    stride = 1
    while stride < n:
        first = [i for i in range(n) if i & stride == 0 and i + stride < n]
        phis = [2.0 * math.pi * rng.uniform() for _ in first]
        c = [math.cos(phi) for phi in phis]
        s = [math.sin(phi) for phi in phis]
        if numeric:
            # The rotations of one stride touch disjoint rows: one vectorised step, rounded
            # exactly as the scalar loop.
            top, bottom = np.array(first), np.array(first) + stride
            c, s = np.array(c)[:, None], np.array(s)[:, None]
            p, q = x[top], x[bottom]
            x[top], x[bottom] = c * p - s * q, s * p + c * q
        else:
            for i, ci, si in zip(first, c, s):
                p, q = x[i], x[i + stride]
                x[i] = [ci * a - si * b for a, b in zip(p, q)]
                x[i + stride] = [si * a + ci * b for a, b in zip(p, q)]
        stride *= 2
    theta = [angles[j % len(angles)] for j in range(k)]
    cs = [(math.cos(t), math.sin(t)) for t in theta]
    if numeric:
        a = np.concatenate([x[:, :k], x[:, 2 * k:]], axis=1)
        b = np.empty((n, k))
        for j, (c, s) in enumerate(cs):
            b[:, j] = c * x[:, j] + s * x[:, k + j]
    else:
        a = [row[:k] + row[2 * k:] for row in x]
        b = [[c * row[j] + s * row[k + j] for j, (c, s) in enumerate(cs)] for row in x]
    return a, b, sorted(theta)


def errors(computed, truth):
    """The metrics both sides report: computed and true angles ascending."""
    computed = sorted(float(c) for c in computed)
    max_abs = max(abs(c - t) for c, t in zip(computed, truth))
    small = abs(computed[0] - truth[0])
    return {
        "max_abs_err": max_abs,
        "small_abs_err": small,
        "small_rel_err": small / truth[0] if truth[0] > 0 else 0.0,
    }


if __name__ == "__main__" and sys.argv[1:2] == ["--dump"]:
    import struct

    n, k, extra, seed = (int(v) for v in sys.argv[2:6])
    a, b, _ = prescribed_pair(n, k, extra, [1.5, 1e-10, 0.785], seed, use_numpy=False)
    bits = [struct.unpack("<Q", struct.pack("<d", v))[0] for row in a for v in row]
    bits += [struct.unpack("<Q", struct.pack("<d", v))[0] for row in b for v in row]
    print(" ".join(str(v) for v in bits))
