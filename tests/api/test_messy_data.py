"""What real directories send: odd phone numbers, attributes the bridge does not know, suspended users and
role-group aliases. None of it may block provisioning; what the bridge did not do is reported."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from conftest import Running
from console.browser import CONSOLE_TOKEN
from console.test_console_http import logged_in_session
from ops.test_observability import scrape
from ops.test_observability import value

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
OPSGENIE = "urn:scim-bridge:params:scim:schemas:extension:opsgenie:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MODES = pytest.mark.parametrize("read_through", [True, False], ids=["read-through", "mirror-reads"])


def phones_upstream(bridge: Running, username: str) -> list[tuple[str, str]]:
    user = bridge.sim.user(username)
    assert user is not None
    return sorted((c["contactMethod"], c["to"]) for c in user.get("userContacts", []) if c["contactMethod"] != "email")


def audit_details(bridge: Running) -> list[str]:
    store = bridge.app.extensions["scim_bridge"].store
    return [event.detail for event in store.list_audit(limit=50)]


def replace_phones(numbers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "phoneNumbers", "value": numbers}]}


@MODES
def test_phone_numbers_never_block_a_user(bridge_factory: Any, read_through: bool) -> None:
    """National numbers are read in SCIM_BRIDGE_PHONE_REGION; what is no phone number is kept in SCIM as sent,
    gets no contact, and the request succeeds with a warning (audit log, metric)."""
    bridge: Running = bridge_factory(read_through=read_through, phone_region="US")
    sent = [{"value": "(415) 555-0100", "type": "mobile"}, {"value": "4925259272", "type": "work"},
            {"value": "+33 6 12 34 56 78", "type": "work"}, {"value": "ext. 42 (ask reception)", "type": "other"}]
    created = bridge.scim.post("/Users", {"schemas": [CORE], "userName": "odd.phones@example.com",
                                          "phoneNumbers": sent})
    assert created.status_code == 201, created.text
    assert created.json()["phoneNumbers"] == sent
    assert phones_upstream(bridge, "odd.phones@example.com") == [
        ("sms", "1-4155550100"), ("voice", "1-4155550100"), ("voice", "1-4925259272"), ("voice", "33-612345678")]
    user_id = created.json()["id"]
    assert bridge.scim.get(f"/Users/{user_id}").json()["phoneNumbers"] == sent
    # The warning names the element, not the number: warnings are logged, and logs hold no personal data.
    assert audit_details(bridge)[0].startswith("phoneNumbers[3] (type other) is not a phone number OpsGenie can call")

    # An update with another odd value: the contact goes, the odd value stays in SCIM, the update succeeds.
    again = [{"value": "call the front desk", "type": "work"}]
    patched = bridge.scim.patch(f"/Users/{user_id}", replace_phones(again))
    assert patched.status_code == 200, patched.text
    assert patched.json()["phoneNumbers"] == again
    assert phones_upstream(bridge, "odd.phones@example.com") == []
    put = {k: v for k, v in patched.json().items() if k not in ("meta", "groups")}
    replaced = bridge.scim.put(f"/Users/{user_id}", {**put, "phoneNumbers": [{"value": "n/a", "type": "work"}]})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["phoneNumbers"] == [{"value": "n/a", "type": "work"}]
    assert bridge.scim.get(f"/Users/{user_id}").json()["phoneNumbers"] == [{"value": "n/a", "type": "work"}]
    assert value(scrape(bridge), "scim_bridge_warnings_total", kind="phone") == 3


def test_without_a_region_only_international_numbers_become_contacts(bridge: Running) -> None:
    created = bridge.scim.post("/Users", {"schemas": [CORE], "userName": "intl.only@example.com", "phoneNumbers": [
        {"value": "4925259272", "type": "work"}, {"value": "+1 415 555 0100", "type": "work"}]})
    assert created.status_code == 201, created.text
    assert [p["value"] for p in created.json()["phoneNumbers"]] == ["4925259272", "+1 415 555 0100"]
    assert phones_upstream(bridge, "intl.only@example.com") == [("voice", "1-4155550100")]
    assert "SCIM_BRIDGE_PHONE_REGION unset" in audit_details(bridge)[0]


@MODES
def test_unknown_attributes_are_ignored_alike_and_reported(bridge_factory: Any, read_through: bool) -> None:
    """POST, PUT and PATCH ignore an attribute the User schema does not have, in the same way; the audit log,
    the console and a metric say what was ignored."""
    bridge: Running = bridge_factory(read_through=read_through, console_token=CONSOLE_TOKEN)
    created = bridge.scim.post("/Users", {"schemas": [CORE, ENTERPRISE], "userName": "colour@example.com",
                                          "favouriteColour": "teal", ENTERPRISE: {"shoeSize": 44, "department": "Ops"}})
    assert created.status_code == 201, created.text
    user = created.json()
    assert "favouriteColour" not in user and user[ENTERPRISE] == {"department": "Ops"}
    put = {k: v for k, v in user.items() if k not in ("meta", "groups")}
    replaced = bridge.scim.put(f"/Users/{user['id']}", {**put, "favouriteColour": "red", "title": "SRE"})
    assert replaced.status_code == 200, replaced.text
    patched = bridge.scim.patch(f"/Users/{user['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "favouriteColour", "value": "blue"},
        {"op": "replace", "path": "nickName", "value": "Col"}]})
    assert patched.status_code == 200, patched.text
    assert patched.json()["nickName"] == "Col" and patched.json()["title"] == "SRE"
    assert "favouriteColour" not in patched.json()
    details = audit_details(bridge)[:3]
    assert all("favouriteColour" in detail for detail in details), details
    assert f"{ENTERPRISE}:shoeSize" in details[2]
    group = bridge.scim.post("/Groups", {"schemas": [GROUP], "displayName": "Colourful", "mood": "happy"})
    assert group.status_code == 201, group.text
    assert "'mood'" in audit_details(bridge)[0]
    assert value(scrape(bridge), "scim_bridge_warnings_total", kind="ignored") == 4

    http, _csrf = logged_in_session(bridge.root)
    listing = http.get(bridge.root + "/console/activity", timeout=10)
    assert "with a warning" in listing.text
    event = bridge.app.extensions["scim_bridge"].store.list_audit(limit=50)[1]
    page = http.get(bridge.root + f"/console/activity/{event.id}", timeout=10)
    assert page.status_code == 200
    assert "Warnings" in page.text and "favouriteColour" in page.text


@MODES
def test_a_suspended_user_agrees_with_itself(bridge_factory: Any, read_through: bool) -> None:
    bridge: Running = bridge_factory(read_through=read_through)
    priya = bridge.sim.user("priya.shah@example.com")
    assert priya is not None and priya["role"]["name"] == "Admin"
    admin_id = priya["role"]["id"]
    off = bridge.scim.patch(f"/Users/{priya['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "active", "value": False}]})
    assert off.status_code == 200, off.text
    for shown in (off.json(), bridge.scim.get(f"/Users/{priya['id']}").json()):
        assert shown["active"] is False
        assert shown["roles"][0]["value"] == "Admin"
        assert shown[OPSGENIE]["roleId"] == admin_id
        assert shown[OPSGENIE]["suspended"] is True
        assert "role-admin" in [g["value"] for g in shown["groups"]]
    suspended = bridge.sim.user("priya.shah@example.com")
    assert suspended is not None and suspended["role"]["name"] == "Stakeholder"
    listed = bridge.scim.get("/Users", params={"filter": f'{OPSGENIE}:suspended eq true'}).json()["Resources"]
    assert [u["id"] for u in listed] == [priya["id"]]
    on = bridge.scim.patch(f"/Users/{priya['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "active", "value": True}]})
    assert on.json()[OPSGENIE]["suspended"] is False and on.json()[OPSGENIE]["roleId"] == admin_id
    # The extension is read-only, as discovery says.
    schema = bridge.scim.get(f"/Schemas/{OPSGENIE}").json()
    flag = next(a for a in schema["attributes"] if a["name"] == "suspended")
    assert flag["mutability"] == "readOnly" and flag["type"] == "boolean"


@MODES
def test_a_member_added_through_an_alias_shows_the_alias(bridge_factory: Any, read_through: bool) -> None:
    bridge: Running = bridge_factory(read_through=read_through, role_group_aliases={"OpsGenie Admins": "Admin"})
    alias = bridge.scim.get("/Groups", params={"filter": 'displayName eq "OpsGenie Admins"'}).json()["Resources"][0]
    jordan = bridge.sim.user("jordan.lee@example.com")
    assert jordan is not None
    added = bridge.scim.patch(f"/Groups/{alias['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": jordan["id"]}]}]})
    assert added.status_code == 204, added.text
    user = bridge.scim.get(f"/Users/{jordan['id']}").json()
    groups = {g["value"]: g for g in user["groups"]}
    assert groups[alias["id"]]["display"] == "OpsGenie Admins"
    assert groups[alias["id"]]["$ref"].endswith(f"/Groups/{alias['id']}")
    assert "role-admin" in groups
    member = requests.get(groups[alias["id"]]["$ref"], headers=bridge.scim.http.headers, timeout=10).json()
    assert jordan["id"] in [m["value"] for m in member["members"]]


def test_the_group_extension_kind_tells_teams_from_role_groups(bridge: Running) -> None:
    """The README's Groups table: ``kind`` is read-only, ``team`` or ``role``, and filterable."""
    kind = "urn:scim-bridge:params:scim:schemas:extension:opsgenie:2.0:Group:kind"
    roles = bridge.scim.get("/Groups", params={"filter": f'{kind} eq "role"'}).json()["Resources"]
    teams = bridge.scim.get("/Groups", params={"filter": f'{kind} eq "team"'}).json()["Resources"]
    assert roles and all(g["displayName"].startswith("role:") for g in roles)
    assert {g["displayName"] for g in teams} == {"Platform SRE", "Payments", "Customer Support"}


def test_attributes_with_an_unknown_name_as_the_readme_says(bridge: Running) -> None:
    mei = bridge.sim.user("mei.chen@example.com")
    assert mei is not None
    whole = bridge.scim.get(f"/Users/{mei['id']}").json()
    unknown = bridge.scim.get(f"/Users/{mei['id']}", params={"attributes": "favouriteColour"})
    assert unknown.status_code == 200
    assert unknown.json() == whole  # names nothing known: as if not given
    mixed = bridge.scim.get(f"/Users/{mei['id']}", params={"attributes": "userName,favouriteColour"}).json()
    only = bridge.scim.get(f"/Users/{mei['id']}", params={"attributes": "userName"}).json()
    assert mixed == only and "userName" in mixed and "emails" not in mixed
