#!/usr/bin/env bash
# The quickstart: build Hops and check the example project.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo run --locked -p hops -- validate examples/quickstart "$@"
