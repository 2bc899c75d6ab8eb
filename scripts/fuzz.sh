#!/usr/bin/env bash
# Bounded libFuzzer runs of the targets in fuzz/ (cargo-fuzz): every `.hops` file, source event,
# API request body and app settings file the host can be handed.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 60 s, every target)
#
# Seeds come from testdata/ (testdata/pipelines for `pipeline`, testdata/fuzz/<target> for the
# others); what the fuzzer learns goes to target/fuzz-corpus/<target>, which later runs reuse.
# A crash stops the run and leaves its input in fuzz/artifacts/<target>/: reproduce it with
# `cargo fuzz run <target> <file>` in fuzz/, then turn it into a regression test beside the code.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(pipeline source_event api_request app_settings)
command -v cargo-fuzz >/dev/null || bash scripts/setup.sh --fuzz

# cargo-fuzz's instrumentation flags are nightly-only: use a nightly toolchain when there is one,
# else let the stable compiler accept them (the same compiler, its unstable flags unlocked).
# HOPS_FUZZ_TOOLCHAIN=stable picks the latter even where nightly is installed (the suite does:
# the same compiler on every machine).
if [ "${HOPS_FUZZ_TOOLCHAIN:-}" != stable ] && rustup run nightly rustc --version >/dev/null 2>&1; then
    cargo=(cargo +nightly)
else
    export RUSTC_BOOTSTRAP=1
    cargo=(cargo)
fi
root="$PWD"
export CARGO_TARGET_DIR="$root/target/fuzz"
cd fuzz
"${cargo[@]}" fuzz build -O -s none
for target in "${targets[@]}"; do
    seeds="$root/testdata/fuzz/$target"
    [ "$target" = pipeline ] && seeds="$root/testdata/pipelines"
    corpus="$root/target/fuzz-corpus/$target"
    mkdir -p "$corpus"
    before="$(ls "artifacts/$target" 2>/dev/null || true)"
    printf '==> fuzz %s for %ss\n' "$target" "$seconds"
    "${cargo[@]}" fuzz run -O -s none "$target" "$corpus" "$seeds" -- \
        -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 -timeout=10 \
        -print_final_stats=1 2>&1 | grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|thread|SUMMARY|panicked|Done)' || true
    if [ "$(ls "artifacts/$target" 2>/dev/null || true)" != "$before" ]; then
        echo "fuzz $target: crashing inputs in fuzz/artifacts/$target" >&2
        exit 1
    fi
done
