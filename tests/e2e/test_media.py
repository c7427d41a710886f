#!/usr/bin/env python3
"""Media anchoring on loopback: real RTP through Portico between two sipp peers.

    python3 tests/e2e/test_media.py --portico build/src/portico

Addresses (subnet 127.0.k.0/24): Portico access listener and media .1 (ports 20000-20999),
carrier listener and media .2 (ports 30000-30999), the talking caller .10 (RTP port 6000), the
echoing callee .20 (RTP port 7000, sipp -rtp_echo). tcpdump on `lo` records the RTP of the test's
subnet; what each peer received is counted from that capture, by destination address and port.

  two_way_rtp      the caller plays 3 s of G.711 A-law (sipp play_pcap_audio); > 90 % of it reaches
                   the callee FROM Portico's carrier media address, and > 90 % of the echo comes back
                   to the caller FROM Portico's access media address; the SDP each peer got names
                   Portico's address and a port of that realm's range; no peer's address crosses;
                   the CDR says media_anchored, codec PCMA and the packet counts. Mid-call the
                   callee's address sends two RTCP receiver reports (3 then 5 lost, jitter 80
                   then 160 timestamp units): the CDR says lost_a_to_b 5 and jitter 20.0 ms, and
                   /metrics counts 2 report blocks from the carrier realm and one jitter
                   observation in the 20 ms bucket.
  one_way_audio    the callee answers but sends no RTP back: after the call Portico logs
                   media.one_way silent=callee naming its realm and address, and counts it in
                   portico_media_one_way_calls_total{silent="callee"}; the caller side is not
                   counted.
  ports_exhausted  a 4-port access range on one shard holds two calls; a third gets 503, the log
                   says ports_exhausted, and after the calls end the ports serve a new call.
  media_on_another_shard
                   3 shards, server.media_shards 1: the caller's Call-ID (sipp -cid_str pt02-...)
                   puts the call on shard 2, whose media shard 0 relays it. Each shard logs
                   where its media goes; the call is anchored by shard 2; > 90 % of the caller's
                   RTP reaches the callee and > 90 % of the echo comes back; the packet counters
                   shard 2 reads from shard 0's relay (/metrics, CDR) match the capture.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

from harness import (Ctx, assert_sipp, check, default_policy, e2e_test, parse_trace, run_tests,
                     scrape_metrics, wait_until)
import netns

AUDIO = "/usr/share/sip-tester/g711a.pcap"
TALK_S = 3.0
PHONE_RTP = 6000
CARRIER_RTP = 7000


METRICS_PORT = 9464


def scrape(ip: str) -> dict[str, float]:
    return scrape_metrics(ip, METRICS_PORT)


def sdp_of(msg_text: str) -> tuple[str, int]:
    """(c= address, first m= port) of a SIP message text."""
    c = re.search(r"^c=IN IP4 (\S+)", msg_text, re.M)
    m = re.search(r"^m=audio (\d+)", msg_text, re.M)
    return (c.group(1) if c else ""), (int(m.group(1)) if m else -1)


def receiver_report(lost: int, jitter: int) -> bytes:
    """RTCP RR (RFC 3550 6.4.2) with one report block: V=2, RC=1, PT=201, length 7 words."""
    block = struct.pack("!IB3sIIII", 0x5eed, 0, lost.to_bytes(3, "big"), 1000, jitter, 0, 0)
    return struct.pack("!BBHI", 0x81, 201, 7, 0xca11ee) + block


def send_reports_from_callee(ctx: Ctx) -> bool:
    """Sends two RRs from the callee's address to Portico's carrier RTCP port (m= port + 1 of
    the INVITE Portico sent to the carrier, read from its SIP trace)."""
    net = ctx.net
    invites = [m for m in parse_trace(ctx.portico.log()) if m.dir == "out"
               and m.realm == "carrier" and m.first_line.startswith("INVITE")]
    if not invites:
        return False
    _, port = sdp_of(invites[0].text)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((net.primary, CARRIER_RTP + 1))
        for lost, jitter in ((3, 80), (5, 160)):
            s.sendto(receiver_report(lost, jitter), (net.carrier, port + 1))
            time.sleep(0.1)
    return True


def two_way_rtp_of(net, packets, sent: int) -> tuple[list, list, list]:
    """The caller's RTP as captured: (what it sent, what reached the callee, what came back to
    it), after checking that it played > 90 % of the `sent` pcap packets and that > 90 % of them
    arrived each way."""
    phone_sent = [p for p in packets if p.src == net.uac and p.sport == PHONE_RTP]
    at_carrier = [p for p in packets if p.dst == net.primary and p.dport == CARRIER_RTP]
    at_phone = [p for p in packets if p.dst == net.uac and p.dport == PHONE_RTP]
    print(f"    RTP: caller sent {len(phone_sent)} (pcap {sent}), callee received "
          f"{len(at_carrier)}, caller received {len(at_phone)} (the callee's echo)")
    check(len(phone_sent) >= sent * 0.9, f"sipp played only {len(phone_sent)} of {sent} packets")
    check(len(at_carrier) > 0.9 * len(phone_sent),
          f"caller -> callee: only {len(at_carrier)} of {len(phone_sent)} RTP packets arrived")
    check(len(at_phone) > 0.9 * len(phone_sent),
          f"callee -> caller: only {len(at_phone)} of {len(phone_sent)} RTP packets came back")
    return phone_sent, at_carrier, at_phone


def bucket(metrics: dict[str, float], name: str, realm: str, le: float) -> float | None:
    for key, value in metrics.items():
        m = re.fullmatch(name + r'_bucket\{(.*)\}', key)
        if m and f'realm="{realm}"' in m.group(1):
            bound = re.search(r'le="([^"]+)"', m.group(1)).group(1)
            if bound != "+Inf" and abs(float(bound) - le) < 1e-9:
                return value
    return None


@e2e_test(k=111)
def test_two_way_rtp(ctx: Ctx):
    net = ctx.net
    sent = netns.cut_pcap(AUDIO, ctx.dir / "media_talk.pcap", TALK_S)
    check(sent > 50, f"could not cut {AUDIO}: {sent} packets")
    cap = netns.Capture(netns.HostNamespace(), "host", "lo", ctx.dir / "rtp.pcap",
                        bpf=f"udp and net 127.0.{net.k}.0/24 and not port 5060").start()
    cdr_path = ctx.dir / "cdr.jsonl"
    ctx.start_portico(default_policy(net) + f"cdr: {{path: {cdr_path}}}\n"
                      f"metrics: {{address: {net.access}, port: {METRICS_PORT}}}\n")
    uas = ctx.sipp("uas", "uas_media_echo.xml", net.primary,
                   extra=["-mp", str(CARRIER_RTP), "-rtp_echo"]).start()
    uac = ctx.sipp("uac", "uac_media.xml", net.uac, remote=ctx.access_target(),
                   duration_ms=int(TALK_S * 1000) + 1500, extra=["-mp", str(PHONE_RTP)])
    during: dict[str, float] = {}
    reported = []

    def scrape_mid_call() -> None:  # while the caller talks
        if wait_until(lambda: bool(ctx.portico and ctx.portico.grep("event=call.answered")), 8.0):
            time.sleep(1.0)
            during.update(scrape(net.access))
            reported.append(send_reports_from_callee(ctx))
    mid = threading.Thread(target=scrape_mid_call, daemon=True)
    if not ctx.direct:
        mid.start()
    uac.run()
    uas.wait(timeout=10)
    print(f"    {uac.describe()}; {uas.describe()}", flush=True)
    packets = cap.packets()
    assert_sipp(uac, 1)
    assert_sipp(uas, 1)
    if ctx.direct:
        return

    # The SDP each side received names Portico, in that realm's range.
    invite = [m for m in uas.received() if m.first_line.startswith("INVITE")]
    ok200 = [m for m in uac.received() if m.first_line.startswith("SIP/2.0 200")
             and "INVITE" in " ".join(m.header("CSeq"))]
    check(invite and ok200, "missing INVITE at the callee or 200 at the caller")
    b_addr, b_port = sdp_of(invite[0].text)
    a_addr, a_port = sdp_of(ok200[0].text)
    print(f"    callee was offered {b_addr}:{b_port}, caller was answered {a_addr}:{a_port}")
    check(b_addr == net.carrier and 30000 <= b_port <= 30999,
          f"the callee's SDP should name Portico's carrier media {net.carrier}:30000-30999, "
          f"got {b_addr}:{b_port}")
    check(a_addr == net.access and 20000 <= a_port <= 20999,
          f"the caller's SDP should name Portico's access media {net.access}:20000-20999, "
          f"got {a_addr}:{a_port}")
    check(net.uac not in invite[0].text.split("\r\n\r\n", 1)[-1],
          "the caller's address reached the callee in SDP")
    check(net.primary not in ok200[0].text.split("\r\n\r\n", 1)[-1],
          "the callee's address reached the caller in SDP")

    # RTP, counted where each peer receives it.
    phone_sent, at_carrier, at_phone = two_way_rtp_of(net, packets, sent)
    check({(p.src, p.sport) for p in at_carrier} == {(net.carrier, b_port)},
          f"the callee got RTP from {sorted({(p.src, p.sport) for p in at_carrier})}, "
          f"expected only Portico's {net.carrier}:{b_port}")
    check({(p.src, p.sport) for p in at_phone} == {(net.access, a_port)},
          f"the caller got RTP from {sorted({(p.src, p.sport) for p in at_phone})}, "
          f"expected only Portico's {net.access}:{a_port}")
    check(all(p.payload in {q.payload for q in phone_sent} for p in at_phone[:20]),
          "the echoed RTP differs from what the caller sent (relay must not alter packets)")
    # Metrics: during the call one stream and one call on route "out"; afterwards the packet
    # counters match what the peers sent and received.
    mid.join(timeout=10)
    route_key = 'portico_calls_active_by_route{realm="access",route="out",target="primary"}'
    print(f"    mid-call: streams_active={during.get('portico_media_streams_active')} "
          f"{route_key}={during.get(route_key)}")
    check(during.get("portico_media_streams_active") == 1 and during.get(route_key) == 1,
          "mid-call metrics should show 1 media stream and 1 call on access/out/primary")
    after = scrape(net.access)
    relayed = {k: after.get(f'portico_media_packets_total{{realm="{r}",direction="{d}"}}')
               for k, r, d in [("access_in", "access", "in"), ("carrier_out", "carrier", "out"),
                               ("carrier_in", "carrier", "in"), ("access_out", "access", "out")]}
    print(f"    relayed: {relayed}")
    check(relayed["access_in"] == len(phone_sent) and relayed["carrier_out"] == len(at_carrier),
          f"caller->callee counters {relayed} vs sent {len(phone_sent)} / arrived {len(at_carrier)}")
    rtcp_at_phone = [p for p in packets if p.dst == net.uac and p.dport == PHONE_RTP + 1]
    check(len(rtcp_at_phone) == 2 and all(p.payload[1] == 201 for p in rtcp_at_phone),
          f"the callee's 2 RTCP reports reached the caller's RTCP port {len(rtcp_at_phone)} times")
    check(relayed["access_out"] == len(at_phone) + len(rtcp_at_phone),
          f"callee->caller counter {relayed['access_out']} vs arrived {len(at_phone)} RTP + "
          f"{len(rtcp_at_phone)} RTCP")
    check(after.get("portico_media_streams_active") == 0, "a media stream is still open")
    check(reported == [True], "the RTCP reports were not sent (no INVITE to the carrier traced)")
    reports = after.get('portico_media_rtcp_reports_total{realm="carrier"}')
    jitter_count = after.get('portico_media_jitter_seconds_count{realm="carrier"}')
    print(f"    RTCP: report blocks from carrier={reports} jitter observations={jitter_count}")
    check(reports == 2, f"portico_media_rtcp_reports_total{{realm=carrier}} = {reports}, sent 2")
    check(jitter_count == 1 and
          bucket(after, "portico_media_jitter_seconds", "carrier", 0.01) == 0 and
          bucket(after, "portico_media_jitter_seconds", "carrier", 0.02) == 1,
          "the call's 20 ms jitter is not in the 0.02 s bucket of portico_media_jitter_seconds")
    ctx.finish_portico()
    # The CDR tells the same story.
    check(wait_until(lambda: cdr_path.exists() and cdr_path.read_text().strip() != "", 3.0),
          f"no CDR written to {cdr_path}")
    rec = json.loads(cdr_path.read_text().splitlines()[0])
    print(f"    CDR: media_anchored={rec.get('media_anchored')} codec={rec.get('codec')} "
          f"packets_a_to_b={rec.get('packets_a_to_b')} packets_b_to_a={rec.get('packets_b_to_a')}")
    check(rec.get("media_anchored") is True and rec.get("codec") == "PCMA",
          f"CDR media fields: {rec}")
    check(rec.get("packets_a_to_b", 0) >= len(at_carrier) and
          rec.get("packets_b_to_a", 0) >= len(at_phone),
          f"CDR packet counts {rec.get('packets_a_to_b')}/{rec.get('packets_b_to_a')} below what "
          f"the peers received ({len(at_carrier)}/{len(at_phone)})")
    print(f"    CDR quality: lost_a_to_b={rec.get('lost_a_to_b')} "
          f"jitter_ms_a_to_b={rec.get('jitter_ms_a_to_b')} lost_b_to_a={rec.get('lost_b_to_a')}")
    check(rec.get("lost_a_to_b") == 5 and rec.get("jitter_ms_a_to_b") == 20.0,
          f"CDR quality from the callee's RTCP: {rec}")
    check(rec.get("lost_b_to_a") is None and rec.get("jitter_ms_b_to_a") is None,
          f"the caller sent no RTCP, yet the CDR reports quality for it: {rec}")


@e2e_test(k=113)
def test_one_way_audio(ctx: Ctx):
    net = ctx.net
    if ctx.direct:
        return
    sent = netns.cut_pcap(AUDIO, ctx.dir / "media_talk.pcap", TALK_S)
    check(sent > 50, f"could not cut {AUDIO}: {sent} packets")
    ctx.start_portico(default_policy(net) +
                      f"metrics: {{address: {net.access}, port: {METRICS_PORT}}}\n")
    uas = ctx.sipp("uas", "uas_media_echo.xml", net.primary,
                   extra=["-mp", str(CARRIER_RTP)]).start()  # no -rtp_echo: a mute callee
    uac = ctx.sipp("uac", "uac_media.xml", net.uac, remote=ctx.access_target(),
                   duration_ms=int(TALK_S * 1000) + 1500, extra=["-mp", str(PHONE_RTP)])
    uac.run()
    uas.wait(timeout=10)
    assert_sipp(uac, 1)
    check(wait_until(lambda: bool(ctx.portico.grep("event=media.one_way")), 3.0),
          "no event=media.one_way after a call whose callee never sent RTP")
    line = ctx.portico.grep("event=media.one_way")[0]
    print(f"    {line.strip()[:220]}")
    check("silent=callee" in line and "silent_realm=carrier" in line and net.primary in line,
          f"the one-way log does not name the silent callee, its realm and address: {line}")
    after = scrape(net.access)
    silent_callee = after.get('portico_media_one_way_calls_total{silent="callee"}')
    silent_caller = after.get('portico_media_one_way_calls_total{silent="caller"}')
    check(silent_callee == 1 and silent_caller == 0,
          f"one-way counters callee={silent_callee} caller={silent_caller}, expected 1 and 0")
    ctx.finish_portico()


@e2e_test(k=112)
def test_ports_exhausted(ctx: Ctx):
    net = ctx.net
    if ctx.direct:
        return
    policy = default_policy(net, shards=1).replace("ports: 20000-20999", "ports: 20000-20003")
    check("20000-20003" in policy, "policy template changed: no access media range to shrink")
    ctx.start_portico(policy, shards=1)
    uas = ctx.sipp("uas", "uas_basic.xml", net.primary, calls=3, duration_ms=6000).start()
    held = ctx.sipp("held", "uac_basic.xml", net.uac, remote=ctx.access_target(), calls=2,
                    rate=20, duration_ms=6000)
    held.start(wait_bound=True)
    # Bounded generously: on a loaded CI machine sipp may take a few seconds to place both.
    check(wait_until(lambda: len(ctx.portico.grep("event=media.anchored")) >= 2, 15.0),
          "the first two calls were not anchored within 15 s")
    refused = ctx.sipp("refused", "uac_expect_503.xml", net.ip(11), local_port=5060,
                       remote=ctx.access_target())
    refused.run()
    print(f"    {refused.describe()}", flush=True)
    assert_sipp(refused, 1)
    check(ctx.portico.grep("reason=ports_exhausted"),
          "Portico's log does not name ports_exhausted for the refused call")
    held.wait(timeout=20)
    print(f"    {held.describe()}", flush=True)
    assert_sipp(held, 2)
    # The ports drain (2 s quarantine), then serve a new call.
    ctx.portico.assert_zero_state()
    again = ctx.sipp("again", "uac_basic.xml", net.uac, remote=ctx.access_target(),
                     duration_ms=200)
    wait_until(lambda: False, 2.5)
    again.run()
    print(f"    {again.describe()}", flush=True)
    assert_sipp(again, 1)
    uas.wait(timeout=10)
    assert_sipp(uas, 3)
    ctx.finish_portico()


@e2e_test(k=114)
def test_media_on_another_shard(ctx: Ctx):
    net = ctx.net
    if ctx.direct:
        return
    sent = netns.cut_pcap(AUDIO, ctx.dir / "media_talk.pcap", 2.0)
    check(sent > 50, f"could not cut {AUDIO}: {sent} packets")
    cap = netns.Capture(netns.HostNamespace(), "host", "lo", ctx.dir / "rtp.pcap",
                        bpf=f"udp and net 127.0.{net.k}.0/24 and not port 5060").start()
    cdr_path = ctx.dir / "cdr.jsonl"
    policy = (default_policy(net, shards=3).replace("server: {", "server: {media_shards: 1, ")
              + f"cdr: {{path: {cdr_path}}}\n"
              f"metrics: {{address: {net.access}, port: {METRICS_PORT}}}\n")
    check("media_shards: 1" in policy, "policy template changed: no server section to extend")
    ctx.start_portico(policy, shards=3)
    placed = {l.split("calls_of=")[1].split()[0]: l.split("relayed_on=")[1].split()[0]
              for l in ctx.portico.grep("event=media.shard")}
    print(f"    media of each shard relayed on: {placed}")
    check(placed == {"0": "0", "1": "0", "2": "0"},
          f"with media_shards 1 every shard's media should be relayed on shard 0: {placed}")
    uas = ctx.sipp("uas", "uas_media_echo.xml", net.primary,
                   extra=["-mp", str(CARRIER_RTP), "-rtp_echo"]).start()
    uac = ctx.sipp("uac", "uac_media.xml", net.uac, remote=ctx.access_target(),
                   duration_ms=3000, extra=["-mp", str(PHONE_RTP), "-cid_str", "pt02-%u-%p@%s"])
    uac.run()
    uas.wait(timeout=10)
    print(f"    {uac.describe()}; {uas.describe()}", flush=True)
    packets = cap.packets()
    assert_sipp(uac, 1)
    assert_sipp(uas, 1)
    anchored = ctx.portico.grep("event=media.anchored")
    check(len(anchored) == 1 and " shard=2 " in f" {anchored[0]} ",
          f"the call should be anchored by shard 2 (Call-ID pt02-...): {anchored}")

    phone_sent, at_carrier, at_phone = two_way_rtp_of(net, packets, sent)
    after = scrape(net.access)
    access_in = after.get('portico_media_packets_total{realm="access",direction="in"}')
    access_out = after.get('portico_media_packets_total{realm="access",direction="out"}')
    print(f"    relayed (as shard 2 counted them): access in {access_in}, access out "
          f"{access_out}")
    check(access_in == len(phone_sent) and access_out == len(at_phone),
          f"counters {access_in}/{access_out} vs the capture {len(phone_sent)}/{len(at_phone)}")
    check(after.get("portico_media_streams_active") == 0, "a media stream is still open")
    ctx.finish_portico()
    check(wait_until(lambda: cdr_path.exists() and cdr_path.read_text().strip() != "", 3.0),
          f"no CDR written to {cdr_path}")
    rec = json.loads(cdr_path.read_text().splitlines()[0])
    check(rec.get("packets_a_to_b") == len(at_carrier) and
          rec.get("packets_b_to_a") == len(at_phone),
          f"CDR packet counts {rec.get('packets_a_to_b')}/{rec.get('packets_b_to_a')} vs the "
          f"capture {len(at_carrier)}/{len(at_phone)}")


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
