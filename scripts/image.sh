#!/usr/bin/env bash
# Builds the Hops container images on a machine with no container engine daemon: a static
# `hops` (x86_64-unknown-linux-musl) compiled here, copied into the `FROM scratch` stage of
# deploy/Containerfile, built with `podman build` (or `docker build` when a Docker daemon
# answers). Then `TAG-local`, which adds nats-server for `hops up` in one container.
#
#   scripts/image.sh [--tag hops:VERSION] [--no-local]
#
# HOPS_BINARY: use this static hops instead of building one (scripts/test.sh passes the one
# its build made).
#
# Prints the binary's and the images' sizes; fails when the `hops start` image is over
# HOPS_IMAGE_MAX_MB (40). The rootfs and build contexts are left in target/image/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() { echo "image.sh: $*" >&2; exit 1; }

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
tag="hops:$version"
local_image=1
while [ "$#" -gt 0 ]; do
  case "$1" in
    --tag) tag="${2:?--tag needs a value, e.g. --tag registry.example.com/hops:$version}"; shift 2 ;;
    --no-local) local_image=0; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument $1 (see --help)" ;;
  esac
done
max_mb="${HOPS_IMAGE_MAX_MB:-40}"

# The engine: podman needs no daemon; docker only counts when its daemon answers.
engine=()
if command -v podman >/dev/null 2>&1; then
  # Docker's image format keeps HEALTHCHECK (the OCI format drops it).
  engine=(podman build --format docker)
  inspect=(podman image inspect)
elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  engine=(docker build)
  inspect=(docker image inspect)
else
  fail "no podman and no running Docker daemon: install podman (apt-get install podman; scripts/setup.sh does) or start Docker"
fi

musl=x86_64-unknown-linux-musl
if ! rustup target list --installed | grep -qx "$musl"; then
  say "adding the $musl Rust target"
  rustup target add "$musl"
fi
command -v musl-gcc >/dev/null 2>&1 \
  || fail "musl-gcc not found: the static build compiles C (ring, zstd, mimalloc) with it; apt-get install musl-tools"
command -v ld.lld >/dev/null 2>&1 \
  || fail "ld.lld not found: .cargo/config.toml links the static build with lld; apt-get install lld"

if [ -n "${HOPS_BINARY:-}" ]; then
  # scripts/test.sh builds the suite in the image profile for this target; its hops is the same.
  binary="$HOPS_BINARY"
  [ -x "$binary" ] || fail "HOPS_BINARY=$binary is not an executable"
else
  say "building a static hops ($musl, profile image)"
  cargo build --locked --profile image --target "$musl" -p hops
  binary="${CARGO_TARGET_DIR:-$root/target}/$musl/image/hops"
fi
if readelf -lW "$binary" | grep -q 'Requesting program interpreter' \
    || readelf -dW "$binary" | grep -q '(NEEDED)'; then
  fail "$binary is not static (it names an interpreter or shared libraries)"
fi

context="$root/target/image"
mkdir -p "$context"
# A binary cargo test built keeps its symbols; the image never needs them.
strip -o "$context/hops" "$binary"
binary="$context/hops"
sh deploy/image/rootfs.sh "$binary" "$context/rootfs"
# The Containerfile's image stage, with the rootfs from here instead of its build stage.
awk '/^# ---- image stage/ {on = 1} on' deploy/Containerfile \
  | sed 's|^COPY --from=build /out/ /$|COPY rootfs/ /|' > "$context/Containerfile"
grep -q '^COPY rootfs/ /$' "$context/Containerfile" \
  || fail "deploy/Containerfile's image stage no longer has 'COPY --from=build /out/ /'"

say "building $tag with ${engine[0]}"
"${engine[@]}" --tag "$tag" --file "$context/Containerfile" "$context"

size_of() { "${inspect[@]}" --format '{{.Size}}' "$1"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1000000 }'; }
binary_bytes="$(stat -c %s "$binary")"
image_bytes="$(size_of "$tag")"

if [ "$local_image" -eq 1 ]; then
  nats="${HOPS_NATS_SERVER:-$(command -v nats-server || true)}"
  [ -n "$nats" ] || { [ -x /usr/sbin/nats-server ] && nats=/usr/sbin/nats-server; }
  [ -n "$nats" ] || fail "no nats-server for the -local image: apt-get install nats-server, or set HOPS_NATS_SERVER (or pass --no-local)"
  local_context="$root/target/image-local"
  rm -rf "$local_context"
  mkdir -p "$local_context/nats/usr/local/bin"
  cp "$(readlink -f "$nats")" "$local_context/nats/usr/local/bin/nats-server"
  # A distribution's nats-server may be linked against libc: bring what it loads along.
  if readelf -lW "$nats" | grep -q 'Requesting program interpreter'; then
    ldd "$nats" | awk '/=> \// {print $3} /^\t\/[^ ]+ \(/ {print $1}' | while read -r lib; do
      mkdir -p "$local_context/nats$(dirname "$lib")"
      cp -L "$lib" "$local_context/nats$lib"
    done
  fi
  mkdir -p "$local_context/nats/project"
  chmod 1777 "$local_context/nats/project"
  cp deploy/image/local.Containerfile "$local_context/Containerfile"
  say "building $tag-local (nats-server $("$nats" --version 2>/dev/null | awk '{print $NF}'))"
  "${engine[@]}" --build-arg "HOPS_IMAGE=$tag" --tag "$tag-local" --file "$local_context/Containerfile" "$local_context"
  local_bytes="$(size_of "$tag-local")"
fi

echo
echo "hops binary ($musl, static, stripped): $(mb "$binary_bytes") ($binary_bytes bytes)"
echo "image $tag: $(mb "$image_bytes") ($image_bytes bytes; budget ${max_mb} MB)"
[ "$local_image" -eq 1 ] && echo "image $tag-local: $(mb "$local_bytes")"
if [ "$image_bytes" -gt $((max_mb * 1000000)) ]; then
  fail "image $tag is $(mb "$image_bytes"), over the ${max_mb} MB budget"
fi
