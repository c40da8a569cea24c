"""Users API over real HTTP."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs
from urllib.parse import urlparse

import pytest

from scim_bridge.simulator.server import SimulatorServer

from .conftest import Api


def test_create_get_and_expand_contacts(api: Api) -> None:
    response = api.post(
        "/v2/users",
        json={
            "username": "Jane.Doe@Example.com",
            "fullName": "Jane Doe",
            "role": {"name": "admin"},
            "timeZone": "Europe/Paris",
            "locale": "fr_FR",
            "skypeUsername": "jane.d",
            "userAddress": {"country": "FR", "city": "Paris", "zipCode": "75001"},
            "tags": ["sre"],
            "details": {"team": ["a", "b"]},
            "invitationDisabled": True,
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["result"] == "Created"
    assert body["data"]["name"] == "jane.doe@example.com"
    assert set(body) == {"result", "data", "took", "requestId"}
    assert response.headers["X-Request-ID"] == body["requestId"]
    user_id = body["data"]["id"]

    user = api.get(f"/v2/users/{user_id}").json()
    assert user["expandable"] == ["contact"]
    data = user["data"]
    assert data["username"] == "jane.doe@example.com"
    assert data["role"]["name"] == "Admin" and data["role"]["id"]
    assert data["userAddress"] == {
        "country": "FR",
        "state": "",
        "city": "Paris",
        "line": "",
        "zipCode": "75001",
    }
    assert data["details"] == {"team": ["a", "b"]}
    assert data["blocked"] is False and data["verified"] is False
    assert "invitationDisabled" not in data and "userContacts" not in data
    assert data["createdAt"].endswith("Z")

    by_name = api.get("/v2/users/JANE.DOE@example.com", params={"expand": "contact"}).json()["data"]
    assert by_name["id"] == user_id
    assert by_name["userContacts"] == [
        {
            "id": by_name["userContacts"][0]["id"],
            "to": "jane.doe@example.com",
            "contactMethod": "email",
            "enabled": True,
            "disabledReason": "",
        }
    ]


def test_defaults_and_no_default_contact_knob(api: Api, sim: SimulatorServer) -> None:
    sim.config.default_email_contact = False
    user_id = api.create_user("a@example.com")
    data = api.get(f"/v2/users/{user_id}?expand=contact").json()["data"]
    assert data["timeZone"] == "America/New_York" and data["locale"] == "en_US"
    assert data["userContacts"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"fullName": "X", "role": {"name": "User"}}, "username"),
        ({"username": "not-an-email", "fullName": "X", "role": {"name": "User"}}, "username"),
        ({"username": "a" * 95 + "@x.com", "fullName": "X", "role": {"name": "User"}}, "username"),
        ({"username": "a@x.com", "role": {"name": "User"}}, "fullName"),
        ({"username": "a@x.com", "fullName": "x" * 513, "role": {"name": "User"}}, "fullName"),
        ({"username": "a@x.com", "fullName": "X"}, "role"),
        ({"username": "a@x.com", "fullName": "X", "role": "User"}, "role"),
        ({"username": "a@x.com", "fullName": "X", "role": {"name": "Wizard"}}, "role"),
        (
            {"username": "a@x.com", "fullName": "X", "role": {"name": "User"}, "timeZone": "Mars/Base"},
            "timeZone",
        ),
        (
            {"username": "a@x.com", "fullName": "X", "role": {"name": "User"}, "details": {"k": "v"}},
            "details",
        ),
        ({"username": "a@x.com", "fullName": "X", "role": {"name": "User"}, "tags": "sre"}, "tags"),
    ],
)
def test_create_validation(api: Api, body: dict[str, object], field: str) -> None:
    response = api.post("/v2/users", json=body)
    assert response.status_code == 422
    payload = response.json()
    assert field in payload["errors"]
    assert payload["message"] and payload["requestId"] and "took" in payload


def test_full_name_limit_and_builtin_roles_case_insensitive(api: Api) -> None:
    for index, role in enumerate(["owner", "ADMIN", "user", "Stakeholder", "observer"]):
        api.create_user(f"u{index}@example.com", role=role, fullName="x" * 512)


def test_duplicate_username_409_or_422(api: Api, sim: SimulatorServer) -> None:
    api.create_user("dup@example.com")
    body = {"username": "DUP@example.com", "fullName": "D", "role": {"name": "User"}}
    assert api.post("/v2/users", json=body).status_code == 409
    sim.config.duplicate_user_status = 422
    response = api.post("/v2/users", json=body)
    assert response.status_code == 422 and "username" in response.json()["errors"]


def test_patch_is_partial_and_replaces_collections(api: Api) -> None:
    user_id = api.create_user(
        "p@example.com", tags=["a", "b"], details={"x": ["1"]}, userAddress={"city": "Oslo"}
    )
    response = api.patch(f"/v2/users/{user_id}", json={"tags": ["c"], "details": {"y": ["2"]}})
    assert response.status_code == 200 and response.json()["result"] == "Updated"
    data = api.get(f"/v2/users/{user_id}").json()["data"]
    assert data["tags"] == ["c"] and data["details"] == {"y": ["2"]}
    assert data["userAddress"]["city"] == "Oslo" and data["fullName"] == "p"

    api.patch("/v2/users/P@EXAMPLE.COM", json={"fullName": "Pat", "role": {"name": "Admin"}})
    data = api.get(f"/v2/users/{user_id}").json()["data"]
    assert data["fullName"] == "Pat" and data["role"]["name"] == "Admin" and data["tags"] == ["c"]

    assert api.patch(f"/v2/users/{user_id}", json={"fullName": ""}).status_code == 422
    assert api.patch("/v2/users/nobody@example.com", json={"fullName": "N"}).status_code == 404


def test_rename_and_rename_conflict(api: Api, sim: SimulatorServer) -> None:
    user_id = api.create_user("old@example.com")
    api.create_user("taken@example.com")
    assert api.patch(f"/v2/users/{user_id}", json={"username": "Taken@example.com"}).status_code == 409
    assert api.patch(f"/v2/users/{user_id}", json={"username": "New@example.com"}).status_code == 200
    assert api.get("/v2/users/new@example.com").json()["data"]["id"] == user_id
    assert api.get("/v2/users/old@example.com").status_code == 404
    sim.config.allow_username_change = False
    assert api.patch(f"/v2/users/{user_id}", json={"username": "other@example.com"}).status_code == 422


def test_delete_and_unknown(api: Api) -> None:
    user_id = api.create_user("d@example.com")
    response = api.delete(f"/v2/users/{user_id}")
    assert response.status_code == 200 and response.json()["result"] == "Deleted"
    missing = api.delete(f"/v2/users/{user_id}")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Entity cannot be found for the given identifier"
    assert api.get(f"/v2/users/{user_id}").status_code == 404


def test_delete_member_allow_or_428(api: Api, sim: SimulatorServer) -> None:
    api.create_user("m1@example.com")
    api.create_user("m2@example.com")
    members = [{"user": {"username": "m1@example.com"}}, {"user": {"id": api.create_user("m3@example.com")}}]
    team_id = api.create_team("ops", [*members, {"user": {"username": "m2@example.com"}}])
    teams = api.get("/v2/users/m1@example.com/teams").json()["data"]
    assert teams == [{"id": team_id, "name": "ops"}]

    sim.config.delete_referenced_user = "428"
    assert api.delete("/v2/users/m1@example.com").status_code == 428
    sim.config.delete_referenced_user = "allow"
    assert api.delete("/v2/users/m1@example.com").status_code == 200
    members = api.get(f"/v2/teams/{team_id}").json()["data"]["members"]
    assert [m["user"]["username"] for m in members] == ["m3@example.com", "m2@example.com"]


def test_account_owner_is_protected(api: Api, sim: SimulatorServer) -> None:
    owner_id = api.create_user("boss@example.com", role="Owner")
    second = api.create_user("boss2@example.com", role="Owner")
    refused = api.delete(f"/v2/users/{owner_id}")
    assert refused.status_code == 403 and refused.json()["code"] == 40301
    assert api.patch(f"/v2/users/{owner_id}", json={"role": {"name": "User"}}).status_code == 403
    sim.config.owner_protection_status = 422
    assert api.delete(f"/v2/users/{owner_id}").status_code == 422
    assert api.patch(f"/v2/users/{second}", json={"role": {"name": "User"}}).status_code == 200
    assert api.delete(f"/v2/users/{second}").status_code == 200


def _offset(url: str) -> int:
    return int(parse_qs(urlparse(url).query)["offset"][0])


def test_paging_over_250_users(api: Api, sim: SimulatorServer) -> None:
    sim.state.bulk(users=250)
    seen: list[str] = []
    url: str | None = "/v2/users?limit=100"
    pages = 0
    while url:
        response = api.get(url)
        assert response.status_code == 200
        body = response.json()
        assert body["totalCount"] == 250
        paging = body["paging"]
        assert paging["first"].startswith(sim.base_url + "/v2/users?")
        assert _offset(paging["last"]) == 200
        assert response.headers["X-Paging-First"] == paging["first"]
        assert response.headers.get("X-Paging-Next") == paging.get("next")
        if pages:
            assert "prev" in paging
        else:
            assert "prev" not in paging
        seen += [u["username"] for u in body["data"]]
        assert all("userContacts" not in u for u in body["data"])
        url = paging.get("next")
        pages += 1
    assert pages == 3
    assert seen == sorted(seen) and len(set(seen)) == 250
    assert response.headers["X-RateLimit-State"] == "OK"


def test_sort_order_query_and_limits(api: Api, sim: SimulatorServer) -> None:
    api.create_user("b@example.com", fullName="Zed")
    api.create_user("a@example.com", fullName="Yan", role="Admin")
    api.create_user("c@example.com", fullName="Xia")
    names = [u["username"] for u in api.get("/v2/users?sort=fullName").json()["data"]]
    assert names == ["c@example.com", "a@example.com", "b@example.com"]
    names = [u["username"] for u in api.get("/v2/users?sort=createdAt&order=desc").json()["data"]]
    assert names == ["c@example.com", "a@example.com", "b@example.com"]
    names = [u["username"] for u in api.get("/v2/users", params={"order": "desc"}).json()["data"]]
    assert names == ["c@example.com", "b@example.com", "a@example.com"]

    found = api.get("/v2/users", params={"query": 'username:"A@example.com"'}).json()
    assert found["totalCount"] == 1 and found["data"][0]["fullName"] == "Yan"
    found = api.get("/v2/users", params={"query": "role:user AND fullName:Z*"}).json()
    assert [u["username"] for u in found["data"]] == ["b@example.com"]
    assert api.get("/v2/users", params={"query": "(a OR b)"}).status_code == 422

    assert api.get("/v2/users?sort=shoeSize").status_code == 422
    assert api.get("/v2/users?order=up").status_code == 422
    assert api.get("/v2/users?limit=0").status_code == 422
    clamped = api.get("/v2/users?limit=500").json()
    assert "limit=100" in clamped["paging"]["first"]
    sim.config.users_over_max_limit = "422"
    assert api.get("/v2/users?limit=500").status_code == 422
    empty = api.get("/v2/users?offset=10").json()
    assert empty["data"] == [] and empty["totalCount"] == 3 and "next" not in empty["paging"]


def test_concurrent_creates(sim: SimulatorServer) -> None:
    def create(worker: int) -> list[int]:
        client = Api(sim.base_url)
        return [
            client.post(
                "/v2/users",
                json={"username": f"w{worker}-{i}@example.com", "fullName": "W", "role": {"name": "User"}},
            ).status_code
            for i in range(10)
        ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [s for result in pool.map(create, range(8)) for s in result]
    assert statuses == [201] * 80
    assert Api(sim.base_url).get("/v2/users?limit=1").json()["totalCount"] == 80
    assert len({u["id"] for u in sim.state.dump()["users"]}) == 80
