"""Shared helpers: subspace pairs with prescribed principal angles, and the subbench binary."""

import os
from pathlib import Path

import numpy as np
import pytest

EPS = np.finfo(np.float64).eps
REPO = Path(__file__).resolve().parents[2]


def haar(n, k, rng):
    """n x k with orthonormal columns, Haar distributed."""
    q, r = np.linalg.qr(rng.standard_normal((n, k)))
    return q * np.sign(np.diag(r))


def with_condition(k, cond, rng):
    """A k x k change of basis with condition number `cond` (singular values log-spaced)."""
    return haar(k, k, rng) @ np.diag(np.logspace(0, -np.log10(cond), k)) @ haar(k, k, rng).T


def pair(angles, n, rng, cond=1.0, extra=0):
    """Bases A (n x (k+extra)) and B (n x k) whose spans have the principal angles `angles`,
    randomly rotated; each basis multiplied by a change of basis of condition `cond`."""
    angles = np.asarray(angles, dtype=float)
    k = len(angles)
    q = haar(n, 2 * k + extra, rng)
    a = np.hstack([q[:, :k], q[:, 2 * k:]])
    b = q[:, :k] * np.cos(angles) + q[:, k:2 * k] * np.sin(angles)
    if cond != 1.0:
        a = a @ with_condition(a.shape[1], cond, rng)
        b = b @ with_condition(k, cond, rng)
    return a, b


@pytest.fixture(scope="session")
def subbench_bin():
    """The subbench binary: $SUBBENCH_BIN, else $CARGO_TARGET_DIR (or target/)/debug/subbench.
    Missing is a failure, not a skip: the store tests are worth nothing without it."""
    default = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "debug" / "subbench"
    path = Path(os.environ.get("SUBBENCH_BIN", default))
    if not os.access(path, os.X_OK):
        pytest.fail(f"no subbench binary at {path}: build it (cargo build -p subbench) or set SUBBENCH_BIN")
    return path
