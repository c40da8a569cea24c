"""Lazy rosters and the incremental sync loop, counted call by call against the simulator.

The bridge here starts as a new deployment does: an empty mirror, filled by the first request (the initial
import reads every user page, the team list, the roles and at most ``sync_import_rosters`` rosters). Every
answer that shows or filters on membership loads the rosters it needs first; the loop (``tick``, driven by
hand on a manual clock) refreshes a slice per tick. Call counts are deterministic, so they are asserted.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Collection
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection

from scim_bridge.config import Settings
from scim_bridge.directory.errors import DirectoryError
from scim_bridge.ops.export import export
from scim_bridge.service.documents import MirrorIndexer
from scim_bridge.service.naming import ROLE_ID_PREFIX
from scim_bridge.service.sync import SyncService
from scim_bridge.service.sync import synced_at
from scim_bridge.service.sync_loop import tick_budget
from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.server import SimulatorServer
from scim_bridge.store.rosters import RosterLedger
from scim_bridge.store.store import Store
from scim_bridge.web.app import create_app
from tests.conftest import SIM_KEY
from tests.conftest import TOKEN
from tests.conftest import ScimClient
from tests.conftest import SimControl
from tests.conftest import serve_app

BULK_USERS = 250
BULK_TEAMS = 30
MEMBERS = 5
IMPORT_ROSTERS = 10
WARMUP = 8
INTERVAL = 60.0
CYCLE = 600.0


class ManualClock:
    """Moved by hand (``advance``); each reading moves it by a microsecond, as time does between two writes."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        self.now += timedelta(microseconds=1)
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Lazy:
    scim: ScimClient
    sim: SimControl
    store: Store
    sync: SyncService
    clock: ManualClock
    settings: Settings

    def calls(self) -> Counter[str]:
        """Upstream calls since the last clear, by method and path (ids as {id}); the rate-limit probe left out."""
        counted: Counter[str] = Counter()
        for call in self.sim.calls():
            parts = ["{id}" if len(p) >= 20 else p for p in call["path"].split("/")]
            key = f"{call['method']} {'/'.join(parts)}"
            if not key.startswith("GET /v2/request-limits"):
                counted[key] += 1
        return counted

    def roster_calls(self) -> Counter[str]:
        """:meth:`calls` without the single user reads, which the freshness window decides (README "Freshness")."""
        counted = self.calls()
        del counted["GET /v2/users/{id}"]
        return counted

    def outstanding(self) -> list[str]:
        return RosterLedger(self.store).outstanding()

    def roster(self, team_id: str) -> set[str]:
        team = next(t for t in self.sim.state()["teams"] if t["id"] == team_id)
        return {m["user"]["id"] for m in team["members"]}

    def teams_of(self, user_id: str) -> set[str]:
        return {t["id"] for t in self.sim.state()["teams"] if user_id in {m["user"]["id"] for m in t["members"]}}


@pytest.fixture()
def lazy(simulator: SimulatorServer, tmp_path: Path) -> Iterator[Lazy]:
    """The bridge with the loop's warm-up off: each tick spends its budget only."""
    yield from started(simulator, tmp_path, warmup=0)


@pytest.fixture()
def warming(simulator: SimulatorServer, tmp_path: Path) -> Iterator[Lazy]:
    """The bridge with a warm-up of WARMUP outstanding rosters a tick."""
    yield from started(simulator, tmp_path, warmup=WARMUP)


def started(simulator: SimulatorServer, tmp_path: Path, *, warmup: int) -> Iterator[Lazy]:
    simulator.state.update_config(SimulatorConfig().to_dict())
    simulator.state.reset(seed="demo")
    simulator.state.bulk(BULK_USERS, BULK_TEAMS, MEMBERS)
    settings = Settings(opsgenie_api_url=simulator.base_url, opsgenie_api_key=SIM_KEY,
                        database_url=f"sqlite:///{tmp_path / 'lazy.db'}", sync_interval=INTERVAL, sync_cycle=CYCLE,
                        sync_import_rosters=IMPORT_ROSTERS, sync_warmup_rosters=warmup,
                        read_through=False).with_token(TOKEN, "test")
    clock = ManualClock()
    store = Store.from_url(settings.database_url, clock=clock)
    store.upgrade()
    app = create_app(settings, store=store)
    server = serve_app(app)
    sim = SimControl(simulator.base_url)
    sim.clear_calls()
    yield Lazy(ScimClient(f"http://127.0.0.1:{server.server_port}/scim/v2"), sim, store,
               app.extensions["scim_bridge"].sync, clock, settings)
    server.shutdown()
    server.server_close()
    store.close()
    simulator.state.reset(seed=None)


def imported(lazy: Lazy) -> None:
    """The initial import, made by the first request (one that needs no roster), then a clean call log."""
    first = lazy.scim.get("/Users", params={"count": 1, "excludedAttributes": "groups"})
    assert first.status_code == 200, first.text
    lazy.sim.clear_calls()


def test_the_initial_import_reads_few_rosters(lazy: Lazy) -> None:
    state = lazy.sim.state()
    users, teams = len(state["users"]), len(state["teams"])
    first = lazy.scim.get("/Users", params={"count": 1, "excludedAttributes": "groups"})
    assert first.status_code == 200, first.text
    assert first.json()["totalResults"] == users
    assert lazy.calls() == Counter({"GET /v2/users": -(-users // 100), "GET /v2/teams": 1,
                                    "GET /v2/teams/{id}": IMPORT_ROSTERS, "GET /v2/roles": 1})
    assert len(lazy.outstanding()) == teams - IMPORT_ROSTERS
    assert lazy.store.count_groups("team") == teams


def test_a_group_read_loads_its_roster_first_and_only_once(lazy: Lazy) -> None:
    imported(lazy)
    team_id = lazy.outstanding()[0]
    got = lazy.scim.get(f"/Groups/{team_id}")
    assert got.status_code == 200, got.text
    assert {m["value"] for m in got.json()["members"]} == lazy.roster(team_id) != set()
    assert lazy.calls() == Counter({"GET /v2/teams/{id}": 1})
    lazy.sim.clear_calls()
    assert lazy.scim.get(f"/Groups/{team_id}").json() == got.json()
    other = lazy.outstanding()[0]
    without = lazy.scim.get(f"/Groups/{other}", params={"excludedAttributes": "members"})
    assert without.status_code == 200 and "members" not in without.json()
    assert lazy.calls() == Counter()
    assert team_id not in lazy.outstanding() and other in lazy.outstanding()


def test_a_user_read_loads_the_rosters_of_its_teams(lazy: Lazy) -> None:
    imported(lazy)
    outstanding = set(lazy.outstanding())
    state = lazy.sim.state()
    user_id = next(m["user"]["id"] for t in state["teams"] if t["id"] in outstanding for m in t["members"])
    expected = lazy.teams_of(user_id)
    lazy.sim.clear_calls()
    got = lazy.scim.get(f"/Users/{user_id}")
    assert got.status_code == 200, got.text
    teams = {g["value"] for g in got.json()["groups"] if not g["value"].startswith(ROLE_ID_PREFIX)}
    assert teams == expected != set()
    loaded = len(expected & outstanding)
    assert lazy.roster_calls() == Counter({"GET /v2/users/{id}/teams": 1, "GET /v2/teams/{id}": loaded})
    assert not expected & set(lazy.outstanding())
    lazy.sim.clear_calls()
    assert lazy.scim.get(f"/Users/{user_id}", params={"excludedAttributes": "groups"}).status_code == 200
    assert lazy.roster_calls() == Counter()


def test_a_filter_on_members_loads_every_outstanding_roster(lazy: Lazy) -> None:
    imported(lazy)
    pending = len(lazy.outstanding())
    state = lazy.sim.state()
    user_id = state["teams"][-1]["members"][0]["user"]["id"]
    found = lazy.scim.get("/Groups", params={"filter": f'members.value eq "{user_id}"',
                                              "excludedAttributes": "members"})
    assert found.status_code == 200, found.text
    teams = {r["id"] for r in found.json()["Resources"] if not r["id"].startswith(ROLE_ID_PREFIX)}
    assert teams == lazy.teams_of(user_id) != set()
    assert lazy.calls() == Counter({"GET /v2/teams/{id}": pending})
    assert lazy.outstanding() == []
    # Every roster held: a user list with groups costs nothing more.
    lazy.sim.clear_calls()
    listed = lazy.scim.get("/Users", params={"count": 100})
    assert listed.status_code == 200 and lazy.calls() == Counter()


def test_a_group_page_with_members_loads_the_rosters_of_its_teams(lazy: Lazy) -> None:
    imported(lazy)
    page = lazy.scim.get("/Groups", params={"count": 5, "startIndex": 1})
    assert page.status_code == 200, page.text
    for resource in page.json()["Resources"]:
        if not resource["id"].startswith(ROLE_ID_PREFIX):
            assert {m["value"] for m in resource.get("members", [])} == lazy.roster(resource["id"])
    assert set(lazy.calls()) <= {"GET /v2/teams/{id}"}


def test_each_tick_reads_one_budget_of_calls_and_a_cycle_refreshes_everything(lazy: Lazy) -> None:
    imported(lazy)
    state = lazy.sim.state()
    users, teams = len(state["users"]), len(state["teams"])
    budget = tick_budget(users, teams, INTERVAL, CYCLE)
    per_cycle = -(-users // 100) + teams + 2
    assert budget == -(-per_cycle * INTERVAL // CYCLE)
    ticks = 0
    finished = None
    while finished is None:
        lazy.clock.advance(INTERVAL)
        result = lazy.sync.tick()
        assert result is not None
        made = sum(lazy.calls().values())
        assert made == result.calls
        assert made <= budget
        lazy.sim.clear_calls()
        ticks += 1
        finished = result.finished
        if finished is None:
            assert made == budget  # a tick spends its whole budget until the cycle ends
        assert ticks <= -(-per_cycle // budget)
    assert finished["ok"] and finished["cycle"] and finished["teams"] == teams and finished["users"] == users
    assert lazy.outstanding() == []
    assert lazy.sync.last() == finished
    # A tick sooner than an interval after the last one (another worker's) does nothing.
    assert lazy.sync.tick() is None
    assert lazy.calls() == Counter()


def test_a_cycle_notices_users_and_teams_deleted_in_opsgenie(lazy: Lazy) -> None:
    imported(lazy)
    state = lazy.sim.state()
    gone_user = next(u["id"] for u in state["users"] if u["username"].startswith("user"))
    gone_team = state["teams"][-1]["id"]
    # Read once, so the mirror's copy is complete and confirmed: within the freshness window it answers alone.
    assert lazy.scim.get(f"/Users/{gone_user}", params={"excludedAttributes": "groups"}).status_code == 200
    assert lazy.sim.http.delete(f"{lazy.sim.base_url}/__sim/users/{gone_user}", timeout=10).status_code < 300
    assert lazy.sim.http.delete(f"{lazy.sim.base_url}/__sim/teams/{gone_team}", timeout=10).status_code < 300
    assert lazy.store.get_user(gone_user) is not None  # the mirror still holds both: the cycle finds out
    assert lazy.store.get_group(gone_team) is not None
    lazy.sim.clear_calls()
    seen: Counter[str] = Counter()
    for _ in range(100):
        lazy.clock.advance(INTERVAL)
        result = lazy.sync.tick()
        assert result is not None
        seen += lazy.calls()
        lazy.sim.clear_calls()
        if result.finished is not None:
            break
    assert lazy.scim.get(f"/Users/{gone_user}").status_code == 404
    assert lazy.scim.get(f"/Groups/{gone_team}").status_code == 404
    assert lazy.store.get_user(gone_user) is None and lazy.store.get_group(gone_team) is None
    # The user the pages no longer showed was checked once, alone.
    assert seen["GET /v2/users/{id}"] == 1
    assert seen["GET /v2/teams"] == 1 and seen["GET /v2/roles"] == 1


def test_the_batch_sync_reads_every_roster(lazy: Lazy) -> None:
    imported(lazy)
    pending = len(lazy.outstanding())
    result = lazy.sync.run()
    assert result is not None
    assert lazy.outstanding() == []
    assert lazy.calls()["GET /v2/teams/{id}"] == result.teams > pending


def test_excluded_groups_and_members_cost_no_roster_load(lazy: Lazy) -> None:
    imported(lazy)
    before = lazy.outstanding()
    for path, params in (("/Users", {"excludedAttributes": "groups"}), ("/Groups", {"excludedAttributes": "members"}),
                         ("/Users", {"attributes": "userName"}), ("/Groups", {"attributes": "displayName"})):
        got = lazy.scim.get(path, params={**params, "count": 50})
        assert got.status_code == 200, got.text
    assert lazy.calls() == Counter()
    assert lazy.outstanding() == before


def test_a_page_of_users_with_groups_loads_every_outstanding_roster_once(lazy: Lazy) -> None:
    imported(lazy)
    pending = len(lazy.outstanding())
    page = lazy.scim.get("/Users", params={"count": 50, "startIndex": 20})
    assert page.status_code == 200, page.text
    assert lazy.calls() == Counter({"GET /v2/teams/{id}": pending})
    teams = {t["id"] for t in lazy.sim.state()["teams"]}
    for user in page.json()["Resources"]:
        assert {g["value"] for g in user.get("groups", [])} & teams == lazy.teams_of(user["id"])
    lazy.sim.clear_calls()
    assert lazy.scim.get("/Users", params={"count": 50, "startIndex": 70}).status_code == 200
    assert lazy.calls() == Counter()


class CountingIndexer(MirrorIndexer):
    """The bridge's indexer, noting how often each user's document is re-indexed."""

    def __init__(self) -> None:
        super().__init__()
        self.users: Counter[str] = Counter()

    def reindex(self, conn: Connection, user_ids: Collection[str], group_ids: Collection[str]) -> None:
        self.users.update(user_ids)
        super().reindex(conn, user_ids, group_ids)


def test_loading_every_outstanding_roster_reindexes_each_member_once(lazy: Lazy) -> None:
    imported(lazy)
    pending = lazy.outstanding()
    counting = CountingIndexer()
    lazy.store.set_indexer(counting)
    members = set().union(*(lazy.roster(team_id) for team_id in pending))
    found = lazy.scim.get("/Groups", params={"filter": 'members.value pr', "excludedAttributes": "members"})
    assert found.status_code == 200, found.text
    assert lazy.calls() == Counter({"GET /v2/teams/{id}": len(pending)})
    # Members of several of the rosters are re-indexed once, in the one write of the request.
    assert set(counting.users) == members and set(counting.users.values()) == {1}


def warm_tick(lazy: Lazy) -> int:
    """One tick of the loop, an interval later; returns the rosters its warm-up loaded (checked against the log)."""
    lazy.clock.advance(INTERVAL)
    result = lazy.sync.tick()
    assert result is not None
    made = lazy.calls()
    assert sum(made.values()) == result.calls
    lazy.sim.clear_calls()
    return result.warmed


def test_the_warm_up_loads_the_outstanding_rosters_in_a_few_ticks(warming: Lazy) -> None:
    imported(warming)
    state = warming.sim.state()
    budget = tick_budget(len(state["users"]), len(state["teams"]), INTERVAL, CYCLE)
    pending = len(warming.outstanding())
    assert pending > WARMUP
    ticks = 0
    while left := len(warming.outstanding()):
        # The warm-up's share, on top of the budget (whose cycle reads the outstanding rosters first too).
        assert warm_tick(warming) == min(WARMUP, left)
        ticks += 1
    assert ticks <= -(-pending // WARMUP)
    # Warm: a tick spends its budget only, and answers with groups or members cost no call.
    assert warm_tick(warming) == 0
    assert warming.scim.get("/Users", params={"count": 100}).status_code == 200
    assert warming.scim.get("/Groups", params={"filter": 'members.value pr'}).status_code == 200
    assert warming.calls() == Counter()
    warming.clock.advance(INTERVAL)
    result = warming.sync.tick()
    assert result is not None and result.warmed == 0 and result.calls == budget


def test_an_idp_read_during_the_warm_up_gets_exact_groups(warming: Lazy) -> None:
    imported(warming)
    assert warm_tick(warming) == WARMUP
    outstanding = set(warming.outstanding())
    assert outstanding
    state = warming.sim.state()
    user_id = next(m["user"]["id"] for t in state["teams"] if t["id"] in outstanding for m in t["members"])
    expected = warming.teams_of(user_id)
    got = warming.scim.get(f"/Users/{user_id}")
    assert got.status_code == 200, got.text
    assert {g["value"] for g in got.json()["groups"] if not g["value"].startswith(ROLE_ID_PREFIX)} == expected
    assert warming.roster_calls() == Counter({"GET /v2/users/{id}/teams": 1,
                                       "GET /v2/teams/{id}": len(expected & outstanding)})
    warming.sim.clear_calls()
    # The warm-up goes on with what that read left.
    left = len(warming.outstanding())
    assert warm_tick(warming) == min(WARMUP, left)


def test_the_warm_up_gives_way_when_the_rate_budget_has_no_room(warming: Lazy) -> None:
    imported(warming)
    state = warming.sim.state()
    budget = tick_budget(len(state["users"]), len(state["teams"]), INTERVAL, CYCLE)
    pending = warming.outstanding()
    warming.sync.room = lambda: False
    assert warm_tick(warming) == 0
    # Only the tick's own budget ran: the team list, then outstanding rosters for the rest.
    assert len(warming.outstanding()) == len(pending) - (budget - 1)
    warming.sync.room = lambda: True
    assert warm_tick(warming) == WARMUP


def test_a_failed_tick_is_recorded_and_not_counted_as_a_sync(lazy: Lazy) -> None:
    imported(lazy)
    before = lazy.sync.last()
    assert before is not None and before["ok"]
    lazy.sim.fault("GET", "/v2/teams", "403")
    lazy.clock.advance(INTERVAL)
    with pytest.raises(DirectoryError):
        lazy.sync.tick()
    failed = lazy.sync.last()
    assert failed is not None and not failed["ok"] and failed["tick"] and failed["error"]
    assert synced_at(failed) == before["at"] and failed["last_ok"] == before
    assert lazy.sync.mirror_current()  # the loop goes on ticking: no new import
    health = lazy.scim.http.get(lazy.scim.base_url.replace("/scim/v2", "/readyz"), timeout=10).json()
    assert health["last_sync"]["ok"] is False
    # The next tick works: the record is again that of the last refresh.
    lazy.sim.clear_calls()
    lazy.clock.advance(INTERVAL)
    result = lazy.sync.tick()
    assert result is not None and result.calls > 0
    assert lazy.sync.last() == before


def test_export_without_sync_leaves_out_the_members_of_rosters_never_loaded(lazy: Lazy) -> None:
    imported(lazy)
    pending = set(lazy.outstanding())
    out = io.StringIO()
    summary = export(lazy.settings, lazy.store, lazy.sync.directory, out, sync=False)
    assert lazy.calls() == Counter()  # --no-sync reads nothing upstream
    assert summary.rosters_not_loaded == len(pending) > 0
    teams = [r for r in json.loads(out.getvalue())["Resources"]
             if "Group" in r["meta"]["resourceType"] and not r["id"].startswith(ROLE_ID_PREFIX)]
    assert len(teams) == summary.teams
    for team in teams:
        if team["id"] in pending:
            assert "members" not in team  # unknown, not empty
        else:
            assert {m["value"] for m in team.get("members", [])} == lazy.roster(team["id"])
