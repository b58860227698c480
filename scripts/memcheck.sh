#!/usr/bin/env bash
# The memory job: zero errors and zero definite leaks from our code.
#
# 1. The engine's Rust tests (library, conformance, hostile corpus, fuzz
#    corpus replay) under AddressSanitizer with LeakSanitizer, where a
#    nightly toolchain exists; under valgrind (memcheck) otherwise.
# 2. The Python package under valgrind: scripts/memchurn.py loads, compiles,
#    runs, sweeps, steps and drops models (and fails to load bad ones) many
#    times through the built extension; valgrind must report no invalid
#    access and no "definitely lost" block allocated from _simlin.
#
#   scripts/memcheck.sh [rust|python]   (default: both)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
what="${1:-all}"
PY="$ROOT/.venv/bin/python"

rust_asan() {
    local target
    target="$(rustc -vV | sed -n 's/^host: //p')"
    echo "==> Rust tests under AddressSanitizer + LeakSanitizer (nightly, $target)"
    # The release profile keeps the run short; debug assertions stay off as in
    # the shipped library. An explicit --target keeps the sanitizer flags
    # away from build scripts and proc macros.
    RUSTFLAGS="-Zsanitizer=address" RUSTDOCFLAGS="-Zsanitizer=address" \
        ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" \
        CARGO_TARGET_DIR="${MEMCHECK_TARGET_DIR:-$HOME/.cache/simlin/asan-target}" \
        cargo +nightly test --release --target "$target" -p simlin \
        --lib --test conformance --test hostile --test fuzz_replay --test robustness
}

rust_valgrind() {
    echo "==> Rust tests under valgrind (no nightly toolchain)"
    local bins
    bins="$(cargo test --release -p simlin --no-run --message-format=json --lib \
        --test hostile --test fuzz_replay 2>/dev/null |
        "$PY" -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("profile", {}).get("test") and m.get("executable"):
        print(m["executable"])')"
    for b in $bins; do
        valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
            --quiet "$b" --test-threads=2
    done
}

python_valgrind() {
    echo "==> Python churn under valgrind"
    # The extension with the system allocator (valgrind cannot see inside
    # mimalloc's pages); `scripts/dev.sh setup` restores the default build.
    MATURIN_PEP517_ARGS="--no-default-features" \
        "$PY" -m pip install --quiet --no-build-isolation -e "$ROOT"
    local log
    log="$(mktemp)"
    # pymalloc hides allocations from valgrind; plain malloc shows them.
    PYTHONMALLOC=malloc valgrind --leak-check=full --show-leak-kinds=definite \
        --errors-for-leak-kinds=definite --num-callers=40 --log-file="$log" \
        "$PY" "$ROOT/scripts/memchurn.py" || true
    "$PY" - "$log" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
blocks = re.split(r"\n==\d+== \n", text)
kinds = r"(Invalid \w+ of size|Invalid free|Conditional jump|Use of uninitialised|Mismatched free|Syscall param)"
errors = [b for b in blocks if re.search(kinds, b)]
# CPython itself is not built for valgrind (no suppression file here): its
# own reports (small-int and object-header reads, the dynamic loader) are
# counted but only reports whose stack passes through _simlin fail the job.
ours = [b for b in errors if "_simlin" in b]
leaks = [b for b in blocks if "definitely lost" in b and "_simlin" in b]
lost = re.search(r"definitely lost: ([\d,]+ bytes in [\d,]+ blocks)", text)
print(f"valgrind: {len(errors)} reports in all, {len(ours)} through _simlin; "
      f"definitely lost in all: {lost.group(1) if lost else '0 bytes'}, "
      f"{len(leaks)} records through _simlin")
for b in (ours + leaks)[:5]:
    print(b)
sys.exit(1 if ours or leaks else 0)
PY
}

case "$what" in
    rust)
        if rustup toolchain list 2>/dev/null | grep -q nightly; then rust_asan; else rust_valgrind; fi ;;
    python) python_valgrind ;;
    all)
        if rustup toolchain list 2>/dev/null | grep -q nightly; then rust_asan; else rust_valgrind; fi
        python_valgrind ;;
    *) echo "usage: scripts/memcheck.sh [rust|python]" >&2; exit 2 ;;
esac
echo "memcheck: clean"
