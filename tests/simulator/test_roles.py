"""Custom User Role API over real HTTP."""

from __future__ import annotations

from scim_bridge.simulator.models import builtin_role_id
from scim_bridge.simulator.server import SimulatorServer

from .conftest import Api


def test_role_crud_and_assignment(api: Api, sim: SimulatorServer) -> None:
    assert api.get("/v2/roles").json()["data"] == []
    created = api.post("/v2/roles", json={"name": "Incident Commander", "grantedRights": ["alert-escalate"]})
    assert created.status_code == 201 and created.json()["result"] == "Created"
    role_id = created.json()["data"]["id"]

    role = api.get(f"/v2/roles/{role_id}").json()["data"]
    assert role == {
        "id": role_id,
        "name": "Incident Commander",
        "extendedRole": "user",
        "grantedRights": ["alert-escalate"],
        "disallowedRights": [],
    }
    assert api.get("/v2/roles/incident commander?identifierType=name").json()["data"]["id"] == role_id
    assert [r["name"] for r in api.get("/v2/roles").json()["data"]] == ["Incident Commander"]

    updated = api.put(f"/v2/roles/{role_id}", json={"extendedRole": "stakeholder", "disallowedRights": ["x"]})
    assert updated.status_code == 200 and updated.json()["result"] == "Updated"
    role = api.get(f"/v2/roles/{role_id}").json()["data"]
    assert role["extendedRole"] == "stakeholder" and role["disallowedRights"] == ["x"]

    user_id = api.create_user("ic@example.com", role="incident COMMANDER")
    assert api.get(f"/v2/users/{user_id}").json()["data"]["role"] == {
        "id": role_id,
        "name": "Incident Commander",
    }
    assert api.delete(f"/v2/roles/{role_id}").status_code == 428
    api.patch(f"/v2/users/{user_id}", json={"role": {"id": builtin_role_id("User")}})
    assert api.get(f"/v2/users/{user_id}").json()["data"]["role"]["name"] == "User"
    assert api.delete("/v2/roles/Incident Commander?identifierType=name").json()["result"] == "Deleted"
    assert api.get(f"/v2/roles/{role_id}").status_code == 404


def test_role_validation_and_builtins(api: Api, sim: SimulatorServer) -> None:
    assert api.post("/v2/roles", json={}).status_code == 422
    assert api.post("/v2/roles", json={"name": "R", "extendedRole": "admin"}).status_code == 422
    assert api.post("/v2/roles", json={"name": "admin"}).status_code == 409
    api.post("/v2/roles", json={"name": "R"})
    assert api.post("/v2/roles", json={"name": "r"}).status_code == 409

    admin_id = builtin_role_id("Admin")
    assert api.get(f"/v2/roles/{admin_id}").json()["data"]["name"] == "Admin"
    assert api.delete(f"/v2/roles/{admin_id}").status_code == 403
    assert api.put(f"/v2/roles/{admin_id}", json={"name": "Boss"}).status_code == 403
    sim.config.list_builtin_roles = True
    names = [r["name"] for r in api.get("/v2/roles").json()["data"]]
    assert names == ["Owner", "Admin", "User", "Stakeholder", "Observer", "R"]
    user_id = api.create_user("x@example.com", role="admin")
    assert api.get(f"/v2/users/{user_id}").json()["data"]["role"]["id"] == admin_id
