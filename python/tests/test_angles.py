"""principal_angles: the accuracy guarantee (100 eps kappa absolutely, whatever the mix of
angles), the two paths of the Rust side, principal vectors, and bad input."""

import numpy as np
import pytest
import scipy.linalg

import subbench
from subbench import _core
from conftest import EPS, pair

MIXED = [1e-10, 1e-8, 1e-5, np.pi / 4 - 1e-9, np.pi / 4 + 1e-9, 1.5, np.pi / 2 - 1e-9]


def error(truth, got):
    return np.max(np.abs(np.sort(truth) - np.sort(got)))


@pytest.mark.parametrize("seed", range(5))
def test_scipy_loses_the_small_angle_beside_a_large_one_and_ours_keeps_it(seed):
    # The case of compare-angles-small: true angles [1.5, 1e-10] (orthonormal bases, kappa 1).
    truth = np.array([1.5, 1e-10])
    a, b = pair(truth, 6, np.random.default_rng(seed))
    ours = subbench.principal_angles(a, b)
    assert error(truth, ours) <= 100 * EPS
    assert abs(ours[0] - 1e-10) <= 100 * EPS  # ascending: the small one first
    theirs = np.sort(scipy.linalg.subspace_angles(a, b))
    # scipy takes both from one side and reports 0 or ~1.5e-8: off by more than the angle.
    assert abs(theirs[0] - 1e-10) > 0.5e-10, theirs


@pytest.mark.parametrize("small", [1e-14, 1e-12, 1e-10, 1e-8])
def test_the_small_angle_is_kept_for_every_size(small):
    truth = np.array([small, 1.5])
    a, b = pair(truth, 60, np.random.default_rng(21))
    assert abs(subbench.principal_angles(a, b)[0] - small) <= 100 * EPS


@pytest.mark.parametrize("n,cond", [(14, 1.0), (20, 10.0), (40, 1e3), (100, 1e5)])
def test_mixed_angles_within_100_eps_kappa_under_a_change_of_basis(n, cond):
    for seed in range(5):
        a, b = pair(MIXED, n, np.random.default_rng(seed), cond=cond)
        got = subbench.principal_angles(a, b)
        assert np.all(np.diff(got) >= 0), "ascending"
        assert error(MIXED, got) <= 100 * EPS * cond, (seed, error(MIXED, got))


def test_well_conditioned_bases_take_the_gram_path_and_others_householder_both_within_bound():
    truth = [1e-9, 0.7, 1.5]
    rng = np.random.default_rng(3)
    for cond, path in [(1.0, "gram"), (4.0, "gram"), (1e3, "householder"), (1e8, "householder")]:
        a, b = pair(truth, 50, rng, cond=cond)
        angles, taken, _ = _core.principal_angles(a, b, False)
        assert taken == path, (cond, taken)
        assert error(truth, angles) <= 100 * EPS * cond
    # Principal vectors always come from the Householder path.
    a, b = pair(truth, 50, rng)
    assert _core.principal_angles(a, b, True)[1] == "householder"
    assert subbench.GRAM_CONDITION_LIMIT == 64.0


def test_different_dimensions_either_order():
    truth = [1e-9, 0.7, 1.5]
    a, b = pair(truth, 30, np.random.default_rng(4), extra=4)  # a: 30 x 7, b: 30 x 3
    for x, y in [(a, b), (b, a)]:
        got = subbench.principal_angles(x, y)
        assert got.shape == (3,)
        assert error(truth, got) <= 100 * EPS


def test_principal_vectors_realise_the_angles():
    truth = [1e-9, 0.3, 1.2]
    a, b = pair(truth, 20, np.random.default_rng(5), cond=10.0, extra=2)
    angles, u, v = subbench.principal_angles(a, b, vectors=True)
    assert error(truth, angles) <= 100 * EPS * 10
    m = len(truth)
    assert u.shape == v.shape == (20, m)
    tol = 100 * EPS * 10
    assert np.abs(u.T @ u - np.eye(m)).max() <= tol
    assert np.abs(v.T @ v - np.eye(m)).max() <= tol
    assert np.abs(np.diag(u.T @ v) - np.cos(angles)).max() <= tol
    for basis, vecs in [(a, u), (b, v)]:  # each lies in its span: the residual of a projection
        q = np.linalg.qr(basis)[0]
        assert np.abs(vecs - q @ (q.T @ vecs)).max() <= tol


def test_layout_and_dtype_do_not_change_the_result():
    a, b = pair(MIXED, 40, np.random.default_rng(6))
    want = subbench.principal_angles(a, b)
    wide = np.zeros((40, 2 * a.shape[1]))
    wide[:, ::2] = a  # a strided view
    for x in [np.asfortranarray(a), wide[:, ::2], a.tolist()]:
        assert np.array_equal(subbench.principal_angles(x, b), want)
    ints = np.eye(5)[:, :2].astype(int)
    assert np.array_equal(subbench.principal_angles(ints, np.eye(5)[:, 1:3]), [0.0, np.pi / 2])


def test_bad_input_is_a_value_error_saying_what_is_accepted():
    a = np.eye(4)[:, :2]
    cases = {
        "same ambient space": (a, np.eye(3)[:, :2]),
        "linearly independent": (a, np.ones((4, 2))),
        "finite": (a, np.where(np.eye(4)[:, :2] == 1, np.nan, 0.0)),
        "2-D array": (a, np.ones(4)),
        "at least one row and one column": (a, np.zeros((4, 0))),
        "float64": (a, [["x", "y"]] * 4),
    }
    for wanted, (x, y) in cases.items():
        with pytest.raises(ValueError, match=wanted):
            subbench.principal_angles(x, y)
