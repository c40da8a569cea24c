"""Generated requests against a real bridge: never a 5xx, always an RFC 7644 error body on a 4xx, and a
rejected request never writes upstream."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import fields
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from conftest import TOKEN
from conftest import Running
from conftest import start_bridge
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from scim_bridge.config import OAuthClient
from scim_bridge.simulator.server import SimulatorServer
from tests.upstream_views import SimulatorControl

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
OPSGENIE = "urn:scim-bridge:params:scim:schemas:extension:opsgenie:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
OAUTH_SECRET = "fuzz-client-secret-0123456789"
OAUTH_CLIENT = OAuthClient.from_secret("fuzz", "fuzz-client", OAUTH_SECRET)

# SCIM_BRIDGE_FUZZ_EXAMPLES raises the count for a longer hunt; the default keeps the module well under a minute.
FUZZ = settings(max_examples=int(os.environ.get("SCIM_BRIDGE_FUZZ_EXAMPLES", "30")), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@dataclass
class FuzzBridge(Running):
    """The module's bridge, and its simulator in this process: each example reads and clears the simulator's
    call log directly, so that the example is one request (to the bridge), not three."""

    simulator: SimulatorServer | None = None

    def clear_calls(self) -> None:
        assert self.simulator is not None
        self.simulator.state.calls.clear()

    def writes(self) -> list[dict[str, Any]]:
        assert self.simulator is not None
        return [c for c in self.simulator.state.calls.entries() if SimulatorControl.is_write(c)]


@pytest.fixture(scope="module")
def fuzz_bridge(simulator: SimulatorServer, template_db: Any,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzBridge]:
    """One bridge for the module; the simulator's rate limits are off so no example waits for a budget."""
    simulator.state.reset(seed="demo")
    started, server, store = start_bridge(simulator, tmp_path_factory.mktemp("fuzz") / "bridge.db", template_db,
                                          max_body_bytes=65_536, upstream_wait_budget=2.0,
                                          oauth_clients=(OAUTH_CLIENT,), oauth_signing_key="fuzz-signing-key-" * 3)
    running = FuzzBridge(**{f.name: getattr(started, f.name) for f in fields(Running)}, simulator=simulator)
    running.sim.configure(rate_limit_enabled=False)
    yield running
    running.sim.configure(rate_limit_enabled=True)
    server.shutdown()
    server.server_close()
    store.close()


@pytest.fixture(scope="module")
def known_ids(fuzz_bridge: FuzzBridge) -> dict[str, list[str]]:
    users = fuzz_bridge.scim.get("/Users", params={"count": 100}).json()["Resources"]
    groups = fuzz_bridge.scim.get("/Groups", params={"count": 100, "excludedAttributes": "members"}).json()
    return {"Users": [u["id"] for u in users], "Groups": [g["id"] for g in groups["Resources"]]}


# --- strategies ----------------------------------------------------------------------------------------
text = st.text(max_size=30)
awkward = st.sampled_from(["", " ", "\x00", "\u202e", "é", "😀", "null", "true", "-1", "1e309", "\\", '"', "'",
                           "../", "%00", "$ref", "[", "]", "(", ")", "a" * 300, "\ud7ff", "\uffff"])
# Header values go out as latin-1 text without surrounding spaces, as HTTP clients send them.
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=30).map(str.strip) | st.sampled_from(
    ["*", 'W/"x"', '"a", "b"'])
scalar = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                   st.floats(allow_nan=False), text, awkward)
json_value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.one_of(text, awkward), inner, max_size=4), max_leaves=12)

USER_ATTRS = ["userName", "name", "name.givenName", "name.familyName", "name.formatted", "displayName",
              "nickName", "title", "userType", "preferredLanguage", "locale", "timezone", "active", "emails",
              "emails.value", "emails.type", "emails.primary", "phoneNumbers", "phoneNumbers.value", "addresses",
              "addresses.country", "roles", "roles.value", "groups", "groups.value", "externalId", "id",
              "meta.created", "meta.lastModified", "meta.resourceType", f"{ENTERPRISE}:department",
              f"{ENTERPRISE}:manager.value", f"{OPSGENIE}:tags", f"{CORE}:userName", "x509Certificates",
              "password", "shoeSize", "name.", ".name", "emails[type eq \"work\"]", "emails[type eq \"work\"].value"]
GROUP_ATTRS = ["displayName", "members", "members.value", "members.display", "members.type", "externalId", "id",
               "meta.created", "meta.lastModified", f"{GROUP}:displayName", "description", "owner", "nope",
               'members[value eq "x"]']
OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "EQ", "Eq", "pr", "xx", "==", ""]
literal = st.one_of(
    st.sampled_from(['"mei.chen@example.com"', '"Payments"', "true", "false", "null", "42", "-1.5", "1e400",
                     '"2024-01-01T00:00:00Z"', '"not a date"', '"\\"quoted\\""', '"\\u00e9"', '"', "'single'",
                     '"unterminated', "[]", '""']),
    text.map(json.dumps),
)


@st.composite
def filters(draw: st.DrawFn, attrs: list[str], depth: int = 0) -> str:
    kind = draw(st.integers(0, 7 if depth < 3 else 2))
    attr = draw(st.sampled_from(attrs) | text)
    if kind == 0:
        return f"{attr} pr"
    if kind in (1, 2):
        return f"{attr} {draw(st.sampled_from(OPERATORS))} {draw(literal)}"
    if kind == 3:
        joiner = draw(st.sampled_from(["and", "or", "AND", "Or", "xor", ""]))
        return f"{draw(filters(attrs, depth + 1))} {joiner} {draw(filters(attrs, depth + 1))}"
    if kind == 4:
        return f"not ({draw(filters(attrs, depth + 1))})"
    if kind == 5:
        return f"({draw(filters(attrs, depth + 1))})"
    if kind == 6:
        parent = draw(st.sampled_from(["emails", "phoneNumbers", "members", "roles", "groups", "name", attr]))
        return f"{parent}[{draw(filters(attrs, depth + 1))}]"
    # Arbitrary text, or a valid filter with a stray character.
    base = draw(filters(attrs, depth + 1))
    position = draw(st.integers(0, len(base)))
    return base[:position] + draw(st.sampled_from(['"', "(", ")", "[", "]", " ", "\\", "\x00"])) + base[position:]


def query(attrs: list[str]) -> st.SearchStrategy[dict[str, str]]:
    attr_list = st.lists(st.sampled_from(attrs) | text, max_size=3).map(",".join)
    values = {
        "filter": filters(attrs) | text,
        "count": st.integers(-(10**20), 10**20).map(str) | text,
        "startIndex": st.integers(-(10**20), 10**20).map(str) | text,
        "sortBy": st.sampled_from(attrs) | text,
        "sortOrder": st.sampled_from(["ascending", "descending", "DESCENDING", ""]) | text,
        "attributes": attr_list,
        "excludedAttributes": attr_list,
    }
    return st.fixed_dictionaries({}, optional={**values, "x": text})


def search_body(attrs: list[str]) -> st.SearchStrategy[Any]:
    schemas = st.sampled_from([[SEARCH], [SEARCH.upper()], [], [CORE], SEARCH, None])
    members = {
        "schemas": schemas,
        "filter": filters(attrs) | json_value,
        "count": st.integers(-(10**20), 10**20) | json_value,
        "startIndex": st.integers(-(10**20), 10**20) | json_value,
        "sortBy": st.sampled_from(attrs) | json_value,
        "sortOrder": st.sampled_from(["ascending", "descending"]) | json_value,
        "attributes": st.lists(st.sampled_from(attrs), max_size=3) | json_value,
        "excludedAttributes": st.lists(st.sampled_from(attrs), max_size=3) | json_value,
    }
    return st.fixed_dictionaries({}, optional=members) | json_value


email = st.one_of(st.from_regex(r"[a-z]{1,8}\.[a-z]{1,8}@example\.(com|org)", fullmatch=True),
                  st.sampled_from(["mei.chen@example.com", "alex.morgan@example.com", "MEI.CHEN@EXAMPLE.COM"]),
                  text)


def user_body() -> st.SearchStrategy[Any]:
    multi = st.lists(st.fixed_dictionaries({}, optional={"value": json_value, "type": json_value,
                                                         "primary": st.booleans() | json_value}), max_size=3)
    members = {
        "schemas": st.sampled_from([[CORE], [CORE, ENTERPRISE], [CORE, OPSGENIE], [GROUP], [], CORE]) | json_value,
        "userName": email | json_value,
        "name": st.fixed_dictionaries({}, optional={"givenName": text, "familyName": text,
                                                    "formatted": json_value}) | json_value,
        "displayName": text | json_value,
        "active": st.booleans() | st.sampled_from(["true", "False", "yes"]) | json_value,
        "title": text,
        "emails": multi | json_value,
        "phoneNumbers": multi,
        "roles": st.lists(st.fixed_dictionaries({"value": st.sampled_from(
            ["User", "Admin", "Owner", "Stakeholder", "Incident Commander", "Wizard"]) | json_value}),
            max_size=2) | json_value,
        "groups": json_value,
        "externalId": text | json_value,
        "id": text,
        "meta": json_value,
        "locale": st.sampled_from(["en_US", "de-DE", "xx"]) | text,
        "timezone": st.sampled_from(["Europe/Berlin", "America/New_York", "Mars/Olympus"]) | text,
        ENTERPRISE: st.fixed_dictionaries({}, optional={"department": text, "manager": json_value}) | json_value,
        OPSGENIE: json_value,
    }
    return st.fixed_dictionaries({}, optional={**members, "extra": json_value}) | json_value


def group_body(user_ids: list[str]) -> st.SearchStrategy[Any]:
    member = st.fixed_dictionaries({"value": st.sampled_from(user_ids) | text | json_value},
                                   optional={"display": text, "type": json_value, "$ref": json_value})
    members = {
        "schemas": st.sampled_from([[GROUP], [CORE], [], GROUP]) | json_value,
        "displayName": st.sampled_from(["Payments", "Platform SRE", "role:Admin", "Fuzz Team", "a/b", ""]) | text
        | json_value,
        "members": st.lists(member, max_size=4) | json_value,
        "externalId": text,
        "id": text,
    }
    return st.fixed_dictionaries({}, optional={**members, "extra": json_value}) | json_value


def patch_body(attrs: list[str], user_ids: list[str]) -> st.SearchStrategy[Any]:
    value = st.one_of(json_value, st.lists(st.fixed_dictionaries({"value": st.sampled_from(user_ids) | text})),
                      st.sampled_from([True, False, "False", "true"]), email,
                      st.dictionaries(st.sampled_from(attrs), json_value, max_size=3))
    path = st.one_of(st.sampled_from(attrs), filters(attrs).map(lambda f: f"members[{f}]"),
                     filters(attrs).map(lambda f: f"emails[{f}].value"), text)
    operation = st.fixed_dictionaries({"op": st.sampled_from(["add", "remove", "replace", "Add", "Replace",
                                                              "REMOVE", "move", ""]) | json_value},
                                      optional={"path": path | json_value, "value": value})
    members = {
        "schemas": st.sampled_from([[PATCH], [PATCH.lower()], [], [CORE]]) | json_value,
        "Operations": st.lists(operation, max_size=4) | json_value,
    }
    return st.fixed_dictionaries({}, optional=members) | json_value


# --- the checks ----------------------------------------------------------------------------------------
def send(running: FuzzBridge, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None,
         raw: bytes | None = None, headers: dict[str, str] | None = None) -> requests.Response:
    running.clear_calls()
    all_headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json", **(headers or {})}
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    response = requests.request(method, running.scim.base_url + path, params=params, data=data,
                                headers=all_headers, timeout=60)
    check(running, response)
    return response


def check(running: FuzzBridge, response: requests.Response) -> None:
    where = f"{response.request.method} {response.request.url}"
    assert response.status_code < 500, f"{where} -> {response.status_code}: {response.text[:500]}"
    if response.status_code >= 400:
        body = response.json()
        assert body.get("schemas") == [ERROR], f"{where}: {body}"
        assert body.get("status") == str(response.status_code), f"{where}: {body}"
        assert isinstance(body.get("detail"), str) and body["detail"], f"{where}: {body}"
        # An attempt the upstream refused (a DELETE of an unknown id answered 404) changed nothing.
        writes = [c for c in running.writes() if c.get("status") is None or c["status"] < 400]
        assert writes == [], f"{where} was rejected ({response.status_code}) but wrote upstream: {writes}"
    elif response.status_code != 204 and response.status_code != 304:
        assert isinstance(response.json(), dict)


@FUZZ
@given(resource=st.sampled_from(["Users", "Groups"]), data=st.data())
def test_list_queries(fuzz_bridge: FuzzBridge, resource: str, data: st.DataObject) -> None:
    attrs = USER_ATTRS if resource == "Users" else GROUP_ATTRS
    send(fuzz_bridge, "GET", f"/{resource}", params=data.draw(query(attrs)))


@FUZZ
@given(resource=st.sampled_from(["Users", "Groups"]), data=st.data())
def test_search_requests(fuzz_bridge: FuzzBridge, resource: str, data: st.DataObject) -> None:
    attrs = USER_ATTRS if resource == "Users" else GROUP_ATTRS
    send(fuzz_bridge, "POST", f"/{resource}/.search", body=data.draw(search_body(attrs)),
         params=data.draw(query(attrs)))


@FUZZ
@given(resource=st.sampled_from(["Users", "Groups"]), data=st.data())
def test_get_by_id(fuzz_bridge: FuzzBridge, known_ids: dict[str, list[str]], resource: str,
                   data: st.DataObject) -> None:
    attrs = USER_ATTRS if resource == "Users" else GROUP_ATTRS
    resource_id = data.draw(st.sampled_from(known_ids[resource]) | text.filter(lambda t: "/" not in t and t.strip()))
    headers = data.draw(st.fixed_dictionaries({}, optional={"If-None-Match": header_text}))
    send(fuzz_bridge, "GET", f"/{resource}/{requests.utils.quote(resource_id, safe='')}",
         params=data.draw(query(attrs)), headers=headers)


@FUZZ
@given(body=user_body())
def test_create_users(fuzz_bridge: FuzzBridge, body: Any) -> None:
    send(fuzz_bridge, "POST", "/Users", body=body)


@FUZZ
@given(data=st.data())
def test_replace_users(fuzz_bridge: FuzzBridge, known_ids: dict[str, list[str]], data: st.DataObject) -> None:
    user_id = data.draw(st.sampled_from(known_ids["Users"]) | st.just("no-such-user"))
    headers = data.draw(st.fixed_dictionaries({}, optional={"If-Match": header_text}))
    send(fuzz_bridge, "PUT", f"/Users/{user_id}", body=data.draw(user_body()), headers=headers)


@FUZZ
@given(data=st.data())
def test_patch_users(fuzz_bridge: FuzzBridge, known_ids: dict[str, list[str]], data: st.DataObject) -> None:
    user_id = data.draw(st.sampled_from(known_ids["Users"]) | st.just("no-such-user"))
    send(fuzz_bridge, "PATCH", f"/Users/{user_id}", body=data.draw(patch_body(USER_ATTRS, known_ids["Users"])))


@FUZZ
@given(data=st.data())
def test_group_writes(fuzz_bridge: FuzzBridge, known_ids: dict[str, list[str]], data: st.DataObject) -> None:
    group_id = data.draw(st.sampled_from(known_ids["Groups"]) | st.just("no-such-group"))
    method = data.draw(st.sampled_from(["POST", "PUT", "PATCH"]))
    if method == "PATCH":
        send(fuzz_bridge, "PATCH", f"/Groups/{group_id}", body=data.draw(patch_body(GROUP_ATTRS, known_ids["Users"])),
             params=data.draw(st.fixed_dictionaries({}, optional={"attributes": st.sampled_from(GROUP_ATTRS)})))
    else:
        path = "/Groups" if method == "POST" else f"/Groups/{group_id}"
        send(fuzz_bridge, method, path, body=data.draw(group_body(known_ids["Users"])))


@FUZZ
@given(method=st.sampled_from(["POST", "PUT", "PATCH"]), resource=st.sampled_from(["Users", "Groups"]),
       raw=st.binary(max_size=200) | text.map(str.encode), content_type=st.sampled_from(
           ["application/scim+json", "application/json", "text/plain", "application/x-www-form-urlencoded",
            "application/scim+json; charset=latin-1", ""]))
def test_raw_bodies(fuzz_bridge: FuzzBridge, known_ids: dict[str, list[str]], method: str, resource: str, raw: bytes,
                    content_type: str) -> None:
    path = f"/{resource}" if method == "POST" else f"/{resource}/{known_ids[resource][1]}"
    send(fuzz_bridge, method, path, raw=raw, headers={"Content-Type": content_type})


@FUZZ
@given(resource=st.sampled_from(["Users", "Groups"]), resource_id=text.filter(lambda t: t.strip()))
def test_delete_unknown(fuzz_bridge: FuzzBridge, known_ids: dict[str, list[str]], resource: str,
                        resource_id: str) -> None:
    if resource_id in known_ids[resource]:
        return
    response = send(fuzz_bridge, "DELETE", f"/{resource}/{requests.utils.quote(resource_id, safe='')}")
    assert response.status_code >= 400


@FUZZ
@given(path=st.sampled_from(["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"]) | text.map(
    lambda t: f"/ResourceTypes/{requests.utils.quote(t, safe='')}") | st.sampled_from([CORE, GROUP, "urn:x"]).map(
    lambda t: f"/Schemas/{t}") | text.map(lambda t: f"/Schemas/{requests.utils.quote(t, safe=':')}"),
    params=query(USER_ATTRS))
def test_discovery(fuzz_bridge: FuzzBridge, path: str, params: dict[str, str]) -> None:
    send(fuzz_bridge, "GET", path, params=params)


@FUZZ
@given(form=st.lists(st.tuples(st.sampled_from(["grant_type", "client_id", "client_secret", "scope"]) | text,
                               st.sampled_from(["client_credentials", "fuzz-client", OAUTH_SECRET]) | text),
                     max_size=5),
       authorization=st.none() | header_text | st.binary(max_size=40).map(
           lambda b: "Basic " + base64.b64encode(b).decode()) | st.sampled_from(
           ["Basic " + base64.b64encode(f"fuzz-client:{OAUTH_SECRET}".encode()).decode(), "Bearer x"]),
       content_type=st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain", ""]))
def test_token_endpoint(fuzz_bridge: FuzzBridge, form: list[tuple[str, str]], authorization: str | None,
                        content_type: str) -> None:
    headers = {"Content-Type": content_type}
    if authorization:
        headers["Authorization"] = authorization
    response = requests.post(fuzz_bridge.root + "/oauth/token", data=urlencode(form), headers=headers, timeout=30)
    assert response.status_code in (200, 400, 401), response.text
    body = response.json()
    assert response.headers["Cache-Control"] == "no-store"
    if response.status_code == 200:
        assert body["token_type"] == "Bearer"
        check(fuzz_bridge, requests.get(fuzz_bridge.scim.base_url + "/ServiceProviderConfig", timeout=30,
                                        headers={"Authorization": f"Bearer {body['access_token']}"}))
    else:
        assert body["error"] in ("invalid_request", "invalid_client", "unsupported_grant_type"), body
        assert body["error_description"]
