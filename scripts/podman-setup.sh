#!/usr/bin/env bash
# Prepares a Debian 12 host without a Docker engine or an image registry to build and run
# Portico's Dockerfile and docker-compose.yml with podman (used by tests/e2e/test_deploy.py):
#   1. /etc/containers/containers.conf, written only when the file does not exist yet;
#   2. a debian:bookworm base image made with debootstrap from the host's own Debian mirror,
#      built only when `podman image exists` says it is missing (about 35 s).
# Needs root (debootstrap, rootful podman). Idempotent.
set -euo pipefail

CONF=/etc/containers/containers.conf
IMAGE=localhost/debian:bookworm

if [ ! -e "$CONF" ]; then
  mkdir -p "$(dirname "$CONF")"
  # Root may not raise limits above these here; crun 1.8 refuses hybrid cgroup hosts, runc works.
  cat >"$CONF" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
EOF
  echo "podman-setup: wrote $CONF"
fi

if ! podman info --format '{{.Host.OCIRuntime.Name}}' >/dev/null; then
  echo "podman-setup: podman does not work on this machine (podman info failed)" >&2
  exit 1
fi
if podman image exists "$IMAGE"; then
  exit 0
fi

# The mirror the host itself installs from: deb822 sources first, then the classic list.
mirror=""
if [ -r /etc/apt/sources.list.d/debian.sources ]; then
  mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
  mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list)
fi
mirror=${mirror:-http://deb.debian.org/debian}

rootfs=$(mktemp -d /var/tmp/portico-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "podman-setup: debootstrap bookworm from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
  || { tail -20 "$rootfs.log"; rm -f "$rootfs.log"; exit 1; }
rm -f "$rootfs.log"
# The host's source lists, so that apt inside a build also sees bookworm-updates and security.
if [ -r /etc/apt/sources.list.d/debian.sources ]; then
  cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/debian.sources"
  rm -f "$rootfs/etc/apt/sources.list"
elif [ -r /etc/apt/sources.list ]; then
  cp /etc/apt/sources.list "$rootfs/etc/apt/sources.list"
fi
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" --numeric-owner -c . | podman import --change 'CMD ["bash"]' - "$IMAGE" >/dev/null
# FROM debian:bookworm / debian:bookworm-slim resolve to it with --pull=never.
podman tag "$IMAGE" docker.io/library/debian:bookworm docker.io/library/debian:bookworm-slim
echo "podman-setup: built $IMAGE"
