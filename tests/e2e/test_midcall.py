#!/usr/bin/env python3
"""Mid-call and early-dialog signalling: re-INVITE from either side, 100rel/PRACK.

    python3 tests/e2e/test_midcall.py --portico build/src/portico
"""

import sys

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

from calls import one_call
from harness import check, e2e_test, run_tests


@e2e_test(k=41)
def test_reinvite_from_caller(ctx):
    """Caller re-INVITEs (a=sendonly) after the call is up; the callee answers; then caller BYE."""
    uac, uas = one_call(ctx, "uac_reinvite.xml", "uas_reinvite.xml")
    check(len(uas.requests_received("INVITE")) >= 2, "the callee did not receive the re-INVITE")


@e2e_test(k=42)
def test_reinvite_from_callee(ctx):
    """Callee re-INVITEs after the call is up; the caller answers 200 + SDP; then caller BYE."""
    uac, uas = one_call(ctx, "uac_callee_reinvite.xml", "uas_callee_reinvite.xml")
    check(len(uac.requests_received("INVITE")) >= 1, "the caller did not receive the re-INVITE")


@e2e_test(k=43)
def test_100rel_prack(ctx):
    """RFC 3262: caller requires 100rel; the callee sends 183 with Require: 100rel + RSeq; the caller
    PRACKs and gets 200; then the 200 for the INVITE, ACK, BYE."""
    uac, uas = one_call(ctx, "uac_100rel.xml", "uas_100rel.xml")
    p183 = [m for m in uac.received() if m.first_line.startswith("SIP/2.0 183")]
    check(p183 and p183[0].header("RSeq"), "the caller's 183 carries no RSeq")


@e2e_test(k=44)
def test_late_offer_answered_in_prack(ctx):
    """RFC 3262 §5: the caller's INVITE has no SDP, the callee offers in a reliable 183, the caller
    answers in its PRACK; Portico carries that answer, rewritten to its own carrier media address,
    in its PRACK to the callee (never a PRACK without the answer)."""
    uac, uas = one_call(ctx, "uac_late_offer_100rel.xml", "uas_late_offer_100rel.xml")
    if ctx.direct:
        return
    pracks = uas.requests_received("PRACK")
    check(pracks and "m=audio" in pracks[0].text, "the callee's PRACK carries no SDP answer")
    check(f"c=IN IP4 {ctx.net.carrier}" in pracks[0].text and ctx.net.uac not in pracks[0].text,
          f"the answer in the callee's PRACK is not Portico's carrier media:\n{pracks[0].text}")
    offer = [m for m in uac.received() if m.first_line.startswith("SIP/2.0 183")]
    check(offer and f"c=IN IP4 {ctx.net.access}" in offer[0].text,
          "the caller's 183 offer does not name Portico's access media")


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
