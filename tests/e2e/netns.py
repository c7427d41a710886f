"""Network-namespace topologies for end-to-end tests: named namespaces joined by veth pairs, with
addresses, routes, sysctls and nftables rules, torn down in `finally` and at exit.

Python 3 standard library only; needs root (or CAP_SYS_ADMIN + CAP_NET_ADMIN), `ip` (iproute2) and
`nft`. Captures need `tcpdump`.

    topo = Topology("pt%d" % os.getpid())        # namespaces are named <prefix>-<name>
    try:
        topo.namespace("a"); topo.namespace("b")    # loopback is brought up in each
        topo.link("a", "eth0", "10.0.0.1/24", "b", "eth0", "10.0.0.2/24")
        topo.route("a", "default", "10.0.0.2")
        topo.nft("b", "table inet t { ... }")
        argv = topo.wrap("a") + ["sipp", ...]    # `ip netns exec <ns> ...` (exec, same PID)
    finally:
        topo.teardown()                             # also registered with atexit

`python3 netns.py` builds the NAT layout below, checks it and tears it down (a self-check).

Interfaces are created directly inside their namespaces (`ip link add ... netns`), so their names
never touch the host's namespace and two runs with different prefixes never collide. Namespaces
left behind by a run that was killed (its PID, taken from the prefix, is gone) are removed by
`sweep_stale()`.

`nat_topology()` builds the four-namespace layout of test_nat.py:

    lan  10.77.0.2/24 (lan0)  --  nat 10.77.0.1/24 (inside0)
    nat  192.0.2.1/24 (outside0, masquerade, UDP/TCP source ports mapped into 40000-49999)
         --  edge 192.0.2.10/24 (access0)
    edge 198.51.100.10/24 (carrier0)  --  carrier 198.51.100.20/24 (trunk0)

The lan's default route points at the nat, which forwards IPv4 and masquerades on outside0; edge
has only its two connected routes (no route to 10.77/16, no forwarding, no default route), carrier
and nat have only connected routes. Nothing can be routed out of these namespaces. In edge, the
`portico_e2e_guard` nftables table counts every packet arriving from a private source (10.0.0.0/8):
it must stay at zero, since edge should only ever see the NAT's public address.

`Capture` runs tcpdump in a namespace and reads the pcap back (`read_pcap_udp`): UDP datagrams
with their timestamps, addresses and payloads.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import struct
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

from dataclasses import dataclass
from pathlib import Path

from harness import spawn, stop_pid, wait_until

CMD_TIMEOUT_S = 10


class NetnsError(RuntimeError):
    """A namespace, link, route or rule could not be set up; the message has the command and its
    error output."""


def _run(argv: list[str], *, check: bool = True, timeout: float = CMD_TIMEOUT_S,
         stdin: str | None = None) -> subprocess.CompletedProcess:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=stdin)
    except FileNotFoundError as e:
        raise NetnsError(f"{argv[0]}: not found ({e})") from e
    except subprocess.TimeoutExpired as e:
        raise NetnsError(f"{' '.join(argv)}: no answer within {timeout:.0f} s") from e
    if check and r.returncode != 0:
        raise NetnsError(f"`{' '.join(argv)}` failed (status {r.returncode}): "
                         f"{(r.stderr or r.stdout).strip()}")
    return r


def preflight() -> str:
    """'' when namespaces can be built here, else why not (for a loud FAIL, never a skip)."""
    if os.geteuid() != 0:
        return (f"running as uid {os.geteuid()}: creating network namespaces needs root "
                f"(CI runs this test as root)")
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"`{tool}` not found (install iproute2 and nftables)"
    return ""


def sweep_stale(prefix_re: str = r"^ptnat(\d+)-") -> list[str]:
    """Delete namespaces named like ours (prefix_re's group 1 is the owning PID) whose PID no
    longer exists. Returns their names."""
    r = _run(["ip", "netns", "list"], check=False)
    gone = []
    for line in r.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.match(prefix_re, name)
        if m and not Path(f"/proc/{m.group(1)}").exists():
            if _run(["ip", "netns", "del", name], check=False).returncode == 0:
                gone.append(name)
    return gone


class Topology:
    """Named namespaces `<prefix>-<name>`; everything created is deleted by teardown()."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.namespaces: list[str] = []   # short names, in creation order
        self._torn_down = False
        atexit.register(self.teardown)

    # --- naming --------------------------------------------------------------------------
    def ns(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def wrap(self, name: str) -> list[str]:
        """argv prefix that runs a command inside namespace `name`. `ip netns exec` execs the
        command, so the child's PID is the command's own (signals reach it directly)."""
        return ["ip", "netns", "exec", self.ns(name)]

    def exec(self, name: str, argv: list[str], *, check: bool = True,
             timeout: float = CMD_TIMEOUT_S, stdin: str | None = None) -> subprocess.CompletedProcess:
        return _run(self.wrap(name) + [str(a) for a in argv], check=check, timeout=timeout,
                    stdin=stdin)

    def ip(self, name: str, *args: str, check: bool = True) -> str:
        return _run(["ip", "-n", self.ns(name), *args], check=check).stdout

    # --- building ------------------------------------------------------------------------
    def namespace(self, name: str) -> None:
        full = self.ns(name)
        _run(["ip", "netns", "add", full])
        self.namespaces.append(name)
        self.ip(name, "link", "set", "lo", "up")

    def link(self, a: str, a_if: str, a_cidr: str | None, b: str, b_if: str,
             b_cidr: str | None) -> None:
        """A veth pair created straight inside the two namespaces, addressed and up."""
        _run(["ip", "-n", self.ns(a), "link", "add", a_if, "type", "veth", "peer", "name", b_if,
              "netns", self.ns(b)])
        for ns, ifname, cidr in ((a, a_if, a_cidr), (b, b_if, b_cidr)):
            if cidr:
                self.ip(ns, "addr", "add", cidr, "dev", ifname)
            self.ip(ns, "link", "set", ifname, "up")

    def route(self, name: str, dest: str, via: str) -> None:
        self.ip(name, "route", "add", dest, "via", via)

    def sysctl(self, name: str, key: str, value: str) -> None:
        self.exec(name, ["sysctl", "-q", "-w", f"{key}={value}"])

    def nft(self, name: str, ruleset: str) -> None:
        self.exec(name, ["nft", "-f", "-"], stdin=ruleset)

    def counter(self, name: str, family: str, table: str, counter: str) -> tuple[int, int]:
        """(packets, bytes) of a named nftables counter."""
        r = self.exec(name, ["nft", "-j", "list", "counter", family, table, counter])
        for item in json.loads(r.stdout).get("nftables", []):
            c = item.get("counter")
            if c and c.get("name") == counter:
                return int(c.get("packets", 0)), int(c.get("bytes", 0))
        raise NetnsError(f"counter {family} {table} {counter} not found in {self.ns(name)}")

    def reset_counters(self, name: str, family: str, table: str) -> None:
        self.exec(name, ["nft", "reset", "counters", "table", family, table])

    # --- teardown ------------------------------------------------------------------------
    def teardown(self) -> list[str]:
        """Delete every namespace this topology created (idempotent). Deleting a namespace
        deletes its veth ends. Returns problems (empty when all went)."""
        if self._torn_down:
            return []
        self._torn_down = True
        problems = []
        for name in reversed(self.namespaces):
            r = _run(["ip", "netns", "del", self.ns(name)], check=False)
            if r.returncode != 0:
                problems.append(f"ip netns del {self.ns(name)}: {r.stderr.strip()}")
        self.namespaces.clear()
        return problems

    def exists(self) -> list[str]:
        """Full names of this topology's namespaces still listed by `ip netns`."""
        out = _run(["ip", "netns", "list"], check=False).stdout
        names = {l.split()[0] for l in out.splitlines() if l.split()}
        return sorted(n for n in names if n.startswith(self.prefix + "-"))


# --------------------------------------------------------------------------------------------
# The NAT layout of test_nat.py
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NatAddrs:
    phone: str = "10.77.0.2"           # lan0 in `lan`
    nat_inside: str = "10.77.0.1"      # inside0 in `nat`
    nat_public: str = "192.0.2.1"      # outside0 in `nat` (masquerade)
    edge_access: str = "192.0.2.10"    # access0 in `edge` (Portico access realm)
    edge_carrier: str = "198.51.100.10"  # carrier0 in `edge` (Portico carrier realm)
    carrier: str = "198.51.100.20"     # trunk0 in `carrier` (the trunk)
    nat_ports: tuple[int, int] = (40000, 49999)  # where masquerade maps UDP/TCP source ports


NAT_GUARD_TABLE = "portico_e2e_guard"


def nat_topology(prefix: str, a: NatAddrs = NatAddrs()) -> Topology:
    """Build lan -> nat -> edge -> carrier (see the module docstring). On failure the namespaces
    created so far are deleted and NetnsError is raised."""
    topo = Topology(prefix)
    try:
        for n in ("lan", "nat", "edge", "carrier"):
            topo.namespace(n)
        topo.link("lan", "lan0", f"{a.phone}/24", "nat", "inside0", f"{a.nat_inside}/24")
        topo.link("nat", "outside0", f"{a.nat_public}/24", "edge", "access0", f"{a.edge_access}/24")
        topo.link("edge", "carrier0", f"{a.edge_carrier}/24", "carrier", "trunk0", f"{a.carrier}/24")
        topo.route("lan", "default", a.nat_inside)
        topo.sysctl("nat", "net.ipv4.ip_forward", "1")
        topo.sysctl("edge", "net.ipv4.ip_forward", "0")
        lo, hi = a.nat_ports
        topo.nft("nat", f"""
table ip portico_e2e_nat {{
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    oifname "outside0" meta l4proto {{ tcp, udp }} masquerade to :{lo}-{hi}
    oifname "outside0" masquerade
  }}
}}
""")
        topo.nft("edge", f"""
table inet {NAT_GUARD_TABLE} {{
  counter private_in {{ }}
  counter public_in {{ }}
  chain input {{
    type filter hook input priority filter; policy accept;
    ip saddr 10.0.0.0/8 counter name "private_in"
    ip saddr {a.nat_public} counter name "public_in"
  }}
}}
""")
    except BaseException:
        topo.teardown()
        raise
    return topo


def udp_probe(topo: Topology, src_ns: str, src: tuple[str, int], dst_ns: str,
              dst: tuple[str, int], timeout: float = 3.0) -> tuple[str, int] | None:
    """Send one UDP datagram from src (in src_ns) to dst (in dst_ns); return the source address
    the receiver saw, or None if nothing arrived within timeout."""
    recv_code = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
        f"s.bind(({dst[0]!r},{dst[1]}))\n"
        "print('bound',flush=True)\n"
        f"s.settimeout({timeout})\n"
        "try:\n"
        "    d,a=s.recvfrom(2048)\n"
        "    print('%s %d'%a,flush=True)\n"
        "except socket.timeout:\n"
        "    print('none',flush=True)\n")
    send_code = (
        "import socket\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
        f"s.bind(({src[0]!r},{src[1]}))\n"
        f"s.sendto(b'portico-e2e-probe',({dst[0]!r},{dst[1]}))\n")
    rx = subprocess.Popen(topo.wrap(dst_ns) + ["python3", "-c", recv_code], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        first = rx.stdout.readline().strip()
        if first != "bound":
            raise NetnsError(f"UDP probe receiver in {topo.ns(dst_ns)} failed: "
                             f"{first} {rx.stderr.read()[:300]}")
        topo.exec(src_ns, ["python3", "-c", send_code])
        out, _ = rx.communicate(timeout=timeout + 5)
    finally:
        if rx.poll() is None:
            rx.kill()
            rx.wait(timeout=5)
    line = out.strip().splitlines()[-1] if out.strip() else "none"
    if line == "none":
        return None
    host, port = line.split()
    return host, int(port)


# --------------------------------------------------------------------------------------------
# Packet capture
# --------------------------------------------------------------------------------------------

@dataclass
class UdpPacket:
    ts: float
    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes

    def text(self) -> str:
        return self.payload.decode("utf-8", "replace")


def read_pcap_udp(path: Path) -> list[UdpPacket]:
    """The IPv4 UDP datagrams of a classic pcap file (Ethernet, Linux cooked v1/v2 or raw IP
    link types; micro- or nanosecond stamps; non-first fragments are skipped)."""
    data = Path(path).read_bytes()
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError(f"{path}: not a pcap file (magic {magic.hex()})")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    out: list[UdpPacket] = []
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ts = sec + frac / (1e9 if nano else 1e6)
        if linktype == 1:          # Ethernet
            l3, ethertype = 14, struct.unpack("!H", frame[12:14])[0] if len(frame) >= 14 else 0
            while ethertype in (0x8100, 0x88A8) and len(frame) >= l3 + 4:
                ethertype = struct.unpack("!H", frame[l3 + 2:l3 + 4])[0]
                l3 += 4
        elif linktype == 113:      # Linux cooked v1
            l3, ethertype = 16, struct.unpack("!H", frame[14:16])[0] if len(frame) >= 16 else 0
        elif linktype == 276:      # Linux cooked v2
            l3, ethertype = 20, struct.unpack("!H", frame[0:2])[0] if len(frame) >= 2 else 0
        elif linktype in (101, 228):  # raw IP / raw IPv4
            l3, ethertype = 0, 0x0800
        else:
            raise ValueError(f"{path}: unsupported link type {linktype}")
        ip = frame[l3:]
        if ethertype != 0x0800 or len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0x0F) * 4
        frag = struct.unpack("!H", ip[6:8])[0]
        if frag & 0x1FFF:          # not the first fragment: no UDP header here
            continue
        total = struct.unpack("!H", ip[2:4])[0]
        udp = ip[ihl:total] if total <= len(ip) else ip[ihl:]
        if len(udp) < 8:
            continue
        sport, dport, ulen = struct.unpack("!HHH", udp[:6])
        payload = udp[8:ulen] if 8 <= ulen <= len(udp) else udp[8:]
        out.append(UdpPacket(ts, ".".join(map(str, ip[12:16])), sport,
                             ".".join(map(str, ip[16:20])), dport, payload))
    return out


def cut_pcap(src: Path, dst: Path, seconds: float) -> int:
    """Copy the first `seconds` of a pcap file (by capture time) to dst; returns packets kept."""
    data = Path(src).read_bytes()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    out = bytearray(data[:24])
    off, first, kept = 24, None, 0
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        ts = sec + frac / (1e9 if nano else 1e6)
        first = ts if first is None else first
        if ts - first >= seconds:
            break
        out += data[off:off + 16 + incl]
        off += 16 + incl
        kept += 1
    Path(dst).write_bytes(bytes(out))
    return kept


class HostNamespace:
    """What Capture needs of a Topology, for a capture in the test's own namespace (`lo`)."""

    @staticmethod
    def wrap(_name: str) -> list[str]:
        return []

    @staticmethod
    def ns(_name: str) -> str:
        return "host"


class Capture:
    """tcpdump on one interface of one namespace, written to a pcap file; stopped by PID."""

    def __init__(self, topo: Topology, ns: str, iface: str, path: Path, bpf: str = "udp"):
        self.topo, self.ns, self.iface, self.path, self.bpf = topo, ns, iface, Path(path), bpf
        self.err_path = self.path.with_suffix(".tcpdump.log")
        self.proc: subprocess.Popen | None = None
        self._err = None

    def start(self, timeout: float = 5.0) -> "Capture":
        if shutil.which("tcpdump") is None:
            raise NetnsError("tcpdump not found (install tcpdump)")
        self._err = open(self.err_path, "wb")
        # -Z root: keep writing the file as root (Debian's tcpdump drops to user tcpdump);
        # --immediate-mode: hand every packet over at once, so stopping loses none.
        argv = self.topo.wrap(self.ns) + ["tcpdump", "-i", self.iface, "-n", "-s", "0", "-U",
                                          "--immediate-mode", "-Z", "root", "-w",
                                          str(self.path), self.bpf]
        self.proc = spawn(argv, stdout=subprocess.DEVNULL, stderr=self._err)

        def listening() -> bool:
            try:
                return b"listening on" in self.err_path.read_bytes()
            except OSError:
                return False
        ok = wait_until(lambda: listening() or self.proc.poll() is not None, timeout)
        if self.proc.poll() is not None or not ok:
            msg = self.err_path.read_text(errors="replace").strip()[-400:]
            self.stop()
            raise NetnsError(f"tcpdump on {self.topo.ns(self.ns)}/{self.iface} did not start: {msg}")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_pid(self.proc, term_timeout=3.0)
            self.proc = None
        if self._err:
            self._err.close()
            self._err = None

    def packets(self) -> list[UdpPacket]:
        self.stop()
        # tcpdump flushes on SIGTERM; give the file a moment to appear when nothing was captured.
        wait_until(self.path.exists, 1.0)
        return read_pcap_udp(self.path) if self.path.exists() else []



def self_check() -> int:
    """`python3 netns.py`: build the NAT layout, check masquerade and isolation, tear it down."""
    problem = preflight()
    if problem:
        print(f"FAIL: {problem}")
        return 1
    a = NatAddrs()
    topo = nat_topology(f"ptnat{os.getpid()}", a)
    try:
        seen = udp_probe(topo, "lan", (a.phone, 5555), "edge", (a.edge_access, 9999))
        through = udp_probe(topo, "lan", (a.phone, 5556), "carrier", (a.carrier, 9999), 1.0)
        private = topo.counter("edge", "inet", NAT_GUARD_TABLE, "private_in")[0]
        ok = (seen is not None and seen[0] == a.nat_public
              and a.nat_ports[0] <= seen[1] <= a.nat_ports[1] and through is None and private == 0)
        print(f"{'ok' if ok else 'FAIL'}: lan -> edge arrives from {seen}; lan -> carrier: "
              f"{through or 'not routed'}; private sources seen by edge: {private}")
        return 0 if ok else 1
    finally:
        topo.teardown()


if __name__ == "__main__":
    sys.exit(self_check())
