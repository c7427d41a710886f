#!/usr/bin/env python3
"""The portico command line and policy life cycle: --version/--help, --check naming file, line,
column and field of a bad value, refusing to start on a bad policy, SIGHUP reload (a bad policy
keeps the running one and still serves calls; a good one takes effect), SIGTERM exit 0, and the
SIGTERM drain (new calls 503, calls in progress finish).

    python3 tests/e2e/test_cli.py --portico build/src/portico
"""

import re
import signal
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
