"""Tests for scim_bridge.scim.projection: attribute lists, ``returned`` and ``wants``."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scim_bridge.scim.errors import InvalidValue
from scim_bridge.scim.projection import Projection
from scim_bridge.scim.projection import for_response
from scim_bridge.scim.projection import parse_attribute_list
from scim_bridge.scim.projection import project
from scim_bridge.scim.projection import wants
from scim_bridge.scim.schema import CORE_GROUP
from scim_bridge.scim.schema import CORE_USER
from scim_bridge.scim.schema import ENTERPRISE_USER
from scim_bridge.scim.schema import ENTERPRISE_USER_SCHEMA
from scim_bridge.scim.schema import GROUP
from scim_bridge.scim.schema import OPSGENIE_USER
from scim_bridge.scim.schema import USER
from scim_bridge.scim.schema import Attribute
from scim_bridge.scim.schema import ResourceType
from scim_bridge.scim.schema import Schema

ENT = ENTERPRISE_USER
OG = OPSGENIE_USER

USER_RESOURCE: dict[str, Any] = {
    "schemas": [CORE_USER, ENT, OG],
    "id": "u-1",
    "externalId": "e-1",
    "userName": "babs@example.com",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "active": True,
    "emails": [{"value": "babs@example.com", "type": "work", "primary": True}, {"value": "b@home.org"}],
    "groups": [{"value": "g-1", "display": "Ops"}],
    "meta": {"resourceType": "User", "created": "2021-06-01T10:00:00Z"},
    ENT: {"employeeNumber": "7", "manager": {"value": "u-2", "displayName": "Boss"}},
    OG: {"tags": ["a"]},
}

GROUP_RESOURCE: dict[str, Any] = {
    "schemas": [CORE_GROUP],
    "id": "g-1",
    "displayName": "Ops",
    "members": [{"value": "u-1", "display": "Babs"}],
    "meta": {"resourceType": "Group"},
}


def _paths(text: str, resource_type: ResourceType = USER) -> tuple[Any, ...]:
    return parse_attribute_list(text, resource_type)


def _project(
    attributes: str = "", excluded: str = "", resource: dict[str, Any] | None = None
) -> dict[str, Any]:
    return project(resource or USER_RESOURCE, USER, _paths(attributes), _paths(excluded))


# ---------------------------------------------------------------------------------------------------------
# parse_attribute_list


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("", []),
        ("userName", ["userName"]),
        ("USERNAME", ["userName"]),
        ("userName,name.givenName", ["userName", "name.givenName"]),
        (" userName , , emails.value ", ["userName", "emails.value"]),
        ("userName,username", ["userName"]),
        (f"{ENT}:employeeNumber", [f"{ENT}:employeeNumber"]),
        (f"{ENT}:manager.value", [f"{ENT}:manager.value"]),
        (f"{CORE_USER}:userName", ["userName"]),
        ("nope,userName,name.nope,members", ["userName"]),  # unknown but well-formed: ignored
        (ENT, [f"{ENT}:{a.name}" for a in ENTERPRISE_USER_SCHEMA.attributes]),  # the whole extension
        (f"{ENT},userName", [*(f"{ENT}:{a.name}" for a in ENTERPRISE_USER_SCHEMA.attributes), "userName"]),
        ("groups.$ref", ["groups.$ref"]),
        (["userName", "emails"], ["userName", "emails"]),
        (["userName,title"], ["userName", "title"]),
        ([], []),
    ],
)
def test_parse_attribute_list(value: Any, expected: list[str]) -> None:
    assert [path.dotted() for path in parse_attribute_list(value, USER)] == expected


@pytest.mark.parametrize(
    "value",
    ['emails[type eq "work"]', "user name", "name..givenName", "1abc", "name.givenName.x", ["ok", 3], 7],
)
def test_parse_attribute_list_rejects_malformed(value: Any) -> None:
    with pytest.raises(InvalidValue):
        parse_attribute_list(value, USER)


# ---------------------------------------------------------------------------------------------------------
# project


def test_no_parameters_returns_default_attributes() -> None:
    assert _project() == USER_RESOURCE


def test_attributes_keep_always_returned_and_schemas() -> None:
    assert _project("userName") == {"schemas": [CORE_USER], "id": "u-1", "userName": "babs@example.com"}


def test_attributes_sub_attribute() -> None:
    assert _project("name.givenName") == {
        "schemas": [CORE_USER],
        "id": "u-1",
        "name": {"givenName": "Barbara"},
    }


def test_attributes_multi_valued_sub_attribute() -> None:
    assert _project("emails.value")["emails"] == [{"value": "babs@example.com"}, {"value": "b@home.org"}]


def test_attributes_sub_attribute_absent_everywhere_drops_attribute() -> None:
    assert "emails" not in _project("emails.display")


def test_attributes_whole_and_sub() -> None:
    assert _project("name,name.givenName")["name"] == USER_RESOURCE["name"]


def test_attributes_extension() -> None:
    assert _project(f"{ENT}:manager.value") == {
        "schemas": [CORE_USER, ENT],
        "id": "u-1",
        ENT: {"manager": {"value": "u-2"}},
    }


def test_attributes_meta_is_default_not_always() -> None:
    assert "meta" not in _project("userName")
    assert _project("meta.created")["meta"] == {"created": "2021-06-01T10:00:00Z"}


def test_excluded_attribute() -> None:
    projected = _project(excluded="emails,name.familyName")
    assert "emails" not in projected
    assert projected["name"] == {"givenName": "Barbara"}
    assert projected["userName"] == "babs@example.com"


def test_excluded_cannot_remove_always() -> None:
    projected = _project(excluded="id,userName")
    assert projected["id"] == "u-1" and "userName" not in projected


def test_excluded_extension_empties_it() -> None:
    projected = _project(excluded=f"{ENT}:employeeNumber,{ENT}:manager")
    assert ENT not in projected
    assert projected["schemas"] == [CORE_USER, OG]


def test_attributes_then_excluded() -> None:
    assert _project("userName,name", "name.givenName") == {
        "schemas": [CORE_USER],
        "id": "u-1",
        "userName": "babs@example.com",
        "name": {"familyName": "Jensen"},
    }


def test_unknown_names_are_ignored() -> None:
    assert _project("nope,userName", "alsoNope") == {
        "schemas": [CORE_USER],
        "id": "u-1",
        "userName": "babs@example.com",
    }
    assert _project("nope", "alsoNope") == USER_RESOURCE  # nothing known asked for: as if not given


def test_group_excluded_members() -> None:
    projected = project(GROUP_RESOURCE, GROUP, (), _paths("members", GROUP))
    assert projected == {k: v for k, v in GROUP_RESOURCE.items() if k != "members"}


def test_empty_values_are_kept_when_not_projected() -> None:
    resource = {"schemas": [CORE_GROUP], "id": "g", "members": [], "displayName": None}
    assert project(resource, GROUP) == resource


def test_unknown_keys_kept_only_without_attributes() -> None:
    resource = {"id": "u", "userName": "x", "extra": 1, ENT: {"odd": 2}}
    assert project(resource, USER) == resource
    assert project(resource, USER, _paths("userName")) == {"id": "u", "userName": "x"}


def test_schemas_lists_only_extensions_left() -> None:
    resource = {"schemas": [CORE_USER, ENT, "urn:example:other"], "id": "u"}
    assert project(resource, USER)["schemas"] == [CORE_USER, "urn:example:other"]


def test_key_order_and_schemas_position_kept() -> None:
    assert list(_project("userName,emails")) == ["schemas", "id", "userName", "emails"]


def test_never_mutates_and_copies() -> None:
    original = copy.deepcopy(USER_RESOURCE)
    projected = _project()
    projected["emails"][0]["value"] = "changed"
    projected[ENT]["manager"]["value"] = "changed"
    _project("emails.value", "name")
    assert original == USER_RESOURCE


def _custom_type() -> ResourceType:
    schema = Schema(
        id="urn:example:Thing",
        name="Thing",
        description="",
        attributes=(
            Attribute("id", returned="always", case_exact=True),
            Attribute("secret", returned="never"),
            Attribute("heavy", returned="request"),
            Attribute(
                "box",
                "complex",
                sub_attributes=(
                    Attribute("a"),
                    Attribute("hidden", returned="never"),
                    Attribute("key", returned="always"),
                    Attribute("extra", returned="request"),
                ),
            ),
        ),
    )
    return ResourceType(id="Thing", endpoint="/Things", description="", schema=schema)


THING = {"id": "t", "secret": "s", "heavy": "h", "box": {"a": 1, "hidden": 2, "key": 3, "extra": 4}}


@pytest.mark.parametrize(
    ("attributes", "excluded", "expected"),
    [
        ("", "", {"id": "t", "box": {"a": 1, "key": 3}}),
        ("heavy", "", {"id": "t", "heavy": "h"}),
        ("secret", "", {"id": "t"}),
        ("box", "", {"id": "t", "box": {"a": 1, "key": 3, "extra": 4}}),
        ("box.a", "", {"id": "t", "box": {"a": 1, "key": 3}}),
        ("box.extra", "", {"id": "t", "box": {"key": 3, "extra": 4}}),
        ("box.hidden", "", {"id": "t", "box": {"key": 3}}),
        ("", "box.a,box.key", {"id": "t", "box": {"key": 3}}),
        ("", "box", {"id": "t"}),
        ("", "id", {"id": "t", "box": {"a": 1, "key": 3}}),
    ],
)
def test_returned_characteristics(attributes: str, excluded: str, expected: dict[str, Any]) -> None:
    thing = _custom_type()
    projected = project(
        THING, thing, parse_attribute_list(attributes, thing), parse_attribute_list(excluded, thing)
    )
    assert projected == expected


# ---------------------------------------------------------------------------------------------------------
# wants


@pytest.mark.parametrize(
    ("name", "attributes", "excluded", "expected"),
    [
        ("members", "", "", True),
        ("members", "", "members", False),
        ("MEMBERS", "", "members", False),
        ("members", "", "members.display", True),
        ("members", "displayName", "", False),
        ("members", "members.value", "", True),
        ("members", "displayName,members", "members", False),
        ("id", "displayName", "id", True),
        (f"{CORE_GROUP}:members", "", "members", False),
    ],
)
def test_wants_group(name: str, attributes: str, excluded: str, expected: bool) -> None:
    assert wants(name, GROUP, _paths(attributes, GROUP), _paths(excluded, GROUP)) is expected


def test_wants_defaults() -> None:
    assert wants("members", GROUP)
    assert wants("displayName", GROUP, excluded=_paths("members", GROUP))


def test_wants_extension_and_returned() -> None:
    manager = f"{ENT}:manager"
    assert wants(manager, USER, _paths(f"{ENT}:manager.value"), ())
    assert not wants(manager, USER, _paths("userName"), ())
    assert not wants(manager, USER, (), _paths(manager))
    assert not wants(manager, USER, _paths("userName,manager"), ())  # bare "manager" is no core attribute
    thing = _custom_type()
    assert not wants("heavy", thing)
    assert wants("heavy", thing, parse_attribute_list("heavy", thing))
    assert not wants("secret", thing, parse_attribute_list("secret", thing))
    assert wants("id", thing, (), parse_attribute_list("id", thing))


def test_wants_matches_project() -> None:
    """Whatever ``wants`` rules out, ``project`` leaves out."""
    for attributes in ("", "displayName", "members.value", "members"):
        for excluded in ("", "members", "members.display", "displayName"):
            a, e = _paths(attributes, GROUP), _paths(excluded, GROUP)
            projected = project(GROUP_RESOURCE, GROUP, a, e)
            if not wants("members", GROUP, a, e):
                assert "members" not in projected


def test_attribute_names_are_case_insensitive_in_resource() -> None:
    resource = {"ID": "u", "UserName": "x", "NAME": {"GIVENNAME": "B", "familyName": "J"}}
    assert project(resource, USER, _paths("name.givenName")) == {"ID": "u", "NAME": {"GIVENNAME": "B"}}


def test_for_response_skips_the_copy_only_when_projection_changes_nothing() -> None:
    plain = copy.deepcopy(USER_RESOURCE)
    assert for_response(plain, USER) is plain
    assert for_response(plain, USER) == project(plain, USER)
    named = parse_attribute_list("userName", USER)
    assert for_response(plain, USER, Projection(named)) == project(plain, USER, named)
    assert for_response(plain, USER, Projection(named)) is not plain
    # An extension listed in schemas but absent: projection drops its URN, so the shortcut is not taken.
    listed = {**copy.deepcopy(USER_RESOURCE), "schemas": [*USER_RESOURCE["schemas"], ENT]}
    listed.pop(ENT, None)
    assert for_response(listed, USER) == project(listed, USER)
    assert ENT not in for_response(listed, USER)["schemas"]
    thing = _custom_type()
    hidden = {"schemas": ["urn:example:Thing"], "id": "1", "secret": "s", "heavy": "h"}
    assert for_response(hidden, thing) == project(hidden, thing) == {"schemas": ["urn:example:Thing"], "id": "1"}
