"""subbench from Python: the subspace crate's principal angles and Grassmann distances on numpy
arrays, result stores as pandas frames, and the worker helper of external methods.

    import subbench
    subbench.principal_angles(A, B)              # ascending, radians; accurate to 100 eps kappa
    subbench.distance(A, B, metric="geodesic")   # any name in subbench.METRICS
    trials, curves = subbench.load("results/compare-angles-small")

`subbench.worker` (serve, Diverged) turns a function into the worker of an external method.
See docs/python.md in the repository.
"""

from ._angles import GRAM_CONDITION_LIMIT, METRICS, distance, principal_angles
from ._store import StoreError, load

__all__ = [
    "principal_angles",
    "distance",
    "load",
    "METRICS",
    "GRAM_CONDITION_LIMIT",
    "StoreError",
]
