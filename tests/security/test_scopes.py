"""Credential scopes: read (GET, .search), write (changes of users and teams), roles (any change of a role).

Each refusal is a 403 SCIM error naming the missing scope, sent before any upstream write.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import requests
from conftest import Running
from conftest import ScimClient
from ops.clirun import invoke_cli

from scim_bridge.config import BearerToken
from scim_bridge.config import ConfigError
from scim_bridge.config import Settings

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
READER = "reader-token-0123456789abcdef"
WRITER = "writer-token-0123456789abcdef"
ADMIN = "admin-token-0123456789abcdefgh"
BLIND = "blind-writer-token-0123456789"
TOKENS = (
    BearerToken.from_secret("reader", READER, frozenset({"read"})),
    BearerToken.from_secret("writer", WRITER, frozenset({"read", "write"})),
    BearerToken.from_secret("admin", ADMIN),
    BearerToken.from_secret("blind", BLIND, frozenset({"write"})),
)


@pytest.fixture()
def scoped(bridge_factory: Any) -> Running:
    running: Running = bridge_factory(tokens=TOKENS)
    return running


def _client(running: Running, secret: str) -> ScimClient:
    return ScimClient(running.scim.base_url, secret)


def _refused(response: requests.Response, scope: str) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == "403"
    assert f"'{scope}' scope" in body["detail"]
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and f'scope="{scope}"' in challenge


def _user_id(running: Running, user_name: str) -> str:
    found = _client(running, ADMIN).get("/Users", params={"filter": f'userName eq "{user_name}"'}).json()["Resources"]
    return str(found[0]["id"])


def _role_of(running: Running, user_name: str) -> str:
    user = running.sim.user(user_name)
    assert user is not None
    return str(user["role"]["name"])


def test_read_scope_reads_and_nothing_else(scoped: Running) -> None:
    reader = _client(scoped, READER)
    assert reader.get("/Users").status_code == 200
    assert reader.get("/Groups").status_code == 200
    assert reader.post("/Users/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                          "filter": 'userName sw "m"'}).status_code == 200
    assert reader.get("/ServiceProviderConfig").status_code == 200
    scoped.sim.clear_calls()
    user_id = _user_id(scoped, "mei.chen@example.com")
    _refused(reader.post("/Users", {"schemas": [CORE], "userName": "reader.made@example.com"}), "write")
    _refused(reader.patch(f"/Users/{user_id}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "displayName", "value": "Changed"}]}), "write")
    _refused(reader.delete(f"/Users/{user_id}"), "write")
    _refused(reader.post("/Groups", {"schemas": [GROUP], "displayName": "Reader Team"}), "write")
    assert scoped.sim.writes() == []
    assert scoped.sim.user("reader.made@example.com") is None


def test_write_without_read_cannot_list(scoped: Running) -> None:
    blind = _client(scoped, BLIND)
    _refused(blind.get("/Users"), "read")
    _refused(blind.post("/Groups/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}),
             "read")
    made = blind.post("/Users", {"schemas": [CORE], "userName": "blind.made@example.com"})
    assert made.status_code == 201, made.text


def test_write_scope_provisions_users_and_teams_but_no_roles(scoped: Running) -> None:
    writer = _client(scoped, WRITER)
    made = writer.post("/Users", {"schemas": [CORE], "userName": "writer.made@example.com",
                                  "name": {"givenName": "Wri", "familyName": "Ter"}})
    assert made.status_code == 201, made.text
    user = made.json()
    # What Okta does: PUT the whole user back, roles echoed unchanged; and deactivate it.
    assert writer.put(f"/Users/{user['id']}", {**user, "displayName": "Writer Made"}).status_code == 200
    assert writer.patch(f"/Users/{user['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "active", "value": False}]}).status_code == 200
    team = writer.post("/Groups", {"schemas": [GROUP], "displayName": "Writers", "members": [{"value": user["id"]}]})
    assert team.status_code == 201, team.text
    assert writer.delete(f"/Groups/{team.json()['id']}").status_code == 204

    scoped.sim.clear_calls()
    _refused(writer.post("/Users", {"schemas": [CORE], "userName": "writer.admin@example.com",
                                    "roles": [{"value": "Admin", "primary": True}]}), "roles")
    assert scoped.sim.user("writer.admin@example.com") is None
    mei = _user_id(scoped, "mei.chen@example.com")
    _refused(writer.patch(f"/Users/{mei}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "roles", "value": [{"value": "Admin", "primary": True}]}]}), "roles")
    # Several changes in one PATCH: none of them is applied when one needs a missing scope.
    _refused(writer.patch(f"/Users/{mei}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "displayName", "value": "Mei C."},
        {"op": "add", "path": "roles", "value": [{"value": "Admin"}]}]}), "roles")
    current = writer.get(f"/Users/{mei}").json()
    _refused(writer.put(f"/Users/{mei}", {**current, "roles": [{"value": "Admin", "primary": True}]}), "roles")
    _refused(writer.patch("/Groups/role-admin", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": mei}]}]}), "roles")
    _refused(writer.patch("/Groups/role-user", {"schemas": [PATCH], "Operations": [
        {"op": "remove", "path": f'members[value eq "{mei}"]'}]}), "roles")
    assert scoped.sim.writes() == []
    assert _role_of(scoped, "mei.chen@example.com") == "User"
    assert writer.get(f"/Users/{mei}").json().get("displayName") == current.get("displayName")


def test_roles_scope_changes_roles_and_the_audit_log_names_the_scopes(scoped: Running) -> None:
    admin = _client(scoped, ADMIN)
    mei = _user_id(scoped, "mei.chen@example.com")
    moved = admin.patch("/Groups/role-admin", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": mei}]}]})
    assert moved.status_code in (200, 204), moved.text
    assert _role_of(scoped, "mei.chen@example.com") == "Admin"
    made = admin.post("/Users", {"schemas": [CORE], "userName": "admin.made@example.com",
                                 "roles": [{"value": "Incident Commander", "primary": True}]})
    assert made.status_code == 201, made.text
    assert _role_of(scoped, "admin.made@example.com") == "Incident Commander"
    renamed = admin.patch(f"/Users/{mei}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "displayName", "value": "Mei Chen"}]})
    assert renamed.status_code == 200
    _refused(_client(scoped, WRITER).patch("/Groups/role-admin", {"schemas": [PATCH], "Operations": [
        {"op": "remove", "path": f'members[value eq "{mei}"]'}]}), "roles")

    store = scoped.app.extensions["scim_bridge"].store
    by_id = {(e.path, e.actor): e for e in store.list_audit(limit=50)}
    assert by_id[("/scim/v2/Groups/role-admin", "admin")].scopes == "write+roles"
    created = store.list_audit(resource_id=made.json()["id"])
    assert [(e.actor, e.operation, e.scopes) for e in created] == [("admin", "create", "write+roles")]
    assert [(e.operation, e.scopes) for e in store.list_audit(resource_id=mei, actor="admin")] == [
        ("patch", "write")]
    refused = by_id[("/scim/v2/Groups/role-admin", "writer")]
    assert (refused.status, refused.scopes) == (403, "write") and "'roles' scope" in refused.detail
    printed = invoke_cli(["audit", "--json", "--actor", "admin"],
                         {"SCIM_BRIDGE_DATABASE_URL": scoped.settings.database_url})
    assert sorted(json.loads(line)["scopes"] for line in printed.output.splitlines()) == [
        "write", "write+roles", "write+roles"]


def test_scoped_entries_from_the_environment() -> None:
    digest = hashlib.sha256(WRITER.encode()).hexdigest()
    other = hashlib.sha256(READER.encode()).hexdigest()
    env = {"OPSGENIE_API_KEY": "k",
           "SCIM_BEARER_TOKEN_HASHES": f"okta:{digest}:read+write, audit:{other.upper()}:READ, full:{'a' * 64}",
           "SCIM_BRIDGE_OAUTH_CLIENTS": f"entra:entra-id:{'b' * 64}:read+write+roles,saviynt:sv:{'c' * 64}:read",
           "SCIM_BRIDGE_OAUTH_SIGNING_KEY": "k" * 40}
    settings = Settings.from_env(env)
    assert [(t.name, t.scopes) for t in settings.tokens] == [
        ("okta", {"read", "write"}), ("audit", {"read"}), ("full", {"read", "write", "roles"})]
    assert [(c.name, c.scopes) for c in settings.oauth_clients] == [
        ("entra", {"read", "write", "roles"}), ("saviynt", {"read"})]


@pytest.mark.parametrize("entry", [f"okta:{'a' * 64}:admin", f"okta:{'a' * 64}:", f"okta:{'a' * 64}:read+",
                                   f"okta:{'a' * 64}:read,write"])
def test_bad_scopes_are_configuration_errors(entry: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"OPSGENIE_API_KEY": "k", "SCIM_BEARER_TOKEN_HASHES": entry})
    assert "SCIM_BEARER_TOKEN_HASHES" in str(info.value)


def test_token_create_prints_a_scoped_entry(bridge_factory: Any) -> None:
    result = invoke_cli(["token", "create", "okta-prod", "--scopes", "read+write"], {})
    assert result.exit_code == 0, result.output
    secret = result.output.split("it is not stored anywhere): ")[1].split()[0]
    entry = result.output.strip().splitlines()[-1].strip()
    assert entry == f"okta-prod:{hashlib.sha256(secret.encode()).hexdigest()}:read+write"
    tokens = Settings.from_env({"OPSGENIE_API_KEY": "k", "SCIM_BEARER_TOKEN_HASHES": entry}).tokens
    running: Running = bridge_factory(tokens=tokens)
    client = _client(running, secret)
    assert client.get("/Users").status_code == 200
    _refused(client.post("/Users", {"schemas": [CORE], "userName": "cli.admin@example.com",
                                    "roles": [{"value": "Admin"}]}), "roles")
    full = invoke_cli(["token", "create", "all"], {})
    assert full.output.strip().splitlines()[-1].strip().count(":") == 1  # all three scopes: no list
    bad = invoke_cli(["token", "create", "x", "--scopes", "read+admin"], {})
    assert bad.exit_code == 2 and "unknown scope 'admin'" in bad.output
