#!/usr/bin/env python3
"""Call Detail Records from a running Portico: an answered call, a busy call written after a
logrotate-style rename + SIGHUP (into the new file), no record for an INVITE from an unknown
source (refused before any call exists, counted only), a call the caller cancels and a call
Portico ends at timers.max_call_duration; each record names what happened.

    python3 tests/e2e/test_cdr.py --portico build/src/portico
"""

import json
import signal
import socket
import sys

sys.dont_write_bytecode = True

from harness import assert_sipp, check, default_policy, e2e_test, run_tests, wait_until


def records(path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@e2e_test(k=84, portico_only=True)
def test_cdr_answered_busy_and_rejected(ctx):
    net = ctx.net
    cdr = ctx.dir / "cdr.jsonl"
    policy = default_policy(net).replace(f'sources: ["127.0.{net.k}.0/24"]',
                                         f'sources: ["{net.uac}/32"]')
    p = ctx.start_portico(policy + f"cdr: {{path: {cdr}}}\n")

    uas = ctx.sipp("uas", "uas_basic.xml", net.primary).start()
    uac = ctx.sipp("uac", "uac_basic.xml", net.uac, remote=ctx.access_target())
    uac.run()
    uas.wait(timeout=10)
    assert_sipp(uac, 1)
    check(wait_until(lambda: len(records(cdr)) == 1, 5), f"no CDR for the answered call: {records(cdr)}")

    # logrotate: rename, then SIGHUP makes Portico write to a fresh file at the same path.
    rotated = ctx.dir / "cdr.jsonl.1"
    cdr.rename(rotated)
    p.proc.send_signal(signal.SIGHUP)
    check(wait_until(lambda: "event=policy.reloaded" in p.log(), 5), "SIGHUP not handled")
    uas2 = ctx.sipp("uas2", "uas_busy.xml", net.primary).start()
    uac2 = ctx.sipp("uac2", "uac_busy.xml", net.uac, remote=ctx.access_target())
    uac2.run()
    uas2.wait(timeout=10)
    assert_sipp(uac2, 1)

    # An INVITE from an address no access peer owns: one stateless 403 and no record (a flood of
    # them must not fill the CDR file; portico_sip_unknown_source_total counts them).
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((net.ip(99), 0))
    port = s.getsockname()[1]
    s.sendto((f"INVITE sip:15550009@{net.access} SIP/2.0\r\n"
              f"Via: SIP/2.0/UDP {net.ip(99)}:{port};rport;branch=z9hG4bKcdr1\r\n"
              f"Max-Forwards: 70\r\nFrom: <sip:stranger@{net.ip(99)}>;tag=s1\r\n"
              f"To: <sip:15550009@{net.access}>\r\nCall-ID: cdr-reject-1\r\nCSeq: 1 INVITE\r\n"
              f"Contact: <sip:stranger@{net.ip(99)}:{port}>\r\nContent-Length: 0\r\n\r\n").encode(),
             (net.access, 5060))
    s.settimeout(2)
    answers = []
    for _ in range(3):  # bounded: anything beyond the one 403 would be a fault
        try:
            answers.append(s.recv(4096).split(b"\r\n")[0])
        except socket.timeout:
            break
    s.close()
    check(answers == [b"SIP/2.0 403 Forbidden"], f"stranger's INVITE got {answers}")
    check(wait_until(lambda: len(records(cdr)) == 1, 5), f"CDRs after rotation: {records(cdr)}")
    ctx.finish_portico()

    first = records(rotated)
    check(len(first) == 1, f"rotated file holds {len(first)} records, expected 1")
    a = first[0]
    for k, v in {"final_status": 200, "end_reason": "a_bye", "disconnect": "caller",
                 "realm_in": "access", "realm_out": "carrier", "target": "primary",
                 "route": "out", "source_peer": "uac", "attempts": 1}.items():
        check(a.get(k) == v, f"answered CDR {k} = {a.get(k)!r}, expected {v!r}: {a}")
    check(a["answer"] is not None and a["b_call_id"].startswith("pt"), f"answered CDR: {a}")
    check(a["a_call_id"] != a["b_call_id"], "A and B Call-IDs must differ")
    later = records(cdr)
    busy = next((r for r in later if r["final_status"] == 486), None)
    check(busy is not None, f"no 486 record in the new file: {later}")
    check(busy["answer"] is None and busy["end_reason"] == "status_486"
          and busy["disconnect"] == "callee", f"busy CDR: {busy}")
    check(len(later) == 1 and all(r["a_call_id"] != "cdr-reject-1" for r in later),
          f"records in the new file: {later}")


@e2e_test(k=87, portico_only=True)
def test_cdr_cancelled_and_max_duration(ctx):
    net = ctx.net
    cdr = ctx.dir / "cdr.jsonl"
    policy = default_policy(net).replace("max_call_duration: 1h", "max_call_duration: 1s")
    check("max_call_duration: 1s" in policy, "policy template changed: no max_call_duration")
    ctx.start_portico(policy + f"cdr: {{path: {cdr}}}\n")

    uas = ctx.sipp("uas", "uas_ring_no_answer.xml", net.primary).start()
    uac = ctx.sipp("uac", "uac_cancel.xml", net.uac, remote=ctx.access_target())
    uac.run()
    uas.wait(timeout=10)
    assert_sipp(uac, 1)
    check(wait_until(lambda: len(records(cdr)) == 1, 5), "no CDR for the cancelled call")

    # The caller never hangs up: Portico's max-duration timer sends BYE on both legs.
    uas2 = ctx.sipp("uas2", "uas_basic.xml", net.primary).start()
    uac2 = ctx.sipp("uac2", "uac_callee_bye.xml", net.uac, remote=ctx.access_target())
    uac2.run()
    uas2.wait(timeout=10)
    assert_sipp(uac2, 1)
    assert_sipp(uas2, 1)
    check(wait_until(lambda: len(records(cdr)) == 2, 5), f"CDRs: {records(cdr)}")
    ctx.finish_portico()

    cancelled, long_call = records(cdr)
    for k, v in {"final_status": 487, "end_reason": "caller_cancelled", "disconnect": "caller",
                 "answer": None, "duration_ms": 0}.items():
        check(cancelled.get(k) == v, f"cancelled CDR {k} = {cancelled.get(k)!r}, expected {v!r}")
    for k, v in {"final_status": 200, "end_reason": "max_call_duration",
                 "disconnect": "portico"}.items():
        check(long_call.get(k) == v, f"max-duration CDR {k} = {long_call.get(k)!r}, expected {v!r}")
    check(900 <= long_call["duration_ms"] <= 2500,
          f"max-duration call lasted {long_call['duration_ms']} ms, policy says 1 s")


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
