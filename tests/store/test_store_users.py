from __future__ import annotations

from dataclasses import replace
from datetime import UTC
from datetime import datetime

import pytest

from scim_bridge.store import GroupRecord
from scim_bridge.store import Membership
from scim_bridge.store import Store
from scim_bridge.store import StoreConflict
from scim_bridge.store import StoreNotFound
from scim_bridge.store import Suspension
from scim_bridge.store import UserRecord
from tests.store.store_fakes import FakeClock


def make_user(user_id: str = "u1", name: str = "Alice@Example.com", **kw: object) -> UserRecord:
    upstream = {"id": user_id, "username": name.lower(), "full_name": "Alice", "role": "User"}
    return UserRecord(id=user_id, user_name=name, upstream=upstream, **kw)  # type: ignore[arg-type]


def test_insert_sets_version_and_timestamps(store: Store, clock: FakeClock) -> None:
    created = datetime(2023, 5, 1, tzinfo=UTC)
    stored = store.upsert_user(make_user(created=created, external_id="ext-1", scim={"title": "x"}))
    assert stored.version == 1
    assert stored.created == created
    assert stored.last_modified == clock.now
    assert stored.username_lower == "alice@example.com"
    assert store.get_user("u1") == stored
    assert stored.created.tzinfo is not None and stored.last_modified.utcoffset().total_seconds() == 0


def test_upsert_without_change_keeps_version(store: Store, clock: FakeClock) -> None:
    first = store.upsert_user(make_user(scim={"a": [1, 2]}))
    clock.advance()
    again = store.upsert_user(make_user(scim={"a": (1, 2)}, created=clock.now))
    assert again.version == 1
    assert again.last_modified == first.last_modified
    assert again.created == first.created


@pytest.mark.parametrize(
    "change",
    [
        {"user_name": "ALICE@example.com"},
        {"external_id": "e"},
        {"scim": {"active": False}},
        {"upstream": {"id": "u1", "role": "Admin"}},
    ],
)
def test_each_content_change_bumps_version(store: Store, clock: FakeClock, change: dict[str, object]) -> None:
    first = store.upsert_user(make_user())
    clock.advance(5)
    second = store.upsert_user(replace(first, **change))  # type: ignore[arg-type]
    assert second.version == 2
    assert second.last_modified == clock.now
    assert second.created == first.created
    assert store.get_user("u1") == second


def test_synced_at_alone_does_not_bump(store: Store, clock: FakeClock) -> None:
    first = store.upsert_user(make_user())
    clock.advance()
    second = store.upsert_user(replace(first, synced_at=clock.now))
    assert second.version == 1
    assert second.synced_at == clock.now


def test_username_lookup_is_case_insensitive(store: Store) -> None:
    store.upsert_user(make_user(name="Alice@Example.com"))
    found = store.get_user_by_username("aLiCe@EXAMPLE.com")
    assert found is not None and found.user_name == "Alice@Example.com"
    assert store.get_user_by_username("bob@example.com") is None


def test_same_username_other_id_conflicts(store: Store) -> None:
    store.upsert_user(make_user("u1", "alice@example.com"))
    with pytest.raises(StoreConflict):
        store.upsert_user(make_user("u2", "ALICE@example.com"))
    assert store.get_user("u2") is None
    assert store.count_users() == 1


def test_expected_version(store: Store) -> None:
    first = store.upsert_user(make_user())
    second = store.upsert_user(replace(first, scim={"x": 1}), expected_version=1)
    assert second.version == 2
    with pytest.raises(StoreConflict):
        store.upsert_user(replace(first, scim={"x": 2}), expected_version=1)
    with pytest.raises(StoreNotFound):
        store.upsert_user(make_user("nobody", "nobody"), expected_version=1)


def test_users_are_listed_in_creation_order(store: Store, clock: FakeClock) -> None:
    store.upsert_user(make_user("b", "b", external_id="same", created=clock.now))
    clock.advance()
    store.upsert_user(make_user("a", "a", external_id="same", created=clock.now))
    store.upsert_user(make_user("c", "c", external_id="other", created=clock.now))
    assert [u.id for u in store.list_users()] == ["b", "a", "c"]
    assert [u.id for u in store.list_users(offset=1, limit=1)] == ["a"]
    assert store.count_users() == 3
    assert set(store.get_users(["a", "c", "zz"])) == {"a", "c"}


def test_delete_user_removes_memberships_and_suspension(store: Store, clock: FakeClock) -> None:
    store.upsert_user(make_user())
    store.upsert_group(GroupRecord(id="t1", kind="team", display_name="Ops"))
    group = store.set_members("t1", [Membership("t1", "u1", "admin")])
    store.put_suspension(Suspension("u1", "Admin", [{"id": "t1", "role": "admin"}]))
    clock.advance()
    assert store.delete_user("u1") is True
    assert store.get_user("u1") is None
    assert store.members_of("t1") == []
    assert store.get_suspension("u1") is None
    after = store.get_group("t1")
    assert after is not None and after.version == group.version + 1
    assert store.delete_user("u1") is False


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive"):
        store.upsert_user(make_user(created=datetime(2024, 1, 1)))


def test_empty_username_is_refused(store: Store) -> None:
    with pytest.raises(ValueError):
        store.upsert_user(UserRecord(id="u1", user_name=""))
