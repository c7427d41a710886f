#!/usr/bin/env python3
"""Calls-per-second benchmark: Portico vs Kamailio 5.6 (stateful proxy) vs sipp talking to itself.

Run it through bench/cps.sh. Python 3 standard library only; builds nothing.

For each system the script ramps the call rate (default 100, 200, 400, 800, 1600, 3200, 4800 calls/s,
~10 s per step; a system's ramp stops after its first step at or above the CPU rate with >= 0.1 %
failed calls)
with short signalling-only calls (bench/scenarios: INVITE, 100, 200, ACK, BYE, 200; no media) from a
sipp UAC to a sipp UAS on loopback, through the system under test:

    direct   : UAC 127.0.200.10 -> UAS 127.0.200.20                       (sipp's own ceiling)
    portico  : UAC 127.0.201.10 -> Portico 127.0.201.1 | .2 -> UAS 127.0.201.20
    kamailio : UAC 127.0.202.10 -> Kamailio 127.0.202.1  -> UAS 127.0.202.20   (bench/kamailio.cfg)

Per step it records calls attempted / successful / failed (sipp -trace_stat), the setup time of every
call (INVITE sent -> 200 received, from sipp -trace_shortmsg timestamps, microseconds) and the CPU time
(utime+stime from /proc/PID/stat, all threads; for Kamailio summed over its process tree) that the
system under test used during the step. It prints the highest rate with < 0.1 % failed calls, the
setup-time percentiles, and the CPU time per call at the fixed rate (default 400 calls/s).
Every process it starts is stopped by PID (TERM, then KILL) on exit.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "bench" / "scenarios"
KAMAILIO_CFG = ROOT / "bench" / "kamailio.cfg"
CLK_TCK = os.sysconf("SC_CLK_TCK")
FAIL_LIMIT = 0.001  # < 0.1 % failed calls

LIVE: list[subprocess.Popen] = []


def stop(p: subprocess.Popen, grace: float = 3.0) -> None:
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)
    if p in LIVE:
        LIVE.remove(p)


@atexit.register
def _cleanup() -> None:
    for p in list(reversed(LIVE)):
        stop(p, 1.0)


def spawn(argv, **kw) -> subprocess.Popen:
    p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL, **kw)
    LIVE.append(p)
    return p


def udp_bound(ip: str, port: int) -> bool:
    a = socket.inet_aton(ip)
    want = "%02X%02X%02X%02X:%04X" % (a[3], a[2], a[1], a[0], port)
    with open("/proc/net/udp") as f:
        return any(line.split()[1] == want for line in list(f)[1:])


def wait_for(pred, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / CLK_TCK


def process_tree(root: int) -> list[int]:
    parent: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    tree, todo = [], [root]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += [c for c, pp in parent.items() if pp == p]
    return tree


def percentile(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(q / 100.0 * (len(s) - 1)))))
    return s[k]


# ------------------------------------------------------------------------------------------------

class System:
    name = "?"
    net = 0

    def __init__(self, work: Path):
        self.work = work / self.name
        self.work.mkdir(parents=True, exist_ok=True)

    def ip(self, host: int) -> str:
        return f"127.0.{self.net}.{host}"

    def target(self) -> str:
        raise NotImplementedError

    def start(self) -> None:
        pass

    def pids(self) -> list[int]:
        return []

    def stop(self) -> None:
        pass

    def alive(self) -> bool:
        return True


class Direct(System):
    name = "direct"
    net = 200

    def target(self) -> str:
        return f"{self.ip(20)}:5060"


class Portico(System):
    name = "portico"
    net = 201

    def __init__(self, work: Path, binary: str, shards: int):
        super().__init__(work)
        self.binary = binary
        self.shards = shards
        self.proc: subprocess.Popen | None = None

    def target(self) -> str:
        return f"{self.ip(1)}:5060"

    def start(self) -> None:
        pol = self.work / "policies"
        pol.mkdir(exist_ok=True)
        (pol / "portico.yaml").write_text(f"""# bench/cps_bench.py
server: {{shards: {self.shards}, log_level: warn, trace: false}}
timers: {{t1: 500ms, t2: 4s, t4: 5s, max_call_duration: 1h}}
realms:
  access:  {{listeners: ["udp://{self.ip(1)}:5060"]}}
  carrier: {{listeners: ["udp://{self.ip(2)}:5060"]}}
trunks:
  uas: {{realm: carrier, host: {self.ip(20)}, port: 5060, transport: udp, max_calls: 0}}
access_peers:
  uac: {{realm: access, sources: ["{self.ip(10)}/32"], host: {self.ip(10)}, port: 5060, transport: udp}}
routes:
  - name: out
    match: {{realm: access}}
    targets: [{{trunk: uas}}]
""")
        self.log = open(self.work / "portico.log", "wb")
        self.proc = spawn([self.binary, "--policies", pol], stdout=self.log,
                          stderr=subprocess.STDOUT)
        # log_level warn: readiness is the bound socket, not the (info) ready line
        if not wait_for(lambda: udp_bound(self.ip(1), 5060) or self.proc.poll() is not None, 10):
            raise SystemExit("portico did not bind its access listener within 10 s")
        if self.proc.poll() is not None:
            raise SystemExit(f"portico exited with {self.proc.returncode}; see "
                             f"{self.work / 'portico.log'}")

    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc else []

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc:
            stop(self.proc)


class Kamailio(System):
    name = "kamailio"
    net = 202

    def __init__(self, work: Path, children: int):
        super().__init__(work)
        self.children = children
        self.proc: subprocess.Popen | None = None

    def target(self) -> str:
        return f"{self.ip(1)}:5060"

    def start(self) -> None:
        kwd = self.work / "run"
        kwd.mkdir(exist_ok=True)
        self.log = open(self.work / "kamailio.log", "wb")
        self.argv = ["kamailio", "-f", KAMAILIO_CFG, "-DD", "-E", "-n", self.children,
                     "-w", kwd, "-A", f"BENCH_IP={self.ip(1)}",
                     "-A", f'BENCH_UAS="sip:{self.ip(20)}:5060"', "-m", 1024, "-M", 16,
                     "-P", kwd / "kamailio.pid"]
        self.proc = spawn(self.argv, stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_for(lambda: udp_bound(self.ip(1), 5060) or self.proc.poll() is not None, 10):
            raise SystemExit("kamailio did not bind within 10 s")
        if self.proc.poll() is not None:
            raise SystemExit(f"kamailio exited with {self.proc.returncode}; see "
                             f"{self.work / 'kamailio.log'}")
        time.sleep(0.5)  # children are forked after the bind

    def pids(self) -> list[int]:
        return process_tree(self.proc.pid) if self.proc else []

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc:
            stop(self.proc, 5.0)


# ------------------------------------------------------------------------------------------------

def sipp_argv(scen: str, ip: str, extra: list) -> list:
    return ["sipp", "-sf", SCENARIOS / scen, "-i", ip, "-p", 5060, "-mi", ip, "-ci", ip,
            "-cp", 8888, "-nostdin", *extra]


def final_stats(csv: Path) -> dict[str, str]:
    rows = [r for r in csv.read_text(errors="replace").splitlines() if r.strip()]
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0].rstrip(";").split(";"), rows[-1].rstrip(";").split(";")))


def setup_times_ms(short_log: Path) -> list[float]:
    start: dict[str, float] = {}
    out: list[float] = []
    with open(short_log, errors="replace") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 7:
                continue
            ts, direction, cid, cseq, first = float(p[2]), p[3], p[4], p[5], p[6]
            if direction == "S" and first.startswith("INVITE ") and cseq.endswith(" INVITE"):
                start.setdefault(cid, ts)
            elif direction == "R" and first.startswith("SIP/2.0 200") and cseq.endswith(" INVITE"):
                t0 = start.pop(cid, None)
                if t0 is not None:
                    out.append((ts - t0) * 1000.0)
    return out


def run_step(system: System, rate: int, seconds: float, work: Path) -> dict:
    calls = int(rate * seconds)
    d = work / system.name / f"r{rate}"
    d.mkdir(parents=True, exist_ok=True)
    uas = spawn(sipp_argv("uas_cps.xml", system.ip(20),
                          ["-m", calls, "-trace_stat", "-stf", d / "uas.csv", "-fd", 5,
                           "-timeout", f"{int(seconds) + 40}s"]),
                stdout=open(d / "uas.out", "wb"), stderr=subprocess.STDOUT, cwd=d)
    if not wait_for(lambda: udp_bound(system.ip(20), 5060) or uas.poll() is not None, 5):
        raise SystemExit("sipp UAS did not bind")
    pids = system.pids()
    cpu0, t0 = cpu_seconds(pids), time.monotonic()
    uac = spawn(sipp_argv("uac_cps.xml", system.ip(10),
                          ["-m", calls, "-r", rate, "-rp", 1000, "-d", 0,
                           "-l", max(100, rate * 4), "-recv_timeout", 5000,
                           "-trace_stat", "-stf", d / "uac.csv", "-fd", 5,
                           "-trace_shortmsg", "-shortmessage_file", d / "uac.short.log",
                           "-timeout", f"{int(seconds) + 30}s", system.target()]),
                stdout=open(d / "uac.out", "wb"), stderr=subprocess.STDOUT, cwd=d)
    try:
        uac_rc = uac.wait(timeout=seconds + 45)
    except subprocess.TimeoutExpired:
        stop(uac)
        uac_rc = None
    wall = time.monotonic() - t0
    cpu1 = cpu_seconds(system.pids() if isinstance(system, Kamailio) else pids)
    if uas.poll() is None:
        try:
            uas.wait(timeout=8)
        except subprocess.TimeoutExpired:
            stop(uas)
    LIVE.remove(uac) if uac in LIVE else None
    LIVE.remove(uas) if uas in LIVE else None
    st = final_stats(d / "uac.csv")

    def num(k: str) -> int:
        try:
            return int(float(st.get(k, "0") or 0))
        except ValueError:
            return 0
    ok, failed, created = num("SuccessfulCall(C)"), num("FailedCall(C)"), num("TotalCallCreated")
    setups = setup_times_ms(d / "uac.short.log") if (d / "uac.short.log").exists() else []
    res = {
        "system": system.name, "rate": rate, "calls": calls, "created": created, "ok": ok,
        "failed": failed, "uac_rc": uac_rc, "wall_s": round(wall, 2),
        "fail_ratio": (failed + max(0, calls - ok - failed)) / calls if calls else 1.0,
        "setup_p50_ms": percentile(setups, 50), "setup_p90_ms": percentile(setups, 90),
        "setup_p99_ms": percentile(setups, 99), "setup_max_ms": max(setups) if setups else float("nan"),
        "cpu_s": round(cpu1 - cpu0, 3) if system.pids() or pids else None,
        "alive": system.alive(),
    }
    res["cpu_us_per_call"] = (round(res["cpu_s"] / ok * 1e6, 1) if res["cpu_s"] is not None and ok
                              else None)
    return res


def fmt(x, nd=2) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        if x != x:
            return "-"
        return f"{x:.{nd}f}"
    return str(x)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--portico", default=str(ROOT / "build-release" / "src" / "portico"))
    ap.add_argument("--rates", default="100,200,400,800,1600,3200,4800")
    ap.add_argument("--step-seconds", type=float, default=10.0)
    ap.add_argument("--cpu-rate", type=int, default=400)
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--kamailio-children", type=int, default=2)
    ap.add_argument("--systems", default="direct,portico,kamailio")
    ap.add_argument("--workdir", default="")
    ap.add_argument("--json", default="", help="also write the results here")
    args = ap.parse_args()

    for tool in ("sipp",) + (("kamailio",) if "kamailio" in args.systems else ()):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found")
    if "portico" in args.systems and not os.access(args.portico, os.X_OK):
        raise SystemExit(f"portico binary not found: {args.portico} (build it, or pass its path)")
    rates = [int(r) for r in args.rates.split(",")]
    if args.cpu_rate not in rates:
        rates = sorted(set(rates + [args.cpu_rate]))
    work = Path(args.workdir or tempfile.mkdtemp(prefix="portico-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda n, f: sys.exit(128 + n))

    systems: list[System] = []
    for name in args.systems.split(","):
        if name == "direct":
            systems.append(Direct(work))
        elif name == "portico":
            systems.append(Portico(work, os.path.abspath(args.portico), args.shards))
        elif name == "kamailio":
            systems.append(Kamailio(work, args.kamailio_children))
        else:
            raise SystemExit(f"unknown system {name}")

    print(f"# cps bench: rates {rates} calls/s, {args.step_seconds:.0f} s per step, "
          f"{os.cpu_count()} CPUs, logs in {work}", flush=True)
    results: list[dict] = []
    for sys_ in systems:
        sys_.start()
        try:
            for rate in rates:
                r = run_step(sys_, rate, args.step_seconds, work)
                results.append(r)
                print(f"  {r['system']:9s} {rate:5d} cps: ok={r['ok']}/{r['calls']} failed={r['failed']} "
                      f"setup p50={fmt(r['setup_p50_ms'])} p99={fmt(r['setup_p99_ms'])} ms "
                      f"cpu={fmt(r['cpu_s'], 3)} s", flush=True)
                if not r["alive"]:
                    print(f"  {sys_.name} died during the {rate} cps step", flush=True)
                    break
                if r["fail_ratio"] >= FAIL_LIMIT and rate >= args.cpu_rate:
                    break
                time.sleep(1.0)
        finally:
            sys_.stop()

    # ---- summary table ----
    print()
    print("| system | rate (cps) | calls ok / attempted | failed | setup p50 / p90 / p99 / max (ms) | CPU per call (µs) |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['system']} | {r['rate']} | {r['ok']} / {r['calls']} | {r['failed']} "
              f"({100 * r['fail_ratio']:.2f} %) | {fmt(r['setup_p50_ms'])} / {fmt(r['setup_p90_ms'])} / "
              f"{fmt(r['setup_p99_ms'])} / {fmt(r['setup_max_ms'])} | "
              f"{fmt(r['cpu_us_per_call'], 1) if r['system'] != 'direct' else '-'} |")
    print()
    print("| system | highest rate with < 0.1 % failed | setup p50 / p99 at that rate (ms) | "
          f"CPU per call at {args.cpu_rate} cps |")
    print("|---|---|---|---|")
    for sys_ in systems:
        rs = [r for r in results if r["system"] == sys_.name]
        good = [r for r in rs if r["fail_ratio"] < FAIL_LIMIT]
        best = max(good, key=lambda r: r["rate"]) if good else None
        at = next((r for r in rs if r["rate"] == args.cpu_rate), None)
        cpu = (f"{fmt(at['cpu_us_per_call'], 1)} µs ({fmt(at['cpu_s'], 2)} s CPU for {at['ok']} calls)"
               if at and sys_.name != "direct" else "-")
        print(f"| {sys_.name} | {best['rate'] if best else 'none'} | "
              f"{fmt(best['setup_p50_ms']) if best else '-'} / {fmt(best['setup_p99_ms']) if best else '-'} | "
              f"{cpu} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
