"""SSC with scikit-learn as a subbench worker (see manifest.yaml)."""
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "python"))
import numpy as np  # noqa: E402
from scipy.optimize import linear_sum_assignment  # noqa: E402
from sklearn.cluster import SpectralClustering  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import Lasso  # noqa: E402

from subbench_worker import serve  # noqa: E402

warnings.filterwarnings("ignore", category=ConvergenceWarning)


def haar(rng, n, d):
    q, r = np.linalg.qr(rng.standard_normal((n, d)))
    return q * np.sign(np.diag(r))


def union_of_subspaces(p, rng):
    """csl.cluster's model: L subspaces of dimension d, optionally sharing a component."""
    n, d, l, per = p["ambient"], p["dim"], p["subspaces"], p["points"]
    rho = p["correlation"]
    shared = haar(rng, n, d)
    columns, labels = [], []
    for label in range(l):
        basis, _ = np.linalg.qr(np.sqrt(rho) * shared + np.sqrt(1 - rho) * haar(rng, n, d))
        for _ in range(per):
            x = basis @ rng.standard_normal(d)
            x /= np.linalg.norm(x)
            if p["noise"] > 0:
                x += rng.standard_normal(n) * (p["noise"] / np.sqrt(n))
            columns.append(x)
            labels.append(label)
    return np.column_stack(columns), np.array(labels)


def ssc(y, alpha, clusters, seed):
    """min ‖c‖₁ + (λ/2)‖y_j − Y c‖², λ = α/μ_j (csl's scaling), in sklearn's Lasso units."""
    y = y / np.maximum(np.linalg.norm(y, axis=0), 1e-300)
    rows, count = y.shape
    c = np.zeros((count, count))
    gram = np.abs(y.T @ y)
    np.fill_diagonal(gram, 0.0)
    for j in range(count):
        others = np.delete(np.arange(count), j)
        mu = max(gram[j].max(), 1e-12)
        # sklearn minimises ‖y − Xw‖²/(2·rows) + a‖w‖₁: a = 1/(λ·rows) = μ/(α·rows).
        lasso = Lasso(alpha=mu / (alpha * rows), fit_intercept=False, max_iter=2000, tol=1e-7)
        lasso.fit(y[:, others], y[:, j])
        c[others, j] = lasso.coef_
    affinity = np.abs(c) + np.abs(c).T
    model = SpectralClustering(
        n_clusters=clusters, affinity="precomputed", random_state=seed % (2**32), n_init=10
    )
    return model.fit_predict(affinity)


def matched_accuracy(truth, predicted, classes):
    confusion = np.zeros((classes, classes))
    for t, q in zip(truth, predicted):
        confusion[t, q] += 1
    rows, cols = linear_sum_assignment(-confusion)
    return confusion[rows, cols].sum() / len(truth)


def trial(params, seed):
    rng = np.random.default_rng(seed)
    y, labels = union_of_subspaces(params, rng)
    phi = rng.standard_normal((params["compressed"], params["ambient"])) / np.sqrt(params["compressed"])
    compressed = phi @ y
    started = time.perf_counter()
    predicted = ssc(compressed, params["ssc_alpha"], params["subspaces"], seed)
    seconds = time.perf_counter() - started
    return {"accuracy": matched_accuracy(labels, predicted, params["subspaces"]), "seconds": seconds}


if __name__ == "__main__":
    serve(trial)
