from __future__ import annotations

from dataclasses import replace

import pytest

from scim_bridge.store import GroupRecord
from scim_bridge.store import Store
from scim_bridge.store import StoreConflict
from tests.store.store_fakes import FakeClock


def test_group_upsert_and_versions(store: Store, clock: FakeClock) -> None:
    first = store.upsert_group(GroupRecord(id="t1", kind="team", display_name="Ops", upstream={"a": 1}))
    assert first.version == 1 and first.members_known is False
    clock.advance()
    same = store.upsert_group(replace(first, members_known=True))
    assert same.version == 1 and same.members_known is True
    renamed = store.upsert_group(replace(same, display_name="Operations"))
    assert renamed.version == 2 and renamed.last_modified == clock.now
    assert renamed.created == first.created


def test_lookup_by_name_is_case_insensitive_per_kind(store: Store) -> None:
    store.upsert_group(GroupRecord(id="t1", kind="team", display_name="Admin"))
    store.upsert_group(GroupRecord(id="r1", kind="role", display_name="admin"))
    team = store.get_group_by_name("team", "ADMIN")
    role = store.get_group_by_name("role", "Admin")
    assert team is not None and team.id == "t1" and team.display_name == "Admin"
    assert role is not None and role.id == "r1"
    assert store.get_group_by_name("team", "nope") is None


def test_same_name_same_kind_conflicts(store: Store) -> None:
    store.upsert_group(GroupRecord(id="t1", kind="team", display_name="Ops"))
    with pytest.raises(StoreConflict):
        store.upsert_group(GroupRecord(id="t2", kind="team", display_name="OPS"))


def test_unknown_kind_is_refused(store: Store) -> None:
    with pytest.raises(ValueError):
        store.upsert_group(GroupRecord(id="x", kind="squad", display_name="x"))


def test_list_find_count_delete(store: Store, clock: FakeClock) -> None:
    store.upsert_group(
        GroupRecord(id="t2", kind="team", display_name="B", external_id="e", created=clock.now)
    )
    clock.advance()
    store.upsert_group(GroupRecord(id="t1", kind="team", display_name="A", created=clock.now))
    role = GroupRecord(id="r1", kind="role", display_name="A", external_id="e", created=clock.now)
    store.upsert_group(role)
    assert [g.id for g in store.list_groups()] == ["t2", "r1", "t1"]
    assert [g.id for g in store.list_groups("team")] == ["t2", "t1"]
    assert [g.id for g in store.list_groups("role")] == ["r1"]
    assert store.count_groups() == 3 and store.count_groups("team") == 2
    assert [g.id for g in store.find_groups_by_external_id("e")] == ["t2", "r1"]
    assert set(store.get_groups(["t1", "x"])) == {"t1"}
    assert store.delete_group("t1") is True
    assert store.delete_group("t1") is False
    assert store.get_group("t1") is None
