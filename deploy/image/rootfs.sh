#!/bin/sh
# Lays out the root filesystem of the `hops start` image in OUT from a static hops binary:
# the binary, CA certificates, a non-root user, and the directories the image's settings name.
# Used by deploy/Containerfile (inside its build stage) and by scripts/image.sh (on the host),
# so both build the same image. POSIX sh: the build stage may not have bash.
set -eu

if [ "$#" -ne 2 ]; then
  echo "usage: rootfs.sh HOPS_BINARY OUT_DIR" >&2
  exit 2
fi
binary="$1"
out="$2"
certs="${CA_CERTIFICATES:-/etc/ssl/certs/ca-certificates.crt}"
if [ ! -f "$certs" ]; then
  echo "rootfs.sh: no CA certificates at $certs: install the ca-certificates package or set CA_CERTIFICATES" >&2
  exit 1
fi

rm -rf "$out"
mkdir -p "$out/usr/local/bin" "$out/etc/ssl/certs" "$out/pipelines" "$out/plugins" "$out/data" "$out/tmp"
cp "$binary" "$out/usr/local/bin/hops"
chmod 0755 "$out/usr/local/bin/hops"
cp "$certs" "$out/etc/ssl/certs/ca-certificates.crt"
chmod 0644 "$out/etc/ssl/certs/ca-certificates.crt"

# uid/gid 10001: numeric in the image's USER, so Kubernetes' runAsNonRoot can check it.
cat > "$out/etc/passwd" <<'PASSWD'
root:x:0:0:root:/nonexistent:/sbin/nologin
hops:x:10001:10001:hops:/data:/sbin/nologin
PASSWD
cat > "$out/etc/group" <<'GROUP'
root:x:0:
hops:x:10001:
GROUP
chmod 0644 "$out/etc/passwd" "$out/etc/group"

# Writable by any user id (sticky, like /tmp): the image works whatever uid the platform picks,
# and without a chown that would need root on the building machine.
chmod 1777 "$out/data" "$out/tmp"
chmod 0755 "$out/pipelines" "$out/plugins"
