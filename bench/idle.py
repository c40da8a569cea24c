"""Scenario "idle": what 10 minutes without any SCIM request cost upstream, in the default configuration.

The bridge is built as ``scim-bridge serve`` builds it (``create_app`` with the settings the environment gives,
every sync setting at its shipped default) over the simulator filled with the import directory; its store's
clock runs with real time plus an offset that the scenario moves. After the initial import, the scenario runs
the ticks the background loop would run in 10 minutes (one every ``SCIM_BRIDGE_SYNC_INTERVAL``), moving the
clock by that interval before each one, so the calls counted are those the shipped loop makes over 10 minutes
without waiting them out. The pacing of a tick depends on the directory's size and the settings, not on the
time it runs at. (In-process: ``--source`` does not apply to this scenario.)
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bench.report import Row
from bench.servers import SIM_KEY
from bench.servers import TOKEN
from bench.servers import Simulator

if TYPE_CHECKING:
    from bench.scenarios import Options
    from bench.scenarios import Outcome

IDLE_SECONDS = 600.0
IDLE_GOAL = 100


class ShiftedClock:
    """Real time plus an offset moved by :meth:`advance`."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def _by_path(calls: list[dict[str, object]]) -> Counter[str]:
    counted: Counter[str] = Counter()
    for call in calls:
        parts = ["{id}" if len(p) >= 20 else p for p in str(call["path"]).split("/")]
        key = f"{call['method']} {'/'.join(parts)}"
        if not key.startswith("GET /v2/request-limits"):
            counted[key] += 1
    return counted


def idle(work: Path, opts: Options) -> Outcome:
    from bench.scenarios import Outcome
    from scim_bridge.config import Settings
    from scim_bridge.store.store import Store
    from scim_bridge.web.app import create_app

    out = Outcome()
    sim = Simulator(work)
    try:
        sim.bulk(opts.import_users, teams=opts.import_teams, members_per_team=opts.members_per_team)
        settings = Settings.from_env({"OPSGENIE_API_URL": sim.base_url, "OPSGENIE_API_KEY": SIM_KEY,
                                      "SCIM_BEARER_TOKEN": TOKEN,
                                      "SCIM_BRIDGE_DATABASE_URL": f"sqlite:///{work / 'idle.db'}"})
        clock = ShiftedClock()
        store = Store.from_url(settings.database_url, clock=clock)
        store.upgrade()
        sync = create_app(settings, store=store).extensions["scim_bridge"].sync
        sim.clear_calls()
        sync.ensure_initial()
        imported = _by_path(sim.calls())
        sim.clear_calls()
        ticks = round(IDLE_SECONDS / settings.sync_interval) if settings.sync_interval > 0 else 0
        per_tick: list[int] = []
        for _ in range(ticks):
            clock.advance(settings.sync_interval)
            result = sync.tick()
            per_tick.append(result.calls if result is not None else 0)
        spent = _by_path(sim.calls())
        store.close()
    finally:
        sim.stop()
    total = sum(spent.values())
    label = f"idle ({opts.import_users} users, {opts.import_teams} teams, 10 minutes)"
    out.details["idle"] = {"import": dict(imported), "calls": dict(spent), "per_tick": per_tick,
                           "interval": settings.sync_interval, "cycle": settings.sync_cycle}
    out.rows += [
        Row(label, f"upstream calls (defaults: a tick every {settings.sync_interval:g} s, full refresh every "
                   f"{settings.sync_cycle:g} s)", f"<= {IDLE_GOAL}",
            f"{total} ({ticks} ticks: {', '.join(str(n) for n in per_tick)})", total <= IDLE_GOAL),
    ]
    out.text.append("Idle 10 minutes, upstream calls by endpoint: "
                    + ", ".join(f"{k}: {n}" for k, n in spent.most_common()))
    return out
