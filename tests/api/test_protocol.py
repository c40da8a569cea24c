"""Discovery, authentication and every bad input: the right SCIM error, and no upstream write."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from conftest import TOKEN
from conftest import Running

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def test_service_provider_config(bridge: Running) -> None:
    response = bridge.scim.get("/ServiceProviderConfig")
    assert response.status_code == 200
    body = response.json()
    assert body["patch"]["supported"] is True
    assert body["bulk"]["supported"] is False
    assert body["filter"] == {"supported": True, "maxResults": 1000}
    assert body["etag"]["supported"] is True
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_resource_types_and_schemas(bridge: Running) -> None:
    types = bridge.scim.get("/ResourceTypes").json()
    assert {r["id"] for r in types["Resources"]} == {"User", "Group"}
    assert bridge.scim.get("/ResourceTypes/User").json()["endpoint"] == "/Users"
    schemas = bridge.scim.get("/Schemas").json()
    ids = {s["id"] for s in schemas["Resources"]}
    assert CORE in ids and GROUP in ids
    user_schema = bridge.scim.get(f"/Schemas/{CORE}").json()
    names = {a["name"] for a in user_schema["attributes"]}
    assert {"userName", "name", "emails", "phoneNumbers", "active", "groups", "roles"} <= names
    assert bridge.scim.get("/Schemas/urn:nope").status_code == 404


def test_me_is_501(bridge: Running) -> None:
    response = bridge.scim.get("/Me")
    assert response.status_code == 501
    assert response.json()["schemas"] == [ERROR]


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-value", f"Basic {TOKEN}", "Bearer"])
def test_authentication_required(bridge: Running, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = requests.get(bridge.scim.base_url + "/Users", headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["status"] == "401"


def test_health_endpoints(bridge: Running) -> None:
    assert requests.get(bridge.root + "/healthz", timeout=10).status_code == 200
    ready = requests.get(bridge.root + "/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    bridge.scim.get("/Users")
    metrics = requests.get(bridge.root + "/metrics", timeout=10)
    assert metrics.status_code == 200
    assert "scim_bridge_requests_total" in metrics.text
    assert TOKEN not in metrics.text


def _user(**extra: Any) -> dict[str, Any]:
    return {"schemas": [CORE], "userName": "valid.user@example.com", **extra}


BAD_REQUESTS: list[tuple[str, str, str, Any, int, str | None]] = [
    # (name, method, path, body, status, scimType)
    ("malformed json", "POST", "/Users", "{not json", 400, "invalidSyntax"),
    ("body not an object", "POST", "/Users", [1, 2], 400, "invalidSyntax"),
    ("lone surrogate in body", "POST", "/Users",
     f'{{"schemas": ["{CORE}"], "userName": "a\\ud800@example.com"}}', 400, "invalidSyntax"),
    ("lone surrogate in patch", "PATCH", "/Users/{id}",
     f'{{"schemas": ["{PATCH}"], "Operations": [{{"op": "replace", "path": "title", "value": "\\udfff"}}]}}',
     400, "invalidSyntax"),
    ("missing schemas", "POST", "/Users", {"userName": "a@example.com"}, 400, "invalidValue"),
    ("wrong schema", "POST", "/Users", {"schemas": [GROUP], "userName": "a@example.com"}, 400, "invalidValue"),
    ("missing userName", "POST", "/Users", {"schemas": [CORE]}, 400, "invalidValue"),
    ("userName not an e-mail", "POST", "/Users", _user(userName="not-an-email"), 400, "invalidValue"),
    ("userName too long", "POST", "/Users", _user(userName="a" * 95 + "@example.com"), 400, "invalidValue"),
    ("active not boolean", "POST", "/Users", _user(active="maybe"), 400, "invalidValue"),
    ("emails not a list", "POST", "/Users", _user(emails="a@example.com"), 400, "invalidValue"),
    ("owner role", "POST", "/Users", _user(roles=[{"value": "Owner"}]), 403, None),
    ("unknown role", "POST", "/Users", _user(roles=[{"value": "Wizard"}]), 400, "invalidValue"),
    ("patch without schemas", "PATCH", "/Users/{id}", {"Operations": []}, 400, None),
    ("patch empty operations", "PATCH", "/Users/{id}", {"schemas": [PATCH], "Operations": []}, 400, None),
    ("patch unknown op", "PATCH", "/Users/{id}", {"schemas": [PATCH], "Operations": [{"op": "move"}]},
     400, None),
    ("patch malformed path", "PATCH", "/Users/{id}",
     {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "name..x", "value": 1}]}, 400, "invalidPath"),
    ("patch remove without path", "PATCH", "/Users/{id}",
     {"schemas": [PATCH], "Operations": [{"op": "remove"}]}, 400, "noTarget"),
    ("patch readOnly id", "PATCH", "/Users/{id}",
     {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "id", "value": "x"}]}, 400, "mutability"),
    ("patch bad userName", "PATCH", "/Users/{id}",
     {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "userName", "value": "nope"}]},
     400, "invalidValue"),
    ("unknown user", "GET", "/Users/00000000-0000-0000-0000-000000000000", None, 404, None),
    ("patch unknown user", "PATCH", "/Users/00000000-0000-0000-0000-000000000000",
     {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "x"}]}, 404, None),
    ("delete unknown user", "DELETE", "/Users/00000000-0000-0000-0000-000000000000", None, 404, None),
    ("bad filter", "GET", "/Users?filter=userName%20eq", None, 400, "invalidFilter"),
    ("unknown filter attribute", "GET", '/Users?filter=shoeSize%20eq%20"9"', None, 400, "invalidFilter"),
    ("widening filter", "GET", '/Users?filter=userName%20eq%20"a@b.c"%20or%20nope%20pr', None, 400,
     "invalidFilter"),
    ("bad count", "GET", "/Users?count=many", None, 400, "invalidValue"),
    ("bad sortOrder", "GET", "/Users?sortOrder=sideways", None, 400, "invalidValue"),
    ("unknown endpoint", "GET", "/Widgets", None, 404, None),
    ("wrong content type", "POST", "/Users", "text-body", 415, None),
    ("group name invalid", "POST", "/Groups", {"schemas": [GROUP], "displayName": "bad/name"}, 400, "invalidValue"),
    ("group name too long", "POST", "/Groups", {"schemas": [GROUP], "displayName": "x" * 101}, 400,
     "invalidValue"),
    ("group unknown member", "POST", "/Groups",
     {"schemas": [GROUP], "displayName": "New Team", "members": [{"value": "no-such-user"}]}, 400,
     "invalidValue"),
    ("group duplicate name", "POST", "/Groups", {"schemas": [GROUP], "displayName": "Payments"}, 409,
     "uniqueness"),
    ("role group create", "POST", "/Groups", {"schemas": [GROUP], "displayName": "role:Admin"}, 409,
     "uniqueness"),
    ("role group delete", "DELETE", "/Groups/role-admin", None, 400, "mutability"),
]


@pytest.mark.parametrize(("name", "method", "path", "body", "status", "scim_type"), BAD_REQUESTS,
                         ids=[case[0] for case in BAD_REQUESTS])
def test_bad_requests(bridge: Running, name: str, method: str, path: str, body: Any, status: int,
                      scim_type: str | None) -> None:
    existing = bridge.scim.get("/Users", params={"filter": 'userName eq "mei.chen@example.com"'})
    user_id = existing.json()["Resources"][0]["id"]
    bridge.scim.get("/Groups")
    bridge.sim.clear_calls()
    path = path.replace("{id}", user_id)
    url = bridge.scim.base_url + path
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if isinstance(body, str):
        content_type = "text/plain" if name == "wrong content type" else "application/scim+json"
        response = requests.request(method, url, data=body, headers={**headers, "Content-Type": content_type},
                                    timeout=10)
    elif body is not None:
        response = requests.request(method, url, json=body,
                                    headers={**headers, "Content-Type": "application/scim+json"}, timeout=10)
    else:
        response = requests.request(method, url, headers=headers, timeout=10)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["schemas"] == [ERROR]
    assert error["status"] == str(status)
    assert error.get("detail")
    if scim_type is not None:
        assert error.get("scimType") == scim_type
    assert bridge.sim.writes() == [], f"{name} caused an upstream write"


def test_oversized_body_is_413(bridge: Running) -> None:
    body = {"schemas": [CORE], "userName": "big@example.com", "title": "x" * 2_000_000}
    response = bridge.scim.post("/Users", body)
    assert response.status_code == 413
    assert response.json()["status"] == "413"


@pytest.mark.parametrize("path", ["/Schemas", "/ResourceTypes", "/ServiceProviderConfig"])
def test_discovery_refuses_a_filter(bridge: Running, path: str) -> None:
    """RFC 7644 section 4: a filter on a discovery endpoint is answered 403, never with the unfiltered list."""
    refused = bridge.scim.get(path, params={"filter": 'id eq "x"'})
    assert refused.status_code == 403, refused.text
    assert refused.json()["schemas"] == [ERROR]
    assert bridge.scim.get(path).status_code == 200


def test_responses_without_a_body_carry_no_media_type(bridge: Running) -> None:
    created = bridge.scim.post("/Users", _user())
    assert created.status_code == 201, created.text
    deleted = bridge.scim.delete(f"/Users/{created.json()['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert "Content-Type" not in deleted.headers


def test_conditional_gets(bridge: Running) -> None:
    created = bridge.scim.post("/Users", _user())
    assert created.status_code == 201, created.text
    path, version = f"/Users/{created.json()['id']}", created.headers["ETag"]
    strong = version.removeprefix("W/")
    assert bridge.scim.get(path, headers={"If-None-Match": version}).status_code == 304
    assert bridge.scim.get(path, headers={"If-None-Match": strong}).status_code == 304  # weak comparison
    assert bridge.scim.get(path, headers={"If-None-Match": 'W/"other"'}).status_code == 200
    assert bridge.scim.get(path, headers={"If-Match": version}).status_code == 200
    stale = bridge.scim.get(path, headers={"If-Match": 'W/"other"'})
    assert stale.status_code == 412, stale.text
    assert stale.json()["schemas"] == [ERROR]
