#!/usr/bin/env python3
"""What one datagram full of header fields costs Portico: CPU time per OPTIONS of 1,000, 3,500
and 7,000 header fields (the last about 60 KB, what one UDP datagram holds), sent one at a time
from an access peer, each answered before the next is sent. Portico's CPU time is read from
/proc/PID/stat (utime+stime, all threads) before and after each size.

    python3 bench/header_cost.py --portico build/src/portico
    INGRESS='max_headers: 10000' python3 bench/header_cost.py --portico build/src/portico
    INGRESS= python3 bench/header_cost.py --portico OLD/portico   # a build without `ingress`

INGRESS is the body of the policy's `ingress` section (default: none given, so the defaults
apply: max_headers 128); an empty INGRESS writes no section, for builds that predate it. Uses
the e2e harness and its subnet 127.0.164.0/24: run it under the e2e lock.
"""

import os
import socket
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "e2e"))

from harness import check, default_policy, e2e_test, run_tests  # noqa: E402

SIZES = (1000, 3500, 7000)
PER_SIZE = 20


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def options(net, port: int, n_fields: int, i: int) -> bytes:
    head = (f"OPTIONS sip:x@{net.access} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {net.uac}:{port};rport;branch=z9hG4bKcost{n_fields}.{i}\r\n"
            f"From: <sip:a@{net.uac}>;tag=1\r\nTo: <sip:x@{net.access}>\r\n"
            f"Call-ID: cost-{n_fields}-{i}@{net.uac}\r\nCSeq: 1 OPTIONS\r\n")
    pad = "".join(f"X:{j}\r\n" for j in range(n_fields - 6))
    return (head + pad + "Content-Length: 0\r\n\r\n").encode()


@e2e_test(k=164, portico_only=True, timeout=300)
def test_header_cost(ctx):
    net = ctx.net
    policy = default_policy(net, trace=False)
    ingress = os.environ.get("INGRESS")
    if ingress is None or ingress:
        policy += f"ingress: {{{ingress or ''}}}\n"
    p = ctx.start_portico(policy)
    pid = p.proc.pid
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((net.uac, 0))
    s.settimeout(10)
    port = s.getsockname()[1]
    for n in SIZES:
        datagrams = [options(net, port, n, i) for i in range(PER_SIZE)]
        answers = set()
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        for d in datagrams:
            s.sendto(d, (net.access, 5060))
            answers.add(s.recv(65535).split(b"\r\n")[0].decode())
        cpu, wall = cpu_seconds(pid) - cpu0, time.monotonic() - t0
        ctx.note(f"{n} fields ({len(datagrams[0])} bytes): {cpu / PER_SIZE * 1000:.2f} ms CPU and "
                 f"{wall / PER_SIZE * 1000:.2f} ms to the answer per datagram; answers {answers}")
    s.close()
    check(True, "")
    ctx.finish_portico()


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
