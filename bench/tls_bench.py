#!/usr/bin/env python3
"""bench/tls.sh's driver (see there). Portico runs with one shard, so its CPU is one core.

1. Handshakes per second per core: `openssl s_time -new` (a full handshake per connection, no
   resumption) against Portico's tls listener for --seconds; Portico's CPU time over the run from
   /proc/<pid>/stat; handshakes / CPU-second is the per-core rate.
2. Memory per idle connection: N TLS connections opened and held (each handshaken, then silent),
   Portico's VmRSS before and after; (after - before) / N. The same with N plain TCP connections
   for comparison, and with Kamailio (tls.so) holding N TLS connections: its memory is its shared
   memory pool, so its figure is the pool's used bytes (kamcmd-free: the sum of RSS of its
   processes after minus before, which counts the touched shared pages once per process that
   touched them; an upper bound)."""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IP = "127.0.238.1"
KIP = "127.0.239.1"


def sh(argv, cwd):
    subprocess.run([str(a) for a in argv], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d: Path) -> None:
    sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "server.key", "-out", "server.crt", "-days", "2", "-subj", "/CN=bench.example"], d)


def rss_kb(pid: int) -> int:
    m = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(m.group(1)) if m else 0


def cpu_s(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    out = [pid]
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if int(p.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(p.name))
            except (OSError, ValueError):
                pass
    return out


def hold(ip: str, port: int, n: int, tls: bool) -> list[socket.socket]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    held = []
    for _ in range(n):
        s = socket.create_connection((ip, port), timeout=10)
        held.append(ctx.wrap_socket(s, server_hostname="bench.example") if tls else s)
    return held


def settle(pid_list, seconds=1.5) -> int:
    time.sleep(seconds)
    return sum(rss_kb(p) for p in pid_list)


def portico_run(args, work: Path) -> dict:
    (work / "policies").mkdir()
    (work / "policies" / "p.yaml").write_text(f"""server: {{shards: 1, log_level: warn}}
timers: {{tcp_idle_timeout: 1h}}
realms:
  bench:
    listeners: ["udp://{IP}:5060", "tcp://{IP}:5060", "tls://{IP}:5061"]
    tls: {{certificate: {work}/server.crt, private_key: {work}/server.key}}
ingress: {{max_tcp_connections: 100000, max_tcp_connections_per_source: 100000,
          tcp_message_deadline: 1h}}
""")
    log = open(work / "portico.log", "wb")
    p = subprocess.Popen([args.portico, "--policies", work / "policies"], stdout=log,
                         stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            if "event=portico.ready" in (work / "portico.log").read_text():
                break
            time.sleep(0.05)
        out = {}
        c0 = cpu_s(p.pid)
        r = subprocess.run(["openssl", "s_time", "-connect", f"{IP}:5061", "-new",
                            "-time", str(args.seconds)], capture_output=True, text=True,
                           timeout=args.seconds + 30)
        c1 = cpu_s(p.pid)
        m = re.search(r"(\d+) connections in ([\d.]+)s", r.stdout)
        n = int(m.group(1)) if m else 0
        out["handshakes"] = n
        out["handshakes_per_s_wall"] = n / args.seconds
        out["portico_cpu_s"] = c1 - c0
        out["handshakes_per_cpu_s"] = n / (c1 - c0) if c1 > c0 else 0.0
        for tls, port, key in ((False, 5060, "tcp"), (True, 5061, "tls")):
            before = settle([p.pid])
            held = hold(IP, port, args.connections, tls)
            after = settle([p.pid])
            out[f"{key}_bytes_per_connection"] = (after - before) * 1024 / args.connections
            for s in held:
                s.close()
            time.sleep(1.0)
        return out
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(10)


def kamailio_run(args, work: Path) -> dict:
    cfg = work / "kamailio.cfg"
    (work / "tls.cfg").write_text(f"""[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
certificate = {work}/server.crt
private_key = {work}/server.key
""")
    cfg.write_text(f"""#!KAMAILIO
debug=1
log_stderror=yes
fork=yes
children=1
tcp_children=1
enable_tls=yes
tcp_max_connections=100000
tls_max_connections=100000
tcp_connection_lifetime=3600
listen=tls:{KIP}:5061
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tls.so"
loadmodule "sl.so"
modparam("tls", "config", "{work}/tls.cfg")
request_route {{ sl_send_reply("404", "x"); }}
""")
    log = open(work / "kamailio.log", "wb")
    p = subprocess.Popen(["kamailio", "-f", cfg, "-DD", "-E", "-w", work, "-m", "1024"],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(2)
        pids = children(p.pid)
        before = settle(pids)
        held = hold(KIP, 5061, args.connections, True)
        after = settle(pids)
        for s in held:
            s.close()
        return {"kamailio_tls_bytes_per_connection_rss_upper_bound":
                (after - before) * 1024 / args.connections}
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(10)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--portico", required=True)
    ap.add_argument("--connections", type=int, default=5000)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--no-kamailio", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="portico-tls-bench-"))
    make_pki(work)
    res = portico_run(args, work)
    if not args.no_kamailio and os.access("/usr/sbin/kamailio", os.X_OK):
        kw = work / "kamailio"
        kw.mkdir()
        for f in ("server.crt", "server.key"):
            (kw / f).write_bytes((work / f).read_bytes())
        res.update(kamailio_run(args, kw))
    for k, v in res.items():
        print(f"{k}: {v:.1f}" if isinstance(v, float) else f"{k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
