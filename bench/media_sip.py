"""Minimal SIP UAC + UAS over UDP for bench/media_bench.py (Python standard library only).

Sets up N calls through a B2BUA: the UAC sends INVITE (SDP offer: its media address and port for
that call), the UAS answers each INVITE it receives with 200 OK (SDP answer: its media address and
port for that call), the UAC ACKs the 200. What the benchmark needs is the SDP the B2BUA wrote:
the offer the UAS received (the B2BUA's media port facing the UAS) and the answer the UAC received
(the B2BUA's media port facing the UAC). Teardown: BYE from the UAC, 200 from the UAS.

The call index travels in the Request-URI user ("bench<index>"); the UAS falls back to the To
user. Only what a benchmark on loopback needs: no authentication, no 18x, no PRACK; INVITE and BYE
are retransmitted on a fixed timer, INVITE retransmissions and stray ACKs are absorbed.
"""

from __future__ import annotations

import re
import select
import socket
import time
from typing import Callable
from dataclasses import dataclass, field

_SDP_C = re.compile(r"^c=IN IP4 (\S+)", re.M)
_SDP_M = re.compile(r"^m=audio (\d+) ", re.M)
_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
            "l": "content-length", "c": "content-type"}


@dataclass
class Msg:
    first: str
    headers: list[tuple[str, str]]
    body: str

    def get(self, name: str) -> str:
        for k, v in self.headers:
            if k == name:
                return v
        return ""

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]

    @property
    def is_response(self) -> bool:
        return self.first.startswith("SIP/2.0 ")

    @property
    def status(self) -> int:
        return int(self.first.split()[1]) if self.is_response else 0

    @property
    def method(self) -> str:
        return self.first.split()[0] if not self.is_response else self.get("cseq").split()[-1]


def parse(data: bytes) -> Msg | None:
    text = data.decode(errors="replace")
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    if not lines or not lines[0]:
        return None
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            k, v = headers[-1]
            headers[-1] = (k, v + " " + line.strip())
            continue
        k, _, v = line.partition(":")
        k = k.strip().lower()
        headers.append((_COMPACT.get(k, k), v.strip()))
    return Msg(lines[0], headers, body)


def sdp_media(body: str) -> tuple[str, int] | None:
    """The audio address and port of an SDP body (media-level c= wins over session-level)."""
    m = _SDP_M.search(body)
    if not m:
        return None
    cs = [(c.start(), c.group(1)) for c in _SDP_C.finditer(body)]
    before = [a for pos, a in cs if pos < m.start()]
    after = [a for pos, a in cs if pos > m.start()]
    addr = after[0] if after else (before[-1] if before else None)
    return (addr, int(m.group(1))) if addr else None


def sdp_body(ip: str, port: int, sess: int) -> str:
    return (f"v=0\r\no=bench {sess} 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n")


def _uri_host_port(uri: str) -> tuple[str, int]:
    uri = uri.strip().strip("<>").split(";")[0].split(">")[0]
    hp = uri.split("@")[-1].replace("sip:", "")
    host, _, port = hp.partition(":")
    return host, int(port or 5060)


def _tag(h: str) -> str:
    m = re.search(r";\s*tag=([^;>\s]+)", h)
    return m.group(1) if m else ""


@dataclass
class Call:
    index: int
    call_id: str
    from_tag: str
    uac_media: tuple[str, int]
    uas_media: tuple[str, int]
    invite: bytes = b""
    to_tag: str = ""
    remote_target: tuple[str, int] | None = None
    sbc_toward_uac: tuple[str, int] | None = None   # media address in the 200 the UAC received
    sbc_toward_uas: tuple[str, int] | None = None   # media address in the INVITE the UAS received
    established: bool = False
    bye: bytes = b""
    ended: bool = False


@dataclass
class UasDialog:
    response: bytes
    reply_to: tuple[str, int]
    acked: bool = False


@dataclass
class SipPair:
    uac_ip: str
    uas_ip: str
    sbc: tuple[str, int]           # where the UAC sends INVITEs (the SBC's access listener)
    port: int = 5060
    calls: list[Call] = field(default_factory=list)
    # The UAS's answer body for a call and the offer it got (default: sdp_body, plain RTP/AVP);
    # bench/srtp_bench.py answers with RTP/SAVP and an a=crypto line.
    answer: Callable[[Call, str], str] | None = None

    def __post_init__(self) -> None:
        self.uac = self._sock(self.uac_ip)
        self.uas = self._sock(self.uas_ip)
        self.uas_dialogs: dict[str, UasDialog] = {}
        self.unmatched_invites = 0

    def _sock(self, ip: str) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((ip, self.port))
        s.setblocking(False)
        return s

    def close(self) -> None:
        self.uac.close()
        self.uas.close()

    # -- set-up and teardown -----------------------------------------------------------------
    def _transactions(self, calls: list[Call], send, done, what: str, strict: bool,
                      window: int = 64, timeout: float = 60.0, retransmit: float = 1.0,
                      tries: int = 5) -> int:
        """send(call) for every call, with at most `window` unfinished at a time, again every
        `retransmit` s (at most `tries` times) until done(call). Returns how many are done;
        `strict` makes an unfinished one an error."""
        sent: dict[int, tuple[float, int]] = {}  # call index -> (last sent, times)
        nxt, inflight, deadline = 0, set(), time.monotonic() + timeout
        while nxt < len(calls) or inflight:
            while nxt < len(calls) and len(inflight) < window:
                send(calls[nxt])
                sent[nxt] = (time.monotonic(), 1)
                inflight.add(nxt)
                nxt += 1
            self._poll(0.05)
            now = time.monotonic()
            for i in list(inflight):
                at, times = sent[i]
                if done(calls[i]):
                    inflight.discard(i)
                elif now > deadline or (now - at > retransmit and times >= tries):
                    if strict:
                        raise RuntimeError(f"{what} of call {calls[i].index}: no answer "
                                           f"({sum(map(done, calls))} of {len(calls)} done)")
                    inflight.discard(i)
                elif now - at > retransmit:
                    send(calls[i])
                    sent[i] = (now, times + 1)
        return sum(1 for c in calls if done(c))

    def setup(self, uac_media: list[tuple[str, int]], uas_media: list[tuple[str, int]],
              tag: str) -> None:
        n = len(uac_media)
        self.calls = [Call(i, f"{tag}-{i}@{self.uac_ip}", f"a{i}", uac_media[i], uas_media[i])
                      for i in range(n)]
        self._transactions(self.calls, self._send_invite, lambda c: c.established, "INVITE",
                           strict=True)
        self._poll(0.1)  # the last ACKs reach the UAS before the media starts

    def teardown(self) -> int:
        """BYE every established call; returns how many got their 200."""
        todo = [c for c in self.calls if c.established and not c.ended]
        return self._transactions(todo, self._send_bye, lambda c: c.ended, "BYE", strict=False,
                                  timeout=30.0)

    def _send_invite(self, c: Call) -> None:
        if not c.invite:
            body = sdp_body(c.uac_media[0], c.uac_media[1], 1000 + c.index)
            host, port = self.sbc
            c.invite = (
                f"INVITE sip:bench{c.index}@{host}:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {self.uac_ip}:{self.port};branch=z9hG4bK-{c.from_tag}-i\r\n"
                f"From: <sip:caller@{self.uac_ip}>;tag={c.from_tag}\r\n"
                f"To: <sip:bench{c.index}@{host}>\r\n"
                f"Call-ID: {c.call_id}\r\nCSeq: 1 INVITE\r\n"
                f"Contact: <sip:caller@{self.uac_ip}:{self.port}>\r\nMax-Forwards: 70\r\n"
                f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}"
            ).encode()
        self.uac.sendto(c.invite, self.sbc)

    def _send_bye(self, c: Call) -> None:
        if not c.bye:
            host, port = c.remote_target or self.sbc
            c.bye = (
                f"BYE sip:{host}:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {self.uac_ip}:{self.port};branch=z9hG4bK-{c.from_tag}-b\r\n"
                f"From: <sip:caller@{self.uac_ip}>;tag={c.from_tag}\r\n"
                f"To: <sip:bench{c.index}@{self.sbc[0]}>;tag={c.to_tag}\r\n"
                f"Call-ID: {c.call_id}\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\n"
                f"Content-Length: 0\r\n\r\n").encode()
        self.uac.sendto(c.bye, c.remote_target or self.sbc)

    # -- event loop ---------------------------------------------------------------------------
    def _poll(self, timeout: float) -> None:
        r, _, _ = select.select([self.uac, self.uas], [], [], timeout)
        for s in r:
            while True:
                try:
                    data, src = s.recvfrom(65535)
                except BlockingIOError:
                    break
                m = parse(data)
                if m is None:
                    continue
                if s is self.uac:
                    self._on_uac(m, src)
                else:
                    self._on_uas(m, src)

    def _index_of(self, call_id: str) -> int | None:
        # "<tag>-<index>@<ip>"
        try:
            return int(call_id.split("@")[0].rsplit("-", 1)[1])
        except (IndexError, ValueError):
            return None

    def _on_uac(self, m: Msg, src) -> None:
        i = self._index_of(m.get("call-id"))
        if i is None or i >= len(self.calls) or self.calls[i].call_id != m.get("call-id"):
            return
        c = self.calls[i]
        if not m.is_response:
            if m.method == "BYE":  # not expected; answer it so nothing hangs
                self.uac.sendto(self._response(m, 200, "OK", "", ""), src)
            return
        method = m.method
        if method == "INVITE" and 200 <= m.status < 300:
            c.to_tag = _tag(m.get("to"))
            contact = m.get("contact")
            c.remote_target = _uri_host_port(contact) if contact else self.sbc
            c.sbc_toward_uac = sdp_media(m.body)
            ack = (f"ACK sip:{c.remote_target[0]}:{c.remote_target[1]} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {self.uac_ip}:{self.port};branch=z9hG4bK-{c.from_tag}-a\r\n"
                   f"From: <sip:caller@{self.uac_ip}>;tag={c.from_tag}\r\n"
                   f"To: {m.get('to')}\r\nCall-ID: {c.call_id}\r\nCSeq: 1 ACK\r\n"
                   f"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()
            self.uac.sendto(ack, c.remote_target)  # also for every 200 retransmission
            c.established = True
        elif method == "INVITE" and m.status >= 300:
            raise RuntimeError(f"call {i}: INVITE answered {m.first}")
        elif method == "BYE" and m.status >= 200:
            c.ended = True

    def _response(self, req: Msg, code: int, reason: str, to_tag: str, body: str,
                  contact: str = "") -> bytes:
        to = req.get("to")
        if to_tag and ";tag=" not in to:
            to += f";tag={to_tag}"
        lines = [f"SIP/2.0 {code} {reason}"]
        lines += [f"Via: {v}" for v in req.all("via")]
        lines += [f"From: {req.get('from')}", f"To: {to}", f"Call-ID: {req.get('call-id')}",
                  f"CSeq: {req.get('cseq')}"]
        if contact:
            lines.append(f"Contact: {contact}")
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

    def _reply_addr(self, req: Msg, src) -> tuple[str, int]:
        # RFC 3261 §18.2.2 for UDP: the top Via's received/rport, else its sent-by.
        via = req.all("via")[0] if req.all("via") else ""
        m = re.search(r"SIP/2\.0/UDP\s+([^;:\s]+)(?::(\d+))?", via)
        if not m:
            return src
        return m.group(1), int(m.group(2) or 5060)

    def _on_uas(self, m: Msg, src) -> None:
        if m.is_response:
            return
        cid = m.get("call-id")
        method = m.method
        if method == "INVITE":
            d = self.uas_dialogs.get(cid)
            if d is None:
                user = re.match(r"\S+\s+sip:([^@;>\s]+)@", m.first)
                i = None
                if user and user.group(1).startswith("bench"):
                    i = int(user.group(1)[5:])
                else:
                    to_user = re.search(r"sip:bench(\d+)@", m.get("to"))
                    i = int(to_user.group(1)) if to_user else None
                if i is None or i >= len(self.calls):
                    self.unmatched_invites += 1
                    self.uas.sendto(self._response(m, 404, "Not Found", "x", ""), src)
                    return
                c = self.calls[i]
                c.sbc_toward_uas = sdp_media(m.body)
                body = (self.answer(c, m.body) if self.answer else
                        sdp_body(c.uas_media[0], c.uas_media[1], 2000 + i))
                d = UasDialog(self._response(m, 200, "OK", f"b{i}", body,
                                             f"<sip:callee@{self.uas_ip}:{self.port}>"),
                              self._reply_addr(m, src))
                self.uas_dialogs[cid] = d
            self.uas.sendto(d.response, d.reply_to)  # first answer or retransmission
        elif method == "ACK":
            d = self.uas_dialogs.get(cid)
            if d:
                d.acked = True
        elif method == "BYE":
            self.uas.sendto(self._response(m, 200, "OK", "", ""), self._reply_addr(m, src))
        elif method != "ACK":
            self.uas.sendto(self._response(m, 200, "OK", "", ""), self._reply_addr(m, src))
