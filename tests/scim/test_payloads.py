"""Resource body validation (RFC 7643 §2, §7; RFC 7644 §3.3, §3.5.1) with real client payloads."""

from __future__ import annotations

from typing import Any

import pytest

from scim_bridge.scim.errors import InvalidSyntax
from scim_bridge.scim.errors import InvalidValue
from scim_bridge.scim.errors import ScimError
from scim_bridge.scim.payloads import load_attribute_value
from scim_bridge.scim.payloads import load_resource
from scim_bridge.scim.schema import CORE_GROUP
from scim_bridge.scim.schema import CORE_USER
from scim_bridge.scim.schema import ENTERPRISE_USER
from scim_bridge.scim.schema import GROUP
from scim_bridge.scim.schema import OPSGENIE_GROUP
from scim_bridge.scim.schema import OPSGENIE_USER
from scim_bridge.scim.schema import USER

OKTA_CREATE_USER: dict[str, Any] = {
    "schemas": [CORE_USER],
    "userName": "Test.User@Example.com",
    "name": {"givenName": "Test", "familyName": "User"},
    "emails": [{"primary": True, "value": "Test.User@Example.com", "type": "work"}],
    "displayName": "Test User",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": True,
}

ENTRA_CREATE_USER: dict[str, Any] = {
    "schemas": [CORE_USER, ENTERPRISE_USER],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_ab6490ee@testuser.com",
    "active": "True",
    "emails": [{"primary": True, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
    "roles": [],
    ENTERPRISE_USER: {"department": "Sales", "manager": "26118915-6090-4610-87e4-49d8ca9f808d"},
}


def test_okta_create_user_is_canonical_and_drops_extras() -> None:
    loaded = load_resource(OKTA_CREATE_USER, USER)
    assert loaded["schemas"] == [CORE_USER]
    assert loaded["userName"] == "Test.User@Example.com"  # case and content kept as sent
    assert "password" not in loaded and "groups" not in loaded
    assert loaded["active"] is True


def test_entra_create_user_coerces_booleans_and_nests_extension() -> None:
    loaded = load_resource(ENTRA_CREATE_USER, USER)
    assert loaded["active"] is True
    assert "meta" not in loaded and "roles" not in loaded
    assert loaded["schemas"] == [CORE_USER, ENTERPRISE_USER]
    assert loaded[ENTERPRISE_USER] == {
        "department": "Sales",
        "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"},
    }


def test_input_is_not_mutated() -> None:
    body = {**ENTRA_CREATE_USER}
    snapshot = repr(body)
    load_resource(body, USER)
    assert repr(body) == snapshot


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            {
                "SCHEMAS": [CORE_USER.upper()],
                "USERNAME": "a@x",
                "Name": {"GIVENNAME": "A"},
                "Active": "false",
            },
            {"schemas": [CORE_USER], "userName": "a@x", "name": {"givenName": "A"}, "active": False},
            id="any-case-names-and-urns",
        ),
        pytest.param(
            {"schemas": [CORE_USER], "userName": "a@x", f"{ENTERPRISE_USER}:department": "D"},
            {
                "schemas": [CORE_USER, ENTERPRISE_USER],
                "userName": "a@x",
                ENTERPRISE_USER: {"department": "D"},
            },
            id="full-urn-attribute-key",
        ),
        pytest.param(
            {"schemas": [CORE_USER], "userName": "a@x", "id": "x", "meta": {}, "title": None, "nickName": ""},
            {"schemas": [CORE_USER], "userName": "a@x"},
            id="readonly-null-empty-dropped",
        ),
        pytest.param(
            {
                "schemas": [CORE_USER, OPSGENIE_USER],
                "userName": "a@x",
                OPSGENIE_USER: {"tags": ["x"], "blocked": True, "invitationDisabled": "TRUE"},
            },
            {
                "schemas": [CORE_USER, OPSGENIE_USER],
                "userName": "a@x",
                OPSGENIE_USER: {"tags": ["x"], "invitationDisabled": True},
            },
            id="opsgenie-extension-readonly-dropped",
        ),
        pytest.param(
            {"schemas": [CORE_USER], "userName": "  a@x  "},
            {"schemas": [CORE_USER], "userName": "  a@x  "},
            id="no-trimming",
        ),
    ],
)
def test_user_bodies(body: dict[str, Any], expected: dict[str, Any]) -> None:
    assert load_resource(body, USER) == expected


@pytest.mark.parametrize(
    ("body", "error", "mentions"),
    [
        pytest.param([], InvalidSyntax, "JSON object", id="not-an-object"),
        pytest.param({"userName": "a"}, InvalidValue, "schemas", id="schemas-missing"),
        pytest.param({"schemas": CORE_USER, "userName": "a"}, InvalidValue, "schemas", id="schemas-not-list"),
        pytest.param({"schemas": [CORE_GROUP], "userName": "a"}, InvalidValue, "schemas", id="wrong-core"),
        pytest.param(
            {"schemas": [CORE_USER, "urn:x:y"], "userName": "a"}, InvalidValue, "urn:x:y", id="unknown-urn"
        ),
        pytest.param({"schemas": [CORE_USER]}, InvalidValue, "userName", id="username-missing"),
        pytest.param(
            {"schemas": [CORE_USER], "userName": None}, InvalidValue, "userName", id="username-null"
        ),
        pytest.param(
            {"schemas": [CORE_USER], "userName": " \t"}, InvalidValue, "userName", id="username-blank"
        ),
        pytest.param({"schemas": [CORE_USER], "userName": 7}, InvalidValue, "userName", id="username-number"),
        pytest.param(
            {"schemas": [CORE_USER], "userName": "a", "active": "yes"}, InvalidValue, "active", id="bool"
        ),
        pytest.param(
            {"schemas": [CORE_USER], "userName": "a", "name": "A B"}, InvalidValue, "name", id="complex"
        ),
        pytest.param(
            {"schemas": [CORE_USER], "userName": "a", "emails": {"value": "a@x"}},
            InvalidValue,
            "emails",
            id="multi-not-list",
        ),
        pytest.param(
            {"schemas": [CORE_USER], "userName": "a", "emails": [{"value": ["a@x"]}]},
            InvalidValue,
            "emails[0].value",
            id="sub-attribute-type",
        ),
        pytest.param(
            {"schemas": [CORE_USER], "userName": "a", "title": {"x": 1}},
            InvalidValue,
            "title",
            id="object-for-string",
        ),
        pytest.param(
            {"schemas": [CORE_USER], "userName": "a", ENTERPRISE_USER: {"manager": {"value": 5}}},
            InvalidValue,
            f"{ENTERPRISE_USER}:manager.value",
            id="extension-path-named",
        ),
        pytest.param(
            {"schemas": [CORE_USER], "userName": "a", ENTERPRISE_USER: "x"},
            InvalidValue,
            ENTERPRISE_USER,
            id="extension-not-object",
        ),
    ],
)
def test_user_body_errors(body: Any, error: type[ScimError], mentions: str) -> None:
    with pytest.raises(error) as caught:
        load_resource(body, USER)
    assert mentions in caught.value.detail


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            {"schemas": [CORE_GROUP], "displayName": "Ops", "members": []},
            {"schemas": [CORE_GROUP], "displayName": "Ops"},
            id="okta-group-push",
        ),
        pytest.param(
            {
                "schemas": [CORE_GROUP, OPSGENIE_GROUP],
                "displayName": "Ops",
                "members": [{"value": "u1", "display": "U", "$ref": None}],
                OPSGENIE_GROUP: {"description": "d", "kind": "team"},
            },
            {
                "schemas": [CORE_GROUP, OPSGENIE_GROUP],
                "displayName": "Ops",
                "members": [{"value": "u1"}],
                OPSGENIE_GROUP: {"description": "d"},
            },
            id="members-and-extension",
        ),
    ],
)
def test_group_bodies(body: dict[str, Any], expected: dict[str, Any]) -> None:
    assert load_resource(body, GROUP, for_replace=True) == expected


def test_group_requires_display_name() -> None:
    with pytest.raises(InvalidValue, match="displayName"):
        load_resource({"schemas": [CORE_GROUP], "members": []}, GROUP)


def test_load_attribute_value_manager_shorthand() -> None:
    manager = USER.resolve(f"{ENTERPRISE_USER}:manager")
    assert manager is not None
    assert load_attribute_value(manager.attribute, "m1", "manager") == {"value": "m1"}
    assert load_attribute_value(manager.attribute, {"value": ""}, "manager") is None
