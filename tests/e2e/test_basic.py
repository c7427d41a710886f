#!/usr/bin/env python3
"""Basic calls through Portico: BYE from the caller, BYE from the callee, OPTIONS to Portico.

    python3 tests/e2e/test_basic.py --portico build/src/portico
"""

import sys

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

from calls import one_call
from harness import assert_sipp, check, e2e_test, run_tests


@e2e_test(k=21)
def test_call_caller_hangs_up(ctx):
    """UAC INVITE -> Portico -> UAS answers; ACK; caller BYE. Topology hiding on both legs."""
    one_call(ctx, "uac_basic.xml", "uas_basic.xml", topology=True)
    if ctx.portico is None:
        return
    # Portico traced the call on both realms.
    tr = [t for t in ctx.portico.trace()]
    seen = {(t.dir, t.realm, t.first_line.split(" ")[0]) for t in tr}
    for want in [("in", "access", "INVITE"), ("out", "carrier", "INVITE"),
                 ("in", "access", "BYE"), ("out", "carrier", "BYE")]:
        check(want in seen, f"portico trace has no dir={want[0]} realm={want[1]} {want[2]}")


@e2e_test(k=22)
def test_call_callee_hangs_up(ctx):
    """The UAS sends the BYE; Portico maps it onto the caller's dialog (tags checked in the UAC)."""
    one_call(ctx, "uac_callee_bye.xml", "uas_callee_bye.xml", topology=True)


@e2e_test(k=23)
def test_options_answered_locally(ctx):
    """Out-of-dialog OPTIONS to Portico: 200 with an Allow header, answered by Portico itself
    (no UAS is running; the trace must show nothing sent on the carrier realm)."""
    net = ctx.net
    mock = None
    if ctx.direct:
        mock = ctx.sipp("mock", "uas_options_mock.xml", net.primary).start()
    else:
        ctx.start_portico()
    uac = ctx.sipp("uac", "uac_options.xml", net.uac, remote=ctx.access_target())
    uac.run()
    if mock:
        mock.wait(timeout=5)
    print(f"    {uac.describe()}", flush=True)
    assert_sipp(uac, 1)
    if ctx.portico is not None:
        out_carrier = [t for t in ctx.portico.trace() if t.dir == "out" and t.realm == "carrier"]
        check(not out_carrier, "OPTIONS to Portico was forwarded to the carrier realm: "
                               + (out_carrier[0].first_line if out_carrier else ""))
        resp = [m for m in uac.received() if m.first_line.startswith("SIP/2.0 200")]
        allow = resp[0].header("Allow") if resp else []
        print(f"    Allow: {allow[0] if allow else '<none>'}")
    ctx.finish_portico()


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
