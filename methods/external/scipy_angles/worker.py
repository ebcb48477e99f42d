"""scipy.subspace_angles as a subbench worker (see manifest.yaml)."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "python"))
import scipy.linalg  # noqa: E402

from pairs import errors, prescribed_pair  # noqa: E402
from subbench_worker import serve  # noqa: E402


def trial(params, seed):
    angles = ([params["small"]] if params["small"] > 0 else []) + params["angles"]
    a, b, truth = prescribed_pair(params["n"], params["k"], params["extra"], angles, seed)
    best = float("inf")
    for _ in range(params["repeats"]):
        started = time.perf_counter()
        theta = scipy.linalg.subspace_angles(a, b)
        best = min(best, time.perf_counter() - started)
    metrics = errors(theta, truth)
    metrics["seconds"] = best
    return metrics


if __name__ == "__main__":
    serve(trial)
