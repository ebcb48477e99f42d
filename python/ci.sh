#!/usr/bin/env bash
# Test the Python package as a user gets it: a fresh virtual environment in a temporary folder,
# `pip install ./python` into it, then pytest on python/tests. Exits non-zero when a test fails
# or when none ran (pytest's exit 5). Called by .ci/run; runs from any folder.
#
# Cargo artefacts go to $CARGO_TARGET_DIR (default: the repository's target/): the package is
# built in the dev profile of the root workspace (see python/Cargo.toml), so the dependencies
# the workspace compiled there with the same features are reused (measured: 190 s for the first
# build beside a built workspace, 2 s after that). The store tests run the subbench binary of that
# folder, built here with `cargo build --workspace --bins` (what `just build` runs: a no-op
# after it).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
python="${PYTHON:-python3}"
pip_quiet=(--quiet --disable-pip-version-check)

# A fresh environment every run, at a fixed path: pyo3's build script reruns (and pyo3, numpy
# and the extension recompile, 50 s) whenever the interpreter's path changes, as with mktemp.
# The lock keeps two runs on one machine from sharing it.
scratch="${TMPDIR:-/tmp}/subbench-python-ci"
mkdir -p "$scratch"
exec 9>"$scratch.lock"
flock 9
rm -rf "$scratch"
mkdir "$scratch"
trap 'rm -rf "$scratch"' EXIT
start=$SECONDS
"$python" -m venv "$scratch/venv"
export PATH="$scratch/venv/bin:$PATH"  # as if activated: the build backend runs `maturin`
"$scratch/venv/bin/pip" install "${pip_quiet[@]}" -r python/requirements-test.txt
echo "python/ci.sh: test environment made in $((SECONDS - start)) s"

start=$SECONDS
"$scratch/venv/bin/pip" install "${pip_quiet[@]}" --no-build-isolation ./python
echo "python/ci.sh: pip install ./python in $((SECONDS - start)) s"

start=$SECONDS
cargo build --quiet --workspace --bins
export SUBBENCH_BIN="$CARGO_TARGET_DIR/debug/subbench"
echo "python/ci.sh: subbench binary ready in $((SECONDS - start)) s"

# From the scratch folder, so that nothing of the source tree shadows the installed package.
cd "$scratch"
"$scratch/venv/bin/python" -m pytest "$repo/python/tests" -p no:cacheprovider -q
