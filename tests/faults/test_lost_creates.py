"""Creates whose upstream response is lost: no duplicate upstream, no spurious error to the client.

OpsGenie has no idempotency keys. When the response to POST /v2/users or POST /v2/teams is lost
(read timeout, dropped connection, 5xx sent after the write) the bridge looks the entity up by
username or team name before sending the create again, and treats "already exists with the same
identity" as the success of its own earlier attempt.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import Running

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
USER_NAME = "Nia.Okafor@Example.com"
TEAM_NAME = "Release-Managers"


def new_user(user_name: str = USER_NAME) -> dict[str, Any]:
    return {
        "schemas": [CORE_USER],
        "userName": user_name,
        "name": {"givenName": "Nia", "familyName": "Okafor"},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "active": True,
    }


def new_group(bridge: Running, name: str = TEAM_NAME) -> dict[str, Any]:
    member = bridge.sim.user("mei.chen@example.com")
    assert member is not None
    return {"schemas": [CORE_GROUP], "displayName": name, "members": [{"value": member["id"]}]}


def short_read_timeout(bridge: Running, seconds: float) -> None:
    """Let the bridge give up on an upstream response after ``seconds`` (the default is 30 s)."""
    client = bridge.app.extensions["scim_bridge"].client
    client._http.timeout = (3.05, seconds)


def users_named(bridge: Running, user_name: str) -> list[dict[str, Any]]:
    return [u for u in bridge.sim.state()["users"] if u["username"] == user_name.lower()]


def teams_named(bridge: Running, name: str) -> list[dict[str, Any]]:
    return [t for t in bridge.sim.state()["teams"] if t["name"].lower() == name.lower()]


def posts(bridge: Running, path: str) -> list[dict[str, Any]]:
    return [c for c in bridge.sim.calls() if c["method"] == "POST" and c["path"] == path]


LOST = {
    "5xx after the write": ("after_write:503", None),
    "dropped after the write": ("after_write:drop", None),
    "read timeout": ("delay:800", 0.5),  # the answer comes 0.3 s after the bridge gave up on it
}


@pytest.mark.parametrize("fault", list(LOST), ids=list(LOST))
def test_user_create_with_lost_response_gives_one_user_and_201(bridge: Running, fault: str) -> None:
    action, timeout = LOST[fault]
    if timeout is not None:
        short_read_timeout(bridge, timeout)
    bridge.sim.fault("POST", "/v2/users", action)

    created = bridge.scim.post("/Users", new_user())

    assert created.status_code == 201, created.text
    upstream = users_named(bridge, USER_NAME)
    assert len(upstream) == 1
    assert created.json()["id"] == upstream[0]["id"]
    assert upstream[0]["fullName"] == "Nia Okafor"
    fetched = bridge.scim.get(f"/Users/{upstream[0]['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["userName"] == USER_NAME
    assert bridge.sim.api("GET", "/__sim/faults").json()["rules"] == []  # the fault was exercised


@pytest.mark.parametrize("fault", list(LOST), ids=list(LOST))
def test_group_create_with_lost_response_gives_one_team_and_201(bridge: Running, fault: str) -> None:
    action, timeout = LOST[fault]
    if timeout is not None:
        short_read_timeout(bridge, timeout)
    body = new_group(bridge)
    bridge.sim.fault("POST", "/v2/teams", action)

    created = bridge.scim.post("/Groups", body)

    assert created.status_code == 201, created.text
    upstream = teams_named(bridge, TEAM_NAME)
    assert len(upstream) == 1
    assert created.json()["id"] == upstream[0]["id"]
    assert [m["user"]["username"] for m in upstream[0]["members"]] == ["mei.chen@example.com"]
    assert [m["value"] for m in created.json()["members"]] == [body["members"][0]["value"]]
    assert bridge.sim.api("GET", "/__sim/faults").json()["rules"] == []


def test_user_create_repeated_into_its_own_earlier_write_is_a_201(bridge: Running) -> None:
    """The look-up misses the lost write (404), so the create is sent again and meets a 409 for it."""
    path = "/v2/users/" + re.escape(USER_NAME.lower())
    bridge.sim.fault("POST", "/v2/users", "after_write:503")
    # The first GET is the bridge's own uniqueness check, the second the look-up after the 503.
    bridge.sim.fault("GET", path, "404", times=2)

    created = bridge.scim.post("/Users", new_user())

    assert created.status_code == 201, created.text
    assert len(posts(bridge, "/v2/users")) == 2
    assert [c["status"] for c in posts(bridge, "/v2/users")] == [503, 409]
    upstream = users_named(bridge, USER_NAME)
    assert len(upstream) == 1
    assert created.json()["id"] == upstream[0]["id"]


def test_group_create_repeated_into_its_own_earlier_write_is_a_201(bridge: Running) -> None:
    body = new_group(bridge)
    bridge.sim.fault("POST", "/v2/teams", "after_write:drop")
    # The first GET is the bridge's own uniqueness check, the second the look-up after the drop.
    bridge.sim.fault("GET", f"/v2/teams/{TEAM_NAME}", "404", times=2)

    created = bridge.scim.post("/Groups", body)

    assert created.status_code == 201, created.text
    assert [c["status"] for c in posts(bridge, "/v2/teams")] == [None, 409]
    upstream = teams_named(bridge, TEAM_NAME)
    assert len(upstream) == 1
    assert created.json()["id"] == upstream[0]["id"]


def test_a_different_user_holding_the_username_is_still_a_conflict(bridge: Running) -> None:
    """Only the bridge's own lost write counts as success: someone else's user is a 409."""
    path = "/v2/users/" + re.escape(USER_NAME.lower())
    someone_else = {"username": USER_NAME.lower(), "fullName": "Someone Else", "role": {"name": "User"}}
    other = bridge.sim.api("POST", "/__sim/users", json=someone_else)
    assert other.status_code == 201
    # Hide the other user from the uniqueness check and from the look-up after the lost create.
    bridge.sim.fault("GET", path, "404", times=2)
    bridge.sim.fault("POST", "/v2/users", "503")

    created = bridge.scim.post("/Users", new_user())

    assert created.status_code == 409, created.text
    assert created.json()["scimType"] == "uniqueness"
    upstream = users_named(bridge, USER_NAME)
    assert [u["fullName"] for u in upstream] == ["Someone Else"]


def test_create_retried_by_the_client_after_a_lost_response_is_a_409_not_a_duplicate(bridge_factory: Any) -> None:
    """When even the look-up fails the client gets 503; its retry finds the user and says so."""
    bridge: Running = bridge_factory(upstream_wait_budget=1.0)
    path = "/v2/users/" + re.escape(USER_NAME.lower())
    bridge.sim.fault("GET", path, "404")  # the uniqueness check passes
    bridge.sim.fault("POST", "/v2/users", "after_write:503")
    bridge.sim.fault("GET", path, "503", times=50)  # every look-up after the lost create fails
    first = bridge.scim.post("/Users", new_user())
    assert first.status_code == 503, first.text
    assert int(first.headers["Retry-After"]) >= 1
    bridge.sim.api("DELETE", "/__sim/faults")

    again = bridge.scim.post("/Users", new_user())

    assert again.status_code == 409, again.text
    assert len(users_named(bridge, USER_NAME)) == 1
    found = bridge.scim.get("/Users", params={"filter": f'userName eq "{USER_NAME}"'})
    assert found.json()["totalResults"] == 1


@pytest.mark.parametrize("read_through", [True, False], ids=["read-through", "mirror-reads"])
@pytest.mark.parametrize("fault", ["after_write:503", "after_write:drop"])
def test_delete_whose_answer_was_lost_is_a_204_when_the_repeat_meets_a_404(
        bridge_factory: Any, read_through: bool, fault: str) -> None:
    """The bridge repeats a DELETE whose answer was lost; the repeat's 404 means the first attempt deleted it."""
    bridge: Running = bridge_factory(read_through=read_through)
    created = bridge.scim.post("/Users", new_user())
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    bridge.sim.fault("DELETE", f"/v2/users/{user_id}", fault)

    deleted = bridge.scim.delete(f"/Users/{user_id}")

    assert deleted.status_code == 204, deleted.text
    deletes = [c["status"] for c in bridge.sim.calls() if c["method"] == "DELETE"]
    assert deletes[-1] == 404 and len(deletes) == 2  # the lost first attempt, then the repeat
    assert users_named(bridge, USER_NAME) == []
    assert bridge.scim.get(f"/Users/{user_id}").status_code == 404
