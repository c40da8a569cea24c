"""Input built to break the parser gets a SCIM error (or a clamped answer), never a 500: deep nesting, huge
integers, floats where integers belong, NaN and Infinity, duplicate keys; in query strings, SearchRequest
bodies, PATCH, POST and PUT; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Running

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
HUGE = 10**30


def deep(depth: int) -> str:
    return '{"schemas": ["' + CORE + '"], "userName": "deep@example.com", "title": ' + "[" * depth + "]" * depth + "}"


def raw(bridge: Running, method: str, path: str, text: str) -> Any:
    return bridge.scim.request(method, path, data=text.encode(), headers={"Content-Type": "application/scim+json"})


def assert_scim_error(response: Any, status: int = 400) -> None:
    assert response.status_code == status, (response.status_code, response.text[:300])
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status)
    assert "Traceback" not in body["detail"]


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_hostile_input_is_a_scim_error(bridge: Running, db_backend: str) -> None:
    user_id = bridge.scim.get("/Users", params={"count": 1}).json()["Resources"][0]["id"]
    group_id = bridge.scim.get("/Groups", params={"count": 1}).json()["Resources"][0]["id"]

    # Nesting: 50,000 deep (beyond Python's recursion limit) and 200 deep (within it, beyond any SCIM document).
    for depth in (50_000, 200):
        assert_scim_error(raw(bridge, "POST", "/Users", deep(depth)))
        assert_scim_error(raw(bridge, "POST", "/Users/.search", '{"schemas": ["' + SEARCH + '"], "filter": '
                              + "[" * depth + "]" * depth + "}"))
        assert_scim_error(raw(bridge, "PATCH", f"/Users/{user_id}", '{"schemas": ["' + PATCH + '"], "Operations": '
                              '[{"op": "replace", "path": "title", "value": ' + "[" * depth + "]" * depth + "}]}"))
        assert_scim_error(raw(bridge, "PUT", f"/Groups/{group_id}", '{"schemas": ["' + GROUP + '"], '
                              '"displayName": "x", "members": ' + "[" * depth + "]" * depth + "}"))

    # NaN, Infinity and duplicate keys are not JSON the bridge accepts.
    for text in ('{"schemas": ["' + SEARCH + '"], "count": NaN}',
                 '{"schemas": ["' + SEARCH + '"], "startIndex": Infinity}',
                 '{"schemas": ["' + SEARCH + '"], "count": -Infinity}',
                 '{"schemas": ["' + SEARCH + '"], "count": 1, "count": 1000}',
                 '{"schemas": ["' + SEARCH + '"], "count": 1e400}'):
        assert_scim_error(raw(bridge, "POST", "/Users/.search", text))
    assert_scim_error(raw(bridge, "POST", "/Users", '{"schemas": ["' + CORE + '"], "userName": "a@example.com", '
                          '"userName": "b@example.com"}'))
    assert_scim_error(raw(bridge, "PATCH", f"/Users/{user_id}", '{"schemas": ["' + PATCH + '"], "Operations": '
                          '[{"op": "replace", "path": "title", "value": NaN}]}'))

    # Huge and fractional paging values: clamped (200) or 400, in the query and in a SearchRequest.
    for params in ({"startIndex": str(HUGE)}, {"count": str(HUGE)}, {"startIndex": str(-HUGE)},
                   {"startIndex": str(HUGE), "count": str(HUGE)}):
        for path in ("/Users", "/Groups"):
            answer = bridge.scim.get(path, params=params)
            assert answer.status_code == 200, (params, answer.text[:300])
    for body in ({"startIndex": HUGE}, {"count": HUGE}, {"startIndex": -HUGE, "count": -HUGE},
                 {"startIndex": HUGE, "count": HUGE, "filter": "displayName pr", "sortBy": "displayName"}):
        for path in ("/Users/.search", "/Groups/.search"):
            answer = bridge.scim.post(path, {"schemas": [SEARCH], **body})
            assert answer.status_code == 200, (body, answer.text[:300])
            assert answer.json()["Resources"] == [] or answer.json()["startIndex"] >= 1
    for params in ({"count": "1.5"}, {"startIndex": "1e3"}, {"count": "NaN"}):
        assert_scim_error(bridge.scim.get("/Users", params=params))
    for body in ({"count": 1.5}, {"startIndex": 1e300}, {"count": "many"}):
        assert_scim_error(bridge.scim.post("/Users/.search", {"schemas": [SEARCH], **body}))

    # Huge numbers inside filters, for the mirror's SQL and for the in-memory comparison.
    for expression in (f"userName eq {HUGE}", f"title gt {HUGE}", f"meta.created gt {HUGE}",
                       "title eq 1e400", f"userName eq {HUGE} or displayName lt {-HUGE}",
                       f'emails[value eq {HUGE}]', f"externalId eq {HUGE}"):
        for path in ("/Users", "/Groups"):
            answer = bridge.scim.get(path, params={"filter": expression.replace("userName", "displayName")
                                                   if path == "/Groups" else expression})
            assert answer.status_code in (200, 400), (expression, answer.text[:300])
            if answer.status_code == 400:
                assert_scim_error(answer)

    # Huge numbers and floats as attribute values in POST, PUT and PATCH.
    assert_scim_error(bridge.scim.post("/Users", {"schemas": [CORE], "userName": HUGE}))
    assert_scim_error(bridge.scim.post("/Users", {"schemas": [CORE], "userName": "n@example.com", "active": HUGE}))
    assert_scim_error(bridge.scim.put(f"/Users/{user_id}", {"schemas": [CORE], "userName": 1.5}))
    assert_scim_error(bridge.scim.patch(f"/Users/{user_id}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "active", "value": HUGE}]}))
    assert_scim_error(bridge.scim.patch(f"/Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": HUGE}]}]}))
    assert_scim_error(bridge.scim.patch(f"/Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "remove", "path": f"members[value eq {HUGE}]"}]}), 400)
