"""SCIM Groups (OpsGenie teams) end to end: bridge over HTTP, simulator over HTTP, state checked upstream."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from conftest import Running

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
OPSGENIE = "urn:scim-bridge:params:scim:schemas:extension:opsgenie:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def uid(bridge: Running, username: str) -> str:
    user = bridge.sim.user(username)
    assert user is not None, username
    return str(user["id"])


def roster(bridge: Running, team_name: str) -> dict[str, str]:
    """username -> team role, as the simulator holds it."""
    team = bridge.sim.team(team_name)
    assert team is not None, team_name
    return {m["user"]["username"]: m["role"] for m in team["members"]}


def group_id(bridge: Running, team_name: str) -> str:
    team = bridge.sim.team(team_name)
    assert team is not None
    return str(team["id"])


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


def team_gets(bridge: Running) -> list[dict[str, Any]]:
    return [c for c in bridge.sim.calls() if c["method"] == "GET" and c["path"].startswith("/v2/teams/")]


def assert_error(response: Any, status: int, scim_type: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()
    assert error["schemas"] == [ERROR]
    assert error["status"] == str(status)
    assert error.get("scimType") == scim_type
    return error


# --- create and read ------------------------------------------------------------------------------
def test_create_with_members_and_read_back(bridge: Running) -> None:
    mei, tom = uid(bridge, "mei.chen@example.com"), uid(bridge, "tom.becker@example.com")
    body = {
        "schemas": [GROUP, OPSGENIE],
        "displayName": "Database Reliability",
        "externalId": "okta-grp-42",
        "members": [{"value": mei}, {"value": tom, "type": "User"}],
        OPSGENIE: {"description": "Owns the databases"},
    }
    created = bridge.scim.post("/Groups", body)
    assert created.status_code == 201, created.text
    group = created.json()
    assert created.headers["Location"] == group["meta"]["location"]
    assert created.headers["ETag"] == group["meta"]["version"]
    assert group["displayName"] == "Database Reliability"
    assert group["externalId"] == "okta-grp-42"
    assert group[OPSGENIE]["description"] == "Owns the databases"
    assert sorted(m["value"] for m in group["members"]) == sorted([mei, tom])
    member = next(m for m in group["members"] if m["value"] == mei)
    assert member["display"] == "mei.chen@example.com"
    assert member["type"] == "User"
    assert member["$ref"].endswith(f"/Users/{mei}")

    team = bridge.sim.team("Database Reliability")
    assert team is not None
    assert team["id"] == group["id"]
    assert team["description"] == "Owns the databases"
    assert roster(bridge, "Database Reliability") == {"mei.chen@example.com": "user", "tom.becker@example.com": "user"}

    fetched = bridge.scim.get(f"/Groups/{group['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == group


def test_create_without_members(bridge: Running) -> None:
    created = bridge.scim.post("/Groups", {"schemas": [GROUP], "displayName": "Night Shift"})
    assert created.status_code == 201, created.text
    assert created.json()["members"] == []
    team = bridge.sim.team("Night Shift")
    assert team is not None and team["members"] == []
    assert "externalId" not in created.json()


def test_get_existing_team_shows_members_with_display(bridge: Running) -> None:
    gid = group_id(bridge, "Platform SRE")
    group = bridge.scim.get(f"/Groups/{gid}").json()
    assert group["displayName"] == "Platform SRE"
    assert sorted(m["display"] for m in group["members"]) == [
        "mei.chen@example.com", "priya.shah@example.com", "tom.becker@example.com",
    ]
    assert group[OPSGENIE]["kind"] == "team"


def test_unknown_group_is_404(bridge: Running) -> None:
    assert_error(bridge.scim.get("/Groups/00000000-0000-0000-0000-000000000000"), 404, None)


@pytest.mark.read_through  # checks what read-through reads or costs
def test_team_deleted_upstream_disappears(bridge: Running) -> None:
    gid = group_id(bridge, "Payments")
    bridge.sim.http.delete(f"{bridge.sim.base_url}/__sim/teams/{gid}", timeout=10).raise_for_status()
    assert bridge.scim.get(f"/Groups/{gid}").status_code == 404
    listed = bridge.scim.get("/Groups", params={"excludedAttributes": "members"}).json()
    assert gid not in [g["id"] for g in listed["Resources"]]


# --- list, filter, search -------------------------------------------------------------------------
@pytest.mark.read_through  # checks what read-through reads or costs
def test_display_name_filter_is_one_upstream_call_by_name(bridge: Running) -> None:
    bridge.sim.clear_calls()
    response = bridge.scim.get("/Groups", params={"filter": 'displayName eq "payments"'})
    assert response.status_code == 200
    resources = response.json()["Resources"]
    assert [g["displayName"] for g in resources] == ["Payments"]
    assert len(resources[0]["members"]) == 3
    calls = bridge.sim.calls()
    assert len(calls) == 1
    assert calls[0]["path"] == "/v2/teams/payments"
    assert calls[0]["query"].get("identifierType") == "name"


def test_display_name_filter_for_missing_team_is_empty(bridge: Running) -> None:
    response = bridge.scim.get("/Groups", params={"filter": 'displayName eq "No Such Team"'})
    assert response.json()["totalResults"] == 0
    impossible = bridge.scim.get("/Groups", params={"filter": 'displayName eq "bad/name"'})
    assert impossible.json()["totalResults"] == 0


def test_list_with_excluded_members_fetches_no_team(bridge: Running) -> None:
    bridge.sim.clear_calls()
    response = bridge.scim.get("/Groups", params={"excludedAttributes": "members"})
    assert response.status_code == 200
    body = response.json()
    names = {g["displayName"] for g in body["Resources"]}
    assert {"Platform SRE", "Payments", "Customer Support", "role:Admin", "role:Owner"} <= names
    assert all("members" not in g for g in body["Resources"])
    assert team_gets(bridge) == []
    # The list from the mirror knows the members without asking upstream either.
    bridge.sim.clear_calls()
    full = bridge.scim.get("/Groups").json()
    sre = next(g for g in full["Resources"] if g["displayName"] == "Platform SRE")
    assert len(sre["members"]) == 3
    assert team_gets(bridge) == []


def test_single_get_with_excluded_members_is_at_most_one_call(bridge: Running) -> None:
    gid = group_id(bridge, "Platform SRE")
    bridge.sim.clear_calls()
    response = bridge.scim.get(f"/Groups/{gid}", params={"excludedAttributes": "members"})
    assert response.status_code == 200
    assert "members" not in response.json()
    assert len(team_gets(bridge)) <= 1
    # The version does not depend on the projection.
    full = bridge.scim.get(f"/Groups/{gid}")
    assert full.headers["ETag"] == response.headers["ETag"]


@pytest.mark.read_through  # checks what read-through reads or costs
def test_entra_filter_with_excluded_members(bridge: Running) -> None:
    bridge.sim.clear_calls()
    response = bridge.scim.get(
        "/Groups", params={"filter": 'displayName eq "Customer Support"', "excludedAttributes": "members"}
    )
    resources = response.json()["Resources"]
    assert len(resources) == 1 and "members" not in resources[0]
    assert len(bridge.sim.calls()) == 1


def test_search_endpoint(bridge: Running) -> None:
    response = bridge.scim.post(
        "/Groups/.search",
        {"schemas": [SEARCH], "filter": 'displayName sw "P"', "attributes": ["displayName"], "sortBy": "displayName"},
    )
    assert response.status_code == 200, response.text
    resources = response.json()["Resources"]
    assert [g["displayName"] for g in resources] == ["Payments", "Platform SRE"]
    assert all(set(g) == {"schemas", "id", "displayName"} for g in resources)


def test_filter_on_member_value(bridge: Running) -> None:
    sara = uid(bridge, "sara.nilsson@example.com")
    response = bridge.scim.get("/Groups", params={"filter": f'members.value eq "{sara}"',
                                                  "excludedAttributes": "members"})
    names = sorted(g["displayName"] for g in response.json()["Resources"])
    assert names == ["Customer Support", "Payments", "role:Incident Commander"]


def test_external_id_is_kept_and_filterable(bridge: Running) -> None:
    created = bridge.scim.post("/Groups", {"schemas": [GROUP], "displayName": "Edge", "externalId": "ext-edge"})
    gid = created.json()["id"]
    response = bridge.scim.get("/Groups", params={"filter": 'externalId eq "ext-edge"'})
    assert [g["id"] for g in response.json()["Resources"]] == [gid]
    assert bridge.scim.get(f"/Groups/{gid}").json()["externalId"] == "ext-edge"


# --- PUT ------------------------------------------------------------------------------------------
def test_put_replaces_members_by_difference_and_keeps_team_roles(bridge: Running) -> None:
    gid = group_id(bridge, "Platform SRE")
    priya, mei = uid(bridge, "priya.shah@example.com"), uid(bridge, "mei.chen@example.com")
    jordan = uid(bridge, "jordan.lee@example.com")
    bridge.sim.clear_calls()
    body = {
        "schemas": [GROUP, OPSGENIE],
        "displayName": "Platform SRE",
        "members": [{"value": priya}, {"value": mei}, {"value": jordan}],
        OPSGENIE: {"description": "Platform reliability"},
    }
    response = bridge.scim.put(f"/Groups/{gid}", body)
    assert response.status_code == 200, response.text
    assert sorted(m["value"] for m in response.json()["members"]) == sorted([priya, mei, jordan])
    assert roster(bridge, "Platform SRE") == {
        "priya.shah@example.com": "admin",  # kept its team role
        "mei.chen@example.com": "user",
        "jordan.lee@example.com": "user",
    }
    team = bridge.sim.team("Platform SRE")
    assert team is not None and team["description"] == "Platform reliability"
    # The difference only: one add and one remove, never a re-add of the unchanged members.
    member_writes = [c for c in bridge.sim.writes() if "/members" in c["path"]]
    assert len(member_writes) == 2


def test_put_rename_and_conflict(bridge: Running) -> None:
    gid = group_id(bridge, "Payments")
    renamed = bridge.scim.put(f"/Groups/{gid}", {"schemas": [GROUP], "displayName": "Payments Core",
                                                 "members": bridge.scim.get(f"/Groups/{gid}").json()["members"]})
    assert renamed.status_code == 200, renamed.text
    assert bridge.sim.team("Payments Core") is not None
    assert len(roster(bridge, "Payments Core")) == 3
    bridge.sim.clear_calls()
    clash = bridge.scim.put(f"/Groups/{gid}", {"schemas": [GROUP], "displayName": "platform sre"})
    error = assert_error(clash, 409, "uniqueness")
    assert group_id(bridge, "Platform SRE") in error["detail"]
    assert bridge.sim.writes() == []


def test_put_with_if_match(bridge: Running) -> None:
    gid = group_id(bridge, "Payments")
    current = bridge.scim.get(f"/Groups/{gid}")
    body = {"schemas": [GROUP], "displayName": "Payments", "members": current.json()["members"][:1]}
    stale = bridge.scim.put(f"/Groups/{gid}", body, headers={"If-Match": 'W/"stale"'})
    assert_error(stale, 412, None)
    assert len(roster(bridge, "Payments")) == 3
    fresh = bridge.scim.put(f"/Groups/{gid}", body, headers={"If-Match": current.headers["ETag"]})
    assert fresh.status_code == 200, fresh.text
    assert len(roster(bridge, "Payments")) == 1


# --- PATCH ----------------------------------------------------------------------------------------
def test_patch_add_one_and_many_answers_204(bridge: Running) -> None:
    gid = group_id(bridge, "Customer Support")
    mei, tom, diego = (uid(bridge, f"{n}@example.com") for n in ("mei.chen", "tom.becker", "diego.alvarez"))
    one = bridge.scim.patch(f"/Groups/{gid}", patch_body({"op": "add", "path": "members", "value": [{"value": mei}]}))
    assert one.status_code == 204, one.text
    assert one.text == ""
    many = bridge.scim.patch(
        f"/Groups/{gid}",
        patch_body({"op": "add", "path": "members", "value": [{"value": tom}, {"value": diego}, {"value": mei}]}),
    )
    assert many.status_code == 204, many.text
    assert roster(bridge, "Customer Support") == {
        "sara.nilsson@example.com": "admin", "jordan.lee@example.com": "user", "mei.chen@example.com": "user",
        "tom.becker@example.com": "user", "diego.alvarez@example.com": "user",
    }


def test_readding_a_member_keeps_its_team_role(bridge: Running) -> None:
    gid = group_id(bridge, "Customer Support")
    sara = uid(bridge, "sara.nilsson@example.com")
    bridge.sim.clear_calls()
    response = bridge.scim.patch(f"/Groups/{gid}", patch_body({"op": "add", "path": "members",
                                                               "value": [{"value": sara}]}))
    assert response.status_code == 204
    assert roster(bridge, "Customer Support")["sara.nilsson@example.com"] == "admin"
    assert bridge.sim.writes() == []


def test_patch_with_attributes_answers_200_with_resource(bridge: Running) -> None:
    gid = group_id(bridge, "Customer Support")
    mei = uid(bridge, "mei.chen@example.com")
    response = bridge.scim.patch(
        f"/Groups/{gid}?attributes=members", patch_body({"op": "add", "path": "members", "value": [{"value": mei}]})
    )
    assert response.status_code == 200, response.text
    assert mei in [m["value"] for m in response.json()["members"]]
    excluded = bridge.scim.patch(
        f"/Groups/{gid}?excludedAttributes=members",
        patch_body({"op": "replace", "path": "displayName", "value": "Customer Care"}),
    )
    assert excluded.status_code == 200
    assert excluded.json()["displayName"] == "Customer Care"
    assert "members" not in excluded.json()
    assert bridge.sim.team("Customer Care") is not None


@pytest.mark.parametrize("form", ["filter", "value list", "entra"])
def test_patch_remove_forms(bridge: Running, form: str) -> None:
    gid = group_id(bridge, "Platform SRE")
    mei, tom = uid(bridge, "mei.chen@example.com"), uid(bridge, "tom.becker@example.com")
    if form == "filter":
        ops = [{"op": "remove", "path": f'members[value eq "{mei}"]'},
               {"op": "remove", "path": f'members[value eq "{tom}"]'}]
    elif form == "value list":
        ops = [{"op": "remove", "path": "members", "value": [{"value": mei}, {"value": tom}]}]
    else:
        ops = [{"op": "Remove", "path": "members", "value": [{"value": mei}, {"value": tom}]}]
    response = bridge.scim.patch(f"/Groups/{gid}", patch_body(*ops))
    assert response.status_code == 204, response.text
    assert roster(bridge, "Platform SRE") == {"priya.shah@example.com": "admin"}
    assert [m["value"] for m in bridge.scim.get(f"/Groups/{gid}").json()["members"]] == [
        uid(bridge, "priya.shah@example.com")
    ]


def test_patch_remove_all_members(bridge: Running) -> None:
    gid = group_id(bridge, "Platform SRE")
    response = bridge.scim.patch(f"/Groups/{gid}", patch_body({"op": "remove", "path": "members"}))
    assert response.status_code == 204, response.text
    assert roster(bridge, "Platform SRE") == {}
    assert bridge.scim.get(f"/Groups/{gid}").json()["members"] == []


def test_roster_update_is_checked_when_upstream_merges(bridge: Running) -> None:
    """If a team PATCH with members merges instead of replacing, the check after it removes the rest."""
    original = bridge.sim.http.get(f"{bridge.sim.base_url}/__sim/config", timeout=10).json()["team_patch_members"]
    bridge.sim.configure(team_patch_members="merge")
    try:
        gid = group_id(bridge, "Platform SRE")
        jordan, diego = uid(bridge, "jordan.lee@example.com"), uid(bridge, "diego.alvarez@example.com")
        response = bridge.scim.patch(f"/Groups/{gid}", patch_body(
            {"op": "replace", "path": "members", "value": [{"value": jordan}, {"value": diego}]}))
        assert response.status_code == 204, response.text
        assert roster(bridge, "Platform SRE") == {"jordan.lee@example.com": "user", "diego.alvarez@example.com": "user"}
        team_patches = [c for c in bridge.sim.writes() if c["method"] == "PATCH"]
        assert len(team_patches) == 1  # a change of five members went as one roster update
        shown = bridge.scim.get(f"/Groups/{gid}").json()["members"]
        assert sorted(m["value"] for m in shown) == sorted([jordan, diego])
    finally:
        bridge.sim.configure(team_patch_members=original)


def test_patch_replace_members(bridge: Running) -> None:
    gid = group_id(bridge, "Platform SRE")
    priya, jordan = uid(bridge, "priya.shah@example.com"), uid(bridge, "jordan.lee@example.com")
    response = bridge.scim.patch(
        f"/Groups/{gid}",
        patch_body({"op": "replace", "path": "members", "value": [{"value": priya}, {"value": jordan}]}),
    )
    assert response.status_code == 204, response.text
    assert roster(bridge, "Platform SRE") == {"priya.shah@example.com": "admin", "jordan.lee@example.com": "user"}


def test_patch_description_and_pathless_replace(bridge: Running) -> None:
    gid = group_id(bridge, "Payments")
    response = bridge.scim.patch(
        f"/Groups/{gid}",
        patch_body({"op": "replace", "path": f"{OPSGENIE}:description", "value": "Cards and ledgers"},
                   {"op": "Replace", "value": {"externalId": "entra-7"}}),
    )
    assert response.status_code == 204, response.text
    team = bridge.sim.team("Payments")
    assert team is not None and team["description"] == "Cards and ledgers"
    group = bridge.scim.get(f"/Groups/{gid}").json()
    assert group["externalId"] == "entra-7"
    assert group[OPSGENIE]["description"] == "Cards and ledgers"


def test_patch_with_unknown_member_is_atomic(bridge: Running) -> None:
    gid = group_id(bridge, "Payments")
    mei = uid(bridge, "mei.chen@example.com")
    tom = uid(bridge, "tom.becker@example.com")
    before = roster(bridge, "Payments")
    bridge.sim.clear_calls()
    response = bridge.scim.patch(
        f"/Groups/{gid}",
        patch_body(
            {"op": "add", "path": "members", "value": [{"value": tom}, {"value": "no-such-user"}]},
            {"op": "remove", "path": f'members[value eq "{mei}"]'},
            {"op": "replace", "path": "displayName", "value": "Payments Renamed"},
        ),
    )
    error = assert_error(response, 400, "invalidValue")
    assert "no-such-user" in error["detail"]
    assert tom not in error["detail"]
    assert bridge.sim.writes() == []
    assert roster(bridge, "Payments") == before


def test_patch_unknown_group_is_404(bridge: Running) -> None:
    response = bridge.scim.patch("/Groups/00000000-0000-0000-0000-000000000000",
                                 patch_body({"op": "add", "path": "members", "value": [{"value": "x"}]}))
    assert_error(response, 404, None)


# --- bad input --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "body", "status", "scim_type", "mentions"),
    [
        ("too long", {"displayName": "x" * 101}, 400, "invalidValue", "100"),
        ("bad characters", {"displayName": "SRE/On-call"}, 400, "invalidValue", "/"),
        ("blank", {"displayName": "   "}, 400, "invalidValue", "displayName"),
        ("duplicate", {"displayName": "PAYMENTS"}, 409, "uniqueness", "already exists"),
        ("unknown member", {"displayName": "Fresh", "members": [{"value": "ghost-1"}, {"value": "ghost-2"}]},
         400, "invalidValue", "ghost-1, ghost-2"),
        ("member of another type", {"displayName": "Fresh", "members": [{"value": "x", "type": "Group"}]},
         400, "invalidValue", "Group"),
        ("description too long", {"displayName": "Fresh", OPSGENIE: {"description": "d" * 201}}, 400,
         "invalidValue", "200"),
    ],
)
def test_bad_create_writes_nothing(bridge: Running, name: str, body: dict[str, Any], status: int,
                                   scim_type: str, mentions: str) -> None:
    bridge.sim.clear_calls()
    response = bridge.scim.post("/Groups", {"schemas": [GROUP, OPSGENIE], **body})
    error = assert_error(response, status, scim_type)
    assert mentions in error["detail"], error["detail"]
    assert bridge.sim.writes() == [], name
    assert len(bridge.sim.state()["teams"]) == 3


@pytest.mark.read_through  # checks what read-through reads or costs
def test_duplicate_of_team_made_outside_the_bridge(bridge: Running) -> None:
    made = bridge.sim.http.post(f"{bridge.sim.base_url}/__sim/teams", json={"name": "War Room"}, timeout=10)
    made.raise_for_status()
    bridge.sim.clear_calls()
    response = bridge.scim.post("/Groups", {"schemas": [GROUP], "displayName": "war room"})
    error = assert_error(response, 409, "uniqueness")
    assert made.json()["id"] in error["detail"]
    assert bridge.sim.writes() == []


def test_bad_patch_names_write_nothing(bridge: Running) -> None:
    gid = group_id(bridge, "Payments")
    bridge.sim.clear_calls()
    for value, status, scim_type in (("y" * 101, 400, "invalidValue"), ("a*b", 400, "invalidValue"),
                                     ("Customer Support", 409, "uniqueness"), ("role:Admin", 409, "uniqueness")):
        response = bridge.scim.patch(f"/Groups/{gid}",
                                     patch_body({"op": "replace", "path": "displayName", "value": value}))
        assert_error(response, status, scim_type)
    assert bridge.sim.writes() == []
    assert bridge.sim.team("Payments") is not None


# --- DELETE -----------------------------------------------------------------------------------------
def test_delete(bridge: Running) -> None:
    gid = group_id(bridge, "Payments")
    response = bridge.scim.delete(f"/Groups/{gid}")
    assert response.status_code == 204
    assert bridge.sim.team("Payments") is None
    assert bridge.scim.get(f"/Groups/{gid}").status_code == 404
    assert bridge.scim.delete(f"/Groups/{gid}").status_code == 404
    mei = bridge.scim.get(f"/Users/{uid(bridge, 'mei.chen@example.com')}").json()
    assert gid not in [g["value"] for g in mei.get("groups", [])]


# --- concurrency ------------------------------------------------------------------------------------
def test_concurrent_patches_end_with_exact_membership(bridge: Running) -> None:
    made = bridge.sim.http.post(f"{bridge.sim.base_url}/__sim/bulk", json={"users": 20, "prefix": "conc"},
                                timeout=30)
    made.raise_for_status()
    bridge.app.extensions["scim_bridge"].sync.run()  # the bridge learns about the new users
    new_ids = [u["id"] for u in bridge.sim.state()["users"] if u["username"].startswith("conc")]
    assert len(new_ids) == 20
    gid = group_id(bridge, "Platform SRE")
    before = set(roster(bridge, "Platform SRE"))
    failures: list[str] = []

    def add(user_id: str, big: bool) -> None:
        value = [{"value": user_id}]
        if big:  # also re-send existing members, so this request goes through the roster path
            value += [{"value": uid_} for uid_ in existing]
        response = bridge.scim.patch(f"/Groups/{gid}", patch_body({"op": "add", "path": "members", "value": value}))
        if response.status_code != 204:
            failures.append(response.text)

    existing = [m["value"] for m in bridge.scim.get(f"/Groups/{gid}").json()["members"]]
    groups = bridge.app.extensions["scim_bridge"].groups
    saved = groups.roster_threshold
    groups.roster_threshold = 0  # every change is a read-modify-write of the whole roster
    try:
        threads = [threading.Thread(target=add, args=(u, i % 2 == 0)) for i, u in enumerate(new_ids)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        groups.roster_threshold = saved
    assert failures == []
    after = roster(bridge, "Platform SRE")
    added = {u["username"] for u in bridge.sim.state()["users"] if u["username"].startswith("conc")}
    assert set(after) == before | added
    assert after["priya.shah@example.com"] == "admin"
    shown = bridge.scim.get(f"/Groups/{gid}").json()["members"]
    assert len(shown) == 23


@pytest.mark.parametrize("read_through", [True, False], ids=["read-through", "mirror-reads"])
@pytest.mark.parametrize(
    "others", [[], ["tom.becker@example.com"], ["tom.becker@example.com", "priya.shah@example.com"]],
    ids=["alone", "after-one-member-call", "in-a-roster-update"],
)
def test_adding_a_user_deleted_in_opsgenie_changes_nothing(
    bridge_factory: Any, read_through: bool, others: list[str]
) -> None:
    """Jordan was deleted in OpsGenie after the last sync. Adding him to a team (alone, after another
    member, or in a roster update) is a 400 naming him, the team is left as it was, and the bridge
    forgets him."""
    bridge: Running = bridge_factory(read_through=read_through)
    jordan = uid(bridge, "jordan.lee@example.com")
    gone = bridge.sim.http.delete(f"{bridge.sim.base_url}/__sim/users/{jordan}", timeout=10)
    assert gone.status_code == 200, gone.text
    before = roster(bridge, "Payments")
    adds = [{"value": uid(bridge, name)} for name in others] + [{"value": jordan}]
    answer = bridge.scim.patch(f"/Groups/{group_id(bridge, 'Payments')}", patch_body(
        {"op": "add", "path": "members", "value": adds},
        {"op": "replace", "path": "displayName", "value": "Payments Core"}))
    body = assert_error(answer, 400, "invalidValue")
    assert jordan in body["detail"]
    assert bridge.sim.team("Payments Core") is None
    assert roster(bridge, "Payments") == before
    shown = bridge.scim.get(f"/Groups/{group_id(bridge, 'Payments')}").json()
    assert shown["displayName"] == "Payments"
    assert sorted(m["display"] for m in shown["members"]) == sorted(before)
    assert bridge.scim.get(f"/Users/{jordan}").status_code == 404


MEI = "mei.chen@example.com"


@pytest.mark.parametrize("read_through", [True, False])
def test_team_changes_for_a_suspended_user_take_effect_at_reactivation(bridge_factory: Any,
                                                                        read_through: bool) -> None:
    """A suspended user is in no team upstream; the IdP's team changes adjust what reactivation gives back."""
    bridge: Running = bridge_factory(read_through=read_through)
    mei = uid(bridge, MEI)
    assert sorted(t for t in ("Payments", "Platform SRE", "Customer Support") if MEI in roster(bridge, t)) == [
        "Payments", "Platform SRE"]
    off = bridge.scim.patch(f"/Users/{mei}", patch_body({"op": "replace", "path": "active", "value": False}))
    assert off.status_code == 200, off.text
    bridge.sim.clear_calls()

    removed = bridge.scim.patch(f"/Groups/{group_id(bridge, 'Payments')}",
                                patch_body({"op": "remove", "path": f'members[value eq "{mei}"]'}))
    assert removed.status_code == 204, removed.text
    added = bridge.scim.patch(f"/Groups/{group_id(bridge, 'Customer Support')}",
                              patch_body({"op": "add", "path": "members", "value": [{"value": mei}]}))
    assert added.status_code == 204, added.text
    created = bridge.scim.post("/Groups", {"schemas": [GROUP], "displayName": "Night Shift",
                                           "members": [{"value": mei}]})
    assert created.status_code == 201, created.text
    assert created.json()["members"] == []
    # Nothing joined or left a team upstream while the user is suspended.
    assert [w for w in bridge.sim.writes() if "/members" in w["path"]] == []
    assert all(MEI not in roster(bridge, t) for t in ("Payments", "Platform SRE", "Customer Support", "Night Shift"))

    on = bridge.scim.patch(f"/Users/{mei}", patch_body({"op": "replace", "path": "active", "value": True}))
    assert on.status_code == 200, on.text
    teams = sorted(t for t in ("Payments", "Platform SRE", "Customer Support", "Night Shift")
                   if MEI in roster(bridge, t))
    assert teams == ["Customer Support", "Night Shift", "Platform SRE"]
    assert sorted(g["display"] for g in on.json()["groups"] if not g["value"].startswith("role-")) == teams


def test_put_without_the_bridge_extension_keeps_the_description(bridge: Running) -> None:
    gid = group_id(bridge, "Payments")
    described = bridge.scim.patch(f"/Groups/{gid}", patch_body(
        {"op": "replace", "path": f"{OPSGENIE}:description", "value": "Cards and ledgers"}))
    assert described.status_code == 204, described.text
    current = bridge.scim.get(f"/Groups/{gid}").json()
    body = {"schemas": [GROUP], "displayName": "Payments", "members": current["members"]}
    put = bridge.scim.put(f"/Groups/{gid}", body)
    assert put.status_code == 200, put.text
    team = bridge.sim.team("Payments")
    assert team is not None and team["description"] == "Cards and ledgers"
    cleared = bridge.scim.put(f"/Groups/{gid}", {**body, "schemas": [GROUP, OPSGENIE], OPSGENIE: {"description": ""}})
    assert cleared.status_code == 200, cleared.text
    team = bridge.sim.team("Payments")
    assert team is not None and not team.get("description")
