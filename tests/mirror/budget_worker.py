"""One replica hammering the shared rate budget, in a process of its own (run by tests/processes.py's
``run_together``, which starts the replicas at once so that they contend): ``take_slots`` acquires COUNT slots in
the "configuration" domain and writes the slot times it was granted to a file, as JSON.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from scim_bridge.opsgenie.ratelimit import CONFIGURATION
from scim_bridge.ratewindow import RateLimit
from scim_bridge.store.budget import DatabaseRateBudget
from scim_bridge.store.engine import create_store_engine

# The limits every worker (and the test's check) uses: 3 per 0.3 s and 8 per second.
LIMITS = {CONFIGURATION: (RateLimit(3, 0.3), RateLimit(8, 1.0))}
# What the engine loads when it first connects: imported before the fork instead of once per process.
DRIVERS = ["sqlalchemy.dialects.sqlite.pysqlite", "sqlalchemy.dialects.postgresql.psycopg", "psycopg"]


def take_slots(url: str, count: int, out: str) -> None:
    granted: list[float] = []
    engine = create_store_engine(url)
    budget = DatabaseRateBudget(
        engine,
        LIMITS,
        margin=0.01,
        on_grant=lambda _domain, at: granted.append(at),
    )
    for _ in range(count):
        budget.acquire(CONFIGURATION, time.monotonic() + 60)
    engine.dispose()
    Path(out).write_text(json.dumps(granted))
