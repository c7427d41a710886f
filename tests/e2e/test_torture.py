#!/usr/bin/env python3
"""RFC 4475 and RFC 5118 torture messages fed to Portico's access listener, over UDP and over TCP.

    python3 tests/e2e/test_torture.py --portico build/src/portico

The messages name outside hosts (example.com, 192.0.2.x, 2001:db8::...), so the test re-executes itself
under `unshare -n` (a private network namespace in which only loopback is up) and fails loudly when
that is impossible. Inside, a veth pair `e2eout`/`e2esink` carries the default routes (IPv4 and IPv6)
to a permanent neighbour, and a packet socket on `e2esink` records every UDP/TCP packet that leaves
through it: anything Portico sends anywhere but loopback (a response sent to a Via host, a DNS query)
is seen there and fails the test. Nothing can leave the namespace.

Addresses: Portico access realm 127.0.0.1:5060 (udp+tcp), carrier realm 127.0.0.2:5060, trunk
`primary` -> sipp UAS on 127.0.0.3:5060 (uas_torture_sink.xml: records, declines INVITEs with 480,
-aa answers OPTIONS/INFO/NOTIFY/UPDATE), the Python sender on 127.0.0.5 (UDP 5060 and every Via
sent-by port of the corpus, plus TCP listeners on the same ports to catch responses sent on new
connections), the final sipp caller on 127.0.0.10.

For each file and transport the sender collects what comes back within ~300 ms, ACKs non-2xx final
responses to INVITEs (RFC 3261 17.1.1.3, so Portico's retransmissions stop), and compares with the
table EXPECT below; the sink's message log (and Portico's own trace) say what was forwarded.
Afterwards Portico must still be alive, complete a normal sipp call, and exit 0 on SIGTERM.
"""

from __future__ import annotations

import calendar
import re
import selectors
import signal
import socket
import struct
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import (Ctx, assert_sipp, check, e2e_test, namespaced_main, parse_sipp_messages)

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"

ACCESS, CARRIER, SINK, SENDER, CALLER = "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.5", "127.0.0.10"
WINDOW_S = 0.30          # how long to collect what comes back for one message
TCP_CLOSE_WAIT_S = 0.50  # framing errors on TCP: how long to wait for Portico to close


# ------------------------------------------------------------------------------------------------
# Expected outcomes
#
#   valid   accepted: any SIP response other than 400 (501/404/416/420/481/480 relayed...), or the
#           request forwarded to the trunk. A 400 fails.
#   400     rejected with 400 (UDP). On TCP: 400, or the connection dropped/closed.
#   drop    no response at all and nothing forwarded (stray or malformed responses).
#   either  the RFC allows both: a 400 or being handled as valid. Silence fails on UDP.
#   reject  a response whose code is in `codes`; nothing forwarded.
#   close   (TCP only) framing cannot be trusted (no Content-Length, Content-Length past the end,
#           no end of headers): nothing forwarded and no response other than 400.
#   400|drop  400 when the Via can still be read, else dropped; never forwarded.
#
# `prefer` is the code the RFC names for an endpoint; any other non-400 code passes with a note.
# ------------------------------------------------------------------------------------------------

@dataclass
class Exp:
    udp: str
    why: str
    tcp: str | None = None          # None: same as udp
    codes: frozenset = frozenset()
    prefer: int | None = None
    forwarded_must_not: tuple = ()  # regexps that must not appear in a forwarded copy


E = Exp
EXPECT: dict[str, Exp] = {
    # --- RFC 4475 §3.1.1: valid messages (must be accepted) --------------------------------
    "rfc4475/wsinv.dat": E("valid", "3.1.1.1 short tortuous INVITE: folding, odd whitespace, compact "
                                    "forms, escaped quotes; must be accepted"),
    "rfc4475/intmeth.dat": E("valid", "3.1.1.2 every token character in an unknown method; a UA "
                                      "answers 501/405", prefer=501),
    "rfc4475/esc01.dat": E("valid", "3.1.1.3 valid %-escaping in the R-URI user and headers"),
    "rfc4475/escnull.dat": E("valid", "3.1.1.4 escaped NULs (%00) in URIs of a REGISTER"),
    "rfc4475/esc02.dat": E("valid", "3.1.1.5 '%' that is not an escape: RE%47IST%45R is an unknown "
                                    "method, not REGISTER", prefer=501),
    "rfc4475/lwsdisp.dat": E("valid", "3.1.1.6 no LWS between display name and '<'"),
    "rfc4475/longreq.dat": E("valid", "3.1.1.7 very long header values, many Via/Contact values"),
    "rfc4475/dblreq.dat": E("valid", "3.1.1.8 extra octets after a complete REGISTER in one UDP "
                                     "datagram: answer the REGISTER, ignore the rest (on TCP the "
                                     "rest is a second complete request)"),
    "rfc4475/semiuri.dat": E("valid", "3.1.1.9 ';' inside the userinfo of the R-URI"),
    "rfc4475/transports.dat": E("valid", "3.1.1.10 Via values with SCTP/TLS/unknown transports"),
    "rfc4475/mpart01.dat": E("valid", "3.1.1.11 multipart/mixed MESSAGE body"),
    "rfc4475/unreason.dat": E("drop", "3.1.1.12 a valid 200 with a non-ASCII reason phrase; as a "
                                      "stray response (no transaction) it is discarded silently"),
    "rfc4475/noreason.dat": E("drop", "3.1.1.13 a valid 100 with an empty reason phrase; stray, "
                                      "discarded"),
    # --- RFC 4475 §3.1.2: invalid messages --------------------------------------------------
    "rfc4475/badinv01.dat": E("400|drop", "3.1.2.1 empty Via/Contact parameters ';;,;,,': invalid, "
                                          "400 (the Via itself is the broken part: drop if "
                                          "unreadable)"),
    "rfc4475/clerr.dat": E("400", "3.1.2.2 Content-Length larger than the datagram: 400 on UDP; on "
                                  "TCP wait for more data, then close", tcp="close"),
    "rfc4475/ncl.dat": E("400", "3.1.2.3 negative Content-Length: error response on UDP; framing "
                                "unrecoverable on TCP, close"),
    "rfc4475/scalar02.dat": E("400", "3.1.2.4 CSeq > 2**32-1 (also Max-Forwards, Expires): 400 for "
                                     "the CSeq"),
    "rfc4475/scalarlg.dat": E("drop", "3.1.2.5 response with overlarge scalars: cannot be answered, "
                                      "discarded"),
    "rfc4475/quotbal.dat": E("either", "3.1.2.6 unterminated quote in the To display name: 400, or "
                                       "infer the closing quote"),
    "rfc4475/ltgtruri.dat": E("either", "3.1.2.7 R-URI inside <>: 400, or ignore the brackets "
                                        "(never forward them)",
                              forwarded_must_not=(r"^\w+ <",)),
    "rfc4475/lwsruri.dat": E("either", "3.1.2.8 LWS inside the R-URI: 400, or ignore it where "
                                       "unambiguous"),
    "rfc4475/lwsstart.dat": E("either", "3.1.2.9 several SP between Request-Line elements: reject, "
                                        "or be liberal (never forward the extra SP)",
                              forwarded_must_not=(r"^\S+  ",)),
    "rfc4475/trws.dat": E("either", "3.1.2.10 SP after SIP-Version: reject, or be liberal "
                                    "(never forward the extra SP)",
                          forwarded_must_not=(r"^[^\r\n]*SIP/2\.0 +$",)),
    "rfc4475/escruri.dat": E("either", "3.1.2.11 escaped headers in the R-URI: 400, or ignore them "
                                       "(never turned into real headers)",
                             forwarded_must_not=(r"(?i)^Route:.*example\.com", r"\?Route=")),
    "rfc4475/baddate.dat": E("either", "3.1.2.12 non-GMT Date: may reject, or ignore the Date"),
    "rfc4475/regbadct.dat": E("either", "3.1.2.13 Contact URI with escaped header not in <>: 400, "
                                        "or infer the brackets"),
    "rfc4475/badaspec.dat": E("either", "3.1.2.14 spaces inside the To addr-spec: 400, or ignore "
                                        "them"),
    "rfc4475/baddn.dat": E("either", "3.1.2.15 unquoted non-token display names: 400, or infer "
                                     "quotes. This copy ends without the blank line, so on TCP the "
                                     "headers never end", tcp="close"),
    "rfc4475/variants/baddn.ersip-with-final-crlf.dat": E("either", "3.1.2.15, the copy with the "
                                                                    "final CRLF"),
    "rfc4475/badvers.dat": E("reject", "3.1.2.16 SIP/7.0: 505 Version Not Supported",
                             codes=frozenset({505})),
    "rfc4475/mismatch01.dat": E("400", "3.1.2.17 CSeq method differs from the request method: 400"),
    "rfc4475/mismatch02.dat": E("reject", "3.1.2.18 unknown method and CSeq mismatch: 501, or 400",
                                codes=frozenset({501, 400})),
    "rfc4475/bigcode.dat": E("drop", "3.1.2.19 status code > 699: drop"),
    # --- RFC 4475 §3.2 transaction layer ---------------------------------------------------
    "rfc4475/badbranch.dat": E("either", "3.2.1 branch is only the magic cookie: 400 (statelessly) "
                                         "or RFC 2543 matching"),
    # --- RFC 4475 §3.3 application layer ----------------------------------------------------
    "rfc4475/insuf.dat": E("400", "3.3.1 no Call-ID, From or To: must not break; 400"),
    "rfc4475/unkscm.dat": E("valid", "3.3.2 unknown R-URI scheme: well-formed; 416, never routed on "
                                     "the To", prefer=416),
    "rfc4475/novelsc.dat": E("valid", "3.3.3 known but atypical scheme (soap.beep): 416",
                             prefer=416),
    "rfc4475/unksm2.dat": E("either", "3.3.4 unknown schemes in To/From/Contact: parsers must "
                                      "accept it; a registrar may reject the non-SIP To"),
    "rfc4475/bext01.dat": E("valid", "3.3.5 Require/Proxy-Require with unknown options: 420 with "
                                     "Unsupported", prefer=420),
    "rfc4475/invut.dat": E("valid", "3.3.6 unknown Content-Type: 415 with Accept", prefer=415),
    "rfc4475/regaut01.dat": E("valid", "3.3.7 unknown Authorization scheme: act as if absent"),
    "rfc4475/multi01.dat": E("400", "3.3.8 several Call-ID/To/From/Max-Forwards/CSeq values: 400"),
    "rfc4475/mcl01.dat": E("400", "3.3.9 two Content-Length values: error on UDP; close on TCP"),
    "rfc4475/bcast.dat": E("drop", "3.3.10 200 with a 255.255.255.255 Via: well-formed, stray for "
                                   "a B2BUA; discarded, never sent to broadcast"),
    "rfc4475/zeromf.dat": E("valid", "3.3.11 Max-Forwards: 0: a proxy answers 483, an endpoint "
                                     "processes it", prefer=483,
                            forwarded_must_not=(r"(?im)^Max-Forwards:\s*0\s*$",)),
    "rfc4475/cparam01.dat": E("valid", "3.3.12 contact-param vs url-param in Contact"),
    "rfc4475/cparam02.dat": E("valid", "3.3.13 uncommon Contact parameter values"),
    "rfc4475/regescrt.dat": E("valid", "3.3.14 REGISTER whose Contact URI has an escaped header"),
    "rfc4475/sdp01.dat": E("valid", "3.3.15 Accept without application/sdp: 406", prefer=406),
    "rfc4475/inv2543.dat": E("valid", "3.4 RFC 2543 syntax (no branch, no Content-Length): accept "
                                      "on UDP; TCP needs a Content-Length (RFC 3261 18.3), so "
                                      "drop/close there", tcp="close"),
    # --- RFC 5118 ----------------------------------------------------------------------------
    "rfc5118/ipv6-good.dat": E("valid", "valid IPv6 reference in R-URI, Via, Contact"),
    "rfc5118/ipv6-bad.dat": E("400", "IPv6 R-URI without brackets: reject"),
    "rfc5118/port-ambiguous.dat": E("valid", "[2001:db8::10:5070] is a host with the default port"),
    "rfc5118/port-unambiguous.dat": E("valid", "[2001:db8::10]:5070"),
    "rfc5118/via-received-param-with-delim.dat": E("valid", "received=[IPv6]: be liberal"),
    "rfc5118/via-received-param-no-delim.dat": E("valid", "received=IPv6 without brackets "
                                                          "(RFC 3261 ABNF)"),
    "rfc5118/ipv6-bug-abnf-3-colons.dat": E("either", "three colons (RFC 3261 ABNF bug): be "
                                                      "liberal, or 400 with a clear reason"),
    "rfc5118/ipv6-correct-abnf-2-colons.dat": E("valid", "correct two-colon form"),
    "rfc5118/ipv6-in-sdp.dat": E("either", "IPv6 in SDP; this copy's Content-Length does not match "
                                           "its body (folder README): 400 or accept"),
    "rfc5118/mult-ip-in-header.dat": E("valid", "IPv4 and IPv6 in Via/Contact (out-of-dialog BYE: "
                                                "481 is fine)"),
    "rfc5118/mult-ip-in-sdp.dat": E("either", "IPv4+IPv6 in SDP; Content-Length mismatch in this "
                                              "copy"),
    "rfc5118/ipv4-mapped-ipv6.dat": E("either", "IPv4-mapped IPv6 addresses; Content-Length "
                                                "mismatch in this copy"),
}


# ------------------------------------------------------------------------------------------------
# Small SIP helpers (bytes level, tolerant)
# ------------------------------------------------------------------------------------------------

def split_head(data: bytes) -> tuple[bytes, bytes]:
    i = data.find(b"\r\n\r\n")
    if i < 0:
        return data, b""
    return data[:i], data[i + 4:]


def header_values(head: bytes, *names: str) -> list[str]:
    out = []
    for line in head.split(b"\r\n")[1:]:
        m = re.match(rb"^([A-Za-z-]+)[ \t]*:[ \t]*(.*)$", line)
        if m and m.group(1).decode().lower() in names:
            out.append(m.group(2).decode("utf-8", "replace").strip())
    return out


def call_id_of(data: bytes) -> str | None:
    vals = header_values(split_head(data)[0], "call-id", "i")
    return vals[0] if vals else None


def status_of(data: bytes) -> int | None:
    m = re.match(rb"^SIP/2\.0 (\d{3}) ", data)
    return int(m.group(1)) if m else None


def frame_stream(buf: bytes) -> tuple[list[bytes], bytes]:
    """Split a TCP byte stream into complete messages (by Content-Length); return (msgs, rest)."""
    msgs = []
    while True:
        buf = buf.lstrip(b"\r\n")
        i = buf.find(b"\r\n\r\n")
        if i < 0:
            return msgs, buf
        cl = header_values(buf[:i], "content-length", "l")
        n = int(cl[0]) if cl and cl[0].isdigit() else 0
        end = i + 4 + n
        if len(buf) < end:
            return msgs, buf
        msgs.append(buf[:end])
        buf = buf[end:]


def build_ack(request: bytes, response: bytes) -> bytes | None:
    """ACK for a non-2xx final response to an INVITE (RFC 3261 17.1.1.3)."""
    rhead = split_head(response)[0]
    first = request.split(b"\r\n", 1)[0].split(b" ")
    if len(first) < 3:
        return None
    vias = [l for l in rhead.split(b"\r\n")[1:] if re.match(rb"(?i)^(via|v)[ \t]*:", l)]
    frm = [l for l in rhead.split(b"\r\n")[1:] if re.match(rb"(?i)^(from|f)[ \t]*:", l)]
    to = [l for l in rhead.split(b"\r\n")[1:] if re.match(rb"(?i)^(to|t)[ \t]*:", l)]
    cid = [l for l in rhead.split(b"\r\n")[1:] if re.match(rb"(?i)^(call-id|i)[ \t]*:", l)]
    cseq = header_values(rhead, "cseq")
    if not (vias and frm and to and cid and cseq):
        return None
    num = cseq[0].split()[0]
    return (b"ACK " + first[1] + b" SIP/2.0\r\n" + vias[0] + b"\r\n" + frm[0] + b"\r\n" + to[0] +
            b"\r\n" + cid[0] + b"\r\n" + b"CSeq: " + num.encode() + b" ACK\r\n"
            b"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")


def is_invite(request: bytes) -> bool:
    return request.startswith(b"INVITE ")


# ------------------------------------------------------------------------------------------------
# Egress trap: a veth pair with the default routes, and a packet socket counting what leaves.
# ------------------------------------------------------------------------------------------------

class EgressTrap:
    def __init__(self):
        self.ok = False
        self.packets: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error = ""

    def setup(self) -> None:
        def ip(*a):
            r = subprocess.run(["ip", *a], capture_output=True, text=True, timeout=5)
            if r.returncode != 0:
                raise RuntimeError(f"ip {' '.join(a)}: {r.stderr.strip()}")
            return r.stdout
        try:
            ip("link", "add", "e2eout", "type", "veth", "peer", "name", "e2esink")
            ip("addr", "add", "10.254.254.1/32", "dev", "e2eout")
            ip("-6", "addr", "add", "fd00:e2e::1/128", "dev", "e2eout", "nodad")
            ip("link", "set", "e2esink", "up")
            ip("link", "set", "e2eout", "up")
            mac = re.search(r"link/ether (\S+)", ip("link", "show", "e2esink")).group(1)
            ip("neigh", "replace", "10.254.254.2", "lladdr", mac, "dev", "e2eout", "nud", "permanent")
            ip("-6", "neigh", "replace", "fd00:e2e::2", "lladdr", mac, "dev", "e2eout", "nud",
               "permanent")
            ip("route", "add", "default", "via", "10.254.254.2", "dev", "e2eout", "onlink")
            ip("-6", "route", "add", "default", "via", "fd00:e2e::2", "dev", "e2eout", "onlink")
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
            self.sock.bind(("e2esink", 0))
            self.sock.settimeout(0.2)
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
            self.ok = True
        except Exception as e:  # no veth here: only lo exists, so nothing can leave anyway
            self.error = str(e)

    def _run(self) -> None:
        deadline = time.monotonic() + 600
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                frame = self.sock.recv(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            desc = self._describe(frame)
            if desc and len(self.packets) < 1000:
                self.packets.append(desc)

    @staticmethod
    def _describe(frame: bytes) -> str | None:
        if len(frame) < 14:
            return None
        et = struct.unpack("!H", frame[12:14])[0]
        p = frame[14:]
        names = {6: "tcp", 17: "udp"}
        if et == 0x0800 and len(p) >= 20:
            proto, dst = p[9], socket.inet_ntop(socket.AF_INET, p[16:20])
            ihl = (p[0] & 0x0F) * 4
            if proto in names and len(p) >= ihl + 4:
                return f"{names[proto]} -> {dst}:{struct.unpack('!H', p[ihl + 2:ihl + 4])[0]}"
        elif et == 0x86DD and len(p) >= 44:
            nh, dst = p[6], socket.inet_ntop(socket.AF_INET6, p[24:40])
            if nh in names:
                return f"{names[nh]} -> [{dst}]:{struct.unpack('!H', p[42:44])[0]}"
        return None  # ARP, ICMPv6 router/neighbour/MLD chatter of the interface itself

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)


# ------------------------------------------------------------------------------------------------
# The sender
# ------------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    name: str
    transport: str
    t_start: float = 0.0
    t_end: float = 0.0
    responses: list[bytes] = field(default_factory=list)   # de-duplicated
    requests_to_us: list[str] = field(default_factory=list)
    tcp_closed: bool = False
    tcp_error: str = ""
    new_tcp_conns: int = 0
    forwarded: list[str] = field(default_factory=list)     # first lines seen by the sink
    forwarded_text: list[str] = field(default_factory=list)

    def codes(self) -> list[int]:
        return [c for c in (status_of(r) for r in self.responses) if c is not None]


class Sender:
    def __init__(self, ports: set[int]):
        self.sel = selectors.DefaultSelector()
        self.udp: dict[int, socket.socket] = {}
        self.listeners: list[socket.socket] = []
        self.conns: list[socket.socket] = []
        self.inbox: list[tuple[float, str, bytes]] = []  # (time, via, message)
        self._tcp_bufs: dict[socket.socket, bytes] = {}
        for port in sorted(ports):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            u.bind((SENDER, port))
            u.setblocking(False)
            self.sel.register(u, selectors.EVENT_READ, ("udp", port))
            self.udp[port] = u
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            t.bind((SENDER, port))
            t.listen(16)
            t.setblocking(False)
            self.sel.register(t, selectors.EVENT_READ, ("listen", port))
            self.listeners.append(t)

    def close(self) -> None:
        for s in list(self.udp.values()) + self.listeners + self.conns:
            try:
                s.close()
            except OSError:
                pass

    def pump(self, until: float, watch: socket.socket | None = None) -> bool:
        """Collect everything until `until`. Returns True if `watch` (a TCP client) was closed."""
        closed = False
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return closed
            for key, _ in self.sel.select(timeout=min(left, 0.05)):
                kind, arg = key.data
                s = key.fileobj
                if kind == "udp":
                    try:
                        data, _src = s.recvfrom(65535)
                    except OSError:
                        continue
                    self.inbox.append((time.monotonic(), f"udp:{arg}", data))
                elif kind == "listen":
                    try:
                        c, _ = s.accept()
                    except OSError:
                        continue
                    c.setblocking(False)
                    self.conns.append(c)
                    self._tcp_bufs[c] = b""
                    self.sel.register(c, selectors.EVENT_READ, ("conn", "inbound"))
                    self.inbox.append((time.monotonic(), "tcp-accept", b""))
                elif kind in ("conn", "client"):
                    try:
                        data = s.recv(65535)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        self.sel.unregister(s)
                        if s is watch:
                            closed = True
                        continue
                    buf = self._tcp_bufs.get(s, b"") + data
                    msgs, rest = frame_stream(buf)
                    self._tcp_bufs[s] = rest
                    for m in msgs:
                        self.inbox.append((time.monotonic(), f"tcp:{arg}", m))

    def send_udp(self, data: bytes) -> None:
        self.udp[5060].sendto(data, (ACCESS, 5060))

    def open_tcp(self, data: bytes) -> socket.socket:
        """A new connection for one message: connect, send it all, then watch it."""
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.bind((SENDER, 0))
        c.settimeout(2)
        try:
            c.connect((ACCESS, 5060))
            c.sendall(data)
        except OSError:
            c.close()
            raise
        c.setblocking(False)
        self._tcp_bufs[c] = b""
        self.sel.register(c, selectors.EVENT_READ, ("client", "own"))
        return c

    def drop_tcp(self, c: socket.socket) -> None:
        try:
            self.sel.unregister(c)
        except (KeyError, ValueError):
            pass
        self._tcp_bufs.pop(c, None)
        try:
            c.close()
        except OSError:
            pass


def corpus_files() -> list[Path]:
    files = sorted((FIXTURES / "rfc4475").rglob("*.dat")) + sorted((FIXTURES / "rfc5118").rglob("*.dat"))
    return files


def rel(p: Path) -> str:
    return p.relative_to(FIXTURES).as_posix()


def via_ports(files: list[Path]) -> set[int]:
    ports = {5060, 5061}
    for f in files:
        head = split_head(f.read_bytes())[0]
        for v in header_values(head, "via", "v"):
            for m in re.finditer(r"(?:\]|[\w.-]):(\d{2,5})\s*(?:;|,|$)", v):
                p = int(m.group(1))
                if 1024 <= p <= 65535:
                    ports.add(p)
    return ports


def feed(sender: Sender, name: str, data: bytes, transport: str, callids: dict[str, str]) -> Outcome:
    out = Outcome(name, transport)
    before = len(sender.inbox)
    out.t_start = time.time()
    t0 = time.monotonic()
    client = None
    if transport == "udp":
        sender.send_udp(data)
        sender.pump(t0 + WINDOW_S)
    else:
        try:
            client = sender.open_tcp(data)
        except OSError as e:
            out.tcp_error = str(e)
        if client is not None:
            out.tcp_closed = sender.pump(t0 + max(WINDOW_S, TCP_CLOSE_WAIT_S), watch=client)
    # attribute what arrived
    seen = set()
    for _t, via, msg in sender.inbox[before:]:
        if via == "tcp-accept":
            out.new_tcp_conns += 1
            continue
        code = status_of(msg)
        if code is None:
            out.requests_to_us.append(msg.split(b"\r\n", 1)[0].decode("utf-8", "replace"))
            continue
        cid = call_id_of(msg)
        mine = callids.get(name)
        if mine is not None and cid is not None and cid != mine:
            # a late retransmission for an earlier file: not ours
            if any(v == cid for k, v in callids.items() if k != name):
                continue
        key = (code, cid, tuple(header_values(split_head(msg)[0], "cseq")))
        if key in seen:
            continue
        seen.add(key)
        out.responses.append(msg)
        # stop retransmissions of non-2xx finals to an INVITE
        if code >= 300 and is_invite(data):
            ack = build_ack(data, msg)
            if ack:
                try:
                    if transport == "udp":
                        sender.send_udp(ack)
                    elif client is not None and not out.tcp_closed:
                        client.send(ack)
                except OSError:
                    pass
    if client is not None:
        sender.pump(time.monotonic() + 0.02)
        sender.drop_tcp(client)
    out.t_end = time.time()
    return out


# ------------------------------------------------------------------------------------------------
# Verdicts
# ------------------------------------------------------------------------------------------------

def verdict(exp: Exp, o: Outcome) -> tuple[bool, str]:
    kind = exp.udp if o.transport == "udp" or exp.tcp is None else exp.tcp
    codes = o.codes()
    fwd = bool(o.forwarded)
    finals = [c for c in codes if c >= 200]
    got = (f"codes={codes or '-'} fwd={len(o.forwarded)}"
           + (f" closed={o.tcp_closed}" if o.transport == "tcp" else "")
           + (f" new_tcp_conns={o.new_tcp_conns}" if o.new_tcp_conns else "")
           + (f" tcp_error={o.tcp_error}" if o.tcp_error else ""))
    for pat in exp.forwarded_must_not:
        for text in o.forwarded_text:
            if re.search(pat, text, re.M):
                return False, f"{got}; forwarded copy matches {pat!r}"
    tcp = o.transport == "tcp"
    if kind == "valid":
        ok = 400 not in codes and (bool(codes) or fwd or o.new_tcp_conns > 0)
        if ok and exp.prefer and finals and exp.prefer not in finals:
            got += f" (RFC names {exp.prefer})"
    elif kind == "400":
        ok = not fwd and all(c == 400 or c < 200 for c in codes) and (
            400 in codes or (tcp and not codes))
    elif kind == "400|drop":
        ok = not fwd and all(c == 400 for c in codes)
    elif kind == "drop":
        ok = not codes and not fwd
    elif kind == "either":
        ok = bool(codes) or fwd or o.new_tcp_conns > 0 or tcp
    elif kind == "reject":
        ok = not fwd and bool(set(finals) & exp.codes) and not any(200 <= c < 300 for c in codes)
    elif kind == "close":
        ok = not fwd and all(c == 400 for c in codes)
    else:
        raise ValueError(kind)
    return ok, f"expected {kind}: {got}"


# ------------------------------------------------------------------------------------------------
# Forwarded messages: the sink's message log and Portico's trace, attributed by time window
# ------------------------------------------------------------------------------------------------

def _sipp_time(stamp: str) -> float:
    try:
        base, frac = stamp.split(".")
        return time.mktime(time.strptime(base, "%Y-%m-%d %H:%M:%S")) + float("0." + frac)
    except ValueError:
        return 0.0


def attribute_forwarded(outcomes: list[Outcome], sink_log: str, portico_log: str) -> list[str]:
    """Fill Outcome.forwarded from the sink's log; returns notes about Portico-trace-only sends."""
    ordered = sorted(outcomes, key=lambda o: o.t_start)

    def owner(t: float) -> Outcome | None:
        cur = None
        for o in ordered:
            if o.t_start <= t + 0.002:
                cur = o
            else:
                break
        return cur

    for m in parse_sipp_messages(sink_log):
        if m.direction != "received":
            continue
        fl = m.first_line
        if fl.startswith("SIP/2.0") or fl.startswith("ACK ") or fl.startswith("CANCEL "):
            continue
        if ";tag=" in " ".join(m.header("To") + m.header("t")):
            continue   # in-dialog: not a new forwarded request
        o = owner(_sipp_time(m.stamp))
        if o is not None:
            o.forwarded.append(fl)
            o.forwarded_text.append(m.text)
    notes = []
    # Cross-check with Portico's own trace: dir=out realm=carrier requests.
    cur_ts = None
    for line in portico_log.splitlines():
        if "event=sip.trace" in line and "dir=out" in line and "realm=carrier" in line:
            m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z", line)
            cur_ts = (calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
                      + int(m.group(2)) / 1000.0) if m else None
        elif cur_ts is not None and line.startswith("    | "):
            fl = line[6:]
            if not fl.startswith(("SIP/2.0", "ACK ", "CANCEL ")):
                o = owner(cur_ts)
                if o is not None and fl not in o.forwarded:
                    notes.append(f"{o.name}/{o.transport}: portico traced {fl!r} to the carrier "
                                 f"but the sink did not log it")
            cur_ts = None
        else:
            cur_ts = None if not line.startswith("    |") else cur_ts
    return notes


# ------------------------------------------------------------------------------------------------
# The test
# ------------------------------------------------------------------------------------------------

def torture_policy() -> str:
    return f"""# generated by tests/e2e/test_torture.py (inside a private network namespace)
server: {{shards: 2, log_level: info, trace: true}}
timers: {{t1: 50ms, t2: 400ms, t4: 500ms, max_call_duration: 1h}}
realms:
  access:  {{listeners: ["udp://{ACCESS}:5060", "tcp://{ACCESS}:5060"]}}
  carrier: {{listeners: ["udp://{CARRIER}:5060", "tcp://{CARRIER}:5060"]}}
trunks:
  primary: {{realm: carrier, host: {SINK}, port: 5060, transport: udp}}
access_peers:
  torture: {{realm: access, sources: ["127.0.0.0/24"], host: {SENDER}, port: 5060, transport: udp}}
routes:
  - name: out
    match: {{realm: access}}
    targets: [{{trunk: primary}}]
  - name: in
    match: {{realm: carrier}}
    targets: [{{peer: torture}}]
"""


@e2e_test(k=0, timeout=220, portico_only=True)
def test_rfc4475_rfc5118_corpus(ctx: Ctx):
    files = corpus_files()
    names = [rel(f) for f in files]
    missing = [n for n in names if n not in EXPECT]
    stale = [n for n in EXPECT if n not in names]
    check(len(files) >= 61, f"only {len(files)} .dat files under {FIXTURES}")
    check(not missing, f"no expected outcome for: {missing}")
    check(not stale, f"expected outcomes for files that do not exist: {stale}")

    trap = EgressTrap()
    trap.setup()
    if trap.ok:
        print("    egress trap: default routes via veth e2eout, packet capture on e2esink", flush=True)
    else:
        ctx.note(f"egress trap unavailable ({trap.error}); only lo exists, nothing can leave")

    portico = ctx.start_portico(torture_policy())
    sink = ctx.sipp("sink", "uas_torture_sink.xml", SINK, calls=100000, global_timeout_s=200,
                    extra=["-aa", "-default_behaviors", "none"]).start()
    ports = via_ports(files)
    sender = Sender(ports)
    outcomes: list[Outcome] = []
    try:
        callids = {rel(f): call_id_of(f.read_bytes()) for f in files}
        for transport in ("udp", "tcp"):
            for f in files:
                outcomes.append(feed(sender, rel(f), f.read_bytes(), transport, callids))
                check(portico.alive(), f"portico died after {rel(f)} over {transport}")
        sender.pump(time.monotonic() + 0.5)
    finally:
        sender.close()
    time.sleep(0.3)
    # SIGUSR1 = soft exit ('q'): sipp finishes its calls and flushes its logs; then TERM/KILL.
    if sink.proc is not None and sink.proc.poll() is None:
        sink.proc.send_signal(signal.SIGUSR1)
        sink.wait(timeout=4)
    notes = attribute_forwarded(outcomes, sink.msg_path.read_text(errors="replace")
                                if sink.msg_path.exists() else "", portico.log())

    # ---- report ----
    bad = []
    counts: dict[str, int] = {}
    print(f"    {'file':48s} {'tr':3s} result")
    for o in outcomes:
        exp = EXPECT[o.name]
        ok, text = verdict(exp, o)
        kind = exp.udp if o.transport == "udp" or exp.tcp is None else exp.tcp
        counts[f"{kind}/{o.transport}"] = counts.get(f"{kind}/{o.transport}", 0) + 1
        print(f"    {o.name:48s} {o.transport:3s} {'ok ' if ok else 'BAD'} {text}")
        if not ok:
            bad.append(f"{o.name} over {o.transport}: {text} -- RFC: {exp.why}")
    drops = sum(1 for o in outcomes if not o.codes() and not o.forwarded)
    print(f"    outcome classes: {dict(sorted(counts.items()))}; no response and not forwarded: "
          f"{drops}/{len(outcomes)}")
    for n in notes[:10]:
        ctx.note(n)
    stats = portico.shard_status() or []
    for s in stats:
        print("    " + " ".join(f"{k}={v}" for k, v in s.items()
                                 if k in ("shard", "messages_in", "unparseable", "invalid",
                                          "answered_400", "framing_errors", "oversize")))

    # ---- liveness: Portico still completes a normal call ----
    check(portico.alive(), "portico died during the torture run")
    uas = ctx.sipp("uas", "uas_basic.xml", SINK, duration_ms=100).start()
    uac = ctx.sipp("uac", "uac_basic.xml", CALLER, remote=f"{ACCESS}:5060", duration_ms=100)
    uac.run()
    uas.wait(timeout=10)
    print(f"    after the corpus: {uac.describe()}; {uas.describe()}", flush=True)
    assert_sipp(uac, 1)
    assert_sipp(uas, 1)

    trap.stop()
    if trap.ok:
        check(not trap.packets, f"{len(trap.packets)} packet(s) left loopback: "
                                f"{sorted(set(trap.packets))[:10]}")
    check(not bad, f"{len(bad)} of {len(outcomes)} outcome(s) differ from RFC 4475/5118:\n  "
          + "\n  ".join(bad))
    rc = portico.stop()
    check(rc == 0, f"portico exit status after SIGTERM: {rc}")


def main() -> int:
    return namespaced_main(__file__, timeout_s=260)


if __name__ == "__main__":
    sys.exit(main())
