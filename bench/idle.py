"""Scenario "idle": what the first 10 minutes after the import and then 10 idle minutes cost upstream, in the
default configuration.

The bridge is built as ``scim-bridge serve`` builds it (``create_app`` with the settings the environment gives,
every sync setting at its shipped default) over the simulator filled with the import directory; its store's
clock runs with real time plus an offset that the scenario moves. After the initial import (counted until the
mirror is filled, i.e. until /readyz is ready), the scenario runs the ticks the background loop would run, one
every ``SCIM_BRIDGE_SYNC_INTERVAL``, moving the clock by that interval before each one: first the warm-up (the
ticks until no roster is outstanding), then 10 minutes of ticks. So the calls counted are those the shipped loop
makes without waiting them out; the pacing of a tick depends on the directory's size and the settings, not on
the time it runs at. (In-process: ``--source`` does not apply to this scenario.)
"""

from __future__ import annotations

import time
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
IMPORT_GOAL = 200
WARMUP_TICKS_MAX = 60  # an hour of ticks: a warm-up not done by then is reported as not met


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
        began = time.monotonic()
        sync.ensure_initial()
        import_seconds = time.monotonic() - began
        imported = _by_path(sim.calls())
        outstanding = len(sync.rosters.ledger.outstanding())
        sim.clear_calls()
        warm_ticks: list[tuple[int, int, float]] = []  # calls, of them warm-up, wall seconds
        while sync.rosters.ledger.any_outstanding() and len(warm_ticks) < WARMUP_TICKS_MAX:
            clock.advance(settings.sync_interval)
            began = time.monotonic()
            result = sync.tick()
            warm_ticks.append((result.calls, result.warmed, time.monotonic() - began) if result else (0, 0, 0.0))
        warmed = _by_path(sim.calls())
        warm = not sync.rosters.ledger.any_outstanding()
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
    import_calls = sum(imported.values())
    warm_calls = sum(warmed.values())
    total = sum(spent.values())
    label = f"idle ({opts.import_users} users, {opts.import_teams} teams)"
    out.details["idle"] = {"import": dict(imported), "import_seconds": round(import_seconds, 1),
                           "warm_up": dict(warmed), "warm_ticks": [list(t) for t in warm_ticks],
                           "calls": dict(spent), "per_tick": per_tick, "interval": settings.sync_interval,
                           "cycle": settings.sync_cycle, "warmup_rosters": settings.sync_warmup_rosters}
    warm_minutes = len(warm_ticks) * settings.sync_interval / 60
    slowest = max((t[2] for t in warm_ticks), default=0.0)
    out.rows += [
        Row(label, f"import: upstream calls until ready ({settings.sync_import_rosters} rosters read)",
            f"<= {IMPORT_GOAL}", f"{import_calls} ({outstanding} rosters outstanding; {import_seconds:.1f} s)",
            import_calls <= IMPORT_GOAL),
        Row(label, f"warm-up: calls and duration ({settings.sync_warmup_rosters} rosters a tick on top of the "
                   "budget)", "none outstanding within minutes",
            f"{warm_calls} calls ({sum(t[1] for t in warm_ticks)} by the warm-up) in {len(warm_ticks)} ticks = "
            f"{warm_minutes:g} minutes; slowest tick {slowest:.1f} s",
            warm),
        Row(label, f"steady state: upstream calls in the 10 minutes after the warm-up (a tick every "
                   f"{settings.sync_interval:g} s, full refresh every {settings.sync_cycle:g} s)", f"<= {IDLE_GOAL}",
            f"{total} ({ticks} ticks: {', '.join(str(n) for n in per_tick)})", total <= IDLE_GOAL),
    ]
    out.text.append("Import, upstream calls by endpoint: " + ", ".join(f"{k}: {n}" for k, n in imported.most_common()))
    out.text.append("Warm-up, upstream calls by endpoint: " + ", ".join(f"{k}: {n}" for k, n in warmed.most_common())
                    + "; per tick (calls, warm-up, seconds): "
                    + ", ".join(f"({c}, {w}, {s:.1f})" for c, w, s in warm_ticks))
    out.text.append("Idle 10 minutes, upstream calls by endpoint: "
                    + ", ".join(f"{k}: {n}" for k, n in spent.most_common()))
    return out
