"""Teams and Team Member APIs over real HTTP."""

from __future__ import annotations

from scim_bridge.simulator.server import SimulatorServer

from .conftest import Api


def _roster(api: Api, team_id: str) -> dict[str, str]:
    members = api.get(f"/v2/teams/{team_id}").json()["data"]["members"]
    return {m["user"]["username"]: m["role"] for m in members}


def test_team_crud(api: Api) -> None:
    alice = api.create_user("alice@example.com")
    api.create_user("bob@example.com")
    created = api.post(
        "/v2/teams",
        json={
            "name": "Core Ops",
            "description": "The core",
            "members": [{"user": {"id": alice}, "role": "admin"}, {"user": {"username": "BOB@example.com"}}],
        },
    )
    assert created.status_code == 201
    assert created.json()["result"] == "Created" and created.json()["data"]["name"] == "Core Ops"
    team_id = created.json()["data"]["id"]

    team = api.get(f"/v2/teams/{team_id}").json()["data"]
    assert team["description"] == "The core"
    assert team["members"][0] == {"user": {"id": alice, "username": "alice@example.com"}, "role": "admin"}
    assert _roster(api, team_id) == {"alice@example.com": "admin", "bob@example.com": "user"}
    assert api.get("/v2/teams/core ops?identifierType=name").json()["data"]["id"] == team_id
    assert api.get("/v2/teams/Core Ops").status_code == 404  # identifierType defaults to id
    assert api.get(f"/v2/teams/{team_id}?identifierType=nickname").status_code == 422

    listed = api.get("/v2/teams").json()
    assert listed["data"] == [{"id": team_id, "name": "Core Ops", "description": "The core"}]
    assert "paging" not in listed

    assert api.delete("/v2/teams/Core Ops?identifierType=name").json()["result"] == "Deleted"
    assert api.get(f"/v2/teams/{team_id}").status_code == 404
    assert api.delete(f"/v2/teams/{team_id}").status_code == 404


def test_team_validation_and_duplicates(api: Api, sim: SimulatorServer) -> None:
    for body, field in [
        ({}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "bad/name"}, "name"),
        ({"name": "ok", "description": "d" * 201}, "description"),
        ({"name": "ok", "members": [{"user": {}}]}, "members[0].user"),
        ({"name": "ok", "members": [{"user": {"username": "a@b.co"}, "role": "boss"}]}, "members[0].role"),
    ]:
        response = api.post("/v2/teams", json=body)
        assert response.status_code == 422, body
        assert field in response.json()["errors"]
    assert api.post("/v2/teams", json={"name": "x" * 100, "description": "d" * 200}).status_code == 201

    unknown = api.post("/v2/teams", json={"name": "ghosts", "members": [{"user": {"username": "no@x.com"}}]})
    assert unknown.status_code == 422
    sim.config.unknown_team_member_status = 404
    assert (
        api.post("/v2/teams", json={"name": "ghosts", "members": [{"user": {"id": "nope"}}]}).status_code
        == 404
    )

    api.create_team("Dup")
    assert api.post("/v2/teams", json={"name": "dup"}).status_code == 409
    sim.config.duplicate_team_status = 422
    assert api.post("/v2/teams", json={"name": "Dup"}).status_code == 422


def test_team_patch_replace_merge_and_omit(api: Api, sim: SimulatorServer) -> None:
    for name in ("a", "b", "c"):
        api.create_user(f"{name}@example.com")
    team_id = api.create_team("t", [{"user": {"username": "a@example.com"}, "role": "admin"}])
    other = api.create_team("other")

    response = api.patch(f"/v2/teams/{team_id}", json={"members": [{"user": {"username": "b@example.com"}}]})
    assert response.status_code == 200 and response.json()["result"] == "Updated"
    assert _roster(api, team_id) == {"b@example.com": "user"}

    api.patch(f"/v2/teams/{team_id}", json={"description": "new"})
    assert _roster(api, team_id) == {"b@example.com": "user"}

    sim.config.team_patch_members = "merge"
    api.patch(
        f"/v2/teams/{team_id}", json={"members": [{"user": {"username": "c@example.com"}, "role": "admin"}]}
    )
    assert _roster(api, team_id) == {"b@example.com": "user", "c@example.com": "admin"}

    assert api.patch(f"/v2/teams/{team_id}", json={"name": "Renamed"}).status_code == 200
    assert api.get("/v2/teams/renamed?identifierType=name").json()["data"]["description"] == "new"
    assert api.patch(f"/v2/teams/{other}", json={"name": "RENAMED"}).status_code == 409
    assert api.patch("/v2/teams/Renamed", json={"description": "by name"}).status_code == 404
    assert api.patch(f"/v2/teams/{team_id}", json={"name": "no!"}).status_code == 422


def test_team_members_endpoints(api: Api, sim: SimulatorServer) -> None:
    user_id = api.create_user("m@example.com")
    api.create_user("n@example.com")
    team_id = api.create_team("Team One")

    added = api.post(f"/v2/teams/{team_id}/members", json={"user": {"username": "m@example.com"}})
    assert added.status_code == 200 and added.json()["result"] == "Added"
    assert _roster(api, team_id) == {"m@example.com": "user"}

    again = api.post(f"/v2/teams/{team_id}/members", json={"user": {"id": user_id}})
    assert again.status_code == 200
    assert _roster(api, team_id) == {"m@example.com": "user"}
    api.post(f"/v2/teams/{team_id}/members", json={"user": {"id": user_id}, "role": "admin"})
    assert _roster(api, team_id) == {"m@example.com": "admin"}
    sim.config.add_existing_member = "409"
    assert api.post(f"/v2/teams/{team_id}/members", json={"user": {"id": user_id}}).status_code == 409

    by_name = api.post(
        "/v2/teams/team one/members?teamIdentifierType=name",
        json={"user": {"username": "n@example.com"}, "role": "admin"},
    )
    assert by_name.status_code == 200
    assert (
        api.post(f"/v2/teams/{team_id}/members", json={"user": {"username": "x@example.com"}}).status_code
        == 404
    )
    assert api.post("/v2/teams/nope/members", json={"user": {"id": user_id}}).status_code == 404
    assert api.post(f"/v2/teams/{team_id}/members", json={"role": "admin"}).status_code == 422

    removed = api.delete(f"/v2/teams/{team_id}/members/M@example.com")
    assert removed.status_code == 200 and removed.json()["result"] == "Removed"
    assert api.delete(f"/v2/teams/Team One/members/{user_id}?teamIdentifierType=name").status_code == 404
    sim.config.remove_missing_member = "ok"
    assert api.delete(f"/v2/teams/{team_id}/members/{user_id}").status_code == 200
    assert api.delete(f"/v2/teams/{team_id}/members/ghost@example.com").status_code == 404
    assert _roster(api, team_id) == {"n@example.com": "admin"}
