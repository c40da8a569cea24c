"""The /__sim/ control surface and the in-process state API."""

from __future__ import annotations

from scim_bridge.simulator.server import SimulatorServer
from scim_bridge.simulator.state import SimulatorState

from .conftest import Api


def test_state_dump_and_demo_seed(anon: Api, api: Api) -> None:
    assert anon.post("/__sim/reset", json={"seed": "demo"}).json()["users"] == 7
    state = anon.get("/__sim/state").json()
    users = {u["username"]: u for u in state["users"]}
    owner = users["alex.morgan@example.com"]
    assert owner["role"]["name"] == "Owner" and state["ownerId"] == owner["id"]
    assert sum(u["role"]["name"] == "Admin" for u in users.values()) == 2
    assert users["sara.nilsson@example.com"]["role"]["name"] == "Incident Commander"
    assert any(c["contactMethod"] == "sms" for c in users["priya.shah@example.com"]["userContacts"])
    assert users["mei.chen@example.com"]["userAddress"]["city"] == "San Francisco"
    assert {t["name"] for t in state["teams"]} == {"Platform SRE", "Payments", "Customer Support"}
    assert all(any(m["role"] == "admin" for m in t["members"]) for t in state["teams"])
    assert [r["name"] for r in state["roles"]] == ["Incident Commander"]
    assert {t["name"] for t in users["mei.chen@example.com"]["teams"]} == {"Platform SRE", "Payments"}
    # the seeded data serves the API too
    assert api.get("/v2/users").json()["totalCount"] == 7
    assert anon.get("/__sim/calls").json()["calls"][0]["path"] == "/v2/users"

    anon.post("/__sim/reset")
    assert anon.get("/__sim/state").json()["users"] == []
    assert anon.get("/__sim/calls").json()["calls"] == []


def test_seeded_ids_repeat() -> None:
    first = SimulatorState(seed="demo").dump()
    second = SimulatorState(seed="demo").dump()
    assert [u["id"] for u in first["users"]] == [u["id"] for u in second["users"]]
    assert SimulatorState(seed="owner").dump()["users"][0]["role"]["name"] == "Owner"


def test_call_log(api: Api, anon: Api) -> None:
    api.post("/v2/teams", json={"name": "logged"}, params={"x": "1"})
    api.get("/v2/users", params={"limit": "5"})
    anon.get("/v2/teams")
    anon.get("/__sim/state")
    calls = anon.get("/__sim/calls").json()["calls"]
    assert [(c["method"], c["path"], c["status"], c["domain"]) for c in calls] == [
        ("POST", "/v2/teams", 201, "configuration"),
        ("GET", "/v2/users", 200, "search"),
        ("GET", "/v2/teams", 401, "configuration"),
    ]
    assert calls[0]["body"] == {"name": "logged"} and calls[0]["query"] == {"x": "1"}
    assert calls[0]["fault"] is None and calls[0]["requestId"]
    since = anon.get(f"/__sim/calls?since={calls[1]['seq']}").json()["calls"]
    assert [c["status"] for c in since] == [401]
    assert anon.delete("/__sim/calls").status_code == 200
    assert anon.get("/__sim/calls").json()["calls"] == []


def test_config_endpoint(anon: Api, api: Api, sim: SimulatorServer) -> None:
    config = anon.get("/__sim/config").json()
    assert config["duplicate_user_status"] == 409
    assert config["api_keys"] == {"sim-key": ["configuration", "create_update", "delete", "read"]}
    assert config["rate_limits"]["configuration"] == {"per_second": 100, "per_minute": 6000}
    changed = anon.patch(
        "/__sim/config",
        json={"duplicate_user_status": 422, "rate_limits": {"search": "2/50"}, "api_keys": {"k2": ["read"]}},
    ).json()
    assert changed["duplicate_user_status"] == 422 and changed["rate_limits"]["search"]["per_second"] == 2
    assert sim.config.api_keys == {"k2": frozenset({"read"})}
    assert api.get("/v2/teams").status_code == 401
    assert Api(sim.base_url, "k2").get("/v2/request-limits/").status_code == 200
    for bad in (
        {"nope": 1},
        {"fail_rate": 2},
        {"region": "apac"},
        {"latency_ms": "x"},
        {"api_keys": {"k": ["fly"]}},
    ):
        response = anon.patch("/__sim/config", json=bad)
        assert response.status_code == 400, bad
        assert response.json()["message"]
    assert sim.config.region == "us" and sim.config.fail_rate == 0.0


def test_bulk_loads_a_large_directory(anon: Api, api: Api, sim: SimulatorServer) -> None:
    made = anon.post("/__sim/bulk", json={"users": 10_000, "teams": 500, "membersPerTeam": 20}).json()
    assert made == {"users": 10_000, "teams": 500, "membersPerTeam": 20}
    assert api.get("/v2/users?limit=1").json()["totalCount"] == 10_000
    assert len(api.get("/v2/teams").json()["data"]) == 500
    team = api.get("/v2/teams/team-0500?identifierType=name").json()["data"]
    assert len(team["members"]) == 20 and team["members"][0]["role"] == "admin"
    more = sim.state.bulk(users=2, teams=1, members_per_team=5)
    assert more == {"users": 2, "teams": 1, "membersPerTeam": 2}
    assert anon.post("/__sim/bulk", json={"users": -1}).status_code == 400


def test_direct_changes_skip_call_log_and_rules(anon: Api, api: Api, sim: SimulatorServer) -> None:
    sim.config.delete_referenced_user = "428"
    sim.config.add_existing_member = "409"
    owner = anon.post(
        "/__sim/users", json={"username": "o@example.com", "fullName": "O", "role": {"name": "Owner"}}
    )
    assert owner.status_code == 201 and owner.json()["userContacts"][0]["to"] == "o@example.com"
    user = anon.post(
        "/__sim/users", json={"username": "u@example.com", "fullName": "U", "role": {"name": "User"}}
    )
    user_id = user.json()["id"]
    assert anon.patch(f"/__sim/users/{user_id}", json={"blocked": True, "verified": True}).status_code == 200
    data = api.get(f"/v2/users/{user_id}").json()["data"]
    assert data["blocked"] is True and data["verified"] is True
    assert api.patch(f"/v2/users/{user_id}", json={"blocked": False}).status_code == 200
    assert api.get(f"/v2/users/{user_id}").json()["data"]["blocked"] is True  # read-only over the API

    team = anon.post("/__sim/teams", json={"name": "ui-team"}).json()
    for _ in range(2):
        assert (
            anon.post(f"/__sim/teams/{team['id']}/members", json={"user": {"id": user_id}}).status_code == 200
        )
    assert anon.patch(f"/__sim/teams/{team['id']}", json={"description": "by hand"}).status_code == 200
    assert api.get(f"/v2/teams/{team['id']}").json()["data"]["description"] == "by hand"
    assert (
        anon.post(f"/__sim/users/{user_id}/contacts", json={"method": "sms", "to": "1-2"}).status_code == 201
    )
    assert anon.get(f"/__sim/users/{user_id}").json()["userContacts"][1]["to"] == "1-2"
    assert anon.delete(f"/__sim/users/{user_id}").status_code == 200  # no 428 from the UI
    assert anon.delete("/__sim/users/o@example.com").status_code == 200  # nor the owner guard
    assert anon.delete(f"/__sim/teams/{team['id']}").status_code == 200
    assert anon.delete(f"/__sim/users/{user_id}").status_code == 404
    assert anon.post("/__sim/roles", json={"name": "Viewer", "extendedRole": "observer"}).status_code == 201
    assert anon.delete("/__sim/roles/Viewer?identifierType=name").status_code == 200
    paths = [c["path"] for c in sim.state.call_log()]
    assert paths == [f"/v2/users/{user_id}"] * 3 + [f"/v2/teams/{team['id']}"]
    assert (
        anon.post("/__sim/users", data="{", headers={"Content-Type": "application/json"}).status_code == 400
    )


def test_a_restored_snapshot_is_the_state_it_was_taken_from() -> None:
    state = SimulatorState(seed="demo")
    state.calls.record({"method": "GET", "path": "/v2/users", "status": 200})  # as a sync's first call
    saved = state.snapshot()
    before = state.dump()
    next_id = SimulatorState(seed="demo")
    next_id.restore(saved)

    state.create_user({"username": "new.one@example.com", "fullName": "New One", "role": {"name": "User"}})
    state.delete_user("mei.chen@example.com")
    state.calls.record({"method": "DELETE", "path": "/v2/users/x", "status": 200})
    state.add_fault("GET", "/v2/users", "503")
    assert state.dump() != before

    state.restore(saved)
    assert state.dump() == before
    assert [c["path"] for c in state.call_log()] == ["/v2/users"]
    assert state.calls.record({"method": "GET", "path": "/v2/teams", "status": 200})["seq"] == 2
    assert state.list_faults() == []
    # The id generator is restored too: the next user gets the id a restored copy hands out.
    made = state.create_user({"username": "x@example.com", "fullName": "X", "role": {"name": "User"}})
    again = next_id.create_user({"username": "x@example.com", "fullName": "X", "role": {"name": "User"}})
    assert made["id"] == again["id"]
    # A restore copies the snapshot: what changed since did not reach it.
    state.restore(saved)
    assert state.dump() == before
