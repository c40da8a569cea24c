"""The bridge with SCIM_BRIDGE_UPSTREAM=jsm over HTTP, on the Atlassian simulator: deactivation, reactivation
and deletion as JSM.md maps them, read-only role groups, and the jsm settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from atlassian_sim import AtlassianSim
from conftest import serve_app

from scim_bridge.bootstrap import build_directory
from scim_bridge.config import JSM_SUSPENDED_ROLE
from scim_bridge.config import ConfigError
from scim_bridge.config import Settings
from scim_bridge.config import describe_upstream
from scim_bridge.directory.jsm import JsmDirectory
from scim_bridge.directory.links import MemoryLinkStore
from scim_bridge.store.store import Store
from scim_bridge.web.app import create_app

TOKEN = "jsm-bridge-test-token"
JSM = "ari:cloud:jira-servicedesk::site/sim-site"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


def jsm_env(base_url: str, **extra: str) -> dict[str, str]:
    return {
        "SCIM_BRIDGE_UPSTREAM": "jsm", "ATLASSIAN_API_URL": base_url, "ATLASSIAN_SITE_URL": base_url,
        "ATLASSIAN_ORG_ID": "sim-org", "ATLASSIAN_CLOUD_ID": "sim-cloud", "ATLASSIAN_SITE_ID": "sim-site",
        "ATLASSIAN_EMAIL": "sim-admin@example.com", "ATLASSIAN_API_TOKEN": "sim-api-token",
        "ATLASSIAN_ADMIN_API_KEY": "sim-admin-key", "SCIM_BEARER_TOKEN": TOKEN, "SCIM_BRIDGE_SYNC_INTERVAL": "0",
        **extra,
    }


class Scim:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url + "/scim/v2"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {TOKEN}"

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.http.request(method, self.base_url + path, json=body, timeout=30)


@pytest.fixture
def scim(asim: AtlassianSim, tmp_path: Path) -> Iterator[Scim]:
    settings = Settings.from_env(jsm_env(asim.base_url, SCIM_BRIDGE_DATABASE_URL=f"sqlite:///{tmp_path}/b.db"))
    store = Store.from_url(settings.database_url)
    store.upgrade()
    app = create_app(settings, store=store, links=MemoryLinkStore())
    server = serve_app(app)
    client = Scim(f"http://127.0.0.1:{server.server_port}")
    yield client
    client.http.close()
    server.shutdown()
    server.server_close()
    store.close()


def roles(asim: AtlassianSim, email: str) -> set[tuple[str, str]]:
    return {(r["role"], r["resource"]) for r in asim.account(email)["productRoles"]}


def active(value: bool) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": value}}]}


def make_user_in_team(scim: Scim) -> tuple[str, str]:
    user = scim.call("POST", "/Users", {"schemas": [USER_SCHEMA], "userName": "ada@example.com",
                                        "name": {"givenName": "Ada", "familyName": "Lovelace"},
                                        "emails": [{"value": "ada@example.com", "primary": True}]})
    assert user.status_code == 201, user.text
    group = scim.call("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "SRE",
                                          "members": [{"value": user.json()["id"]}]})
    assert group.status_code == 201, group.text
    return user.json()["id"], group.json()["id"]


def ops_team(asim: AtlassianSim) -> dict[str, Any]:
    return next(t for t in asim.state()["teams"] if t["displayName"] == "SRE")


def test_deactivation_revokes_jsm_access_and_leaves_teams_reactivation_gives_them_back(
        asim: AtlassianSim, scim: Scim) -> None:
    user_id, group_id = make_user_in_team(scim)
    account_id = asim.account("ada@example.com")["accountId"]
    assert user_id == account_id and ops_team(asim)["members"] == [account_id]
    off = scim.call("PATCH", f"/Users/{user_id}", active(False))
    assert off.status_code == 200, off.text
    assert off.json()["active"] is False
    assert roles(asim, "ada@example.com") == set() and asim.account("ada@example.com")["status"] == "active"
    assert ops_team(asim)["members"] == []
    on = scim.call("PATCH", f"/Users/{user_id}", active(True))
    assert on.status_code == 200, on.text
    assert on.json()["active"] is True
    assert roles(asim, "ada@example.com") == {("atlassian/user", JSM)}
    assert ops_team(asim)["members"] == [account_id]
    members = scim.call("GET", f"/Groups/{group_id}").json()["members"]
    assert [m["value"] for m in members] == [user_id]


def test_delete_revokes_jsm_access_and_leaves_teams(asim: AtlassianSim, scim: Scim) -> None:
    user_id, _ = make_user_in_team(scim)
    assert scim.call("DELETE", f"/Users/{user_id}").status_code == 204
    assert roles(asim, "ada@example.com") == set() and asim.account("ada@example.com")["status"] == "active"
    assert ops_team(asim)["members"] == []
    assert scim.call("GET", f"/Users/{user_id}").status_code == 404


def test_the_admin_role_group_is_read_only(asim: AtlassianSim, scim: Scim) -> None:
    user_id, _ = make_user_in_team(scim)
    found = scim.call("GET", '/Groups?filter=displayName eq "role:Admin"').json()["Resources"]
    assert len(found) == 1
    answer = scim.call("PATCH", f"/Groups/{found[0]['id']}", {
        "schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}]})
    assert answer.status_code == 400 and answer.json()["scimType"] == "mutability"
    assert "Operations global admin" in answer.json()["detail"]
    assert roles(asim, "ada@example.com") == {("atlassian/user", JSM)}


def test_jsm_settings(tmp_path: Path) -> None:
    settings = Settings.from_env(jsm_env("http://127.0.0.1:9"))
    assert settings.upstream == "jsm" and settings.suspended_role == JSM_SUSPENDED_ROLE
    assert settings.atlassian is not None and settings.atlassian.account_scope == "product"
    assert "sim-api-token" not in repr(settings) and "sim-admin-key" not in repr(settings)
    assert describe_upstream(settings) == ("http://127.0.0.1:9", "JSM Operations (site 127.0.0.1)")
    secret = tmp_path / "token"
    secret.write_text("from-a-file\n")
    env = jsm_env("http://127.0.0.1:9", ATLASSIAN_API_TOKEN="", ATLASSIAN_API_TOKEN_FILE=str(secret),
                  SCIM_BRIDGE_JSM_ACCOUNT_SCOPE="account")
    from_file = Settings.from_env(env).atlassian
    assert from_file is not None and (from_file.api_token, from_file.account_scope) == ("from-a-file", "account")
    for change, named in (({"ATLASSIAN_ORG_ID": ""}, "ATLASSIAN_ORG_ID"),
                          ({"ATLASSIAN_ADMIN_API_KEY": ""}, "ATLASSIAN_ADMIN_API_KEY"),
                          ({"SCIM_BRIDGE_JSM_ACCOUNT_SCOPE": "org"}, "SCIM_BRIDGE_JSM_ACCOUNT_SCOPE"),
                          ({"ATLASSIAN_SITE_URL": "site.atlassian.net"}, "ATLASSIAN_SITE_URL"),
                          ({"SCIM_BRIDGE_UPSTREAM": "pagerduty"}, "SCIM_BRIDGE_UPSTREAM")):
        with pytest.raises(ConfigError, match=named):
            Settings.from_env(jsm_env("http://127.0.0.1:9", **change))
    assert Settings.from_env({"OPSGENIE_API_KEY": "k"}).upstream == "opsgenie"
    assert Settings.from_env({"OPSGENIE_API_KEY": "k"}).atlassian is None
    assert describe_upstream(Settings()) == ("https://api.opsgenie.com", "US region (api.opsgenie.com)")


def test_build_directory_follows_the_upstream_setting() -> None:
    settings = Settings.from_env(jsm_env("http://127.0.0.1:9", SCIM_BRIDGE_JSM_ACCOUNT_SCOPE="account"))
    links = MemoryLinkStore()
    directory, client = build_directory(settings, links=links)
    assert isinstance(directory, JsmDirectory) and directory.links is links
    assert directory.account_scope == "account" and directory.client is client
    client.close()


def user(scim: Scim, name: str, **extra: Any) -> str:
    made = scim.call("POST", "/Users", {"schemas": [USER_SCHEMA], "userName": f"{name}@example.com",
                                        "name": {"givenName": name.title(), "familyName": "Test"}, **extra})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def members_patch(op: str, *ids: str) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": op, "path": "members", "value": [{"value": i} for i in ids]}]}


def test_groups_and_role_groups_over_scim(asim: AtlassianSim, scim: Scim) -> None:
    ada, alan, grace = user(scim, "ada"), user(scim, "alan"), user(scim, "grace")
    group = scim.call("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "SRE", "members": []})
    assert group.status_code == 201, group.text
    gid = group.json()["id"]
    assert scim.call("PATCH", f"/Groups/{gid}", members_patch("add", ada, alan)).status_code in (200, 204)
    assert sorted(ops_team(asim)["members"]) == sorted([ada, alan])
    assert scim.call("PATCH", f"/Groups/{gid}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "remove", "path": f'members[value eq "{ada}"]'}]}).status_code in (200, 204)
    renamed = scim.call("PUT", f"/Groups/{gid}", {"schemas": [GROUP_SCHEMA], "displayName": "SRE-Core",
                                                  "members": [{"value": grace}]})
    assert renamed.status_code == 200, renamed.text
    team = next(t for t in asim.state()["teams"] if t["displayName"] == "SRE-Core")
    assert team["members"] == [grace] and team["opsEnabled"] is True
    found = scim.call("GET", '/Groups?filter=displayName eq "SRE-Core"').json()
    assert [g["id"] for g in found["Resources"]] == [gid]
    stakeholders = scim.call("GET", '/Groups?filter=displayName eq "role:Stakeholder"').json()["Resources"][0]
    assert scim.call("PATCH", f"/Groups/{stakeholders['id']}", members_patch("add", alan)).status_code in (200, 204)
    assert roles(asim, "alan@example.com") == {("atlassian/stakeholder", JSM)}
    assert scim.call("GET", f"/Users/{alan}").json()["roles"][0]["value"] == "Stakeholder"
    assert scim.call("DELETE", f"/Groups/{gid}").status_code == 204
    assert [t["deleted"] for t in asim.state()["teams"]] == [True]
    assert scim.call("GET", f"/Groups/{gid}").status_code == 404


def test_phone_numbers_and_profile_are_kept_by_the_bridge(asim: AtlassianSim, scim: Scim) -> None:
    ada = user(scim, "ada", phoneNumbers=[{"value": "+44 7700 900001", "type": "mobile"}], timezone="Europe/London",
               locale="en-GB")
    got = scim.call("GET", f"/Users/{ada}").json()
    assert got["phoneNumbers"][0]["value"].replace(" ", "").endswith("7700900001")
    assert (got["timezone"], got["name"]["givenName"]) == ("Europe/London", "Ada")
    listed = scim.call("GET", '/Users?filter=userName eq "ada@example.com"').json()["Resources"]
    assert [u["id"] for u in listed] == [ada]
