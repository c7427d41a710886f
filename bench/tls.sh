#!/usr/bin/env bash
# SIP over TLS benchmark: handshakes per second per core on Portico's tls listener, and memory per
# established idle TLS connection (RSS delta over N idle connections, default 5000), beside plain
# TCP connections, and Kamailio's tls module holding the same connections when it is installed.
#
#   bench/tls.sh [PORTICO_BINARY] [--connections 5000] [--seconds 5] [--no-kamailio]
#
# PORTICO_BINARY defaults to build-release/src/portico. Uses 127.0.238.0/24 (Portico) and
# 127.0.239.0/24 (Kamailio); needs the openssl CLI. Figures and the command are recorded in
# docs/performance.md ("SIP over TLS").
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
portico="$root/build-release/src/portico"
if [[ $# -gt 0 && "$1" != --* ]]; then
  portico="$1"
  shift
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec python3 "$here/tls_bench.py" --portico "$portico" "$@"
