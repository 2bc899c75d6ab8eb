#!/bin/sh
# Builds and tests one commit; runs in the container `k8s_run` starts (see main.hops).
# The last thing it writes to /dev/termination-log is the call's result (`test.json`); the
# end of its log is `test.body`.
set -eu
apt-get update -qq && apt-get install -y -qq git >/dev/null
git clone --quiet "$REPO" /tmp/src
cd /tmp/src
git checkout --quiet "$SHA"
cargo test --quiet 2>&1 | tee /tmp/test.log
passed=$(grep -o '[0-9]* passed' /tmp/test.log | awk '{s += $1} END {print s + 0}')
printf '{"sha": "%s", "passed": %s}' "$SHA" "$passed" > /dev/termination-log
