#!/usr/bin/env python3
"""What crosses the edge: media only from and to where the SDP and the policy say, identity only
from trusted peers, user parts that stay one user, bounded lengths, nothing for a scanner.

    python3 tests/e2e/test_edge.py --portico build/src/portico

Addresses (subnet 127.0.k.0/24) as in every test: Portico access .1 / carrier .2, the caller .10
(RTP 6000), the callee .20 (RTP 7000); a third party .66.

  strict_source     a call with media on realms without `nat`: while the caller plays 3 s of
                    G.711 and the callee echoes it, a third party (.66) sends RTP carrying a
                    marker to both of Portico's anchored ports. Counted from a loopback capture:
                    not one marked packet reaches either peer, > 90 % of the real stream arrives
                    each way, and /metrics counts every injected packet as
                    dropped{reason="unexpected_source"}.
  media_address_refused
                    the access realm allows media only at .200: the caller's SDP names .10, so
                    its INVITE is answered 488 with `Warning: 301` that names no realm, address or
                    port range; the trunk sees no INVITE; portico_media_address_refused_total 1.
  identity_and_lengths
                    the caller (an access peer not marked trusted) sends P-Asserted-Identity,
                    P-Preferred-Identity, Diversion and Identity, a From display name of 16 KB
                    and the Request-URI user 0044%3E%3Btag%3Dx. The trunk gets none of the
                    identity headers, a display name of at most 128 bytes, a To without a tag
                    and the user still escaped; the call completes; the removals and the
                    truncation are counted.
  identity_from_trusted_peer
                    the same caller marked `trusted: true`: its P-Asserted-Identity reaches the
                    trunk, with the host replaced by Portico's carrier address.
  svmap_learns_nothing
                    sipvicious svmap (always -b/-x 127.0.0.1) scans Portico inside a private
                    network namespace (only lo), with OPTIONS and INVITE, another From name,
                    and a User-Agent other than its default (a softphone's, seen in Portico's
                    trace); raw OPTIONS with a browser's and other User-Agents too. Portico is found, but svmap's
                    User Agent column says `unknown` and no answer carries a Server or
                    User-Agent header, the word Portico or a version number.
"""

from __future__ import annotations

import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

from harness import (SCENARIOS, Ctx, assert_sipp, check, default_policy, e2e_test, parse_trace,
                     run_tests, scrape_metrics, wait_until)
import netns

AUDIO = "/usr/share/sip-tester/g711a.pcap"
TALK_S = 3.0
PHONE_RTP = 6000
CARRIER_RTP = 7000
METRICS_PORT = 9464
MARK = b"INJECTED-BY-A-THIRD-PARTY"


def sdp_port(text: str) -> int:
    m = re.search(r"^m=audio (\d+)", text, re.M)
    return int(m.group(1)) if m else -1


def rtp(seq: int) -> bytes:
    """A valid RTP header (V=2, PCMA, SSRC 0xbad) followed by the marker."""
    return struct.pack("!BBHII", 0x80, 8, seq, seq * 160, 0xBAD) + MARK + bytes(135)


def anchored_ports(ctx: Ctx) -> tuple[int, int]:
    """(Portico's access-side port offered to the caller, its carrier-side port offered to the
    callee), from Portico's own SIP trace."""
    access = carrier = -1
    for m in parse_trace(ctx.portico.log()):
        if m.dir != "out":
            continue
        if m.realm == "carrier" and m.first_line.startswith("INVITE"):
            carrier = sdp_port(m.text)
        if m.realm == "access" and m.first_line.startswith("SIP/2.0 200") and "m=audio" in m.text:
            access = sdp_port(m.text)
    return access, carrier


def scenario_from(ctx: Ctx, base: str, name: str, edits: list[tuple[str, str]]) -> str:
    """A copy of scenarios/<base> with each (old, new) replaced once, written to the test dir."""
    text = (SCENARIOS / base).read_text()
    for old, new in edits:
        check(old in text, f"{base} has no {old!r} to replace")
        text = text.replace(old, new, 1)
    path = ctx.dir / name
    path.write_text(text)
    return str(path)


@e2e_test(k=190)
def test_strict_source(ctx: Ctx):
    net = ctx.net
    if ctx.direct:
        return
    sent = netns.cut_pcap(AUDIO, ctx.dir / "media_talk.pcap", TALK_S)
    check(sent > 50, f"could not cut {AUDIO}: {sent} packets")
    cap = netns.Capture(netns.HostNamespace(), "host", "lo", ctx.dir / "rtp.pcap",
                        bpf=f"udp and net 127.0.{net.k}.0/24 and not port 5060").start()
    ctx.start_portico(default_policy(net) +
                      f"metrics: {{address: {net.access}, port: {METRICS_PORT}}}\n")
    uas = ctx.sipp("uas", "uas_media_echo.xml", net.primary,
                   extra=["-mp", str(CARRIER_RTP), "-rtp_echo"]).start()
    uac = ctx.sipp("uac", "uac_media.xml", net.uac, remote=ctx.access_target(),
                   duration_ms=int(TALK_S * 1000) + 1500, extra=["-mp", str(PHONE_RTP)])
    injected: list[int] = []

    def inject() -> None:  # while the caller talks: the third party's packets, both ports
        if not wait_until(lambda: "event=call.answered" in ctx.portico.log(), 8.0):
            return
        time.sleep(0.5)
        a_port, b_port = anchored_ports(ctx)
        if a_port < 0 or b_port < 0:
            return
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((net.ip(66), 0))
            for seq in range(50):
                s.sendto(rtp(seq), (net.carrier, b_port))  # would go on to the caller
                s.sendto(rtp(seq), (net.access, a_port))   # would go on to the callee
                time.sleep(0.01)
        injected.append(100)
    thread = threading.Thread(target=inject, daemon=True)
    thread.start()
    uac.run()
    uas.wait(timeout=10)
    thread.join(timeout=10)
    print(f"    {uac.describe()}; {uas.describe()}", flush=True)
    assert_sipp(uac, 1)
    assert_sipp(uas, 1)
    check(injected == [100], "the third party's packets were not sent (no anchored ports found)")
    packets = cap.packets()
    phone_sent = [p for p in packets if p.src == net.uac and p.sport == PHONE_RTP]
    at_callee = [p for p in packets if p.dst == net.primary and p.dport == CARRIER_RTP]
    at_caller = [p for p in packets if p.dst == net.uac and p.dport == PHONE_RTP]
    marked = [p for p in at_callee + at_caller if MARK in p.payload]
    from_third = [p for p in packets if p.src == net.ip(66)]
    print(f"    RTP: caller sent {len(phone_sent)}, callee got {len(at_callee)}, caller got "
          f"{len(at_caller)}; third party sent {len(from_third)}, of which reached a peer: "
          f"{len(marked)}")
    check(len(from_third) == 100, f"the capture saw {len(from_third)} of the 100 injected packets")
    check(not marked, f"{len(marked)} injected packet(s) were relayed to a peer")
    check(len(phone_sent) >= sent * 0.9, f"sipp played only {len(phone_sent)} of {sent} packets")
    check(len(at_callee) > 0.9 * len(phone_sent) and len(at_caller) > 0.9 * len(phone_sent),
          f"the real stream suffered: {len(at_callee)} / {len(at_caller)} of {len(phone_sent)}")
    after = scrape_metrics(net.access, METRICS_PORT)
    dropped = after.get('portico_media_dropped_packets_total{reason="unexpected_source"}')
    print(f"    dropped{{reason=unexpected_source}} = {dropped}")
    check(dropped == 100, f"portico_media_dropped_packets_total{{reason=unexpected_source}} = "
                          f"{dropped}, expected the 100 injected packets")
    ctx.finish_portico()


@e2e_test(k=191)
def test_media_address_refused(ctx: Ctx):
    net = ctx.net
    if ctx.direct:
        return
    policy = default_policy(net).replace(
        f"media: {{address: {net.access}, ports: 20000-20999}}",
        f'media: {{address: {net.access}, ports: 20000-20999, '
        f'allowed_networks: ["{net.ip(200)}/32"]}}')
    check("allowed_networks" in policy, "could not add allowed_networks to the default policy")
    ctx.start_portico(policy + f"metrics: {{address: {net.access}, port: {METRICS_PORT}}}\n")
    uas = ctx.sipp("uas", "uas_basic.xml", net.primary).start()
    scen = scenario_from(ctx, "uac_expect_503.xml", "uac_expect_488.xml",
                         [('<recv response="503"', '<recv response="488"')])
    uac = ctx.sipp("uac", scen, net.uac, remote=ctx.access_target())
    uac.run()
    print(f"    {uac.describe()}", flush=True)
    assert_sipp(uac, 1)
    answer = [m for m in uac.received() if m.first_line.startswith("SIP/2.0 488")]
    check(answer, "no 488 reached the caller")
    warning = " ".join(answer[0].header("Warning"))
    print(f"    488 Warning: {warning}")
    check(warning.startswith("301 "), f"the 488 carries no Warning 301: {answer[0].text[:400]}")
    for leak in ("access", "carrier", "20000", "20999", net.access, net.carrier, "portico",
                 "Portico"):
        check(leak not in warning, f"the Warning names {leak!r}: {warning}")
    check(not uas.requests_received("INVITE"), "the trunk got an INVITE for a refused offer")
    after = scrape_metrics(net.access, METRICS_PORT)
    check(after.get("portico_media_address_refused_total") == 1,
          f"portico_media_address_refused_total = "
          f"{after.get('portico_media_address_refused_total')}")
    check(ctx.portico.grep("event=media.address_refused"), "no media.address_refused log line")
    uas.stop()
    ctx.finish_portico()


IDENTITY = ("P-Asserted-Identity: <sip:+442071234567@pbx7.corp.internal>\n"
            "      P-Preferred-Identity: <sip:+442071234568@[local_ip]>\n"
            "      Diversion: <sip:+442071234569@[local_ip]>;reason=unconditional\n"
            "      Identity: eyJhbGciOiJFUzI1NiJ9.eyJhdHRlc3QiOiJBIn0.c2ln;info=<https://cert.example/c.pem>\n")
LONG_DISPLAY = "D" * 16384


def identity_call(ctx: Ctx, trusted: bool) -> str:
    """One call from a caller sending identity headers, a 16 KB display name and an escaped
    user part; returns the INVITE the trunk received."""
    net = ctx.net
    policy = default_policy(net) + f"metrics: {{address: {net.access}, port: {METRICS_PORT}}}\n"
    if trusted:
        policy = policy.replace("transport: udp}\nroutes:", "transport: udp, trusted: true}\nroutes:")
        check("trusted: true" in policy, "could not mark the caller trusted")
    ctx.start_portico(policy)
    uas = ctx.sipp("uas", "uas_basic.xml", net.primary, duration_ms=100).start()
    scen = scenario_from(ctx, "uac_basic.xml", "uac_identity.xml", [
        ('From: "E2E Caller"', f'From: "{LONG_DISPLAY}"'),
        ("User-Agent: PorticoE2E-UAC/1.0\n", "User-Agent: PorticoE2E-UAC/1.0\n      " + IDENTITY),
    ])
    uac = ctx.sipp("uac", scen, net.uac, remote=ctx.access_target(), duration_ms=100,
                   service="0044%3E%3Btag%3Dx")
    uac.run()
    uas.wait(timeout=10)
    print(f"    {uac.describe()}; {uas.describe()}", flush=True)
    assert_sipp(uac, 1)
    assert_sipp(uas, 1)
    invites = uas.requests_received("INVITE")
    check(invites, "the trunk received no INVITE")
    return invites[0].text


@e2e_test(k=192)
def test_identity_and_lengths(ctx: Ctx):
    if ctx.direct:
        return
    net = ctx.net
    invite = identity_call(ctx, trusted=False)
    head = invite.split("\n\n", 1)[0]
    for h in ("P-Asserted-Identity", "P-Preferred-Identity", "Diversion", "Identity:"):
        check(h.lower() not in head.lower(), f"{h} crossed from an untrusted peer:\n{head[:800]}")
    from_hdr = re.search(r"^From:\s*(.*)$", head, re.M | re.I).group(1)
    display = from_hdr.split("<", 1)[0].strip()
    print(f"    From at the trunk: {len(from_hdr)} bytes, display {len(display)} bytes")
    check(0 < len(display) <= 128, f"the display name crossed with {len(display)} bytes")
    to_hdr = re.search(r"^To:\s*(.*)$", head, re.M | re.I).group(1)
    ruri = invite.split("\n", 1)[0]
    print(f"    Request-URI: {ruri}; To: {to_hdr}")
    check("tag=" not in to_hdr.split(">", 1)[-1],
          f"the caller's user part injected a To tag: {to_hdr}")
    check("%3E" in ruri and ">" not in ruri, f"the user part is not escaped again: {ruri}")
    after = scrape_metrics(net.access, METRICS_PORT)
    removed = after.get("portico_sip_identity_headers_removed_total")
    truncated = after.get('portico_sip_too_long_total{action="truncated"}')
    print(f"    identity headers removed {removed}, display names truncated {truncated}")
    check(removed == 4, f"portico_sip_identity_headers_removed_total = {removed}, expected 4")
    check(truncated == 1, f"portico_sip_too_long_total{{action=truncated}} = {truncated}")
    ctx.finish_portico()


@e2e_test(k=193)
def test_identity_from_trusted_peer(ctx: Ctx):
    if ctx.direct:
        return
    net = ctx.net
    invite = identity_call(ctx, trusted=True)
    pai = re.findall(r"^P-Asserted-Identity:\s*(.*)$", invite, re.M | re.I)
    print(f"    P-Asserted-Identity at the trunk: {pai}")
    check(pai == [f"<sip:+442071234567@{net.carrier}>"],
          f"a trusted peer's P-Asserted-Identity did not cross (host hidden): {pai}")
    ctx.finish_portico()


SCAN_NS = "scan"
SCANNER_UA = "Zoiper rv2.10.19.5"
# svmap has no option for its User-Agent ("friendly-scanner", which scanners change to pass as
# phones): the same svmap with the default of its request builder replaced.
SVMAP_AS = (
    "import sys\n"
    "sys.path.insert(0, '/usr/share/sipvicious')\n"
    "from sipvicious.libs import svhelper\n"
    "from sipvicious import svmap\n"
    "f = svhelper.makeRequest\n"
    "names = f.__code__.co_varnames[:f.__code__.co_argcount][-len(f.__defaults__):]\n"
    "d = list(f.__defaults__)\n"
    "d[names.index('useragent')] = sys.argv[1]\n"
    "f.__defaults__ = tuple(d)\n"
    "sys.argv = sys.argv[2:]\n"
    "sys.exit(svmap.main())\n")


def raw_options(topo: netns.Topology, target: str, user_agent: str) -> str:
    """One OPTIONS from 127.0.0.1 inside the namespace; the answer's text (empty on timeout)."""
    script = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('127.0.0.1',0));s.settimeout(2)\n"
        "p=s.getsockname()[1]\n"
        f"m=('OPTIONS sip:100@{target} SIP/2.0\\r\\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKua1\\r\\n'\n"
        f"'Max-Forwards: 70\\r\\nFrom: <sip:probe@127.0.0.1>;tag=ua1\\r\\nTo: <sip:100@{target}>\\r\\n'\n"
        f"'Call-ID: ua-probe-1\\r\\nCSeq: 1 OPTIONS\\r\\nUser-Agent: {user_agent}\\r\\n'\n"
        "'Accept: application/sdp\\r\\nContent-Length: 0\\r\\n\\r\\n')%p\n"
        f"s.sendto(m.encode(),('{target}',5060))\n"
        "try:\n  sys.stdout.write(s.recv(65535).decode(errors='replace'))\n"
        "except socket.timeout:\n  pass\n")
    r = topo.exec(SCAN_NS, [sys.executable, "-c", script], check=False, timeout=10)
    return r.stdout


@e2e_test(k=194, timeout=90)
def test_svmap_learns_nothing(ctx: Ctx):
    if ctx.direct:
        return
    net = ctx.net
    problem = netns.preflight()
    check(not problem, f"cannot build a network namespace: {problem}")
    svmap = "/usr/bin/svmap"
    check(os.access(svmap, os.X_OK), "svmap not found (install the sipvicious package)")
    topo = netns.Topology(f"ptscan{os.getpid()}")
    try:
        topo.namespace(SCAN_NS)  # loopback only: nothing the scanner sends can leave
        links = topo.ip(SCAN_NS, "-o", "link")
        check([l.split(":")[1].strip() for l in links.splitlines()] == ["lo"],
              f"the scan namespace has more than lo: {links}")
        policy = default_policy(net).replace('sources: ["127.0.', 'sources: ["127.0.0.1/32", "127.0.')
        ctx.start_portico(policy, wrap=topo.wrap(SCAN_NS))
        answers: list[str] = []
        tables: list[str] = []
        for ua, extra in ((None, ["-m", "OPTIONS"]),
                          (None, ["-m", "OPTIONS", "--fromname", "Bob Smith", "-e", "200"]),
                          (None, ["-m", "INVITE"]),
                          (SCANNER_UA, ["-m", "OPTIONS"]),
                          (SCANNER_UA, ["-m", "INVITE"])):
            prog = [svmap] if ua is None else ["/usr/bin/python3", "-c", SVMAP_AS, ua, "svmap"]
            argv = [*prog, "-b", "127.0.0.1", "-x", "127.0.0.1", "-P", "5070", "-p", "5060",
                    "-t", "0.05", *extra, net.access]
            extra = extra + ([f"(User-Agent {ua})"] if ua else [])
            r = topo.exec(SCAN_NS, argv, check=False, timeout=30)
            out = r.stdout + r.stderr
            (ctx.dir / f"svmap{len(tables)}.log").write_text(" ".join(argv) + "\n" + out)
            tables.append(out)
            row = [l for l in out.splitlines() if f"{net.access}:5060" in l]
            print(f"    svmap {' '.join(extra)}: {row[-1].strip() if row else out.strip()[-200:]}")
            check(row, f"svmap {' '.join(extra)} did not find Portico at {net.access}:5060:\n{out}")
            check(row[-1].split("|")[-2].strip() == "unknown" if "|" in row[-1]
                  else row[-1].rstrip().endswith("unknown"),
                  f"svmap learnt a user agent: {row[-1]}")
        seen_ua = [m for m in parse_trace(ctx.portico.log())
                   if m.dir == "in" and f"User-Agent: {SCANNER_UA}" in m.text]
        check(seen_ua, f"svmap did not send User-Agent: {SCANNER_UA} (Portico's trace)")
        for ua in ("Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", "friendly-scanner",
                   SCANNER_UA):
            answer = raw_options(topo, net.access, ua)
            answers.append(answer)
            print(f"    OPTIONS with User-Agent {ua!r}: {answer.splitlines()[0] if answer else '-'}")
            check(answer.startswith("SIP/2.0 "), f"no answer to OPTIONS with User-Agent {ua!r}")
        for text in tables + answers:
            check("portico" not in text.lower(), f"the product name reached the scanner:\n{text}")
        for answer in answers:
            head = answer.split("\r\n\r\n", 1)[0]
            check(not re.search(r"^(Server|User-Agent)\s*:", head, re.M | re.I),
                  f"an answer carries Server/User-Agent:\n{head}")
            check(not re.search(r"\d+\.\d+\.\d+", head.replace(net.access, "").replace(
                "127.0.0.1", "")), f"an answer carries a version-like number:\n{head}")
        ctx.finish_portico(zero_state=False)
    finally:
        if ctx.portico is not None:
            ctx.portico.stop()
        topo.teardown()


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
