from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from scim_bridge.store import GroupRecord
from scim_bridge.store import Membership
from scim_bridge.store import Store
from scim_bridge.store import StoreConflict
from scim_bridge.store import Suspension
from scim_bridge.store import SyncGroup
from scim_bridge.store import SyncUser
from scim_bridge.store import UserRecord
from tests.store.store_fakes import FakeClock


def up(user_id: str, username: str, **extra: Any) -> SyncUser:
    return SyncUser(user_id, username, {"id": user_id, "username": username, "role": "User", **extra})


def team(group_id: str, name: str, members: list[tuple[str, str]] | None) -> SyncGroup:
    roster = None if members is None else [Membership(group_id, u, r) for u, r in members]
    return SyncGroup(group_id, "team", name, {"id": group_id, "name": name}, roster)


def test_first_sync_adds_everything(store: Store, clock: FakeClock) -> None:
    stats = store.apply_sync(
        [up("u1", "alice@x.com"), up("u2", "bob@x.com")],
        [team("t1", "Ops", [("u1", "admin"), ("u2", "user")]), SyncGroup("r1", "role", "Admin", {}, None)],
    )
    assert (stats.users_added, stats.groups_added, stats.memberships_added) == (2, 2, 2)
    user = store.get_user("u1")
    assert user is not None and user.version == 1 and user.synced_at == clock.now
    assert user.upstream["username"] == "alice@x.com" and user.scim == {} and user.external_id is None
    ops = store.get_group("t1")
    assert ops is not None and ops.members_known and ops.version == 1
    role = store.get_group("r1")
    assert role is not None and not role.members_known and role.kind == "role"
    assert [m.user_id for m in store.members_of("t1")] == ["u1", "u2"]


def test_resync_keeps_bridge_held_fields(store: Store, clock: FakeClock) -> None:
    store.apply_sync([up("u1", "alice@x.com")], [team("t1", "Ops", [("u1", "user")])])
    user = store.get_user("u1")
    assert user is not None
    store.upsert_user(replace(user, user_name="Alice@X.com", external_id="okta-1", scim={"title": "SRE"}))
    group = store.get_group("t1")
    assert group is not None
    store.upsert_group(replace(group, display_name="OPS", external_id="g-1", scim={"note": 1}))
    clock.advance()

    same = store.apply_sync([up("u1", "alice@x.com")], [team("t1", "Ops", [("u1", "user")])])
    assert (same.users_unchanged, same.groups_unchanged, same.users_updated) == (1, 1, 0)
    kept = store.get_user("u1")
    assert kept is not None
    assert (kept.user_name, kept.external_id, kept.scim, kept.version) == (
        "Alice@X.com",
        "okta-1",
        {"title": "SRE"},
        2,
    )
    assert kept.synced_at == clock.now
    kept_group = store.get_group("t1")
    assert kept_group is not None
    assert (kept_group.display_name, kept_group.external_id, kept_group.version) == ("OPS", "g-1", 2)

    clock.advance()
    changed = store.apply_sync([up("u1", "alice@x.com", role="Admin")], None)
    assert changed.users_updated == 1
    updated = store.get_user("u1")
    assert updated is not None
    assert updated.version == 3 and updated.last_modified == clock.now
    assert updated.upstream["role"] == "Admin"
    assert (updated.user_name, updated.external_id, updated.scim) == (
        "Alice@X.com",
        "okta-1",
        {"title": "SRE"},
    )


def test_rename_upstream_replaces_user_name(store: Store) -> None:
    store.apply_sync([up("u1", "alice@x.com")], None)
    store.apply_sync([up("u1", "alice.smith@x.com")], None)
    user = store.get_user("u1")
    assert user is not None and user.user_name == "alice.smith@x.com" and user.version == 2
    assert store.get_user_by_username("alice@x.com") is None


def test_username_swap_between_users(store: Store) -> None:
    store.apply_sync([up("u1", "a@x.com"), up("u2", "b@x.com")], None)
    store.apply_sync([up("u1", "b@x.com"), up("u2", "a@x.com")], None)
    by_name = store.get_user_by_username("a@x.com")
    assert by_name is not None and by_name.id == "u2"


def test_removed_upstream_is_deleted(store: Store) -> None:
    store.apply_sync(
        [up("u1", "a"), up("u2", "b")],
        [team("t1", "Ops", [("u1", "user"), ("u2", "user")]), team("t2", "Dev", None)],
    )
    store.put_suspension(Suspension("u2", "User", []))
    stats = store.apply_sync([up("u1", "a")], [team("t1", "Ops", None)])
    assert (stats.users_removed, stats.groups_removed) == (1, 1)
    assert store.get_user("u2") is None and store.get_suspension("u2") is None
    assert store.get_group("t2") is None
    assert store.members_of("t1") == [Membership("t1", "u1", "user")]
    group = store.get_group("t1")
    assert group is not None and group.version == 2 and group.members_known


def test_rosters(store: Store) -> None:
    store.apply_sync([up("u1", "a"), up("u2", "b"), up("u3", "c")], [team("t1", "Ops", [("u1", "user")])])
    stats = store.apply_sync(
        [up("u1", "a"), up("u2", "b"), up("u3", "c")],
        [team("t1", "Ops", [("u1", "admin"), ("u2", "user"), ("ghost", "user")])],
    )
    assert (stats.memberships_added, stats.memberships_changed, stats.memberships_ignored) == (1, 1, 1)
    assert store.members_of("t1") == [Membership("t1", "u1", "admin"), Membership("t1", "u2", "user")]
    group = store.get_group("t1")
    assert group is not None and group.version == 2
    stats = store.apply_sync(
        [up("u1", "a"), up("u2", "b"), up("u3", "c")], [team("t1", "Ops", [("u3", "user")])]
    )
    assert (stats.memberships_added, stats.memberships_removed) == (1, 2)
    assert store.members_of("t1") == [Membership("t1", "u3", "user")]
    # A snapshot without the roster leaves it alone.
    store.apply_sync(None, [team("t1", "Ops", None)])
    assert store.members_of("t1") == [Membership("t1", "u3", "user")]


def test_group_kinds_limit_deletions(store: Store) -> None:
    store.apply_sync([], [team("t1", "Ops", None), SyncGroup("r1", "role", "Admin", {}, None)])
    store.apply_sync(None, [team("t2", "Dev", None)], group_kinds=["team"])
    assert store.get_group("t1") is None
    assert store.get_group("r1") is not None and store.get_group("t2") is not None


def test_rows_newer_than_the_snapshot_are_left_alone(store: Store, clock: FakeClock) -> None:
    store.apply_sync([up("u1", "a")], None)
    started = clock.advance()
    clock.advance()
    store.upsert_user(UserRecord(id="u9", user_name="new", created=clock.now))
    current = store.get_user("u1")
    assert current is not None
    store.upsert_user(replace(current, scim={"changed": True}))
    stats = store.apply_sync([up("u1", "a", role="Admin")], None, started_at=started)
    assert stats.users_skipped == 1 and stats.users_removed == 0
    assert store.get_user("u9") is not None
    user = store.get_user("u1")
    assert user is not None and user.upstream["role"] == "User"


def test_colliding_upstream_names_conflict(store: Store) -> None:
    store.apply_sync([up("u1", "a")], None)
    with pytest.raises(StoreConflict):
        store.apply_sync([up("u1", "a"), up("u2", "A")], None)
    assert store.count_users() == 1


def test_not_inside_transaction(store: Store) -> None:
    with pytest.raises(Exception, match="own transaction"), store.transaction():
        store.apply_sync([], None)


def test_members_known_default_for_new_group(store: Store) -> None:
    store.upsert_group(GroupRecord(id="t1", kind="team", display_name="Ops", members_known=True))
    store.apply_sync(None, [team("t1", "Ops", None), team("t2", "Dev", None)])
    t1, t2 = store.get_group("t1"), store.get_group("t2")
    assert t1 is not None and t1.members_known
    assert t2 is not None and not t2.members_known


def test_large_sync(store: Store, clock: FakeClock) -> None:
    """10,000 users and 500 teams of 20 members each, added then left unchanged."""
    users = [up(f"user-{n:05d}", f"user{n}@example.com", full_name=f"User {n}") for n in range(10_000)]
    groups = [
        team(f"team-{t:03d}", f"Team {t}", [(f"user-{(t * 20 + k) % 10_000:05d}", "user") for k in range(20)])
        for t in range(500)
    ]
    stats = store.apply_sync(users, groups)
    assert (stats.users_added, stats.groups_added, stats.memberships_added) == (10_000, 500, 10_000)
    assert store.count_users() == 10_000
    assert len(store.members_of("team-499")) == 20
    clock.advance()
    again = store.apply_sync(users, groups)
    assert (again.users_unchanged, again.groups_unchanged, again.memberships_added) == (10_000, 500, 0)
    sample = store.get_user("user-01234")
    assert sample is not None and sample.version == 1 and sample.synced_at == clock.now
    clock.advance()
    users[5] = up("user-00005", "user5@example.com", full_name="Renamed")
    third = store.apply_sync(users[:9_000], groups)
    assert (third.users_updated, third.users_removed) == (1, 1_000)
    assert store.count_users() == 9_000
    assert sum(len(v) for v in store.members_for_groups([g.id for g in groups]).values()) == 9_000
