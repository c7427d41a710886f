#!/usr/bin/env python3
"""The portico command line and policy life cycle: --version/--help, --check naming file, line,
column and field of a bad value, refusing to start on a bad policy, SIGHUP reload (a bad policy
keeps the running one and still serves calls; a good one takes effect), reload opening and
closing SIP listeners while a call is up, `portico --reload DIR`, SIGTERM exit 0, and the SIGTERM drain (new calls 503,
calls in progress finish).

    python3 tests/e2e/test_cli.py --portico build/src/portico
"""

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

sys.dont_write_bytecode = True

from harness import (assert_sipp, check, default_policy, e2e_test, run_tests, wait_until)

REPO = Path(__file__).resolve().parents[2]


def run(ctx, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ctx.args.portico, *args], capture_output=True, text=True, timeout=20)


def bad_trunk_dir(base: Path) -> Path:
    d = base / "bad"
    (d / "trunks").mkdir(parents=True, exist_ok=True)
    for f in ("portico.yaml", "routes.yaml", "access_peers.yaml"):
        (d / f).write_text((REPO / "policies" / f).read_text())
    (d / "trunks" / "demo.yaml").write_text(
        "trunks:\n  demo:\n    realm: carrier\n    host: 127.0.0.3\n    port: 70000\n")
    return d


@e2e_test(k=81, portico_only=True)
def test_command_line(ctx):
    v = run(ctx, "--version")
    check(v.returncode == 0 and re.match(r"portico \d+\.\d+\.\d+", v.stdout),
          f"--version: rc={v.returncode} out={v.stdout!r}")
    h = run(ctx, "--help")
    check(h.returncode == 0 and "--check" in h.stdout and "--policies" in h.stdout,
          f"--help: rc={h.returncode}")
    check(run(ctx).returncode == 64, "no arguments must exit 64 (usage)")
    ok = run(ctx, "--check", str(REPO / "policies"))
    check(ok.returncode == 0, f"--check policies/: rc={ok.returncode} {ok.stderr}")
    bad = bad_trunk_dir(ctx.dir)
    c = run(ctx, "--check", str(bad))
    want = f"{bad}/trunks/demo.yaml:5:11: trunks.demo.port: 70000 is not a port"
    check(c.returncode == 1, f"--check on a bad policy: rc={c.returncode}, expected 1")
    check(want in c.stderr, f"--check output lacks {want!r}:\n{c.stderr}")
    s = run(ctx, "--policies", str(bad))
    check(s.returncode == 2 and want in s.stderr,
          f"--policies on a bad policy: rc={s.returncode} (expected 2), stderr:\n{s.stderr}")


@e2e_test(k=82, portico_only=True)
def test_reload_keeps_running_policy_on_error(ctx):
    net = ctx.net
    p = ctx.start_portico()
    policy_file = p.policy_dir / "portico.yaml"
    good = policy_file.read_text()
    hash0 = re.search(r"event=portico.ready .*policy=(\w+)", p.log()).group(1)

    # A broken edit: the reload fails, names the file and field, and Portico keeps serving.
    policy_file.write_text(good.replace("port: 5060, transport: udp, max_calls",
                                        "port: 99999, transport: udp, max_calls"))
    p.proc.send_signal(signal.SIGHUP)
    check(wait_until(lambda: "event=policy.reload_failed" in p.log(), 5),
          "no event=policy.reload_failed after SIGHUP with a bad policy")
    failed = p.grep("event=policy.reload_failed")[0]
    check("portico.yaml:" in failed and "trunks.primary.port" in failed and "99999" in failed,
          f"reload error does not name file and field: {failed}")
    uas = ctx.sipp("uas", "uas_basic.xml", net.primary).start()
    uac = ctx.sipp("uac", "uac_basic.xml", net.uac, remote=ctx.access_target())
    uac.run()
    uas.wait(timeout=10)
    assert_sipp(uac, 1)

    # A good edit: the new policy (route now to the backup trunk only) takes effect.
    policy_file.write_text(good.replace("targets: [{trunk: primary}, {trunk: backup}]",
                                        "targets: [{trunk: backup}]"))
    p.proc.send_signal(signal.SIGHUP)
    check(wait_until(lambda: "event=policy.reloaded" in p.log(), 5),
          "no event=policy.reloaded after SIGHUP with a good policy")
    hash1 = re.search(r"event=policy.reloaded policy=(\w+)", p.log()).group(1)
    check(hash1 != hash0, "policy hash unchanged after reload")
    uas2 = ctx.sipp("uas2", "uas_basic.xml", net.backup).start()
    uac2 = ctx.sipp("uac2", "uac_basic.xml", net.uac, remote=ctx.access_target())
    uac2.run()
    uas2.wait(timeout=10)
    assert_sipp(uac2, 1)
    assert_sipp(uas2, 1)
    ctx.finish_portico()


def shard_threads(pid: int) -> dict[str, str]:
    """Portico's shard threads as `ps -L` shows them: name -> Cpus_allowed_list."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except OSError:
            continue  # the thread ended
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if fields.get("Name", "").startswith("portico-shard"):
            out[fields["Name"]] = fields.get("Cpus_allowed_list", "")
    return out


def cpu_list(text: str) -> list[int]:
    cpus = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        cpus += range(int(lo), int(hi or lo) + 1)
    return cpus


@e2e_test(k=88, portico_only=True)
def test_shard_threads_named_and_pinned(ctx):
    """Each shard thread is named portico-shardN and, by default, runs on one CPU of those the
    process may use (shard i on the i-th, wrapping); pin_shards: false leaves them to the
    scheduler; a reload cannot change it (restart required, field named)."""
    usable = cpu_list(Path("/proc/self/status").read_text().split("Cpus_allowed_list:\t")[1]
                      .split("\n")[0])
    p = ctx.start_portico(default_policy(ctx.net, shards=3), shards=3)
    threads = shard_threads(p.proc.pid)
    check(sorted(threads) == ["portico-shard0", "portico-shard1", "portico-shard2"],
          f"shard threads: {sorted(threads)}")
    for i in range(3):
        want = str(usable[i % len(usable)])
        got = threads[f"portico-shard{i}"]
        check(got == want, f"portico-shard{i} may run on CPUs {got}, expected only {want}")
    check(len(p.grep("event=shard.cpu")) == 3 and
          all("pinned=true" in line for line in p.grep("event=shard.cpu")),
          f"shard.cpu log lines: {p.grep('event=shard.cpu')}")
    policy_file = p.policy_dir / "portico.yaml"
    policy_file.write_text(policy_file.read_text().replace("server: {", "server: {pin_shards: false, "))
    p.proc.send_signal(signal.SIGHUP)
    check(wait_until(lambda: "event=policy.reload_failed" in p.log(), 5),
          "changing server.pin_shards by reload was not refused")
    failed = p.grep("event=policy.reload_failed")[0]
    check("reason=restart_required" in failed and "field=server.pin_shards" in failed,
          f"reload refusal does not name server.pin_shards: {failed}")
    ctx.finish_portico()

    p = ctx.start_portico(policy_file.read_text(), shards=3)
    threads = shard_threads(p.proc.pid)
    want = ",".join(str(c) for c in usable)
    for name, got in sorted(threads.items()):
        check(cpu_list(got) == usable, f"with pin_shards: false {name} may run on {got}, "
              f"expected every usable CPU ({want})")
    check(all("pinned=false" in line for line in p.grep("event=shard.cpu")),
          f"shard.cpu log lines: {p.grep('event=shard.cpu')}")
    ctx.finish_portico()


def answers_options(ip: str, port: int, src: str) -> bool:
    """True when an OPTIONS sent from `src` to ip:port gets any SIP response within 1 s."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((src, 0))
        s.settimeout(1.0)
        me = f"{src}:{s.getsockname()[1]}"
        s.sendto((f"OPTIONS sip:{ip}:{port} SIP/2.0\r\n"
                  f"Via: SIP/2.0/UDP {me};branch=z9hG4bK-probe{port}\r\n"
                  f"Max-Forwards: 70\r\nFrom: <sip:probe@{src}>;tag=p{port}\r\n"
                  f"To: <sip:{ip}:{port}>\r\nCall-ID: probe-{port}@{src}\r\n"
                  f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode(), (ip, port))
        try:
            return s.recv(4096).startswith(b"SIP/2.0 ")
        except OSError:  # timeout, or ICMP port unreachable
            return False


def sighup_and_wait(p, event: str, count: int, trigger=None) -> str:
    """SIGHUP (or `trigger()`), then the `count`-th log line with `event`."""
    if trigger is None:
        p.proc.send_signal(signal.SIGHUP)
    else:
        trigger()
    check(wait_until(lambda: len(p.grep(event)) >= count, 5), f"no {event} #{count} after SIGHUP")
    return p.grep(event)[count - 1]


@e2e_test(k=86, portico_only=True)
def test_reload_opens_and_closes_listeners(ctx):
    """A reload that adds a listener opens it on every shard and a call through it completes;
    one that drops it closes it; a listener that cannot be bound fails the whole reload and the
    running policy keeps serving. A call up during all three continues to its own BYE."""
    net = ctx.net
    p = ctx.start_portico()
    policy_file = p.policy_dir / "portico.yaml"
    base = policy_file.read_text()
    listeners = f'"udp://{net.access}:5060", "tcp://{net.access}:5060"'
    check(listeners in base, "policy template changed: access listeners not found")
    uas = ctx.sipp("uas", "uas_basic.xml", net.primary, calls=2).start()
    talking = ctx.sipp("talking", "uac_basic.xml", net.uac, remote=ctx.access_target(),
                       duration_ms=5000)
    talking.start()
    check(wait_until(lambda: "event=call.answered" in p.log(), 5), "the first call was not answered")
    check(not answers_options(net.access, 5080, net.ip(12)), "port 5080 answers before the reload")

    policy_file.write_text(base.replace(listeners, listeners + f', "udp://{net.access}:5080"'))
    opened = sighup_and_wait(p, "event=policy.reloaded", 1)
    check("listeners_opened=1" in opened, f"reload did not open the new listener: {opened}")
    check(answers_options(net.access, 5080, net.ip(12)), "the new listener does not answer")
    via_new = ctx.sipp("via_new", "uac_basic.xml", net.ip(13), remote=f"{net.access}:5080")
    via_new.run()
    assert_sipp(via_new, 1)

    # `portico --reload DIR` checks the files first: a bad edit never reaches the running one.
    policy_file.write_text(base.replace(listeners, '"udp://999.1.1.1:5060"'))
    bad = run(ctx, "--reload", str(p.policy_dir))
    check(bad.returncode == 1 and "realms.access.listeners" in bad.stderr,
          f"--reload on a bad policy: rc={bad.returncode} stderr={bad.stderr!r}")
    policy_file.write_text(base)

    def reload_command():
        r = run(ctx, "--reload", str(p.policy_dir))
        check(r.returncode == 0 and f"pid {p.proc.pid}" in r.stdout,
              f"--reload: rc={r.returncode} out={r.stdout!r} err={r.stderr!r}")

    closed = sighup_and_wait(p, "event=policy.reloaded", 2, reload_command)
    check("listeners_closed=1" in closed, f"reload did not close the dropped listener: {closed}")
    check(not answers_options(net.access, 5080, net.ip(12)), "the dropped listener still answers")

    check(not p.grep("event=policy.reload_failed"), "the bad edit reached the running Portico")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind((net.access, 5090))  # no SO_REUSEPORT: Portico cannot join this port
        policy_file.write_text(base.replace(listeners, listeners + f', "udp://{net.access}:5090"'))
        failed = sighup_and_wait(p, "event=policy.reload_failed", 1)
        check("reason=listener_bind" in failed and "5090" in failed,
              f"the bind failure is not named: {failed}")
    check(answers_options(net.access, 5060, net.ip(12)), "the running listener stopped answering")
    check(not answers_options(net.access, 5090, net.ip(12)), "a failed reload left 5090 bound")

    talking.wait(timeout=15)
    uas.wait(timeout=10)
    assert_sipp(talking, 1)  # the call up during the reloads ended with its own BYE
    print(f"    {talking.describe()}; {via_new.describe()}", flush=True)
    ctx.finish_portico()


@e2e_test(k=85, portico_only=True)
def test_sigterm_drains_calls_in_progress(ctx):
    """SIGTERM with a call up: a new call gets 503 with Retry-After, the call in progress ends
    normally (its own BYE), then Portico exits 0 at once, well before drain_timeout."""
    net = ctx.net
    policy = default_policy(net).replace("max_call_duration: 1h}",
                                         "max_call_duration: 1h, drain_timeout: 20s}")
    check("drain_timeout: 20s" in policy, "policy template changed: no timers line to extend")
    p = ctx.start_portico(policy)
    uas = ctx.sipp("uas", "uas_basic.xml", net.primary, duration_ms=4000).start()
    talking = ctx.sipp("talking", "uac_basic.xml", net.uac, remote=ctx.access_target(),
                       duration_ms=4000)
    talking.start()
    check(wait_until(lambda: "event=call.answered" in p.log(), 5), "the first call was not answered")
    p.proc.send_signal(signal.SIGTERM)
    check(wait_until(lambda: "event=portico.draining" in p.log(), 3),
          "no event=portico.draining after SIGTERM with a call up")
    late = ctx.sipp("late", "uac_expect_503.xml", net.ip(11), remote=ctx.access_target())
    late.run()
    assert_sipp(late, 1)
    r503 = [m for m in late.received() if m.first_line.startswith("SIP/2.0 503")]
    check(r503 and r503[0].header("Retry-After"), "the 503 during the drain has no Retry-After")
    talking.wait(timeout=15)
    print(f"    {talking.describe()}; {late.describe()}", flush=True)
    assert_sipp(talking, 1)  # its BYE came from the caller, not from a shutdown
    try:
        rc = p.proc.wait(timeout=5)
    except Exception:  # noqa: BLE001 - reported as a failure below
        rc = None
    check(rc == 0, f"Portico did not exit 0 within 5 s of the last call ending (status {rc})")
    drained = p.grep("event=portico.drained")
    check(drained and "reason=done" in drained[0] and "calls_left=0" in drained[0],
          f"drain did not end with reason=done: {drained}")
    check(not p.grep("reason=shutdown"), "a call was torn down by the shutdown instead of ending")


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
