"""OpsGenieDirectory over HTTP against the simulator: mapping, safe creates, errors."""

from __future__ import annotations

from typing import Any

import pytest
from sim_http import ada

from scim_bridge.directory import errors as d
from scim_bridge.directory.base import Directory
from scim_bridge.directory.models import DirectoryRole
from scim_bridge.directory.models import TeamMember
from scim_bridge.directory.models import TeamRef
from scim_bridge.directory.models import UserFields
from scim_bridge.directory.opsgenie import OpsGenieDirectory
from scim_bridge.opsgenie import CallRecord
from scim_bridge.opsgenie import OpsGenieClient
from scim_bridge.opsgenie import RateLimit
from scim_bridge.opsgenie import RollingWindowBudget

ADA = ada("Admin")


def created_users(sim: Any, username: str) -> int:
    state = sim.http.get(f"{sim.base_url}/__sim/state").json()
    return sum(1 for u in state["users"] if u["username"] == username)


def test_is_a_directory(client: OpsGenieClient) -> None:
    directory: Directory = OpsGenieDirectory(client)
    assert directory is not None


def test_create_user_sends_opsgenie_spellings(directory: OpsGenieDirectory, sim: Any) -> None:
    user_id = directory.create_user(ADA)
    sent = sim.calls_to("POST", "/v2/users")[0]["body"]
    assert sent == {
        "username": "ada@example.com",
        "fullName": "Ada Lovelace",
        "role": {"name": "Admin"},
        "timeZone": "Europe/London",
        "locale": "en_GB",
        "userAddress": {"country": "UK", "state": "", "city": "London", "line": "1 Main St", "zipCode": "N1"},
        "tags": ["math"],
        "details": {"dept": ["R&D"]},
        "invitationDisabled": True,
    }
    user = directory.get_user("ADA@example.com")
    assert user.id == user_id
    assert (user.username, user.full_name, user.role, user.time_zone) == (
        "ada@example.com",
        "Ada Lovelace",
        "Admin",
        "Europe/London",
    )
    assert user.address == ADA.address
    assert user.tags == ("math",) and user.details == {"dept": ["R&D"]}
    assert user.role_id


def test_get_user_with_and_without_contacts(directory: OpsGenieDirectory, sim: Any) -> None:
    user_id = directory.create_user(ADA)
    sms = directory.create_contact(user_id, "sms", "1-5551234")
    sim.http.delete(f"{sim.base_url}/__sim/calls")
    with_contacts = directory.get_user(user_id)
    assert with_contacts.contacts is not None
    assert {(c.method, c.to) for c in with_contacts.contacts} == {
        ("email", "ada@example.com"),
        ("sms", "1-5551234"),
    }
    assert sms in with_contacts.contacts
    calls = sim.calls()
    assert len(calls) == 1 and calls[0]["query"] == {"expand": "contact"}
    assert directory.get_user(user_id, with_contacts=False).contacts is None


def test_contacts_update_and_delete(directory: OpsGenieDirectory) -> None:
    user_id = directory.create_user(ADA)
    voice = directory.create_contact(user_id, "voice", "1-5551234")
    directory.update_contact(user_id, voice.id, "1-5559999")
    assert ("voice", "1-5559999") in {(c.method, c.to) for c in directory.get_user(user_id).contacts or ()}
    directory.delete_contact(user_id, voice.id)
    assert voice.id not in {c.id for c in directory.get_user(user_id).contacts or ()}
    with pytest.raises(d.NotFoundError):
        directory.delete_contact(user_id, voice.id)


def test_update_user_is_partial(directory: OpsGenieDirectory, sim: Any) -> None:
    user_id = directory.create_user(ADA)
    directory.update_user(user_id, UserFields(full_name="Ada King", role="User"))
    assert sim.calls_to("PATCH", f"/v2/users/{user_id}")[0]["body"] == {
        "fullName": "Ada King",
        "role": {"name": "User"},
    }
    user = directory.get_user(user_id)
    assert (user.full_name, user.role, user.locale) == ("Ada King", "User", "en_GB")
    directory.update_user(user_id, UserFields())
    assert len(sim.calls_to("PATCH", f"/v2/users/{user_id}")) == 1


def test_iter_users(directory: OpsGenieDirectory, sim: Any) -> None:
    sim.bulk(users=120)
    users = list(directory.iter_users())
    assert len(users) == 120
    assert all(u.contacts is None and u.role == "User" for u in users)


def test_create_user_requires_the_basics(directory: OpsGenieDirectory, sim: Any) -> None:
    with pytest.raises(d.InvalidError):
        directory.create_user(UserFields(username="x@example.com"))
    assert sim.calls() == []


@pytest.mark.parametrize("status", [409, 422])
def test_duplicate_username_is_a_conflict(directory: OpsGenieDirectory, sim: Any, status: int) -> None:
    sim.configure(duplicate_user_status=status)
    directory.create_user(ADA)
    with pytest.raises(d.ConflictError):
        directory.create_user(ADA)


def test_invalid_user_is_invalid_with_field_errors(directory: OpsGenieDirectory) -> None:
    with pytest.raises(d.InvalidError) as caught:
        directory.create_user(UserFields(username="not-an-email", full_name="X", role="User"))
    assert "username" in caught.value.field_errors
    assert caught.value.status == 422


@pytest.mark.parametrize("action", ["after_write:503", "after_write:drop", "after_write:500"])
def test_lost_create_succeeds_without_a_duplicate(
    directory: OpsGenieDirectory, sim: Any, action: str
) -> None:
    sim.fault("POST", "/v2/users", action)
    user_id = directory.create_user(ADA)
    assert directory.get_user(user_id).username == "ada@example.com"
    assert len(sim.calls_to("POST", "/v2/users")) == 1
    assert created_users(sim, "ada@example.com") == 1


@pytest.mark.parametrize("action", ["503", "drop"])
def test_create_that_never_applied_is_repeated_after_a_look_up(
    directory: OpsGenieDirectory, sim: Any, action: str
) -> None:
    sim.fault("POST", "/v2/users", action)
    user_id = directory.create_user(ADA)
    assert user_id
    assert len(sim.calls_to("POST", "/v2/users")) == 2
    assert len(sim.calls_to("GET", "/v2/users/ada@example.com")) == 1
    assert created_users(sim, "ada@example.com") == 1


def test_create_keeps_failing_is_unavailable(directory: OpsGenieDirectory, sim: Any) -> None:
    sim.fault("POST", "/v2/users", "503", times=10)
    with pytest.raises(d.UnavailableError):
        directory.create_user(ADA)
    assert len(sim.calls_to("POST", "/v2/users")) == 3


def test_teams_round_trip(directory: OpsGenieDirectory) -> None:
    ada = directory.create_user(ADA)
    bob = directory.create_user(UserFields(username="bob@example.com", full_name="Bob", role="User"))
    team_id = directory.create_team("ops", "On call", [TeamMember(user_id=ada, role="admin")])
    team = directory.get_team(team_id)
    assert (team.name, team.description) == ("ops", "On call")
    assert team.members == (TeamMember(user_id=ada, username="ada@example.com", role="admin"),)
    assert directory.find_team("ops") == team
    assert directory.find_team("nope") is None

    directory.add_team_member(team_id, bob)
    directory.add_team_member(team_id, bob)  # already a member: success
    assert directory.user_teams(bob) == [TeamRef(id=team_id, name="ops")]
    directory.update_team(team_id, name="ops-eu", members=[TeamMember(user_id=bob)])
    team = directory.get_team(team_id)
    assert team.name == "ops-eu" and [m.user_id for m in team.members or ()] == [bob]
    listed = directory.list_teams()
    assert [(t.id, t.name, t.members) for t in listed] == [(team_id, "ops-eu", None)]

    directory.remove_team_member(team_id, bob)
    directory.remove_team_member(team_id, bob)  # not a member any more: success
    directory.delete_team(team_id)
    with pytest.raises(d.NotFoundError):
        directory.get_team(team_id)
    with pytest.raises(d.NotFoundError):
        directory.remove_team_member(team_id, bob)  # unknown team


def test_add_existing_member_answered_409_is_success(directory: OpsGenieDirectory, sim: Any) -> None:
    sim.configure(add_existing_member="409")
    ada = directory.create_user(ADA)
    team_id = directory.create_team("ops", "", [TeamMember(user_id=ada)])
    directory.add_team_member(team_id, ada)
    assert [c["status"] for c in sim.calls_to("POST", f"/v2/teams/{team_id}/members")] == [409]


def test_add_unknown_user_is_not_success(directory: OpsGenieDirectory) -> None:
    team_id = directory.create_team("ops", "", [])
    with pytest.raises((d.NotFoundError, d.InvalidError)):
        directory.add_team_member(team_id, "00000000-0000-0000-0000-000000000000")


@pytest.mark.parametrize("status", [409, 422])
def test_duplicate_team_is_a_conflict(directory: OpsGenieDirectory, sim: Any, status: int) -> None:
    sim.configure(duplicate_team_status=status)
    directory.create_team("ops", "", [])
    with pytest.raises(d.ConflictError):
        directory.create_team("ops", "", [])


def test_lost_team_create_succeeds_without_a_duplicate(directory: OpsGenieDirectory, sim: Any) -> None:
    sim.fault("POST", "/v2/teams", "after_write:502")
    team_id = directory.create_team("ops", "", [])
    assert directory.get_team(team_id).name == "ops"
    assert len(sim.calls_to("POST", "/v2/teams")) == 1


def test_delete_user_removes_team_memberships_on_428(directory: OpsGenieDirectory, sim: Any) -> None:
    sim.configure(delete_referenced_user="428")
    ada = directory.create_user(ADA)
    directory.create_team("ops", "", [TeamMember(user_id=ada)])
    directory.create_team("dev", "", [TeamMember(user_id=ada)])
    directory.delete_user(ada)
    with pytest.raises(d.NotFoundError):
        directory.get_user(ada)
    assert [c["status"] for c in sim.calls_to("DELETE", f"/v2/users/{ada}")] == [428, 200]


def test_delete_user_still_referenced_after_five_attempts(directory: OpsGenieDirectory, sim: Any) -> None:
    ada = directory.create_user(ADA)
    sim.fault("DELETE", f"/v2/users/{ada}", "428", times=10)
    with pytest.raises(d.ReferencedError):
        directory.delete_user(ada)
    assert len(sim.calls_to("DELETE", f"/v2/users/{ada}")) == 5


def test_delete_unknown_user_is_not_found(directory: OpsGenieDirectory) -> None:
    with pytest.raises(d.NotFoundError):
        directory.delete_user("nobody@example.com")


def test_list_roles_adds_the_builtins(directory: OpsGenieDirectory, sim: Any) -> None:
    sim.http.post(f"{sim.base_url}/__sim/roles", json={"name": "Responder", "extendedRole": "stakeholder"})
    roles = directory.list_roles()
    assert [r.name for r in roles] == ["Owner", "Admin", "User", "Stakeholder", "Observer", "Responder"]
    assert roles[1] == DirectoryRole(id="", name="Admin", builtin=True)  # its id shows only on its holders
    assert roles[-1].builtin is False and roles[-1].extended_role == "stakeholder"
    assert len(sim.calls()) == 1


def test_list_roles_uses_real_builtin_ids_when_upstream_lists_them(
    directory: OpsGenieDirectory, sim: Any
) -> None:
    sim.configure(list_builtin_roles=True)
    roles = directory.list_roles()
    assert [r.name for r in roles] == ["Owner", "Admin", "User", "Stakeholder", "Observer"]
    assert all(r.builtin and r.id for r in roles)


def test_error_mapping(make_client: Any, sim: Any) -> None:
    with pytest.raises(d.AuthenticationError):
        OpsGenieDirectory(make_client(api_key="wrong")).list_teams()
    sim.configure(
        api_keys={
            "sim-key": ["read", "create_update", "delete", "configuration"],
            "reader": ["read", "configuration"],
        }
    )
    with pytest.raises(d.ForbiddenError):
        OpsGenieDirectory(make_client(api_key="reader")).create_team("ops", "", [])
    directory = OpsGenieDirectory(make_client())
    sim.fault("GET", "/v2/teams", "503", times=10)
    with pytest.raises(d.UnavailableError):
        directory.list_teams()
    sim.http.delete(f"{sim.base_url}/__sim/faults")
    sim.fault("GET", "/v2/teams", "429", times=10)
    with pytest.raises(d.ThrottledError) as throttled:
        directory.list_teams()
    assert throttled.value.retry_after > 0


def test_exhausted_budget_is_throttled(make_client: Any, records: list[CallRecord]) -> None:
    budget = RollingWindowBudget({"configuration": [RateLimit(1, 60.0)]})
    directory = OpsGenieDirectory(make_client(budget=budget))
    directory.list_teams()
    with pytest.raises(d.ThrottledError) as caught:
        directory.list_teams()
    assert 50 < caught.value.retry_after <= 61
    assert records[-1].status is None and records[-1].error is not None
    assert "BudgetExhausted" in records[-1].error


def test_lost_contact_create_succeeds_without_a_duplicate(directory: OpsGenieDirectory, sim: Any) -> None:
    user_id = directory.create_user(ADA)
    path = f"/v2/users/{user_id}/contacts"
    sim.fault("POST", path, "after_write:drop")
    sms = directory.create_contact(user_id, "sms", "1-5551234")
    contacts = directory.get_user(user_id).contacts or ()
    assert [c.id for c in contacts if c.method == "sms"] == [sms.id]
    assert len(sim.calls_to("POST", path)) == 1
