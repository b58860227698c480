#!/usr/bin/env bash
# Developer entry point.
#
#   bash scripts/dev.sh setup     create .venv, install maturin and the package (editable, [dev])
#   bash scripts/dev.sh example   setup, then simulate examples/teacup.xmile and print CSV
#   bash scripts/dev.sh test      setup, then every check CI runs; stops at the first failure
#
# Needs a Rust toolchain (cargo, rustfmt, clippy) and Python >= 3.10.
# Builds go to $CARGO_TARGET_DIR (default ~/.cache/simlin/target), outside the
# clone, so rebuilds are incremental and the working tree stays clean.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/simlin/target}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
# The oldest Polars the expression plugin supports (pyproject.toml pins it);
# tests/test_plugin.py also runs against it, in a second venv that imports the
# package from python/ (where the editable install put the native module).
MIN_POLARS="1.28.1"
MIN_VENV="$ROOT/.venv-polars-min"
# The release-style wheel (built as .github/workflows/release.yml builds it)
# and the fresh venv the Python tests run in, against the installed wheel.
WHEEL_DIR="$CARGO_TARGET_DIR/simlin-wheel"
WHEEL_VENV="$ROOT/.venv-wheel"
# The wheel with pandas and nothing else: sweeps must not need Polars or pyarrow.
PANDAS_VENV="$ROOT/.venv-pandas-only"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# step NAME CMD...: run one step with timing; on failure name it and stop.
step() {
    local name="$1"
    shift
    local t0
    t0="$(now)"
    echo "==> $name"
    if "$@" </dev/null; then
        echo "<== $name: ok ($(elapsed "$t0"))"
    else
        local rc=$?
        echo "<== $name: FAILED (exit $rc, $(elapsed "$t0"))" >&2
        echo "dev.sh: step '$name' failed" >&2
        exit "$rc"
    fi
}

find_python() {
    local p
    for p in python3 python; do
        if command -v "$p" >/dev/null 2>&1 &&
            "$p" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
            echo "$p"
            return 0
        fi
    done
    echo "dev.sh: need Python >= 3.10 (python3 on PATH)" >&2
    return 1
}

make_venv() {
    if [ ! -x "$PY" ]; then
        local python
        python="$(find_python)" || return 1
        "$python" -m venv "$VENV"
    fi
}

setup() {
    step "create .venv" make_venv
    step "upgrade pip" "$PY" -m pip install --quiet --upgrade pip
    step "install maturin" "$PY" -m pip install --quiet maturin
    step "install simlin (editable, [dev])" "$PY" -m pip install --quiet -e '.[dev]'
}

polars_min_env() {
    if [ ! -x "$MIN_VENV/bin/python" ]; then
        local python
        python="$(find_python)" || return 1
        "$python" -m venv "$MIN_VENV"
    fi
    "$MIN_VENV/bin/python" -m pip install --quiet "polars==$MIN_POLARS" "numpy>=1.24" "tqdm>=4.64" "pytest>=7"
}

polars_min_tests() {
    # -s shows the Polars version the first test prints.
    PYTHONPATH="$ROOT/python" "$MIN_VENV/bin/python" -m pytest -q -s -p no:cacheprovider \
        tests/test_plugin.py
}

lint_workflows() {
    "$VENV/bin/check-jsonschema" --builtin-schema vendor.github-workflows .github/workflows/*.yml &&
        "$VENV/bin/zizmor" --offline --quiet --config .github/zizmor.yml .github/workflows/
}

build_wheel() {
    rm -rf "$WHEEL_DIR"
    "$VENV/bin/maturin" build --profile dist --strip --out "$WHEEL_DIR" &&
        "$VENV/bin/python" scripts/wheel_size.py "$WHEEL_DIR"
}

# PATH without the Rust toolchain: the wheel must not need it.
path_without_rust() {
    echo "$PATH" | tr ':' '\n' | grep -v -e '\.cargo' -e 'rustup' | paste -sd: -
}

wheel_env() {
    rm -rf "$WHEEL_VENV"
    local python
    python="$(find_python)" || return 1
    "$python" -m venv "$WHEEL_VENV" &&
        "$WHEEL_VENV/bin/python" -m pip install --quiet "$(ls "$WHEEL_DIR"/*.whl)[pandas,polars,pyarrow]" \
            "pytest>=7" "dask[distributed]>=2024.1" "xarray>=2023.1" "matplotlib>=3.6" \
            "nbclient>=0.9" "nbformat>=5.9" "ipykernel>=6.0" &&
        (cd /tmp && PATH="$(path_without_rust)" "$WHEEL_VENV/bin/python" -c \
            'import simlin, sys; f = simlin.__file__; print(f); sys.exit("site-packages" not in f)')
}

wheel_tests() {
    PATH="$(path_without_rust)" "$WHEEL_VENV/bin/python" -m pytest -q -p no:cacheprovider tests
}

pandas_only_env() {
    rm -rf "$PANDAS_VENV"
    local python
    python="$(find_python)" || return 1
    "$python" -m venv "$PANDAS_VENV" &&
        "$PANDAS_VENV/bin/python" -m pip install --quiet "$(ls "$WHEEL_DIR"/*.whl)[pandas]" "pytest>=7" &&
        "$PANDAS_VENV/bin/python" -c 'import importlib.util as u, sys
missing = [m for m in ("polars", "pyarrow") if u.find_spec(m) is None]
sys.exit(0 if len(missing) == 2 else f"expected no polars/pyarrow, missing only {missing}")'
}

pandas_only_tests() {
    PATH="$(path_without_rust)" "$PANDAS_VENV/bin/python" -m pytest -q -p no:cacheprovider \
        tests/test_sweep_frames.py
}

example() {
    setup
    step "simlin run examples/teacup.xmile" "$VENV/bin/simlin" run examples/teacup.xmile
}

run_tests() {
    setup
    step "cargo fmt --check" cargo fmt --all --check
    step "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
    step "cargo test" cargo test
    step "cargo bench --no-run" cargo bench --no-run
    step "ruff check" "$VENV/bin/ruff" check .
    step "ruff format --check" "$VENV/bin/ruff" format --check .
    step "mypy --strict" "$VENV/bin/mypy" --strict python/simlin tests
    step "stubtest (_simlin.pyi against the built module)" "$VENV/bin/python" -m mypy.stubtest simlin._simlin
    step "workflows (check-jsonschema, zizmor)" lint_workflows
    step "docs site (mkdocs build --strict)" env NO_MKDOCS_2_WARNING=1 "$VENV/bin/mkdocs" build \
        --strict --quiet --site-dir "$CARGO_TARGET_DIR/simlin-site"
    step "build the release wheel" build_wheel
    step "fresh venv with the wheel" wheel_env
    step "pytest (installed wheel, no Rust on PATH)" wheel_tests
    step "venv with the wheel and pandas only" pandas_only_env
    step "pytest tests/test_sweep_frames.py (no polars, no pyarrow)" pandas_only_tests
    step "venv with polars==$MIN_POLARS" polars_min_env
    step "pytest tests/test_plugin.py (polars==$MIN_POLARS)" polars_min_tests
}

usage() {
    sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

T0="$(now)"
case "${1:-}" in
    setup) setup ;;
    example) example ;;
    test) run_tests ;;
    -h | --help | help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
esac
echo "dev.sh ${1}: all steps passed ($(elapsed "$T0"))"
