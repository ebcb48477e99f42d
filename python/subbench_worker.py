"""The worker helper of external methods, at the path the manifests name (`from subbench_worker
import serve, Diverged` with this folder on sys.path). The implementation is the package's
`subbench.worker` (python/src/subbench/worker.py, documented there), loaded from this source tree
so that no installation is needed; nothing is defined here.

The manifests hash this file as the helper's code, not the implementation it loads: its SHA-256
is therefore pinned below, and a changed implementation is refused until the pin is updated,
which changes this file and so reruns the trials of every method that lists it.
"""

import hashlib
import importlib.util
import os

IMPLEMENTATION = os.path.join(os.path.dirname(os.path.abspath(__file__)), "src", "subbench", "worker.py")
IMPLEMENTATION_SHA256 = "9b271853746a676d88acffdd77c11d895a4f440503be7aef1166d401ac8858f1"


def _load():
    with open(IMPLEMENTATION, "rb") as f:
        found = hashlib.sha256(f.read()).hexdigest()
    if found != IMPLEMENTATION_SHA256:
        raise ImportError(
            f"{IMPLEMENTATION} has SHA-256 {found}, not the {IMPLEMENTATION_SHA256} pinned in "
            f"{os.path.abspath(__file__)}: set IMPLEMENTATION_SHA256 there to the new value, so "
            "that the manifests that hash this file rerun their trials"
        )
    spec = importlib.util.spec_from_file_location("_subbench_worker_implementation", IMPLEMENTATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_implementation = _load()
serve, Diverged = _implementation.serve, _implementation.Diverged
__all__ = ["serve", "Diverged"]
