#!/usr/bin/env python3
"""Rate limits, pacing and bans (docs/policies.md, "Session limits" and `rate_limits`).

    python3 tests/e2e/test_rate_limits.py --portico build/src/portico [--only NAME]

- invite_flood: one source floods INVITEs at 10x its cps_in while another places calls at a
  normal rate: >= 99 % of the legitimate calls complete, the flood gets 503 with Retry-After,
  Portico's RSS stays bounded.
- outbound_pacing: calls arriving at 20/s toward a trunk with cps_out 5 are held, not failed,
  and the trunk receives them at <= 5/s (+ the burst of 1), measured on the trunk's own log.
- pacing_overflow: calls whose turn is beyond pacing_wait get 503 with Retry-After at once.
- source_ban: a source over rate_limits.requests_per_second gets no answer for ban_time, then
  answers again; a source on the allow list sending the same is never refused.
"""

from __future__ import annotations

import re
import socket
import sys
import time
from datetime import datetime

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

from harness import (Ctx, check, default_policy, e2e_test, run_tests, scrape_metrics,
                     wait_until)

METRICS_PORT = 9464


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def metrics(ctx: Ctx) -> dict[str, float]:
    return scrape_metrics(ctx.net.access, METRICS_PORT)


def metric(m: dict[str, float], name: str) -> float:
    return m.get(name, 0.0)


def with_metrics(policy: str, ctx: Ctx) -> str:
    return policy + f"metrics: {{address: {ctx.net.access}, port: {METRICS_PORT}}}\n"


def peers_policy(ctx: Ctx, trunk_extra: str = "", peers_extra: str = "") -> str:
    """The default policy with the primary trunk's and the access peers' entries extended."""
    policy = default_policy(ctx.net)
    policy = policy.replace("max_calls: 0}", "max_calls: 0" + trunk_extra + "}", 1)
    uac_line = next(l for l in policy.splitlines() if l.startswith("  uac: "))
    return with_metrics(policy.replace(uac_line, uac_line + peers_extra, 1), ctx)


# --------------------------------------------------------------------------------------------

@e2e_test(k=180, timeout=150, portico_only=True)
def test_invite_flood(ctx: Ctx):
    """Flood: 127.0.k.12 (access peer `flood`, cps_in 5) sends 50 INVITEs/s for 20 s, while the
    PBX 127.0.k.10 places 100 calls at 5/s. Every legitimate call must complete (>= 99 %), the
    flood's excess must be answered 503 with Retry-After, and Portico's RSS may not grow by more
    than 50 MB."""
    net = ctx.net
    flood_ip = net.ip(12)
    policy = peers_policy(ctx, peers_extra=(
        f'\n  flood: {{realm: access, sources: ["{flood_ip}/32"], cps_in: 5, cps_burst: 5}}'))
    ctx.start_portico(policy)
    pid = ctx.portico.proc.pid
    uas = ctx.sipp("uas", "uas_basic.xml", net.primary, calls=100000, duration_ms=500,
                   global_timeout_s=120).start()
    time.sleep(0.5)
    rss_before = rss_kib(pid)
    flood = ctx.sipp("flood", "uac_flood.xml", flood_ip, remote=ctx.access_target(), calls=1000,
                     rate=50, duration_ms=500, global_timeout_s=60).start(wait_bound=False)
    time.sleep(1.0)  # the flood is on before the first legitimate call
    uac = ctx.sipp("uac", "uac_basic.xml", net.uac, remote=ctx.access_target(), calls=100,
                   rate=5, duration_ms=500, global_timeout_s=60)
    uac.run(timeout=70)
    flood.wait(timeout=40)
    rss_after = rss_kib(pid)
    ok, failed = uac.counts()
    print(f"    {uac.describe()}; {flood.describe()}; RSS {rss_before} -> {rss_after} KiB",
          flush=True)
    check(ok >= 99, f"legitimate calls completed: {ok} of 100 (failed {failed}); need >= 99")
    refused = [m for m in flood.received() if m.first_line.startswith("SIP/2.0 503")]
    print(f"    the flood got {len(refused)} 503s of 1000 INVITEs", flush=True)
    check(len(refused) >= 700,
          f"the flood (1000 INVITEs at 10x cps_in) got {len(refused)} 503s; expected most of it")
    check(all(m.header("Retry-After") for m in refused),
          "every 503 to the flood carries Retry-After")
    m = metrics(ctx)
    limited = metric(m, 'portico_calls_limited_total{reason="inbound_cps_limit"}')
    check(limited >= len(refused) - 5,
          f"portico_calls_limited_total{{inbound_cps_limit}} = {limited}, 503s seen {len(refused)}")
    check(rss_after - rss_before < 50 * 1024,
          f"RSS grew {rss_before} -> {rss_after} KiB under the flood (bound: 50 MB)")
    limited_lines = ctx.portico.grep("event=call.limited")
    check(0 < len(limited_lines) <= 6,
          f"call.limited logged {len(limited_lines)} times in ~20 s (once per 10 s expected)")
    uas.stop()
    ctx.finish_portico()


# --------------------------------------------------------------------------------------------

_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2})[ \t]+(\d{2}:\d{2}:\d{2}\.\d+)")


def stamp_seconds(stamp: str) -> float:
    m = _STAMP.search(stamp)
    assert m, stamp
    return datetime.strptime(f"{m.group(1)} {m.group(2)}", "%Y-%m-%d %H:%M:%S.%f").timestamp()


@e2e_test(k=181, timeout=120, portico_only=True)
def test_outbound_pacing(ctx: Ctx):
    """30 calls at 20/s toward primary (cps_out 5, burst 1, pacing_wait 8 s): every call is
    answered (held, not failed), and the trunk's sipp receives the INVITEs at most 5 per second
    plus the burst: no 1-second window holds more than 6, and first to last spans >= 5.6 s."""
    net = ctx.net
    policy = peers_policy(ctx, trunk_extra=", cps_out: 5, pacing_wait: 8s, pacing_queue: 50")
    ctx.start_portico(policy)
    uas = ctx.sipp("uas", "uas_basic.xml", net.primary, calls=30, duration_ms=200,
                   global_timeout_s=60).start()
    uac = ctx.sipp("uac", "uac_basic.xml", net.uac, remote=ctx.access_target(), calls=30,
                   rate=20, duration_ms=200, global_timeout_s=50)
    uac.run(timeout=60)
    uas.wait(timeout=15)
    print(f"    {uac.describe()}; {uas.describe()}", flush=True)
    ok, failed = uac.counts()
    check(ok == 30 and failed == 0, f"paced calls must all complete: {ok} ok, {failed} failed")
    invites = [m for m in uas.requests_received("INVITE")
               if ";tag=" not in " ".join(m.header("To") + m.header("t"))]
    times = sorted(stamp_seconds(m.stamp) for m in invites)
    check(len(times) == 30, f"the trunk received {len(times)} initial INVITEs, expected 30")
    worst = max(sum(1 for t in times if t0 <= t < t0 + 1.0) for t0 in times)
    span = times[-1] - times[0]
    print(f"    trunk saw 30 INVITEs over {span:.2f} s; busiest second: {worst}", flush=True)
    check(worst <= 6, f"the trunk got {worst} INVITEs within one second (cps_out 5, burst 1)")
    check(span >= 29 / 5 - 0.2, f"30 INVITEs at <= 5/s take >= 5.8 s; they took {span:.2f} s")
    m = metrics(ctx)
    check(metric(m, "portico_calls_paced_total") >= 20,
          f"portico_calls_paced_total = {metric(m, 'portico_calls_paced_total')}")
    ctx.finish_portico()


@e2e_test(k=183, timeout=60, portico_only=True)
def test_pacing_overflow(ctx: Ctx):
    """Beyond the bounded wait: 30 calls at 30/s toward primary (cps_out 5, burst 1, pacing_wait
    1 s, no other target). The calls whose turn is within 1 s are held and complete (~10); the
    rest get 503 with Retry-After, and the trunk still never sees more than its rate."""
    net = ctx.net
    policy = peers_policy(ctx, trunk_extra=", cps_out: 5, pacing_wait: 1s, pacing_queue: 50")
    # primary alone: with backup in the route the overflow would fail over to it (policies.md).
    both = "targets: [{trunk: primary}, {trunk: backup}]"
    check(both in policy, "the default route names primary then backup")
    ctx.start_portico(policy.replace(both, "targets: [{trunk: primary}]", 1))
    uas = ctx.sipp("uas", "uas_basic.xml", net.primary, calls=30, duration_ms=200,
                   global_timeout_s=30).start()
    # uac_flood.xml: INVITE, then either 503 (ACK) or 200 (ACK, BYE): both end well for sipp.
    uac = ctx.sipp("uac", "uac_flood.xml", net.uac, remote=ctx.access_target(), calls=30,
                   rate=30, duration_ms=200, global_timeout_s=20)
    uac.run(timeout=30)
    uas.stop()
    print(f"    {uac.describe()}; {uas.describe()}", flush=True)
    received = uac.received()
    refused = [m for m in received if m.first_line.startswith("SIP/2.0 503")]
    answered = [m for m in received
                if m.first_line.startswith("SIP/2.0 200") and "INVITE" in " ".join(m.header("CSeq"))]
    print(f"    {len(answered)} answered, {len(refused)} refused 503", flush=True)
    check(len(answered) + len(refused) == 30,
          f"every call answered or refused: {len(answered)} + {len(refused)} of 30")
    # Arrivals span ~1 s and each may wait 1 s more: the turns within reach are those of ~2 s
    # at 5/s, i.e. 10 (one either way for timing).
    check(9 <= len(answered) <= 11,
          f"{len(answered)} calls taken; the turns within pacing_wait 1 s of 1 s of arrivals: ~10")
    check(all(m.header("Retry-After") for m in refused), "every 503 carries Retry-After")
    invites = [m for m in uas.requests_received("INVITE")
               if ";tag=" not in " ".join(m.header("To") + m.header("t"))]
    times = sorted(stamp_seconds(m.stamp) for m in invites)
    worst = max((sum(1 for t in times if t0 <= t < t0 + 1.0) for t0 in times), default=0)
    check(worst <= 6, f"the trunk got {worst} INVITEs within one second (cps_out 5, burst 1)")
    m = metrics(ctx)
    limited = metric(m, 'portico_calls_limited_total{reason="outbound_cps_limit"}')
    check(limited == len(refused),
          f"portico_calls_limited_total{{outbound_cps_limit}} = {limited}, 503s {len(refused)}")
    check(len(ctx.portico.grep("event=call.target_limited")) == 1,
          "call.target_limited logged once for the burst")
    ctx.finish_portico()


# --------------------------------------------------------------------------------------------

def options(src_ip: str, src_port: int, dst: str, n: int) -> bytes:
    return (f"OPTIONS sip:{dst}:5060 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {src_ip}:{src_port};branch=z9hG4bK-ban-{n}-{time.monotonic_ns()}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:probe@{src_ip}>;tag=b{n}\r\n"
            f"To: <sip:{dst}>\r\nCall-ID: ban-{n}-{src_ip}\r\nCSeq: 1 OPTIONS\r\n"
            f"Content-Length: 0\r\n\r\n").encode()


def burst_of_options(src_ip: str, dst: str, count: int, per_second: float,
                     linger: float = 0.5, src_port: int = 5099) -> int:
    """Sends `count` OPTIONS from src_ip:src_port at `per_second`; returns how many were
    answered."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src_ip, src_port))
    s.setblocking(False)
    answered = 0
    try:
        start = time.monotonic()
        for i in range(count):
            s.sendto(options(src_ip, src_port, dst, i), (dst, 5060))
            while time.monotonic() < start + (i + 1) / per_second:
                try:
                    s.recv(65535)
                    answered += 1
                except BlockingIOError:
                    time.sleep(0.001)
        end = time.monotonic() + linger
        while time.monotonic() < end:
            try:
                s.recv(65535)
                answered += 1
            except BlockingIOError:
                time.sleep(0.005)
    finally:
        s.close()
    return answered


@e2e_test(k=182, timeout=90, portico_only=True)
def test_source_ban(ctx: Ctx):
    """rate_limits: 20/s, burst 20, ban_time 4 s, allow 127.0.k.11. 127.0.k.12 sends 100
    OPTIONS at 100/s: about the burst is answered, then nothing (banned) for 4 s, from any of its
    ports (so on every shard); after the ban one OPTIONS is answered again. 127.0.k.11 sends 200
    at 100/s and gets every answer. One edge.ban line and one edge.ban_expired line for the
    banned source."""
    net = ctx.net
    allowed, attacker = net.ip(11), net.ip(12)
    policy = with_metrics(default_policy(net), ctx) + (
        "rate_limits:\n  requests_per_second: 20\n  burst: 20\n  ban_time: 4s\n"
        f"  allow: [{allowed}/32]\n")
    ctx.start_portico(policy)
    t0 = time.monotonic()
    got = burst_of_options(attacker, net.access, 100, 100.0)
    print(f"    attacker: {got} of 100 answered", flush=True)
    check(15 <= got <= 30, f"the attacker got {got} answers; expected about the burst (20)")
    # Other source ports hash to other shards (SO_REUSEPORT): the ban holds on every shard.
    late = [burst_of_options(attacker, net.access, 2, 40.0, linger=0.15, src_port=5100 + i)
            for i in range(6)]
    check(time.monotonic() - t0 < 4.0, "the probes ran within ban_time of the ban")
    check(sum(late) == 0, f"still banned, from any source port: answers {late}")
    got_allowed = burst_of_options(allowed, net.access, 200, 100.0)
    print(f"    allowed: {got_allowed} of 200 answered", flush=True)
    check(got_allowed == 200, f"the allow-listed source got {got_allowed} of 200 answers")
    check(wait_until(lambda: time.monotonic() - t0 > 5.0, 8.0), "clock")
    again = burst_of_options(attacker, net.access, 1, 10.0)
    check(again == 1, "after ban_time the source is answered again")
    check(wait_until(lambda: len(ctx.portico.grep("event=edge.ban_expired")) >= 1, 3.0),
          "edge.ban_expired logged when the ban ended")
    bans = ctx.portico.grep("event=edge.ban ")
    check(len(bans) == 1 and f"remote={attacker}" in bans[0],
          f"one edge.ban line for the attacker, got {len(bans)}:\n" + "\n".join(bans))
    m = metrics(ctx)
    check(metric(m, 'portico_edge_bans_total{reason="requests_per_second"}') == 1,
          "portico_edge_bans_total{requests_per_second} = 1")
    check(metric(m, 'portico_edge_dropped_total{reason="banned"}') >= 70 + 12,
          "the banned source's messages are counted as dropped")
    ctx.finish_portico()


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
