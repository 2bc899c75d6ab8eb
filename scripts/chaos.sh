#!/usr/bin/env bash
# The chaos test (host/runtime/tests/all/chaos.rs) at a larger count: two host replicas on a
# 3-node JetStream cluster, one replica and the stream's leader node killed mid-flight.
#
#   scripts/chaos.sh [RUNS]      (default 5000; the test's own default is 1000)
#
# HOPS_LOG=hops_runtime=debug gives the runner's and workers' decisions, to follow a run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
HOPS_CHAOS_RUNS="${1:-5000}" cargo test -p hops-runtime --test all chaos -- --nocapture
