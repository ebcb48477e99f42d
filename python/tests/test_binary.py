"""The package runs the binary's code: `subbench angles` and `subbench distance` on the same
matrices give the same numbers (bit for bit where OpenBLAS runs the binary's kernels)."""

import json
import subprocess

import numpy as np

import subbench
from subbench import _core
from conftest import EPS, pair


def test_angles_and_distances_equal_the_binarys(subbench_bin, tmp_path):
    # Well and ill conditioned: the Gram path and the Householder path.
    for cond in [1.0, 1e4]:
        a, b = pair([1e-10, 0.3, 1.5], 40, np.random.default_rng(11), cond=cond, extra=2)
        np.save(tmp_path / "a.npy", a)
        np.save(tmp_path / "b.npy", b)
        out = subprocess.run([subbench_bin, "angles", tmp_path / "a.npy", tmp_path / "b.npy", "--json"],
                             check=True, capture_output=True, text=True).stdout
        binary = np.array(json.loads(out)["angles"])
        ours = subbench.principal_angles(a, b)
        out = subprocess.run([subbench_bin, "distance", tmp_path / "a.npy", tmp_path / "b.npy"],
                             check=True, capture_output=True, text=True).stdout
        binary_distances = {name: float(value) for name, value in (line.split() for line in out.splitlines())}
        assert set(binary_distances) == set(subbench.METRICS)
        ours_distances = {m: subbench.distance(a, b, m) for m in subbench.METRICS}
        # The binary pins OpenBLAS to its Haswell kernels on every CPU with AVX2 and FMA.
        if _core.BLAS_CORE.lower() == "haswell":
            assert ours.tolist() == binary.tolist()
            assert ours_distances == binary_distances
        else:
            assert np.abs(ours - binary).max() <= 200 * EPS * cond
