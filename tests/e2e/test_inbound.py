#!/usr/bin/env python3
"""Inbound call: from the carrier (a sipp UAC on the primary trunk's host) to the access peer.

    python3 tests/e2e/test_inbound.py --portico build/src/portico
"""

import sys

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

from harness import assert_sipp, assert_topology_hidden, e2e_test, run_tests


@e2e_test(k=61)
def test_inbound_carrier_to_access(ctx):
    """sipp UAC on 127.0.k.20 (trunk `primary`'s host, so the carrier realm recognises it) sends to
    Portico's carrier listener; route `in` sends the call to access peer `uac` (127.0.k.10), where a
    sipp UAS answers; caller BYE. Topology hiding checked in both directions."""
    net = ctx.net
    ctx.start_portico()
    uas = ctx.sipp("uas", "uas_basic.xml", net.uac, duration_ms=200).start()
    target = f"{net.uac}:5060" if ctx.direct else f"{net.carrier}:5060"
    uac = ctx.sipp("uac", "uac_basic.xml", net.primary, remote=target, duration_ms=200)
    uac.run()
    uas.wait(timeout=10)
    print(f"    {uac.describe()}; {uas.describe()}", flush=True)
    assert_sipp(uac, 1)
    assert_sipp(uas, 1)
    if not ctx.direct:
        # Here the "access" side of the call is the carrier: the UAC is on 127.0.k.20.
        assert_topology_hidden(None, uac, net.primary, uas, net.uac, ctx=ctx)
    ctx.finish_portico()


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
