# subbench — every entry point a user, CI or a method author needs.
# One cargo profile (dev, optimised; see Cargo.toml) serves test, run and bench, so no dependency
# is ever compiled twice.

set shell := ["bash", "-euo", "pipefail", "-c"]

export CARGO_TARGET_DIR := env_var_or_default("CARGO_TARGET_DIR", justfile_directory() / "target")
bin := CARGO_TARGET_DIR / "debug" / "subbench"
# The Python environment the external methods (methods/external/*) run in. Their manifests say
# `python3`, found on PATH: the recipes that run specs put this environment's bin/ first.
venv := CARGO_TARGET_DIR / "external-venv"
with_venv := "PATH=" + venv / "bin" + ":$PATH"

# List the recipes.
default:
    @just --list

# Install what a fresh Debian/Ubuntu machine lacks (OpenBLAS, pkg-config; Python 3 with venv for
# the external methods and their tests). Idempotent.
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    missing=()
    for pkg in libopenblas-dev pkg-config; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    # Any python3 with venv will do (pyenv, conda...); Debian's needs python3-venv beside it.
    python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3 python3-venv)
    [ ${#missing[@]} -eq 0 ] && exit 0
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    else
        echo "subbench needs: ${missing[*]}. Run as an administrator:" >&2
        echo "    sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi

# Build the subbench binary (tests and benches are built by `test` and `bench`).
build: setup
    cargo build --workspace --bins

# Run the whole test suite (unit, property and binary-level integration tests).
test: setup
    cargo test --workspace --features subbench/testkit

# Formatting, clippy with warnings as errors, and the CI workflow against GitHub's schema
# (action-validator from the npm registry, pinned, installed once into the target folder).
lint: setup
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --features subbench/testkit -- -D warnings
    cargo fmt --manifest-path python/Cargo.toml -- --check
    cargo clippy --manifest-path python/Cargo.toml --all-targets -- -D warnings
    [ -x {{CARGO_TARGET_DIR}}/tools/node_modules/.bin/action-validator ] || npm install --silent --prefix {{CARGO_TARGET_DIR}}/tools @action-validator/cli@0.6.0 @action-validator/core@0.6.0
    {{CARGO_TARGET_DIR}}/tools/node_modules/.bin/action-validator .github/workflows/*.yml

# Mutation-fuzz spec parsing and validation for SECONDS (stable toolchain; see
# crates/harness/tests/fuzz_specs.rs). `just test` runs the same fuzzer for 3 s.
fuzz SECONDS="300": setup
    SUBBENCH_FUZZ_SECONDS={{SECONDS}} cargo test -p harness --test fuzz_specs -- --nocapture

# Criterion benchmarks, in the same profile as tests (see Cargo.toml).
bench: setup
    cargo bench --profile dev --workspace

# subbench against a NumPy/SciPy/sklearn reference, side by side: time ratios, GFlop/s and the
# percentage of each side's single-thread DGEMM rate, measured in the same run; the two sides
# alternate SUBBENCH_REFERENCE_ROUNDS times (default 3) and the medians are shown.
bench-reference: build
    cargo bench --profile dev -p subspace --bench angles --no-run
    python3 -m venv {{CARGO_TARGET_DIR}}/reference-venv
    {{CARGO_TARGET_DIR}}/reference-venv/bin/pip install --quiet -r bench/reference/requirements.txt
    {{CARGO_TARGET_DIR}}/reference-venv/bin/python bench/reference/reference.py
    {{CARGO_TARGET_DIR}}/reference-venv/bin/pip install --quiet ./python
    {{CARGO_TARGET_DIR}}/reference-venv/bin/python python/bench.py

# Hidden states written to files for the ShifCon loader spec (specs/shifcon/loaded.yaml).
states: build
    {{bin}} write-states results/shifcon-states --seed 1 --sentences 600

# The Python environment of the external methods: methods/external/*/requirements.txt (pinned),
# made once under the target folder and remade when a requirements file changes.
venv: setup
    #!/usr/bin/env bash
    set -euo pipefail
    stamp="$(cat methods/external/*/requirements.txt | sha256sum | cut -c1-16)"
    if [ "$(cat {{venv}}/.requirements 2>/dev/null)" != "$stamp" ]; then
        rm -rf {{venv}}
        python3 -m venv {{venv}}
        reqs=(); for r in methods/external/*/requirements.txt; do reqs+=(-r "$r"); done
        {{venv}}/bin/pip install --quiet --disable-pip-version-check "${reqs[@]}"
        echo "$stamp" > {{venv}}/.requirements
    fi

# Regenerate every table and figure of the papers (full size), then evaluate every claim under
# the spec's seed and four derived ones (a claim that holds under only some is FRAGILE).
reproduce: build states venv
    {{with_venv}} {{bin}} run specs --out results --reports reports
    {{with_venv}} {{bin}} check specs --reseed 4 --out results --reports reports --markdown reports/check.md --junit reports/check.xml

# The papers' claims as regression checks on the reduced (`quick:`) sweeps, as CI runs them.
check: build states venv
    mkdir -p reports/quick
    {{with_venv}} {{bin}} check specs --quick --out results --reports reports/quick --markdown reports/quick/check.md --junit reports/quick/check.xml

# Compile every LaTeX table of a reports folder with plain pdflatex and booktabs.
latex DIR="reports/quick":
    tests/latex/compile_tables.sh {{DIR}}

# Render the HTML report of every stored result.
report: build
    {{bin}} report results --out reports

# The cost of the external-method protocol: criterion (one no-op Python trial), then a whole run
# of 10,000 no-op trials with --jobs 2 (store included), timed from empty.
bench-external: build
    cargo bench --profile dev -p external
    rm -rf {{CARGO_TARGET_DIR}}/bench-noop
    time {{bin}} run crates/external/benches/noop/sweep.yaml --out {{CARGO_TARGET_DIR}}/bench-noop --jobs 2 --no-report
