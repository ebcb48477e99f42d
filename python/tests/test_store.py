"""subbench.load on stores written by the real binary: typed parameter columns, lists, curves,
failed trials, checksums, and the parts of a run that was killed."""

import csv
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

import subbench
from subbench._store import _kept

# An external method whose worker is the package's helper (subbench.worker): every parameter
# type, a curve, failures on request, and a trial that waits while the file `hold` exists.
MANIFEST = """\
id: py.toy
summary: "x * sum(weights) (+1000 when flag) + U(0,1) from random.Random(seed), with a curve"
command: [python3, worker.py]
files: [worker.py]
params:
  n:       {type: int, range: [1, 100], default: 3, doc: "curve length"}
  x:       {type: float, range: [-10, 10], default: 0.0, doc: "the point"}
  flag:    {type: bool, default: false, doc: "adds 1000"}
  mode:    {type: choice, choices: [ok, error, diverged, hold], default: ok, doc: "how to end"}
  weights: {type: float_list, range: [0, 10], default: [1.0], doc: "x is multiplied by their sum"}
metrics:
  value: "x * sum(weights) (+1000) + U(0,1)"
  max_abs_err: "0, the metric in common with subspace.angles"
curves:
  path: "value / (1 + step)"
"""

WORKER = """\
import os, random, time
from subbench.worker import Diverged, serve

def trial(params, seed):
    if params["mode"] == "error":
        raise ValueError("asked to fail")
    if params["mode"] == "diverged":
        raise Diverged("asked to diverge")
    if params["mode"] == "hold":
        open("held", "w").close()
        while os.path.exists("hold"):
            time.sleep(0.05)
    value = params["x"] * sum(params["weights"]) + 1000 * params["flag"] + random.Random(seed).random()
    return {"metrics": {"value": value, "max_abs_err": 0.0},
            "curves": {"path": [[s, value / (1 + s)] for s in range(params["n"])]}}

if __name__ == "__main__":
    serve(trial)
"""

SPEC = """\
name: toy
title: t
paper: test
claim: c
seed: 5
external: [method/manifest.yaml]
seeds: 2
sweep:
  union:
    - grid: {method: [py.toy], x: [1.5, -2.0], flag: [false, true], weights: [[1.0], [0.5, 0.25]], n: [2, 4]}
    - grid: {method: [py.toy], mode: [error, diverged]}
    - grid: {method: [subspace.angles], n: [10], small: [1.0e-6]}
    - grid: {method: [py.toy], mode: [hold]}
metrics:
  max_abs_err: {}
"""
TOY_OK, FAILED, ANGLES, HELD = 32, 4, 2, 2


def make_spec(folder):
    (folder / "method").mkdir()
    (folder / "method" / "manifest.yaml").write_text(MANIFEST)
    (folder / "method" / "worker.py").write_text(WORKER)
    (folder / "spec.yaml").write_text(SPEC)


def run(binary, folder, **kwargs):
    # The worker's python3 is this interpreter's (a virtual environment's, with subbench in it),
    # found on PATH as `just` puts it there. (A path to a venv's python in `command` does not
    # work: the binary resolves its symlink to the base interpreter, which lacks the package.)
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    return subprocess.Popen([binary, "run", "spec.yaml", "--out", "results", "--no-report", "--jobs", "1"],
                            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **kwargs)


@pytest.fixture(scope="module")
def store(subbench_bin, tmp_path_factory):
    folder = tmp_path_factory.mktemp("store")
    make_spec(folder)
    out, err = run(subbench_bin, folder).communicate(timeout=300)
    assert (folder / "results" / "toy" / "trials.parquet").exists(), err
    return folder / "results" / "toy"


def expected_value(row):
    return row.p_x * sum(row.p_weights) + 1000 * row.p_flag + random.Random(int(row.seed)).random()


def test_load_types_parameters_parses_lists_and_keeps_failures(store):
    trials, curves = subbench.load(store)
    assert len(trials) == TOY_OK + FAILED + ANGLES + HELD
    assert list(trials.columns[:10]) == ["trial_id", "order", "spec", "method", "method_code", "rep",
                                         "seed", "status", "error", "elapsed_s"]
    assert trials["order"].is_monotonic_increasing
    assert str(trials["p_n"].dtype) == "int64"       # both methods have n: no missing value
    assert str(trials["p_flag"].dtype) == "boolean"  # subspace.angles has no flag
    assert str(trials["p_x"].dtype) == "float64"
    assert str(trials["p_small"].dtype) == "float64"
    assert str(trials["m_value"].dtype) == "float64"
    toy = trials[trials["method"] == "py.toy"]
    angles = trials[trials["method"] == "subspace.angles"]
    assert all(isinstance(w, list) and all(isinstance(v, float) for v in w) for w in toy["p_weights"])
    assert {tuple(w) for w in toy["p_weights"]} == {(1.0,), (0.5, 0.25)}
    assert all(w is None for w in angles["p_weights"])
    assert angles["p_flag"].isna().all() and angles["m_value"].isna().all()
    assert all(a == [1.5, 1e-10] for a in angles["p_angles"])
    assert set(toy["p_mode"]) == {"ok", "error", "diverged", "hold"}
    statuses = trials.groupby("status").size().to_dict()
    assert statuses == {"ok": TOY_OK + ANGLES + HELD, "error": 2, "diverged": 2}
    failed = trials[trials["status"] != "ok"]
    assert failed["m_value"].isna().all()
    assert all("asked to fail" in e for e in failed.loc[failed["status"] == "error", "error"])
    assert trials.loc[trials["status"] == "ok", "error"].map(lambda e: e is None).all()
    # Values bit for bit: recomputed here from each trial's parameters and seed.
    ok = toy[toy["status"] == "ok"]
    assert [expected_value(r) for r in ok.itertuples()] == ok["m_value"].tolist()
    # The curves of the ok trials, and of no other.
    assert list(curves.columns) == ["trial_id", "curve", "step", "value"]
    assert set(curves["trial_id"]) == set(ok["trial_id"])
    for row in ok.itertuples():
        curve = curves[curves["trial_id"] == row.trial_id]
        assert curve["step"].tolist() == list(range(row.p_n))
        assert curve["value"].tolist() == [row.m_value / (1 + s) for s in range(row.p_n)]


def test_load_agrees_with_the_csv_the_binary_wrote(store):
    trials, _ = subbench.load(store)
    with open(store / "trials.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["trial_id"] for r in rows] == trials["trial_id"].tolist()
    for row, (_, ours) in zip(rows, trials.iterrows()):
        for name, text in row.items():
            value = ours[name]
            if text == "":
                assert value is None or pd.isna(value), (name, value)
            elif name.startswith("m_") or name in ("p_x", "p_small", "elapsed_s"):
                assert float(text) == value, (name, text, value)
            elif isinstance(value, list):
                assert [float(v) for v in text.strip("[]").split(",")] == value, (name, text)
            elif isinstance(value, (bool, np.bool_)):
                assert text == str(value).lower(), (name, text)
            else:
                assert text == str(value), (name, text, value)


def test_a_damaged_or_missing_file_is_a_store_error_naming_it(store, tmp_path):
    copy = tmp_path / "toy"
    shutil.copytree(store, copy)
    data = bytearray((copy / "trials.parquet").read_bytes())
    data[len(data) // 2] ^= 1
    (copy / "trials.parquet").write_bytes(bytes(data))
    with pytest.raises(subbench.StoreError, match=r"trials\.parquet: damaged: its blake3 checksum"):
        subbench.load(copy)
    shutil.copy(store / "trials.parquet", copy / "trials.parquet")
    subbench.load(copy)
    (copy / "curves.parquet").unlink()
    with pytest.raises(subbench.StoreError, match=r"curves\.parquet: is missing"):
        subbench.load(copy)
    with pytest.raises(subbench.StoreError, match="no such folder"):
        subbench.load(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(subbench.StoreError, match="no trials stored here"):
        subbench.load(tmp_path / "empty")


def test_the_parts_of_a_killed_run_load_as_the_binary_later_consolidates_them(subbench_bin, tmp_path):
    make_spec(tmp_path)
    (tmp_path / "method" / "hold").touch()
    process = run(subbench_bin, tmp_path, start_new_session=True)
    store = tmp_path / "results" / "toy"
    deadline = time.monotonic() + 240
    # The held trials come last in trial order (--jobs 1): once one is held, all before it ran.
    while not (tmp_path / "method" / "held").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    before = TOY_OK + FAILED + ANGLES
    while True:
        try:
            partial, partial_curves = subbench.load(store)
            if len(partial) == before:
                break
        except subbench.StoreError:  # no part written yet
            pass
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()
    assert not (store / "trials.parquet").exists() and list((store / "parts").iterdir())
    assert subbench.load(store)[0].equals(partial)
    # Resume: the binary runs the held trials (failed ones again) and consolidates the parts.
    (tmp_path / "method" / "hold").unlink()
    out, err = run(subbench_bin, tmp_path).communicate(timeout=300)
    assert (store / "trials.parquet").exists(), err
    full, full_curves = subbench.load(store)
    assert len(full) == before + HELD
    kept = full[full["trial_id"].isin(partial["trial_id"]) & (full["status"] == "ok")]
    pd.testing.assert_frame_equal(kept.reset_index(drop=True),
                                  partial[partial["status"] == "ok"].reset_index(drop=True))
    common = full_curves[full_curves["trial_id"].isin(kept["trial_id"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(common, partial_curves.reset_index(drop=True))


def test_duplicates_are_resolved_as_the_binary_resolves_them():
    # (trial id, code identity, status), oldest first.
    rows = [("a", "c1", "ok"), ("a", "c1", "error"),        # an ok row is not replaced by a failure
            ("b", "c1", "error"), ("b", "c1", "ok"),        # a failure is replaced by an ok row
            ("c", "c1", "error"), ("c", "c1", "diverged"),  # among failures, the later one
            ("d", "c1", "ok"), ("d", "c2", "error")]        # another code identity replaces it
    assert sorted(_kept(rows)) == [0, 3, 5, 7]
