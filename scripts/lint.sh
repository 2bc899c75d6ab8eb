#!/usr/bin/env bash
# Formatting and lints of both workspaces (the host's, and the wasm plugins'). Run it before
# every commit: scripts/test.sh (CI) checks formatting only, to stay inside CI's time budget.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> cargo fmt --check"
cargo fmt --all --check
(cd plugins && cargo fmt --all --check)
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> plugins: clippy (wasm32-wasip2)"
CARGO_TARGET_DIR=target/plugins cargo clippy --manifest-path plugins/Cargo.toml --target wasm32-wasip2 --locked -- -D warnings
