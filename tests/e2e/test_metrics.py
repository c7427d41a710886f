#!/usr/bin/env python3
"""Prometheus metrics of a running Portico: after a real call, a malformed request and an
unparseable datagram, /metrics shows each of them counted, and no call left active.

    python3 tests/e2e/test_metrics.py --portico build/src/portico
"""

import socket
import sys

sys.dont_write_bytecode = True

from harness import (assert_sipp, check, default_policy, e2e_test, run_tests, scrape_metrics,
                     wait_until)

METRICS_PORT = 9090


def scrape(ip: str) -> dict[str, float]:
    return scrape_metrics(ip, METRICS_PORT)


@e2e_test(k=83, portico_only=True)
def test_metrics_count_calls_and_bad_input(ctx):
    net = ctx.net
    policy = default_policy(net) + f"metrics: {{address: {net.access}, port: {METRICS_PORT}}}\n"
    p = ctx.start_portico(policy)
    check("event=metrics.listening" in p.log(), "no event=metrics.listening in the log")
    before = scrape(net.access)
    check(before.get("portico_calls_attempted_total") == 0, f"fresh start: {before}")

    uas = ctx.sipp("uas", "uas_basic.xml", net.primary).start()
    uac = ctx.sipp("uac", "uac_basic.xml", net.uac, remote=ctx.access_target())
    uac.run()
    uas.wait(timeout=10)
    assert_sipp(uac, 1)

    # One datagram that is not SIP at all, one request missing its Call-ID.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((net.uac, 0))
    s.sendto(b"\x16\x03\x01 definitely not SIP\r\n\r\n", (net.access, 5060))
    s.sendto(b"OPTIONS sip:x@" + net.access.encode() + b" SIP/2.0\r\n"
             b"Via: SIP/2.0/UDP " + net.uac.encode() + b":9;rport;branch=z9hG4bKm1\r\n"
             b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCSeq: 1 OPTIONS\r\n"
             b"Content-Length: 0\r\n\r\n", (net.access, 5060))
    s.settimeout(2)
    reply = s.recv(4096)
    s.close()
    check(reply.startswith(b"SIP/2.0 400 "), f"request without Call-ID got {reply[:40]!r}")

    def settled() -> bool:
        m = scrape(net.access)
        return m.get("portico_calls_active") == 0 and \
            m.get('portico_sip_parse_errors_total{reason="invalid"}') == 1
    check(wait_until(settled, 5), f"metrics did not settle: {scrape(net.access)}")
    m = scrape(net.access)
    expect = {
        "portico_calls_attempted_total": 1,
        "portico_calls_answered_total": 1,
        "portico_calls_failed_total": 0,
        'portico_sip_parse_errors_total{reason="unparseable"}': 1,
        'portico_sip_parse_errors_total{reason="invalid"}': 1,
        "portico_metrics_shards_missing": 0,
        'portico_call_setup_seconds_count{stage="answer"}': 1,
        'portico_call_setup_seconds_count{stage="progress"}': 1,
        'portico_call_setup_seconds_bucket{stage="answer",le="+Inf"}': 1,
        'portico_call_attempts_total{realm="access",route="out",target="primary",'
        'status_class="2xx"}': 1,
    }
    for k, v in expect.items():
        check(m.get(k) == v, f"{k} = {m.get(k)}, expected {v}")
    check(m.get("portico_sip_messages_received_total", 0) >= 7,
          f"portico_sip_messages_received_total = {m.get('portico_sip_messages_received_total')}")
    check(m.get('portico_transport_messages_total{transport="udp",direction="out"}', 0) >= 7,
          "no outbound UDP messages counted")
    check(any(k.startswith("portico_policy_info{hash=") for k in m), "no portico_policy_info")
    # The traffic matrix: the INVITE in on access and out on carrier, its 200 back the other way
    # (at least once each: a late ACK may legitimately cause a 2xx retransmission).
    for key in ['realm="access",direction="in",method="INVITE",status=""',
                'realm="carrier",direction="out",method="INVITE",status=""',
                'realm="carrier",direction="in",method="INVITE",status="200"',
                'realm="access",direction="out",method="INVITE",status="200"',
                'realm="access",direction="in",method="BYE",status=""']:
        check(m.get("portico_sip_messages_total{" + key + "}", 0) >= 1,
              f"portico_sip_messages_total{{{key}}} = {m.get('portico_sip_messages_total{' + key + '}')}")
    ctx.finish_portico()


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
