#!/usr/bin/env python3
"""SRTP (SDES, RFC 4568) interworking on loopback: a plain-RTP PBX through Portico to an SRTP
carrier, with real peers.

    python3 tests/e2e/test_srtp.py --portico build/src/portico

Addresses (subnet 127.0.k.0/24, k 240-249): Portico access .1 (media 20000-20999), carrier .2
(media 30000-30999), the plain-RTP caller .10 (sipp, RTP port 6000), the carrier .20 (baresip
or sipp). The trunk's policy says `media_security: srtp`; the access side stays plain RTP.

  rtp_to_srtp_baresip  baresip with mediaenc=srtp-mand (mandatory SDES) answers a call from sipp,
                       which plays 3 s of G.711 A-law; baresip sends a 440 Hz tone back. The
                       INVITE baresip got is RTP/SAVP with a=crypto lines (Portico's keys), the
                       200 sipp got is plain RTP/AVP without any; > 80 % of sipp's RTP reaches
                       baresip and baresip decodes it (its sndfile dump of the decoded audio
                       holds seconds of non-silent audio, and it logs no decryption failure);
                       > 80 % of the expected tone packets reach sipp; on the SRTP link no
                       payload equals one sipp sent; Portico counts no SRTP drop; no inline: key
                       appears in Portico's log (its SIP trace is redacted).
  wrong_key_dropped    the carrier (sipp, RTP/SAVP answer with an a=crypto key of its own) echoes
                       back the SRTP Portico sends it, so what it sends is not protected with the
                       key it signalled: Portico drops every echoed packet
                       (portico_srtp_dropped_packets_total{reason="auth_fail"} counts them all),
                       the plain caller receives no RTP at all.
  srtp_required_488    the access peer requires SRTP (`media_security: srtp`) and offers plain
                       RTP: 488 with `Warning: 399 ... "SRTP required: no usable a=crypto
                       (SDES) line"`, the trunk never sees an INVITE,
                       portico_srtp_refused_total{reason="no_usable_crypto"} is 1, one
                       media.srtp_refused log line.
"""

from __future__ import annotations

import math
import re
import shutil
import struct
import sys
import time
import wave
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

from harness import (SCENARIOS, Ctx, assert_sipp, check, default_policy, e2e_test, run_tests,
                     scrape_metrics, spawn, stop_pid, wait_until)
import netns

AUDIO = "/usr/share/sip-tester/g711a.pcap"
TALK_S = 3.0
PHONE_RTP = 6000
CARRIER_RTP = 7000
METRICS_PORT = 9464
BARESIP_MODULES = Path("/usr/lib/baresip/modules")
# A fixed carrier key for the wrong-key test (30 bytes of AES_CM_128 key || salt).
CARRIER_KEY = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"


def srtp_policy(net, *, trunk: bool = True, peer: bool = False, latch_any: bool = False) -> str:
    policy = default_policy(net) + f"metrics: {{address: {net.access}, port: {METRICS_PORT}}}\n"
    if latch_any:
        # baresip 1.0 signals its SIP address in SDP but sends RTP from an unbound socket, so
        # the kernel picks 127.0.0.1 as the source: latch onto where its RTP really comes from.
        old = f"media: {{address: {net.carrier}, ports: 30000-30999}}"
        check(old in policy, "the default policy changed: no carrier media to edit")
        policy = policy.replace(old, old[:-1] + ", nat: true, latch_any_ip: true}", 1)
    if trunk:
        old = f"host: {net.primary}, port: 5060,"
        check(old in policy, "the default policy changed: no primary trunk line to edit")
        policy = policy.replace(old, old + " media_security: srtp,", 1)
    if peer:
        old = f"host: {net.uac}, port: 5060,"
        check(old in policy, "the default policy changed: no access peer line to edit")
        policy = policy.replace(old, old + " media_security: srtp,", 1)
    return policy


def scenario_from(ctx: Ctx, base: str, name: str, edits: list[tuple[str, str]]) -> str:
    """A copy of scenarios/<base> with each (old, new) replaced once, written to the test dir."""
    text = (SCENARIOS / base).read_text()
    for old, new in edits:
        check(old in text, f"{base} has no {old!r} to replace")
        text = text.replace(old, new, 1)
    path = ctx.dir / name
    path.write_text(text)
    return str(path)


def rtp_payload(p) -> bytes:
    return p.payload[12:]


def write_tone(path: Path, seconds: float) -> None:
    """A 440 Hz tone, 8 kHz mono 16-bit WAV (baresip's aufile source; its ausine is 48 kHz only)."""
    n = int(8000 * seconds)
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000)))
                      for i in range(n))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(frames)


class Baresip:
    """baresip 1.0 answering calls on `ip`:5060 with mandatory SDES SRTP, sending a 440 Hz tone
    (aufile), dumping the audio it decodes to WAV files (sndfile), no sound card."""

    def __init__(self, ctx: Ctx, ip: str):
        self.dir = ctx.dir / "baresip"
        self.dir.mkdir()
        # baresip's sndfile truncates a long dump path (from ctest's build dir it lost its .wav).
        self.dumps = self.dir / "d"
        self.dumps.mkdir()
        self.tone = self.dir / "tone.wav"
        write_tone(self.tone, seconds=10.0)
        (self.dir / "config").write_text(f"""poll_method epoll
sip_listen {ip}:5060
net_interface {ip}
audio_player aubridge,nowhere
audio_source aufile,{self.tone}
audio_alert aubridge,nowhere
rtp_ports 40000-40100
module_path {BARESIP_MODULES}
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
module srtp.so
module_app account.so
snd_path {self.dumps}
""")
        (self.dir / "accounts").write_text(
            f"<sip:15550001@{ip}>;regint=0;mediaenc=srtp-mand;answermode=auto;"
            f"audio_codecs=PCMA\n")
        self.log_path = self.dir / "baresip.log"
        self.proc = None
        self.ip = ip

    def start(self) -> "Baresip":
        self._log = open(self.log_path, "wb")
        self.proc = spawn(["baresip", "-f", self.dir], stdout=self._log, stderr=self._log,
                          cwd=self.dir)
        ok = wait_until(lambda: b"baresip is ready" in self.log_path.read_bytes()
                        or self.proc.poll() is not None, 5.0)
        check(ok and self.proc.poll() is None,
              f"baresip did not start: {self.log_path.read_text(errors='replace')[-600:]}")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None:
            stop_pid(self.proc)
            self.proc = None
            self._log.close()

    def decoded_audio(self) -> tuple[float, int]:
        """(seconds, peak absolute sample) of the decoded ("-dec") dumps sndfile wrote."""
        seconds, peak = 0.0, 0
        for wav in self.dumps.glob("dump-*-dec*"):
            data = wav.read_bytes()
            pcm = data[44:]
            n = len(pcm) // 2
            if n:
                samples = struct.unpack(f"<{n}h", pcm[:n * 2])
                seconds += n / 8000.0
                peak = max(peak, max(abs(s) for s in samples))
        return seconds, peak


def talking_call(ctx: Ctx, name: str, cap: netns.Capture):
    """One call from the PBX (sipp at net.uac, RTP port PHONE_RTP) playing TALK_S s of
    media_talk.pcap; returns its sipp and what `cap` captured (stopped after the call)."""
    uac = ctx.sipp(name, "uac_media.xml", ctx.net.uac, remote=ctx.access_target(),
                   duration_ms=int(TALK_S * 1000) + 1500, extra=["-mp", str(PHONE_RTP)])
    uac.run()
    print(f"    {uac.describe()}", flush=True)
    time.sleep(0.5)
    packets = cap.packets()
    assert_sipp(uac, 1)
    return uac, packets


def assert_sdes_towards_carrier(ctx: Ctx, uac) -> int:
    """The carrier was offered SDES SRTP by Portico and the caller answered plain RTP; returns
    Portico's media port towards the carrier."""
    invite = [m for m in ctx.portico.trace() if m.dir == "out" and m.realm == "carrier"
              and m.first_line.startswith("INVITE")]
    check(invite, "Portico sent no INVITE to the carrier")
    body = invite[0].text.split("\r\n\r\n", 1)[-1]
    check("RTP/SAVP" in body and "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" in body,
          f"the carrier's offer is not SDES SRTP:\n{body}")
    ok200 = [m for m in uac.received() if m.first_line.startswith("SIP/2.0 200")
             and "INVITE" in " ".join(m.header("CSeq"))]
    check(ok200, "no 200 for the INVITE reached the caller")
    answer = ok200[0].text.split("\r\n\r\n", 1)[-1]
    check("RTP/AVP" in answer and "a=crypto" not in answer,
          f"the PBX's answer should be plain RTP/AVP without a=crypto:\n{answer}")
    m = re.search(r"^m=audio (\d+)", body, re.M)
    return int(m.group(1))


def assert_audio_both_ways(net, packets: list, port: int, sent: int, carrier: "Baresip",
                           blog: str) -> None:
    """Audio flowed both ways through Portico's RTP<->SRTP interworking: counted in the loopback
    capture `packets` (port: Portico's media port towards the carrier), no clear payload on the
    SRTP link, and the carrier (baresip, its log `blog`) decoded non-silent audio."""
    # RTP: sipp -> Portico (plain) -> baresip (SRTP), and baresip's tone back.
    phone_sent = [p for p in packets if p.src == net.uac and p.sport == PHONE_RTP]
    to_carrier = [p for p in packets if p.src == net.carrier and p.sport == port]
    from_carrier = [p for p in packets if p.dst == net.carrier and p.dport == port]
    at_phone = [p for p in packets if p.dst == net.uac and p.dport == PHONE_RTP]
    print(f"    RTP: caller sent {len(phone_sent)}, Portico sent the carrier {len(to_carrier)} "
          f"SRTP, the carrier sent {len(from_carrier)} SRTP, the caller received {len(at_phone)}")
    check(len(phone_sent) >= 0.9 * sent, f"sipp played only {len(phone_sent)} of {sent}")
    check(len(to_carrier) > 0.8 * len(phone_sent),
          f"caller -> carrier: only {len(to_carrier)} of {len(phone_sent)} packets")
    check(len(at_phone) > 0.8 * TALK_S * 50,
          f"carrier -> caller: only {len(at_phone)} packets in {TALK_S} s (50/s expected)")
    plain_payloads = {rtp_payload(p) for p in phone_sent}
    check(not any(rtp_payload(p) in plain_payloads for p in to_carrier),
          "an SRTP packet to the carrier carries a payload the caller sent in clear")
    check(all(len(p.payload) == len(q.payload) + 10 for p, q in zip(to_carrier[:20],
                                                                    phone_sent[:20])),
          "the SRTP packets should be the plain ones plus an 80-bit tag")
    check(not any(rtp_payload(p) in {rtp_payload(q) for q in at_phone} for p in from_carrier[:50]),
          "the caller got the carrier's SRTP bytes unchanged (not decrypted)")

    # baresip decrypted and decoded what it got.
    seconds, peak = carrier.decoded_audio()
    print(f"    baresip decoded {seconds:.1f} s of audio, peak sample {peak}")
    check("failed to decrypt" not in blog, "baresip failed to decrypt packets from Portico")
    check(seconds > 0.8 * TALK_S, f"baresip decoded only {seconds:.1f} s of audio")
    check(peak > 1000, f"baresip's decoded audio is silence (peak {peak})")


@e2e_test(k=240)
def test_rtp_to_srtp_baresip(ctx: Ctx):
    net = ctx.net
    if ctx.direct:
        return
    check(shutil.which("baresip") is not None and (BARESIP_MODULES / "srtp.so").exists(),
          "baresip with its srtp module is not installed (Debian package baresip-core)")
    sent = netns.cut_pcap(AUDIO, ctx.dir / "media_talk.pcap", TALK_S)
    check(sent > 50, f"could not cut {AUDIO}: {sent} packets")
    cap = netns.Capture(netns.HostNamespace(), "host", "lo", ctx.dir / "rtp.pcap",
                        bpf=f"udp and net 127.0.{net.k}.0/24 and not port 5060").start()
    ctx.start_portico(srtp_policy(net, latch_any=True))
    carrier = Baresip(ctx, net.primary).start()
    try:
        uac, packets = talking_call(ctx, "uac", cap)
    finally:
        cap.stop()
        carrier.stop()
    blog = carrier.log()
    (ctx.dir / "baresip.log.txt").write_text(blog)

    port = assert_sdes_towards_carrier(ctx, uac)
    check("SRTP is Enabled" in blog or "srtp" in blog.lower(),
          "baresip did not report SRTP for the call")
    assert_audio_both_ways(net, packets, port, sent, carrier, blog)

    metrics = scrape_metrics(net.access, METRICS_PORT)
    drops = {r: metrics.get(f'portico_srtp_dropped_packets_total{{reason="{r}"}}')
             for r in ("auth_fail", "replay", "other")}
    print(f"    portico_srtp_dropped_packets_total: {drops}; legs "
          f"{metrics.get('portico_srtp_legs_total')}")
    check(all(v == 0 for v in drops.values()), f"Portico dropped SRTP packets: {drops}")
    check(metrics.get("portico_srtp_legs_total") == 1, "portico_srtp_legs_total should be 1")
    log = ctx.portico.log()
    check("inline:<redacted>" in log, "Portico's SIP trace shows no redacted a=crypto")
    leaked = re.findall(r"inline:[A-Za-z0-9+/]{20,}", log)
    check(not leaked, f"an SDES key reached Portico's log: {leaked[:1]}")
    ctx.finish_portico()


@e2e_test(k=241)
def test_wrong_key_dropped(ctx: Ctx):
    net = ctx.net
    if ctx.direct:
        return
    sent = netns.cut_pcap(AUDIO, ctx.dir / "media_talk.pcap", TALK_S)
    cap = netns.Capture(netns.HostNamespace(), "host", "lo", ctx.dir / "rtp.pcap",
                        bpf=f"udp and net 127.0.{net.k}.0/24 and not port 5060").start()
    ctx.start_portico(srtp_policy(net))
    scen = scenario_from(ctx, "uas_media_echo.xml", "uas_srtp_echo.xml", [
        ("m=audio [media_port] RTP/AVP 8 101",
         "m=audio [media_port] RTP/SAVP 8 101\n"
         f"      a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{CARRIER_KEY}")])
    uas = ctx.sipp("uas", scen, net.primary, extra=["-mp", str(CARRIER_RTP), "-rtp_echo"]).start()
    try:
        uac = ctx.sipp("uac", "uac_media.xml", net.uac, remote=ctx.access_target(),
                       duration_ms=int(TALK_S * 1000) + 1500, extra=["-mp", str(PHONE_RTP)])
        uac.run()
        uas.wait(timeout=10)
        print(f"    {uac.describe()}; {uas.describe()}", flush=True)
        time.sleep(0.3)
        packets = cap.packets()
    finally:
        cap.stop()
    assert_sipp(uac, 1)
    assert_sipp(uas, 1)
    echoed = [p for p in packets if p.src == net.primary and p.sport == CARRIER_RTP
              and p.dst == net.carrier]
    at_phone = [p for p in packets if p.dst == net.uac and p.dport == PHONE_RTP]
    metrics = scrape_metrics(net.access, METRICS_PORT)
    auth_fail = metrics.get('portico_srtp_dropped_packets_total{reason="auth_fail"}')
    print(f"    the carrier echoed {len(echoed)} SRTP packets; the caller received "
          f"{len(at_phone)}; auth_fail drops {auth_fail}")
    check(len(echoed) > 0.8 * sent, f"the carrier echoed only {len(echoed)} packets")
    check(not at_phone, f"{len(at_phone)} packets with the wrong key reached the caller")
    check(auth_fail == len(echoed),
          f"portico_srtp_dropped_packets_total{{reason=\"auth_fail\"}} = {auth_fail}, expected "
          f"every echoed packet ({len(echoed)})")
    ctx.finish_portico()


@e2e_test(k=242)
def test_srtp_required_488(ctx: Ctx):
    net = ctx.net
    if ctx.direct:
        return
    ctx.start_portico(srtp_policy(net, trunk=False, peer=True))
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
    check(re.fullmatch(r'399 \S+ "SRTP required: no usable a=crypto \(SDES\) line"', warning)
          is not None, f"unexpected Warning: {warning!r}")
    check(not uas.requests_received("INVITE"), "the trunk got an INVITE for a refused offer")
    metrics = scrape_metrics(net.access, METRICS_PORT)
    refused = metrics.get('portico_srtp_refused_total{reason="no_usable_crypto"}')
    check(refused == 1, f"portico_srtp_refused_total{{reason=\"no_usable_crypto\"}} = {refused}")
    lines = ctx.portico.grep("event=media.srtp_refused")
    check(len(lines) == 1 and "reason=srtp_no_usable_crypto" in lines[0],
          f"expected one media.srtp_refused line: {lines}")
    uas.stop()
    ctx.finish_portico()


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
