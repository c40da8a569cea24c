"""One replica hammering the shared rate budget: ``python budget_worker.py URL COUNT``.

Prints ``ready`` once started and waits for a line on stdin (the test sends it when every worker is ready,
so that they contend), acquires COUNT slots in the "configuration" domain, and prints the slot times it was
granted as JSON.
"""

from __future__ import annotations

import json
import sys
import time

from scim_bridge.opsgenie.ratelimit import CONFIGURATION
from scim_bridge.ratewindow import RateLimit
from scim_bridge.store.budget import DatabaseRateBudget
from scim_bridge.store.engine import create_store_engine

# The limits every worker (and the test's check) uses: 3 per 0.3 s and 8 per second.
LIMITS = {CONFIGURATION: (RateLimit(3, 0.3), RateLimit(8, 1.0))}


def main() -> None:
    url, count = sys.argv[1], int(sys.argv[2])
    granted: list[float] = []
    engine = create_store_engine(url)
    budget = DatabaseRateBudget(
        engine,
        LIMITS,
        margin=0.01,
        on_grant=lambda _domain, at: granted.append(at),
    )
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(count):
        budget.acquire(CONFIGURATION, time.monotonic() + 60)
    engine.dispose()
    print(json.dumps(granted))


if __name__ == "__main__":
    main()
