"""Every OpsGenieClient operation, over HTTP against the simulator."""

from __future__ import annotations

from typing import Any

import pytest

from scim_bridge.opsgenie import AuthenticationFailed
from scim_bridge.opsgenie import CallRecord
from scim_bridge.opsgenie import Conflict
from scim_bridge.opsgenie import NotFound
from scim_bridge.opsgenie import OpsGenieClient
from scim_bridge.opsgenie import PermissionDenied
from scim_bridge.opsgenie import RateLimit
from scim_bridge.opsgenie import Unprocessable

ADA: dict[str, Any] = {
    "username": "ada@example.com",
    "fullName": "Ada Lovelace",
    "role": {"name": "User"},
    "timeZone": "Europe/London",
    "locale": "en_GB",
    "userAddress": {"country": "UK", "state": "", "city": "London", "line": "1 Main St", "zipCode": "N1"},
    "tags": ["math"],
    "details": {"dept": ["R&D"]},
    "invitationDisabled": True,
}


def test_create_get_update_delete_user(client: OpsGenieClient) -> None:
    created = client.create_user(ADA)
    assert created.id
    by_id = client.get_user(created.id)
    assert by_id == client.get_user("ada@example.com")
    assert by_id["fullName"] == "Ada Lovelace"
    assert by_id["timeZone"] == "Europe/London"
    assert by_id["userAddress"]["zipCode"] == "N1"
    assert by_id["role"]["name"] == "User"
    assert "userContacts" not in by_id

    client.update_user(created.id, {"fullName": "Ada King", "tags": ["math", "poetry"]})
    updated = client.get_user(created.id)
    assert (updated["fullName"], updated["tags"], updated["locale"]) == (
        "Ada King",
        ["math", "poetry"],
        "en_GB",
    )

    client.delete_user(created.id)
    with pytest.raises(NotFound) as caught:
        client.get_user(created.id)
    assert caught.value.status == 404
    assert caught.value.request_id


def test_get_user_expands_contacts_in_one_call(client: OpsGenieClient, records: list[CallRecord]) -> None:
    user_id = client.create_user(ADA).id
    records.clear()
    expanded = client.get_user(user_id, expand_contacts=True)
    assert [c["contactMethod"] for c in expanded["userContacts"]] == ["email"]
    assert len(records) == 1


def test_list_users_page_sort_order_query(client: OpsGenieClient, sim: Any) -> None:
    sim.bulk(users=5)
    first = client.list_users(limit=2, sort="username", order="desc")
    assert first.total_count == 5
    assert first.has_next and first.next_offset == 2
    assert [u["username"] for u in first.users] == ["user00005@example.com", "user00004@example.com"]
    last = client.list_users(offset=4, limit=2)
    assert not last.has_next and last.next_offset is None
    found = client.list_users(query='username:"user00003@example.com"')
    assert [u["username"] for u in found.users] == ["user00003@example.com"]
    with pytest.raises(ValueError):
        client.list_users(limit=101)


def test_iter_users_follows_pages_of_100_over_250_users(
    client: OpsGenieClient, sim: Any, records: list[CallRecord]
) -> None:
    sim.bulk(users=250)
    usernames = [u["username"] for u in client.iter_users()]
    assert len(usernames) == len(set(usernames)) == 250
    assert usernames == sorted(usernames)
    pages = sim.calls_to("GET", "/v2/users")
    assert [(c["query"]["offset"], c["query"]["limit"]) for c in pages] == [
        ("0", "100"),
        ("100", "100"),
        ("200", "100"),
    ]
    assert {r.domain for r in records} == {"search"}


def test_teams_members_and_user_teams(client: OpsGenieClient) -> None:
    ada = client.create_user(ADA).id
    bob = client.create_user({**ADA, "username": "bob@example.com", "fullName": "Bob"}).id
    team = client.create_team({"name": "ops", "description": "On call", "members": [{"user": {"id": ada}}]})
    assert team.name == "ops"

    assert client.get_team(team.id) == client.get_team("ops", identifier_type="name")
    client.add_team_member(team.id, username="bob@example.com", role="admin")
    members = {m["user"]["id"]: m["role"] for m in client.get_team(team.id)["members"]}
    assert members == {ada: "user", bob: "admin"}
    assert client.user_teams(bob) == [{"id": team.id, "name": "ops"}]

    client.remove_team_member(team.id, bob)
    client.remove_team_member("ops", "ada@example.com", team_identifier_type="name")
    assert client.get_team(team.id)["members"] == []

    client.update_team(team.id, {"name": "ops-eu", "description": "Europe"})
    assert [(t["name"], t["description"]) for t in client.list_teams()] == [("ops-eu", "Europe")]
    assert "members" not in client.list_teams()[0]
    client.delete_team("ops-eu", identifier_type="name")
    with pytest.raises(NotFound):
        client.get_team(team.id)
    with pytest.raises(ValueError):
        client.add_team_member(team.id)


def test_roles(client: OpsGenieClient, sim: Any) -> None:
    made = sim.http.post(f"{sim.base_url}/__sim/roles", json={"name": "Responder", "extendedRole": "user"})
    assert made.status_code == 201, made.text
    roles = client.list_roles()
    assert [r["name"] for r in roles] == ["Responder"]
    role_id = roles[0]["id"]
    assert client.get_role(role_id)["extendedRole"] == "user"
    assert client.get_role("Responder", identifier_type="name")["id"] == role_id


def test_contacts(client: OpsGenieClient) -> None:
    user_id = client.create_user(ADA).id
    sms = client.create_contact(user_id, "sms", "1-5551234")
    assert sms.id
    client.update_contact(user_id, sms.id, "1-5550000")
    listed = {c["id"]: c for c in client.list_contacts("ada@example.com")}
    assert listed[sms.id]["to"] == "1-5550000" and listed[sms.id]["method"] == "sms"
    assert listed[sms.id]["status"]["enabled"] is True
    client.delete_contact(user_id, sms.id)
    assert sms.id not in {c["id"] for c in client.list_contacts(user_id)}


def test_request_limits(client: OpsGenieClient, sim: Any) -> None:
    sim.configure(rate_limits={"configuration": "7/70", "search": "3/30"})
    assert client.request_limits() == {
        "configuration": (RateLimit(70, 60.0), RateLimit(7, 1.0)),
        "search": (RateLimit(30, 60.0), RateLimit(3, 1.0)),
    }


def test_call_records_describe_every_attempt(
    client: OpsGenieClient, sim: Any, records: list[CallRecord]
) -> None:
    user_id = client.create_user(ADA).id
    with pytest.raises(NotFound):
        client.get_user("nobody@example.com")
    logged = sim.calls()
    assert [(r.method, r.path, r.status, r.attempt, r.domain) for r in records] == [
        ("POST", "/v2/users", 201, 1, "configuration"),
        ("GET", "/v2/users/nobody@example.com", 404, 1, "configuration"),
    ]
    assert [r.request_id for r in records] == [c["requestId"] for c in logged]
    assert records[0].error is None and records[1].error is not None and "NotFound" in records[1].error
    assert all(r.duration >= 0 for r in records)
    assert user_id


def test_wrong_key_is_a_clear_error_and_never_leaks(make_client: Any, records: list[CallRecord]) -> None:
    client = make_client(api_key="not-the-key")
    with pytest.raises(AuthenticationFailed) as caught:
        client.list_teams()
    error = caught.value
    assert error.status == 401
    assert "authenticate" in str(error).lower()
    assert len(records) == 1  # a 401 is not retried
    everything = repr(records) + repr(error.__dict__) + repr(client)
    assert "not-the-key" not in everything


def test_key_without_rights_is_permission_denied(make_client: Any, sim: Any) -> None:
    sim.configure(
        api_keys={
            "sim-key": ["read", "create_update", "delete", "configuration"],
            "read-only": ["read", "configuration"],
        }
    )
    client = make_client(api_key="read-only")
    assert client.list_teams() == []
    with pytest.raises(PermissionDenied) as caught:
        client.create_team({"name": "ops"})
    assert caught.value.status == 403


def test_conflict_and_validation_errors_carry_the_evidence(client: OpsGenieClient) -> None:
    client.create_user(ADA)
    with pytest.raises(Conflict) as conflict:
        client.create_user(ADA)
    assert conflict.value.status == 409
    with pytest.raises(Unprocessable) as invalid:
        client.create_user({"username": "not-an-email", "fullName": "X", "role": {"name": "User"}})
    assert invalid.value.errors and "username" in invalid.value.errors
    assert "X-Request-ID" in invalid.value.headers or "x-request-id" in invalid.value.headers


def test_usernames_with_plus_are_quoted_in_paths(client: OpsGenieClient) -> None:
    user_id = client.create_user({**ADA, "username": "ada+ops@example.com"}).id
    assert client.get_user("ada+ops@example.com")["id"] == user_id
