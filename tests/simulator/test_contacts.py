"""Contact API over real HTTP."""

from __future__ import annotations

import pytest

from .conftest import Api


def test_contact_lifecycle(api: Api) -> None:
    user_id = api.create_user("c@example.com")
    created = api.post(f"/v2/users/{user_id}/contacts", json={"method": "sms", "to": "1-5551234567"})
    assert created.status_code == 201 and created.json()["result"] == "Created"
    contact_id = created.json()["data"]["id"]

    listed = api.get("/v2/users/C@example.com/contacts").json()["data"]
    assert [c["method"] for c in listed] == ["email", "sms"]
    contact = api.get(f"/v2/users/{user_id}/contacts/{contact_id}").json()["data"]
    assert contact == {
        "id": contact_id,
        "method": "sms",
        "to": "1-5551234567",
        "status": {"enabled": True, "disabledReason": ""},
        "applyOrder": 0,
    }

    assert (
        api.patch(f"/v2/users/{user_id}/contacts/{contact_id}", json={"to": "44-2071234567"}).status_code
        == 200
    )
    assert api.post(f"/v2/users/{user_id}/contacts/{contact_id}/disable").status_code == 200
    expanded = api.get(f"/v2/users/{user_id}?expand=contact").json()["data"]["userContacts"]
    sms = next(c for c in expanded if c["contactMethod"] == "sms")
    assert sms["to"] == "44-2071234567" and sms["enabled"] is False and sms["disabledReason"]
    assert api.post(f"/v2/users/{user_id}/contacts/{contact_id}/enable").json()["result"] == "Enabled"
    assert api.get(f"/v2/users/{user_id}/contacts/{contact_id}").json()["data"]["status"]["enabled"] is True

    assert api.delete(f"/v2/users/{user_id}/contacts/{contact_id}").json()["result"] == "Deleted"
    assert api.get(f"/v2/users/{user_id}/contacts/{contact_id}").status_code == 404
    assert api.delete(f"/v2/users/{user_id}/contacts/{contact_id}").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"method": "mobile", "to": "device"},
        {"method": "pager", "to": "1-555"},
        {"method": "sms", "to": "+15551234567"},
        {"method": "voice", "to": "555 1234"},
        {"method": "email", "to": "nope"},
        {"method": "sms"},
        {"to": "1-555"},
    ],
)
def test_contact_validation(api: Api, body: dict[str, str]) -> None:
    user_id = api.create_user("v@example.com")
    response = api.post(f"/v2/users/{user_id}/contacts", json=body)
    assert response.status_code == 422
    assert response.json()["errors"]


def test_contact_patch_validation_duplicates_and_unknown_user(api: Api) -> None:
    user_id = api.create_user("w@example.com")
    contact_id = api.post(f"/v2/users/{user_id}/contacts", json={"method": "voice", "to": "1-555"}).json()[
        "data"
    ]["id"]
    assert api.patch(f"/v2/users/{user_id}/contacts/{contact_id}", json={"to": "x@y.com"}).status_code == 422
    assert (
        api.post(f"/v2/users/{user_id}/contacts", json={"method": "voice", "to": "1-555"}).status_code == 409
    )
    assert (
        api.post("/v2/users/ghost@example.com/contacts", json={"method": "sms", "to": "1-5"}).status_code
        == 404
    )
