"""The incremental sync loop: every tick reads one slice of a refresh cycle.

A cycle reads, in this order:

1. the team list (one call): teams new to the mirror come without their roster;
2. every roster not read since the cycle began, those the mirror lacks first, then oldest first (one call
   each; a roster loaded on demand during the cycle is not read again);
3. the user pages (100 users per call);
4. one by one (one call each), the users the pages did not show: deleted in OpsGenie (then removed from the
   mirror), or moved past a page boundary by a deletion while the cycle ran (then kept);
5. the roles (one call); then the teams and roles the cycle did not see are removed.

Each tick spends a budget of calls sized so that one cycle takes ``cycle`` seconds at one tick every
``interval`` seconds: ``ceil((user pages + teams + 2) * interval / cycle)``, at least 1 (see :func:`tick_budget`).
The position is kept in the store after every step, so a restart or another replica goes on from there; a
tick less than an interval after the last one (another worker's) does nothing.

**Warm-up.** While some roster is outstanding (the import reads only a few), each tick first loads up to
``warmup`` of them, on top of its budget, unless the upstream rate budget has no room at that moment (then
the IdP's requests have it, and the next tick tries again): the outstanding rosters are all loaded a few
minutes after the import, without an IdP's request having to wait for them. Answers still load on demand what
the warm-up has not reached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import TYPE_CHECKING
from typing import Any

from scim_bridge.directory import errors as d
from scim_bridge.directory.base import PagedUsers
from scim_bridge.store.records import GroupKind

if TYPE_CHECKING:
    from scim_bridge.service.sync import SyncService

CYCLE = "sync_cycle"  # store setting: the position of the current cycle
PHASES = ("teams", "rosters", "users", "verify", "roles", "done")  # a cycle's phases, in order
USERS_PER_PAGE = 100
# A tick that comes sooner than this share of the interval after the last one is another worker's: skipped.
TICK_SLACK = 0.9


def tick_budget(users: int, teams: int, interval: float, cycle: float) -> int:
    """Upstream calls one tick may spend so that a full cycle over ``users`` and ``teams`` lasts ``cycle``
    seconds with a tick every ``interval`` seconds (no interval: the whole cycle at once)."""
    per_cycle = max(1, -(-users // USERS_PER_PAGE)) + teams + 2  # user pages (at least one), rosters, lists
    if interval <= 0 or cycle <= 0:
        return per_cycle
    return max(1, math.ceil(per_cycle * interval / cycle))


@dataclass(frozen=True)
class TickResult:
    """What a tick did: upstream calls made, the phase it stopped in, and the record of the cycle it ended."""

    calls: int
    phase: str
    finished: dict[str, Any] | None = None
    warmed: int = 0  # of ``calls``: outstanding rosters loaded by the warm-up


def saved_position(saved: Any) -> dict[str, Any] | None:
    """A run position as saved in the store (a JSON object with a ``started`` time), its times (``started``, and
    ``last_tick`` when set) read back as datetimes; None when there is none or a time does not parse."""
    if not isinstance(saved, dict) or not isinstance(saved.get("started"), str):
        return None
    try:
        times = {key: datetime.fromisoformat(saved[key]) for key in ("started", "last_tick") if saved.get(key)}
    except (TypeError, ValueError):
        return None
    return {**saved, **times}


@dataclass
class _Position:
    started: datetime
    phase: str = "teams"  # one of PHASES
    offset: int = 0
    held: dict[str, str] = field(default_factory=dict)  # role name (lower case) -> role id, from the users
    last_tick: datetime | None = None

    @classmethod
    def load(cls, saved: Any, moment: datetime) -> _Position:
        position = saved_position(saved)
        if position is None:
            return cls(moment)
        phase = str(position.get("phase") or "teams")
        return cls(position["started"], phase if phase != "done" else "teams", int(position.get("offset") or 0),
                   {str(k): str(v) for k, v in (position.get("held") or {}).items()}, position.get("last_tick"))

    def to_json(self) -> dict[str, Any]:
        return {"started": self.started.isoformat(), "phase": self.phase, "offset": self.offset, "held": self.held,
                "last_tick": self.last_tick.isoformat() if self.last_tick else None}


class SyncCycle:
    """Runs one tick of the loop for a :class:`SyncService` (which holds the sync lease meanwhile)."""

    def __init__(self, service: SyncService) -> None:
        self.service = service
        self.store = service.store
        self.directory = service.directory

    def budget(self) -> int:
        return tick_budget(self.store.count_users(), self.store.count_groups(GroupKind.TEAM), self.service.interval,
                           self.service.cycle)

    def tick(self) -> TickResult | None:
        moment = self.store.now()
        position = _Position.load(self.store.get_setting(CYCLE), moment)
        interval = self.service.interval
        if (position.last_tick is not None and interval > 0
                and moment - position.last_tick < timedelta(seconds=interval * TICK_SLACK)):
            return None
        budget = self.budget()
        position.last_tick = moment
        self.store.put_setting(CYCLE, position.to_json())
        warmed = self._warm()
        spent = 0
        finished: dict[str, Any] | None = None
        while spent < budget and finished is None:
            spent += self._step(position, budget - spent)
            if position.phase == "done":
                finished = self._finish(position)
                position = _Position(self.store.now(), last_tick=moment)
            self.store.put_setting(CYCLE, position.to_json())
        return TickResult(spent + warmed, position.phase, finished, warmed)

    def _warm(self) -> int:
        """The warm-up: up to ``service.warmup`` outstanding rosters while the rate budget has room."""
        share = self.service.warmup
        if share <= 0 or not self.service.rosters.ledger.any_outstanding():
            return 0
        if self.service.room is not None and not self.service.room():
            return 0  # the IdP's requests are using the budget now: the next tick
        return self.service.rosters.warm(share)

    def _step(self, position: _Position, allowance: int) -> int:
        """One step of the cycle within ``allowance`` calls; returns the calls made. A phase that is through
        hands over to the next one (with the offset back at 0)."""
        phases = {"teams": self._teams, "rosters": self._rosters, "users": self._users, "verify": self._verify,
                  "roles": self._roles}
        calls, through = phases[position.phase](position, allowance)
        if through:
            position.phase, position.offset = PHASES[PHASES.index(position.phase) + 1], 0
        return calls

    def _teams(self, position: _Position, allowance: int) -> tuple[int, bool]:
        self.service.write_team_list()
        return 1, True

    def _rosters(self, position: _Position, allowance: int) -> tuple[int, bool]:
        due = self.service.rosters.ledger.due(position.started, allowance)
        return (self.service.rosters.load(due), False) if due else (0, True)

    def _users(self, position: _Position, allowance: int) -> tuple[int, bool]:
        if not isinstance(self.directory, PagedUsers):
            # No offsets upstream: reading from a position costs the pages before it, so all pages in one step.
            pages = 0
            for each in self.service.user_pages(0):
                self.service.write_users(each.users, position.held, self.store.now())
                pages += 1
            return pages, True
        fetched = self.store.now()
        page = next(iter(self.service.user_pages(position.offset)), None)
        if page is not None:
            self.service.write_users(page.users, position.held, fetched)
        if page is None or page.next_offset is None:
            return 1, True
        position.offset = page.next_offset
        return 1, False

    def _verify(self, position: _Position, allowance: int) -> tuple[int, bool]:
        unseen = self.service.rosters.ledger.unseen_users(position.started, allowance)
        for user_id in unseen:
            fetched = self.store.now()
            try:
                user = self.directory.get_user(user_id, with_contacts=False)
            except d.NotFoundError:
                self.store.delete_user(user_id)  # deleted in OpsGenie
                continue
            self.service.write_users([user], position.held, fetched)
        return len(unseen), not unseen

    def _roles(self, position: _Position, allowance: int) -> tuple[int, bool]:
        """The last step; then what the cycle did not see is gone."""
        self.service.apply_roles(self.directory.list_roles(), position.held)
        self.store.sweep_sync(position.started, sweep_users=False)
        return 1, True

    def _finish(self, position: _Position) -> dict[str, Any]:
        counts = {"users": self.store.count_users(), "teams": self.store.count_groups(GroupKind.TEAM),
                  "roles": self.store.count_groups(GroupKind.ROLE)}
        seconds = (self.store.now() - position.started).total_seconds()
        return self.service.record_cycle(counts, seconds)
