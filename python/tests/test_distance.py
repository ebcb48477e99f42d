"""Every Grassmann distance against a computation that does not go through principal angles:
projectors, determinants, Frobenius norms and an orthogonal Procrustes fit of orthonormal bases."""

import numpy as np
import pytest

import subbench
from conftest import EPS, pair


def orthonormal(x):
    return np.linalg.qr(x)[0]


def procrustes(ua, ub, ord):
    """min over orthogonal Q of ||ua - ub Q|| (Frobenius: the polar factor of ub^T ua)."""
    w, _, zt = np.linalg.svd(ub.T @ ua)
    return np.linalg.norm(ua - ub @ (w @ zt), ord)


# Independent forms for subspaces of one dimension k, from orthonormal bases ua, ub.
def independent(metric, ua, ub, truth):
    k = ua.shape[1]
    pa, pb = ua @ ua.T, ub @ ub.T
    det = abs(np.linalg.det(ua.T @ ub))  # = prod cos t
    return {
        "asimov": np.arcsin(min(1.0, np.linalg.norm(pa - pb, 2))),
        "binet_cauchy": np.sqrt(1 - det ** 2),
        "chordal": np.linalg.norm(pa - pb, "fro") / np.sqrt(2),
        "fubini_study": np.arccos(det),
        "geodesic": np.sqrt(np.sum(np.arccos(np.clip(np.linalg.svd(ua.T @ ub, compute_uv=False), -1, 1)) ** 2)),
        "martin": np.sqrt(-np.log(det ** 2)),
        "procrustes": procrustes(ua, ub, "fro"),
        "projection": np.linalg.norm(pa - pb, 2),
        "spectral": 2 * np.sin(np.max(truth) / 2),
        "affinity": np.linalg.norm(ua.T @ ub, "fro") / np.sqrt(k),
    }[metric]


# And the closed forms of Ye & Lim, Table 2, from the prescribed angles themselves.
CLOSED = {
    "asimov": lambda t: t.max(),
    "binet_cauchy": lambda t: np.sqrt(1 - np.prod(np.cos(t) ** 2)),
    "chordal": lambda t: np.linalg.norm(np.sin(t)),
    "fubini_study": lambda t: np.arccos(np.prod(np.cos(t))),
    "geodesic": lambda t: np.linalg.norm(t),
    "martin": lambda t: np.sqrt(-np.sum(np.log(np.cos(t) ** 2))),
    "procrustes": lambda t: 2 * np.linalg.norm(np.sin(t / 2)),
    "projection": lambda t: np.sin(t.max()),
    "spectral": lambda t: 2 * np.sin(t.max() / 2),
    "affinity": lambda t: np.linalg.norm(np.cos(t)) / np.sqrt(len(t)),
}


def test_every_distance_of_the_rust_side_has_a_closed_form_here():
    assert set(subbench.METRICS) == set(CLOSED)
    assert len(subbench.METRICS) == 10


@pytest.mark.parametrize("metric", sorted(CLOSED))
def test_distance_against_its_closed_form_and_an_independent_computation(metric):
    truth = np.array([0.3, 0.7, 1.1])
    for seed in range(3):
        # Bases of condition 10: the distance is of the spans, not of the bases given.
        a, b = pair(truth, 12, np.random.default_rng(seed), cond=10.0)
        got = subbench.distance(a, b, metric)
        want = CLOSED[metric](truth)
        # Each form is a smooth function of angles known to 100 eps kappa (kappa = 10), with
        # derivatives below 3 for these angles; the numpy side adds O(n eps) of its own.
        assert abs(got - want) <= 3 * 100 * EPS * 10, (got, want)
        other = independent(metric, orthonormal(a), orthonormal(b), truth)
        assert abs(got - other) <= 3 * 100 * EPS * 10 + 50 * EPS, (got, other)


def test_nested_subspaces_of_different_dimension():
    rng = np.random.default_rng(7)
    a, b = pair([0.0, 0.0], 10, rng, extra=3)  # span(b) inside span(a): every angle 0
    for metric in subbench.METRICS:
        want = 1.0 if metric == "affinity" else 0.0
        assert abs(subbench.distance(a, b, metric) - want) <= 100 * EPS, metric
        assert subbench.distance(a, b, metric) == subbench.distance(b, a, metric)


def test_orthogonal_subspaces_reach_the_top_of_each_range():
    e = np.eye(6)
    a, b = e[:, :2], e[:, 2:4]
    top = {"asimov": np.pi / 2, "binet_cauchy": 1.0, "chordal": np.sqrt(2), "fubini_study": np.pi / 2,
           "geodesic": np.pi / np.sqrt(2), "martin": np.inf, "procrustes": 2.0, "projection": 1.0,
           "spectral": np.sqrt(2), "affinity": 0.0}
    assert set(top) == set(subbench.METRICS)
    for metric, want in top.items():
        got = subbench.distance(a, b, metric)
        assert got == want if np.isinf(want) else abs(got - want) <= 4 * EPS, (metric, got)


def test_metric_names_are_checked_and_spellings_accepted():
    a, b = pair([0.4], 5, np.random.default_rng(8))
    assert subbench.distance(a, b, "Binet-Cauchy") == subbench.distance(a, b, "binet_cauchy")
    with pytest.raises(ValueError, match="unknown distance 'chordial'; accepted: asimov, binet_cauchy"):
        subbench.distance(a, b, "chordial")
    with pytest.raises(ValueError, match="metric: a name, one of asimov"):
        subbench.distance(a, b, 3)
    with pytest.raises(ValueError, match="same ambient space"):
        subbench.distance(a, b[:4], "geodesic")
