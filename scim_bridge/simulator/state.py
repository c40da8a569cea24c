"""The simulator state: the account's directory plus the call log, the fault queue and rate limits.

Everything the HTTP control surface (``/__sim/``) offers is also a method here, for in-process use.
All methods are thread-safe.
"""

from __future__ import annotations

import copy
import random
import threading
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scim_bridge.simulator.calllog import CallLog
from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.faults import FaultQueue
from scim_bridge.simulator.faults import FaultRule
from scim_bridge.simulator.models import Role
from scim_bridge.simulator.models import Team
from scim_bridge.simulator.models import User
from scim_bridge.simulator.ratelimit import RateLimiter
from scim_bridge.simulator.roles import RolesMixin
from scim_bridge.simulator.teams import TeamsMixin
from scim_bridge.simulator.users import UsersMixin

DATASETS = ("demo", "owner", "empty")
"""Seeds that also load data; any other seed only seeds the random generator."""

OWNER_USERNAME = "owner@example.com"


@dataclass(frozen=True)
class StateSnapshot:
    """A copy of a :class:`SimulatorState` (see ``snapshot``)."""

    directory: tuple[dict[str, User], dict[str, str], dict[str, Team], dict[str, Role]]
    user_seq: int
    owner_id: str | None
    rng: Any
    fault_rng: Any
    calls: tuple[list[dict[str, Any]], int]


class InFlight:
    """The API requests being served. A reset or restore waits for them to end (``settle``), so a request still
    running (a ``delay`` fault, a client that gave up) never writes into the state that follows."""

    def __init__(self, limit: float = 30.0) -> None:
        self._done = threading.Condition()
        self._active = 0
        self.limit = limit

    def enter(self) -> None:
        with self._done:
            self._active += 1

    def leave(self) -> None:
        with self._done:
            self._active -= 1
            self._done.notify_all()

    def settle(self) -> bool:
        """Wait until no API request is running (at most ``limit`` seconds); whether none is."""
        with self._done:
            return self._done.wait_for(lambda: self._active == 0, timeout=self.limit)


class SimulatorState(UsersMixin, TeamsMixin, RolesMixin):
    """One simulated OpsGenie account.

    ``seed`` (or ``config.seed``) seeds the generator of ids and random faults; when it names a
    dataset (``"demo"``: a small realistic directory, ``"owner"``: only the account owner,
    ``"empty"``) that data is loaded as well.
    """

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        *,
        seed: str | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(config)
        self.calls = CallLog(self.config.call_log_max)
        self.faults = FaultQueue()
        self.limiter = RateLimiter(clock) if clock else RateLimiter()
        self._fault_rng = random.Random()
        self._fault_lock = threading.Lock()
        self.in_flight = InFlight()
        self.reset(seed if seed is not None else self.config.seed)

    # ------------------------------------------------------------------ lifecycle

    def reset(self, seed: str | None = None) -> None:
        """Empty the account, the call log, the fault queue and the rate-limit buckets; then seed.

        Without ``seed`` the account stays empty and the generator is seeded from ``config.seed``.
        """
        from scim_bridge.simulator.seed import seed_demo  # the seed module builds on this class

        rng_seed = seed if seed is not None else self.config.seed
        self.in_flight.settle()
        with self._lock:
            self._rng.seed(rng_seed)
            with self._fault_lock:
                self._fault_rng.seed(None if rng_seed is None else f"{rng_seed}:faults")
            self._clear_directory()
            self.calls.clear()
            self.faults.clear()
            self.limiter.reset()
            if seed == "demo":
                seed_demo(self)
            elif seed == "owner":
                self.create_user(
                    {"username": OWNER_USERNAME, "fullName": "Account Owner", "role": {"name": "Owner"}}
                )

    def snapshot(self) -> StateSnapshot:
        """The whole account, generators and call log as they are now; :meth:`restore` brings them back."""
        with self._lock, self._fault_lock:
            return StateSnapshot(
                directory=copy.deepcopy((self._users, self._usernames, self._teams, self._roles)),
                user_seq=self._user_seq, owner_id=self._owner_id, rng=self._rng.getstate(),
                fault_rng=self._fault_rng.getstate(), calls=self.calls.snapshot(),
            )

    def restore(self, saved: StateSnapshot) -> None:
        """Put back a :meth:`snapshot`: the account, the generators (the next ids are the same) and the call
        log (its entries and numbering); the fault queue and the rate-limit buckets are emptied, as by reset."""
        self.in_flight.settle()
        with self._lock, self._fault_lock:
            self._users, self._usernames, self._teams, self._roles = copy.deepcopy(saved.directory)
            self._user_seq, self._owner_id = saved.user_seq, saved.owner_id
            self._rng.setstate(saved.rng)
            self._fault_rng.setstate(saved.fault_rng)
            self.calls.restore(saved.calls)
            self.faults.clear()
            self.limiter.reset()

    def random(self) -> float:
        """A draw from the fault generator (seeded, so fault sequences repeat)."""
        with self._fault_lock:
            return self._fault_rng.random()

    def choice(self, options: list[int]) -> int:
        with self._fault_lock:
            return self._fault_rng.choice(options)

    def update_config(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change knobs live (ValueError on a bad one); returns every knob."""
        with self._lock:
            self.config.apply_changes(changes)
            self.calls.resize(self.config.call_log_max)
            return self.config.to_dict()

    # ------------------------------------------------------------------ faults and call log

    def add_fault(self, method: str, path: str, action: str, times: int = 1) -> None:
        """Queue one scripted fault, e.g. ``add_fault("POST", "/v2/users", "after_write:503")``."""
        self.faults.add([FaultRule(method, path, action, times)])

    def add_faults(self, rules: Iterable[Mapping[str, Any] | FaultRule]) -> None:
        parsed = [r if isinstance(r, FaultRule) else FaultRule.from_dict(dict(r)) for r in rules]
        self.faults.add(parsed)

    def clear_faults(self) -> None:
        self.faults.clear()

    def list_faults(self) -> list[dict[str, Any]]:
        return self.faults.rules()

    def call_log(self, since: int = 0) -> list[dict[str, Any]]:
        return self.calls.entries(since)

    def clear_calls(self) -> None:
        self.calls.clear()

    # ------------------------------------------------------------------ bulk data and dump

    def bulk(
        self,
        users: int = 0,
        teams: int = 0,
        members_per_team: int = 0,
        *,
        domain: str = "example.com",
        prefix: str = "user",
        role: str = "User",
    ) -> dict[str, int]:
        """Generate users ``<prefix>NNNNN@<domain>`` and teams ``team-NNNN`` quickly (no API checks).

        Each new team gets ``members_per_team`` members drawn round-robin from the new users (or
        from all users when none are created); its first member is a team admin.
        """
        if min(users, teams, members_per_team) < 0:
            raise ValueError("counts must not be negative")
        with self._lock:
            role_obj = self._resolve_role({"name": role})
            created: list[User] = []
            index = len(self._users)
            while len(created) < users:
                index += 1
                username = f"{prefix}{index:05d}@{domain}".lower()
                if username in self._usernames:
                    continue
                full_name = f"{prefix.capitalize()} {index:05d}"
                created.append(self._new_bulk_user(username, full_name, role_obj.id))
            pool = [u.id for u in created] or list(self._users)
            per_team = min(members_per_team, len(pool))
            made_teams = 0
            number = len(self._teams)
            while made_teams < teams:
                number += 1
                name = f"team-{number:04d}"
                if self._team_by_name(name) is not None:
                    continue
                team = Team(id=self.new_id(), name=name, description=f"Generated team {number}")
                start = made_teams * per_team
                for offset in range(per_team):
                    user_id = pool[(start + offset) % len(pool)]
                    team.members[user_id] = "admin" if offset == 0 else "user"
                self._teams[team.id] = team
                made_teams += 1
            return {"users": len(created), "teams": made_teams, "membersPerTeam": per_team}

    def dump(self) -> dict[str, Any]:
        """Everything: users with contacts and teams, teams with members, custom roles, the owner."""
        with self._lock:
            users = []
            for user in self._users.values():
                body = self._user_json(user, with_contacts=True)
                body["invitationDisabled"] = user.invitation_disabled
                body["teams"] = [{"id": t.id, "name": t.name} for t in self._user_teams(user.id)]
                users.append(body)
            return {
                "users": users,
                "teams": [self._team_json(t) for t in self._teams.values()],
                "roles": [r.to_json() for r in self._roles.values() if not r.builtin],
                "builtinRoles": [r.to_json() for r in self._roles.values() if r.builtin],
                "ownerId": self._owner_id,
            }

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {"users": len(self._users), "teams": len(self._teams), "roles": len(self._roles)}
