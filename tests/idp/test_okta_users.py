"""Okta against the bridge: the "Okta SCIM 2.0 Spec Test" sequence and the Okta user lifecycle.

Every request is shaped as Okta sends it (docs/scim-clients.md §2.1), over HTTP, and every step also
checks what reached the upstream simulator (OpsGenie, or Atlassian with ``SCIM_BRIDGE_UPSTREAM=jsm``).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.idp.conftest import Replay

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
OKTA = {"User-Agent": "Okta SCIM Client 1.0.0", "Accept": "application/scim+json"}


def okta_user(user_name: str, given: str, family: str, external_id: str) -> dict[str, Any]:
    """The body Okta POSTs to /Users for a new assignment."""
    return {
        "schemas": [CORE],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{given} {family}",
        "locale": "en-US",
        "externalId": external_id,
        "groups": [],
        "password": "Okta-Generated-1!",
        "active": True,
    }


def by_user_name(bridge: Replay, user_name: str) -> dict[str, Any]:
    response = bridge.scim.get(
        "/Users", params={"filter": f'userName eq "{user_name}"', "startIndex": 1, "count": 100}, headers=OKTA
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def team_names_of(bridge: Replay, user_name: str) -> set[str]:
    user = bridge.up.user(user_name)
    assert user is not None, user_name
    return set(user.teams)


@pytest.mark.read_through  # checks what read-through reads or costs
def test_okta_spec_test_sequence(bridge: Replay) -> None:
    # Runscope variables.
    given, family = "Runscope", f"Tester{uuid.uuid4().hex[:6]}"
    random_user_name = f"{given}.{family}@atko.example.com"
    random_caps = random_user_name.upper()
    missing_id = "010101010101010101010101"

    # 1. GET /Users?count=1&startIndex=1: a ListResponse with integer counters and a complete user.
    bridge.up.clear_calls()
    step1 = bridge.scim.get("/Users", params={"count": 1, "startIndex": 1}, headers=OKTA)
    assert step1.status_code == 200
    assert step1.headers["Content-Type"].startswith("application/scim+json")
    page = step1.json()
    assert page["schemas"] == [LIST]
    for counter in ("itemsPerPage", "startIndex", "totalResults"):
        assert type(page[counter]) is int, counter
    assert (page["itemsPerPage"], page["startIndex"]) == (1, 1)
    assert page["totalResults"] == len(bridge.up.users()) == 7
    first = page["Resources"][0]
    for key in ("id", "userName", "active"):
        assert key in first, key
    assert first["name"]["familyName"] and first["name"]["givenName"]
    assert first["emails"][0]["value"]
    assert bridge.up.user(first["userName"]) is not None
    assert bridge.up.writes() == []

    # 2. GET /Users/{that id}: the same user.
    step2 = bridge.scim.get(f"/Users/{first['id']}", headers=OKTA)
    assert step2.status_code == 200
    fetched = step2.json()
    assert fetched["id"] == first["id"]
    for key in ("userName", "name", "active", "emails"):
        assert fetched[key] == first[key], key

    # 3. Filter by a random userName: nothing.
    bridge.up.clear_calls()
    step3 = by_user_name(bridge, f"nobody.{uuid.uuid4().hex[:8]}@atko.example.com")
    assert step3["totalResults"] == 0
    assert step3["Resources"] == []
    assert len(bridge.up.calls()) == bridge.up.missing_user_lookup_calls  # at most one look-up, no write
    assert bridge.up.writes() == []

    # 4. GET /Users/{UserIdThatDoesNotExist}: 404 with the Error schema and a detail.
    step4 = bridge.scim.get(f"/Users/{missing_id}", headers=OKTA)
    assert step4.status_code == 404
    error = step4.json()
    assert error["schemas"] == [ERROR]
    assert error["status"] == "404"
    assert error["detail"]

    # 5. The user Okta is about to create does not exist yet, here or upstream.
    assert by_user_name(bridge, random_user_name)["totalResults"] == 0
    assert bridge.up.user(random_user_name) is None

    # 6. POST a realistic user: 201 with the body echoed.
    bridge.up.clear_calls()
    step6 = bridge.scim.post("/Users", okta_user(random_user_name, given, family, "00u1okta"), headers=OKTA)
    assert step6.status_code == 201, step6.text
    created = step6.json()
    assert created["active"] is True
    assert created["id"]
    assert CORE in created["schemas"]
    assert created["userName"] == random_user_name
    assert created["name"]["givenName"] == given
    assert created["name"]["familyName"] == family
    assert "password" not in created  # writeOnly, never returned
    upstream = bridge.up.user(random_user_name)
    assert upstream is not None
    assert upstream.id == created["id"]  # a new user's SCIM id is the upstream's (OpsGenie id, accountId)
    assert upstream.full_name == f"{given} {family}"
    assert upstream.role == "User"  # the default role
    assert upstream.profile["locale"] == "en_US"
    assert upstream.teams == set()
    assert len([u for u in bridge.up.users() if u.username == random_user_name.lower()]) == 1
    assert bridge.up.writes()
    assert "Okta-Generated" not in str(bridge.up.writes())  # the password goes nowhere

    # 7. GET the created user.
    step7 = bridge.scim.get(f"/Users/{created['id']}", headers=OKTA)
    assert step7.status_code == 200
    assert step7.json()["userName"] == random_user_name
    assert step7.json()["externalId"] == "00u1okta"

    # 8. POST the same body again: 409, and nothing is written upstream.
    bridge.up.clear_calls()
    step8 = bridge.scim.post("/Users", okta_user(random_user_name, given, family, "00u1okta"), headers=OKTA)
    assert step8.status_code == 409
    assert step8.json()["scimType"] == "uniqueness"
    assert bridge.up.writes() == []
    assert len([u for u in bridge.up.users() if u.username == random_user_name.lower()]) == 1

    # 9. Username Case Sensitivity Check: userName is caseExact false (RFC 7643 §4.1.1).
    step9 = by_user_name(bridge, random_caps)
    assert step9["totalResults"] == 1
    assert step9["Resources"][0]["id"] == created["id"]
    assert step9["Resources"][0]["userName"] == random_user_name  # as Okta sent it

    # 10. GET /Groups works.
    step10 = bridge.scim.get("/Groups", headers=OKTA)
    assert step10.status_code == 200
    groups = step10.json()
    assert groups["schemas"] == [LIST]
    assert type(groups["totalResults"]) is int
    names = {g["displayName"] for g in groups["Resources"]}
    assert {t.name for t in bridge.up.teams()} <= names


def test_okta_lifecycle_create_update_deactivate_reactivate(bridge: Replay) -> None:
    user_name = "Rosa.Diaz@Example.com"
    payments, sre = bridge.group_id("Payments"), bridge.group_id("Platform SRE")
    promoted = bridge.up.grantable_role

    # Okta's create flow: look up, then POST with password, groups: [], locale, displayName, externalId.
    assert by_user_name(bridge, user_name)["totalResults"] == 0
    created = bridge.scim.post("/Users", okta_user(user_name, "Rosa", "Diaz", "00u2rosa"), headers=OKTA)
    assert created.status_code == 201, created.text
    user = created.json()
    user_id = user["id"]
    upstream = bridge.up.user(user_name)
    assert upstream is not None
    assert (upstream.full_name, upstream.role, upstream.profile["locale"]) == ("Rosa Diaz", "User", "en_US")

    # The user joins two teams (as Okta Group Push would) and is promoted.
    for team in (payments, sre):
        add = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}]}
        assert bridge.scim.patch(f"/Groups/{team}", add, headers=OKTA).status_code in (200, 204)
    assert team_names_of(bridge, user_name) == {"Payments", "Platform SRE"}

    # PUT update, App Integration Wizard style: GET the user, change the profile, PUT everything back.
    current = bridge.scim.get(f"/Users/{user_id}", headers=OKTA).json()
    current["name"]["familyName"] = "Diaz-Holt"
    current["displayName"] = "Rosa Diaz-Holt"
    current["roles"] = [{"value": promoted, "primary": True}]
    put = bridge.scim.put(f"/Users/{user_id}", current, headers=OKTA)
    assert put.status_code == 200, put.text
    assert put.json()["name"]["familyName"] == "Diaz-Holt"
    assert put.json()["active"] is True
    upstream = bridge.up.user(user_name)
    assert upstream is not None
    assert upstream.full_name == "Rosa Diaz-Holt"
    assert upstream.role == promoted

    # A PUT that echoes the resource unchanged writes nothing upstream.
    bridge.up.clear_calls()
    again = bridge.scim.put(f"/Users/{user_id}", put.json(), headers=OKTA)
    assert again.status_code == 200
    assert bridge.up.writes() == []

    # Deactivate: Okta's pathless replace. The user is suspended upstream.
    deactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    response = bridge.scim.patch(f"/Users/{user_id}", deactivate, headers=OKTA)
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    suspended = bridge.up.user(user_name)
    assert suspended is not None
    assert suspended.role == bridge.up.suspended_role
    assert team_names_of(bridge, user_name) == set()
    assert bridge.scim.get(f"/Users/{user_id}").json()["active"] is False
    listed = by_user_name(bridge, user_name)["Resources"]  # users are listed whether active or not
    assert [u["active"] for u in listed] == [False]

    # An AIW PUT while deactivated (everything, active false) keeps the user suspended.
    suspended_view = bridge.scim.get(f"/Users/{user_id}").json()
    suspended_view["title"] = "Analyst"
    kept = bridge.scim.put(f"/Users/{user_id}", suspended_view, headers=OKTA)
    assert kept.status_code == 200, kept.text
    assert kept.json()["active"] is False
    assert kept.json()["title"] == "Analyst"
    still = bridge.up.user(user_name)
    assert still is not None and still.role == bridge.up.suspended_role

    # Meanwhile the Payments team is deleted upstream.
    bridge.up.delete_team("Payments")

    # Reactivate: role and remaining teams are restored; the deleted team is skipped.
    reactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": True}}]}
    response = bridge.scim.patch(f"/Users/{user_id}", reactivate, headers=OKTA)
    assert response.status_code == 200, response.text
    assert response.json()["active"] is True
    restored = bridge.up.user(user_name)
    assert restored is not None
    assert restored.role == promoted
    assert team_names_of(bridge, user_name) == {"Platform SRE"}
    assert bridge.up.team("Payments") is None
    final = bridge.scim.get(f"/Users/{user_id}").json()
    assert final["active"] is True
    assert [r["value"] for r in final["roles"]] == [promoted]
    assert sorted(g["display"] for g in final["groups"]) == ["Platform SRE", f"role:{promoted}"]


def test_okta_put_deactivation_and_reactivation(bridge: Replay) -> None:
    """AIW apps send deactivation as a PUT with active false, and reactivation as a PUT too."""
    user = by_user_name(bridge, "tom.becker@example.com")["Resources"][0]
    user["active"] = False
    response = bridge.scim.put(f"/Users/{user['id']}", user, headers=OKTA)
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    upstream = bridge.up.user("tom.becker@example.com")
    assert upstream is not None and upstream.role == bridge.up.suspended_role
    assert team_names_of(bridge, "tom.becker@example.com") == set()

    view = bridge.scim.get(f"/Users/{user['id']}").json()
    assert [r["value"] for r in view["roles"]] == ["User"]  # the role reactivation gives back
    view["active"] = True
    response = bridge.scim.put(f"/Users/{user['id']}", view, headers=OKTA)
    assert response.status_code == 200, response.text
    assert response.json()["active"] is True
    upstream = bridge.up.user("tom.becker@example.com")
    assert upstream is not None and upstream.role == "User"
    assert team_names_of(bridge, "tom.becker@example.com") == {"Platform SRE"}


@pytest.mark.parametrize("upstream", ["opsgenie"])  # Atlassian holds no phone contacts
def test_failed_contact_creation_leaves_no_user_behind(bridge: Replay) -> None:
    """A user create is several upstream calls; when one fails for good, none of it stays."""
    body = okta_user("lena.fischer@example.com", "Lena", "Fischer", "00u3lena")
    body["phoneNumbers"] = [{"value": "+49 30 1234567", "type": "mobile"}]
    users_before = {u.username for u in bridge.up.users()}
    bridge.up.fault("POST", "/v2/users/.*/contacts", "500", times=10)
    response = bridge.scim.post("/Users", body, headers=OKTA)
    assert response.status_code == 503, response.text
    error = response.json()
    assert error["schemas"] == [ERROR]
    assert error["status"] == "503"
    assert bridge.up.user("lena.fischer@example.com") is None
    assert {u.username for u in bridge.up.users()} == users_before
    calls = bridge.up.calls()
    contact_posts = [c for c in calls if c["method"] == "POST" and c["path"].endswith("/contacts")]
    assert len(contact_posts) > 1  # retried before giving up
    assert all(c["status"] == 500 for c in contact_posts)
    assert [c["method"] for c in calls if c["path"].startswith("/v2/users/") and c["method"] == "DELETE"]
    assert by_user_name(bridge, "lena.fischer@example.com")["totalResults"] == 0

    # With the upstream healthy again, the same request succeeds from scratch.
    bridge.up.clear_faults()
    retry = bridge.scim.post("/Users", body, headers=OKTA)
    assert retry.status_code == 201, retry.text
    upstream = bridge.up.user("lena.fischer@example.com")
    assert upstream is not None
    assert sorted(c["method"] for c in upstream.profile["contacts"]) == ["sms", "voice"]


@pytest.mark.parametrize("upstream", ["opsgenie"])  # Atlassian holds no phone contacts
def test_failed_update_is_undone_upstream(bridge: Replay) -> None:
    """A PUT that renames and adds a phone: when the contact cannot be made, the rename is undone."""
    user = by_user_name(bridge, "priya.shah@example.com")["Resources"][0]
    before = bridge.up.user("priya.shah@example.com")
    assert before is not None
    body = dict(user, displayName="Priya Shah-Rao", phoneNumbers=[{"value": "+1 415 555 0142", "type": "mobile"}])
    bridge.up.fault("POST", "/v2/users/.*/contacts", "500", times=10)
    response = bridge.scim.put(f"/Users/{user['id']}", body, headers=OKTA)
    assert response.status_code == 503, response.text
    after = bridge.up.user("priya.shah@example.com")
    assert after is not None
    assert after.full_name == before.full_name == "Priya Shah"
    assert after.profile["contacts"] == []
    renames = [c for c in bridge.up.writes() if c["method"] == "PATCH" and c["path"] == f"/v2/users/{user['id']}"]
    assert [c["body"]["fullName"] for c in renames] == ["Priya Shah-Rao", "Priya Shah"]  # applied, then undone
    assert bridge.scim.get(f"/Users/{user['id']}").json()["displayName"] == "Priya Shah"


def test_failed_deactivation_leaves_the_user_active(bridge: Replay) -> None:
    """Deactivation takes the user out of its teams, then takes its role; if that fails, the teams
    come back and the user stays active, so the identity provider's retry starts from a clean state."""
    user = by_user_name(bridge, "mei.chen@example.com")["Resources"][0]
    assert team_names_of(bridge, "mei.chen@example.com") == {"Platform SRE", "Payments"}
    bridge.up.fail_next("role-change", "503", times=10)
    deactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    response = bridge.scim.patch(f"/Users/{user['id']}", deactivate, headers=OKTA)
    assert response.status_code == 503, response.text
    upstream = bridge.up.user("mei.chen@example.com")
    assert upstream is not None and upstream.role == "User"
    assert team_names_of(bridge, "mei.chen@example.com") == {"Platform SRE", "Payments"}
    assert bridge.scim.get(f"/Users/{user['id']}").json()["active"] is True

    bridge.up.clear_faults()
    response = bridge.scim.patch(f"/Users/{user['id']}", deactivate, headers=OKTA)
    assert response.status_code == 200, response.text
    assert team_names_of(bridge, "mei.chen@example.com") == set()
    reactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": True}}]}
    assert bridge.scim.patch(f"/Users/{user['id']}", reactivate, headers=OKTA).status_code == 200
    assert team_names_of(bridge, "mei.chen@example.com") == {"Platform SRE", "Payments"}
