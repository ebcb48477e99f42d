"""The worker helper: subbench.worker (the package) and python/subbench_worker.py (the shim the
manifests name) speak the protocol of docs/external methods, and are one implementation."""

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys

import pytest

import subbench.worker
from conftest import REPO

TRIAL = """
import math, sys
import numpy as np
{import_line}

def trial(params, seed):
    mode = params["mode"]
    if mode == "curves":
        return {{"metrics": {{"m": seed}}, "curves": {{"c": [(0, 1.5), (np.int64(2), np.float64(0.5))]}}}}
    if mode == "raise":
        raise KeyError("nope")
    if mode == "diverge":
        raise Diverged("blew up")
    if mode == "nan":
        return {{"m": math.nan}}
    if mode == "none":
        return {{"m": None}}
    if mode == "text":
        return {{"m": "three"}}
    if mode == "list":
        return [1]
    if mode == "print":
        print("chatter")
        return {{"m": np.float32(0.25)}}
    return {{"m": params["x"] * 2}}

serve(trial)
"""

REQUESTS = [
    {"trial_id": "t1", "seed": 7, "params": {"mode": "plain", "x": 1.5}},
    {"trial_id": "t2", "seed": 7, "params": {"mode": "curves"}},
    {"trial_id": "t3", "seed": 7, "params": {"mode": "raise"}},
    {"trial_id": "t4", "seed": 7, "params": {"mode": "diverge"}},
    {"trial_id": "t5", "seed": 7, "params": {"mode": "nan"}},
    {"trial_id": "t6", "seed": 7, "params": {"mode": "none"}},
    {"trial_id": "t7", "seed": 7, "params": {"mode": "text"}},
    {"trial_id": "t8", "seed": 7, "params": {"mode": "list"}},
    {"trial_id": "t9", "seed": 7, "params": {"mode": "print"}},
]

WANTED = [
    {"trial_id": "t1", "metrics": {"m": 3.0}},
    {"trial_id": "t2", "metrics": {"m": 7}, "curves": {"c": [[0, 1.5], [2, 0.5]]}},
    {"trial_id": "t3", "error": "KeyError: 'nope'"},
    {"trial_id": "t4", "diverged": "blew up"},
    {"trial_id": "t5", "diverged": "metric `m` is nan"},
    {"trial_id": "t6", "error": "metric `m` is None"},
    {"trial_id": "t7", "error": "metric `m` is 'three', not a number"},
    {"trial_id": "t8", "error": "the method returned list, not a dict of metrics"},
    {"trial_id": "t9", "metrics": {"m": 0.25}},
]


def converse(script, cwd):
    lines = [json.dumps(r) for r in REQUESTS[:2]] + ["", "not json"] + [json.dumps(r) for r in REQUESTS[2:]]
    done = subprocess.run([sys.executable, script], input="\n".join(lines) + "\n", cwd=cwd,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr


@pytest.mark.parametrize("import_line", [
    "from subbench.worker import Diverged, serve",
    f"sys.path.insert(0, {str(REPO / 'python')!r})\nfrom subbench_worker import Diverged, serve",
], ids=["package", "shim"])
def test_the_worker_answers_every_kind_of_trial(import_line, tmp_path):
    (tmp_path / "worker.py").write_text(TRIAL.format(import_line=import_line))
    replies, stderr = converse("worker.py", tmp_path)
    # The blank line is skipped; the line that is not JSON fails alone, and the worker lives on.
    assert replies[:2] == WANTED[:2]
    assert replies[2]["error"].startswith("JSONDecodeError") and "trial_id" not in replies[2]
    assert replies[3:] == WANTED[2:]
    assert "chatter" in stderr  # print goes to stderr: stdout carries the protocol only
    assert "KeyError" in stderr  # the traceback of a failed trial, kept by subbench


def test_the_shim_loads_the_package_implementation_from_the_source_tree():
    spec = importlib.util.spec_from_file_location("shim_under_test", REPO / "python" / "subbench_worker.py")
    shim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shim)
    implementation = REPO / "python" / "src" / "subbench" / "worker.py"
    assert shim.serve.__code__.co_filename == str(implementation)
    assert shim.IMPLEMENTATION_SHA256 == hashlib.sha256(implementation.read_bytes()).hexdigest()
    assert set(shim.__all__) == set(subbench.worker.__all__) == {"serve", "Diverged"}


def test_the_installed_helper_is_the_source_trees():
    installed = open(subbench.worker.__file__, "rb").read()
    assert installed == (REPO / "python" / "src" / "subbench" / "worker.py").read_bytes(), \
        "reinstall the package: pip install ./python"


def test_an_implementation_changed_without_its_pin_is_refused(tmp_path):
    shutil.copy(REPO / "python" / "subbench_worker.py", tmp_path)
    (tmp_path / "src" / "subbench").mkdir(parents=True)
    edited = (REPO / "python" / "src" / "subbench" / "worker.py").read_text() + "# an edit\n"
    (tmp_path / "src" / "subbench" / "worker.py").write_text(edited)
    done = subprocess.run([sys.executable, "-c", "import subbench_worker"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "set IMPLEMENTATION_SHA256 there to the new value" in done.stderr
    assert hashlib.sha256(edited.encode()).hexdigest() in done.stderr
