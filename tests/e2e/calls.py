"""Shared building blocks for the call tests: one UAC on the access side, Portico, one or two UAS on
the carrier side (or the reverse for inbound calls)."""

from __future__ import annotations

from harness import Ctx, Sipp, assert_sipp, assert_topology_hidden


def one_call(ctx: Ctx, uac_scenario: str, uas_scenario: str, *, policy: str | None = None,
             uac_transport: str = "u1", uas_transport: str = "u1", duration_ms: int = 200,
             topology: bool = False, calls: int = 1, rate: float | None = None,
             uac_timeout_s: int = 30) -> tuple[Sipp, Sipp]:
    """UAC (127.0.k.10) -> Portico access listener -> primary trunk UAS (127.0.k.20).
    Asserts both sipp exit 0 with `calls` successful calls, optionally topology hiding, then the
    zero-state check and a clean SIGTERM exit."""
    net = ctx.net
    ctx.start_portico(policy)
    uas = ctx.sipp("uas", uas_scenario, net.primary, transport=uas_transport, calls=calls,
                   duration_ms=duration_ms, global_timeout_s=uac_timeout_s + 10).start()
    uac = ctx.sipp("uac", uac_scenario, net.uac, remote=ctx.access_target(),
                   transport=uac_transport, calls=calls, rate=rate, duration_ms=duration_ms,
                   global_timeout_s=uac_timeout_s)
    uac.run()
    uas.wait(timeout=10)
    print(f"    {uac.describe()}; {uas.describe()}", flush=True)
    assert_sipp(uac, calls)
    assert_sipp(uas, calls)
    if topology and not ctx.direct:
        assert_topology_hidden(ctx.portico, uac, net.uac, uas, net.primary, ctx=ctx)
    ctx.finish_portico()
    return uac, uas


def count_invites(s: Sipp) -> int:
    """Initial INVITEs (no To tag) the sipp peer received, retransmissions included once per branch."""
    branches = set()
    for m in s.requests_received("INVITE"):
        to = " ".join(m.header("To") + m.header("t"))
        if ";tag=" in to:
            continue
        via = (m.header("Via") + m.header("v") + [""])[0]
        branches.add(via)
    return len(branches)
