"""AtlassianClient over HTTP against the Atlassian simulator: auth per family, error bodies, paging,
retries (429 with and without Retry-After, 5xx), member batches and the enable-ops window."""

from __future__ import annotations

import pytest
from atlassian_sim import CALLER
from atlassian_sim import AtlassianSim
from atlassian_sim import SimSleep
from atlassian_sim import make_client

from scim_bridge.atlassian import AtlassianClient
from scim_bridge.atlassian import AuthenticationFailed
from scim_bridge.atlassian import BadRequest
from scim_bridge.atlassian import NotFound
from scim_bridge.atlassian import RateLimited
from scim_bridge.atlassian import ServerError
from scim_bridge.atlassian import Unprocessable
from scim_bridge.opsgenie.records import CallRecord

TEAMS = "/gateway/api/public/teams/v1/org/sim-org/teams"


def emails(n: int, prefix: str = "p") -> list[str]:
    return [f"{prefix}{i:03d}@example.com" for i in range(n)]


def seed_accounts(asim: AtlassianSim, n: int) -> list[str]:
    made = asim.seed(accounts=[{"email": e} for e in emails(n)])
    assert made is not None
    return [asim.account(e)["accountId"] for e in emails(n)]


def test_each_family_takes_its_own_credentials(asim: AtlassianSim, sleeps: SimSleep,
                                               records: list[CallRecord]) -> None:
    wrong_key = make_client(asim, sleeps, records, admin_api_key="not-the-key")
    assert wrong_key.get_team  # Basic families still work with a wrong organization key
    assert list(wrong_key.iter_teams()) == []
    with pytest.raises(AuthenticationFailed) as caught:
        wrong_key.find_account("nobody@example.com")
    assert caught.value.family == "admin" and caught.value.status == 401
    wrong_token = make_client(asim, sleeps, records, api_token="not-the-token")
    assert wrong_token.find_account("sim-admin@example.com") is not None  # Bearer still works
    for call in (lambda: list(wrong_token.iter_teams()), lambda: wrong_token.jira_user(CALLER),
                 lambda: wrong_token.list_custom_roles()):
        with pytest.raises(AuthenticationFailed):
            call()
    assert not any(r.attempt > 1 for r in records)  # 401 is never retried


def test_errors_are_read_from_each_family_body(client: AtlassianClient) -> None:
    with pytest.raises(NotFound) as teams:
        client.get_team("no-such-team")
    assert teams.value.family == "teams" and "Atlassian Teams answered HTTP 404" in teams.value.message
    with pytest.raises(BadRequest) as admin:
        client.assign_role(CALLER, "atlassian/not-a-role")
    assert admin.value.code == "ADMIN-UAM-400-1" and "Invalid Role" in admin.value.message
    with pytest.raises(NotFound) as jira:
        client.jira_user("712020:missing")
    assert "Specified user does not exist" in jira.value.message
    with pytest.raises(NotFound) as ops:
        client.assign_custom_role(CALLER, "Nope")
    assert ops.value.family == "ops" and ops.value.code == "ROLE_NOT_FOUND"


def test_jsm_errors_in_the_object_shape(asim: AtlassianSim, client: AtlassianClient) -> None:
    asim.configure(jsm_error_shape="object")
    with pytest.raises(NotFound) as caught:
        client.assign_custom_role(CALLER, "Nope")
    assert caught.value.code == "ROLE_NOT_FOUND" and "Custom user role Nope not found" in caught.value.message


def test_429_waits_for_retry_after(asim: AtlassianSim, sleeps: SimSleep, records: list[CallRecord]) -> None:
    client = make_client(asim, sleeps, records, retry={"total_budget": 60.0})
    asim.configure(rate_limit=2, rate_window_s=30)
    for _ in range(3):
        client.jira_user(CALLER)
    throttled = [r for r in records if r.status == 429]
    assert len(throttled) == 1 and throttled[0].domain == "jira"
    assert sleeps.waits == [30.0]  # Retry-After from the simulator's window, not the back-off
    assert [r.status for r in records][-1] == 200


def test_429_beyond_the_time_budget_is_raised(asim: AtlassianSim, client: AtlassianClient, sleeps: SimSleep) -> None:
    asim.configure(rate_limit=1, rate_window_s=30)
    client.jira_user(CALLER)
    with pytest.raises(RateLimited) as caught:
        client.jira_user(CALLER)
    assert caught.value.retry_after() == 30.0 and sleeps.waits == []  # 30 s would overrun the 5 s budget


def test_429_without_retry_after_backs_off_then_gives_up(asim: AtlassianSim, sleeps: SimSleep,
                                                         records: list[CallRecord]) -> None:
    asim.fault("GET", "/rest/api/3/user", "429", times=10)
    client = make_client(asim, sleeps, records, retry={"max_attempts": 3})
    with pytest.raises(RateLimited):
        client.jira_user(CALLER)
    assert len(records) == 3 and len(sleeps.waits) == 2
    assert 0.005 <= sleeps.waits[0] <= 0.01 and 0.01 <= sleeps.waits[1] <= 0.02  # exponential, jittered


def test_5xx_retried_for_reads_never_for_a_create(asim: AtlassianSim, client: AtlassianClient) -> None:
    asim.fault("GET", TEAMS, "503", times=2)
    assert list(client.iter_teams()) == []
    asim.fault("POST", TEAMS, "500")
    with pytest.raises(ServerError):
        client.create_team("SRE", "")
    assert len(asim.calls_to("POST", "/teams")) == 1
    assert asim.state()["teams"] == []


def test_paging_of_teams_and_directory(asim: AtlassianSim, client: AtlassianClient) -> None:
    seed_accounts(asim, 150)
    asim.seed(teams=[{"displayName": f"T{i:03d}"} for i in range(305)])
    assert len([a for a in client.iter_directory_users() if a["email"].startswith("p")]) == 150
    assert len(asim.calls_to("GET", "/directories/-/users")) == 2
    assert sorted(t["displayName"] for t in client.iter_teams()) == [f"T{i:03d}" for i in range(305)]
    assert len(asim.calls_to("GET", "/teams")) == 2
    assert client.find_account("P149@EXAMPLE.COM")["email"] == "p149@example.com"  # type: ignore[index]
    assert client.find_account("p1@example.com") is None  # a prefix of others is no match
    found = [u["emailAddress"] for u in client.jira_search("p")]
    assert len(found) == 150 and len(asim.calls_to("GET", "/user/search")) == 2  # pages of 100


def test_members_in_batches_of_50_with_per_member_errors(asim: AtlassianSim, client: AtlassianClient) -> None:
    accounts = seed_accounts(asim, 120)
    team = client.create_team("Big", "")
    failures = client.add_members(team["teamId"], [*accounts, "712020:ghost"])
    assert list(failures) == ["712020:ghost"] and failures["712020:ghost"].code == "USER_NOT_FOUND"
    adds = asim.calls_to("POST", "/members/add")
    assert [len(c["body"]["members"]) for c in adds] == [50, 50, 21]
    assert sorted(client.team_members(team["teamId"])) == sorted([CALLER, *accounts])
    assert len(asim.calls_to("POST", f"{team['teamId']}/members")) == 3  # 121 members, pages of 50
    again = client.remove_members(team["teamId"], [accounts[0], accounts[0], "712020:ghost"])
    assert {a: f.code for a, f in again.items()} == {"712020:ghost": "USER_NOT_FOUND"}


def test_a_lost_member_batch_answer_is_not_repeated_blindly(asim: AtlassianSim, client: AtlassianClient) -> None:
    accounts = seed_accounts(asim, 3)
    team = client.create_team("SRE", "")
    asim.fault("POST", f"{TEAMS}/{team['teamId']}/members/add", "after_write:500")
    assert client.add_members(team["teamId"], accounts) == {}  # no ALREADY_A_MEMBER for its own first send
    assert len(asim.calls_to("POST", "/members/add")) == 1  # the re-read found every member: nothing resent
    assert sorted(asim.team(team["teamId"])["members"]) == sorted([CALLER, *accounts])


def test_enable_ops_waits_out_the_window_after_creation(asim: AtlassianSim, sleeps: SimSleep,
                                                        records: list[CallRecord]) -> None:
    client = make_client(asim, sleeps, records, retry={"base_delay": 1.0, "max_delay": 8.0})
    asim.freeze()
    asim.configure(enable_ops_delay_ms=5000, enable_ops_transient_status=422)
    team = client.create_team("SRE", "")
    assert client.enable_ops(team["teamId"], [CALLER]) is True
    assert asim.team(team["teamId"])["opsEnabled"] is True
    assert 5.0 <= sum(sleeps.waits) < 30.0
    assert client.enable_ops(team["teamId"], [CALLER]) is False  # already enabled: 409


def test_enable_ops_gives_up_after_the_window(asim: AtlassianSim, sleeps: SimSleep,
                                              records: list[CallRecord]) -> None:
    client = make_client(asim, sleeps, records, retry={"base_delay": 1.0, "max_delay": 8.0})
    asim.freeze()
    asim.configure(enable_ops_delay_ms=120_000, enable_ops_transient_status=403)
    team = client.create_team("SRE", "")
    with pytest.raises(Exception) as caught:
        client.enable_ops(team["teamId"], [CALLER])
    assert getattr(caught.value, "status", None) == 403
    assert 20.0 < sum(sleeps.waits) <= client.retry.enable_ops_window  # about 30 s of trying, then the error


def test_enable_ops_validation_is_not_waited_on_forever(asim: AtlassianSim, sleeps: SimSleep,
                                                        records: list[CallRecord]) -> None:
    client = make_client(asim, sleeps, records, retry={"base_delay": 1.0, "max_delay": 8.0})
    team = client.create_team("SRE", "")
    with pytest.raises(Unprocessable):
        client.enable_ops(team["teamId"], ["712020:ghost"])  # unknown admin: 422 until the window closes
    assert len(asim.calls_to("POST", "/enable-ops")) < 10


def test_every_attempt_is_recorded_with_its_family(asim: AtlassianSim, client: AtlassianClient,
                                                   records: list[CallRecord]) -> None:
    asim.fault("GET", "/rest/api/3/user", "502")
    client.jira_user(CALLER)
    client.list_custom_roles()
    assert [(r.domain, r.method, r.status, r.attempt) for r in records] == [
        ("jira", "GET", 502, 1), ("jira", "GET", 200, 2), ("ops", "GET", 200, 1)]
    assert records[0].path == "/rest/api/3/user" and records[0].error and "ServerError" in records[0].error
