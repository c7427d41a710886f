#!/usr/bin/env python3
"""RTP relay benchmark: Portico vs rtpengine (userspace forwarding) on loopback.

Run it through bench/media.sh, which builds the load generator (bench/rtp_load.cpp). Python 3
standard library only.

A *stream* is one direction of one call's RTP: G.711 (PCMU), 20 ms ptime, 50 packets/s of 172 bytes
of UDP payload (12-byte RTP header + 160 bytes). A call has two streams, one per direction, so N
streams are N/2 relayed calls and N x 50 packets/s into (and out of) the relay. The same definition
holds for every system:

    direct    : generator A <-> generator B, no relay (the generator's own floor)
    portico   : A 127.0.221.10 <-> Portico 127.0.221.1 (access) | 127.0.221.2 (carrier) <-> B .20
                calls set up with SIP (bench/media_sip.py) through the two realms; the media
                ports are read from the SDP Portico wrote (the INVITE the UAS got, the 200 the
                UAC got)
    portico-epoll : the same on 127.0.223.0/24 with server.media_io: epoll (optional system)
    portico-unpinned : the same on 127.0.224.0/24 with server.pin_shards: false (optional)
    portico-own-shards : the same on 127.0.225.0/24 with server.media_shards = shards: every
                     shard relays its own calls (optional)
    rtpengine : A 127.0.222.10 <-> rtpengine 127.0.222.1 <-> B .20, sessions set up with ng
                offer/answer (bench/media_ng.py), userspace forwarding (--table=-1)

The stream count steps up (default 200, 400, 800, 1000, 1500, 2000, 3000, 4000, 6000); at each
count the systems run one after the other, so a side-by-side pair saw the same host conditions.
Each step starts the relay afresh, sets up N/2 calls, runs the generator (warm-up, then a
measurement window), tears the calls down and stops the relay. Per step: packets sent and
received in the window, lost packets (never arrived) and late ones (held by the relay more than
--late-ms: too late for a jitter buffer), the relay's added latency (kernel TX
timestamp of the packet sent into the relay to the kernel RX timestamp of the relayed copy) and
the generator's end-to-end latency, the relay's CPU time (utime + stime from /proc/PID/stat, all
threads) over the window divided by the packets it relayed, the CPU time of the generator and of
ksoftirqd, and the CPU used by everything else on the host. A step passes with < 0.1 % of its
packets lost or late, and only if the generator kept to its schedule. Before each step the script
waits (bounded) for the host to be quiet, and it repeats a step whose window saw other processes
use more than --max-other-cpu. A system's ramp stops after its first failed step at or above 1000
streams (and the CPU step). The CPU figure is taken at a fixed load (default 400 streams), three
times per system with the systems alternating; the median is reported, and the Portico/rtpengine
ratio of each back-to-back pair. No new step starts after --budget seconds.

Every process is started and stopped by PID (TERM, then KILL); temporary files go to a directory
that is removed at the end unless --workdir is given.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# Process handling is shared with the signalling benchmark: every child in LIVE is stopped by
# PID (TERM, then KILL) at exit.
from cps_bench import LIVE, spawn, stop, udp_bound, wait_for  # noqa: E402
from media_ng import NgClient  # noqa: E402
from media_sip import SipPair, sdp_body, sdp_media  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOSS_LIMIT = 0.001  # < 0.1 % of the packets lost or late
GEN_PORT0 = 16000   # generator sockets: GEN_PORT0, +2, +4, ... on the A and B addresses

def ksoftirqd_pids() -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().startswith("ksoftirqd/"):
                    out.append(int(d.name))
            except OSError:
                pass
    return out


def wait_quiet(limit: float, max_wait: float) -> float:
    """Waits (at most max_wait s) until the host is below `limit` CPUs busy over 1 s (other
    people's builds on a shared machine); returns the last figure."""
    end = time.monotonic() + max_wait
    busy = host_busy(1.0)
    while busy > limit and time.monotonic() < end:
        busy = host_busy(1.0)
    return busy


def host_busy(seconds: float) -> float:
    """CPUs' worth of busy time on the host over `seconds` (before a system starts)."""
    def sample():
        v = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
        return sum(v) - v[3] - v[4], sum(v)
    b0, t0 = sample()
    time.sleep(seconds)
    b1, t1 = sample()
    return (b1 - b0) / max(1, t1 - t0) * os.cpu_count()


# ------------------------------------------------------------------------------------------------

class System:
    name = "?"
    net = 0

    def __init__(self, work: Path, pool: int):
        self.work = work / self.name
        self.work.mkdir(parents=True, exist_ok=True)
        self.pool = pool  # generator sockets per side

    def ip(self, host: int) -> str:
        return f"127.0.{self.net}.{host}"

    def gen_socks(self, calls: int) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
        """(sockets per side, A-side sockets, B-side sockets). pool 0 = one socket per call."""
        per_side = calls if self.pool == 0 else min(self.pool, calls)
        a = [(self.ip(10), GEN_PORT0 + 2 * j) for j in range(per_side)]
        b = [(self.ip(20), GEN_PORT0 + 2 * j) for j in range(per_side)]
        return per_side, a, b

    @staticmethod
    def sock_of(call: int, calls: int, per_side: int) -> int:
        # contiguous blocks: calls next to each other in the send schedule share a socket, so
        # one wake-up of the sender is one sendmmsg per socket
        return call * per_side // calls

    def start(self, calls: int) -> None:
        """Starts the relay (if any) and sets up `calls` calls; sets self.legs."""
        raise NotImplementedError

    def stop(self) -> dict:
        return {}

    def pids(self) -> list[int]:
        return []

    def alive(self) -> bool:
        return True

    def plan(self, calls: int) -> str:
        """The generator plan after start(): for call c, stream 2c is A->B and 2c+1 is B->A.
        self.legs[c] = (relay address facing A, relay address facing B)."""
        per_side, a, b = self.gen_socks(calls)
        lines = [f"sock {j} {ip} {port}" for j, (ip, port) in enumerate(a)]
        lines += [f"sock {per_side + j} {ip} {port}" for j, (ip, port) in enumerate(b)]
        for c in range(calls):
            j = self.sock_of(c, calls, per_side)
            to_relay_a, to_relay_b = self.legs[c]
            lines.append(f"stream {2 * c} {j} {to_relay_a[0]} {to_relay_a[1]} {per_side + j}")
            lines.append(f"stream {2 * c + 1} {per_side + j} {to_relay_b[0]} {to_relay_b[1]} {j}")
        return "\n".join(lines) + "\n"


class Direct(System):
    name = "direct"
    net = 220

    def start(self, calls: int) -> None:
        per_side, a, b = self.gen_socks(calls)
        self.legs = [(b[self.sock_of(c, calls, per_side)], a[self.sock_of(c, calls, per_side)])
                     for c in range(calls)]


class Relay(System):
    """A relay process started per step: its log, its PID for the CPU figures, its teardown."""

    def __init__(self, work: Path, pool: int, binary: str):
        super().__init__(work, pool)
        self.binary = binary
        self.proc: subprocess.Popen | None = None

    def launch(self, argv: list, calls: int) -> None:
        self.log = open(self.work / f"{self.name}-{calls * 2}.log", "wb")
        self.proc = spawn(argv, stdout=self.log, stderr=subprocess.STDOUT)

    def check_running(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            raise SystemExit(f"{self.name} exited with "
                             f"{self.proc.returncode if self.proc else '?'}; see {self.log.name}")

    def hang_up(self) -> dict:
        """Ends the calls (the process is stopped right after)."""
        return {}

    def stop(self) -> dict:
        out = self.hang_up()
        if self.proc:
            stop(self.proc)
            out["exit"] = self.proc.returncode
            self.proc = None
        return out

    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc else []

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Portico(Relay):
    name = "portico"
    net = 221
    server_extra = ""  # more server settings, for the variants below

    def __init__(self, work: Path, pool: int, binary: str, shards: int, nat: bool,
                 media_io: str):
        super().__init__(work, pool, binary)
        self.shards, self.nat, self.media_io = shards, nat, media_io
        self.sip: SipPair | None = None

    def policy(self) -> str:
        nat = "true" if self.nat else "false"
        io = f", media_io: {self.media_io}" if self.media_io else ""
        return f"""# bench/media_bench.py
server: {{shards: {self.shards}, log_level: warn, trace: false{io}{self.server_extra}}}
timers: {{t1: 500ms, t2: 4s, t4: 5s, max_call_duration: 1h, media_timeout: 0s}}
realms:
  access:
    listeners: ["udp://{self.ip(1)}:5060"]
    media: {{address: {self.ip(1)}, ports: 20000-29999, nat: {nat}}}
  carrier:
    listeners: ["udp://{self.ip(2)}:5060"]
    media: {{address: {self.ip(2)}, ports: 30000-39999, nat: {nat}}}
trunks:
  uas: {{realm: carrier, host: {self.ip(20)}, port: 5060, transport: udp, max_calls: 0}}
access_peers:
  uac: {{realm: access, sources: ["{self.ip(10)}/32"], host: {self.ip(10)}, port: 5060, transport: udp}}
routes:
  - name: out
    match: {{realm: access}}
    targets: [{{trunk: uas}}]
"""

    def start(self, calls: int) -> None:
        pol = self.work / "policies"
        pol.mkdir(exist_ok=True)
        (pol / "portico.yaml").write_text(self.policy())
        self.launch([self.binary, "--policies", pol], calls)
        if not wait_for(lambda: udp_bound(self.ip(1), 5060) or self.proc.poll() is not None, 10):
            raise SystemExit("portico did not bind its access listener within 10 s")
        self.check_running()
        per_side, a, b = self.gen_socks(calls)
        self.sip = SipPair(self.ip(10), self.ip(20), (self.ip(1), 5060))
        self.sip.setup([a[self.sock_of(c, calls, per_side)] for c in range(calls)],
                       [b[self.sock_of(c, calls, per_side)] for c in range(calls)],
                       tag=f"m{calls}")
        self.legs = []
        for c in self.sip.calls:
            if c.sbc_toward_uac is None or c.sbc_toward_uas is None:
                raise SystemExit(f"call {c.index}: no SDP from Portico (200: {c.sbc_toward_uac}, "
                                 f"INVITE: {c.sbc_toward_uas})")
            if c.sbc_toward_uac == c.uas_media or c.sbc_toward_uas == c.uac_media:
                raise SystemExit("Portico relayed the SDP unchanged: media is not anchored "
                                 "(is this build older than media anchoring?)")
            self.legs.append((c.sbc_toward_uac, c.sbc_toward_uas))

    def hang_up(self) -> dict:
        out = {}
        if self.sip:
            out["bye_ok"] = self.sip.teardown()
            self.sip.close()
            self.sip = None
        return out


class PorticoEpoll(Portico):
    """The same Portico with its epoll media path (server.media_io: epoll), side by side."""
    name = "portico-epoll"
    net = 223


class PorticoUnpinned(Portico):
    """The same Portico with its shard threads left to the scheduler (server.pin_shards:
    false), side by side."""
    name = "portico-unpinned"
    net = 224
    server_extra = ", pin_shards: false"


class PorticoOwnShards(Portico):
    """The same Portico with every shard relaying its own calls' media (server.media_shards
    equal to the shard count), side by side with the default (half the shards relay)."""
    name = "portico-own-shards"
    net = 225

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.server_extra = f", media_shards: {self.shards}"


class Rtpengine(Relay):
    name = "rtpengine"
    net = 222

    def __init__(self, work: Path, pool: int, binary: str, threads: int):
        super().__init__(work, pool, binary)
        self.threads = threads
        self.ng: NgClient | None = None
        self.ng_addr = (self.ip(1), 2223)

    def start(self, calls: int) -> None:
        self.launch([self.binary, "--foreground", "--table=-1", f"--interface={self.ip(1)}",
                     f"--listen-ng={self.ng_addr[0]}:{self.ng_addr[1]}",
                     "--port-min=40000", "--port-max=59999", "--log-stderr",
                     "--log-level=4", f"--num-threads={self.threads}",
                     "--timeout=600", "--silent-timeout=600", "--delete-delay=0"], calls)
        self.legs = []
        self.ng = NgClient(self.ng_addr, self.ip(9), timeout=0.2, retries=1)
        ok = False
        end = time.monotonic() + 10
        while not ok and time.monotonic() < end and self.proc.poll() is None:
            try:
                ok = self.ng.call({"command": "ping"}).get("result") == "pong"
            except RuntimeError:
                time.sleep(0.1)
        self.ng.timeout, self.ng.retries = 1.0, 3
        self.check_running()
        if not ok:
            raise SystemExit(f"rtpengine did not answer an ng ping within 10 s; "
                             f"see {self.log.name}")
        per_side, a, b = self.gen_socks(calls)
        offers, answers = [], []
        for c in range(calls):
            j = self.sock_of(c, calls, per_side)
            base = {"call-id": f"m{calls}-{c}", "from-tag": f"a{c}",
                    "replace": ["origin", "session-connection"]}
            offers.append(dict(base, command="offer", sdp=sdp_body(*a[j], 1000 + c)))
            answers.append(dict(base, command="answer", **{"to-tag": f"b{c}"},
                                sdp=sdp_body(*b[j], 2000 + c)))
        toward_b = [sdp_media(r["sdp"]) for r in self.ng.pipeline(offers)]   # offer -> B
        toward_a = [sdp_media(r["sdp"]) for r in self.ng.pipeline(answers)]  # answer -> A
        self.legs = list(zip(toward_a, toward_b))
        for c, (x, y) in enumerate(self.legs):
            if x is None or y is None or x[0] != self.ip(1) or y[0] != self.ip(1):
                raise SystemExit(f"rtpengine session {c}: unexpected SDP addresses {x} {y}")

    def hang_up(self) -> dict:
        out = {}
        if self.ng and self.legs:
            try:
                n = len(self.legs)
                self.ng.pipeline([{"command": "delete", "call-id": f"m{n}-{c}",
                                   "from-tag": f"a{c}"} for c in range(n)])
                out["deleted"] = n
            except RuntimeError as e:
                out["delete_error"] = str(e)
        if self.ng:
            self.ng.close()
            self.ng = None
        return out


# ------------------------------------------------------------------------------------------------

def run_step(system: System, gen: str, streams: int, warmup: float, window: float,
             args) -> dict:
    calls = streams // 2
    quiet = wait_quiet(args.quiet_limit, args.quiet_wait)
    t_start = time.monotonic()
    res: dict = {"system": system.name, "streams": calls * 2, "calls": calls,
                 "host_busy_before": round(quiet, 2)}
    try:
        system.start(calls)
        res["setup_s"] = round(time.monotonic() - t_start, 2)
        plan = system.work / f"plan-{calls * 2}.txt"
        plan.write_text(system.plan(calls))
        argv = [gen, "--plan", plan, "--warmup", warmup, "--duration", window, "--drain", 0.5,
                "--tick-us", args.tick_us, "--rx-poll-us", args.rx_poll_us,
                "--late-ms", args.late_ms]
        for pid in system.pids():
            argv += ["--cpu-pid", pid]
        for pid in ksoftirqd_pids():
            argv += ["--softirq-pid", pid]
        g = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = g.communicate(timeout=warmup + window + 30)
        except subprocess.TimeoutExpired:
            stop(g)
            raise SystemExit("rtp_load did not finish in time")
        LIVE.remove(g) if g in LIVE else None
        if g.returncode != 0:
            raise SystemExit(f"rtp_load failed ({g.returncode}): {err.decode(errors='replace')}")
        res.update(json.loads(out))
        res["alive"] = system.alive()
    finally:
        res["teardown"] = system.stop()
    ncpu = os.cpu_count() or 1
    w = res["window_s"]
    relay = res["relay_cpu_s"] or 0.0
    res["other_cpu"] = round(max(0.0, res["host_busy"] * ncpu * w - relay - res["generator_cpu_s"]
                                 - res["softirq_cpu_s"]) / w, 3)
    # A generator that fell behind sends part of the window's packets after it: the step
    # measured the host, not the relay.
    res["generator_behind"] = res["sent"] < 0.995 * res["scheduled"]
    # lost, or so late (--late-ms) that a jitter buffer would have dropped it
    res["bad"] = (res["lost"] + res["late"]) / res["sent"] if res["sent"] else 1.0
    res["relay_cpu_us_per_pkt"] = (round(res["relay_cpu_s"] / res["received"] * 1e6, 3)
                                   if res["relay_cpu_s"] is not None and res["received"] else None)
    res["relay_cpu_share"] = round(relay / w, 3)
    return res


def measured_step(s: System, n: int, w: float, args, t_begin: float) -> dict:
    """One step, repeated (--retries) when other processes used the host during its window."""
    for attempt in range(1, args.retries + 2):
        r = run_step(s, args.rtp_load, n, args.warmup, w, args)
        r["attempt"] = attempt
        print(line(r), flush=True)
        if r["other_cpu"] <= args.max_other_cpu or attempt > args.retries or \
                time.monotonic() - t_begin > args.budget:
            return r
        print(f"  (other processes used {r['other_cpu']:.2f} CPUs during the window: "
              f"repeating the step)", flush=True)
    return r


def fmt(x, nd=2) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "-"
    return f"{x:.{nd}f}" if isinstance(x, float) else str(x)


def line(r: dict) -> str:
    a, e = r["lat_added_us"], r["lat_e2e_us"]
    behind = "  GENERATOR BEHIND" if r["generator_behind"] else ""
    return (f"  {r['system']:13s} {r['streams']:5d} streams: recv {r['received']}/{r['sent']} "
            f"loss {100 * r['loss']:.3f}% late {r['late']} "
            f"added p50/p99 {fmt(a['p50'], 0)}/{fmt(a['p99'], 0)} us "
            f"e2e p50/p99 {fmt(e['p50'], 0)}/{fmt(e['p99'], 0)} us "
            f"send late p99 {fmt(r['send_late_us']['p99'], 0)} us "
            f"relay cpu {fmt(r['relay_cpu_share'], 3)} "
            f"({fmt(r['relay_cpu_us_per_pkt'], 2)} us/pkt) "
            f"gen {r['generator_cpu_s'] / r['window_s']:.2f} "
            f"softirqd {r['softirq_cpu_s'] / r['window_s']:.2f} other {fmt(r['other_cpu'], 2)} "
            f"setup {r.get('setup_s', 0)} s{behind}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("portico_binary", nargs="?", help="Portico to measure (default "
                    "build-release/src/portico)")
    ap.add_argument("--portico", default=str(ROOT / "build-release" / "src" / "portico"))
    ap.add_argument("--rtp-load", required=True, help="the built bench/rtp_load.cpp")
    ap.add_argument("--rtpengine", default=shutil.which("rtpengine") or "/usr/bin/rtpengine")
    ap.add_argument("--streams", default="200,400,800,1000,1500,2000,3000,4000,6000")
    ap.add_argument("--cpu-streams", type=int, default=400)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--window", type=float, default=5.0, help="measurement window per step (s)")
    ap.add_argument("--cpu-window", type=float, default=10.0, help="window of a CPU step (s)")
    ap.add_argument("--cpu-repeats", type=int, default=3,
                    help="the CPU step runs this many times per system, the systems alternating")
    ap.add_argument("--tick-us", type=int, default=200, help="sender wake-up interval")
    ap.add_argument("--rx-poll-us", type=int, default=100,
                    help="receiver polling interval; 0 = block in epoll_wait")
    ap.add_argument("--late-ms", type=int, default=50,
                    help="a packet the relay held this long (added latency) counts against the "
                    "< 0.1 %% criterion like a lost one")
    ap.add_argument("--quiet-limit", type=float, default=0.2,
                    help="before each step, wait until the host is below this many CPUs busy")
    ap.add_argument("--quiet-wait", type=float, default=10.0, help="... for at most this long (s)")
    ap.add_argument("--max-other-cpu", type=float, default=0.1,
                    help="repeat a step whose window saw other processes use more CPUs than this")
    ap.add_argument("--retries", type=int, default=1, help="... at most this many times")
    ap.add_argument("--sockets-per-side", type=int, default=16,
                    help="generator sockets per side, shared by the calls; 0 = one per call")
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--media-shards", type=int, default=0,
                    help="Portico server.media_shards (default: not set, i.e. half the shards)")
    ap.add_argument("--nat", action="store_true", help="Portico media nat: true (latching)")
    ap.add_argument("--media-io", default="", choices=["", "auto", "io_uring", "epoll"],
                    help="Portico server.media_io (default: not set, i.e. Portico's default)")
    ap.add_argument("--rtpengine-threads", type=int, default=2)
    ap.add_argument("--systems", default="direct,portico,rtpengine")
    ap.add_argument("--budget", type=float, default=450.0,
                    help="seconds; no new step starts after this")
    ap.add_argument("--workdir", default="")
    ap.add_argument("--json", default="", help="also write the results here")
    args = ap.parse_args()

    if args.portico_binary:
        args.portico = args.portico_binary
    names = args.systems.split(",")
    if any(n.startswith("portico") for n in names) and not os.access(args.portico, os.X_OK):
        raise SystemExit(f"portico binary not found: {args.portico} (build it, or pass its path)")
    if "rtpengine" in names and not os.access(args.rtpengine, os.X_OK):
        raise SystemExit(f"rtpengine not found: {args.rtpengine} (Debian: apt-get install rtpengine-daemon)")
    steps = sorted({int(s) // 2 * 2 for s in args.streams.split(",")} | {args.cpu_streams})
    keep = bool(args.workdir)
    work = Path(args.workdir) if keep else Path(tempfile.mkdtemp(prefix="portico-media-"))
    work.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda n, f: sys.exit(128 + n))
    t_begin = time.monotonic()
    try:
        systems: list[System] = []
        for n in names:
            if n == "direct":
                systems.append(Direct(work, args.sockets_per_side))
            elif n == "portico":
                systems.append(Portico(work, args.sockets_per_side,
                                       os.path.abspath(args.portico), args.shards, args.nat,
                                       args.media_io))
                if args.media_shards:
                    systems[-1].server_extra = f", media_shards: {args.media_shards}"
            elif n == "portico-epoll":
                systems.append(PorticoEpoll(work, args.sockets_per_side,
                                            os.path.abspath(args.portico), args.shards, args.nat,
                                            "epoll"))
            elif n == "portico-unpinned":
                systems.append(PorticoUnpinned(work, args.sockets_per_side,
                                               os.path.abspath(args.portico), args.shards,
                                               args.nat, args.media_io))
            elif n == "portico-own-shards":
                systems.append(PorticoOwnShards(work, args.sockets_per_side,
                                                os.path.abspath(args.portico), args.shards,
                                                args.nat, args.media_io))
            elif n == "rtpengine":
                systems.append(Rtpengine(work, args.sockets_per_side, args.rtpengine,
                                         args.rtpengine_threads))
            else:
                raise SystemExit(f"unknown system {n}")
        idle = host_busy(1.0)
        print(f"# media bench: streams {steps}, window {args.window:.0f} s "
              f"({args.cpu_repeats} x {args.cpu_window:.0f} s at {args.cpu_streams}), "
              f"{os.cpu_count()} CPUs, "
              f"host busy before start {idle:.2f} CPUs, work dir {work}", flush=True)
        results: list[dict] = []
        ramping = list(systems)  # the systems compared at one stream count run back to back
        for n in steps:
            # at the CPU load every system runs --cpu-repeats times, the systems alternating
            rounds = args.cpu_repeats if n == args.cpu_streams else 1
            w = args.cpu_window if n == args.cpu_streams else args.window
            for rep in range(rounds):
                for s in list(ramping):
                    if rep > 0 and isinstance(s, Direct):
                        continue  # no relay: nothing to repeat
                    if time.monotonic() - t_begin > args.budget:
                        print(f"  time budget reached: {s.name} stops before {n} streams",
                              flush=True)
                        ramping.remove(s)
                        continue
                    r = measured_step(s, n, w, args, t_begin)
                    r["repeat"] = rep
                    results.append(r)
                    if not r.get("alive", True):
                        print(f"  {s.name} died during the {n}-stream step", flush=True)
                        ramping.remove(s)
            for s in list(ramping):
                rs = [r for r in results if r["system"] == s.name and r["streams"] == n]
                if not all(passed(r) for r in rs) and n >= max(1000, args.cpu_streams):
                    ramping.remove(s)
            if not ramping:
                break
        report(results, systems, args)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"# done in {time.monotonic() - t_begin:.0f} s", flush=True)
    return 0


def passed(r: dict) -> bool:
    return r["bad"] < LOSS_LIMIT and not r["generator_behind"] and r.get("alive", True)


def report(results: list[dict], systems: list[System], args) -> None:
    print()
    print(f"| system | streams | received / sent (scheduled) | lost / late > {args.late_ms} ms | "
          "added latency p50 / p99 / p99.9 / max (µs) | e2e p50 / p99 (µs) | relay CPU (cores) | "
          "relay CPU per packet (µs) | generator / ksoftirqd / other CPU (cores) |")
    print("|---|---|---|---|---|---|---|---|---|")
    order = {s.name: i for i, s in enumerate(systems)}
    for r in sorted(results, key=lambda r: (order[r["system"]], r["streams"], r.get("repeat", 0))):
        a, e, w = r["lat_added_us"], r["lat_e2e_us"], r["window_s"]
        relay = r["system"] != "direct"
        note = " (generator behind)" if r["generator_behind"] else ""
        late = 100 * r["late"] / max(1, r["sent"])
        print(f"| {r['system']} | {r['streams']} | "
              f"{r['received']} / {r['sent']} ({r['scheduled']}) | "
              f"{100 * r['loss']:.3f} % / {late:.3f} %{note} | "
              f"{fmt(a['p50'], 0)} / {fmt(a['p99'], 0)} / {fmt(a['p999'], 0)} / "
              f"{fmt(a['max'], 0)} | {fmt(e['p50'], 0)} / {fmt(e['p99'], 0)} | "
              f"{fmt(r['relay_cpu_share'], 3) if relay else '-'} | "
              f"{fmt(r['relay_cpu_us_per_pkt'], 2) if relay else '-'} | "
              f"{r['generator_cpu_s'] / w:.2f} / {r['softirq_cpu_s'] / w:.2f} / "
              f"{fmt(r['other_cpu'], 2)} |")
    print()
    print(f"| system | highest stream count with < 0.1 % lost or late | CPU per relayed packet at "
          f"{args.cpu_streams} streams | added latency p50 / p90 / p99 at 1000 streams |")
    print("|---|---|---|---|")
    per_pkt: dict[str, list[float]] = {}
    for s in systems:
        rs = [r for r in results if r["system"] == s.name]
        counts = sorted({r["streams"] for r in rs})
        ok = {c: all(passed(r) for r in rs if r["streams"] == c) for c in counts}
        best = max((c for c in counts if ok[c]), default=None)
        at = [r for r in rs if r["streams"] == args.cpu_streams and r["relay_cpu_us_per_pkt"]]
        per_pkt[s.name] = [r["relay_cpu_us_per_pkt"] for r in at]
        k = next((r for r in rs if r["streams"] == 1000), None)
        if at and s.name != "direct":
            v = sorted(per_pkt[s.name])
            cpu = f"{statistics.median(v):.2f} µs (median of {len(v)}; {v[0]:.2f} to {v[-1]:.2f})"
        else:
            cpu = "-"
        lat = (f"{fmt(k['lat_added_us']['p50'], 0)} / {fmt(k['lat_added_us']['p90'], 0)} / "
               f"{fmt(k['lat_added_us']['p99'], 0)} µs" if k else "-")
        if best is None:
            best_s = "none"
        elif all(ok.values()):
            best_s = f"≥ {best} (top of the ramp)"
        else:
            c = min(c for c in counts if not ok[c])
            failed = next(r for r in rs if r["streams"] == c and not passed(r))
            why = ("generator behind: host saturated" if failed["generator_behind"]
                   else f"{100 * failed['loss']:.2f} % lost, "
                        f"{100 * failed['late'] / max(1, failed['sent']):.2f} % late")
            best_s = f"{best} ({c}: {why})"
        print(f"| {s.name} | {best_s} | {cpu} | {lat} |")
    r = per_pkt.get("rtpengine", [])
    for name in ("portico", "portico-epoll", "portico-unpinned"):
        p = per_pkt.get(name, [])
        if p and r:
            pairs = [a / b for a, b in zip(p, r)]
            print(f"\n{name} / rtpengine CPU per relayed packet at {args.cpu_streams} streams: "
                  f"{statistics.median(pairs):.2f} (median of {len(pairs)} back-to-back pairs; "
                  f"{min(pairs):.2f} to {max(pairs):.2f}). Target: at most 0.60.")


if __name__ == "__main__":
    sys.exit(main())
