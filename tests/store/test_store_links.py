"""The SQL link store (bridge ids ↔ Atlassian ids), on SQLite and PostgreSQL, against the in-memory one."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from scim_bridge.directory.links import LinkStore
from scim_bridge.directory.links import MemoryLinkStore
from scim_bridge.directory.links import TeamLink
from scim_bridge.directory.links import UserLink
from scim_bridge.store import Store
from scim_bridge.store import StoreConflict
from scim_bridge.store.links import SqlLinkStore

PROFILE = {"time_zone": "Europe/Berlin", "locale": "de_DE", "tags": ["sre"], "details": {"k": ["v"]},
           "address": {"country": "DE", "state": "", "city": "Berlin", "line": "", "zip_code": ""},
           "contacts": [{"id": "c1", "method": "sms", "to": "49-301234567", "enabled": True}], "role": "User"}


@pytest.fixture
def links(store: Store) -> Iterator[SqlLinkStore]:
    yield SqlLinkStore(store)


def test_is_a_link_store(links: SqlLinkStore) -> None:
    as_protocol: LinkStore = links
    assert as_protocol.user_by_local("nobody") is None


def test_user_link_round_trip_and_lookups(links: SqlLinkStore) -> None:
    link = UserLink("og-1", "712020:abc", "Tom.Becker@Example.com", PROFILE)
    links.save_user(link)
    assert links.user_by_local("og-1") == link
    assert links.user_by_account("712020:abc") == link
    assert links.user_by_username("tom.becker@EXAMPLE.com") == link
    assert links.user_by_local("og-2") is None
    assert links.user_by_account("712020:other") is None
    assert links.user_by_username("someone@example.com") is None


def test_save_user_replaces_by_local_id(links: SqlLinkStore) -> None:
    links.save_user(UserLink("og-1", "acc-1", "a@example.com", {"role": "User"}))
    links.save_user(UserLink("og-1", "acc-1", "a.new@example.com", {"role": "Stakeholder"}))
    assert links.user_by_username("a@example.com") is None
    stored = links.user_by_local("og-1")
    assert stored == UserLink("og-1", "acc-1", "a.new@example.com", {"role": "Stakeholder"})
    assert links.counts()[0] == 1


@pytest.mark.parametrize("other", [UserLink("og-2", "acc-1", "b@example.com"),
                                   UserLink("og-2", "acc-2", "A@EXAMPLE.COM")])
def test_one_account_and_one_username_per_bridge_id(links: SqlLinkStore, other: UserLink) -> None:
    first = UserLink("og-1", "acc-1", "a@example.com")
    links.save_user(first)
    with pytest.raises(StoreConflict):
        links.save_user(other)
    assert list(links.iter_user_links()) == [first]


def test_forget_user_is_idempotent(links: SqlLinkStore) -> None:
    links.save_user(UserLink("og-1", "acc-1", "a@example.com"))
    links.forget_user("og-1")
    links.forget_user("og-1")
    assert links.user_by_local("og-1") is None
    links.save_user(UserLink("og-9", "acc-1", "a@example.com"))  # the account is free again
    assert links.user_by_account("acc-1") == UserLink("og-9", "acc-1", "a@example.com")


def test_team_links(links: SqlLinkStore) -> None:
    links.save_team(TeamLink("team-og-1", "ari-team-1", "Platform SRE"))
    links.save_team(TeamLink("team-og-2", "ari-team-2", "Payments"))
    links.save_team(TeamLink("team-og-1", "ari-team-1", "Platform SRE EU"))  # renamed
    assert links.team_by_local("team-og-1") == TeamLink("team-og-1", "ari-team-1", "Platform SRE EU")
    assert links.team_by_upstream("ari-team-2") == TeamLink("team-og-2", "ari-team-2", "Payments")
    with pytest.raises(StoreConflict):
        links.save_team(TeamLink("team-og-3", "ari-team-2", "Payments copy"))
    links.forget_team("team-og-2")
    assert links.team_by_upstream("ari-team-2") is None
    assert [t.local_id for t in links.iter_team_links()] == ["team-og-1"]
    assert links.counts()[1] == 1


def test_transaction_is_all_or_nothing(links: SqlLinkStore) -> None:
    links.save_user(UserLink("og-1", "acc-1", "a@example.com"))
    with pytest.raises(StoreConflict), links.transaction():
        links.save_team(TeamLink("t-1", "team-1", "SRE"))
        links.save_user(UserLink("og-2", "acc-2", "b@example.com"))
        assert links.user_by_local("og-2") is not None  # visible inside the transaction
        links.save_user(UserLink("og-3", "acc-1", "c@example.com"))  # the account is taken
    assert links.team_by_local("t-1") is None
    assert links.user_by_local("og-2") is None
    with links.transaction():
        links.save_team(TeamLink("t-1", "team-1", "SRE"))
        links.save_user(UserLink("og-2", "acc-2", "b@example.com"))
    assert links.counts() == (2, 1)


def test_links_outlive_a_full_sync(store: Store, links: SqlLinkStore) -> None:
    links.save_user(UserLink("og-1", "acc-1", "a@example.com"))
    store.apply_sync([], [])
    assert links.user_by_local("og-1") is not None


def test_concurrent_writers_keep_one_link_per_account(links: SqlLinkStore) -> None:
    """Threads racing to link the same account to different ids: exactly one wins."""
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            links.save_user(UserLink(f"og-{n}", "acc-shared", f"user{n}@example.com"))
            outcomes.append("saved")
        except StoreConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 3 + ["saved"]
    assert links.counts()[0] == 1


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("save"), st.sampled_from(["u1", "u2", "u3"]), st.sampled_from(["a1", "a2", "a3"]),
                  st.sampled_from(["x@example.com", "X@example.com", "y@example.com", "z@example.com"])),
        st.tuples(st.just("forget"), st.sampled_from(["u1", "u2", "u3"]), st.just(""), st.just("")),
    ),
    max_size=12,
)


def _apply_all(target: LinkStore, ops: list[tuple[str, str, str, str]]) -> list[str]:
    results = []
    for op, local, account, name in ops:
        if op == "forget":
            target.forget_user(local)
            results.append("ok")
            continue
        try:
            target.save_user(UserLink(local, account, name, {"n": len(results)}))
            results.append("ok")
        except StoreConflict:
            results.append("conflict")
    return results


class CheckedMemoryLinks(MemoryLinkStore):
    """The in-memory store with the SQL store's uniqueness rules, as the model to compare with."""

    def save_user(self, link: UserLink) -> None:
        for other in self.iter_user_links():
            if other.local_id != link.local_id and (
                other.account_id == link.account_id or other.username.lower() == link.username.lower()
            ):
                raise StoreConflict("taken")
        super().save_user(link)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_behaves_like_the_memory_store(store: Store, ops: list[tuple[str, str, str, str]]) -> None:
    sql = SqlLinkStore(store)
    for link in list(sql.iter_user_links()):
        sql.forget_user(link.local_id)
    model = CheckedMemoryLinks()
    assert _apply_all(sql, ops) == _apply_all(model, ops)
    assert sorted(sql.iter_user_links(), key=lambda link: link.local_id) == sorted(
        model.iter_user_links(), key=lambda link: link.local_id)
    for local in ("u1", "u2", "u3"):
        assert sql.user_by_local(local) == model.user_by_local(local)
    for account in ("a1", "a2", "a3"):
        assert sql.user_by_account(account) == model.user_by_account(account)
    for name in ("x@EXAMPLE.com", "y@example.com", "z@example.com"):
        assert sql.user_by_username(name) == model.user_by_username(name)
