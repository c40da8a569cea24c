"""Size limits: advertised where SCIM has a place for them, enforced everywhere, never reaching the upstream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from conftest import TOKEN
from conftest import Running
from conftest import start_bridge

from scim_bridge.config import Settings

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
LIMITS = {"max_body_bytes": 4096, "max_results": 3, "max_patch_operations": 4, "max_members_per_patch": 3,
          "max_filter_length": 120, "max_filter_depth": 4}


@pytest.fixture(scope="module")
def limited(simulator: Any, template_db: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    simulator.state.reset(seed="demo")
    running, server, store = start_bridge(simulator, tmp_path_factory.mktemp("limits") / "bridge.db", template_db,
                                          **LIMITS)
    yield running
    server.shutdown()
    server.server_close()
    store.close()


def _error(response: requests.Response, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status) and body["detail"]
    if scim_type is not None:
        assert body.get("scimType") == scim_type
    return body


def _ids(running: Running, resource: str, filter_text: str) -> list[str]:
    found = running.scim.get(f"/{resource}", params={"filter": filter_text}).json()["Resources"]
    return [item["id"] for item in found]


def test_max_results_is_advertised_and_clamps_count(limited: Running) -> None:
    config = limited.scim.get("/ServiceProviderConfig").json()
    assert config["filter"] == {"supported": True, "maxResults": 3}
    for params in ({"count": 1000}, {}, {"count": 3}):
        page = limited.scim.get("/Users", params=params).json()
        assert page["itemsPerPage"] == 3 and len(page["Resources"]) == 3
        assert page["totalResults"] >= 7
    search = limited.scim.post("/Users/.search", {"schemas": [SEARCH], "count": 10**9, "startIndex": 2})
    assert search.status_code == 200
    assert len(search.json()["Resources"]) == 3
    groups = limited.scim.get("/Groups", params={"count": "99999999999999999999999"}).json()
    assert groups["itemsPerPage"] == 3


def test_body_size(limited: Running) -> None:
    limited.sim.clear_calls()
    big = {"schemas": [CORE], "userName": "big.body@example.com", "title": "x" * 5000}
    body = _error(limited.scim.post("/Users", big), 413)
    assert "4096" in body["detail"]
    user_id = _ids(limited, "Users", 'userName eq "mei.chen@example.com"')[0]
    _error(limited.scim.put(f"/Users/{user_id}", big), 413)
    ops = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "y" * 5000}]}
    _error(limited.scim.patch(f"/Users/{user_id}", ops), 413)
    _error(limited.scim.post("/Groups/.search", {"schemas": [SEARCH], "filter": "x" * 5000}), 413)
    # Without a Content-Length (chunked upload) the limit holds as well.
    chunks = iter([json.dumps(big).encode()[i:i + 1000] for i in range(0, 6000, 1000)])
    chunked = requests.post(limited.scim.base_url + "/Users", data=chunks, timeout=10,
                            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"})
    _error(chunked, 413)
    assert limited.sim.writes() == []
    small = limited.scim.post("/Users", {**big, "title": "x" * 3000})
    assert small.status_code == 201, small.text


def test_filter_length(limited: Running) -> None:
    padding = " or ".join(f'userName eq "u{i}@example.com"' for i in range(10))
    assert len(padding) > 120
    _error(limited.scim.get("/Users", params={"filter": padding}), 400, "invalidFilter")
    _error(limited.scim.post("/Groups/.search", {"schemas": [SEARCH], "filter": 'displayName eq "' + "a" * 120 + '"'}),
           400, "invalidFilter")
    fits = 'userName eq "mei.chen@example.com" or userName eq "tom.becker@example.com"'
    assert limited.scim.get("/Users", params={"filter": fits}).json()["totalResults"] == 2


def test_filter_depth(limited: Running) -> None:
    deep = "(" * 6 + 'userName eq "mei.chen@example.com"' + ")" * 6
    _error(limited.scim.get("/Users", params={"filter": deep}), 400, "invalidFilter")
    nested_not = "not (" * 6 + "userName pr" + ")" * 6
    _error(limited.scim.get("/Users", params={"filter": nested_not}), 400, "invalidFilter")
    shallow = "((" + 'userName eq "mei.chen@example.com"' + "))"
    assert limited.scim.get("/Users", params={"filter": shallow}).json()["totalResults"] == 1


def test_patch_operations(limited: Running) -> None:
    user_id = _ids(limited, "Users", 'userName eq "tom.becker@example.com"')[0]
    limited.sim.clear_calls()
    ops = [{"op": "replace", "path": "title", "value": f"t{i}"} for i in range(5)]
    body = _error(limited.scim.patch(f"/Users/{user_id}", {"schemas": [PATCH], "Operations": ops}), 400, "tooMany")
    assert "4" in body["detail"]
    group_id = _ids(limited, "Groups", 'displayName eq "Payments"')[0]
    _error(limited.scim.patch(f"/Groups/{group_id}", {"schemas": [PATCH], "Operations": ops}), 400, "tooMany")
    assert limited.sim.writes() == []
    ok = limited.scim.patch(f"/Users/{user_id}", {"schemas": [PATCH], "Operations": ops[:4]})
    assert ok.status_code == 200, ok.text


def test_members_per_request(limited: Running) -> None:
    user_ids = [u["id"] for start in (1, 4) for u in
                limited.scim.get("/Users", params={"startIndex": start}).json()["Resources"]]
    members = [{"value": uid} for uid in user_ids[:4]]
    group_id = _ids(limited, "Groups", 'displayName eq "Customer Support"')[0]
    limited.sim.clear_calls()
    cases = [
        {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": members}]},
        # Spread over several operations (as Entra sends them).
        {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [m]} for m in members]},
        # Path-less add with a members list inside the value.
        {"schemas": [PATCH], "Operations": [{"op": "add", "value": {"members": members}}]},
        {"schemas": [PATCH], "Operations": [{"op": "Replace", "value": {"Members": members}}]},
    ]
    for body in cases:
        _error(limited.scim.patch(f"/Groups/{group_id}", body), 400, "tooMany")
    _error(limited.scim.post("/Groups", {"schemas": [GROUP], "displayName": "Too Big", "members": members}),
           400, "tooMany")
    _error(limited.scim.put(f"/Groups/{group_id}", {"schemas": [GROUP], "displayName": "Customer Support",
                                                   "members": members}), 400, "tooMany")
    assert limited.sim.writes() == []
    fits = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": members[:3]}]}
    assert limited.scim.patch(f"/Groups/{group_id}", fits).status_code in (200, 204)


def test_limits_from_environment() -> None:
    env = {"OPSGENIE_API_KEY": "k", "SCIM_BRIDGE_MAX_BODY_BYTES": "65536", "SCIM_BRIDGE_MAX_RESULTS": "200",
           "SCIM_BRIDGE_MAX_PATCH_OPERATIONS": "50", "SCIM_BRIDGE_MAX_MEMBERS_PER_PATCH": "500",
           "SCIM_BRIDGE_MAX_FILTER_LENGTH": "1024"}
    settings = Settings.from_env(env)
    assert (settings.max_body_bytes, settings.max_results, settings.max_patch_operations,
            settings.max_members_per_patch, settings.max_filter_length) == (65536, 200, 50, 500, 1024)


def test_default_filter_depth_stops_pathological_nesting(shared_bridge: Running) -> None:
    # Last in the module: the shared bridge resets the simulator when it starts.
    deep = "(" * 200 + 'userName eq "mei.chen@example.com"' + ")" * 200
    _error(shared_bridge.scim.get("/Users", params={"filter": deep}), 400, "invalidFilter")
