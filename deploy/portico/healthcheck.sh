#!/bin/bash
# Container health check: Portico is healthy when GET /metrics answers 200 and every shard took
# part in that scrape (portico_metrics_shards_missing 0), i.e. no shard thread is stuck.
# The runtime image has no curl; bash's /dev/tcp is enough for one HTTP/1.0 request.
# PORTICO_METRICS is the policy's metrics address:port (metrics: in portico.yaml).
set -u
addr=${PORTICO_METRICS:-127.0.0.1:9464}
host=${addr%:*}
host=${host#[}
host=${host%]}
port=${addr##*:}

exec 3<>"/dev/tcp/$host/$port" || { echo "no metrics listener on $addr"; exit 1; }
printf 'GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n' "$addr" >&3
IFS= read -r -t 3 status <&3 || { echo "no answer from $addr"; exit 1; }
case $status in
  "HTTP/1."?" 200"*) ;;
  *) echo "GET /metrics: ${status%$'\r'}"; exit 1 ;;
esac
while IFS= read -r -t 3 line <&3; do
  case $line in
    "portico_metrics_shards_missing 0") exit 0 ;;
    portico_metrics_shards_missing*) echo "$line"; exit 1 ;;
  esac
done
echo "no portico_metrics_shards_missing in /metrics"
exit 1
