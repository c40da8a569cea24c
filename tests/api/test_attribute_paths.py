"""Over HTTP: filter, PATCH path, attributes= and sortBy read an attribute path alike (one grammar)."""

from __future__ import annotations

from typing import Any

import requests
from conftest import Running

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

# Malformed: the PATCH path grammar once took any Unicode letter (and sortBy any text), so 'bloc\u212aed'
# (Kelvin sign) reached the 'blocked' attribute there while filters and attributes= refused it.
MALFORMED = ["bloc\u212aed", "nickNamé", "a$b", "name..givenName", "x:userName"]


def _user_id(bridge: Running) -> str:
    found = bridge.scim.get("/Users", params={"filter": 'userName eq "mei.chen@example.com"'})
    return str(found.json()["Resources"][0]["id"])


def _error(response: requests.Response, scim_type: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json().get("scimType") == scim_type, response.text


def _replace(path: str, value: Any) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": [{"op": "replace", "path": path, "value": value}]}


def test_a_malformed_path_is_refused_by_every_parameter(bridge: Running) -> None:
    user_id = _user_id(bridge)
    bridge.sim.clear_calls()
    for text in MALFORMED:
        _error(bridge.scim.patch(f"/Users/{user_id}", _replace(text, True)), "invalidPath")
        _error(bridge.scim.get("/Users", params={"filter": f"{text} pr"}), "invalidFilter")
        _error(bridge.scim.get("/Users", params={"attributes": text}), "invalidValue")
        _error(bridge.scim.get("/Users", params={"sortBy": text}), "invalidValue")
    assert bridge.sim.writes() == []


def test_a_known_path_in_any_case_is_read_by_every_parameter(bridge: Running) -> None:
    user_id = _user_id(bridge)
    patched = bridge.scim.patch(f"/Users/{user_id}", _replace("NAME.GIVENNAME", "Mei-Ling"))
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"]["givenName"] == "Mei-Ling"
    found = bridge.scim.get("/Users", params={"filter": 'NAME.givenname eq "mei-ling"',
                                              "attributes": "Name.GivenName", "sortBy": "NAME.familyNAME"})
    assert found.status_code == 200, found.text
    resources = found.json()["Resources"]
    assert [r["id"] for r in resources] == [user_id]
    assert resources[0]["name"] == {"givenName": "Mei-Ling"}
    assert "userName" not in resources[0]


def test_a_well_formed_unknown_path_is_ignored_or_refused_as_documented(bridge: Running) -> None:
    user_id = _user_id(bridge)
    bridge.sim.clear_calls()
    ignored = bridge.scim.patch(f"/Users/{user_id}", _replace("favouriteColour", "teal"))
    assert ignored.status_code == 200, ignored.text
    assert "favouriteColour" not in ignored.json()
    listed = bridge.scim.get("/Users", params={"attributes": "favouriteColour", "count": 1})
    assert listed.status_code == 200 and listed.json()["Resources"][0]["userName"]
    _error(bridge.scim.get("/Users", params={"filter": "favouriteColour pr"}), "invalidFilter")
    _error(bridge.scim.get("/Users", params={"sortBy": "favouriteColour"}), "invalidValue")
    assert bridge.sim.writes() == []
