"""``scim-bridge export``: the whole directory, as the bridge itself renders it; the CSV one as a subprocess (a shell's
environment, metrics folder and all), the others in this process through click's runner."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from conftest import SIM_KEY
from conftest import Running

from ops.clirun import invoke_cli
from ops.clirun import run_cli

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
OPSGENIE_GROUP = "urn:scim-bridge:params:scim:schemas:extension:opsgenie:2.0:Group"
SEED_COLUMNS = ["id", "username", "fullName", "blocked", "verified", "role.id", "role.name", "skypeUsername",
                "timeZone", "locale", "userAddress.country", "userAddress.state", "userAddress.city",
                "userAddress.line", "userAddress.zipCode", "createdAt"]


def env_of(bridge: Running) -> dict[str, str]:
    return {"OPSGENIE_API_URL": bridge.settings.opsgenie_api_url, "OPSGENIE_API_KEY": SIM_KEY,
            "SCIM_BRIDGE_DATABASE_URL": bridge.settings.database_url}


def add_people(bridge: Running) -> dict[str, Any]:
    """A user created through SCIM (with what only the bridge keeps), one suspended, one blocked upstream."""
    created = bridge.scim.post("/Users", {
        "schemas": [CORE_USER, ENTERPRISE],
        "userName": "nia.okafor@example.com", "externalId": "okta-00u1",
        "name": {"givenName": "Nia", "familyName": "Okafor"}, "title": "SRE",
        "addresses": [{"streetAddress": "1 Rue de Rivoli", "locality": "Paris", "postalCode": "75001",
                       "region": "IDF", "country": "FR", "primary": True}],
        "ims": [{"value": "nia.sk", "type": "skype"}],
        ENTERPRISE: {"employeeNumber": "42"},
    })
    assert created.status_code == 201, created.text
    tom = bridge.sim.user("tom.becker@example.com")
    assert tom is not None
    suspended = bridge.scim.patch(f"/Users/{tom['id']}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": False}]})
    assert suspended.status_code == 200, suspended.text
    jordan = bridge.sim.user("jordan.lee@example.com")
    assert jordan is not None
    bridge.sim.http.patch(f"{bridge.sim.base_url}/__sim/users/{jordan['id']}", json={"blocked": True},
                          timeout=10).raise_for_status()
    result: dict[str, Any] = created.json()
    return result


def test_export_scim_matches_what_the_bridge_serves(bridge: Running, tmp_path: Path) -> None:
    add_people(bridge)
    out = tmp_path / "directory.json"
    result = invoke_cli(["export", "--format", "scim", "--output", str(out), "--base-url", bridge.scim.base_url],
                        env_of(bridge))
    assert result.exit_code == 0, result.output
    assert "exported 8 users, 3 teams and" in result.stderr
    exported = json.loads(out.read_text())
    assert exported["schemas"] == [LIST_RESPONSE]
    assert exported["totalResults"] == exported["itemsPerPage"] == len(exported["Resources"])
    users = {r["id"]: r for r in exported["Resources"] if r["meta"]["resourceType"] == "User"}
    groups = {r["id"]: r for r in exported["Resources"] if r["meta"]["resourceType"] == "Group"}
    served_users = bridge.scim.get("/Users", params={"count": 1000}).json()["Resources"]
    served_groups = bridge.scim.get("/Groups", params={"count": 1000}).json()["Resources"]
    assert users == {u["id"]: u for u in served_users}
    assert groups == {g["id"]: g for g in served_groups}
    # Teams with their members, roles with their holders.
    by_name = {g["displayName"]: g for g in groups.values()}
    assert {"Platform SRE", "Payments", "Customer Support", "role:Owner", "role:Admin", "role:User",
            "role:Incident Commander", "role:Stakeholder"} <= set(by_name)
    assert {m["display"] for m in by_name["Payments"]["members"]} == {
        "diego.alvarez@example.com", "mei.chen@example.com", "sara.nilsson@example.com"}
    assert by_name["Payments"][OPSGENIE_GROUP]["kind"] == "team"
    assert {m["display"] for m in by_name["role:Admin"]["members"]} == {
        "priya.shah@example.com", "diego.alvarez@example.com"}
    nia = next(u for u in users.values() if u["userName"] == "nia.okafor@example.com")
    assert nia["externalId"] == "okta-00u1" and nia["title"] == "SRE" and nia[ENTERPRISE]["employeeNumber"] == "42"
    assert nia["meta"]["location"] == f"{bridge.scim.base_url}/Users/{nia['id']}"


def test_export_csv_has_every_seed_attribute(bridge: Running, tmp_path: Path) -> None:
    nia = add_people(bridge)
    # A shell that also serves may hold the server's metrics folder: export keeps its metrics to itself.
    serve_metrics = tmp_path / "serve-metrics"
    result = run_cli(["export", "--format", "csv"], {**env_of(bridge), "PROMETHEUS_MULTIPROC_DIR": str(serve_metrics)},
                     tmp_path)
    assert result.returncode == 0, result.stderr
    assert not serve_metrics.exists()
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == [*SEED_COLUMNS, "teams", "active", "externalId"]
    state = bridge.sim.state()
    assert len(rows) == len(state["users"]) == 8
    by_id = {row["id"]: row for row in rows}
    for user in state["users"]:
        row = by_id[user["id"]]
        address = user.get("userAddress") or {}
        expected = {
            "id": user["id"], "username": user["username"], "fullName": user["fullName"],
            "blocked": str(user["blocked"]).lower(), "verified": str(user["verified"]).lower(),
            "role.id": user["role"]["id"], "role.name": user["role"]["name"],
            "skypeUsername": user.get("skypeUsername") or "", "timeZone": user["timeZone"], "locale": user["locale"],
            "userAddress.country": address.get("country", ""), "userAddress.state": address.get("state", ""),
            "userAddress.city": address.get("city", ""), "userAddress.line": address.get("line", ""),
            "userAddress.zipCode": address.get("zipCode", ""), "createdAt": user["createdAt"],
        }
        assert {k: row[k] for k in SEED_COLUMNS} == expected, user["username"]
        assert (row["teams"].split(";") if row["teams"] else []) == sorted(t["name"] for t in user["teams"])
    mei = next(r for r in rows if r["username"] == "mei.chen@example.com")
    assert mei["teams"] == "Payments;Platform SRE" and mei["userAddress.city"] == "San Francisco"
    assert next(r for r in rows if r["username"] == "jordan.lee@example.com")["blocked"] == "true"
    tom = next(r for r in rows if r["username"] == "tom.becker@example.com")
    assert tom["active"] == "false" and tom["teams"] == ""  # suspended: out of teams, in the suspended role
    assert tom["role.name"] == "Stakeholder"
    assert by_id[nia["id"]]["externalId"] == "okta-00u1"
    assert by_id[nia["id"]]["userAddress.country"] == "FR" and by_id[nia["id"]]["skypeUsername"] == "nia.sk"
    sara = next(r for r in rows if r["username"] == "sara.nilsson@example.com")
    assert sara["role.name"] == "Incident Commander"


def test_export_reports_an_unusable_key(bridge: Running, tmp_path: Path) -> None:
    env = {**env_of(bridge), "OPSGENIE_API_KEY": "not-a-valid-key", "SCIM_BRIDGE_DATABASE_URL":
           f"sqlite:///{tmp_path}/fresh.db"}
    result = invoke_cli(["export", "--format", "csv", "--output", str(tmp_path / "out.csv")], env)
    assert result.exit_code == 1
    assert "could not read the OpsGenie directory" in result.output
    assert not (tmp_path / "out.csv").exists()
