#!/usr/bin/env bash
# Calls-per-second benchmark: Portico vs Kamailio 5.6 (stateful proxy) vs sipp alone, on loopback.
#
#   bench/cps.sh [PORTICO_BINARY] [extra options for bench/cps_bench.py]
#
# PORTICO_BINARY defaults to build-release/src/portico (this script builds nothing; see
# docs/performance.md for the build). Needs sipp (sip-tester) and kamailio; uses loopback addresses
# 127.0.200.0/24 (sipp alone), 127.0.201.0/24 (Portico) and 127.0.202.0/24 (Kamailio).
# Options: --rates 100,200,400,800,1600,3200,4800  --step-seconds 10  --cpu-rate 400  --shards 2
#          --kamailio-children 2  --systems direct,portico,kamailio  --workdir DIR  --json FILE
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
portico="$root/build-release/src/portico"
if [[ $# -gt 0 && "$1" != --* ]]; then
  portico="$1"
  shift
fi
exec python3 "$here/cps_bench.py" --portico "$portico" "$@"
