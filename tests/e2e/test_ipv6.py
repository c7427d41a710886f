#!/usr/bin/env python3
"""Calls over IPv6: both realms listen on [::1] (different ports), the caller uses UDP and the
trunk TCP, and the other way round.

    python3 tests/e2e/test_ipv6.py --portico build/src/portico
"""

import sys

sys.dont_write_bytecode = True

from harness import assert_sipp, check, e2e_test, run_tests

ACCESS_PORT, CARRIER_PORT, UAC_PORT, UAS_PORT = 25060, 25062, 25070, 25080


def policy(trunk_transport: str) -> str:
    return f"""server: {{shards: 2, log_level: info, trace: true}}
timers: {{t1: 50ms, t2: 400ms, t4: 500ms}}
realms:
  access:  {{listeners: ["udp://[::1]:{ACCESS_PORT}", "tcp://[::1]:{ACCESS_PORT}"]}}
  carrier: {{listeners: ["udp://[::1]:{CARRIER_PORT}", "tcp://[::1]:{CARRIER_PORT}"]}}
trunks:
  v6trunk: {{realm: carrier, host: "::1", port: {UAS_PORT}, transport: {trunk_transport}}}
access_peers:
  v6pbx: {{realm: access, sources: ["::1/128"]}}
routes:
  - name: out
    match: {{realm: access}}
    targets: [{{trunk: v6trunk}}]
"""


def v6_call(ctx, uac_transport: str, trunk_transport: str) -> None:
    ctx.start_portico(policy(trunk_transport))
    uas = ctx.sipp("uas", "uas_basic.xml", "::1", local_port=UAS_PORT,
                   transport="t1" if trunk_transport == "tcp" else "u1").start()
    uac = ctx.sipp("uac", "uac_basic.xml", "::1", local_port=UAC_PORT,
                   remote=f"[::1]:{ACCESS_PORT}", transport=uac_transport)
    uac.run()
    uas.wait(timeout=10)
    print(f"    {uac.describe()}; {uas.describe()}", flush=True)
    assert_sipp(uac, 1)
    assert_sipp(uas, 1)
    # Every peer shares ::1 here, so check identity rather than addresses: the trunk saw
    # Portico's own Call-ID, not the caller's.
    caller_ids = {v for m in uac.sent() for v in m.header("Call-ID")}
    trunk_ids = {v for m in uas.requests_received("INVITE") for v in m.header("Call-ID")}
    check(trunk_ids and not (trunk_ids & caller_ids),
          f"trunk saw Call-ID {trunk_ids}, caller sent {caller_ids}")
    check(all(i.startswith("pt") for i in trunk_ids), f"not a Portico Call-ID: {trunk_ids}")
    ctx.finish_portico()


@e2e_test(k=91, portico_only=True)
def test_ipv6_udp_caller_tcp_trunk(ctx):
    """UAC over UDP to [::1] -> Portico -> trunk over TCP on [::1]."""
    v6_call(ctx, "u1", "tcp")


@e2e_test(k=92, portico_only=True)
def test_ipv6_tcp_caller_udp_trunk(ctx):
    """UAC over TCP to [::1] -> Portico -> trunk over UDP on [::1]."""
    v6_call(ctx, "t1", "udp")


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
