#!/usr/bin/env bash
# The quickstart, in local mode: build Hops and the echo app, start `hops up` on the example
# project (it starts its own nats-server), run the example task through the real wasm app,
# show the run's timeline, then stop everything (no process left behind).
#
# Overrides (used by the test suite): HOPS_BIN (a built hops; skips set-up and builds),
# HOPS_ECHO_WASM (a built echo app), QUICKSTART_DIR (a copy of examples/quickstart),
# HOPS_API_ADDR (default 127.0.0.1:8916).
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${QUICKSTART_DIR:-examples/quickstart}"
addr="${HOPS_API_ADDR:-127.0.0.1:8916}"
if [ -z "${HOPS_BIN:-}" ]; then
  bash scripts/setup.sh
  cargo build --locked -p hops
  HOPS_BIN=target/debug/hops
fi
if [ -z "${HOPS_ECHO_WASM:-}" ]; then
  bash plugins/build.sh >/dev/null
  HOPS_ECHO_WASM=target/plugins/echo.wasm
fi
hops() { "$HOPS_BIN" "$@"; }

mkdir -p "$dir/plugins"
cp "$HOPS_ECHO_WASM" "$dir/plugins/echo.wasm"
hops validate "$dir"

echo "==> hops up $dir (API on $addr)"
HOPS_API_ADDR="$addr" "$HOPS_BIN" up "$dir" &
up_pid=$!
stop() {
  if kill -0 "$up_pid" 2>/dev/null; then
    kill -TERM "$up_pid" 2>/dev/null || true
    wait "$up_pid" || true
  fi
}
trap stop EXIT

export HOPS_API="http://$addr"
for _ in $(seq 1 300); do
  if curl -fsS "$HOPS_API/ready" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$up_pid" 2>/dev/null; then echo "hops up exited early" >&2; exit 1; fi
  sleep 0.1
done
curl -fsS "$HOPS_API/ready" >/dev/null

echo "==> hops run hello_world --param name=Hops --param shout=true --wait"
result=$(hops run hello_world --param name=Hops --param shout=true --wait --json)
echo "$result"
run_id=$(printf '%s' "$result" | sed -n 's/.*"run_id": *"\([^"]*\)".*/\1/p')
echo "==> hops runs show $run_id"
hops runs show "$run_id"
hops plugins list
printf '%s' "$result" | grep -q '^{"run_id":"[^"]*","status":"completed"'

stop
trap - EXIT
echo "==> quickstart done: the run completed and hops up stopped cleanly"
