#!/usr/bin/env python3
"""200 calls at 20 calls/s through Portico: no failed call, and no state left afterwards.

    python3 tests/e2e/test_load.py --portico build/src/portico
"""

import sys

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

from calls import one_call
from harness import e2e_test, run_tests


@e2e_test(k=71, timeout=150)
def test_200_calls_at_20cps(ctx):
    """sipp -m 200 -r 20, 1 s calls (about 20 in progress at once); every call must succeed on
    both sipp peers, then SIGUSR1 must show zero calls and transactions on every shard."""
    one_call(ctx, "uac_basic.xml", "uas_basic.xml", calls=200, rate=20, duration_ms=1000,
             uac_timeout_s=60)


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
