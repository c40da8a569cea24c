"""From OpsGenie to JSM Operations with every SCIM id kept: ``scim-bridge migrate --to jsm``, end to end.

A bridge over the OpsGenie simulator is used by an IdP (users created, a team pushed, a user suspended); the
Atlassian simulator is seeded as Atlassian's own migration leaves that account; the migration links the store
to it; and a bridge with ``SCIM_BRIDGE_UPSTREAM=jsm`` on the same database goes on answering the IdP's next
requests under the ids the IdP already holds.
"""

from __future__ import annotations

import json
from typing import Any

from conftest import Running

from scim_bridge.atlassian.client import AtlassianClient
from scim_bridge.ops.migrate import AMBIGUOUS
from scim_bridge.ops.migrate import MATCHED
from scim_bridge.ops.migrate import NOT_MIGRATABLE
from scim_bridge.ops.migrate import UNMATCHED
from scim_bridge.ops.migrate import plan
from scim_bridge.simulator.atlassian import AtlassianSimulatorServer
from scim_bridge.store.links import SqlLinkStore
from tests.idp.conftest import Migrated
from tests.ops.clirun import invoke_cli
from tests.upstream_views import JsmView
from tests.upstream_views import atlassian_settings
from tests.upstream_views import migrated_from

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
OKTA = {"User-Agent": "Okta SCIM Client 1.0.0"}


def ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


def scim_snapshot(bridge: Running | Any) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Every user (id → userName, active, roles, teams) and team group (id → name, members) the IdP can read."""
    users = {u["id"]: {"userName": u["userName"], "active": u["active"],
                       "roles": [r["value"] for r in u.get("roles", [])],
                       "groups": sorted(g["display"] for g in u.get("groups", []))}
             for u in bridge.scim.get("/Users", params={"count": 1000}).json()["Resources"]}
    groups = {g["id"]: {"displayName": g["displayName"], "members": sorted(m["value"] for m in g.get("members", []))}
              for g in bridge.scim.get("/Groups", params={"count": 1000}).json()["Resources"]
              if not g["id"].startswith("role-")}
    return users, groups


def populate(before: Running) -> dict[str, str]:
    """What an IdP did through the OpsGenie-backed bridge; returns the SCIM ids it holds by name."""
    scim = before.scim
    nina = scim.post("/Users", {"schemas": [CORE], "userName": "Nina.Petrova@Example.com", "externalId": "00u-nina",
                                "name": {"givenName": "Nina", "familyName": "Petrova"}, "locale": "de-DE",
                                "timezone": "Europe/Berlin",
                                "phoneNumbers": [{"value": "+49 30 1234567", "type": "mobile"}]}, headers=OKTA)
    assert nina.status_code == 201, nina.text
    pushed = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Okta Pushed", "members": [
        {"value": nina.json()["id"]}]}, headers=OKTA)
    assert pushed.status_code == 201, pushed.text
    ids = {"nina": nina.json()["id"], "pushed": pushed.json()["id"]}
    for name in ("tom.becker", "mei.chen", "sara.nilsson"):
        found = scim.get("/Users", params={"filter": f'userName eq "{name}@example.com"'}).json()["Resources"]
        ids[name] = found[0]["id"]
    ids["sre"] = scim.get("/Groups", params={"filter": 'displayName eq "Platform SRE"'}).json()["Resources"][0]["id"]
    suspended = scim.patch(f"/Users/{ids['tom.becker']}", ops({"op": "replace", "value": {"active": False}}))
    assert suspended.status_code == 200, suspended.text
    return ids


def test_migrated_store_keeps_every_scim_id(bridge_factory: Any, migrate_to_jsm: Any) -> None:
    before: Running = bridge_factory()
    ids = populate(before)
    users_before, groups_before = scim_snapshot(before)

    migrated: Migrated = migrate_to_jsm(before)
    report, after = migrated.report, migrated.after
    counts = report.counts()
    assert counts["user"] == {MATCHED: 8, UNMATCHED: 0, AMBIGUOUS: 0, NOT_MIGRATABLE: 0}
    assert counts["team"] == {MATCHED: 4, UNMATCHED: 0, AMBIGUOUS: 0, NOT_MIGRATABLE: 0}
    # The Owner and the two Admins hold a role no API grants in JSM Operations.
    assert sorted(f.name for f in report.findings if f.outcome == NOT_MIGRATABLE) == [
        "alex.morgan@example.com in role:Owner", "diego.alvarez@example.com in role:Admin",
        "priya.shah@example.com in role:Admin"]
    assert report.complete and report.written == 12

    # The same ids, names, memberships, roles and suspension, now served from Atlassian.
    users_after, groups_after = scim_snapshot(after)
    assert users_after == users_before
    assert groups_after == groups_before
    assert users_after[ids["tom.becker"]]["active"] is False
    nina = after.scim.get(f"/Users/{ids['nina']}").json()
    assert (nina["userName"], nina["externalId"], nina["locale"], nina["timezone"]) == (
        "Nina.Petrova@Example.com", "00u-nina", "de-DE", "Europe/Berlin")
    assert nina["phoneNumbers"] == [{"value": "+49 30 1234567", "type": "mobile"}]
    # Contacts the mirror never held (OpsGenie's user list has none) were read from OpsGenie for the move.
    priya = before.scim.get("/Users", params={"filter": 'userName eq "priya.shah@example.com"'}).json()["Resources"][0]
    assert priya["phoneNumbers"]
    assert after.scim.get(f"/Users/{priya['id']}").json()["phoneNumbers"] == priya["phoneNumbers"]

    # The IdP goes on: reactivates the suspended user, pushes a team, suspends another user.
    reactivated = after.scim.patch(f"/Users/{ids['tom.becker']}", ops({"op": "replace", "value": {"active": True}}),
                                   headers=OKTA)
    assert reactivated.status_code == 200, reactivated.text
    tom = after.up.user("tom.becker@example.com")
    assert tom is not None and (tom.role, tom.teams) == ("User", {"Platform SRE"})
    pushed = after.scim.patch(f"/Groups/{ids['pushed']}", ops(
        {"op": "add", "path": "members", "value": [{"value": ids["mei.chen"]}]},
        {"op": "replace", "value": {"id": ids["pushed"], "displayName": "Okta Pushed EU"}}), headers=OKTA)
    assert pushed.status_code in (200, 204), pushed.text
    team = after.up.team("Okta Pushed EU")
    assert team is not None and team.members == {"nina.petrova@example.com", "mei.chen@example.com"}
    suspended = after.scim.patch(f"/Users/{ids['sara.nilsson']}", ops({"op": "replace", "value": {"active": False}}))
    assert suspended.status_code == 200, suspended.text
    sara = after.up.user("sara.nilsson@example.com")
    assert sara is not None and (sara.role, sara.teams) == (None, frozenset())
    back = after.scim.patch(f"/Users/{ids['sara.nilsson']}", ops({"op": "replace", "value": {"active": True}}))
    assert back.status_code == 200, back.text
    sara = after.up.user("sara.nilsson@example.com")
    assert sara is not None and (sara.role, sara.teams) == ("Incident Commander", {"Payments", "Customer Support"})


def test_a_second_apply_changes_nothing(bridge_factory: Any, migrate_to_jsm: Any,
                                        atlassian_simulator: AtlassianSimulatorServer) -> None:
    before: Running = bridge_factory()
    populate(before)
    first: Migrated = migrate_to_jsm(before)
    store = before.app.extensions["scim_bridge"].store
    links = SqlLinkStore(store)
    # The bridge has served under jsm meanwhile: a link's profile moved on.
    nina = links.user_by_username("nina.petrova@example.com")
    assert nina is not None
    first.after.scim.patch(f"/Users/{nina.local_id}", ops({"op": "replace", "path": "title", "value": "Lead"}))
    users_before, teams_before = list(links.iter_user_links()), list(links.iter_team_links())

    with AtlassianClient.from_settings(atlassian_settings(atlassian_simulator.base_url)) as client:
        again = plan(store, client, links, apply=True)
    assert again.written == 0
    assert {f.linked for f in again.findings if f.kind in ("user", "team")} == {"already"}
    assert list(links.iter_user_links()) == users_before
    assert list(links.iter_team_links()) == teams_before


def cli_env(before: Running, sim: AtlassianSimulatorServer) -> dict[str, str]:
    settings = atlassian_settings(sim.base_url)
    return {"SCIM_BRIDGE_DATABASE_URL": before.settings.database_url, "ATLASSIAN_API_URL": settings.api_url,
            "OPSGENIE_API_URL": before.settings.opsgenie_api_url, "OPSGENIE_API_KEY": before.settings.opsgenie_api_key,
            "ATLASSIAN_SITE_URL": settings.site_url, "ATLASSIAN_ORG_ID": settings.org_id,
            "ATLASSIAN_CLOUD_ID": settings.cloud_id, "ATLASSIAN_SITE_ID": settings.site_id,
            "ATLASSIAN_EMAIL": settings.email, "ATLASSIAN_API_TOKEN": settings.api_token,
            "ATLASSIAN_ADMIN_API_KEY": settings.admin_api_key}


def test_the_command_reports_what_cannot_be_matched(bridge_factory: Any, migrate_to_jsm: Any,
                                                    atlassian_simulator: AtlassianSimulatorServer) -> None:
    """Dry run by default; unmatched and ambiguous users and teams are reported, never guessed."""
    before: Running = bridge_factory()
    seed = migrated_from(before.sim.state())
    seed["accounts"] = [a for a in seed["accounts"] if a["email"] != "jordan.lee@example.com"]  # never invited
    seed["teams"].append({"displayName": "payments", "members": []})  # a second ops team of that name
    for team in seed["teams"]:
        if team["displayName"] == "Platform SRE":  # a member lost on the way, one added in Atlassian
            team["members"] = [m for m in team["members"] if m != "mei.chen@example.com"] + ["sara.nilsson@example.com"]
        if team["displayName"] == "Customer Support":
            team["opsEnabled"] = False
            team["members"] = [m for m in team["members"] if m != "jordan.lee@example.com"]
    seed["customRoles"] = []  # "Incident Commander" not re-created
    for account in seed["accounts"]:
        account.pop("customRole", None)
    view = JsmView(atlassian_simulator.base_url, SqlLinkStore(before.app.extensions["scim_bridge"].store))
    view.seed(seed)
    env = cli_env(before, atlassian_simulator)

    text = invoke_cli(["migrate", "--to", "jsm"], env)
    assert text.exit_code == 1, text.output
    assert "dry run" in text.output
    assert "users  6 matched, 1 unmatched, 0 ambiguous, 0 not migratable" in text.output
    assert "teams  1 matched, 1 unmatched, 1 ambiguous, 0 not migratable" in text.output
    assert "unmatched: user jordan.lee@example.com" in text.output
    assert "without operations enabled" in text.output
    assert ("team Platform SRE (" in text.output and "not in the Atlassian team: mei.chen@example.com; only in the "
            "Atlassian team: sara.nilsson@example.com" in text.output), text.output
    assert list(view.links.iter_user_links()) == []  # nothing written

    result = invoke_cli(["migrate", "--to", "jsm", "--apply", "--format", "json"], env)
    assert result.exit_code == 1, result.output
    body = json.loads(result.output)
    assert body["applied"] is True and body["complete"] is False and body["written"] == 7
    outcome = {(f["kind"], f["name"]): f for f in body["findings"]}
    assert outcome[("user", "jordan.lee@example.com")]["outcome"] == UNMATCHED
    assert outcome[("team", "Payments")]["outcome"] == AMBIGUOUS
    assert outcome[("role", "sara.nilsson@example.com in role:Incident Commander")]["outcome"] == UNMATCHED
    assert {link.username for link in view.links.iter_user_links()} == {
        "alex.morgan@example.com", "priya.shah@example.com", "diego.alvarez@example.com", "tom.becker@example.com",
        "sara.nilsson@example.com", "mei.chen@example.com"}
    assert [link.name for link in view.links.iter_team_links()] == ["Platform SRE"]
    priya = view.links.user_by_username("priya.shah@example.com")
    assert priya is not None and priya.profile["role"] == "Admin"
    assert sorted(c["method"] for c in priya.profile["contacts"] if c["method"] != "email") == ["sms", "voice"]

    csv = invoke_cli(["migrate", "--to", "jsm", "--format", "csv"], env)
    lines = csv.output.splitlines()
    assert lines[0] == "kind,scim_id,name,outcome,upstream_id,linked,detail"
    assert sum(1 for line in lines if line.startswith("user,") and ",matched," in line and ",already," in line) == 6


def test_the_command_needs_the_atlassian_settings(bridge_factory: Any) -> None:
    before: Running = bridge_factory()
    result = invoke_cli(["migrate", "--to", "jsm"], {"SCIM_BRIDGE_DATABASE_URL": before.settings.database_url})
    assert result.exit_code == 2
    assert "ATLASSIAN_" in result.output
