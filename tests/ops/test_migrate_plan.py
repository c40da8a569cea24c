"""The migration's matching rules on cases the Atlassian simulator cannot produce (one e-mail on two accounts,
as when two directories of an organization hold it). The end-to-end runs are in tests/idp/test_migration.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scim_bridge.directory.links import TeamLink
from scim_bridge.directory.links import UserLink
from scim_bridge.ops.migrate import AMBIGUOUS
from scim_bridge.ops.migrate import MATCHED
from scim_bridge.ops.migrate import UNMATCHED
from scim_bridge.ops.migrate import plan
from scim_bridge.ops.migrate import render
from scim_bridge.store import GroupRecord
from scim_bridge.store import Store
from scim_bridge.store import UserRecord
from scim_bridge.store.links import SqlLinkStore


class Directory:
    """Atlassian's answers, as lists: what the organization directory holds for each search term, and the teams."""

    def __init__(self, accounts: list[dict[str, Any]], teams: list[dict[str, Any]], ops: list[str]) -> None:
        self.accounts, self.teams, self.ops = accounts, teams, ops

    def search_directory_users(self, term: str) -> Iterator[dict[str, Any]]:
        return iter([a for a in self.accounts if term in a["email"].lower()])

    def iter_teams(self) -> Iterator[dict[str, Any]]:
        return iter(self.teams)

    def iter_ops_teams(self) -> Iterator[dict[str, Any]]:
        return iter([{"teamId": t} for t in self.ops])

    def list_custom_roles(self) -> list[dict[str, Any]]:
        return []

    def team_members(self, team_id: str) -> list[str]:
        return []


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store.from_url(f"sqlite:///{tmp_path / 'store.db'}")
    store.upgrade()
    store.upsert_user(UserRecord("og-ann", "Ann@Example.com", upstream={"id": "og-ann", "username": "ann@example.com",
                                                                      "full_name": "Ann", "role": "User",
                                                                      "locale": "fr_FR", "contacts": None}))
    store.upsert_user(UserRecord("og-bob", "bob@example.com", upstream={"id": "og-bob", "role": "Stakeholder"}))
    store.upsert_group(GroupRecord("og-sre", "team", "SRE"))
    yield store
    store.close()


def test_one_email_on_two_accounts_is_ambiguous_and_never_linked(store: Store) -> None:
    atlassian = Directory(
        accounts=[{"accountId": "a1", "email": "ann@example.com"}, {"accountId": "a2", "email": "ANN@example.com"},
                  {"accountId": "b1", "email": "bob@example.com", "accountStatus": "closed"},
                  {"accountId": "b2", "email": "bob@example.com.au"}],
        teams=[{"teamId": "t1", "displayName": "sre"}], ops=["t1"])
    links = SqlLinkStore(store)
    report = plan(store, atlassian, links, apply=True)
    by_name = {f.name: f for f in report.findings}
    assert (by_name["ann@example.com"].outcome, by_name["ann@example.com"].detail) == (AMBIGUOUS, "accounts a1, a2")
    assert by_name["bob@example.com"].outcome == UNMATCHED  # closed, or another address that starts alike
    assert (by_name["SRE"].outcome, by_name["SRE"].upstream_id) == (MATCHED, "t1")
    assert list(links.iter_user_links()) == []
    assert list(links.iter_team_links()) == [TeamLink("og-sre", "t1", "SRE")]
    assert "ambiguous: user ann@example.com (og-ann): accounts a1, a2" in render(report, "text")


def test_profile_and_links_held_elsewhere(store: Store) -> None:
    atlassian = Directory(accounts=[{"accountId": "a1", "email": "ann@example.com"},
                                    {"accountId": "b1", "email": "bob@example.com"}],
                          teams=[{"teamId": "t1", "displayName": "SRE"}], ops=["t1"])
    links = SqlLinkStore(store)
    links.save_user(UserLink("made-under-jsm", "b1", "bob@example.com"))
    links.save_team(TeamLink("another", "t1", "SRE"))
    dry = plan(store, atlassian, links)
    assert list(links.iter_user_links()) == [UserLink("made-under-jsm", "b1", "bob@example.com")]
    by_name = {f.name: f for f in dry.findings}
    assert by_name["bob@example.com"].outcome == AMBIGUOUS
    assert "already linked to SCIM id made-under-jsm" in by_name["bob@example.com"].detail
    assert by_name["SRE"].outcome == AMBIGUOUS
    plan(store, atlassian, links, apply=True)
    ann = links.user_by_local("og-ann")
    assert ann == UserLink("og-ann", "a1", "ann@example.com",
                           {"full_name": "Ann", "role": "User", "locale": "fr_FR", "contacts": []})
