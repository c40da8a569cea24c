from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from scim_bridge.store import GroupRecord
from scim_bridge.store import Membership
from scim_bridge.store import Store
from scim_bridge.store import StoreConflict
from scim_bridge.store import UserRecord
from tests.processes import run_together
from tests.store.workers import write_users

THREADS = 8


def run_threads(count: int, target: Callable[[int], Any]) -> list[Any]:
    """Run target(i) in ``count`` threads started together; return results (or exceptions)."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def body(i: int) -> None:
        barrier.wait()
        try:
            results[i] = target(i)
        except Exception as exc:  # collected for the assertions
            results[i] = exc

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_threads_upserting_one_user_never_lose_a_version(store_url: str) -> None:
    store = Store.from_url(store_url)
    rounds = 15

    def work(i: int) -> None:
        for j in range(rounds):
            store.upsert_user(UserRecord(id="u1", user_name="shared", scim={"writer": i, "round": j}))

    try:
        results = run_threads(THREADS, work)
        assert [r for r in results if r is not None] == []
        user = store.get_user("u1")
        assert user is not None and user.version == THREADS * rounds
    finally:
        store.close()


def test_threads_creating_one_username_get_one_winner(store_url: str) -> None:
    store = Store.from_url(store_url)
    try:
        results = run_threads(
            THREADS, lambda i: store.upsert_user(UserRecord(id=f"u{i}", user_name="Same@Example.com"))
        )
        winners = [r for r in results if isinstance(r, UserRecord)]
        assert len(winners) == 1
        assert all(isinstance(r, StoreConflict) for r in results if r not in winners)
        assert store.count_users() == 1
    finally:
        store.close()


def test_threads_racing_for_a_lease(store_url: str) -> None:
    store = Store.from_url(store_url)
    try:
        results = run_threads(THREADS, lambda i: store.try_acquire_lease("sync", f"owner-{i}", 60))
        assert results.count(True) == 1 and results.count(False) == THREADS - 1
    finally:
        store.close()


def test_threads_adding_members_to_one_group(store_url: str) -> None:
    store = Store.from_url(store_url)
    try:
        for i in range(THREADS):
            store.upsert_user(UserRecord(id=f"u{i}", user_name=f"user{i}"))
        store.upsert_group(GroupRecord(id="t1", kind="team", display_name="Ops"))
        results = run_threads(THREADS, lambda i: store.add_members("t1", [Membership("t1", f"u{i}", "user")]))
        assert all(isinstance(r, GroupRecord) for r in results)
        assert len(store.members_of("t1")) == THREADS
        group = store.get_group("t1")
        assert group is not None and group.version == 1 + THREADS
    finally:
        store.close()


def test_sync_alongside_writers(store_url: str) -> None:
    store = Store.from_url(store_url)
    snapshot = [(f"s{n}", f"synced{n}", {"n": n}) for n in range(500)]

    def work(i: int) -> None:
        if i == 0:
            for _ in range(3):
                store.apply_sync(snapshot, None)
            return
        for j in range(10):
            store.upsert_user(UserRecord(id=f"w{i}-{j}", user_name=f"writer{i}-{j}"))

    try:
        results = run_threads(4, work)
        assert [r for r in results if r is not None] == []
    finally:
        store.close()


def test_processes_writing_one_database(store_url: str) -> None:
    """Four processes each add 25 users to one team at once: none of the writes is lost."""
    store = Store.from_url(store_url)
    try:
        store.upsert_group(GroupRecord(id="t1", kind="team", display_name="Ops"))
        run_together(write_users, [(store_url, w, 25) for w in range(4)])
        assert store.count_users() == 100
        assert len(store.members_of("t1")) == 100
        group = store.get_group("t1")
        assert group is not None and group.version == 101
    finally:
        store.close()


def test_transaction_rolls_back_as_a_whole(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.upsert_user(UserRecord(id="u1", user_name="a"))
        assert store.get_user("u1") is not None
        raise RuntimeError("boom")
    assert store.get_user("u1") is None


def test_conflict_inside_transaction_can_be_handled(store: Store) -> None:
    store.upsert_user(UserRecord(id="u1", user_name="taken"))
    with store.transaction():
        with pytest.raises(StoreConflict):
            store.upsert_user(UserRecord(id="u2", user_name="TAKEN"))
        store.upsert_user(UserRecord(id="u3", user_name="free"))
        with store.transaction():
            user = store.get_user("u1")
            assert user is not None
            store.upsert_user(replace(user, scim={"nested": True}))
    assert store.get_user("u2") is None
    assert store.get_user("u3") is not None
    user = store.get_user("u1")
    assert user is not None and user.scim == {"nested": True}
