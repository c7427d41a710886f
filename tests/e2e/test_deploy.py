#!/usr/bin/env python3
"""The containerised deployment, run for real: the repository's Dockerfile and docker-compose.yml
built and started with podman and the classic docker-compose (v1.29, through podman's
Docker-compatible API), then a real call through the containerised Portico, counted by the
stack's own Prometheus.

    python3 tests/e2e/test_deploy.py --portico build/src/portico

compose_stack (127.0.141.0/24; needs root, podman, docker-compose, debootstrap):
  1. scripts/podman-setup.sh: containers.conf when absent, the debian:bookworm base image
     (debootstrap) when missing;
  2. a private `podman system service` socket (own PID, stopped by PID);
  3. `docker-compose config -q` (also with --profile dashboards), `build --parallel`, `up -d`
     with the policy directory and Prometheus configuration of this test;
  4. Portico's health check (podman runs it on demand here: no systemd timers) turns healthy,
     and reports unhealthy when pointed at a port with no metrics listener;
  5. sipp UAC (.10) -> Portico in its container (.1 access, .2 carrier) -> sipp UAS (.20), CALLS
     calls; Prometheus (.3:9090) must then report exactly CALLS more attempts, answers, 2xx
     attempts, answer set-up samples and anchored media sessions, and no failure;
  6. every PromQL query of the Grafana dashboard is accepted by that Prometheus;
  7. `stop` gives Portico SIGTERM: exit status 0 and event=portico.stopped;
  8. always: `down -v -t 2`, the API service stopped. The images stay as the build cache
     (localhost/portico, localhost/portico-prometheus, debian:bookworm).
It fails, never skips, when podman cannot build or run containers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True

from harness import (Ctx, TestFailure, assert_sipp, check, default_policy, e2e_test, run_tests,
                     spawn, stop_pid, tail, wait_until)

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy/grafana/dashboards/portico.json"
PROJECT = "portico-e2e141"
CALLS = 3
METRICS_PORT = 9464
PROMETHEUS_PORT = 9090
# Bounds of the slow steps. A cold build (base image, apt in three images, Portico compiled on
# 2 CPUs) takes minutes; with the images cached it takes seconds.
SETUP_TIMEOUT_S = 300
BUILD_TIMEOUT_S = 1200
STEP_TIMEOUT_S = 60


class Stack:
    """docker-compose against a private podman API socket, every command logged in the test dir."""

    def __init__(self, ctx: Ctx, env: dict[str, str]):
        self.ctx = ctx
        self.env = env
        self.n = 0
        self.base = ["docker-compose", "--ansi", "never", "-p", PROJECT, "-f",
                     str(REPO / "docker-compose.yml")]

    def run(self, *args: str, timeout: float = STEP_TIMEOUT_S, ok: bool = True,
            log: str | None = None) -> subprocess.CompletedProcess:
        self.n += 1
        name = log or f"compose.{self.n:02d}." + next(a for a in args if not a.startswith("-"))
        out = self.ctx.dir / f"{name}.log"
        argv = self.base + list(args)
        t0 = time.monotonic()
        with open(out, "wb") as f:
            f.write((" ".join(argv) + "\n").encode())
            f.flush()
            try:
                r = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, env=self.env,
                                   cwd=REPO, timeout=timeout)
            except subprocess.TimeoutExpired:
                raise TestFailure(f"docker-compose {' '.join(args)}: no result within {timeout:.0f} s"
                                  f"\n{tail(out, 20)}")
        print(f"    docker-compose {' '.join(args)}: exit {r.returncode} "
              f"({time.monotonic() - t0:.1f} s)", flush=True)
        if ok:
            check(r.returncode == 0, f"docker-compose {' '.join(args)} exited {r.returncode}:\n"
                                     f"{tail(out, 25)}")
        return r

    def container(self, service: str) -> str:
        r = subprocess.run(self.base + ["ps", "-q", service], capture_output=True, text=True,
                           env=self.env, cwd=REPO, timeout=STEP_TIMEOUT_S)
        cid = r.stdout.strip()
        check(r.returncode == 0 and cid, f"no container for service {service}: {r.stderr.strip()}")
        return cid


def podman(*args: str, timeout: float = STEP_TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)


def api_answers(sock: str) -> bool:
    """GET /_ping on the Docker-compatible API socket."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(sock)
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.")
    except OSError:
        return False


def preflight(ctx: Ctx) -> None:
    """Fail (not skip) with the reason when this machine cannot run the stack."""
    missing = [t for t in ("podman", "docker-compose", "debootstrap", "runc")
               if shutil.which(t) is None]
    check(not missing, f"not installed: {', '.join(missing)} (scripts/install-deps.sh installs them)")
    check(os.geteuid() == 0, "the container stack test needs root (rootful podman, debootstrap)")
    t0 = time.monotonic()
    r = subprocess.run(["bash", str(REPO / "scripts/podman-setup.sh")], capture_output=True,
                       text=True, timeout=SETUP_TIMEOUT_S)
    (ctx.dir / "podman-setup.log").write_text(r.stdout + r.stderr)
    check(r.returncode == 0, f"scripts/podman-setup.sh exited {r.returncode}:\n"
                             f"{(r.stdout + r.stderr)[-2000:]}")
    print(f"    podman-setup: {time.monotonic() - t0:.1f} s {r.stdout.strip()}", flush=True)
    info = podman("info", "--format", "{{.Host.OCIRuntime.Name}} {{.Store.GraphDriverName}}")
    check(info.returncode == 0, f"podman info failed: {info.stderr.strip()[-800:]}")
    print(f"    podman: runtime and storage {info.stdout.strip()}", flush=True)


def prometheus_query(addr: str, expr: str) -> dict:
    url = f"http://{addr}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read().decode())
    except urllib.error.HTTPError as e:   # 400 for a query Prometheus cannot parse
        return json.loads(e.read().decode() or "{}")


def prometheus_value(addr: str, expr: str) -> float | None:
    """The single value of an instant query, None when there is no series."""
    res = prometheus_query(addr, expr)
    check(res.get("status") == "success", f"Prometheus refused {expr!r}: {res.get('error')}")
    series = res["data"]["result"]
    if not series:
        return None
    check(len(series) == 1, f"{expr!r}: {len(series)} series, expected one")
    return float(series[0]["value"][1])


def dashboard_queries() -> list[tuple[str, str]]:
    dash = json.loads(DASHBOARD.read_text())
    return [(p["title"], t["expr"]) for p in dash["panels"] for t in p.get("targets", [])]


def write_config(ctx: Ctx) -> tuple[Path, Path]:
    """This test's policy (the harness default, metrics on .1) and the shipped Prometheus
    configuration pointed at it, with a 1 s scrape interval."""
    net = ctx.net
    pol = ctx.dir / "policies"
    pol.mkdir()
    (pol / "portico.yaml").write_text(
        default_policy(net) + f"metrics: {{address: {net.access}, port: {METRICS_PORT}}}\n")
    shipped = (REPO / "deploy/prometheus/prometheus.yml").read_text()
    prom, n_target = re.subn(r'"127\.0\.0\.1:9464"', f'"{net.access}:{METRICS_PORT}"', shipped)
    prom, n_interval = re.subn(r"scrape_interval: \d+s", "scrape_interval: 1s", prom)
    check(n_target == 1 and n_interval >= 1,
          "deploy/prometheus/prometheus.yml no longer has one target 127.0.0.1:9464 and a "
          "scrape_interval: update this test with it")
    prom_path = ctx.dir / "prometheus.yml"
    prom_path.write_text(prom)
    # The containers run as unprivileged users (portico, prometheus): they must read these.
    for p in (ctx.dir, pol):
        p.chmod(0o755)
    for p in (pol / "portico.yaml", prom_path):
        p.chmod(0o644)
    return pol, prom_path


@e2e_test(k=141, timeout=1500, portico_only=True)
def test_compose_stack(ctx: Ctx):
    net = ctx.net
    t_start = time.monotonic()
    preflight(ctx)
    prom_addr = f"{net.ip(3)}:{PROMETHEUS_PORT}"
    pol, prom_cfg = write_config(ctx)

    # A private API socket (short path: unix sockets are limited to 108 bytes).
    sock_dir = Path(tempfile.mkdtemp(prefix="portico-podman-"))
    sock = str(sock_dir / "podman.sock")
    svc_log = open(ctx.dir / "podman-service.log", "wb")
    svc = spawn(["podman", "system", "service", "--time=0", f"unix://{sock}"], stdout=svc_log,
                stderr=subprocess.STDOUT)
    env = dict(os.environ, DOCKER_HOST=f"unix://{sock}", PORTICO_POLICIES=str(pol),
               PORTICO_METRICS=f"{net.access}:{METRICS_PORT}", PROMETHEUS_CONFIG=str(prom_cfg),
               PROMETHEUS_LISTEN=prom_addr)
    env.pop("COMPOSE_PROFILES", None)
    stack = Stack(ctx, env)
    served = False
    try:
        check(wait_until(lambda: api_answers(sock) or svc.poll() is not None, 15, 0.2)
              and svc.poll() is None,
              f"podman system service did not answer on {sock}:\n"
              f"{tail(ctx.dir / 'podman-service.log', 15)}")
        served = True

        stack.run("config", "-q")
        stack.run("--profile", "dashboards", "config", "-q")
        t0 = time.monotonic()
        stack.run("build", "--parallel", timeout=BUILD_TIMEOUT_S, log="compose.build")
        t_build = time.monotonic() - t0
        stack.run("up", "-d", "--no-build")
        portico = stack.container("portico")

        # Health: podman runs the compose health check on demand (no systemd timers here).
        def healthy() -> bool:
            return podman("healthcheck", "run", portico).returncode == 0
        check(wait_until(healthy, 30, 0.5), "Portico's container did not turn healthy within 30 s:"
              f"\n{podman('logs', '--tail', '20', portico).stderr}")
        status = podman("inspect", "--format", "{{.State.Health.Status}}", portico).stdout.strip()
        check(status == "healthy", f"podman inspect: health {status!r}")
        bad = podman("exec", "-e", f"PORTICO_METRICS={net.access}:1", portico,
                     "portico-healthcheck")
        check(bad.returncode != 0, "the health check passed with no metrics listener at its address")

        # Prometheus up and scraping the containerised Portico: a baseline from its own API.
        attempted = "sum(portico_calls_attempted_total)"
        check(wait_until(lambda: _safe_value(prom_addr, attempted) is not None, 30, 0.5),
              f"Prometheus at {prom_addr} has no portico_calls_attempted_total after 30 s:\n"
              f"{podman('logs', '--tail', '15', stack.container('prometheus')).stderr}")
        watched = {
            "attempted": attempted,
            "answered": "sum(portico_calls_answered_total)",
            "failed": "sum(portico_calls_failed_total)",
            "answered_2xx": 'sum(portico_call_attempts_total{status_class="2xx"}) or vector(0)',
            "setup_answer": 'sum(portico_call_setup_seconds_count{stage="answer"})',
            "media_sessions": "sum(portico_media_sessions_total)",
        }
        before = {k: prometheus_value(prom_addr, q) for k, q in watched.items()}

        uas = ctx.sipp("uas", "uas_basic.xml", net.primary, calls=CALLS, duration_ms=200,
                       global_timeout_s=40).start()
        uac = ctx.sipp("uac", "uac_basic.xml", net.uac, remote=f"{net.access}:5060", calls=CALLS,
                       duration_ms=200, global_timeout_s=30)
        uac.run()
        uas.wait(timeout=10)
        print(f"    {uac.describe()}; {uas.describe()}", flush=True)
        assert_sipp(uac, CALLS)
        assert_sipp(uas, CALLS)

        want = before["attempted"] + CALLS
        check(wait_until(lambda: _safe_value(prom_addr, attempted) == want, 20, 0.5),
              f"Prometheus: {attempted} = {_safe_value(prom_addr, attempted)}, expected {want}")
        time.sleep(1.5)   # one more scrape: every counter of the ended calls is in it
        after = {k: prometheus_value(prom_addr, q) for k, q in watched.items()}
        moved = {k: after[k] - before[k] for k in watched}
        print(f"    Prometheus counters moved by {moved}", flush=True)
        expect = {"attempted": CALLS, "answered": CALLS, "failed": 0, "answered_2xx": CALLS,
                  "setup_answer": CALLS, "media_sessions": CALLS}
        for k, v in expect.items():
            check(moved[k] == v, f"Prometheus: {watched[k]} moved by {moved[k]}, expected {v}")
        check(wait_until(lambda: _safe_value(prom_addr, "sum(portico_calls_active)") == 0, 10, 0.5),
              "Prometheus still sees calls active after the calls ended")

        # The dashboard's queries, as Grafana would send them, parse and run on this Prometheus.
        queries = dashboard_queries()
        check(queries, f"{DASHBOARD}: no panel queries")
        refused = []
        for title, expr in queries:
            q = expr.replace("$__rate_interval", "1m").replace("$__range", "1h")
            res = prometheus_query(prom_addr, q)
            if res.get("status") != "success":
                refused.append(f"{title}: {expr}: {res.get('error')}")
        check(not refused, "Prometheus refused dashboard queries:\n  " + "\n  ".join(refused))
        print(f"    {len(queries)} dashboard queries accepted by Prometheus", flush=True)

        # SIGTERM through compose: Portico (PID 1 of its container) exits 0 on its own.
        stack.run("stop", "-t", "10", "portico")
        code = podman("inspect", "--format", "{{.State.ExitCode}}", portico).stdout.strip()
        logs = podman("logs", portico)
        (ctx.dir / "portico.log").write_text(logs.stdout + logs.stderr)
        check("event=portico.stopped" in logs.stderr + logs.stdout,
              "no event=portico.stopped in the container's log after SIGTERM")
        check(code == "0", f"Portico's container exit status after SIGTERM: {code}")
        print(f"    images built in {t_build:.1f} s; stack test {time.monotonic() - t_start:.1f} s",
              flush=True)
    finally:
        if served:
            try:
                stack.run("down", "-v", "-t", "2", "--remove-orphans", ok=False, log="compose.down")
            except TestFailure as e:
                print(f"    cleanup: {e}", flush=True)
        stop_pid(svc, term_timeout=5)
        svc_log.close()
        shutil.rmtree(sock_dir, ignore_errors=True)
    # Reached only after a pass (a failure above keeps its own message).
    left = podman("ps", "-a", "--filter", f"label=com.docker.compose.project={PROJECT}",
                  "--format", "{{.Names}}").stdout.split()
    check(not left, f"containers left after down: {left}")


def _safe_value(addr: str, expr: str) -> float | None:
    try:
        return prometheus_value(addr, expr)
    except (OSError, TestFailure, ValueError):
        return None


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
