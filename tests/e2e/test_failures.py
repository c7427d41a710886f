#!/usr/bin/env python3
"""Calls that do not connect: CANCEL before answer, 486 relayed, 488 relayed and named as a likely
codec mismatch with the offered codecs, 503 failover to the backup trunk.

    python3 tests/e2e/test_failures.py --portico build/src/portico
"""

import sys
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

from calls import count_invites, one_call
from harness import assert_sipp, check, e2e_test, run_tests


@e2e_test(k=31)
def test_cancel_before_answer(ctx):
    """UAS rings (180) and never answers; the UAC CANCELs: 200 for the CANCEL, 487 relayed, ACK."""
    uac, uas = one_call(ctx, "uac_cancel.xml", "uas_ring_no_answer.xml")
    check(len(uas.requests_received("CANCEL")) >= 1, "the UAS never received a CANCEL")


@e2e_test(k=32)
def test_busy_486_relayed(ctx):
    """UAS answers 486 Busy Here; the caller must get 486 (not another code), then ACKs."""
    uac, uas = one_call(ctx, "uac_busy.xml", "uas_busy.xml")
    finals = [m.first_line for m in uac.received() if m.first_line.startswith("SIP/2.0 ")
              and not m.first_line.startswith("SIP/2.0 1")]
    check(finals and all(f.startswith("SIP/2.0 486") for f in finals),
          f"caller's final responses: {finals}")


@e2e_test(k=34)
def test_not_acceptable_488_names_the_codecs(ctx):
    """The callee refuses the caller's PCMU offer with 488: the caller gets 488, and Portico's log
    says call.not_acceptable with the offered codecs, so the mismatch is named without a trace."""
    uas_488 = ctx.dir / "uas_488.xml"
    uac_488 = ctx.dir / "uac_488.xml"
    scenarios = Path(__file__).resolve().parent / "scenarios"
    uas_488.write_text((scenarios / "uas_busy.xml").read_text()
                       .replace("486 Busy Here", "488 Not Acceptable Here"))
    uac_488.write_text((scenarios / "uac_busy.xml").read_text()
                       .replace('response="486"', 'response="488"'))
    check('response="488"' in uac_488.read_text() and "488 Not" in uas_488.read_text(),
          "scenario templates changed: cannot derive the 488 pair from the 486 one")
    uac, uas = one_call(ctx, str(uac_488), str(uas_488))
    if ctx.direct:
        return
    named = ctx.portico.grep("event=call.not_acceptable")
    check(named and "status=488" in named[0] and "offered=PCMU" in named[0]
          and "target=primary" in named[0], f"488 not named with the offered codecs: {named}")


@e2e_test(k=33)
def test_failover_503_to_backup(ctx):
    """Primary trunk answers 503: Portico tries the backup trunk (next route target), which answers
    200; the call completes. The primary sees exactly one INVITE, the backup one; the caller never
    sees the 503."""
    net = ctx.net
    if ctx.direct:
        # Validate both halves separately: 503 peer pair, then the basic pair on the backup IP.
        prim = ctx.sipp("primary", "uas_503.xml", net.primary).start()
        u1 = ctx.sipp("uac503", "uac_expect_503.xml", net.uac, remote=f"{net.primary}:5060")
        u1.run()
        prim.wait(timeout=10)
        assert_sipp(u1, 1)
        assert_sipp(prim, 1)
        back = ctx.sipp("backup", "uas_basic.xml", net.backup, duration_ms=200).start()
        u2 = ctx.sipp("uac", "uac_basic.xml", net.uac, remote=f"{net.backup}:5060",
                      duration_ms=200)
        u2.run()
        back.wait(timeout=10)
        assert_sipp(u2, 1)
        assert_sipp(back, 1)
        return
    ctx.start_portico()
    prim = ctx.sipp("primary", "uas_503.xml", net.primary).start()
    back = ctx.sipp("backup", "uas_basic.xml", net.backup, duration_ms=200).start()
    uac = ctx.sipp("uac", "uac_basic.xml", net.uac, remote=ctx.access_target(), duration_ms=200)
    uac.run()
    prim.wait(timeout=10)
    back.wait(timeout=10)
    print(f"    {uac.describe()}; {prim.describe()}; {back.describe()}", flush=True)
    n_prim, n_back = count_invites(prim), count_invites(back)
    raw_prim = len(prim.requests_received("INVITE"))
    print(f"    INVITE transactions: primary={n_prim} (raw {raw_prim}), backup={n_back}")
    assert_sipp(uac, 1)
    assert_sipp(prim, 1)
    assert_sipp(back, 1)
    check(n_prim == 1, f"primary trunk saw {n_prim} INVITE transactions, expected exactly 1")
    check(n_back == 1, f"backup trunk saw {n_back} INVITE transactions, expected exactly 1")
    got503 = [m.first_line for m in uac.received() if m.first_line.startswith("SIP/2.0 503")]
    check(not got503, f"the caller received the primary's 503: {got503}")
    ctx.finish_portico()


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
