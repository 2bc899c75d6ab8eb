#!/usr/bin/env bash
# Profiles a `hops bench` run with perf (software cpu-clock samples on every CPU, so the
# nats-server and both hops processes are seen) and prints where the time goes, grouped by
# area (scripts/perf_groups.py). Needs `perf` (Debian: linux-perf) and a release build:
#   cargo build --release -p hops && bash scripts/profile-bench.sh [extra hops bench flags]
# HOPS_BIN overrides the binary; PROFILE_DIR keeps perf.data (default: a scratch directory).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
hops="${HOPS_BIN:-$root/target/release/hops}"
dir="${PROFILE_DIR:-$(mktemp -d)}"
mkdir -p "$dir"
command -v perf >/dev/null || { echo "perf not found: apt-get install linux-perf" >&2; exit 1; }
[ -x "$hops" ] || { echo "no $hops: cargo build --release -p hops" >&2; exit 1; }
perf record -a -e cpu-clock -F 1000 -o "$dir/perf.data" -- \
  "$hops" bench --runs 100 --duration 15 --plugins "$root/target/plugins" "$@"
perf script -i "$dir/perf.data" -F pid,comm,time,ip,sym,dso 2>/dev/null | python3 "$root/scripts/perf_groups.py"
echo "(perf data: $dir/perf.data)"
