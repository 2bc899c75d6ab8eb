#!/usr/bin/env bash
# The whole test suite: formatting, the container image and every test (real nats-server, real
# wasm components), on the image's static musl target. Lints: scripts/lint.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '==> %s (at %dm%02ds)\n' "$1" $((SECONDS / 60)) $((SECONDS % 60)); }
bash scripts/setup.sh --image

# Formatting only: clippy (scripts/lint.sh, run before every commit) would compile every
# dependency a second time, in check mode, which CI's time budget has no room for.
step "cargo fmt --check"
cargo fmt --all --check
(cd plugins && cargo fmt --all --check)
# One build serves the suite and the image: the tests run in the image's profile, on its
# target (static musl), so the binary they test is the one the image ships.
musl=x86_64-unknown-linux-musl
test_flags=(--workspace --locked --profile image --target "$musl")
step "build (profile image, $musl)"
cargo test "${test_flags[@]}" --no-run
step "the container image (scripts/image.sh)"
image_tag="hops:$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
HOPS_BINARY="${CARGO_TARGET_DIR:-target}/$musl/image/hops" bash scripts/image.sh --tag "$image_tag"
step "cargo test"
# Figures the tests measured (chaos, flood): printed below once the suite has passed.
figures="${CARGO_TARGET_DIR:-target}/test-artifacts/figures.txt"
rm -f "$figures"
# rustdoc does not read .cargo/config.toml's target rustflags: doctests link like the rest.
export RUSTDOCFLAGS="-C relocation-model=static -C link-arg=-fuse-ld=lld"
HOPS_TEST_IMAGE="$image_tag" cargo test "${test_flags[@]}"
# Bounded fuzzing of every target (fuzz/): a crash fails the suite. Longer: scripts/fuzz.sh 600.
fuzz_seconds="${HOPS_FUZZ_SECONDS:-20}"
step "fuzz (${fuzz_seconds}s per target)"
HOPS_FUZZ_TOOLCHAIN=stable bash scripts/fuzz.sh "$fuzz_seconds"
step "figures the tests measured"
cat "$figures" 2>/dev/null || echo "(none recorded)"
step "done"
