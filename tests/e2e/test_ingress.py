#!/usr/bin/env python3
"""What a sender that is nobody yet can make Portico spend (policy `ingress`): an unknown source
gets exactly one stateless 403 and no 100 Trying (or nothing at all with `drop`), a datagram of
7,000 header fields is refused before the parse, and a slowloris of 5,000 TCP connections is
closed at the connection caps and the message deadline while a legitimate TCP call completes.
Each refusal is read back from /metrics, and each limit logs one line when it starts refusing.

    python3 tests/e2e/test_ingress.py --portico build/src/portico
"""

import errno
import resource
import socket
import sys
import time

sys.dont_write_bytecode = True

from harness import (assert_sipp, check, default_policy, e2e_test, run_tests, scrape_metrics,
                     wait_until)

METRICS_PORT = 9090


def policy_with(net, ingress: str, **kw) -> str:
    # Only the caller's own address is an access peer, so the rest of the subnet is unknown.
    policy = default_policy(net, **kw).replace(f'sources: ["127.0.{net.k}.0/24"]',
                                               f'sources: ["{net.uac}/32"]')
    check(f'sources: ["{net.uac}/32"]' in policy, "policy template changed: no access sources")
    return (policy + f"metrics: {{address: {net.access}, port: {METRICS_PORT}}}\n"
            + f"ingress: {{{ingress}}}\n")


def invite(net, src_port: int, n: int) -> bytes:
    src = net.ip(99)
    return (f"INVITE sip:1555000{n}@{net.access} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {src}:{src_port};rport;branch=z9hG4bKstranger{n}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:stranger@{src}>;tag=s{n}\r\n"
            f"To: <sip:1555000{n}@{net.access}>\r\nCall-ID: stranger-{n}@{src}\r\n"
            f"CSeq: 1 INVITE\r\nContact: <sip:stranger@{src}:{src_port}>\r\n"
            f"Content-Length: 0\r\n\r\n").encode()


def stranger_invites(net, count: int, listen_s: float) -> list[bytes]:
    """`count` INVITEs from an address no peer owns; every datagram that comes back within
    `listen_s` seconds after the last one (first lines)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((net.ip(99), 0))
    port = s.getsockname()[1]
    for n in range(count):
        s.sendto(invite(net, port, n), (net.access, 5060))
    got = []
    end = time.monotonic() + listen_s
    while (left := end - time.monotonic()) > 0 and len(got) < 10 * count:
        s.settimeout(left)
        try:
            got.append(s.recv(65535).split(b"\r\n")[0])
        except socket.timeout:
            break
    s.close()
    return got


def metric(net, name: str) -> float:
    return scrape_metrics(net.access, METRICS_PORT).get(name, -1)


@e2e_test(k=160, portico_only=True)
def test_unknown_source_gets_one_403_and_no_100(ctx):
    net = ctx.net
    p = ctx.start_portico(policy_with(net, "unknown_source: reject"))
    # Timer G/H would resend a final response every T1 (50 ms here): 2 s shows any of it.
    got = stranger_invites(net, 20, 2.0)
    check(got == [b"SIP/2.0 403 Forbidden"] * 20, f"20 INVITEs from a stranger got {got}")
    m = scrape_metrics(net.access, METRICS_PORT)
    for name, want in {'portico_sip_unknown_source_total{action="rejected"}': 20,
                       'portico_sip_unknown_source_total{action="dropped"}': 0,
                       "portico_calls_attempted_total": 0,
                       "portico_calls_rejected_total": 0,
                       'portico_sip_transactions_active{side="server"}': 0}.items():
        check(m.get(name) == want, f"{name} = {m.get(name)}, expected {want}")
    refusing = p.grep("event=ingress.refusing")
    check(len(refusing) == 1 and "reason=unknown_source" in refusing[0]
          and "action=403" in refusing[0], f"ingress.refusing lines: {refusing}")
    check(not p.grep("event=call.rejected"), "an unknown source reached the B2BUA")
    ctx.finish_portico()


@e2e_test(k=161, portico_only=True)
def test_unknown_source_drop_sends_nothing(ctx):
    net = ctx.net
    p = ctx.start_portico(policy_with(net, "unknown_source: drop"))
    got = stranger_invites(net, 20, 2.0)
    check(got == [], f"with unknown_source: drop, 20 INVITEs from a stranger got {got}")
    dropped = metric(net, 'portico_sip_unknown_source_total{action="dropped"}')
    check(dropped == 20, f"portico_sip_unknown_source_total{{action=dropped}} = {dropped}")
    check(len(p.grep("event=ingress.refusing")) == 1, "expected one ingress.refusing line")
    ctx.finish_portico()


@e2e_test(k=162, portico_only=True)
def test_seven_thousand_headers_are_refused_before_the_parse(ctx):
    net = ctx.net
    ctx.start_portico(policy_with(net, "max_headers: 128"))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((net.uac, 0))
    port = s.getsockname()[1]
    head = (f"OPTIONS sip:x@{net.access} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {net.uac}:{port};rport;branch=z9hG4bKbig1\r\n"
            f"From: <sip:a@{net.uac}>;tag=1\r\nTo: <sip:x@{net.access}>\r\n"
            f"Call-ID: big-1@{net.uac}\r\nCSeq: 1 OPTIONS\r\n")
    pad = "".join(f"X:{i}\r\n" for i in range(7000))
    datagram = (head + pad + "Content-Length: 0\r\n\r\n").encode()
    check(len(datagram) < 65000, f"datagram of {len(datagram)} bytes")
    s.sendto(datagram, (net.access, 5060))
    s.settimeout(2)
    reply = s.recv(65535)
    check(reply.startswith(b"SIP/2.0 513 Message Too Large\r\n") and len(reply) < 600,
          f"7,000 header fields got {reply[:80]!r} ({len(reply)} bytes)")
    # The same request without the padding is answered as usual.
    s.sendto((head.replace("big-1", "small-1") + "Content-Length: 0\r\n\r\n").encode(),
             (net.access, 5060))
    reply = s.recv(65535)
    s.close()
    check(reply.startswith(b"SIP/2.0 200 "), f"a normal OPTIONS got {reply[:40]!r}")
    check(metric(net, 'portico_sip_header_limit_total{limit="max_headers"}') == 1,
          "portico_sip_header_limit_total{limit=max_headers} is not 1")
    ctx.finish_portico()


def raise_fd_limit(want: int) -> None:
    """For this process and the Portico and sipp it starts (they inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        check(hard == resource.RLIM_INFINITY or hard >= want,
              f"RLIMIT_NOFILE hard limit {hard} < {want}: cannot run the slowloris")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


class Slowloris:
    """`count` TCP connections spread over `sources` addresses, each starting a request and then
    sending one more byte every `interval` s: each byte is traffic, none completes a message."""

    def __init__(self, sources: list[str], target: tuple[str, int], count: int):
        self.target = target
        self.socks: list[socket.socket] = []
        self.opened: list[float] = []
        self.closed_at: dict[int, float] = {}
        for i in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.bind((sources[i % len(sources)], 0))
            rc = s.connect_ex(target)
            check(rc in (0, errno.EINPROGRESS), f"connect {i}: {errno.errorcode.get(rc, rc)}")
            self.socks.append(s)
            self.opened.append(time.monotonic())

    def open_count(self) -> int:
        return len(self.socks) - len(self.closed_at)

    def tick(self, data: bytes) -> None:
        """Sends `data` on every connection still open; notes those Portico closed."""
        now = time.monotonic()
        for i, s in enumerate(self.socks):
            if i in self.closed_at:
                continue
            try:
                if s.recv(4096) == b"":
                    self.closed_at[i] = now
                    continue
            except BlockingIOError:
                pass
            except OSError:
                self.closed_at[i] = now
                continue
            try:
                s.send(data)
            except BlockingIOError:
                pass  # still connecting, or the buffer is full: the next tick tries again
            except OSError:
                self.closed_at[i] = now

    def close(self) -> None:
        for s in self.socks:
            s.close()


@e2e_test(k=163, portico_only=True, timeout=120)
def test_slowloris_is_cut_while_a_tcp_call_completes(ctx):
    net = ctx.net
    deadline_s = 2.0
    raise_fd_limit(12000)
    ingress = (f"tcp_message_deadline: {int(deadline_s * 1000)}ms, max_tcp_connections: 4096, "
               f"max_tcp_connections_per_source: 64")
    p = ctx.start_portico(policy_with(net, ingress, trace=False))
    sources = [net.ip(100 + i) for i in range(10)]
    attack = Slowloris(sources, (net.access, 5060), 5000)
    try:
        attack.tick(b"OPTIONS sip:x@" + net.access.encode() + b" SIP/2.0\r\n")
        # A legitimate caller over TCP while the 5,000 connections dribble.
        uas = ctx.sipp("uas", "uas_basic.xml", net.primary, transport="u1").start()
        uac = ctx.sipp("uac", "uac_basic.xml", net.uac, remote=ctx.access_target(),
                       transport="t1", global_timeout_s=20)
        uac.start(wait_bound=False)  # a UAC can finish its call before a bind check sees it
        end = time.monotonic() + deadline_s + 8
        while time.monotonic() < end and (attack.open_count() > 0 or uac.proc.poll() is None):
            attack.tick(b"X")
            time.sleep(0.2)
        uac.wait(timeout=20)
        uas.wait(timeout=10)
        assert_sipp(uac, 1)
        assert_sipp(uas, 1)
        check(attack.open_count() == 0,
              f"{attack.open_count()} dribbling connections still open "
              f"{deadline_s + 8:.0f} s after they started")
        # Those Portico kept were cut at the deadline (the rest at once, on accept), although
        # every one of them sent a byte every 0.2 s.
        held = [attack.closed_at[i] - attack.opened[i] for i in attack.closed_at
                if attack.closed_at[i] - attack.opened[i] > deadline_s / 2]
        check(held and max(held) < deadline_s + 3,
              f"{len(held)} connections held past {deadline_s / 2} s, longest "
              f"{max(held) if held else 0:.1f} s (deadline {deadline_s} s)")
    finally:
        attack.close()

    prefix = "portico_transport_connections_dropped_total"
    m = scrape_metrics(net.access, METRICS_PORT)
    per_source = m.get(f'{prefix}{{reason="max_connections_per_source"}}', 0)
    cut = m.get(f'{prefix}{{reason="message_deadline"}}', 0)
    ctx.note(f"slowloris: {per_source:.0f} refused at the per-source cap, {cut:.0f} cut at the "
             f"deadline, {len(held)} held past {deadline_s / 2} s")
    # Ten sources, 64 connections each at most (32 per shard): at least 5000 - 640 refused.
    check(per_source >= 5000 - 10 * 64, f"per-source refusals: {per_source}")
    check(0 < cut <= 10 * 64, f"deadline closes: {cut}")
    check(per_source + cut + m.get(f'{prefix}{{reason="max_connections"}}', 0) == 5000,
          f"refused + cut != 5000: {m}")
    refusing = p.grep("event=transport.refusing")
    check(len(refusing) == 2, f"transport.refusing lines (one per cap that refused): {refusing}")
    check(m.get("portico_transport_connections_active") == 0, "connections left open")
    ctx.finish_portico()


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
