#!/usr/bin/env python3
"""RTP<->SRTP interworking benchmark: CPU per relayed packet, Portico vs rtpengine, plain relay
beside SDES SRTP (AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM), in one run.

Run it through bench/srtp.sh (a network namespace of its own, loopback only). Python 3 standard
library only.

Each system relays N calls (--calls, default 200) whose A side speaks plain RTP/AVP and whose B
side speaks RTP/SAVP with SDES keys (or plain RTP/AVP, for the plain rows). The generator sends
G.711 RTP (172 bytes, 50 packets/s per call) into each call's A-side port and counts what leaves
the B side: the relay encrypts every packet (protect: the cipher plus the authentication tag).
Only this direction is loaded: the generator has no SRTP of its own to send the reverse, so
decryption (the same cipher and tag, checked instead of written) is not in the figures.

    portico         A 127.0.246.10 -> Portico .1 (access) | .2 (carrier, trunk media_security:
                    srtp, srtp_suites: [suite]) -> B .20; calls set up with SIP (media_sip.py,
                    the UAS answering with RTP/SAVP and its own a=crypto key)
    rtpengine       A 127.0.247.10 -> rtpengine .1 -> B .20; ng offer with transport-protocol
                    RTP/SAVP (SDES), the answer picking the offered a=crypto line of the suite

CPU is the relay's on-CPU time over the window (the sum of /proc/PID/task/*/schedstat, in ns)
divided by the packets the B side received in it. Each configuration runs --repeats times,
alternating, and the median is printed.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cps_bench import LIVE, spawn, stop, udp_bound, wait_for  # noqa: E402
from media_ng import NgClient  # noqa: E402
from media_sip import SipPair, sdp_body, sdp_media  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SUITES = ["AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM"]
KEY_LEN = {"AES_CM_128_HMAC_SHA1_80": 30, "AEAD_AES_128_GCM": 28}


def on_cpu_ns(pid: int) -> int:
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError):
            pass
    return total


def savp_answer(ip: str, port: int, offer: str, suite: str | None, sess: int) -> str:
    """The B side's answer: plain, or RTP/SAVP with the offered a=crypto line of `suite` and a
    key of its own."""
    if suite is None:
        return sdp_body(ip, port, sess)
    m = re.search(rf"^a=crypto:(\d+) {suite} inline:", offer, re.M)
    if not m:
        raise SystemExit(f"the offer has no {suite} a=crypto line:\n{offer}")
    key = base64.b64encode(os.urandom(KEY_LEN[suite])).decode()
    return (f"v=0\r\no=bench {sess} 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n"
            f"a=crypto:{m.group(1)} {suite} inline:{key}\r\na=sendrecv\r\n")


class Generator:
    """`calls` A-side senders and B-side receivers on two addresses, one socket per call."""

    def __init__(self, a_ip: str, b_ip: str, calls: int):
        self.a = [self._sock(a_ip, 40000 + 2 * i) for i in range(calls)]
        self.b = [self._sock(b_ip, 40000 + 2 * i) for i in range(calls)]
        self.lengths: set[int] = set()  # of what the B side received: 172 plain, +10/+16 SRTP

    @staticmethod
    def _sock(ip: str, port: int) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind((ip, port))
        s.setblocking(False)
        return s

    def media(self) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        return [s.getsockname() for s in self.a], [s.getsockname() for s in self.b]

    def close(self) -> None:
        for s in self.a + self.b:
            s.close()

    def run(self, targets: list[tuple[str, int]], seconds: float, seq0: int) -> int:
        """Sends 50 packets/s per call to `targets` for `seconds`; returns packets received."""
        received = 0
        payload = bytes(160)
        start = time.monotonic()
        tick = 0
        while True:
            due = start + tick * 0.02
            now = time.monotonic()
            if now - start >= seconds:
                break
            if now < due:
                received += self._drain()
                time.sleep(max(0.0, min(0.002, due - time.monotonic())))
                continue
            seq = (seq0 + tick) & 0xFFFF
            for i, (s, t) in enumerate(zip(self.a, targets)):
                hdr = bytes([0x80, 0x00, seq >> 8, seq & 0xFF]) + (tick * 160).to_bytes(4, "big") \
                    + (0x10000 + i).to_bytes(4, "big")
                try:
                    s.sendto(hdr + payload, t)
                except BlockingIOError:
                    pass
            tick += 1
        time.sleep(0.05)
        return received + self._drain()

    def _drain(self) -> int:
        n = 0
        for s in self.b:
            while True:
                try:
                    self.lengths.add(len(s.recv(2048)))
                    n += 1
                except BlockingIOError:
                    break
        return n


class Portico:
    name = "portico"
    net = 246

    def __init__(self, binary: str, work: Path, suite: str | None):
        self.binary, self.work, self.suite = binary, work, suite
        self.proc = None
        self.sip: SipPair | None = None

    def ip(self, h: int) -> str:
        return f"127.0.{self.net}.{h}"

    def start(self, gen: Generator) -> list[tuple[str, int]]:
        sec = (f", media_security: srtp, srtp_suites: [{self.suite}]" if self.suite
               else ", media_security: rtp")
        pol = self.work / f"portico-{self.suite or 'plain'}"
        pol.mkdir(exist_ok=True)
        (pol / "portico.yaml").write_text(f"""# bench/srtp_bench.py
server: {{shards: 2, log_level: warn, trace: false}}
timers: {{t1: 500ms, t2: 4s, t4: 5s, max_call_duration: 1h, media_timeout: 0s}}
realms:
  access:
    listeners: ["udp://{self.ip(1)}:5060"]
    media: {{address: {self.ip(1)}, ports: 20000-29999}}
  carrier:
    listeners: ["udp://{self.ip(2)}:5060"]
    media: {{address: {self.ip(2)}, ports: 30000-39999}}
trunks:
  uas: {{realm: carrier, host: {self.ip(20)}, port: 5060, transport: udp{sec}}}
access_peers:
  uac: {{realm: access, sources: ["{self.ip(10)}/32"], host: {self.ip(10)}, port: 5060}}
routes:
  - name: out
    match: {{realm: access}}
    targets: [{{trunk: uas}}]
""")
        self.log = open(self.work / f"{pol.name}.log", "wb")
        self.proc = spawn([self.binary, "--policies", pol], stdout=self.log, stderr=self.log)
        if not wait_for(lambda: udp_bound(self.ip(1), 5060) or self.proc.poll() is not None, 10):
            raise SystemExit("portico did not start")
        a, b = gen.media()
        self.sip = SipPair(self.ip(10), self.ip(20), (self.ip(1), 5060),
                           answer=lambda c, offer: savp_answer(c.uas_media[0], c.uas_media[1],
                                                               offer, self.suite, 2000 + c.index))
        self.sip.setup(a, b, tag="s")
        return [c.sbc_toward_uac for c in self.sip.calls]

    def stop(self) -> None:
        if self.sip:
            self.sip.teardown()
            self.sip.close()
        if self.proc:
            stop(self.proc)
        self.log.close()


class Rtpengine:
    name = "rtpengine"
    net = 247

    def __init__(self, binary: str, work: Path, suite: str | None, threads: int):
        self.binary, self.work, self.suite, self.threads = binary, work, suite, threads
        self.proc = None
        self.ng: NgClient | None = None
        self.calls = 0

    def ip(self, h: int) -> str:
        return f"127.0.{self.net}.{h}"

    def start(self, gen: Generator) -> list[tuple[str, int]]:
        self.log = open(self.work / f"rtpengine-{self.suite or 'plain'}.log", "wb")
        self.proc = spawn([self.binary, "--foreground", "--table=-1", f"--interface={self.ip(1)}",
                           f"--listen-ng={self.ip(1)}:2223", "--port-min=50000",
                           "--port-max=59999", "--log-stderr", "--log-level=4",
                           f"--num-threads={self.threads}", "--timeout=600",
                           "--silent-timeout=600", "--delete-delay=0"],
                          stdout=self.log, stderr=self.log)
        self.ng = NgClient((self.ip(1), 2223), self.ip(9), timeout=0.2, retries=1)
        if not wait_for(lambda: self._ping(), 10):
            raise SystemExit("rtpengine did not answer an ng ping")
        self.ng.timeout, self.ng.retries = 1.0, 3
        a, b = gen.media()
        self.calls = len(a)
        flags = {"transport-protocol": "RTP/SAVP"} if self.suite else {}
        offers = [dict(command="offer", **{"call-id": f"s-{c}", "from-tag": f"a{c}"},
                       replace=["origin", "session-connection"],
                       sdp=sdp_body(*a[c], 1000 + c), **flags) for c in range(self.calls)]
        toward_b = self.ng.pipeline(offers)
        answers = [dict(command="answer", **{"call-id": f"s-{c}", "from-tag": f"a{c}",
                                             "to-tag": f"b{c}"},
                        replace=["origin", "session-connection"],
                        sdp=savp_answer(*b[c], toward_b[c]["sdp"], self.suite, 2000 + c))
                   for c in range(self.calls)]
        toward_a = [sdp_media(r["sdp"]) for r in self.ng.pipeline(answers)]
        return toward_a

    def _ping(self) -> bool:
        try:
            return self.ng.call({"command": "ping"}).get("result") == "pong"
        except RuntimeError:
            return False

    def stop(self) -> None:
        if self.ng:
            try:
                self.ng.pipeline([{"command": "delete", "call-id": f"s-{c}", "from-tag": f"a{c}"}
                                  for c in range(self.calls)])
            except RuntimeError:
                pass
            self.ng.close()
        if self.proc:
            stop(self.proc)
        self.log.close()


def measure(system, calls: int, warmup: float, window: float) -> dict:
    gen = Generator(system.ip(10), system.ip(20), calls)
    try:
        targets = system.start(gen)
        gen.run(targets, warmup, 0)
        cpu0 = on_cpu_ns(system.proc.pid)
        got = gen.run(targets, window, int(warmup * 50))
        cpu = on_cpu_ns(system.proc.pid) - cpu0
    finally:
        system.stop()
        gen.close()
    sent = int(window * 50) * calls
    return {"received": got, "sent": sent, "ns_per_packet": cpu / got if got else float("nan"),
            "lengths": sorted(gen.lengths)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--portico", default=str(ROOT / "build-release" / "src" / "portico"))
    ap.add_argument("--rtpengine", default="/usr/bin/rtpengine")
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--window", type=float, default=8.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rtpengine-threads", type=int, default=2)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="portico-srtp-bench."))
    configs = [(kind, suite) for suite in [None] + SUITES for kind in ("portico", "rtpengine")]
    results: dict[tuple[str, str | None], list[float]] = {c: [] for c in configs}
    try:
        for r in range(args.repeats):
            for kind, suite in configs:
                system = (Portico(args.portico, work, suite) if kind == "portico"
                          else Rtpengine(args.rtpengine, work, suite, args.rtpengine_threads))
                m = measure(system, args.calls, args.warmup, args.window)
                label = f"{kind} {suite or 'plain RTP'}"
                print(f"  run {r + 1}: {label:40s} received {m['received']}/{m['sent']}  "
                      f"{m['ns_per_packet'] / 1000:.2f} us CPU/packet, B got {m['lengths']} bytes",
                      flush=True)
                if m["received"] < 0.99 * m["sent"]:
                    print(f"    warning: {label} lost {m['sent'] - m['received']} packets")
                results[(kind, suite)].append(m["ns_per_packet"])
    finally:
        for p in list(LIVE):
            stop(p)
    med = {c: statistics.median(v) / 1000 for c, v in results.items()}
    print(f"\n{args.calls} calls, A plain RTP -> B SRTP (SDES), {args.calls * 50} packets/s, "
          f"median of {args.repeats} x {args.window:.0f} s")
    print(f"{'relay':12s} {'B side':26s} {'us CPU/packet':>14s} {'x own plain':>12s} "
          f"{'x rtpengine':>12s}")
    for kind, suite in configs:
        v = med[(kind, suite)]
        own = v / med[(kind, None)]
        other = v / med[("rtpengine", suite)] if kind == "portico" else float("nan")
        print(f"{kind:12s} {suite or 'plain RTP':26s} {v:14.2f} {own:12.2f} "
              f"{'' if other != other else f'{other:.2f}':>12s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
