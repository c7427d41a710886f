"""End-to-end test harness: the real `portico` binary between real sipp peers on loopback.

Python 3 standard library only. Each test_*.py file in this folder is one CLI:

    python3 tests/e2e/test_X.py --portico PATH [--only NAME] [--direct]

It prints one block per test and `N passed, N failed` as its last line; the exit status is 0 only when
every test passed.

What the harness does for a test:
  * gives the test its own loopback subnet 127.0.<k>.0/24 (access listener .1, carrier listener .2,
    access-side sipp .10, carrier-side sipp .20/.21), so tests never collide with each other;
  * writes a policy directory for Portico, starts `portico --policies DIR` with stderr in
    <cwd>/logs/<file>/<test>/portico.log and waits (bounded) for `event=portico.ready`;
  * runs sipp peers (UAS in the background bound to its own IP, started and bound before the UAC),
    with their message/error/stat logs in the same directory; reads the exit status and the final
    SuccessfulCall/FailedCall counters from the -trace_stat CSV;
  * offers checks: sipp outcome, topology hiding (nothing from one leg appears on the other),
    "no orphan state" through SIGUSR1 `event=shard.status`, Portico exiting 0 on SIGTERM;
  * stops every process it started, by PID (TERM, then KILL), in `finally` and at exit, even when a
    test fails or the harness is itself terminated. Children also get PR_SET_PDEATHSIG=SIGKILL.

`--direct` runs the scenarios sipp-to-sipp without Portico (the UAC talks to the UAS directly). It
validates the XML; the Portico-only checks are skipped in that mode.
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
SIPP = shutil.which("sipp") or "/usr/bin/sipp"

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 3.0          # Portico must exit within ~2 s of SIGTERM
ZERO_STATE_TIMEOUT_S = 10.0
DEFAULT_TEST_TIMEOUT_S = 120  # per test, enforced with SIGALRM as a safety net


class TestFailure(AssertionError):
    """A check failed; the message says what was expected and what was seen."""


class TestTimeout(Exception):
    """The per-test alarm fired."""


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise TestFailure(msg)


# --------------------------------------------------------------------------------------------
# Processes: every child is registered and stopped by PID.
# --------------------------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1
_libc = None
try:
    _libc = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:  # pragma: no cover - non-glibc systems
    _libc = None


def _child_preexec() -> None:
    # If the harness dies (even by SIGKILL), the kernel kills the child too.
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


_LIVE: list[subprocess.Popen] = []


def spawn(argv: list[str], *, stdout, stderr, cwd: Path | None = None,
          stdin=subprocess.DEVNULL, env: dict | None = None) -> subprocess.Popen:
    p = subprocess.Popen([str(a) for a in argv], stdout=stdout, stderr=stderr, stdin=stdin,
                         cwd=str(cwd) if cwd else None, env=env, preexec_fn=_child_preexec)
    _LIVE.append(p)
    return p


def stop_pid(p: subprocess.Popen, term_timeout: float = 2.0) -> int | None:
    """TERM, wait, then KILL (sipp ignores TERM mid-scenario). Returns the exit status."""
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=term_timeout)
        except subprocess.TimeoutExpired:
            try:
                p.kill()
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
    if p in _LIVE:
        _LIVE.remove(p)
    return p.returncode


def stop_all() -> None:
    for p in list(reversed(_LIVE)):
        stop_pid(p, term_timeout=1.0)


atexit.register(stop_all)


def _on_term(signum, _frame):
    # ctest / the netns parent asks us to stop: unwind through the `finally` blocks.
    raise SystemExit(128 + signum)


def _on_alarm(_signum, _frame):
    raise TestTimeout("per-test timeout reached")


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

def tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    return "\n".join(lines[-n:])


def wait_until(pred: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


def scrape_metrics(ip: str, port: int) -> dict[str, float]:
    """Portico's /metrics as {'name{labels}': value}."""
    with urllib.request.urlopen(f"http://{ip}:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    values = {}
    for line in text.splitlines():
        m = re.match(r"^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$", line)
        if m:
            values[m.group(1)] = float(m.group(2))
    return values


def _proc_net_hex(ip: str, port: int) -> str:
    """The local_address column of /proc/net/{udp,tcp}[6]: the address in 32-bit host-order
    words (little-endian here), then the port."""
    if ":" in ip:
        a = socket.inet_pton(socket.AF_INET6, ip)
        words = "".join("%02X%02X%02X%02X" % (a[i + 3], a[i + 2], a[i + 1], a[i])
                        for i in range(0, 16, 4))
        return "%s:%04X" % (words, port)
    a = socket.inet_aton(ip)
    return "%02X%02X%02X%02X:%04X" % (a[3], a[2], a[1], a[0], port)


def is_bound(ip: str, port: int, proto: str, pid: int | None = None) -> bool:
    """True when something is bound on ip:port (UDP) or listening there (TCP), from /proc/net.
    With pid, looks in that process's network namespace (/proc/<pid>/net)."""
    want = _proc_net_hex(ip, port)
    base = f"/proc/{pid}/net" if pid is not None else "/proc/net"
    path = f"{base}/udp" if proto == "udp" else f"{base}/tcp"
    if ":" in ip:
        path += "6"
    try:
        with open(path) as f:
            next(f)
            for line in f:
                parts = line.split()
                if parts[1] == want and (proto == "udp" or parts[3] == "0A"):
                    return True
    except OSError:
        return False
    return False


_KV = re.compile(r'([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_kv(line: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in _KV.findall(line)}


# --------------------------------------------------------------------------------------------
# Policies
# --------------------------------------------------------------------------------------------

@dataclass
class Net:
    """The addresses of one test: 127.0.<k>.0/24."""
    k: int

    def ip(self, host: int) -> str:
        return f"127.0.{self.k}.{host}"

    @property
    def access(self) -> str:      # Portico's access-realm listener
        return self.ip(1)

    @property
    def carrier(self) -> str:     # Portico's carrier-realm listener
        return self.ip(2)

    @property
    def uac(self) -> str:         # access-side sipp (the "PBX")
        return self.ip(10)

    @property
    def primary(self) -> str:     # carrier-side sipp, primary trunk
        return self.ip(20)

    @property
    def backup(self) -> str:      # carrier-side sipp, backup trunk
        return self.ip(21)


def default_policy(net: Net, *, shards: int = 2, primary_transport: str = "udp",
                   backup_transport: str = "udp", peer_transport: str = "udp",
                   max_calls: int = 0, trace: bool = True, log_level: str = "info",
                   media: bool = True) -> str:
    """Media is anchored by default (every call's RTP ports on Portico, SDP rewritten), so every
    call test also exercises the SDP path; media=False relays bodies unchanged."""
    access_media = f', media: {{address: {net.access}, ports: 20000-20999}}' if media else ""
    carrier_media = f', media: {{address: {net.carrier}, ports: 30000-30999}}' if media else ""
    return f"""# generated by tests/e2e/harness.py for subnet 127.0.{net.k}.0/24
server: {{shards: {shards}, log_level: {log_level}, trace: {'true' if trace else 'false'}}}
timers: {{t1: 50ms, t2: 400ms, t4: 500ms, max_call_duration: 1h}}
realms:
  access:  {{listeners: ["udp://{net.access}:5060", "tcp://{net.access}:5060"]{access_media}}}
  carrier: {{listeners: ["udp://{net.carrier}:5060", "tcp://{net.carrier}:5060"]{carrier_media}}}
trunks:
  primary: {{realm: carrier, host: {net.primary}, port: 5060, transport: {primary_transport}, max_calls: {max_calls}}}
  backup:  {{realm: carrier, host: {net.backup}, port: 5060, transport: {backup_transport}}}
access_peers:
  uac: {{realm: access, sources: ["127.0.{net.k}.0/24"], host: {net.uac}, port: 5060, transport: {peer_transport}}}
routes:
  - name: out
    match: {{realm: access}}
    targets: [{{trunk: primary}}, {{trunk: backup}}]
  - name: in
    match: {{realm: carrier}}
    targets: [{{peer: uac}}]
"""


# --------------------------------------------------------------------------------------------
# Portico
# --------------------------------------------------------------------------------------------

@dataclass
class TraceMsg:
    """One `event=sip.trace` record: its fields and the SIP message lines."""
    fields: dict[str, str]
    lines: list[str] = field(default_factory=list)

    @property
    def dir(self) -> str:
        return self.fields.get("dir", "")

    @property
    def realm(self) -> str:
        return self.fields.get("realm", "")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def first_line(self) -> str:
        return self.lines[0] if self.lines else ""


def parse_trace(text: str) -> list[TraceMsg]:
    out: list[TraceMsg] = []
    cur: TraceMsg | None = None
    for line in text.splitlines():
        if "event=sip.trace" in line:
            cur = TraceMsg(parse_kv(line))
            out.append(cur)
        elif cur is not None and line.startswith("    |"):
            cur.lines.append(line[6:] if line.startswith("    | ") else line[5:])
        else:
            cur = None
    return out


class Portico:
    def __init__(self, binary: str, workdir: Path, policy_yaml: str, shards: int = 2,
                 wrap: Iterable[str] = ()):
        self.binary = binary
        self.wrap = [str(a) for a in wrap]   # argv prefix, e.g. `ip netns exec NS` (must exec)
        self.dir = workdir
        self.policy_dir = workdir / "policies"
        self.policy_dir.mkdir(parents=True, exist_ok=True)
        (self.policy_dir / "portico.yaml").write_text(policy_yaml)
        self.log_path = workdir / "portico.log"
        self.shards = shards
        self.proc: subprocess.Popen | None = None
        self._log_f = None

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self._log_f = open(self.log_path, "wb")
        self.proc = spawn(self.wrap + [self.binary, "--policies", self.policy_dir],
                          stdout=self._log_f, stderr=subprocess.STDOUT, cwd=self.dir)
        ok = wait_until(lambda: "event=portico.ready" in self.log() or self.proc.poll() is not None,
                        READY_TIMEOUT_S)
        if self.proc.poll() is not None:
            raise TestFailure(f"portico exited with status {self.proc.returncode} before "
                              f"event=portico.ready")
        check(ok and "event=portico.ready" in self.log(),
              f"portico did not log event=portico.ready within {READY_TIMEOUT_S:.0f} s")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        """SIGTERM; returns the exit status (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            rc = self.proc.returncode
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                stop_pid(self.proc, term_timeout=0.1)
                rc = None
        if self.proc in _LIVE:
            _LIVE.remove(self.proc)
        if self._log_f:
            self._log_f.close()
            self._log_f = None
        return rc

    # --- logs ----------------------------------------------------------------------------
    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def trace(self) -> list[TraceMsg]:
        return parse_trace(self.log())

    def grep(self, needle: str) -> list[str]:
        return [l for l in self.log().splitlines() if needle in l]

    # --- state ---------------------------------------------------------------------------
    def shard_status(self, timeout: float = 1.5) -> list[dict[str, str]] | None:
        """Send SIGUSR1 and return the `event=shard.status` lines it produced (one per shard)."""
        check(self.alive(), "portico is not running (SIGUSR1 status)")
        before = len(self.log().splitlines())
        self.proc.send_signal(signal.SIGUSR1)
        got: list[dict[str, str]] = []

        def have_all() -> bool:
            nonlocal got
            lines = self.log().splitlines()[before:]
            got = [parse_kv(l) for l in lines if "event=shard.status" in l]
            return len({g.get("shard") for g in got}) >= self.shards

        return got if wait_until(have_all, timeout) else (got or None)

    def assert_zero_state(self, timeout: float = ZERO_STATE_TIMEOUT_S) -> None:
        """Poll with SIGUSR1 until calls + server_txns + client_txns + media_streams summed over
        shards is 0."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            st = self.shard_status()
            if st:
                last = st
                total = sum(int(s.get(k, "0") or 0) for s in st
                            for k in ("calls", "server_txns", "client_txns", "media_streams"))
                shards_seen = len({s.get("shard") for s in st})
                if total == 0 and shards_seen >= self.shards:
                    return
            if time.monotonic() >= deadline:
                break
            time.sleep(0.25)
        shown = "\n".join(" ".join(f"{k}={v}" for k, v in s.items()
                                   if k in ("shard", "calls", "server_txns", "client_txns",
                                            "media_streams", "connections"))
                           for s in (last or []))
        raise TestFailure(f"orphan state {timeout:.0f} s after the traffic ended "
                          f"(SIGUSR1 event=shard.status):\n{shown or '<no shard.status lines>'}")


# --------------------------------------------------------------------------------------------
# sipp
# --------------------------------------------------------------------------------------------

@dataclass
class SipMsg:
    direction: str   # "sent" | "received"
    transport: str   # "UDP" | "TCP"
    stamp: str
    text: str

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0]

    def header(self, name: str) -> list[str]:
        pat = re.compile(rf"^{re.escape(name)}\s*:\s*(.*)$", re.I | re.M)
        head = self.text.split("\n\n", 1)[0]
        return [m.group(1).strip() for m in pat.finditer(head)]


_SEP = re.compile(r"^-{20,} (\S+ \S+)\s*$", re.M)
_HDR = re.compile(r"^(UDP|TCP|TLS|SCTP) message (sent|received)")


def parse_sipp_messages(text: str) -> list[SipMsg]:
    out: list[SipMsg] = []
    parts = _SEP.split(text)
    # parts: [pre, stamp1, body1, stamp2, body2, ...]
    for i in range(1, len(parts) - 1, 2):
        stamp, body = parts[i], parts[i + 1]
        body = body.replace("\r\n", "\n").lstrip("\n")
        head, _, rest = body.partition("\n")
        m = _HDR.match(head)
        if not m:
            continue
        out.append(SipMsg(direction=m.group(2), transport=m.group(1), stamp=stamp,
                          text=rest.strip("\n")))
    return out


class Sipp:
    """One sipp process. name is the file prefix inside the test directory."""

    def __init__(self, ctx: "Ctx", name: str, scenario: str, local_ip: str, *,
                 local_port: int = 5060, remote: str | None = None, transport: str = "u1",
                 calls: int = 1, rate: float | None = None, duration_ms: int | None = None,
                 service: str = "15550001", extra: Iterable[str] = (), global_timeout_s: int = 30,
                 wrap: Iterable[str] = ()):
        self.ctx = ctx
        # argv prefix that must exec sipp in place (e.g. `ip netns exec NS`): the PID stays sipp's
        # and the bind check looks into that process's network namespace.
        self.wrap = [str(a) for a in wrap]
        self.name = name
        self.scenario = scenario
        self.local_ip = local_ip
        self.local_port = local_port
        self.transport = transport
        self.calls = calls
        d = ctx.dir
        self.msg_path = d / f"{name}.messages.log"
        self.err_path = d / f"{name}.errors.log"
        self.stat_path = d / f"{name}.stat.csv"
        self.out_path = d / f"{name}.stdout.log"
        self.screen_path = d / f"{name}.screen.log"
        scen = SCENARIOS / scenario if not os.path.isabs(scenario) else Path(scenario)
        # sipp's remote-control socket is IPv4 only: IPv6 peers put it on 127.0.0.1 with a port
        # of their own.
        # A second sipp on the same IPv4 address (another SIP port) takes its own control port.
        ctl_ip, ctl_port = (("127.0.0.1", 10000 + local_port) if ":" in local_ip
                            else (local_ip, 8888 if local_port == 5060 else 8800 + local_port % 80))
        argv = [SIPP, "-sf", scen, "-i", local_ip, "-p", local_port, "-mi", local_ip,
                "-ci", ctl_ip, "-cp", ctl_port, "-t", transport, "-m", calls, "-s", service,
                "-nostdin", "-trace_msg", "-message_file", self.msg_path,
                "-trace_err", "-error_file", self.err_path,
                "-trace_stat", "-stf", self.stat_path, "-fd", 1,
                "-trace_screen", "-screen_file", self.screen_path,
                "-timeout", f"{global_timeout_s}s", "-timeout_error",
                "-recv_timeout", 10000, "-max_retrans", 6]
        if rate is not None:
            argv += ["-r", rate, "-rp", 1000]
        if duration_ms is not None:
            argv += ["-d", duration_ms]
        argv += list(extra)
        if remote:
            argv.append(remote)
        self.argv = self.wrap + [str(a) for a in argv]
        self.global_timeout_s = global_timeout_s
        self.proc: subprocess.Popen | None = None
        self._out_f = None
        self.rc: int | None = None

    # --- lifecycle -----------------------------------------------------------------------
    def start(self, wait_bound: bool = True) -> "Sipp":
        (self.ctx.dir / f"{self.name}.cmd").write_text(" ".join(self.argv) + "\n")
        self._out_f = open(self.out_path, "wb")
        self.proc = spawn(self.argv, stdout=self._out_f, stderr=subprocess.STDOUT, cwd=self.ctx.dir)
        if wait_bound:
            proto = "tcp" if self.transport.startswith("t") else "udp"
            pid = self.proc.pid if self.wrap else None
            ok = wait_until(lambda: is_bound(self.local_ip, self.local_port, proto, pid)
                            or self.proc.poll() is not None, 5.0)
            if self.proc.poll() is not None:
                raise TestFailure(f"sipp {self.name} exited early with {self.proc.returncode}:\n"
                                  f"{tail(self.out_path, 15)}")
            check(ok, f"sipp {self.name} did not bind {self.local_ip}:{self.local_port}/{proto}")
        return self

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for exit (bounded); on timeout stop it by PID and return None."""
        assert self.proc is not None
        timeout = timeout if timeout is not None else self.global_timeout_s + 10
        try:
            self.rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_pid(self.proc)
            self.rc = None
        if self.proc in _LIVE:
            _LIVE.remove(self.proc)
        if self._out_f:
            self._out_f.close()
            self._out_f = None
        return self.rc

    def run(self, timeout: float | None = None) -> int | None:
        self.start(wait_bound=False)
        return self.wait(timeout)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        self.rc = stop_pid(self.proc)
        if self._out_f:
            self._out_f.close()
            self._out_f = None
        return self.rc

    # --- results -------------------------------------------------------------------------
    def stats(self) -> dict[str, str]:
        """The last row of the -trace_stat CSV as a dict (cumulative columns end in (C))."""
        try:
            rows = [r for r in self.stat_path.read_text(errors="replace").splitlines() if r.strip()]
        except OSError:
            return {}
        if len(rows) < 2:
            return {}
        head = rows[0].rstrip(";").split(";")
        last = rows[-1].rstrip(";").split(";")
        return dict(zip(head, last))

    def counts(self) -> tuple[int, int]:
        st = self.stats()

        def num(k: str) -> int:
            try:
                return int(float(st.get(k, "0") or 0))
            except ValueError:
                return 0
        return num("SuccessfulCall(C)"), num("FailedCall(C)")

    def messages(self) -> list[SipMsg]:
        try:
            return parse_sipp_messages(self.msg_path.read_text(errors="replace"))
        except OSError:
            return []

    def received(self) -> list[SipMsg]:
        return [m for m in self.messages() if m.direction == "received"]

    def sent(self) -> list[SipMsg]:
        return [m for m in self.messages() if m.direction == "sent"]

    def requests_received(self, method: str) -> list[SipMsg]:
        return [m for m in self.received() if m.first_line.startswith(method + " ")]

    def describe(self) -> str:
        ok, bad = self.counts()
        return f"sipp {self.name}: exit={self.rc} successful={ok} failed={bad}"


_SIPP_RC = {0: "all calls succeeded", 1: "at least one call failed", 97: "exit on internal command",
            99: "normal exit without calls processed", 255: "fatal error", 254: "fatal bind error"}


def assert_sipp(s: Sipp, successful: int, failed: int = 0) -> None:
    ok, bad = s.counts()
    what = _SIPP_RC.get(s.rc if s.rc is not None else -99, "killed after its timeout")
    detail = tail(s.err_path, 12) if s.err_path.exists() else tail(s.out_path, 6)
    check(s.rc == 0, f"sipp {s.name}: exit status {s.rc} ({what}); successful={ok} failed={bad}\n"
                     f"  {detail}")
    check(ok == successful and bad == failed,
          f"sipp {s.name}: expected successful={successful} failed={failed}, "
          f"got successful={ok} failed={bad}")


# --------------------------------------------------------------------------------------------
# Topology hiding
# --------------------------------------------------------------------------------------------

def leg_identity(s: Sipp, ip: str, ua_marker: str, tag_marker: str) -> dict[str, str]:
    """Tokens that only the leg of sipp `s` can have produced: token -> what it is.

    Its IP address, its User-Agent/Server token, the tags it generated (they contain tag_marker),
    the top Via branch of each request it sent and, when it started the call, its Call-ID."""
    toks: dict[str, str] = {ip: "IP address", ua_marker: "User-Agent/Server token"}
    msgs = s.messages()
    originator = bool(msgs) and msgs[0].direction == "sent"
    for m in s.sent():
        is_request = not m.first_line.startswith("SIP/2.0")
        if is_request:
            vias = m.header("Via") + m.header("v")
            b = re.search(r"branch=([^;\s,]+)", vias[0]) if vias else None
            if b:
                toks[b.group(1)] = "Via branch"
            if originator:
                for cid in m.header("Call-ID") + m.header("i"):
                    toks[cid] = "Call-ID"
        for h in ("From", "f", "To", "t"):
            for v in m.header(h):
                t = re.search(r";tag=([^;>\s]+)", v)
                if t and tag_marker in t.group(1):
                    toks[t.group(1)] = "tag"
    toks.pop("", None)
    return toks


def _token_re(tok: str, what: str) -> re.Pattern:
    if what == "IP address":   # 127.0.2.1 must not match inside 127.0.2.10
        return re.compile(rf"(?<![\d.]){re.escape(tok)}(?![\d])")
    return re.compile(re.escape(tok))


def find_leaks(tokens: dict[str, str], messages: Iterable[tuple[str, str]]) -> list[str]:
    """messages: (label, text). Returns human-readable leak descriptions."""
    pats = [(tok, what, _token_re(tok, what)) for tok, what in tokens.items()]
    leaks = []
    for label, text in messages:
        for tok, what, pat in pats:
            if pat.search(text):
                line = next((l for l in text.splitlines() if pat.search(l)), "")
                leaks.append(f"{what} {tok!r} in {label}: {line.strip()[:160]}")
    return leaks


def _split_sdp(text: str) -> tuple[str, str]:
    head, sep, body = text.partition("\n\n")
    return head, body


def assert_topology_hidden(portico: Portico | None, access_sipp: Sipp, access_ip: str,
                           carrier_sipp: Sipp, carrier_ip: str, check_sdp: bool = True,
                           ctx: "Ctx | None" = None) -> None:
    """Nothing that the access-side sipp put in its messages reaches the carrier-side sipp, and the
    reverse; Portico's own trace of what it sent on each realm is checked the same way.

    The start line, headers and SDP bodies are checked: with media anchored (default_policy),
    c=/o= name Portico on each leg. check_sdp=False is for signalling-only policies (no media
    section), where SDP is relayed unchanged by design; its addresses are then reported as notes."""
    a_tok = leg_identity(access_sipp, access_ip, "PorticoE2E-UAC", "E2Euac")
    c_tok = leg_identity(carrier_sipp, carrier_ip, "PorticoE2E-UAS", "E2Euas")
    check(any(w == "Call-ID" for w in a_tok.values()), "no Call-ID found in the caller's log")
    check(any(w == "tag" for w in c_tok.values()), "no callee tag found in the callee's log")
    groups = [(a_tok, [(f"{carrier_sipp.name} received {m.first_line!r}", m.text)
                       for m in carrier_sipp.received()]),
              (c_tok, [(f"{access_sipp.name} received {m.first_line!r}", m.text)
                       for m in access_sipp.received()])]
    if portico is not None:
        tr = portico.trace()
        check(any(t.dir == "out" for t in tr), "no event=sip.trace dir=out in the portico log "
                                               "(server.trace: true is set)")
        groups.append((a_tok, [(f"portico trace out realm=carrier {t.first_line!r}", t.text)
                               for t in tr if t.dir == "out" and t.realm == "carrier"]))
        groups.append((c_tok, [(f"portico trace out realm=access {t.first_line!r}", t.text)
                               for t in tr if t.dir == "out" and t.realm == "access"]))
    leaks: list[str] = []
    sdp_leaks: list[str] = []
    for toks, msgs in groups:
        split = [(label,) + _split_sdp(text) for label, text in msgs]
        leaks += find_leaks(toks, [(label, head) for label, head, _ in split])
        found = find_leaks(toks, [(label + " (SDP body)", body) for label, _, body in split])
        (leaks if check_sdp else sdp_leaks).extend(found)

    def uniq(items: list[str]) -> list[str]:
        seen: set[str] = set()
        return [x for x in items if not (x in seen or seen.add(x))]
    leaks, sdp_leaks = uniq(leaks), uniq(sdp_leaks)
    if sdp_leaks:
        msg = (f"SDP relayed unchanged (signalling-only policy): {len(sdp_leaks)} address "
               f"occurrence(s), e.g. {sdp_leaks[0]}")
        if ctx is not None:
            ctx.note(msg)
        else:
            print(f"    note: {msg}")
    check(not leaks, "topology hiding: %d leak(s):\n  %s" % (len(leaks), "\n  ".join(leaks[:25])))


# --------------------------------------------------------------------------------------------
# Test context and runner
# --------------------------------------------------------------------------------------------

class Ctx:
    """Everything one test owns: its directory, subnet, Portico and sipp processes."""

    def __init__(self, args, file_stem: str, name: str, k: int):
        self.args = args
        self.name = name
        self.net = Net(k)
        self.direct: bool = args.direct
        self.dir = (Path.cwd() / "logs" / file_stem / name).resolve()
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        self.portico: Portico | None = None
        self.sipps: list[Sipp] = []
        self.notes: list[str] = []

    # --- builders ------------------------------------------------------------------------
    def start_portico(self, policy_yaml: str | None = None, shards: int = 2,
                      wrap: Iterable[str] = ()) -> Portico | None:
        if self.direct:
            return None
        self.portico = Portico(self.args.portico, self.dir, policy_yaml or default_policy(self.net),
                               shards=shards, wrap=wrap)
        self.portico.start()
        return self.portico

    def sipp(self, name: str, scenario: str, local_ip: str, **kw) -> Sipp:
        s = Sipp(self, name, scenario, local_ip, **kw)
        self.sipps.append(s)
        return s

    def access_target(self, transport: str = "udp") -> str:
        """Where the access-side UAC sends: Portico's access listener, or the UAS (direct mode)."""
        return f"{self.net.primary}:5060" if self.direct else f"{self.net.access}:5060"

    def note(self, msg: str) -> None:
        self.notes.append(msg)
        print(f"    note: {msg}", flush=True)

    # --- common end-of-test checks -------------------------------------------------------
    def finish_portico(self, zero_state: bool = True) -> None:
        """Zero-state check, then SIGTERM must make Portico exit 0."""
        if self.portico is None:
            return
        check(self.portico.alive(), f"portico died during the test (status "
                                    f"{self.portico.proc.returncode})")
        if zero_state:
            self.portico.assert_zero_state()
        rc = self.portico.stop()
        check(rc == 0, f"portico exit status after SIGTERM: {rc} (expected 0 within "
                       f"{STOP_TIMEOUT_S:.0f} s)")

    def cleanup(self) -> None:
        for s in self.sipps:
            if s.proc is not None and s.proc.poll() is None:
                s.stop()
        if self.portico is not None:
            self.portico.stop()

    def dump_on_failure(self) -> None:
        print(f"    logs: {self.dir}")
        if self.portico is not None:
            print("    --- portico.log (tail) ---")
            print("\n".join("    " + l for l in tail(self.portico.log_path, 40).splitlines()))
        for s in self.sipps:
            if s.err_path.exists() and s.err_path.stat().st_size:
                print(f"    --- {s.name} errors (tail) ---")
                print("\n".join("    " + l for l in tail(s.err_path, 12).splitlines()))
            elif s.out_path.exists() and s.rc not in (0, None):
                print(f"    --- {s.name} output (tail) ---")
                print("\n".join("    " + l for l in tail(s.out_path, 12).splitlines()))


@dataclass
class TestSpec:
    name: str
    fn: Callable[[Ctx], None]
    k: int
    timeout: int
    portico_only: bool
    default: bool = True


_TESTS: list[TestSpec] = []


def e2e_test(k: int, timeout: int = DEFAULT_TEST_TIMEOUT_S, portico_only: bool = False,
             default: bool = True):
    """Register a test. k is its private subnet 127.0.<k>.0/24 (unique across the suite).
    default=False keeps it out of a plain run: it runs only when named with --only."""
    def deco(fn):
        _TESTS.append(TestSpec(fn.__name__.removeprefix("test_"), fn, k, timeout, portico_only,
                               default))
        return fn
    return deco


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Portico end-to-end tests (real sipp peers)")
    ap.add_argument("--portico", help="path to the portico binary")
    ap.add_argument("--only", action="append", default=[], help="run only this test (repeatable)")
    ap.add_argument("--direct", action="store_true",
                    help="validate the scenarios sipp-to-sipp, without Portico")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args(argv)
    if not args.direct and not args.list:
        if not args.portico:
            ap.error("--portico PATH is required (or --direct)")
        args.portico = str(Path(args.portico).resolve())
        if not os.access(args.portico, os.X_OK):
            ap.error(f"--portico {args.portico}: not an executable file")
    return args


def preflight() -> None:
    if not os.access(SIPP, os.X_OK):
        raise SystemExit(f"sipp not found ({SIPP}); install the sip-tester package")


def run_tests(file: str, argv: list[str] | None = None, args: argparse.Namespace | None = None) -> int:
    args = args or parse_args(argv)
    stem = Path(file).stem
    # Only the tests defined in `file`: a test file may import helpers from another one.
    mine = [t for t in _TESTS if Path(t.fn.__code__.co_filename).resolve() == Path(file).resolve()]
    if args.list:
        for t in mine:
            print(t.name if t.default else f"{t.name} (not run by default; use --only)")
        return 0
    preflight()
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGALRM, _on_alarm)
    selected = [t for t in mine if (t.name in args.only if args.only else t.default)]
    passed = failed = skipped = 0
    interrupted = False
    t_all = time.monotonic()
    for spec in selected:
        if args.direct and spec.portico_only:
            print(f"[SKIP] {spec.name}: needs Portico (direct mode)", flush=True)
            skipped += 1
            continue
        print(f"[RUN ] {spec.name}", flush=True)
        t0 = time.monotonic()
        ctx = Ctx(args, stem, spec.name, spec.k)
        ok = False
        try:
            signal.alarm(spec.timeout)
            spec.fn(ctx)
            ok = True
        except TestFailure as e:
            print(f"    FAIL: {e}", flush=True)
        except TestTimeout as e:
            print(f"    FAIL: {e} ({spec.timeout} s)", flush=True)
        except Exception:  # a bug in the test itself
            print("    ERROR:\n" + "\n".join("    " + l for l in
                                              traceback.format_exc().splitlines()), flush=True)
        except (SystemExit, KeyboardInterrupt) as e:  # SIGTERM from ctest/the netns parent, ^C
            print(f"    FAIL: interrupted ({type(e).__name__} {getattr(e, 'code', '')})", flush=True)
            interrupted = True
        finally:
            signal.alarm(0)
            ctx.cleanup()
        dt = time.monotonic() - t0
        if ok:
            passed += 1
            print(f"[PASS] {spec.name} ({dt:.1f} s)", flush=True)
        else:
            failed += 1
            ctx.dump_on_failure()
            print(f"[FAIL] {spec.name} ({dt:.1f} s)", flush=True)
        if interrupted:
            break
    stop_all()
    extra = f", {skipped} skipped" if skipped else ""
    print(f"total {time.monotonic() - t_all:.1f} s{extra}")
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


# ------------------------------------------------------------------------------------------------
# Loopback-only network namespace: for tests whose input names outside hosts or that run attacker
# tools. The test file re-executes itself under `unshare -n`, where only lo is up.
# ------------------------------------------------------------------------------------------------

NETNS_ENV = "PORTICO_E2E_IN_NETNS"


def _fail_alone(message: str) -> int:
    print(f"FAIL: {message}")
    print("0 passed, 1 failed")
    return 1


def _namespaced_run(file: str) -> int:
    r = subprocess.run(["ip", "link", "set", "lo", "up"], capture_output=True, text=True, timeout=5)
    if r.returncode != 0:
        return _fail_alone(f"cannot bring lo up in the namespace: {r.stderr.strip()}")
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, timeout=5).stdout
    ifaces = [l.split(":")[1].strip() for l in links.splitlines() if ":" in l]
    if ifaces != ["lo"]:
        return _fail_alone(f"expected only lo in the new namespace, found {ifaces}")
    return run_tests(file)


def namespaced_main(file: str, timeout_s: int) -> int:
    """main() of a test file that must run in a private loopback-only network namespace: runs
    the file's tests there (re-executing it under `unshare -n`), bounded by `timeout_s`, and
    fails loudly when no namespace can be made. --list and --direct run in place."""
    if os.environ.get(NETNS_ENV) == "1":
        return _namespaced_run(file)
    args = parse_args()
    if args.list or args.direct:
        return run_tests(file, args=args)
    unshare = shutil.which("unshare")
    if unshare is None:
        return _fail_alone("cannot create a private network namespace: unshare not found")
    if shutil.which("ip") is None:
        return _fail_alone("cannot create a private network namespace: ip not found (iproute2)")
    probe = subprocess.run([unshare, "-n", "--", "true"], capture_output=True, text=True,
                           timeout=10)
    if probe.returncode != 0:
        return _fail_alone(f"`unshare -n` failed (status {probe.returncode}): "
                           f"{probe.stderr.strip()} -- this test needs root or CAP_SYS_ADMIN "
                           f"(CI runs as root)")
    env = dict(os.environ, **{NETNS_ENV: "1"})
    signal.signal(signal.SIGTERM, lambda n, f: (_ for _ in ()).throw(SystemExit(128 + n)))
    child = subprocess.Popen([unshare, "-n", "--", sys.executable, os.path.abspath(file),
                              *sys.argv[1:]], env=env, preexec_fn=_child_preexec)
    try:
        return child.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        print(f"FAIL: the namespaced run did not finish within {timeout_s} s; stopping it")
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=5)
        print("0 passed, 1 failed")
        return 1
    except BaseException:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        raise
