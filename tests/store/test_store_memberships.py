from __future__ import annotations

import pytest

from scim_bridge.store import GroupRecord
from scim_bridge.store import Membership
from scim_bridge.store import Store
from scim_bridge.store import StoreNotFound
from scim_bridge.store import UserRecord
from tests.store.store_fakes import FakeClock


@pytest.fixture
def seeded(store: Store) -> Store:
    for n in range(1, 5):
        store.upsert_user(UserRecord(id=f"u{n}", user_name=f"user{n}"))
    store.upsert_group(GroupRecord(id="t1", kind="team", display_name="Ops"))
    store.upsert_group(GroupRecord(id="t2", kind="team", display_name="Dev"))
    store.upsert_group(GroupRecord(id="r1", kind="role", display_name="Admin"))
    return store


def version(store: Store, group_id: str) -> int:
    group = store.get_group(group_id)
    assert group is not None
    return group.version


def test_set_members_replaces_roster_and_bumps_only_on_change(seeded: Store, clock: FakeClock) -> None:
    clock.advance()
    group = seeded.set_members("t1", [Membership("t1", "u1", "admin"), Membership("t1", "u2", "user")])
    assert group.version == 2 and group.members_known and group.last_modified == clock.now
    assert seeded.members_of("t1") == [Membership("t1", "u1", "admin"), Membership("t1", "u2", "user")]
    same = seeded.set_members("t1", [Membership("t1", "u2", "user"), Membership("t1", "u1", "admin")])
    assert same.version == 2
    changed = seeded.set_members("t1", [Membership("t1", "u2", "admin"), Membership("t1", "u3", "user")])
    assert changed.version == 3
    assert seeded.members_of("t1") == [Membership("t1", "u2", "admin"), Membership("t1", "u3", "user")]


def test_add_and_remove_members(seeded: Store) -> None:
    seeded.add_members("t1", [Membership("t1", "u1", "user")])
    assert version(seeded, "t1") == 2
    group = seeded.add_members("t1", [Membership("t1", "u1", "user")])
    assert group.version == 2 and group.members_known is False
    seeded.add_members("t1", [Membership("t1", "u1", "admin"), Membership("t1", "u2", "user")])
    assert version(seeded, "t1") == 3
    assert seeded.members_of("t1") == [Membership("t1", "u1", "admin"), Membership("t1", "u2", "user")]
    assert seeded.remove_members("t1", ["u9"]).version == 3
    assert seeded.remove_members("t1", ["u1", "u9"]).version == 4
    assert seeded.members_of("t1") == [Membership("t1", "u2", "user")]


def test_bulk_lookups(seeded: Store) -> None:
    seeded.set_members("t1", [Membership("t1", "u1", "admin"), Membership("t1", "u2", "user")])
    seeded.set_members("t2", [Membership("t2", "u1", "user")])
    seeded.set_members("r1", [Membership("r1", "u1")])
    by_user = seeded.memberships_for_users(["u1", "u2", "u3"])
    assert [m.group_id for m in by_user["u1"]] == ["r1", "t1", "t2"]
    assert by_user["u2"] == [Membership("t1", "u2", "user")]
    assert by_user["u3"] == []
    by_group = seeded.members_for_groups(["t1", "t2", "nope"])
    assert [m.user_id for m in by_group["t1"]] == ["u1", "u2"]
    assert by_group["t2"] == [Membership("t2", "u1", "user")]
    assert by_group["nope"] == []
    assert [m.group_id for m in seeded.groups_of("u1")] == ["r1", "t1", "t2"]
    assert [m.group_id for m in seeded.groups_of("u1", "team")] == ["t1", "t2"]
    assert seeded.memberships_for_users([]) == {}


def test_unknown_user_or_group(seeded: Store) -> None:
    with pytest.raises(StoreNotFound):
        seeded.set_members("t1", [Membership("t1", "ghost", "user")])
    assert seeded.members_of("t1") == []
    assert version(seeded, "t1") == 1
    with pytest.raises(StoreNotFound):
        seeded.add_members("nope", [Membership("nope", "u1", "user")])
    with pytest.raises(StoreNotFound):
        seeded.set_user_groups("u1", "team", [Membership("r1", "u1")])


def test_set_user_groups(seeded: Store) -> None:
    seeded.set_members("t1", [Membership("t1", "u1", "user"), Membership("t1", "u2", "user")])
    seeded.set_members("r1", [Membership("r1", "u1")])
    before = {g: version(seeded, g) for g in ("t1", "t2", "r1")}
    changed = seeded.set_user_groups("u1", "team", [Membership("t2", "u1", "admin")])
    assert changed == ["t1", "t2"]
    assert [m.group_id for m in seeded.groups_of("u1")] == ["r1", "t2"]
    assert seeded.members_of("t1") == [Membership("t1", "u2", "user")]
    assert version(seeded, "t1") == before["t1"] + 1
    assert version(seeded, "t2") == before["t2"] + 1
    assert version(seeded, "r1") == before["r1"]
    assert seeded.set_user_groups("u1", "team", [Membership("t2", "u1", "admin")]) == []
    assert seeded.set_user_groups("u1", "role", []) == ["r1"]
    assert seeded.groups_of("u1", "role") == []


def test_deleting_group_removes_memberships(seeded: Store) -> None:
    seeded.set_members("t1", [Membership("t1", "u1", "user")])
    seeded.delete_group("t1")
    assert seeded.groups_of("u1") == []
