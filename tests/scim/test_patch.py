"""PATCH (RFC 7644 §3.5.2) with the shapes Okta, Entra (both dialects) and JumpCloud send."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from scim_bridge.scim.errors import InvalidFilter
from scim_bridge.scim.errors import InvalidPath
from scim_bridge.scim.errors import InvalidSyntax
from scim_bridge.scim.errors import InvalidValue
from scim_bridge.scim.errors import Mutability
from scim_bridge.scim.errors import NoTarget
from scim_bridge.scim.errors import ScimError
from scim_bridge.scim.errors import TooMany
from scim_bridge.scim.patch import PatchOperation
from scim_bridge.scim.patch import apply_patch
from scim_bridge.scim.patch import parse_patch_path
from scim_bridge.scim.patch import parse_patch_request
from scim_bridge.scim.schema import CORE_GROUP
from scim_bridge.scim.schema import CORE_USER
from scim_bridge.scim.schema import ENTERPRISE_USER
from scim_bridge.scim.schema import GROUP
from scim_bridge.scim.schema import OPSGENIE_GROUP
from scim_bridge.scim.schema import OPSGENIE_USER
from scim_bridge.scim.schema import PATCH_OP
from scim_bridge.scim.schema import USER

WORK = 'emails[type eq "work"].value'


def user() -> dict[str, Any]:
    return {
        "schemas": [CORE_USER, ENTERPRISE_USER, OPSGENIE_USER],
        "id": "u-1",
        "userName": "jane@example.com",
        "active": True,
        "displayName": "Jane Doe",
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "emails": [{"value": "jane@example.com", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "+15550001", "type": "work"}],
        ENTERPRISE_USER: {"department": "Ops", "manager": {"value": "m-1"}},
        OPSGENIE_USER: {"blocked": False},
        "groups": [{"value": "g-1", "display": "Ops"}],
        "meta": {"resourceType": "User", "version": 'W/"1"'},
    }


def group() -> dict[str, Any]:
    return {
        "schemas": [CORE_GROUP],
        "id": "g-1",
        "displayName": "Ops",
        "members": [{"value": "u-1", "display": "Jane"}, {"value": "u-2"}],
        OPSGENIE_GROUP: {"kind": "team"},
        "meta": {"resourceType": "Group"},
    }


def patched_user(*operations: dict[str, Any]) -> dict[str, Any]:
    return apply_patch(user(), list(operations), USER).resource


def patched_group(*operations: dict[str, Any]) -> dict[str, Any]:
    return apply_patch(group(), list(operations), GROUP).resource


def member_ids(resource: dict[str, Any]) -> list[str]:
    return [member["value"] for member in resource.get("members", [])]


# --------------------------------------------------------------------------------------------------
# Request parsing.


def test_parse_request_accepts_any_case() -> None:
    body = {
        "schemas": [PATCH_OP.upper()],
        "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "REMOVE", "path": "title"},
        ],
    }
    assert parse_patch_request(body) == [
        PatchOperation("replace", "active", "False", True),
        PatchOperation("remove", "title", None, False),
    ]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        pytest.param([], InvalidSyntax, id="not-object"),
        pytest.param({"Operations": [{"op": "add", "value": {}}]}, InvalidSyntax, id="no-schemas"),
        pytest.param({"schemas": [CORE_USER], "Operations": []}, InvalidSyntax, id="wrong-schemas"),
        pytest.param({"schemas": [PATCH_OP]}, InvalidSyntax, id="no-operations"),
        pytest.param({"schemas": [PATCH_OP], "Operations": []}, InvalidValue, id="empty-operations"),
        pytest.param({"schemas": [PATCH_OP], "Operations": ["add"]}, InvalidSyntax, id="op-not-object"),
        pytest.param({"schemas": [PATCH_OP], "Operations": [{"op": "move"}]}, InvalidSyntax, id="bad-op"),
        pytest.param(
            {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "x"}]},
            InvalidValue,
            id="add-no-value",
        ),
        pytest.param(
            {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": 3, "value": 1}]},
            InvalidPath,
            id="path",
        ),
    ],
)
def test_parse_request_errors(body: Any, error: type[ScimError]) -> None:
    with pytest.raises(error):
        parse_patch_request(body)


def test_parse_request_limits_operations() -> None:
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "title"}] * 3}
    with pytest.raises(TooMany):
        parse_patch_request(body, max_operations=2)


# --------------------------------------------------------------------------------------------------
# Users: real client payloads.


@pytest.mark.parametrize(
    ("operations", "check"),
    [
        pytest.param(
            [{"op": "replace", "value": {"active": False}}],
            lambda r: r["active"] is False,
            id="okta-deactivate",
        ),
        pytest.param(
            [{"op": "Replace", "path": "active", "value": "False"}],
            lambda r: r["active"] is False,
            id="entra-default-disable-string-boolean",
        ),
        pytest.param(
            [{"op": "replace", "path": "active", "value": "TRUE"}],
            lambda r: r["active"] is True,
            id="string-boolean-any-case",
        ),
        pytest.param(
            [
                {"op": "Replace", "path": WORK, "value": "jane.doe@example.com"},
                {"op": "Replace", "path": "name.familyName", "value": "Smith"},
                {"op": "Replace", "path": "userName", "value": "Jane.Doe@Example.com"},
                {"op": "Replace", "path": "externalId", "value": "ext-1"},
                {"op": "Replace", "path": f"{ENTERPRISE_USER}:employeeNumber", "value": "42"},
            ],
            lambda r: (
                r["emails"] == [{"value": "jane.doe@example.com", "type": "work", "primary": True}]
                and r["name"] == {"givenName": "Jane", "familyName": "Smith"}
                and r["userName"] == "Jane.Doe@Example.com"
                and r["externalId"] == "ext-1"
                and r[ENTERPRISE_USER]["employeeNumber"] == "42"
            ),
            id="entra-default-multi-replace",
        ),
        pytest.param(
            [
                {
                    "op": "replace",
                    "value": {
                        "displayName": "Jane S",
                        "name.givenName": "Janet",
                        "name.familyName": "S",
                        WORK: "js@example.com",
                        f"{ENTERPRISE_USER}:department": "Sales",
                        ENTERPRISE_USER: {"costCenter": "cc-9"},
                    },
                }
            ],
            lambda r: (
                r["displayName"] == "Jane S"
                and r["name"] == {"givenName": "Janet", "familyName": "S"}
                and r["emails"][0]["value"] == "js@example.com"
                and r[ENTERPRISE_USER]["department"] == "Sales"
                and r[ENTERPRISE_USER]["costCenter"] == "cc-9"
            ),
            id="entra-aadOptscim062020-pathless-dotted-and-urn-keys",
        ),
        pytest.param(
            [{"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+15550002"}],
            lambda r: (
                {"value": "+15550002", "type": "mobile"} in r["phoneNumbers"] and len(r["phoneNumbers"]) == 2
            ),
            id="entra-add-filter-creates-element",
        ),
        pytest.param(
            [{"op": "Replace", "path": 'addresses[type eq "work"].streetAddress', "value": "1 Main St"}],
            lambda r: r["addresses"] == [{"type": "work", "streetAddress": "1 Main St"}],
            id="entra-replace-filter-creates-element",
        ),
        pytest.param(
            [{"op": "Replace", "path": 'phoneNumbers[type eq "work"].value', "value": "+15559999"}],
            lambda r: r["phoneNumbers"] == [{"value": "+15559999", "type": "work"}],
            id="filter-updates-matching-element",
        ),
        pytest.param(
            [{"op": "Replace", "path": f"{ENTERPRISE_USER}:manager", "value": "m-2"}],
            lambda r: r[ENTERPRISE_USER]["manager"] == {"value": "m-2"},
            id="manager-string",
        ),
        pytest.param(
            [{"op": "Add", "path": f"{ENTERPRISE_USER}:manager", "value": {"value": "m-3"}}],
            lambda r: r[ENTERPRISE_USER]["manager"] == {"value": "m-3"},
            id="manager-object",
        ),
        pytest.param(
            [{"op": "Remove", "path": f"{ENTERPRISE_USER}:manager"}],
            lambda r: "manager" not in r[ENTERPRISE_USER],
            id="manager-remove",
        ),
        pytest.param(
            [
                {"op": "Replace", "path": "title", "value": ""},
                {"op": "Replace", "path": "displayName", "value": None},
            ],
            lambda r: "title" not in r and "displayName" not in r,
            id="entra-null-and-empty-clear",
        ),
        pytest.param(
            [
                {"op": "replace", "path": "NAME.GIVENNAME", "value": "J"},
                {"op": "add", "path": "NickName", "value": "jj"},
            ],
            lambda r: r["name"]["givenName"] == "J" and r["nickName"] == "jj" and "NickName" not in r,
            id="canonical-case",
        ),
        pytest.param(
            [
                {
                    "op": "add",
                    "path": "emails",
                    "value": [{"value": "home@example.com", "type": "home", "primary": True}],
                }
            ],
            lambda r: [e.get("primary") for e in r["emails"]] == [False, True],
            id="primary-moves",
        ),
        pytest.param(
            [
                {
                    "op": "add",
                    "path": "emails",
                    "value": [{"value": "JANE@example.com", "type": "work", "display": "J"}],
                }
            ],
            lambda r: len(r["emails"]) == 1 and r["emails"][0]["display"] == "J",
            id="add-existing-value-merges",
        ),
        pytest.param(
            [{"op": "replace", "path": "emails", "value": [{"value": "x@example.com", "type": "other"}]}],
            lambda r: r["emails"] == [{"value": "x@example.com", "type": "other"}],
            id="replace-whole-list",
        ),
        pytest.param(
            [{"op": "remove", "path": 'emails[type eq "work"]'}],
            lambda r: "emails" not in r,
            id="remove-filtered-element",
        ),
        pytest.param(
            [{"op": "remove", "path": 'emails[type eq "home"]'}],
            lambda r: len(r["emails"]) == 1,
            id="remove-no-match-is-noop",
        ),
        pytest.param(
            [{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "phoneNumbers"}],
            lambda r: r["name"] == {"familyName": "Doe"} and "phoneNumbers" not in r,
            id="remove-sub-and-multi",
        ),
        pytest.param(
            [{"op": "replace", "value": {"id": "u-1", "meta": {"resourceType": "User", "version": 'W/"1"'}}}],
            lambda r: r == user(),
            id="readonly-same-value-ignored",
        ),
        pytest.param(
            [{"op": "replace", "path": f"{OPSGENIE_USER}:blocked", "value": "false"}],
            lambda r: r[OPSGENIE_USER] == {"blocked": False},
            id="readonly-boolean-same-value",
        ),
        pytest.param(
            [{"op": "add", "path": f"{OPSGENIE_USER}:tags", "value": "oncall"}],
            lambda r: r[OPSGENIE_USER]["tags"] == ["oncall"],
            id="lone-value-for-multi-valued",
        ),
        pytest.param(
            [{"op": "remove", "path": ENTERPRISE_USER}],
            lambda r: ENTERPRISE_USER not in r and r["schemas"] == [CORE_USER, OPSGENIE_USER],
            id="remove-extension-syncs-schemas",
        ),
    ],
)
def test_user_patches(operations: list[dict[str, Any]], check: Any) -> None:
    assert check(patched_user(*operations))


@pytest.mark.parametrize(
    ("operation", "error"),
    [
        pytest.param({"op": "remove"}, NoTarget, id="remove-without-path"),
        pytest.param({"op": "remove", "path": "userName"}, Mutability, id="remove-required"),
        pytest.param({"op": "replace", "path": "userName", "value": ""}, InvalidValue, id="empty-required"),
        pytest.param({"op": "replace", "path": "id", "value": "other"}, Mutability, id="readonly-id"),
        pytest.param({"op": "replace", "value": {"id": "other"}}, Mutability, id="readonly-id-pathless"),
        pytest.param(
            {"op": "add", "path": "groups", "value": [{"value": "g-2"}]}, Mutability, id="readonly-groups"
        ),
        pytest.param(
            {"op": "replace", "path": f"{OPSGENIE_USER}:roleId", "value": "r"}, Mutability, id="roleId"
        ),
        pytest.param(
            {"op": "replace", "path": f"{OPSGENIE_USER}:verified", "value": True}, Mutability, id="verified"
        ),
        pytest.param({"op": "replace", "path": "emails[type eq", "value": 1}, InvalidPath, id="unclosed"),
        pytest.param({"op": "replace", "path": "name..x", "value": 1}, InvalidPath, id="malformed"),
        pytest.param(
            {"op": "replace", "path": 'userName[type eq "x"]', "value": "a"}, InvalidPath, id="single-filter"
        ),
        pytest.param(
            {"op": "replace", "path": 'emails[kind eq "x"]', "value": {}}, InvalidFilter, id="filter-attr"
        ),
        pytest.param({"op": "replace", "path": "active", "value": "maybe"}, InvalidValue, id="not-a-boolean"),
        pytest.param(
            {"op": "replace", "path": "title", "value": {"a": 1}}, InvalidValue, id="object-for-string"
        ),
        pytest.param({"op": "replace", "path": "name", "value": "x"}, InvalidValue, id="string-for-complex"),
        pytest.param({"op": "replace", "path": "title", "value": ["a"]}, InvalidValue, id="list-for-single"),
        pytest.param({"op": "add", "path": "emails", "value": ["a@x"]}, InvalidValue, id="string-element"),
        pytest.param({"op": "replace", "value": "x"}, InvalidValue, id="pathless-not-object"),
        pytest.param(
            {"op": "add", "path": "emails[value pr].value", "value": "x"},
            None,
            id="filter-without-eq-matches-existing",
        ),
    ],
)
def test_user_patch_errors(operation: dict[str, Any], error: type[ScimError] | None) -> None:
    if error is None:
        patched_user(operation)
        return
    with pytest.raises(error):
        patched_user(operation)


def test_filter_without_equality_and_no_match_is_no_target() -> None:
    with pytest.raises(NoTarget):
        patched_user({"op": "add", "path": "ims[value pr].value", "value": "x"})


def test_failed_batch_is_atomic_and_input_untouched() -> None:
    resource = user()
    snapshot = copy.deepcopy(resource)
    with pytest.raises(Mutability):
        apply_patch(
            resource,
            [{"op": "replace", "path": "title", "value": "CTO"}, {"op": "remove", "path": "userName"}],
            USER,
        )
    assert resource == snapshot


def test_changed_paths() -> None:
    result = apply_patch(
        user(),
        [
            {"op": "replace", "path": "name.givenName", "value": "J"},
            {"op": "replace", "path": "active", "value": True},  # unchanged
            {"op": "add", "path": f"{ENTERPRISE_USER}:manager", "value": "m-9"},
        ],
        USER,
    )
    assert result.changed == ("name.givenName", f"{ENTERPRISE_USER}:manager.value")
    assert result.modified
    assert not apply_patch(user(), [{"op": "replace", "value": {"active": True}}], USER).modified


# --------------------------------------------------------------------------------------------------
# Groups: membership in every dialect.


def test_okta_group_push_remove_and_add() -> None:
    result = apply_patch(
        group(),
        [
            {"op": "remove", "path": 'members[value eq "u-2"]'},
            {"op": "add", "path": "members", "value": [{"value": "u-3", "display": "Sam"}]},
        ],
        GROUP,
    )
    assert member_ids(result.resource) == ["u-1", "u-3"]
    assert result.changed == ("members",)
    assert result.values_added() == ["u-3"]
    assert result.values_removed() == ["u-2"]


def test_okta_rename_with_same_id() -> None:
    resource = patched_group({"op": "replace", "value": {"id": "g-1", "displayName": "SRE"}})
    assert resource["displayName"] == "SRE" and resource["id"] == "g-1"


def test_okta_rename_with_other_id_is_mutability() -> None:
    with pytest.raises(Mutability):
        patched_group({"op": "replace", "value": {"id": "g-2", "displayName": "SRE"}})


def test_okta_replace_members_full_list() -> None:
    resource = patched_group(
        {"op": "replace", "path": "members", "value": [{"value": "u-5"}, {"value": "u-5"}]}
    )
    assert member_ids(resource) == ["u-5"]


def test_entra_multi_member_add_collapses_duplicates() -> None:
    resource = patched_group(
        {
            "op": "Add",
            "path": "members",
            "value": [{"$ref": None, "value": "u-3"}, {"$ref": None, "value": "u-4"}, {"value": "u-1"}],
        }
    )
    assert member_ids(resource) == ["u-1", "u-2", "u-3", "u-4"]
    assert resource["members"][0] == {"value": "u-1", "display": "Jane"}


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(
            {"op": "Remove", "path": "members", "value": [{"value": "u-2"}]}, id="entra-default-value-list"
        ),
        pytest.param({"op": "remove", "path": 'members[value eq "u-2"]'}, id="entra-aadOptscim062020-filter"),
        pytest.param(
            {"op": "remove", "path": "members", "value": [{"value": "u-2"}, {"value": "u-9"}]}, id="jumpcloud"
        ),
    ],
)
def test_member_removal_forms(operation: dict[str, Any]) -> None:
    assert member_ids(patched_group(operation)) == ["u-1"]


def test_member_filter_is_case_exact() -> None:
    assert member_ids(patched_group({"op": "remove", "path": 'members[value eq "U-2"]'})) == ["u-1", "u-2"]


def test_jumpcloud_value_list_add() -> None:
    resource = patched_group({"op": "add", "path": "members", "value": [{"value": "u-7"}]})
    assert member_ids(resource) == ["u-1", "u-2", "u-7"]


@pytest.mark.parametrize(
    ("operation", "error"),
    [
        pytest.param({"op": "remove", "path": "displayName"}, Mutability, id="remove-required"),
        pytest.param(
            {"op": "replace", "path": f"{OPSGENIE_GROUP}:kind", "value": "role"}, Mutability, id="kind"
        ),
        pytest.param(
            {"op": "replace", "path": 'members[value eq "u-1"].value', "value": "u-9"}, Mutability, id="imm"
        ),
        pytest.param(
            {"op": "add", "path": "members", "value": [{"value": 5}]}, InvalidValue, id="member-type"
        ),
    ],
)
def test_group_patch_errors(operation: dict[str, Any], error: type[ScimError]) -> None:
    with pytest.raises(error):
        patched_group(operation)


def test_kind_same_value_is_ignored() -> None:
    assert patched_group({"op": "replace", "path": f"{OPSGENIE_GROUP}:kind", "value": "team"}) == group()


def test_path_parser_canonicalises() -> None:
    path = parse_patch_path(f"{ENTERPRISE_USER.upper()}:MANAGER.value", USER)
    assert path.dotted() == f"{ENTERPRISE_USER}:manager.value"
    assert parse_patch_path('emails[type eq "a]b"].value', USER).filter is not None


# --------------------------------------------------------------------------------------------------
# Property: any operation list either raises a ScimError or returns a dict, never mutating input.

_PATHS = st.sampled_from(
    [
        None,
        "active",
        "userName",
        "title",
        "name",
        "name.givenName",
        "emails",
        WORK,
        'emails[type eq "home"]',
        'phoneNumbers[value co "5"].type',
        "groups",
        "id",
        f"{ENTERPRISE_USER}:manager",
        ENTERPRISE_USER,
        f"{OPSGENIE_USER}:tags",
        "bogus",
        "emails[",
        "",
    ]
)
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.sampled_from(["True", "false"])
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["value", "type", "primary", "givenName", "active", "x"]), inner, max_size=3
        ),
    ),
    max_leaves=6,
)
_OPERATIONS = st.lists(
    st.fixed_dictionaries(
        {"op": st.sampled_from(["add", "Replace", "REMOVE", "bad"])},
        optional={"path": _PATHS, "value": _VALUES},
    ),
    max_size=4,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations=_OPERATIONS)
def test_apply_patch_raises_scim_error_or_returns_dict(operations: list[dict[str, Any]]) -> None:
    resource = user()
    snapshot = copy.deepcopy(resource)
    operations_snapshot = copy.deepcopy(operations)
    try:
        result = apply_patch(resource, operations, USER)
    except ScimError:
        pass
    else:
        assert isinstance(result.resource, dict)
    assert resource == snapshot
    assert operations == operations_snapshot


@pytest.mark.parametrize(
    ("operation", "ignored"),
    [
        pytest.param({"op": "replace", "path": "favouriteColour", "value": "teal"}, ["favouriteColour"],
                     id="unknown-attribute"),
        pytest.param({"op": "remove", "path": "favouriteColour"}, ["favouriteColour"], id="remove-unknown"),
        pytest.param({"op": "replace", "path": "name.nope", "value": 1}, ["name.nope"], id="unknown-sub"),
        pytest.param({"op": "replace", "path": "urn:x:y:title", "value": 1}, ["urn:x:y:title"], id="unknown-urn"),
        pytest.param({"op": "replace", "value": {"bogus": 1, "title": "Boss"}}, ["bogus"], id="pathless-unknown"),
        pytest.param({"op": "add", "path": "emails", "value": [{"value": "b@example.com", "colour": "red"}]},
                     ["emails.colour"], id="unknown-key-in-value"),
        pytest.param({"op": "replace", "path": ENTERPRISE_USER, "value": {"shoeSize": 44}},
                     [f"{ENTERPRISE_USER}:shoeSize"], id="unknown-in-extension"),
    ],
)
def test_unknown_attributes_are_ignored_and_reported(operation: dict[str, Any], ignored: list[str]) -> None:
    """As POST and PUT do, a PATCH ignores attributes the resource type does not have, and says which."""
    result = apply_patch(user(), [operation], USER)
    assert list(result.ignored) == ignored
    for name in ("favouriteColour", "bogus"):
        assert name not in result.resource
    assert result.resource.get("title") == ("Boss" if "bogus" in ignored else user().get("title"))
