"""Concurrent SCIM writes to the same resource: exact results upstream, no 5xx."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import requests
from conftest import Running
from conftest import ScimClient

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def all_at_once(bridge: Running, jobs: list[Callable[[ScimClient], requests.Response]]) -> list[requests.Response]:
    """Run each job on its own thread and connection, released together."""
    barrier = threading.Barrier(len(jobs))
    results: list[requests.Response | BaseException | None] = [None] * len(jobs)

    def run(index: int) -> None:
        client = ScimClient(bridge.scim.base_url)
        barrier.wait()
        try:
            results[index] = jobs[index](client)
        except BaseException as exc:  # reported below, with the others
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    responses = []
    for result in results:
        assert isinstance(result, requests.Response), result
        responses.append(result)
    return responses


def new_user(user_name: str, given: str = "Ada") -> dict[str, Any]:
    return {
        "schemas": [CORE_USER],
        "userName": user_name,
        "name": {"givenName": given, "familyName": "Concurrent"},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
    }


def make_users(bridge: Running, count: int) -> list[str]:
    ids = []
    for n in range(count):
        created = bridge.scim.post("/Users", new_user(f"crowd{n:02d}@example.com"))
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    return ids


def team_member_ids(bridge: Running, name: str) -> list[str]:
    team = bridge.sim.team(name)
    assert team is not None
    return sorted(m["user"]["id"] for m in team["members"])


def test_twenty_concurrent_patches_to_one_group_end_with_the_exact_membership(bridge: Running) -> None:
    ids = make_users(bridge, 24)
    staying, leaving, joining = ids[:4], ids[4:10], ids[10:]
    group = bridge.scim.post(
        "/Groups",
        {"schemas": [CORE_GROUP], "displayName": "Crowd", "members": [{"value": u} for u in staying + leaving]},
    )
    assert group.status_code == 201, group.text
    group_id = group.json()["id"]

    def add(uid: str) -> Callable[[ScimClient], requests.Response]:
        op = {"op": "add", "path": "members", "value": [{"value": uid}]}
        return lambda c: c.patch(f"/Groups/{group_id}", {"schemas": [PATCH_OP], "Operations": [op]})

    def remove(uid: str) -> Callable[[ScimClient], requests.Response]:
        op = {"op": "remove", "path": f'members[value eq "{uid}"]'}
        return lambda c: c.patch(f"/Groups/{group_id}", {"schemas": [PATCH_OP], "Operations": [op]})

    jobs = [add(uid) for uid in joining] + [remove(uid) for uid in leaving]
    assert len(jobs) == 20
    responses = all_at_once(bridge, jobs)

    assert [r.status_code for r in responses if r.status_code not in (200, 204)] == []
    expected = sorted(staying + joining)
    assert team_member_ids(bridge, "Crowd") == expected
    shown = bridge.scim.get(f"/Groups/{group_id}")
    assert sorted(m["value"] for m in shown.json()["members"]) == expected


def test_ten_concurrent_creates_of_one_username_give_one_201_and_409s(bridge: Running) -> None:
    user_name = "Race.Winner@example.com"
    responses = all_at_once(bridge, [lambda c: c.post("/Users", new_user(user_name)) for _ in range(10)])

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 9}, [r.text for r in responses if r.status_code not in (201, 409)]
    for response in responses:
        if response.status_code == 409:
            assert response.json()["scimType"] == "uniqueness"
    upstream = [u for u in bridge.sim.state()["users"] if u["username"] == user_name.lower()]
    assert len(upstream) == 1
    winner = next(r for r in responses if r.status_code == 201)
    assert winner.json()["id"] == upstream[0]["id"]
    found = bridge.scim.get("/Users", params={"filter": f'userName eq "{user_name}"'})
    assert [u["id"] for u in found.json()["Resources"]] == [upstream[0]["id"]]


def test_ten_concurrent_creates_of_one_group_name_give_one_201_and_409s(bridge: Running) -> None:
    body = {"schemas": [CORE_GROUP], "displayName": "On-Call-Leads"}
    responses = all_at_once(bridge, [lambda c: c.post("/Groups", body) for _ in range(10)])

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 9}, [r.text for r in responses if r.status_code not in (201, 409)]
    upstream = [t for t in bridge.sim.state()["teams"] if t["name"] == "On-Call-Leads"]
    assert len(upstream) == 1
    winner = next(r for r in responses if r.status_code == 201)
    assert winner.json()["id"] == upstream[0]["id"]
