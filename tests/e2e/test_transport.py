#!/usr/bin/env python3
"""One leg over UDP, the other over TCP, both ways round.

    python3 tests/e2e/test_transport.py --portico build/src/portico
"""

import sys

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

from calls import one_call
from harness import check, default_policy, e2e_test, run_tests


def _trace_transports(ctx, realm):
    return {t.fields.get("transport") for t in ctx.portico.trace() if t.realm == realm}


@e2e_test(k=51)
def test_access_tcp_carrier_udp(ctx):
    """Caller on TCP (sipp -t t1 to Portico's TCP listener), carrier trunk on UDP."""
    if ctx.direct:   # sipp-to-sipp both ends must agree: validate the scenarios over TCP
        one_call(ctx, "uac_basic.xml", "uas_basic.xml", uac_transport="t1", uas_transport="t1")
        return
    one_call(ctx, "uac_basic.xml", "uas_basic.xml", uac_transport="t1", uas_transport="u1",
             policy=default_policy(ctx.net, primary_transport="udp"), topology=True)
    check(_trace_transports(ctx, "access") == {"tcp"},
          f"access realm transports in the trace: {_trace_transports(ctx, 'access')}")
    check(_trace_transports(ctx, "carrier") == {"udp"},
          f"carrier realm transports in the trace: {_trace_transports(ctx, 'carrier')}")


@e2e_test(k=52)
def test_access_udp_carrier_tcp(ctx):
    """Caller on UDP, carrier trunk with transport: tcp to a sipp UAS on TCP (-t t1)."""
    if ctx.direct:
        one_call(ctx, "uac_basic.xml", "uas_basic.xml", uac_transport="u1", uas_transport="u1")
        return
    one_call(ctx, "uac_basic.xml", "uas_basic.xml", uac_transport="u1", uas_transport="t1",
             policy=default_policy(ctx.net, primary_transport="tcp"), topology=True)
    check(_trace_transports(ctx, "access") == {"udp"},
          f"access realm transports in the trace: {_trace_transports(ctx, 'access')}")
    check(_trace_transports(ctx, "carrier") == {"tcp"},
          f"carrier realm transports in the trace: {_trace_transports(ctx, 'carrier')}")


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
