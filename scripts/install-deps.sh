#!/usr/bin/env bash
# Installs every build, run and test dependency of Portico from Debian packages.
# Idempotent: packages already present are not touched, and apt-get update runs
# only when something is missing.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config clang-format
  libosip2-dev libre-dev libsrtp2-dev libasio-dev libssl-dev liburing-dev
  prometheus-cpp-dev libyaml-cpp-dev libgtest-dev libgmock-dev googletest
  # end-to-end tests and benchmarks
  sip-tester kamailio kamailio-tls-modules iproute2 util-linux procps python3 tcpdump nftables
  tshark sngrep openssl
  # SRTP peer of tests/e2e/test_srtp.py (mediaenc srtp-mand)
  baresip-core
  # edge security tests: attacker tools (run only in loopback-only namespaces), and clang with
  # its sanitizer and libFuzzer runtimes for the fuzz targets and the ASan + UBSan unit tests
  sipvicious clang libclang-rt-14-dev
  # the container deployment (docker-compose.yml) built and run with podman, no Docker engine;
  # scripts/podman-setup.sh then configures podman and makes the debian:bookworm base image
  podman runc buildah containernetworking-plugins debootstrap debian-archive-keyring docker-compose
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# wireshark-common (pulled by tshark) asks whether non-root users may capture: answer no
# beforehand so the install never stops at a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
