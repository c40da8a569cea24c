"""Microsoft Entra ID provisioning against the bridge: the user lifecycle in both PATCH dialects.

Entra's default dialect capitalises ops ("Replace", "Add"), sends one op per attribute and booleans as
strings ("False"). With the ``aadOptscim062020`` flag, ops are lowercase, booleans are JSON booleans and a
multi-attribute update is one pathless "replace" whose value uses dotted and full-URN keys
(docs/scim-clients.md §2.2). Every step also checks what reached the upstream simulator (OpsGenie, or
Atlassian with ``SCIM_BRIDGE_UPSTREAM=jsm``).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.idp.conftest import Replay
from tests.upstream_views import SeenUser

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
ENTRA = {"User-Agent": "Azure Active Directory SCIM Client"}
DIALECTS = ("default", "aadOptscim062020")


class Entra:
    """Builds PATCH bodies the way Entra does in one dialect."""

    def __init__(self, dialect: str) -> None:
        self.flag = dialect == "aadOptscim062020"

    def op(self, name: str) -> str:
        return name.lower() if self.flag else name.capitalize()

    def boolean(self, value: bool) -> Any:
        return value if self.flag else str(value)  # "True" / "False" without the flag

    def replace_many(self, changes: dict[str, Any]) -> dict[str, Any]:
        if self.flag:
            return {"schemas": [PATCH], "Operations": [{"op": "replace", "value": changes}]}
        ops = [{"op": "Replace", "path": path, "value": value} for path, value in changes.items()]
        return {"schemas": [PATCH], "Operations": ops}

    def one(self, op: str, path: str, value: Any = None) -> dict[str, Any]:
        operation: dict[str, Any] = {"op": self.op(op), "path": path}
        if op.lower() != "remove":
            operation["value"] = value
        return {"schemas": [PATCH], "Operations": [operation]}


def entra_user(user_name: str, object_id: str) -> dict[str, Any]:
    """The body Entra POSTs to /Users (default attribute mappings)."""
    return {
        "schemas": [CORE, ENTERPRISE],
        "externalId": object_id,
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Ana Lima", "familyName": "Lima", "givenName": "Ana"},
        "roles": [],
        ENTERPRISE: {"employeeNumber": "1001", "department": "Finance"},
    }


def query(bridge: Replay, resource: str, flt: str, **params: Any) -> dict[str, Any]:
    response = bridge.scim.get(f"/{resource}", params={"filter": flt, **params}, headers=ENTRA)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def patch(bridge: Replay, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = bridge.scim.patch(f"/Users/{user_id}", body, headers=ENTRA)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def upstream_of(bridge: Replay, user_name: str) -> SeenUser:
    user = bridge.up.user(user_name)
    assert user is not None, f"user {user_name} is not upstream"
    return user


def phones_of(upstream: SeenUser) -> list[tuple[str, str]]:
    return sorted((c["method"], c["to"]) for c in upstream.profile.get("contacts") or []
                  if c["method"] in ("sms", "voice"))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_entra_user_lifecycle(bridge: Replay, dialect: str) -> None:
    entra = Entra(dialect)
    tag = uuid.uuid4().hex[:6]
    user_name = f"ana.lima.{tag}@contoso.example.com"
    object_id = str(uuid.uuid4())

    # Test Connection: a random, non-existent user and group. 200 and an empty list, never 404.
    bridge.up.clear_calls()
    for flt in (f'userName eq "{uuid.uuid4()}"', f'externalId eq "{uuid.uuid4()}"'):
        empty = query(bridge, "Users", flt)
        assert (empty["totalResults"], empty["Resources"]) == (0, [])
    groups = query(bridge, "Groups", f'displayName eq "{uuid.uuid4()}"', excludedAttributes="members")
    assert (groups["totalResults"], groups["Resources"]) == (0, [])
    assert bridge.up.writes() == []

    # Create: matching query first, then POST with the enterprise extension, emails[type work], roles: [].
    assert query(bridge, "Users", f'userName eq "{user_name}"')["totalResults"] == 0
    created = bridge.scim.post("/Users", entra_user(user_name, object_id), headers=ENTRA)
    assert created.status_code == 201, created.text
    user = created.json()
    user_id = user["id"]
    assert user["userName"] == user_name
    assert user["externalId"] == object_id
    assert user["emails"] == [{"primary": True, "type": "work", "value": user_name}]
    assert user[ENTERPRISE] == {"employeeNumber": "1001", "department": "Finance"}
    assert user["roles"][0]["value"] == "User"  # roles: [] means the default role
    upstream = upstream_of(bridge, user_name)
    assert (upstream.username, upstream.full_name, upstream.role) == (user_name, "Ana Lima", "User")
    assert query(bridge, "Users", f'externalId eq "{object_id}"')["Resources"][0]["id"] == user_id

    # Update: several replaces, including a filtered path, a rename and a full-URN path. Where the upstream
    # account's e-mail is not the bridge's to change (jsm), a new userName is refused and nothing changes.
    new_name = f"ana.lima-souza.{tag}@contoso.example.com"
    if not bridge.up.renames_users:
        refused = bridge.scim.patch(f"/Users/{user_id}", entra.replace_many({"userName": new_name}), headers=ENTRA)
        assert refused.status_code == 400, refused.text
        assert refused.json()["scimType"] == "invalidValue"
        assert bridge.up.user(new_name) is None
        assert bridge.scim.get(f"/Users/{user_id}").json()["userName"] == user_name
        new_name = user_name
    new_object_id = str(uuid.uuid4())
    body = patch(bridge, user_id, entra.replace_many({
        'emails[type eq "work"].value': new_name,
        "name.familyName": "Lima Souza",
        "name.formatted": "Ana Lima Souza",
        "userName": new_name,
        "externalId": new_object_id,
        f"{ENTERPRISE}:employeeNumber": "1002",
    }))
    assert body["userName"] == new_name
    assert body["emails"] == [{"primary": True, "type": "work", "value": new_name}]
    assert body["name"] == {"formatted": "Ana Lima Souza", "familyName": "Lima Souza", "givenName": "Ana"}
    assert body["externalId"] == new_object_id
    assert body[ENTERPRISE] == {"employeeNumber": "1002", "department": "Finance"}
    upstream = upstream_of(bridge, new_name)
    assert (upstream.username, upstream.full_name) == (new_name, "Ana Lima Souza")
    assert bridge.up.user(user_name) is None or new_name == user_name
    assert query(bridge, "Users", f'userName eq "{new_name}"')["Resources"][0]["id"] == user_id
    assert query(bridge, "Users", f'externalId eq "{new_object_id}"')["Resources"][0]["id"] == user_id
    assert query(bridge, "Users", f'externalId eq "{object_id}"')["totalResults"] == 0

    # Manager: set, change, remove. The bridge keeps it; nothing is written upstream for it.
    managers = [query(bridge, "Users", f'userName eq "{n}@example.com"')["Resources"][0]["id"]
                for n in ("priya.shah", "diego.alvarez")]
    manager_path = f"{ENTERPRISE}:manager"
    bridge.up.clear_calls()
    body = patch(bridge, user_id, entra.one("Add", manager_path, managers[0]))
    assert body[ENTERPRISE]["manager"]["value"] == managers[0]
    body = patch(bridge, user_id, entra.one("Replace", manager_path, managers[1]))
    assert body[ENTERPRISE]["manager"]["value"] == managers[1]
    assert bridge.scim.get(f"/Users/{user_id}").json()[ENTERPRISE]["manager"]["value"] == managers[1]
    body = patch(bridge, user_id, entra.one("Remove", manager_path))
    assert "manager" not in body[ENTERPRISE]
    assert body[ENTERPRISE]["employeeNumber"] == "1002"
    assert bridge.up.writes() == []

    # Add with a value-path filter that matches nothing yet: the element is created.
    body = patch(bridge, user_id, entra.one("Add", 'phoneNumbers[type eq "mobile"].value', "+44 7700 900123"))
    assert body["phoneNumbers"] == [{"type": "mobile", "value": "+44 7700 900123"}]
    assert phones_of(upstream_of(bridge, new_name)) == [("sms", "44-7700900123"), ("voice", "44-7700900123")]
    body = patch(bridge, user_id, entra.one("Add", 'addresses[type eq "work"].locality', "Lisboa"))
    assert body["addresses"] == [{"type": "work", "locality": "Lisboa"}]
    assert upstream_of(bridge, new_name).profile["address"]["city"] == "Lisboa"

    # The user is in a team, to see the suspension take it out and the restore put it back.
    payments = bridge.group_id("Payments")
    add_member = {"schemas": [PATCH], "Operations": [
        {"op": entra.op("Add"), "path": "members", "value": [{"$ref": None, "value": user_id}]}]}
    assert bridge.scim.patch(f"/Groups/{payments}", add_member, headers=ENTRA).status_code in (200, 204)
    assert upstream_of(bridge, new_name).teams == {"Payments"}

    # Disable: "False" (default dialect) or false (flag). Suspended upstream, still returned by queries.
    body = patch(bridge, user_id, entra.one("Replace", "active", entra.boolean(False)))
    assert body["active"] is False
    upstream = upstream_of(bridge, new_name)
    assert upstream.role == bridge.up.suspended_role
    assert upstream.teams == set()
    listed = query(bridge, "Users", f'userName eq "{new_name}"')["Resources"]
    assert [(u["id"], u["active"]) for u in listed] == [(user_id, False)]

    # A pathless replace with dotted keys while disabled (what the flag dialect sends for several
    # attributes; the default dialect accepts it too).
    body = patch(bridge, user_id, {"schemas": [PATCH], "Operations": [{"op": entra.op("Replace"), "value": {
        "name.givenName": "Ana Maria", "name.formatted": "Ana Maria Lima Souza", "title": "Controller",
        f"{ENTERPRISE}:department": "Treasury"}}]})
    assert body["name"]["givenName"] == "Ana Maria"
    assert body["title"] == "Controller"
    assert body[ENTERPRISE]["department"] == "Treasury"
    assert body["active"] is False
    upstream = upstream_of(bridge, new_name)
    assert (upstream.full_name, upstream.role) == ("Ana Maria Lima Souza", bridge.up.suspended_role)

    # Restore: role and team come back.
    body = patch(bridge, user_id, entra.one("Replace", "active", entra.boolean(True)))
    assert body["active"] is True
    upstream = upstream_of(bridge, new_name)
    assert upstream.role == "User"
    assert upstream.teams == {"Payments"}

    # Null/empty update: "" then null; the attributes read back empty, here and upstream.
    patch(bridge, user_id, entra.replace_many({
        "title": "", f"{ENTERPRISE}:department": "", 'phoneNumbers[type eq "mobile"].value': ""}))
    emptied = bridge.scim.get(f"/Users/{user_id}").json()
    assert "title" not in emptied
    assert "department" not in emptied[ENTERPRISE]
    assert "phoneNumbers" not in emptied
    assert phones_of(upstream_of(bridge, new_name)) == []
    patch(bridge, user_id, entra.replace_many({"title": "Controller", f"{ENTERPRISE}:department": "Treasury"}))
    patch(bridge, user_id, entra.replace_many({"title": None, f"{ENTERPRISE}:department": None}))
    emptied = bridge.scim.get(f"/Users/{user_id}").json()
    assert "title" not in emptied
    assert "department" not in emptied[ENTERPRISE]

    # Delete: 204, gone upstream, 404 afterwards and absent from queries.
    deleted = bridge.scim.delete(f"/Users/{user_id}", headers=ENTRA)
    assert deleted.status_code == 204
    assert bridge.up.removed(new_name)
    missing = bridge.scim.get(f"/Users/{user_id}", headers=ENTRA)
    assert missing.status_code == 404
    assert missing.json()["schemas"] == [ERROR]
    assert query(bridge, "Users", f'userName eq "{new_name}"')["totalResults"] == 0
    assert bridge.up.team("Payments") is not None


def test_entra_replace_with_filter_on_missing_email_creates_it(bridge: Replay) -> None:
    """Entra sends filtered replaces even when no element matches yet: the element is created."""
    user_name = f"li.wei.{uuid.uuid4().hex[:6]}@contoso.example.com"
    body = entra_user(user_name, str(uuid.uuid4()))
    del body["emails"]
    user = bridge.scim.post("/Users", body, headers=ENTRA).json()
    result = patch(bridge, user["id"], Entra("default").one("Replace", 'emails[type eq "work"].value', user_name))
    assert result["emails"] == [{"type": "work", "value": user_name}]
    assert upstream_of(bridge, user_name).username == user_name
