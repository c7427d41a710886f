#!/usr/bin/env python3
"""At the edge: nothing accepted from the wrong place, bounded state.

A forged 200 from another address does not answer a call; a BYE with the right Call-ID and tags
from another address does not end one; Timer C and max_ringing give up a callee that rings
forever (CANCEL to it, 408 to the caller); an access peer's max_calls counts the calls it places;
a flood of large OPTIONS with unique branches leaves RSS bounded and calls working; a source over
its transaction cap gets stateless 503s with Retry-After at its own address and port.

    python3 tests/e2e/test_edge_state.py --portico build/src/portico
"""

import socket
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

from harness import (TestFailure, assert_sipp, check, default_policy, e2e_test, run_tests,
                     scrape_metrics, wait_until)

SCENARIOS = Path(__file__).resolve().parent / "scenarios"


def header(lines: list[str], name: str) -> str:
    for line in lines:
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    raise TestFailure(f"no {name} header in {lines[:1]}")


def wait_trace(ctx, pred, what: str, timeout: float = 5.0):
    found = []

    def look() -> bool:
        found[:] = [t for t in ctx.portico.trace() if pred(t)]
        return bool(found)

    check(wait_until(look, timeout), f"Portico's trace never showed {what}")
    return found[0]


def udp_socket(ip: str, port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    s.settimeout(2.0)
    return s


def derived(ctx, base: str, name: str, *pairs: tuple[str, str]) -> str:
    text = (SCENARIOS / base).read_text()
    for old, new in pairs:
        check(old in text, f"scenario {base} changed: cannot derive {name} ({old!r} missing)")
        text = text.replace(old, new)
    path = ctx.dir / name
    path.write_text(text)
    return str(path)


def with_other_peers(ctx, policy: str) -> str:
    """`policy` with the caller's access peer narrowed to its own address, and 127.0.k.30 known
    as another peer in each realm (so only the check under test can refuse what it sends)."""
    net = ctx.net
    wide = f'sources: ["127.0.{net.k}.0/24"]'
    check(wide in policy and "\naccess_peers:\n" in policy and "\nroutes:\n" in policy,
          "default_policy changed: cannot add the other peers")
    policy = policy.replace(wide, f'sources: ["{net.uac}/32"]')
    policy = policy.replace("\naccess_peers:\n", f"\n  other_trunk: {{realm: carrier, host: "
                            f"{net.ip(30)}}}\naccess_peers:\n")
    return policy.replace("\nroutes:\n", f'\n  other_pbx: {{realm: access, sources: '
                          f'["{net.ip(30)}/32"]}}\nroutes:\n')


@e2e_test(k=170, portico_only=True)
def test_bye_from_another_address_does_not_end_the_call(ctx):
    """During a call, a BYE with the caller's Call-ID, From tag and Portico's To tag, sent from
    127.0.k.30 (another access peer, not the caller's), gets 403; the call goes on and the caller's own BYE
    (CSeq 2) ends it normally with 200."""
    net = ctx.net
    ctx.start_portico(with_other_peers(ctx, default_policy(net)))
    uas = ctx.sipp("uas", "uas_basic.xml", net.primary, global_timeout_s=30).start()
    uac = ctx.sipp("uac", "uac_basic.xml", net.uac, remote=ctx.access_target(),
                   duration_ms=3000, global_timeout_s=20).start()
    ok = wait_trace(ctx, lambda t: t.dir == "out" and t.realm == "access"
                    and t.first_line.startswith("SIP/2.0 200") and "INVITE" in t.text,
                    "the 200 to the caller")
    bye = (f"BYE sip:caller@{net.access}:5060 SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP {net.ip(30)}:5099;branch=z9hG4bKforgedbye1;rport\r\n"
           f"From: {header(ok.lines, 'From')}\r\n"
           f"To: {header(ok.lines, 'To')}\r\n"
           f"Call-ID: {header(ok.lines, 'Call-ID')}\r\n"
           "CSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
    with udp_socket(net.ip(30), 5099) as s:
        s.sendto(bye.encode(), (net.access, 5060))
        answer = s.recv(65535).decode(errors="replace")
    check(answer.startswith("SIP/2.0 403"), f"forged BYE answered: {answer.splitlines()[0]}")
    uac.wait(timeout=25)
    uas.wait(timeout=10)
    print(f"    {uac.describe()}; {uas.describe()}", flush=True)
    assert_sipp(uac, 1)
    assert_sipp(uas, 1)
    check(len(uas.requests_received("BYE")) == 1, "the callee did not get exactly one BYE")
    check(len(ctx.portico.grep("event=call.wrong_source")) == 1,
          "expected one event=call.wrong_source line")
    ctx.finish_portico()


@e2e_test(k=176, portico_only=True)
def test_response_from_another_address_does_not_answer(ctx):
    """While the callee rings, a 200 carrying Portico's B-leg Via branch, Call-ID and tags comes
    from 127.0.k.30 (another trunk of the carrier realm): it is dropped and counted; the caller CANCELs and gets 487 as usual."""
    net = ctx.net
    policy = default_policy(net) + f"metrics: {{address: {net.ip(1)}, port: 9176}}\n"
    ctx.start_portico(with_other_peers(ctx, policy))
    uas = ctx.sipp("uas", "uas_ring_no_answer.xml", net.primary, global_timeout_s=30).start()
    uac_cancel = derived(ctx, "uac_cancel.xml", "uac_cancel_late.xml",
                         ('<pause milliseconds="300"/>', '<pause milliseconds="2000"/>'))
    uac = ctx.sipp("uac", uac_cancel, net.uac, remote=ctx.access_target(),
                   global_timeout_s=20).start()
    invite = wait_trace(ctx, lambda t: t.dir == "out" and t.realm == "carrier"
                        and t.first_line.startswith("INVITE "), "the INVITE to the callee")
    wait_trace(ctx, lambda t: t.dir == "in" and t.realm == "carrier"
               and t.first_line.startswith("SIP/2.0 180"), "the callee's 180")
    forged = ("SIP/2.0 200 OK\r\n"
              f"Via: {header(invite.lines, 'Via')}\r\n"
              f"From: {header(invite.lines, 'From')}\r\n"
              f"To: {header(invite.lines, 'To')};tag=forged1\r\n"
              f"Call-ID: {header(invite.lines, 'Call-ID')}\r\n"
              "CSeq: 1 INVITE\r\n"
              f"Contact: <sip:evil@{net.ip(30)}:5099>\r\nContent-Length: 0\r\n\r\n")
    with udp_socket(net.ip(30), 5099) as s:
        s.sendto(forged.encode(), (net.carrier, 5060))
    uac.wait(timeout=25)
    uas.wait(timeout=10)
    print(f"    {uac.describe()}; {uas.describe()}", flush=True)
    assert_sipp(uac, 1)
    assert_sipp(uas, 1)
    m = scrape_metrics(net.ip(1), 9176)
    check(m.get("portico_sip_responses_wrong_source_total") == 1.0,
          f"portico_sip_responses_wrong_source_total = "
          f"{m.get('portico_sip_responses_wrong_source_total')}")
    ctx.finish_portico()


def unanswered_call(ctx, timers: str) -> None:
    """The callee sends 180 and never answers: the caller must get 408, the callee a CANCEL."""
    net = ctx.net
    policy = default_policy(net)
    check("max_call_duration: 1h}" in policy, "default_policy changed: cannot set the timers")
    ctx.start_portico(policy.replace("max_call_duration: 1h}", f"max_call_duration: 1h, {timers}}}"))
    uas = ctx.sipp("uas", "uas_ring_no_answer.xml", net.primary, global_timeout_s=30).start()
    uac_408 = derived(ctx, "uac_expect_503.xml", "uac_expect_408.xml",
                      ('<recv response="503"', '<recv response="408"'))
    started = time.monotonic()
    uac = ctx.sipp("uac", uac_408, net.uac, remote=ctx.access_target(), global_timeout_s=15)
    uac.run()
    uas.wait(timeout=10)
    print(f"    {uac.describe()}; {uas.describe()} after {time.monotonic() - started:.1f} s",
          flush=True)
    assert_sipp(uac, 1)
    assert_sipp(uas, 1)
    check(len(uas.requests_received("CANCEL")) >= 1, "the callee never received a CANCEL")


@e2e_test(k=171, portico_only=True)
def test_timer_c_cancels_a_callee_that_never_answers(ctx):
    unanswered_call(ctx, "timer_c: 1s")
    lines = ctx.portico.grep("event=call.timer_c")
    check(len(lines) == 1 and "provisional=yes" in lines[0], f"call.timer_c lines: {lines}")
    check(ctx.portico.grep("reason=timer_c"), "no call ended with reason=timer_c")
    ctx.finish_portico()


@e2e_test(k=172, portico_only=True)
def test_max_ringing_ends_an_unanswered_call(ctx):
    unanswered_call(ctx, "timer_c: 10s, max_ringing: 1s")
    check(len(ctx.portico.grep("event=call.ringing_timeout")) == 1, "no call.ringing_timeout")
    check(not ctx.portico.grep("event=call.timer_c"), "Timer C fired instead of max_ringing")
    ctx.finish_portico()


@e2e_test(k=173, portico_only=True)
def test_peer_max_calls_counts_calls_from_it(ctx):
    """Access peer `uac` has max_calls: 1. While its first call is up, a second call from it (from
    another of its addresses) gets 503 with Retry-After; the first call completes."""
    net = ctx.net
    policy = default_policy(net)
    peer_end = f"host: {net.uac}, port: 5060, transport: udp}}"
    check(peer_end in policy, "default_policy changed: cannot set the peer's max_calls")
    ctx.start_portico(policy.replace(peer_end, peer_end[:-1] + ", max_calls: 1}"))
    uas = ctx.sipp("uas", "uas_basic.xml", net.primary, global_timeout_s=30).start()
    uac = ctx.sipp("uac", "uac_basic.xml", net.uac, remote=ctx.access_target(),
                   duration_ms=2500, global_timeout_s=20).start()
    check(wait_until(lambda: ctx.portico.grep("event=call.answered"), 5.0),
          "the first call was not answered")
    second = ctx.sipp("uac2", "uac_expect_503.xml", net.ip(11), remote=ctx.access_target(),
                      global_timeout_s=10)
    second.run()
    uac.wait(timeout=20)
    uas.wait(timeout=10)
    print(f"    {uac.describe()}; {second.describe()}; {uas.describe()}", flush=True)
    assert_sipp(second, 1)
    assert_sipp(uac, 1)
    assert_sipp(uas, 1)
    refusal = [m for m in second.received() if m.first_line.startswith("SIP/2.0 503")]
    check(refusal and refusal[0].header("Retry-After") == ["5"],
          f"503 without Retry-After: 5: {refusal[0].header('Retry-After') if refusal else None}")
    lines = ctx.portico.grep("event=call.limit_reached")
    check(len(lines) == 1 and "limit=peer_max_calls" in lines[0], f"limit lines: {lines}")
    ctx.finish_portico()


@e2e_test(k=177, portico_only=True)
def test_call_caps_refuse_503_and_488(ctx):
    """limits.max_calls 1: while a call is up, a call from another address gets 503 with
    Retry-After (one call.limit_reached line); limits.max_media_streams 1: an offer with two m=
    lines gets 488 with a Warning, and the callee never sees it."""
    net = ctx.net
    ctx.start_portico(default_policy(net) + "limits: {max_calls: 1, max_media_streams: 1}\n")
    uas = ctx.sipp("uas", "uas_basic.xml", net.primary, global_timeout_s=30).start()
    uac = ctx.sipp("uac", "uac_basic.xml", net.uac, remote=ctx.access_target(),
                   duration_ms=2500, global_timeout_s=20).start()
    check(wait_until(lambda: ctx.portico.grep("event=call.answered"), 5.0),
          "the first call was not answered")
    second = ctx.sipp("uac2", "uac_expect_503.xml", net.ip(11), remote=ctx.access_target(),
                      global_timeout_s=10)
    second.run()
    uac.wait(timeout=20)
    uas.wait(timeout=10)
    print(f"    {uac.describe()}; {second.describe()}; {uas.describe()}", flush=True)
    assert_sipp(uac, 1)
    assert_sipp(second, 1)
    refusal = [m for m in second.received() if m.first_line.startswith("SIP/2.0 503")]
    check(refusal and refusal[0].header("Retry-After") == ["5"], "503 without Retry-After: 5")
    lines = ctx.portico.grep("event=call.limit_reached")
    check(len(lines) == 1 and "limit=max_calls" in lines[0], f"limit lines: {lines}")
    two_streams = derived(ctx, "uac_expect_503.xml", "uac_expect_488.xml",
                          ('<recv response="503"', '<recv response="488"'),
                          ("a=rtpmap:0 PCMU/8000\n",
                           "a=rtpmap:0 PCMU/8000\n      m=audio [media_port+2] RTP/AVP 0\n"))
    third = ctx.sipp("uac3", two_streams, net.ip(12), remote=ctx.access_target(),
                     global_timeout_s=10)
    third.run()
    assert_sipp(third, 1)
    answer = [m for m in third.received() if m.first_line.startswith("SIP/2.0 488")]
    check(answer and answer[0].header("Warning"), "488 without a Warning")
    print(f"    488 Warning: {answer[0].header('Warning')}", flush=True)
    check(len(ctx.portico.grep("event=call.attempt")) == 1,
          "a refused call reached the callee")
    ctx.finish_portico()


@e2e_test(k=178, portico_only=True)
def test_calls_per_source_refuse_503(ctx):
    """limits.max_calls_per_source 1: while a call from the PBX's address is up, a second call
    from the same address (another port) gets 503 with Retry-After (one call.limit_reached line
    naming max_calls_per_source), and a call from another address of the same peer still goes
    through."""
    net = ctx.net
    ctx.start_portico(default_policy(net) + "limits: {max_calls_per_source: 1}\n")
    uas = ctx.sipp("uas", "uas_basic.xml", net.primary, calls=2, global_timeout_s=30).start()
    uac = ctx.sipp("uac", "uac_basic.xml", net.uac, remote=ctx.access_target(),
                   duration_ms=3000, global_timeout_s=20).start()
    check(wait_until(lambda: ctx.portico.grep("event=call.answered"), 5.0),
          "the first call was not answered")
    same = ctx.sipp("uac_same", "uac_expect_503.xml", net.uac, local_port=5070,
                    remote=ctx.access_target(), global_timeout_s=10)
    same.run()
    assert_sipp(same, 1)
    refusal = [m for m in same.received() if m.first_line.startswith("SIP/2.0 503")]
    check(refusal and refusal[0].header("Retry-After") == ["5"], "503 without Retry-After: 5")
    lines = ctx.portico.grep("event=call.limit_reached")
    check(len(lines) == 1 and "limit=max_calls_per_source" in lines[0], f"limit lines: {lines}")
    other = ctx.sipp("uac_other", "uac_basic.xml", net.ip(11), remote=ctx.access_target(),
                     duration_ms=500, global_timeout_s=20)
    other.run()
    uac.wait(timeout=20)
    uas.wait(timeout=10)
    print(f"    {uac.describe()}; {same.describe()}; {other.describe()}; {uas.describe()}",
          flush=True)
    assert_sipp(uac, 1)
    assert_sipp(other, 1)
    ctx.finish_portico()


def vm_kb(pid: int, field: str = "VmRSS") -> int:
    """VmRSS (resident now) or VmHWM (peak resident) of `pid`, in KB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise TestFailure(f"no {field} in /proc/<pid>/status")


def options(ctx, n: int, pad: int, via_port: int, rport: bool) -> bytes:
    net = ctx.net
    return (f"OPTIONS sip:probe@{net.access}:5060 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {net.uac}:{via_port};branch=z9hG4bKflood{n}"
            f"{';rport' if rport else ''}\r\n"
            f"From: <sip:flood@{net.uac}>;tag=f{n}\r\nTo: <sip:probe@{net.access}>\r\n"
            f"Call-ID: flood-{n}@{net.uac}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            f"X-Padding: {'x' * pad}\r\nContent-Length: 0\r\n\r\n").encode()


def flood(ctx, s: socket.socket, count: int, per_second: int, pad: int, via_port: int,
          rport: bool) -> list[bytes]:
    """Sends `count` OPTIONS paced at `per_second`, reading whatever comes back meanwhile."""
    s.setblocking(False)
    got: list[bytes] = []
    start = time.monotonic()
    for n in range(count):
        due = start + n / per_second
        while time.monotonic() < due:
            try:
                got.append(s.recv(65535))
            except BlockingIOError:
                time.sleep(0.001)
        s.sendto(options(ctx, n, pad, via_port, rport), (ctx.net.access, 5060))
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        try:
            got.append(s.recv(65535))
        except BlockingIOError:
            time.sleep(0.005)
    return got


FLOOD_COUNT = 18000
FLOOD_RATE = 1000
FLOOD_PAD = 20000
CALLS_DURING_FLOOD = 8


@e2e_test(k=174, portico_only=True, timeout=180)
def test_options_flood_holds_little_memory(ctx):
    """The OPTIONS flood: 18,000 OPTIONS of 20 KB with unique branches at 1,000/s (18 s)
    from an allowed source, with the transaction caps OFF and T1 500 ms (Timer J 32 s: every
    transaction is still held when the flood ends). Portico's peak RSS (VmHWM, /proc) grows
    < 100 MB (the old code kept each request: ~99 KB per transaction, 1.7 GB), and 8 calls
    placed from another address of the same peer during the flood all complete."""
    net = ctx.net
    policy = default_policy(net, trace=False)
    check("t1: 50ms, t2: 400ms, t4: 500ms" in policy, "default_policy changed: timers")
    policy = policy.replace("t1: 50ms, t2: 400ms, t4: 500ms", "t1: 500ms, t2: 4s, t4: 5s")
    policy += "limits: {max_server_transactions: 0, max_server_transactions_per_source: 0}\n"
    ctx.start_portico(policy)
    pid = ctx.portico.proc.pid
    before = vm_kb(pid)
    uas = ctx.sipp("uas", "uas_basic.xml", net.primary, calls=CALLS_DURING_FLOOD,
                   global_timeout_s=60).start()
    uac = ctx.sipp("uac", "uac_basic.xml", net.ip(11), remote=ctx.access_target(),
                   calls=CALLS_DURING_FLOOD, rate=0.5, duration_ms=500,
                   global_timeout_s=60).start()
    started = time.monotonic()
    with udp_socket(net.uac, 5070) as s:
        answers = flood(ctx, s, FLOOD_COUNT, FLOOD_RATE, FLOOD_PAD, 5070, True)
    took = time.monotonic() - started
    held = sum(int(st.get("server_txns", "0")) for st in ctx.portico.shard_status() or [])
    after, peak = vm_kb(pid), vm_kb(pid, "VmHWM")
    ok = sum(1 for a in answers if a.startswith(b"SIP/2.0 200"))
    growth_mb = (peak - before) / 1024
    ctx.note(f"VmRSS {before / 1024:.1f} MB before; after {FLOOD_COUNT} OPTIONS of "
             f"{FLOOD_PAD // 1000} KB in {took:.1f} s: VmRSS {after / 1024:.1f} MB, peak VmHWM "
             f"{peak / 1024:.1f} MB (+{growth_mb:.1f} MB); {held} server transactions held; "
             f"{ok} answered 200")
    uac.wait(timeout=60)
    uas.wait(timeout=10)
    print(f"    {uac.describe()}; {uas.describe()}", flush=True)
    check(held >= FLOOD_COUNT // 2, f"only {held} transactions held: the flood did not load "
          "Portico")
    check(growth_mb < 100, f"peak RSS grew {growth_mb:.1f} MB (bound: 100 MB)")
    assert_sipp(uac, CALLS_DURING_FLOOD)
    assert_sipp(uas, CALLS_DURING_FLOOD)
    ctx.portico.assert_zero_state(timeout=45)  # Timer J (32 s) frees every OPTIONS transaction
    ctx.finish_portico()


@e2e_test(k=175, portico_only=True)
def test_source_over_its_transaction_cap_gets_503_at_its_own_port(ctx):
    """max_server_transactions_per_source 100 (50 per shard): 400 OPTIONS at once from one
    source get 503 with Retry-After beyond the cap, sent to the port they came from (5070), not
    to the port their Via names (no rport: 5999); one limit line per shard at most; another
    source's OPTIONS is still answered."""
    net = ctx.net
    ctx.start_portico(default_policy(net, trace=False)
                      + "limits: {max_server_transactions_per_source: 100, retry_after: 7s}\n")
    with udp_socket(net.uac, 5070) as s:
        answers = flood(ctx, s, 400, 4000, 100, 5999, False)
    refused = [a for a in answers if a.startswith(b"SIP/2.0 503")]
    ctx.note(f"{len(refused)} of 400 answered 503 at the source port")
    check(len(refused) >= 200, f"only {len(refused)} 503s came back to the source port")
    check(all(b"\r\nRetry-After: 7\r\n" in a for a in refused), "a 503 without Retry-After: 7")
    check(not any(a.startswith(b"SIP/2.0 200") for a in answers),
          "a 200 went to the source port although the Via names 5999 without rport")
    lines = ctx.portico.grep("event=sip.limit_reached")
    check(1 <= len(lines) <= 2 and all("limit=max_server_transactions_per_source" in l
                                       for l in lines), f"limit lines: {lines}")
    with udp_socket(net.ip(11), 5070) as other:
        other.sendto(options(ctx, 9999, 10, 5070, True), (net.access, 5060))
        check(other.recv(65535).startswith(b"SIP/2.0 200"), "another source was refused too")
    ctx.finish_portico()


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
