"""SCIM Users end to end: bridge over HTTP, simulator over HTTP, state checked upstream."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Running

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
OPSGENIE = "urn:scim-bridge:params:scim:schemas:extension:opsgenie:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def new_user(user_name: str = "Nia.Okafor@Example.com", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [CORE],
        "userName": user_name,
        "name": {"givenName": "Nia", "familyName": "Okafor"},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "active": True,
    }
    body.update(extra)
    return body


def find(bridge: Running, user_name: str) -> dict[str, Any]:
    response = bridge.scim.get("/Users", params={"filter": f'userName eq "{user_name}"'})
    assert response.status_code == 200
    resources = response.json()["Resources"]
    assert len(resources) == 1, resources
    found: dict[str, Any] = resources[0]
    return found


def test_create_read_and_upstream_state(bridge: Running) -> None:
    body = new_user(
        externalId="okta-00u1",
        displayName="Nia Okafor",
        timezone="Europe/Paris",
        locale="fr-FR",
        phoneNumbers=[{"value": "+33 6 12 34 56 78", "type": "mobile"}],
        ims=[{"value": "nia.okafor", "type": "skype"}],
        addresses=[{"streetAddress": "1 Rue de Rivoli", "locality": "Paris", "postalCode": "75001",
                    "country": "FR", "type": "work", "primary": True}],
        roles=[{"value": "Admin", "primary": True}],
        **{ENTERPRISE: {"employeeNumber": "42", "department": "SRE"}},
    )
    body["schemas"] = [CORE, ENTERPRISE]
    created = bridge.scim.post("/Users", body)
    assert created.status_code == 201, created.text
    assert created.headers["Content-Type"].startswith("application/scim+json")
    user = created.json()
    assert created.headers["Location"] == user["meta"]["location"]
    assert created.headers["ETag"] == user["meta"]["version"]
    assert user["userName"] == "Nia.Okafor@Example.com"  # the case the client sent
    assert user["externalId"] == "okta-00u1"
    assert user["active"] is True
    assert user["name"]["givenName"] == "Nia"
    assert user["phoneNumbers"] == [{"value": "+33 6 12 34 56 78", "type": "mobile"}]
    assert user[ENTERPRISE] == {"employeeNumber": "42", "department": "SRE"}
    assert user["roles"][0]["value"] == "Admin"

    upstream = bridge.sim.user("nia.okafor@example.com")
    assert upstream is not None
    assert upstream["fullName"] == "Nia Okafor"
    assert upstream["role"]["name"] == "Admin"
    assert upstream["timeZone"] == "Europe/Paris"
    assert upstream["locale"] == "fr_FR"
    assert upstream["skypeUsername"] == "nia.okafor"
    assert upstream["userAddress"]["city"] == "Paris"
    contacts = upstream.get("userContacts", [])
    phones = sorted((c["contactMethod"], c["to"]) for c in contacts if c["contactMethod"] != "email")
    assert phones == [("sms", "33-612345678"), ("voice", "33-612345678")]

    fetched = bridge.scim.get(f"/Users/{user['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == user


def test_duplicate_username_is_409_case_insensitively(bridge: Running) -> None:
    assert bridge.scim.post("/Users", new_user()).status_code == 201
    bridge.sim.clear_calls()
    again = bridge.scim.post("/Users", new_user("NIA.OKAFOR@example.com"))
    assert again.status_code == 409
    assert again.json()["scimType"] == "uniqueness"
    assert bridge.sim.writes() == []


def test_username_filter_is_case_insensitive_and_one_call(bridge: Running) -> None:
    bridge.sim.clear_calls()
    found = find(bridge, "MEI.CHEN@EXAMPLE.COM")
    assert found["userName"] == "mei.chen@example.com"
    assert len(bridge.sim.calls()) == 1


def test_unknown_user_filter_returns_empty_list(bridge: Running) -> None:
    response = bridge.scim.get("/Users", params={"filter": 'userName eq "nobody@example.com"'})
    assert response.status_code == 200
    body = response.json()
    assert body["totalResults"] == 0
    assert body["Resources"] == []


def test_external_id_filter_costs_no_upstream_call(bridge: Running) -> None:
    created = bridge.scim.post("/Users", new_user(externalId="ext-1")).json()
    bridge.scim.get("/Users")  # make sure the mirror is filled
    bridge.sim.clear_calls()
    response = bridge.scim.get("/Users", params={"filter": 'externalId eq "ext-1"'})
    assert [r["id"] for r in response.json()["Resources"]] == [created["id"]]
    assert bridge.sim.calls() == []


def test_list_paging_is_stable_and_counts_are_integers(bridge: Running) -> None:
    first = bridge.scim.get("/Users", params={"startIndex": 1, "count": 3}).json()
    second = bridge.scim.get("/Users", params={"startIndex": 4, "count": 3}).json()
    third = bridge.scim.get("/Users", params={"startIndex": 7, "count": 3}).json()
    assert first["totalResults"] == 7
    assert (first["itemsPerPage"], second["itemsPerPage"], third["itemsPerPage"]) == (3, 3, 1)
    ids = [r["id"] for page in (first, second, third) for r in page["Resources"]]
    assert len(set(ids)) == 7
    assert second["startIndex"] == 4


def test_seed_attributes_are_visible(bridge: Running) -> None:
    """Every attribute the seed connector imports, and the SCIM attribute that carries it."""
    user = find(bridge, "mei.chen@example.com")
    upstream = bridge.sim.user("mei.chen@example.com")
    assert upstream is not None
    carried = {
        "id": user["id"],
        "username": user["userName"],
        "fullName": user["displayName"],
        "blocked": user[OPSGENIE]["blocked"],
        "verified": user[OPSGENIE]["verified"],
        "role.id": user[OPSGENIE]["roleId"],
        "role.name": user["roles"][0]["value"],
        "timeZone": user["timezone"],
        "locale": user["locale"].replace("-", "_"),
        "userAddress.country": user["addresses"][0]["country"],
        "userAddress.state": user["addresses"][0]["region"],
        "userAddress.city": user["addresses"][0]["locality"],
        "userAddress.line": user["addresses"][0]["streetAddress"],
        "userAddress.zipCode": user["addresses"][0]["postalCode"],
        "createdAt": user["meta"]["created"],
    }
    assert carried["id"] == upstream["id"]
    assert carried["username"] == upstream["username"]
    assert carried["fullName"] == upstream["fullName"]
    assert carried["blocked"] == upstream["blocked"]
    assert carried["verified"] == upstream["verified"]
    assert carried["role.id"] == upstream["role"]["id"]
    assert carried["role.name"] == upstream["role"]["name"]
    assert carried["timeZone"] == upstream["timeZone"]
    assert carried["locale"] == upstream["locale"]
    address = upstream["userAddress"]
    assert (carried["userAddress.country"], carried["userAddress.state"], carried["userAddress.city"],
            carried["userAddress.line"], carried["userAddress.zipCode"]) == (
        address["country"], address["state"], address["city"], address["line"], address["zipCode"])
    assert carried["createdAt"][:19] == upstream["createdAt"][:19]
    diego = find(bridge, "diego.alvarez@example.com")
    assert diego["ims"] == [{"value": "diego.alvarez", "type": "skype"}]  # skypeUsername


def test_outside_user_looks_complete(bridge: Running) -> None:
    user = find(bridge, "tom.becker@example.com")
    assert user["name"] == {"formatted": "Tom Becker", "givenName": "Tom", "familyName": "Becker"}
    assert user["emails"] == [{"value": "tom.becker@example.com", "type": "work", "primary": True}]
    assert user["phoneNumbers"] == [{"value": "+49301234567", "type": "work"}]
    teams = sorted(g["display"] for g in user["groups"])
    assert teams == ["Platform SRE", "role:User"]


def test_okta_deactivate_suspends_and_reactivate_restores(bridge: Running) -> None:
    user = find(bridge, "mei.chen@example.com")
    before = bridge.sim.user("mei.chen@example.com")
    assert before is not None
    deactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    response = bridge.scim.patch(f"/Users/{user['id']}", deactivate)
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    suspended = bridge.sim.user("mei.chen@example.com")
    assert suspended is not None
    assert suspended["role"]["name"] == "Stakeholder"
    state = bridge.sim.state()
    assert all(user["id"] not in [m["user"]["id"] for m in t["members"]] for t in state["teams"])

    again = bridge.scim.get(f"/Users/{user['id']}").json()
    assert again["active"] is False

    reactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": True}}]}
    response = bridge.scim.patch(f"/Users/{user['id']}", reactivate)
    assert response.status_code == 200
    assert response.json()["active"] is True
    restored = bridge.sim.user("mei.chen@example.com")
    assert restored is not None
    assert restored["role"]["name"] == "User"
    teams = {t["name"] for t in bridge.sim.state()["teams"]
             if user["id"] in [m["user"]["id"] for m in t["members"]]}
    assert teams == {"Platform SRE", "Payments"}


def test_owner_is_never_suspended_or_deleted(bridge: Running) -> None:
    owner = find(bridge, "alex.morgan@example.com")
    bridge.sim.clear_calls()
    deactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": "False"}]}
    response = bridge.scim.patch(f"/Users/{owner['id']}", deactivate)
    assert response.status_code == 403
    assert "Owner" in response.json()["detail"]
    assert bridge.scim.delete(f"/Users/{owner['id']}").status_code == 403
    assert bridge.sim.writes() == []


def test_put_replaces_and_keeps_role(bridge: Running) -> None:
    user = find(bridge, "priya.shah@example.com")
    body = {
        "schemas": [CORE],
        "userName": "priya.shah@example.com",
        "name": {"givenName": "Priya", "familyName": "Shah-Rao"},
        "displayName": "Priya Shah-Rao",
        "emails": [{"value": "priya.shah@example.com", "type": "work", "primary": True}],
        "active": True,
    }
    response = bridge.scim.put(f"/Users/{user['id']}", body)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["displayName"] == "Priya Shah-Rao"
    assert "phoneNumbers" not in updated
    upstream = bridge.sim.user("priya.shah@example.com")
    assert upstream is not None
    assert upstream["fullName"] == "Priya Shah-Rao"
    assert upstream["role"]["name"] == "Admin"  # PUT without roles never demotes
    assert [c for c in upstream.get("userContacts", []) if c["contactMethod"] in ("sms", "voice")] == []


def test_entra_patch_dialects(bridge: Running) -> None:
    user = bridge.scim.post("/Users", new_user()).json()
    default_dialect = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "Replace", "path": "name.familyName", "value": "Okafor-Bell"},
            {"op": "Add", "path": 'phoneNumbers[type eq "work"].value', "value": "+1 212 555 0100"},
            {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Ops"},
            {"op": "Replace", "path": "active", "value": "False"},
        ],
    }
    response = bridge.scim.patch(f"/Users/{user['id']}", default_dialect)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"]["familyName"] == "Okafor-Bell"
    assert body["active"] is False
    assert body[ENTERPRISE]["department"] == "Ops"
    upstream = bridge.sim.user(user["userName"])
    assert upstream is not None
    assert ("voice", "1-2125550100") in [(c["contactMethod"], c["to"]) for c in upstream.get("userContacts", [])]

    flag_dialect = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "replace", "value": {"active": True, "name.givenName": "Nia B.",
                                        f"{ENTERPRISE}:employeeNumber": "7"}},
        ],
    }
    response = bridge.scim.patch(f"/Users/{user['id']}", flag_dialect)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["active"] is True
    assert body["name"]["givenName"] == "Nia B."
    assert body[ENTERPRISE]["employeeNumber"] == "7"


def test_delete_user(bridge: Running) -> None:
    user = bridge.scim.post("/Users", new_user()).json()
    assert bridge.scim.delete(f"/Users/{user['id']}").status_code == 204
    assert bridge.sim.user(user["userName"]) is None
    missing = bridge.scim.get(f"/Users/{user['id']}")
    assert missing.status_code == 404
    assert missing.json()["schemas"] == [ERROR]


def test_etags(bridge: Running) -> None:
    user = bridge.scim.post("/Users", new_user()).json()
    version = user["meta"]["version"]
    assert version.startswith('W/"')
    not_modified = bridge.scim.get(f"/Users/{user['id']}", headers={"If-None-Match": version})
    assert not_modified.status_code == 304
    patch = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "SRE"}]}
    stale = bridge.scim.patch(f"/Users/{user['id']}", patch, headers={"If-Match": 'W/"stale"'})
    assert stale.status_code == 412
    fresh = bridge.scim.patch(f"/Users/{user['id']}", patch, headers={"If-Match": version})
    assert fresh.status_code == 200
    assert fresh.json()["meta"]["version"] != version


@pytest.mark.read_through  # checks what read-through reads or costs
def test_user_deleted_upstream_is_never_reported(bridge: Running) -> None:
    user = find(bridge, "tom.becker@example.com")
    bridge.scim.get("/Users")
    deleted = bridge.sim.http.delete(f"{bridge.sim.base_url}/__sim/users/{user['id']}", timeout=10)
    assert deleted.status_code == 200, deleted.text
    assert bridge.scim.get(f"/Users/{user['id']}").status_code == 404
    response = bridge.scim.get("/Users", params={"filter": 'userName eq "tom.becker@example.com"'})
    assert response.json()["totalResults"] == 0


def test_echoed_phones_are_not_written_again(bridge: Running) -> None:
    """Mei has an SMS contact only; the bridge shows it as a "mobile" number (which stands for SMS and
    voice). A change of another attribute, or the same list sent back, must not add a voice contact."""
    mei = find(bridge, "mei.chen@example.com")
    before = sorted((c["contactMethod"], c["to"]) for c in bridge.sim.user("mei.chen@example.com")["userContacts"])
    bridge.sim.clear_calls()
    titled = bridge.scim.patch(f"/Users/{mei['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "title", "value": "Engineer"}]})
    assert titled.status_code == 200, titled.text
    echoed = bridge.scim.patch(f"/Users/{mei['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "phoneNumbers", "value": mei["phoneNumbers"]}]})
    assert echoed.status_code == 200, echoed.text
    assert echoed.json()["phoneNumbers"] == mei["phoneNumbers"]
    assert [c for c in bridge.sim.writes() if "/contacts" in c["path"]] == []
    after = sorted((c["contactMethod"], c["to"]) for c in bridge.sim.user("mei.chen@example.com")["userContacts"])
    assert after == before


@pytest.mark.parametrize("read_through", [True, False], ids=["read-through", "mirror-reads"])
def test_reactivation_gives_back_only_the_teams_the_user_was_in(bridge_factory: Any, read_through: bool) -> None:
    """Sara left Payments in OpsGenie after the last sync; suspending and reactivating her through SCIM
    must not put her back into it."""
    bridge: Running = bridge_factory(read_through=read_through)
    sara = find(bridge, "sara.nilsson@example.com")["id"]
    payments = bridge.sim.team("Payments")
    assert payments is not None
    left = bridge.sim.http.delete(f"{bridge.sim.base_url}/__sim/teams/{payments['id']}/members/{sara}", timeout=10)
    assert left.status_code == 200, left.text
    for active in (False, True):
        answer = bridge.scim.patch(f"/Users/{sara}", {"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": "active", "value": active}]})
        assert answer.status_code == 200, answer.text
    teams = sorted(t["name"] for t in bridge.sim.state()["teams"]
                   if sara in [m["user"]["id"] for m in t.get("members", [])])
    assert teams == ["Customer Support"]
    shown = bridge.scim.get(f"/Users/{sara}").json()
    assert [g["display"] for g in shown["groups"] if not g["value"].startswith("role-")] == ["Customer Support"]


def test_a_role_change_answers_with_the_version_and_role_id_a_read_gives(bridge: Running) -> None:
    """OpsGenie may list its built-in roles without ids; the bridge learns them from the users holding them, so
    the answer to a write is the resource a GET then returns (same ETag, the real roleId)."""
    mei = bridge.sim.user("mei.chen@example.com")
    assert mei is not None
    admin_id = ""
    for change in ({"op": "replace", "path": "roles", "value": [{"value": "Admin"}]},
                   {"op": "replace", "path": "active", "value": False},
                   {"op": "replace", "path": "active", "value": True}):
        written = bridge.scim.patch(f"/Users/{mei['id']}", {"schemas": [PATCH], "Operations": [change]})
        assert written.status_code == 200, written.text
        read = bridge.scim.get(f"/Users/{mei['id']}")
        assert written.headers["ETag"] == read.headers["ETag"], change
        assert written.json() == read.json()
        upstream = bridge.sim.user("mei.chen@example.com")
        assert upstream is not None
        suspended = change["path"] == "active" and change["value"] is False
        if suspended:
            # OpsGenie holds the suspended role meanwhile; the user shows the role it gets back, and says so.
            assert upstream["role"]["name"] == "Stakeholder"
            assert written.json()[OPSGENIE]["roleId"] == admin_id
        else:
            assert written.json()[OPSGENIE]["roleId"] == upstream["role"]["id"], change
            admin_id = upstream["role"]["id"]
        assert written.json()[OPSGENIE]["suspended"] is suspended
        assert written.json()["roles"][0]["value"] == "Admin"


def test_put_without_the_bridge_extension_keeps_opsgenie_only_data(bridge: Running) -> None:
    """IdPs PUT the attributes they know: tags and details nobody sent stay; a PUT carrying them replaces them."""
    user = find(bridge, "mei.chen@example.com")
    body = {"schemas": [CORE], "userName": "mei.chen@example.com", "name": {"givenName": "Mei", "familyName": "Chen"},
            "displayName": "Mei Chen", "emails": [{"value": "mei.chen@example.com", "type": "work", "primary": True}]}
    kept = bridge.scim.put(f"/Users/{user['id']}", body)
    assert kept.status_code == 200, kept.text
    assert kept.json()[OPSGENIE]["tags"] == ["backend"]
    upstream = bridge.sim.user("mei.chen@example.com")
    assert upstream is not None and upstream["tags"] == ["backend"]

    replaced = bridge.scim.put(f"/Users/{user['id']}", {**body, "schemas": [CORE, OPSGENIE], OPSGENIE: {"tags": []}})
    assert replaced.status_code == 200, replaced.text
    upstream = bridge.sim.user("mei.chen@example.com")
    assert upstream is not None and upstream.get("tags", []) == []


def test_reading_users_one_by_one_keeps_their_last_modified(bridge: Running) -> None:
    """A single read also fetches contacts a list lacks; completing the mirror is not a change of the user, so an
    incremental import filtering on meta.lastModified does not see every user it read as changed."""
    listed = {u["id"]: u["meta"]["lastModified"]
              for u in bridge.scim.get("/Users", params={"count": 100}).json()["Resources"]}
    assert len(listed) == 7
    for uid, stamp in listed.items():
        assert bridge.scim.get(f"/Users/{uid}").json()["meta"]["lastModified"] == stamp
    again = {u["id"]: u["meta"]["lastModified"]
             for u in bridge.scim.get("/Users", params={"count": 100}).json()["Resources"]}
    assert again == listed
    newer = bridge.scim.get("/Users", params={"filter": f'meta.lastModified gt "{max(listed.values())}"'})
    assert newer.json()["totalResults"] == 0


def test_an_extension_urn_selects_or_excludes_the_whole_extension(bridge: Running) -> None:
    created = bridge.scim.post("/Users", new_user(**{"schemas": [CORE, ENTERPRISE],
                                                     ENTERPRISE: {"department": "Ops", "employeeNumber": "7"}}))
    assert created.status_code == 201, created.text
    path = f"/Users/{created.json()['id']}"
    only = bridge.scim.get(path, params={"attributes": ENTERPRISE}).json()
    assert set(only) == {"schemas", "id", ENTERPRISE}
    assert only[ENTERPRISE] == {"department": "Ops", "employeeNumber": "7"}
    assert only["schemas"] == [CORE, ENTERPRISE]
    both = bridge.scim.get(path, params={"attributes": f"{ENTERPRISE},userName"}).json()
    assert set(both) == {"schemas", "id", "userName", ENTERPRISE}
    without = bridge.scim.get(path, params={"excludedAttributes": ENTERPRISE.lower()}).json()
    assert ENTERPRISE not in without and ENTERPRISE not in without["schemas"]
    assert without["userName"] == "Nia.Okafor@Example.com" and OPSGENIE in without
