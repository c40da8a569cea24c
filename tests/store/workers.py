"""What the other processes of the store tests do (run by tests/processes.py's ``run_together``)."""

from __future__ import annotations

from pathlib import Path

from scim_bridge.service.writes import WriteLocks
from scim_bridge.store import Membership
from scim_bridge.store import Store
from scim_bridge.store import UserRecord


def migrate(url: str) -> None:
    store = Store.from_url(url)
    try:
        store.upgrade()
    finally:
        store.close()


def write_users(url: str, worker: int, count: int) -> None:
    """``count`` users of their own, each added to team t1."""
    store = Store.from_url(url)
    try:
        for n in range(count):
            store.upsert_user(UserRecord(id=f"p{worker}-{n}", user_name=f"proc{worker}-{n}"))
            store.add_members("t1", [Membership("t1", f"p{worker}-{n}", "user")])
    finally:
        store.close()


def count_under_lock(url: str, key: str, counter_file: str, times: int) -> None:
    """Add one to the number in ``counter_file``, ``times`` times, each under ``key``'s write lock."""
    counter = Path(counter_file)
    store = Store.from_url(url)
    try:
        locks = WriteLocks(store, wait_budget=60)
        for _ in range(times):
            with locks.hold(key):
                counter.write_text(str(int(counter.read_text()) + 1))
    finally:
        store.close()
