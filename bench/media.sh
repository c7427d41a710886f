#!/usr/bin/env bash
# RTP relay benchmark: Portico vs rtpengine (userspace forwarding) vs no relay, on loopback.
#
#   bench/media.sh [PORTICO_BINARY] [extra options for bench/media_bench.py]
#
# PORTICO_BINARY defaults to build-release/src/portico (this script does not build Portico; see
# docs/performance.md). It builds the load generator bench/rtp_load.cpp with g++ -O2 into a
# temporary directory (removed on exit), raises the open-file limit for the relays' sockets, and
# runs bench/media_bench.py in a network namespace of its own (unshare --net, loopback only).
# Needs root (SO_RCVBUFFORCE, unshare, a 6.13+ kernel for SCM_TS_OPT_ID), g++, rtpengine (Debian
# package rtpengine-daemon; scripts/install-deps.sh leaves it out, its codec libraries are large).
# Loopback only: 127.0.220.0/24 (no relay), 127.0.221.0/24 (Portico), 127.0.222.0/24
# (rtpengine), 127.0.223.0/24 (portico-epoll: Portico with its epoll media path),
# 127.0.224.0/24 (portico-unpinned: Portico with server.pin_shards: false).
# Options: --streams 200,400,800,1000,1500,2000,3000,4000,6000  --cpu-streams 400  --window 5
#          --cpu-window 10  --cpu-repeats 3  --warmup 2  --late-ms 50  --shards 2
#          --media-io auto|io_uring|epoll  --rtpengine-threads 2  --sockets-per-side 16
#          --systems direct,portico,rtpengine (also: portico-epoll, portico-unpinned, portico-own-shards)  --media-shards N  --nat
#          --budget 450  --workdir DIR (keeps logs)  --json FILE   (all: media_bench.py --help)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Everything runs in a network namespace of its own with only loopback up, so the host's
# firewall rules (a NAT table loads conntrack for every packet) stay out of the figures.
if [[ -z "${PORTICO_MEDIA_BENCH_NETNS:-}" ]]; then
  export PORTICO_MEDIA_BENCH_NETNS=1
  exec unshare --net -- bash "${BASH_SOURCE[0]}" "$@"
fi
ip link set lo up
build="$(mktemp -d /tmp/portico-rtp-load.XXXXXX)"
trap 'rm -rf "$build"' EXIT
g++ -std=c++20 -O2 -pthread -Wall -Wextra -o "$build/rtp_load" "$here/rtp_load.cpp"
ulimit -n "$(ulimit -Hn)"
timeout --signal=TERM --kill-after=15 600 \
  python3 "$here/media_bench.py" --rtp-load "$build/rtp_load" "$@"
