"""Turn a function f(params, seed) -> dict into a subbench worker (standard library only).

A worker reads one JSON request per line on stdin:
    {"trial_id": "<hex>", "seed": <u64>, "params": {<name>: <value>, ...}}
and writes one JSON reply per line on stdout:
    {"metrics": {<name>: <number>, ...}, "curves": {<name>: [[<step>, <value>], ...]}}
    {"error": "<message>"}        (the trial is stored with status `error`)
    {"diverged": "<message>"}     (status `diverged`)
Replies may echo the request's "trial_id" (this helper does): subbench then skips a line that
names another trial (a stray line of an earlier request) instead of taking it as the reply.

Usage, in the worker script a manifest's `command` starts:

    from subbench.worker import serve, Diverged   # with the package installed (pip install ./python)
    # or, with the repository's python/ folder on sys.path and nothing installed:
    # from subbench_worker import serve, Diverged (python/subbench_worker.py loads this file)

    def trial(params, seed):
        rng = random.Random(seed)         # draw only from the seed: results are reproducible
        return {"error": abs(...)}        # metrics; or {"metrics": {...}, "curves": {...}}

    if __name__ == "__main__":
        serve(trial)

`f` returns a dict of metrics, or a dict with "metrics" (and optionally "curves"). Raising
`Diverged` stores the trial as diverged; any other exception as an error, with its traceback on
stderr (subbench keeps a trial's stderr with its error). A metric that is not finite makes the
trial diverged. While `f` runs, `print` goes to stderr: stdout carries the protocol only.
"""

import json
import math
import sys
import traceback

__all__ = ["serve", "Diverged"]


class Diverged(Exception):
    """Raise from f to store the trial with status `diverged`."""


def _reply(result):
    if not isinstance(result, dict):
        return {"error": "the method returned %s, not a dict of metrics" % type(result).__name__}
    if "metrics" in result:
        metrics, curves = result["metrics"], result.get("curves") or {}
    else:
        metrics, curves = result, {}
    clean = {}
    for name, value in metrics.items():
        if value is None:
            return {"error": "metric `%s` is None" % name}
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(value)  # numpy scalars
            except (TypeError, ValueError):
                return {"error": "metric `%s` is %r, not a number" % (name, value)}
        if not math.isfinite(value):
            return {"diverged": "metric `%s` is %r" % (name, value)}
        clean[name] = value
    out = {"metrics": clean}
    if curves:
        out["curves"] = {
            name: [[int(step), float(value)] for step, value in points]
            for name, points in curves.items()
        }
    return out


def serve(f, stdin=None, stdout=None):
    """Answer requests with f until stdin closes."""
    stdin = stdin or sys.stdin
    protocol = stdout or sys.stdout
    # Whatever the method prints goes to stderr, so that stdout carries replies only.
    sys.stdout = sys.stderr
    for line in stdin:
        if not line.strip():
            continue
        request = {}
        try:
            request = json.loads(line)
            reply = _reply(f(request["params"], request["seed"]))
        except Diverged as e:
            reply = {"diverged": str(e) or "diverged"}
        except Exception as e:  # the trial fails, the worker lives on
            traceback.print_exc(file=sys.stderr)
            reply = {"error": "%s: %s" % (type(e).__name__, e)}
        if isinstance(request, dict) and "trial_id" in request:
            reply["trial_id"] = request["trial_id"]  # lets subbench skip a stray earlier line
        try:
            text = json.dumps(reply, allow_nan=False)
        except ValueError as e:
            text = json.dumps({"error": "reply not encodable as JSON: %s" % e})
        sys.stderr.flush()
        protocol.write(text + "\n")
        protocol.flush()
