"""Tiny rtpengine ng-protocol client for bench/media_bench.py (Python standard library only).

The ng protocol is one UDP datagram per command: "<cookie> <bencoded dictionary>"; the reply is
"<cookie> <bencoded dictionary>" with "result": "ok" (or "error" and "error-reason"). Commands are
pipelined: up to `window` in flight, matched to replies by cookie, retried on timeout.
"""

from __future__ import annotations

import itertools
import select
import socket
import time


def bencode(x) -> bytes:
    if isinstance(x, bool):
        raise TypeError("bencode has no booleans")
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, str):
        x = x.encode()
    if isinstance(x, (bytes, bytearray)):
        return b"%d:%s" % (len(x), bytes(x))
    if isinstance(x, (list, tuple)):
        return b"l" + b"".join(bencode(i) for i in x) + b"e"
    if isinstance(x, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in x.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(x).__name__}")


def bdecode(data: bytes):
    """Decodes one value; byte strings come back as str (UTF-8, replacement on error)."""

    def parse(i: int):
        c = data[i:i + 1]
        if c == b"i":
            j = data.index(b"e", i)
            return int(data[i + 1:j]), j + 1
        if c == b"l":
            out, i = [], i + 1
            while data[i:i + 1] != b"e":
                v, i = parse(i)
                out.append(v)
            return out, i + 1
        if c == b"d":
            out, i = {}, i + 1
            while data[i:i + 1] != b"e":
                k, i = parse(i)
                v, i = parse(i)
                out[k] = v
            return out, i + 1
        if c.isdigit():
            j = data.index(b":", i)
            n = int(data[i:j])
            return data[j + 1:j + 1 + n].decode(errors="replace"), j + 1 + n
        raise ValueError(f"bad bencode at offset {i}")

    value, end = parse(0)
    if end != len(data):
        raise ValueError("trailing bytes after bencoded value")
    return value


class NgClient:
    def __init__(self, server: tuple[str, int], local_ip: str, timeout: float = 2.0,
                 retries: int = 3):
        self.server = server
        self.timeout = timeout
        self.retries = retries
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((local_ip, 0))
        self.sock.setblocking(False)
        self._cookies = itertools.count(1)

    def close(self) -> None:
        self.sock.close()

    def call(self, cmd: dict) -> dict:
        return self.pipeline([cmd])[0]

    def pipeline(self, cmds: list[dict], window: int = 32) -> list[dict]:
        """Sends every command (at most `window` unanswered), returns the replies in order.
        Raises RuntimeError on an error reply or when a command stays unanswered."""
        replies: list[dict | None] = [None] * len(cmds)
        pending: dict[bytes, tuple[int, float, int]] = {}  # cookie -> (index, sent at, tries)
        wire: dict[bytes, bytes] = {}
        nxt = 0
        while nxt < len(cmds) or pending:
            while nxt < len(cmds) and len(pending) < window:
                cookie = b"%d" % next(self._cookies)
                wire[cookie] = cookie + b" " + bencode(cmds[nxt])
                self.sock.sendto(wire[cookie], self.server)
                pending[cookie] = (nxt, time.monotonic(), 1)
                nxt += 1
            r, _, _ = select.select([self.sock], [], [], 0.05)
            if r:
                while True:
                    try:
                        data = self.sock.recv(65535)
                    except BlockingIOError:
                        break
                    cookie, _, body = data.partition(b" ")
                    if cookie not in pending:
                        continue  # a late duplicate
                    idx, _, _ = pending.pop(cookie)
                    del wire[cookie]
                    reply = bdecode(body)
                    if reply.get("result") not in ("ok", "pong"):
                        raise RuntimeError(f"rtpengine {cmds[idx].get('command')}: "
                                           f"{reply.get('result')} {reply.get('error-reason', '')}")
                    replies[idx] = reply
            now = time.monotonic()
            for cookie, (idx, sent, tries) in list(pending.items()):
                if now - sent > self.timeout:
                    if tries >= self.retries:
                        raise RuntimeError(f"rtpengine did not answer {cmds[idx].get('command')} "
                                           f"after {tries} tries")
                    self.sock.sendto(wire[cookie], self.server)  # same cookie: idempotent
                    pending[cookie] = (idx, now, tries + 1)
        return replies  # type: ignore[return-value]
