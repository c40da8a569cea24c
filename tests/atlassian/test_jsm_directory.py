"""JsmDirectory over HTTP against the Atlassian simulator: what only the JSM mapping does (invitation and
adoption, product roles, suspension and deletion scopes, team creation with operations, batches, undo)."""

from __future__ import annotations

import pytest
from atlassian_sim import CALLER
from atlassian_sim import AtlassianSim
from atlassian_sim import SimSleep
from atlassian_sim import make_client
from atlassian_sim import make_directory

from scim_bridge.atlassian import AtlassianClient
from scim_bridge.config import JSM_SUSPENDED_ROLE
from scim_bridge.directory import errors as d
from scim_bridge.directory.jsm import JsmDirectory
from scim_bridge.directory.links import MemoryLinkStore
from scim_bridge.directory.links import UserLink
from scim_bridge.directory.models import TeamMember
from scim_bridge.directory.models import UserFields
from scim_bridge.opsgenie.records import CallRecord

JSM = "ari:cloud:jira-servicedesk::site/sim-site"
CONFLUENCE = "ari:cloud:confluence::site/sim-site"


def person(name: str, role: str = "User") -> UserFields:
    return UserFields(username=f"{name}@example.com", full_name=name.title(), role=role, invitation_disabled=True)


def roles(asim: AtlassianSim, email: str) -> set[tuple[str, str]]:
    return {(r["role"], r["resource"]) for r in asim.account(email)["productRoles"]}


def test_create_invites_with_jsm_access_and_links_the_account(asim: AtlassianSim, jsm: JsmDirectory,
                                                              links: MemoryLinkStore) -> None:
    user_id = jsm.create_user(person("ada"))
    invite = asim.calls_to("POST", "/users/invite")[0]["body"]
    assert invite["permissionRules"] == [{"role": "atlassian/user", "resource": JSM}]
    assert invite["emails"] == ["ada@example.com"] and invite["sendNotification"] is False
    account = asim.account("ada@example.com")
    assert user_id == account["accountId"] and roles(asim, "ada@example.com") == {("atlassian/user", JSM)}
    link = links.user_by_local(user_id)
    assert link is not None and link.profile["full_name"] == "Ada" and link.profile["role"] == "User"


def test_an_existing_account_is_adopted_and_given_jsm_access(asim: AtlassianSim, jsm: JsmDirectory) -> None:
    asim.seed(accounts=[{"email": "grace@example.com", "name": "Grace Hopper",
                         "productRoles": [{"role": "atlassian/user", "resource": CONFLUENCE}]}])
    user_id = jsm.create_user(person("Grace"))
    assert asim.calls_to("POST", "/users/invite") == []
    assert user_id == asim.account("grace@example.com")["accountId"]
    assert roles(asim, "grace@example.com") == {("atlassian/user", CONFLUENCE), ("atlassian/user", JSM)}
    with pytest.raises(d.ConflictError):
        jsm.create_user(person("grace"))


def test_a_lost_invite_answer_is_followed_by_a_search_not_a_second_invite(asim: AtlassianSim,
                                                                          jsm: JsmDirectory) -> None:
    asim.fault("POST", ".*/users/invite", "after_write:502")
    user_id = jsm.create_user(person("ada"))
    assert len(asim.calls_to("POST", "/users/invite")) == 1
    assert jsm.get_user(user_id).username == "ada@example.com"


def test_stakeholder_and_custom_roles(asim: AtlassianSim, jsm: JsmDirectory) -> None:
    asim.seed(customRoles=[{"name": "Incident Commander"}])
    assert [(r.name, r.builtin) for r in jsm.list_roles()][-1] == ("Incident Commander", False)
    user_id = jsm.create_user(person("ada", "Incident Commander"))
    assert asim.account("ada@example.com")["customRole"] == "Incident Commander"
    assert roles(asim, "ada@example.com") == {("atlassian/user", JSM)}
    jsm.update_user(user_id, UserFields(role="Stakeholder"))
    assert roles(asim, "ada@example.com") == {("atlassian/stakeholder", JSM)}
    assert asim.account("ada@example.com")["customRole"] is None
    jsm.update_user(user_id, UserFields(role="User"))
    assert roles(asim, "ada@example.com") == {("atlassian/user", JSM)}
    assert jsm.get_user(user_id).role == "User"


def test_admin_and_owner_cannot_be_written(asim: AtlassianSim, jsm: JsmDirectory) -> None:
    with pytest.raises(d.ReadOnlyError) as caught:
        jsm.create_user(person("ada", "Admin"))
    assert "Operations global admin" in caught.value.message
    user_id = jsm.create_user(person("ada"))
    before = asim.state()
    for role in ("Admin", "Owner"):
        with pytest.raises(d.ReadOnlyError):
            jsm.update_user(user_id, UserFields(role=role))
    assert asim.state() == before and jsm.get_user(user_id).role == "User"


def test_suspension_takes_the_product_role_and_gives_back_exactly_it(asim: AtlassianSim, jsm: JsmDirectory) -> None:
    asim.seed(accounts=[{"email": "ada@example.com", "productRoles": [{"role": "atlassian/user",
                                                                       "resource": CONFLUENCE}]}])
    user_id = jsm.create_user(person("ada", "Stakeholder"))
    jsm.update_user(user_id, UserFields(role=JSM_SUSPENDED_ROLE))
    assert roles(asim, "ada@example.com") == {("atlassian/user", CONFLUENCE)}  # other products untouched
    assert asim.account("ada@example.com")["status"] == "active"
    assert jsm.get_user(user_id).role == JSM_SUSPENDED_ROLE
    jsm.update_user(user_id, UserFields(role="Stakeholder"))
    assert roles(asim, "ada@example.com") == {("atlassian/user", CONFLUENCE), ("atlassian/stakeholder", JSM)}


def test_suspension_of_an_adopted_account_revokes_every_jsm_role(asim: AtlassianSim, jsm: JsmDirectory) -> None:
    asim.seed(accounts=[{"email": "ada@example.com", "productRoles": [
        {"role": "atlassian/user", "resource": JSM}, {"role": "atlassian/stakeholder", "resource": JSM}]}])
    user_id = jsm.create_user(person("ada", "Stakeholder"))
    jsm.update_user(user_id, UserFields(role=JSM_SUSPENDED_ROLE))
    assert roles(asim, "ada@example.com") == set()  # no on-call access left, whatever it held before
    jsm.update_user(user_id, UserFields(role="Stakeholder"))
    assert roles(asim, "ada@example.com") == {("atlassian/stakeholder", JSM)}


def test_a_suspended_admin_gets_back_its_access(asim: AtlassianSim, jsm: JsmDirectory,
                                                links: MemoryLinkStore) -> None:
    asim.seed(accounts=[{"email": "root@example.com"}])
    account_id = asim.account("root@example.com")["accountId"]
    links.save_user(UserLink("og-1", account_id, "root@example.com", {"role": "Admin", "full_name": "Root"}))
    jsm.update_user("og-1", UserFields(role=JSM_SUSPENDED_ROLE))
    assert roles(asim, "root@example.com") == set()
    jsm.update_user("og-1", UserFields(role="Admin"))  # the role held before: given back, not a new grant
    assert roles(asim, "root@example.com") == {("atlassian/user", JSM)} and jsm.get_user("og-1").role == "Admin"


def test_account_scope_suspends_restores_and_removes_the_account(asim: AtlassianSim, client: AtlassianClient) -> None:
    jsm = make_directory(client, account_scope="account")
    user_id = jsm.create_user(person("ada"))
    jsm.update_user(user_id, UserFields(role=JSM_SUSPENDED_ROLE))
    assert asim.account("ada@example.com")["status"] == "suspended"
    assert roles(asim, "ada@example.com") == {("atlassian/user", JSM)}  # kept by Atlassian for the restore
    jsm.update_user(user_id, UserFields(role="User"))
    assert asim.account("ada@example.com")["status"] == "active"
    jsm.delete_user(user_id)
    assert asim.account("ada@example.com")["status"] == "removed"
    with pytest.raises(d.NotFoundError):
        jsm.get_user(user_id)


def test_delete_revokes_jsm_access_leaves_the_teams_and_forgets(asim: AtlassianSim, jsm: JsmDirectory,
                                                                links: MemoryLinkStore) -> None:
    asim.seed(accounts=[{"email": "ada@example.com", "productRoles": [{"role": "atlassian/user",
                                                                       "resource": CONFLUENCE}]}])
    ada, alan = jsm.create_user(person("ada")), jsm.create_user(person("alan"))
    team_id = jsm.create_team("SRE", "", [TeamMember(ada), TeamMember(alan)])
    upstream_team = links.team_by_local(team_id)
    assert upstream_team is not None
    jsm.delete_user(ada)
    account = asim.account("ada@example.com")
    assert account["status"] == "active" and roles(asim, "ada@example.com") == {("atlassian/user", CONFLUENCE)}
    assert asim.team(upstream_team.team_id)["members"] == [asim.account("alan@example.com")["accountId"]]
    assert links.user_by_local(ada) is None


def test_team_create_enables_operations_and_removes_the_calling_account(asim: AtlassianSim, jsm: JsmDirectory,
                                                                        links: MemoryLinkStore) -> None:
    ada = jsm.create_user(person("ada"))
    team_id = jsm.create_team("SRE", "on call", [TeamMember(ada)])
    link = links.team_by_local(team_id)
    assert link is not None and team_id == "team-0"
    team = asim.team(link.team_id)
    assert team["opsEnabled"] is True and team["members"] == [ada]
    enable = asim.calls_to("POST", "/enable-ops")[0]["body"]
    assert enable["adminAccountIds"] == [CALLER] and enable["platformTeamId"] == link.team_id
    created = asim.calls_to("POST", "/teams")[0]["body"]
    assert created["teamType"] == "MEMBER_INVITE" and created["siteId"] == "sim-site"


def test_the_calling_account_stays_when_it_is_a_requested_member(asim: AtlassianSim, jsm: JsmDirectory,
                                                                 links: MemoryLinkStore) -> None:
    me = jsm.create_user(UserFields(username="sim-admin@example.com", full_name="Sim Admin", role="User"))
    assert me == CALLER
    team_id = jsm.create_team("SRE", "", [TeamMember(me)])
    link = links.team_by_local(team_id)
    assert link is not None and asim.team(link.team_id)["members"] == [CALLER]
    assert asim.calls_to("POST", "/members/remove") == []


def link_people(asim: AtlassianSim, links: MemoryLinkStore, count: int) -> list[str]:
    """``count`` accounts seeded as Atlassian's migration leaves them, linked under their own ids."""
    emails = [f"p{i:03d}@example.com" for i in range(count)]
    asim.seed(accounts=[{"email": e} for e in emails])
    ids = []
    for email in emails:
        account_id = asim.account(email)["accountId"]
        links.save_user(UserLink(account_id, account_id, email, {"role": "User"}))
        ids.append(account_id)
    return ids


def test_more_than_50_members_go_in_batches(asim: AtlassianSim, jsm: JsmDirectory, links: MemoryLinkStore) -> None:
    people = link_people(asim, links, 120)
    team_id = jsm.create_team("Big", "", [TeamMember(p) for p in people])
    link = links.team_by_local(team_id)
    assert link is not None and sorted(asim.team(link.team_id)["members"]) == sorted(people)
    assert [len(c["body"]["members"]) for c in asim.calls_to("POST", "/members/add")] == [50, 50, 20]
    asim.http.delete(f"{asim.base_url}/__sim/calls")
    jsm.update_team(team_id, members=[TeamMember(p) for p in people[:60]])
    assert [len(c["body"]["members"]) for c in asim.calls_to("POST", "/members/remove")] == [50, 10]
    assert sorted(m.user_id for m in jsm.get_team(team_id).members or ()) == sorted(people[:60])


def test_a_partial_member_failure_is_undone(asim: AtlassianSim, jsm: JsmDirectory, links: MemoryLinkStore) -> None:
    people = link_people(asim, links, 80)
    links.save_user(UserLink("ghost", "712020:ghost", "ghost@example.com", {"role": "User"}))
    team_id = jsm.create_team("SRE", "", [TeamMember(p) for p in people[:10]])
    link = links.team_by_local(team_id)
    assert link is not None
    with pytest.raises(d.InvalidError) as caught:
        jsm.update_team(team_id, name="Renamed", members=[TeamMember(p) for p in [*people, "ghost"]])
    assert "ghost (USER_NOT_FOUND" in caught.value.message and "nothing was changed" in caught.value.message
    team = asim.team(link.team_id)
    assert sorted(team["members"]) == sorted(people[:10]) and team["displayName"] == "SRE"
    with pytest.raises(d.InvalidError):
        jsm.create_team("Doomed", "", [TeamMember(people[0]), TeamMember("ghost")])
    assert [t["deleted"] for t in asim.state()["teams"] if t["displayName"] == "Doomed"] == [True]
    assert [t.name for t in jsm.list_teams()] == ["SRE"]


def test_a_failed_batch_is_undone(asim: AtlassianSim, jsm: JsmDirectory, links: MemoryLinkStore) -> None:
    people = link_people(asim, links, 70)
    team_id = jsm.create_team("SRE", "", [])
    link = links.team_by_local(team_id)
    assert link is not None
    adds = f".*/teams/{link.team_id}/members/add"
    asim.fault("POST", adds, "delay:1", times=1)  # the first batch goes through
    asim.fault("POST", adds, "503", times=50)  # the second never does
    with pytest.raises(d.UnavailableError):
        jsm.update_team(team_id, members=[TeamMember(p) for p in people])
    assert len(asim.calls_to("POST", "/members/add")) == 6  # batch 1, then batch 2 five times (re-read between)
    assert asim.team(link.team_id)["members"] == []  # batch 1 taken back


def test_enable_ops_delay_is_waited_out(asim: AtlassianSim, sleeps: SimSleep, records: list[CallRecord]) -> None:
    jsm = make_directory(make_client(asim, sleeps, records, retry={"base_delay": 1.0, "max_delay": 8.0}))
    asim.freeze()
    asim.configure(enable_ops_delay_ms=6000, enable_ops_transient_status=404)
    team_id = jsm.create_team("SRE", "", [])
    assert jsm.get_team(team_id).name == "SRE"
    assert [t["opsEnabled"] for t in asim.state()["teams"]] == [True]
    assert sum(sleeps.waits) >= 6.0


def test_a_team_whose_operations_never_come_is_deleted(asim: AtlassianSim, sleeps: SimSleep,
                                                       records: list[CallRecord]) -> None:
    jsm = make_directory(make_client(asim, sleeps, records, retry={"base_delay": 1.0, "max_delay": 8.0}))
    asim.freeze()
    asim.configure(enable_ops_delay_ms=300_000)
    with pytest.raises(d.UnavailableError) as caught:
        jsm.create_team("SRE", "", [])
    assert "operations could not be enabled" in caught.value.message
    assert [t["deleted"] for t in asim.state()["teams"]] == [True]


def test_a_lost_team_create_answer_is_not_sent_twice(asim: AtlassianSim, jsm: JsmDirectory) -> None:
    asim.fault("POST", ".*/org/sim-org/teams", "after_write:503")
    team_id = jsm.create_team("SRE", "pager", [])
    assert len(asim.calls_to("POST", "/teams")) == 1
    assert [(t["displayName"], t["opsEnabled"]) for t in asim.state()["teams"]] == [("SRE", True)]
    assert jsm.get_team(team_id).members == ()


def test_throttling_beyond_the_budget_is_a_throttled_error(asim: AtlassianSim, jsm: JsmDirectory) -> None:
    asim.configure(rate_limit=1, rate_window_s=60)
    jsm.list_roles()
    with pytest.raises(d.ThrottledError) as caught:
        jsm.list_roles()
    assert caught.value.retry_after == 60.0


def test_user_teams_reads_each_linked_team_once(asim: AtlassianSim, jsm: JsmDirectory) -> None:
    ada = jsm.create_user(person("ada"))
    first = jsm.create_team("A", "", [TeamMember(ada)])
    jsm.create_team("B", "", [])
    asim.http.delete(f"{asim.base_url}/__sim/calls")
    assert [t.id for t in jsm.user_teams(ada)] == [first]
    assert len(asim.calls()) == 2


@pytest.mark.parametrize("knobs", [
    {"require_site_id": True}, {"member_add_existing": "ok"}, {"invite_returns_account_id": False},
    {"jira_hide_email": True}, {"duplicate_team_names": "reject"}, {"jsm_error_shape": "object"},
], ids=lambda k: next(iter(k)))
def test_unconfirmed_points_either_way(asim: AtlassianSim, jsm: JsmDirectory, knobs: dict[str, object]) -> None:
    asim.configure(**knobs)
    ada = jsm.create_user(person("ada"))
    assert jsm.get_user(ada).username == "ada@example.com"
    team_id = jsm.create_team("SRE", "", [TeamMember(ada)])
    jsm.add_team_member(team_id, ada)
    assert [t.id for t in jsm.list_teams()] == [team_id] and [t.id for t in jsm.user_teams(ada)] == [team_id]
    assert jsm.remove_team_member(team_id, ada) is True and jsm.remove_team_member(team_id, ada) is False


def test_a_failed_role_change_changes_nothing(asim: AtlassianSim, jsm: JsmDirectory) -> None:
    ada = jsm.create_user(person("ada", "Stakeholder"))
    with pytest.raises(d.NotFoundError):
        jsm.update_user(ada, UserFields(role="Nope"))  # a custom role JSM Operations does not have
    assert roles(asim, "ada@example.com") == {("atlassian/stakeholder", JSM)}
    assert jsm.get_user(ada).role == "Stakeholder"
