"""A no-op subbench worker (see manifest.yaml)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "python"))
from subbench_worker import serve  # noqa: E402

if __name__ == "__main__":
    serve(lambda params, seed: {"x": params["x"]})
