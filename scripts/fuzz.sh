#!/usr/bin/env bash
# A fuzz campaign: every cargo-fuzz target for SECONDS each (default 600),
# then the corpus minimized back into fuzz/corpus/<target>. Needs the nightly
# toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Crashes land in
# fuzz/artifacts/<target>/; copy each into fuzz/regressions/<target>/ once
# fixed, so `tests/fuzz_replay.rs` keeps replaying it on stable.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(xmile mdl equation pipeline)
# No sanitizer: the code on these paths is safe Rust (the only `unsafe` is
# the sweep engine's AVX2 dispatch, which no target reaches), and ASan
# costs 3x the executions. The memory job (scripts/memcheck.sh) covers the rest.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/simlin/fuzz-target}"
cargo +nightly fuzz build -O -s none
shared="$(cd .. && pwd)/../shared"
for t in "${targets[@]}"; do
    mkdir -p "corpus-work/$t" "corpus/$t"
    cp -n "corpus/$t"/* "corpus-work/$t/" 2>/dev/null || true
    # Seed with the models of the shared suites (not checked in here).
    case "$t" in
        mdl) find "$shared" -name '*.mdl' -size -64k -exec cp -n {} "corpus-work/$t/" \; 2>/dev/null || true ;;
        xmile) find "$shared" \( -name '*.xmile' -o -name '*.stmx' \) -size -64k \
            -exec cp -n {} "corpus-work/$t/" \; 2>/dev/null || true ;;
        pipeline) find "$shared" \( -name '*.mdl' -o -name '*.xmile' \) -size -64k \
            -exec cp -n {} "corpus-work/$t/" \; 2>/dev/null || true ;;
    esac
    echo "==> $t for ${secs}s"
    # 64 KiB inputs (the targets skip larger ones), 2 GiB RSS, 10 s per input.
    cargo +nightly fuzz run -O -s none "$t" "corpus-work/$t" -- \
        -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 2>&1 | tee "fuzz-$t.log" | grep -E "^(#[0-9]+ +DONE|stat::|==|SUMMARY)" || true
    cargo +nightly fuzz cmin -O -s none "$t" "corpus-work/$t" -- -max_len=65536 -rss_limit_mb=2048 -timeout=10 >/dev/null 2>&1 || true
    # The checked-in corpus (replayed by tests/fuzz_replay.rs on every CI
    # run) keeps the minimized inputs of at most 2 KiB that are not copies
    # of the shared suites' files; corpus-work/ keeps everything.
    # (libFuzzer names each merged input by the SHA-1 of its content.)
    find "$shared" -type f \( -name '*.mdl' -o -name '*.xmile' -o -name '*.stmx' \) \
        -exec sha1sum {} + 2>/dev/null | cut -d' ' -f1 | sort -u > "corpus-work/.shared-$t"
    rm -rf "corpus/$t" && mkdir -p "corpus/$t"
    find "corpus-work/$t" -type f -size -2049c | while read -r f; do
        grep -qx "$(sha1sum < "$f" | cut -d' ' -f1)" "corpus-work/.shared-$t" || cp "$f" "corpus/$t/"
    done
done
