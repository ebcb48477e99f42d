"""Principal angles and Grassmann distances: numpy in, numpy out, computed by the subspace crate."""

import numpy as np

from . import _core

#: The names `distance` accepts ("-" and "_" are interchangeable, case is ignored).
METRICS = tuple(_core.metrics())

#: The largest estimated condition number of a basis for which the Gram path is taken.
GRAM_CONDITION_LIMIT = _core.GRAM_CONDITION_LIMIT


def _basis(x, name):
    """`x` as a 2-D float64 array; anything else is a ValueError naming the argument."""
    try:
        array = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name}: not convertible to a float64 array ({e})") from None
    if array.ndim != 2:
        raise ValueError(
            f"{name}: a basis is a 2-D array (n x k, one column per basis vector), "
            f"not an array of shape {array.shape}"
        )
    return array


def principal_angles(A, B, vectors=False):
    """Principal angles between the column spans of `A` (n x k1) and `B` (n x k2).

    Returns the m = min(k1, k2) angles in radians, ascending (0 <= t1 <= ... <= tm <= pi/2;
    scipy.linalg.subspace_angles returns them descending). The columns need not be orthonormal,
    but they must be linearly independent (numerical rank below the column count is a
    ValueError, as are NaN, infinity, empty bases and different row counts). With
    `vectors=True`, returns `(angles, U, V)`: principal vectors, column i of U in span(A) and of
    V in span(B), unit length, with U[:, i] @ V[:, i] = cos(t_i) >= 0.

    Guarantee: every angle is within 100 * eps * kappa of the true angle of the spans,
    absolutely (eps = 2.2e-16, kappa the larger condition number of the two bases), whatever mix
    of tiny and large angles the pair has: an angle whose cosine is at least 1/sqrt(2) is taken
    from its sine, the others from their cosine (Knyazev & Argentati 2002, Alg. 3.1). scipy
    takes every angle from one side and, for true angles [1.5, 1e-10], reports about 1.5e-8 or
    0 for the small one; this returns it to within 100 eps.

    Algorithm: the Rust crate `subspace` of subbench, the same code as the subbench binary.
    Bases whose estimated condition number is at most GRAM_CONDITION_LIMIT (64), when no
    vectors are asked for, take the Gram path (Cholesky factors of A^T A and B^T B, BLAS-3 only,
    error ~ eps kappa^2, so below 40 eps kappa up to that limit); all others are orthonormalised
    by Householder QR (backward stable, error ~ eps kappa). OpenBLAS runs single-threaded, as
    in the binary, so results do not depend on the thread count; the GIL is released meanwhile.
    """
    a, b = _basis(A, "A"), _basis(B, "B")
    angles, _path, pair = _core.principal_angles(a, b, bool(vectors))
    if vectors:
        return angles, pair[0], pair[1]
    return angles


def distance(A, B, metric):
    """The Grassmann distance `metric` between the column spans of `A` and `B`.

    A function of the principal angles of `principal_angles` (and as accurate), by Ye & Lim
    (2016, Table 2), over the m = min(k1, k2) angles when the dimensions differ (then the
    distance from the smaller subspace to the Schubert variety of the larger, zero when one
    contains the other):

    - asimov:       t_m, the largest angle
    - binet_cauchy: sqrt(1 - prod cos^2 t_i)
    - chordal:      ||sin t||_2 = ||P_A - P_B||_F / sqrt(2)
    - fubini_study: arccos prod cos t_i
    - geodesic:     ||t||_2, the arc length of the Grassmann geodesic
    - martin:       sqrt(-sum log cos^2 t_i) (infinite when an angle is pi/2; not a metric)
    - procrustes:   2 ||sin(t/2)||_2 = min_Q ||U_A - U_B Q||_F
    - projection:   sin t_m = ||P_A - P_B||_2
    - spectral:     2 sin(t_m / 2)
    - affinity:     ||cos t||_2 / sqrt(m), a similarity, not a distance (1 nested, 0 orthogonal)

    Products of cosines are summed as log1p(-sin^2 t), so nearly equal subspaces keep their
    relative accuracy. `metric` is one of METRICS ("-" for "_" and any case accepted); any other
    name is a ValueError listing them.
    """
    if not isinstance(metric, str):
        raise ValueError(f"metric: a name, one of {', '.join(METRICS)}; not {metric!r}")
    a, b = _basis(A, "A"), _basis(B, "B")
    return _core.distance(a, b, metric)
