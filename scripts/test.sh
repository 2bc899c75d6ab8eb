#!/usr/bin/env bash
# The whole test suite: formatting, lints and every test (real nats-server, real wasm components).
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '==> %s (at %dm%02ds)\n' "$1" $((SECONDS / 60)) $((SECONDS % 60)); }
bash scripts/setup.sh --image

step "cargo fmt --check"
cargo fmt --all --check
step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "plugins: fmt and clippy (wasm32-wasip2)"
(cd plugins && cargo fmt --all --check)
CARGO_TARGET_DIR=target/plugins cargo clippy --manifest-path plugins/Cargo.toml --target wasm32-wasip2 --locked -- -D warnings
step "the container image (scripts/image.sh)"
image_tag="hops:$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
bash scripts/image.sh --tag "$image_tag"
step "cargo test"
HOPS_TEST_IMAGE="$image_tag" cargo test --workspace --locked
step "done"
