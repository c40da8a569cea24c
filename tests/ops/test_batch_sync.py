"""Batch syncs against the simulator: they wait for an exhausted rate budget instead of failing (on a virtual
clock: no real waits), and an interrupted run goes on from where it stopped, writing page by page."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from conftest import Running

from scim_bridge.directory.errors import DirectoryError
from scim_bridge.ops.batch import batch_directory
from scim_bridge.service.sync import PROGRESS
from scim_bridge.service.sync import SyncProgress
from scim_bridge.service.sync import SyncService
from scim_bridge.store.store import Store
from tests.api.test_lazy_rosters import CountingIndexer

BULK_USERS = 450
BULK_TEAMS = 120
DEMO_USERS = 7
DEMO_TEAMS = 3


class VirtualTime:
    """A monotonic clock that only sleeps move."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Interrupted(Exception):
    """The process stopping in the middle of a run."""


def store_of(bridge: Running) -> Store:
    store: Store = bridge.app.extensions["scim_bridge"].store
    return store


def calls(bridge: Running, method: str, prefix: str) -> list[dict[str, Any]]:
    return [c for c in bridge.sim.calls() if c["method"] == method and c["path"].startswith(prefix)]


def user_pages(bridge: Running) -> list[dict[str, Any]]:
    return [c for c in calls(bridge, "GET", "/v2/users") if c["path"] == "/v2/users"]


def test_sync_waits_for_an_exhausted_budget_instead_of_failing(bridge_factory: Any) -> None:
    bridge: Running = bridge_factory()
    bulk = bridge.sim.http.post(f"{bridge.sim.base_url}/__sim/bulk", json={"users": BULK_USERS}, timeout=60)
    assert bulk.status_code == 201, bulk.text
    # The account allows 3 user pages a minute (GET /v2/request-limits/ says so). The simulator does not
    # enforce it here: its clock is real while the bridge's is virtual.
    bridge.sim.configure(rate_limits={"search": {"per_second": 1, "per_minute": 3}}, rate_limit_enabled=False)
    settings = replace(bridge.settings, batch_budget_share=1.0)
    time = VirtualTime()
    directory, client = batch_directory(settings, None, clock=time.clock, sleep=time.sleep)
    assert {(lim.limit, lim.period) for lim in client.budget.limits()["search"]} == {  # type: ignore[attr-defined]
        (1, 1.0), (3, 60.0)}
    bridge.sim.clear_calls()

    result = SyncService(directory, store_of(bridge)).run()

    assert result is not None and result.users == BULK_USERS + DEMO_USERS
    assert len(user_pages(bridge)) == 5  # the calls it must: one per page of 100
    assert sum(time.slept) >= 60  # the fourth page waited for the first minute's window to pass
    assert store_of(bridge).count_users() == BULK_USERS + DEMO_USERS

    # The same budget with a request's patience (20 s) gives up at the fourth page, as a sync used to.
    impatient = VirtualTime()
    directory, _ = batch_directory(replace(settings, batch_upstream_wait=20.0), None, clock=impatient.clock,
                                   sleep=impatient.sleep)
    with pytest.raises(DirectoryError, match="rate budget"):
        SyncService(directory, store_of(bridge)).run()
    assert sum(impatient.slept) < 20


def test_an_interrupted_sync_resumes_where_it_stopped(bridge_factory: Any) -> None:
    bridge: Running = bridge_factory()
    bulk = bridge.sim.http.post(f"{bridge.sim.base_url}/__sim/bulk",
                                json={"users": BULK_USERS, "teams": BULK_TEAMS, "membersPerTeam": 2}, timeout=60)
    assert bulk.status_code == 201, bulk.text
    store = store_of(bridge)
    # The runs' budget keeps to the account's limits on a virtual clock, which moves only when it waits: the
    # simulator, whose clock is real, must not enforce them too (a run faster than its per-second limit would be
    # refused what its budget allowed).
    bridge.sim.configure(rate_limit_enabled=False)
    time = VirtualTime()
    directory, _ = batch_directory(bridge.settings, store, clock=time.clock, sleep=time.sleep)
    # A mirrored user deleted upstream before the run: the run never sees it, its end sweeps it.
    priya = bridge.sim.user("priya.shah@example.com")
    assert priya is not None and store.get_user(priya["id"]) is not None
    assert bridge.sim.api("DELETE", f"/v2/users/{priya['id']}").status_code == 200

    def stop_in_the_users(step: SyncProgress) -> None:
        if step.phase == "users" and step.done >= 300:
            raise Interrupted

    bridge.sim.clear_calls()
    with pytest.raises(Interrupted):
        SyncService(directory, store).run(stop_in_the_users)
    assert len(user_pages(bridge)) == 3
    assert store.get_setting(PROGRESS)["offset"] == 300

    # Meanwhile upstream: a user of the pages already read is deleted (the others move up by one), one is added.
    gone = bridge.sim.user("user00010@example.com")
    assert gone is not None
    assert bridge.sim.api("DELETE", f"/v2/users/{gone['id']}").status_code == 200
    made = bridge.sim.api("POST", "/v2/users", json={"username": "zz.late@example.com", "fullName": "Zz Late",
                                                     "role": {"name": "User"}})
    assert made.status_code == 201, made.text

    def stop_in_the_teams(step: SyncProgress) -> None:
        if step.phase == "teams" and step.done >= 50:
            raise Interrupted

    bridge.sim.clear_calls()
    with pytest.raises(Interrupted):
        SyncService(directory, store).run(stop_in_the_teams)
    # Users went on one page back from where they stopped (a deletion may have moved one up), not from 0.
    assert sorted(int(c["query"]["offset"]) for c in user_pages(bridge)) == [200, 300, 400]
    assert len(calls(bridge, "GET", "/v2/teams/")) == 50

    steps: list[SyncProgress] = []
    bridge.sim.clear_calls()
    result = SyncService(directory, store).run(steps.append)
    assert result is not None and result.users == BULK_USERS + DEMO_USERS - 1  # two gone, one added
    assert not user_pages(bridge)  # the users were all in
    assert len(calls(bridge, "GET", "/v2/teams/")) == BULK_TEAMS + DEMO_TEAMS - 50
    assert steps[-1].phase == "done" and {s.phase for s in steps} == {"teams", "done"}
    assert store.get_setting(PROGRESS) is None

    # The mirror and its index: the user deleted before the run swept, the late one in, every team with its
    # members. The one deleted after the run read it stays until the next run (the run's snapshot had it).
    names = {r.user_name for r in store.list_users()}
    assert "priya.shah@example.com" not in names and "zz.late@example.com" in names
    assert "user00010@example.com" in names
    listed = bridge.scim.get("/Users", params={"count": 1, "filter": 'userName sw "zz.late"'}).json()
    assert listed["totalResults"] == 1
    served = bridge.scim.get("/Users", params={"count": 1}).json()
    assert served["totalResults"] == BULK_USERS + DEMO_USERS
    teams = bridge.scim.get("/Groups", params={"filter": 'displayName sw "team-"', "count": 1}).json()
    assert teams["totalResults"] == BULK_TEAMS
    assert store.count_groups("team") == BULK_TEAMS + DEMO_TEAMS

    assert SyncService(directory, store).run() is not None
    assert "user00010@example.com" not in {r.user_name for r in store.list_users()}
    assert bridge.scim.get("/Users", params={"count": 1}).json()["totalResults"] == BULK_USERS + DEMO_USERS - 1


def test_a_full_sync_indexes_each_new_user_once_and_a_failed_run_leaves_none_unindexed(bridge_factory: Any) -> None:
    bridge: Running = bridge_factory()
    bulk = bridge.sim.http.post(f"{bridge.sim.base_url}/__sim/bulk",
                                json={"users": 150, "teams": 40, "membersPerTeam": 2}, timeout=60)
    assert bulk.status_code == 201, bulk.text
    store = store_of(bridge)
    counting = CountingIndexer()
    store.set_indexer(counting)
    new = {u["id"] for u in bridge.sim.state()["users"] if u["username"].startswith("user")}
    assert SyncService(bridge.app.extensions["scim_bridge"].directory, store).run() is not None
    # Each new user's document is built once, with its teams (the users phase leaves it to the teams phase,
    # or to the end of the run for a user in no team).
    assert {uid: counting.users[uid] for uid in new} == dict.fromkeys(new, 1)
    teams = {t["id"]: t for t in bridge.sim.state()["teams"]}
    for uid in sorted(new)[:20]:
        shown = {g["value"] for g in bridge.scim.get(f"/Users/{uid}").json().get("groups", [])}
        assert shown & set(teams) == {tid for tid, t in teams.items() if uid in {m["user"]["id"] for m in t["members"]}}
    listed = bridge.scim.get("/Users", params={"count": 1, "filter": 'userName sw "user"'}).json()
    assert listed["totalResults"] == len(new)

    # A run that fails in the teams phase (here: after its first batch of rosters) still leaves every user it
    # wrote in the index.
    late = bridge.sim.http.post(f"{bridge.sim.base_url}/__sim/bulk", json={"users": 30, "prefix": "late"}, timeout=60)
    assert late.status_code == 201, late.text

    def upstream_fails(step: SyncProgress) -> None:
        if step.phase == "teams":
            raise DirectoryError("the upstream is down", status=503)

    with pytest.raises(DirectoryError):
        SyncService(bridge.app.extensions["scim_bridge"].directory, store).run(upstream_fails)
    listed = bridge.scim.get("/Users", params={"count": 1, "filter": 'userName sw "late"'}).json()
    assert listed["totalResults"] == 30
