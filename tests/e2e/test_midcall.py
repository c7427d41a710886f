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


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
