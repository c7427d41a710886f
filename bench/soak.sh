#!/usr/bin/env bash
# Soak test: 30 minutes (DURATION, in seconds) of mixed traffic through one Portico on loopback,
# sampling its RSS and open descriptors every minute; prints the table, a verdict (flat or not)
# and whether every call left a CDR record.
#
#   DURATION=1800 bench/soak.sh [PORTICO_BINARY] [extra options for bench/soak_bench.py]
#
# PORTICO_BINARY defaults to build-release/src/portico (this script builds nothing; see
# docs/performance.md). Traffic (bench/soak_bench.py --help): calls with RTP (sipp
# play_pcap_audio, so root), calls with a hold re-INVITE, registrations, and 1 % malformed
# messages from a small Python sender. Needs sipp (sip-tester). Loopback only: 127.0.205.0/24
# (--subnet K for 127.0.K.0/24). The traffic generators run under `nice -n 10` (--nice N).
# Options: --sample 60  --media-cps 2  --hold-ms 8000  --reinvite-cps 1  --register-rate 1
#          --malformed-percent 1  --tolerance 10  --shards 2  --workdir DIR (keeps the logs)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
portico="$root/build-release/src/portico"
if [[ $# -gt 0 && "$1" != --* ]]; then
  portico="$1"
  shift
fi
duration="${DURATION:-1800}"
# Bounded: the traffic, then draining, checks and shutdown well inside the margin.
exec timeout --signal=TERM --kill-after=15 "$((duration + 600))" \
  python3 "$here/soak_bench.py" --portico "$portico" --duration "$duration" "$@"
