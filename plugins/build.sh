#!/usr/bin/env bash
# Builds every app in plugins/ for wasm32-wasip2 and copies each to target/plugins/<name>.wasm.
# Usage: plugins/build.sh [extra cargo args]      (from anywhere in the repository)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! rustc --print target-libdir --target wasm32-wasip2 >/dev/null 2>&1 \
    || [ ! -d "$(rustc --print target-libdir --target wasm32-wasip2)" ]; then
    echo "error: the wasm32-wasip2 target is not installed; run: rustup target add wasm32-wasip2" >&2
    exit 1
fi
export CARGO_TARGET_DIR="$root/target/plugins"
cargo build --release --target wasm32-wasip2 --manifest-path "$root/plugins/Cargo.toml" "$@"
for manifest in "$root"/plugins/*/Cargo.toml; do
    app="$(basename "$(dirname "$manifest")")"
    cp "$CARGO_TARGET_DIR/wasm32-wasip2/release/$app.wasm" "$CARGO_TARGET_DIR/$app.wasm"
    echo "built target/plugins/$app.wasm"
done
