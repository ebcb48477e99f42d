"""Test worker: see manifest.yaml."""
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "python"))
from subbench_worker import Diverged, serve  # noqa: E402


def trial(params, seed):
    mode = params["mode"]
    time.sleep(params["sleep"])
    rng = random.Random(seed)
    value = params["x"] * sum(params["weights"]) + rng.random() + (1000.0 if params["flag"] else 0.0)
    metrics = {"value": value, "pid": os.getpid()}
    if mode == "error":
        raise ValueError("asked to fail")
    if mode == "diverged":
        raise Diverged("asked to diverge")
    if mode == "exit":
        sys.stderr.write("exiting with 3 on purpose\n")
        sys.stderr.flush()
        os._exit(3)
    if mode == "segfault":
        import ctypes
        ctypes.string_at(0)
    if mode == "garbage":
        sys.__stdout__.write("this is not json\n")
        sys.__stdout__.flush()
        time.sleep(30)
    if mode == "close":
        os.close(1)
        time.sleep(30)
    if mode == "hang":
        time.sleep(1000)
    if mode == "stderr":
        sys.stderr.write("line one of the worker's stderr\n" * 400 + "THE LAST LINE\n")
        raise RuntimeError("failed after a long stderr")
    if mode == "twice":
        # A reply of its own, then the helper's: one line too many for this request.
        sys.__stdout__.write('{"metrics": {"value": -999.0, "pid": %d}}\n' % os.getpid())
        sys.__stdout__.flush()
    if mode == "late":
        import threading  # here, not at the top: start-up counts towards a trial's 1 s timeout
        # A line of its own a moment after the helper's reply: it reaches the next request.
        def stray():
            time.sleep(0.5)
            sys.__stdout__.write('{"metrics": {"value": -999.0, "pid": %d}}\n' % os.getpid())
            sys.__stdout__.flush()
        threading.Thread(target=stray, daemon=True).start()
    if mode == "orphan":
        import subprocess
        # A child that inherits stdout outlives the worker: no end of file, ever.
        child = subprocess.Popen(["sleep", "1000"])
        with open("orphan.pid", "w") as f:
            f.write(str(child.pid))
        os._exit(0)
    if mode == "missing":
        del metrics["pid"]
    if mode == "extra":
        metrics["bonus"] = 1.0
    if mode == "nullmetric":
        return {"metrics": {"value": None, "pid": 1}}
    if mode == "print":
        print("printed by the method; must not break the protocol")
    curve = [[s, value / (1 + s)] for s in range(params["n"])]
    return {"metrics": metrics, "curves": {"path": curve}}


if __name__ == "__main__":
    serve(trial)
