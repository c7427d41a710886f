#!/usr/bin/env python3
"""The portico command line and policy life cycle: --version/--help, --check naming file, line,
column and field of a bad value, refusing to start on a bad policy, SIGHUP reload (a bad policy
keeps the running one and still serves calls; a good one takes effect), SIGTERM exit 0.

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


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
