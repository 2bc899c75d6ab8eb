#!/usr/bin/env bash
# The whole test suite: formatting, lints and every test (real nats-server, real wasm components).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "==> cargo fmt --check"
cargo fmt --all --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> plugins: fmt and clippy (wasm32-wasip2)"
(cd plugins && cargo fmt --all --check)
CARGO_TARGET_DIR=target/plugins cargo clippy --manifest-path plugins/Cargo.toml --target wasm32-wasip2 --locked -- -D warnings
echo "==> cargo test"
cargo test --workspace --locked

