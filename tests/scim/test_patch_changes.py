"""PatchResult tells which values (group members above all) a PATCH added and removed, net of the whole request."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from scim_bridge.scim.errors import Mutability
from scim_bridge.scim.patch import PatchResult
from scim_bridge.scim.patch import ValueChanges
from scim_bridge.scim.patch import apply_patch
from scim_bridge.scim.patch import value_changes
from scim_bridge.scim.schema import CORE_GROUP
from scim_bridge.scim.schema import CORE_USER
from scim_bridge.scim.schema import GROUP
from scim_bridge.scim.schema import USER

MEMBERS = GROUP.schema.attribute("members")


def group(*ids: str) -> dict[str, Any]:
    return {
        "schemas": [CORE_GROUP],
        "id": "g-1",
        "displayName": "Ops",
        "members": [{"value": uid, "display": f"User {uid}"} for uid in ids],
    }


def patch(resource: dict[str, Any], *operations: dict[str, Any]) -> PatchResult:
    return apply_patch(resource, list(operations), GROUP)


def changes(result: PatchResult) -> tuple[list[str], list[str]]:
    return result.values_added("members"), result.values_removed("members")


def add(*ids: str) -> dict[str, Any]:
    return {"op": "add", "path": "members", "value": [{"value": uid} for uid in ids]}


def remove(uid: str) -> dict[str, Any]:
    return {"op": "remove", "path": f'members[value eq "{uid}"]'}


def test_adding_a_member_records_it() -> None:
    result = patch(group("u-1", "u-2"), add("u-3"))
    assert changes(result) == (["u-3"], [])
    assert result.values == {"members": ValueChanges(added=("u-3",))}


def test_adding_members_already_there_records_nothing() -> None:
    result = patch(group("u-1", "u-2"), add("u-2", "u-1"))
    assert changes(result) == ([], [])
    assert result.values == {}


def test_one_member_added_twice_in_one_value_is_recorded_once() -> None:
    assert changes(patch(group("u-1"), add("u-3", "u-3"))) == (["u-3"], [])


def test_a_filtered_remove_records_the_member() -> None:
    """Okta and Entra name the member to remove with a value filter."""
    result = patch(group("u-1", "u-2"), remove("u-2"))
    assert changes(result) == ([], ["u-2"])
    assert [m["value"] for m in result.resource["members"]] == ["u-1"]


def test_a_remove_filtered_on_another_sub_attribute_records_the_member() -> None:
    assert changes(patch(group("u-1", "u-2"), {"op": "remove", "path": 'members[display eq "user u-1"]'})) == (
        [], ["u-1"])


def test_a_filtered_remove_matching_nothing_records_nothing() -> None:
    assert changes(patch(group("u-1"), remove("u-9"))) == ([], [])


def test_a_remove_by_value_list_records_the_members() -> None:
    """Entra's default: ``remove`` of ``members`` with the members to drop as its value."""
    operation = {"op": "Remove", "path": "members", "value": [{"value": "u-1"}, {"value": "u-9"}]}
    assert changes(patch(group("u-1", "u-2"), operation)) == ([], ["u-1"])


def test_removing_the_whole_list_records_every_member() -> None:
    assert changes(patch(group("u-1", "u-2"), {"op": "remove", "path": "members"})) == ([], ["u-1", "u-2"])


def test_replacing_the_whole_list_records_the_difference() -> None:
    operation = {"op": "replace", "path": "members", "value": [{"value": "u-2"}, {"value": "u-4"}]}
    assert changes(patch(group("u-1", "u-2"), operation)) == (["u-4"], ["u-1"])


def test_a_pathless_replace_records_the_difference() -> None:
    operation = {"op": "replace", "value": {"displayName": "Ops 2", "members": [{"value": "u-3"}]}}
    result = patch(group("u-1"), operation)
    assert changes(result) == (["u-3"], ["u-1"])
    assert result.changed == ("displayName", "members")


def test_replacing_with_an_empty_list_removes_every_member() -> None:
    assert changes(patch(group("u-1", "u-2"), {"op": "replace", "path": "members", "value": []})) == (
        [], ["u-1", "u-2"])


def test_a_member_added_then_removed_in_one_request_is_in_neither_list() -> None:
    assert changes(patch(group("u-1"), add("u-3"), remove("u-3"))) == ([], [])


def test_a_member_removed_then_added_back_is_in_neither_list() -> None:
    result = patch(group("u-1", "u-2"), remove("u-1"), add("u-1"))
    assert changes(result) == ([], [])
    assert sorted(m["value"] for m in result.resource["members"]) == ["u-1", "u-2"]


def test_roster_and_whole_list_operations_combine() -> None:
    """The first and last operations go through the member index, the middle one through the list."""
    result = patch(
        group("u-1", "u-2"),
        add("u-3"),
        {"op": "replace", "path": "members", "value": [{"value": "u-3"}, {"value": "u-5"}]},
        remove("u-5"),
        add("u-2"),
    )
    assert changes(result) == (["u-3"], ["u-1"])


def test_a_rename_alone_records_no_member_change() -> None:
    result = patch(group("u-1"), {"op": "replace", "path": "displayName", "value": "Ops 2"})
    assert result.modified
    assert changes(result) == ([], [])


def test_a_failing_request_yields_no_result_and_leaves_the_resource_untouched() -> None:
    resource = group("u-1")
    with pytest.raises(Mutability):
        patch(resource, add("u-2"), {"op": "replace", "path": 'members[value eq "u-1"].value', "value": "u-9"})
    assert resource == group("u-1")


def test_the_attribute_is_named_in_any_case() -> None:
    result = patch(group("u-1"), add("u-2"))
    assert result.changes_of("MEMBERS") == ValueChanges(added=("u-2",))
    assert result.changes_of("emails") == ValueChanges()
    assert not result.changes_of("emails")


def test_other_multi_valued_attributes_are_recorded_with_their_case_rules() -> None:
    """E-mail values are not caseExact: a new spelling of the same address is no change."""
    user = {"schemas": [CORE_USER], "id": "u-1", "userName": "jane@example.com",
            "emails": [{"value": "jane@example.com", "type": "work"}]}
    operations = [
        {"op": "replace", "path": "emails", "value": [{"value": "JANE@example.com", "type": "work"},
                                                      {"value": "j@example.org", "type": "home"}]},
    ]
    result = apply_patch(user, operations, USER)
    assert result.values == {"emails": ValueChanges(added=("j@example.org",))}


def test_value_changes_compares_two_lists_for_a_replacement() -> None:
    before = [{"value": "u-1"}, {"value": "u-2"}]
    after = [{"value": "u-2"}, {"value": "u-3"}, {"value": "u-3"}]
    assert value_changes(MEMBERS, before, after) == ValueChanges(added=("u-3",), removed=("u-1",))
    assert value_changes(MEMBERS, None, []) == ValueChanges()


# ---------------------------------------------------------------------------------------------------------
# Whatever the operations, the record is what a comparison of the documents would say.

_IDS = st.sampled_from([f"u-{n}" for n in range(6)])
_OPERATIONS = st.one_of(
    st.lists(_IDS, min_size=1, max_size=3).map(lambda ids: add(*ids)),
    _IDS.map(remove),
    st.lists(_IDS, min_size=1, max_size=3).map(
        lambda ids: {"op": "remove", "path": "members", "value": [{"value": uid} for uid in ids]}),
    st.lists(_IDS, max_size=4).map(
        lambda ids: {"op": "replace", "path": "members", "value": [{"value": uid} for uid in ids]}),
    _IDS.map(lambda uid: {"op": "remove", "path": f'members[value sw "{uid}"]'}),
    st.just({"op": "remove", "path": "members"}),
    st.lists(_IDS, max_size=3).map(
        lambda ids: {"op": "add", "value": {"members": [{"value": uid} for uid in ids]}}),
)


def _ids(resource: dict[str, Any]) -> list[str]:
    return [m["value"] for m in resource.get("members") or []]


@settings(max_examples=300, deadline=None)
@given(st.lists(_IDS, unique=True, max_size=5), st.lists(_OPERATIONS, min_size=1, max_size=6))
def test_the_record_agrees_with_the_documents(start: list[str], operations: list[dict[str, Any]]) -> None:
    result = patch(group(*start), *operations)
    after = _ids(result.resource)
    added, removed = changes(result)
    assert sorted(added) == sorted(set(after) - set(start))
    assert sorted(removed) == sorted(set(start) - set(after))
    assert len(set(added)) == len(added) and len(set(removed)) == len(removed)
    assert ("members" in result.changed) or not (added or removed)
