#!/usr/bin/env bash
# RTP<->SRTP interworking benchmark: CPU per relayed packet of Portico and rtpengine, plain relay
# beside SDES SRTP (AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM), in one run (bench/srtp_bench.py).
#
#   bench/srtp.sh [--portico BINARY] [--calls 200] [--window 8] [--repeats 3] ...
#
# Runs in a network namespace of its own with only loopback up (root needed for unshare), on
# 127.0.246.0/24 (Portico) and 127.0.247.0/24 (rtpengine). Needs rtpengine (Debian package
# rtpengine-daemon, userspace forwarding: --table=-1). Figures: docs/performance.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -z "${PORTICO_SRTP_BENCH_NETNS:-}" ]]; then
  export PORTICO_SRTP_BENCH_NETNS=1
  exec unshare --net -- bash "${BASH_SOURCE[0]}" "$@"
fi
ip link set lo up
ulimit -n "$(ulimit -Hn)"
timeout --signal=TERM --kill-after=15 900 python3 "$here/srtp_bench.py" "$@"
