"""Lists and filters answered from the search index, through the bridge over HTTP (SQLite and PostgreSQL).

The index must follow every write at once (read-after-write), merge the role groups (not indexed) with the
teams in one exact order, and page with RFC 9865 cursors as well as with startIndex.
"""

from __future__ import annotations

from typing import Any

from scim_bridge.scim.listing import sort_resources
from scim_bridge.scim.schema import GROUP
from tests.conftest import Running

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def listed(bridge: Running, path: str, **params: Any) -> dict[str, Any]:
    response = bridge.scim.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [r["id"] for r in body["Resources"]]


def user_id(bridge: Running, user_name: str) -> str:
    user = bridge.sim.user(user_name)
    assert user is not None
    return str(user["id"])


def test_user_lists_follow_every_write(bridge: Running) -> None:
    made = bridge.scim.post("/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                       "userName": "nina.berg@example.com",
                                       "name": {"givenName": "Nina", "familyName": "Berg"}})
    assert made.status_code == 201, made.text
    nina = made.json()["id"]
    found = listed(bridge, "/Users", filter='name.familyName eq "Berg"')
    assert ids(found) == [nina] and found["totalResults"] == 1
    assert found["Resources"][0]["meta"]["location"] == f"{bridge.scim.base_url}/Users/{nina}"
    assert found["Resources"][0]["meta"]["version"] == made.json()["meta"]["version"]

    renamed = bridge.scim.patch(f"/Users/{nina}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "userName", "value": "nina.lindqvist@example.com"}]})
    assert renamed.status_code == 200, renamed.text
    assert ids(listed(bridge, "/Users", filter='userName sw "nina.lind"')) == [nina]
    assert listed(bridge, "/Users", filter='userName sw "nina.berg"')["totalResults"] == 0

    suspended = bridge.scim.patch(f"/Users/{nina}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "active", "value": False}]})
    assert suspended.status_code == 200, suspended.text
    inactive = listed(bridge, "/Users", filter="active eq false")
    assert nina in ids(inactive)
    assert inactive["Resources"][ids(inactive).index(nina)] == suspended.json()

    assert bridge.scim.delete(f"/Users/{nina}").status_code == 204
    assert listed(bridge, "/Users", filter='userName sw "nina"')["totalResults"] == 0


def test_team_rename_and_roster_reach_both_lists(bridge: Running) -> None:
    mei = user_id(bridge, "mei.chen@example.com")
    made = bridge.scim.post("/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                        "displayName": "Night Shift", "members": [{"value": mei}]})
    assert made.status_code == 201, made.text
    team = made.json()["id"]
    assert ids(listed(bridge, "/Users", filter='groups.display eq "Night Shift"')) == [mei]
    assert ids(listed(bridge, "/Groups", filter=f'members.value eq "{mei}" and displayName sw "Night"')) == [team]

    renamed = bridge.scim.patch(f"/Groups/{team}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "displayName", "value": "Late Shift"}]})
    assert renamed.status_code == 204, renamed.text
    assert ids(listed(bridge, "/Users", filter='groups.display eq "Late Shift"')) == [mei]
    assert listed(bridge, "/Users", filter='groups.display eq "Night Shift"')["totalResults"] == 0

    tom = user_id(bridge, "tom.becker@example.com")
    added = bridge.scim.patch(f"/Groups/{team}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": tom}]}]})
    assert added.status_code == 204, added.text
    shown = listed(bridge, "/Groups", filter='displayName eq "Late Shift" or displayName eq "nothing"')
    assert sorted(m["value"] for m in shown["Resources"][0]["members"]) == sorted([mei, tom])
    assert ids(listed(bridge, "/Users", filter=f'groups.value eq "{team}"', sortBy="userName")) == [mei, tom]

    assert bridge.scim.delete(f"/Groups/{team}").status_code == 204
    assert listed(bridge, "/Users", filter=f'groups.value eq "{team}"')["totalResults"] == 0


def test_groups_merge_teams_and_role_groups_in_one_exact_order(bridge: Running) -> None:
    everything = listed(bridge, "/Groups", count=1000)
    total = everything["totalResults"]
    assert total == len(everything["Resources"]) and total >= 8
    kinds = [r["urn:scim-bridge:params:scim:schemas:extension:opsgenie:2.0:Group"]["kind"]
             for r in everything["Resources"]]
    assert "role" in kinds and "team" in kinds
    for sort_by, order in (("displayName", "ascending"), ("displayName", "descending"),
                           ("meta.created", "ascending"), ("externalId", "descending")):
        whole = listed(bridge, "/Groups", sortBy=sort_by, sortOrder=order, count=1000)
        expected = sort_resources(everything["Resources"], GROUP.resolve(sort_by), order == "descending")
        if sort_by == "displayName":
            assert ids(whole) == ids({"Resources": expected})
        pages: list[str] = []
        for start in range(1, total + 1, 3):
            page = listed(bridge, "/Groups", sortBy=sort_by, sortOrder=order, startIndex=start, count=3,
                          excludedAttributes="members")
            assert page["totalResults"] == total and page["startIndex"] == start
            assert all("members" not in r for r in page["Resources"])
            pages += ids(page)
        assert pages == ids(whole), (sort_by, order)
    unsorted_pages: list[str] = []
    for start in range(1, total + 1, 4):
        unsorted_pages += ids(listed(bridge, "/Groups", startIndex=start, count=4))
    assert unsorted_pages == ids(everything)
    roles = listed(bridge, "/Groups", filter='displayName sw "role:"', sortBy="displayName")
    assert [r["displayName"] for r in roles["Resources"]] == sorted(r["displayName"] for r in roles["Resources"])
    assert roles["totalResults"] == kinds.count("role")
    admins = listed(bridge, "/Groups", filter=f'members.value eq "{user_id(bridge, "priya.shah@example.com")}"')
    assert "role:Admin" in [r["displayName"] for r in admins["Resources"]]


def test_cursor_paging_walks_every_user_once(bridge: Running) -> None:
    config = bridge.scim.get("/ServiceProviderConfig").json()
    assert config["pagination"]["cursor"] is True and config["pagination"]["index"] is True
    assert config["pagination"]["cursorTimeout"] > 0
    everyone = ids(listed(bridge, "/Users", sortBy="userName", count=1000))
    seen: list[str] = []
    body = listed(bridge, "/Users", sortBy="userName", count=3, cursor="")
    assert "previousCursor" not in body and "startIndex" not in body
    pages = [body]
    while True:
        seen += ids(body)
        assert body["totalResults"] == len(everyone)
        if "nextCursor" not in body:
            break
        body = listed(bridge, "/Users", sortBy="userName", count=3, cursor=body["nextCursor"])
        pages.append(body)
    assert seen == everyone
    back = listed(bridge, "/Users", sortBy="userName", count=3, cursor=pages[-1]["previousCursor"])
    assert ids(back) == ids(pages[-2])
    other = bridge.scim.get("/Users", params={"sortBy": "displayName", "count": 3, "cursor": pages[1]["nextCursor"]})
    assert other.status_code == 400 and other.json()["scimType"] == "invalidCursor"
    forged = bridge.scim.get("/Users", params={"count": 3, "cursor": "AAAA.BBBB"})
    assert forged.status_code == 400 and forged.json()["scimType"] == "invalidCursor"
    groups = listed(bridge, "/Groups", count=2, cursor="", excludedAttributes="members")
    assert len(groups["Resources"]) == 2 and "nextCursor" in groups
    search = bridge.scim.post("/Users/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                                 "sortBy": "userName", "count": 3, "cursor": pages[0]["nextCursor"]})
    assert search.status_code == 200 and ids(search.json()) == ids(pages[1])


def test_changes_made_in_opsgenie_appear_after_the_next_sync(bridge: Running) -> None:
    """Users created, renamed and deleted in the OpsGenie UI reach the lists at the next sync."""
    sim = bridge.sim
    created = sim.http.post(f"{sim.base_url}/__sim/users", timeout=10, json={
        "username": "ui.made@example.com", "fullName": "Made In Ui", "role": {"name": "User"}})
    assert created.status_code == 201, created.text
    tom = user_id(bridge, "tom.becker@example.com")
    mei = user_id(bridge, "mei.chen@example.com")
    renamed = sim.http.patch(f"{sim.base_url}/__sim/users/{tom}", json={"fullName": "Thomas Becker"}, timeout=10)
    assert renamed.status_code == 200, renamed.text
    deleted = sim.http.delete(f"{sim.base_url}/__sim/users/{mei}", timeout=10)
    assert deleted.status_code == 200, deleted.text

    stale = listed(bridge, "/Users", filter='displayName sw "Made"')
    assert stale["totalResults"] == 0  # the mirror has not seen it yet

    assert bridge.app.extensions["scim_bridge"].sync.run() is not None
    fresh = listed(bridge, "/Users", filter='displayName sw "Made"')
    assert [r["userName"] for r in fresh["Resources"]] == ["ui.made@example.com"]
    assert [r["displayName"] for r in listed(bridge, "/Users", filter=f'id eq "{tom}"')["Resources"]] == [
        "Thomas Becker"]
    everyone = listed(bridge, "/Users", count=100)
    assert mei not in ids(everyone)
    assert bridge.scim.get(f"/Users/{mei}").status_code == 404
