"""The simulated organization plus the call log, the fault queue, the rate window and the clock.

Everything the control surface (``/__sim/``) offers is also a method here, for in-process use. All
methods are thread-safe.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any
from typing import TypedDict
from typing import TypeVar
from typing import Unpack

from scim_bridge.simulator.atlassian.clock import SimClock
from scim_bridge.simulator.atlassian.config import AtlassianSimConfig
from scim_bridge.simulator.atlassian.state_roles import RolesMixin
from scim_bridge.simulator.atlassian.state_teams import TeamsMixin
from scim_bridge.simulator.atlassian.state_users import UsersMixin
from scim_bridge.simulator.calllog import CallLog
from scim_bridge.simulator.faults import FaultQueue
from scim_bridge.simulator.faults import FaultRule
from scim_bridge.simulator.ratelimit import RollingWindow

T = TypeVar("T")

DATASETS = ("demo", "empty")
"""Seeds that also load data; any other seed only seeds the id generator."""


class StateOptions(TypedDict, total=False):
    """How an :class:`AtlassianState` starts: ``seed`` (else ``config.seed``), and the ``clock`` and ``sleep``
    tests control time with (else a real clock and :func:`time.sleep`)."""

    seed: str | None
    clock: SimClock | None
    sleep: Callable[[float], None]


class AtlassianState(UsersMixin, TeamsMixin, RolesMixin):
    """One simulated Atlassian organization with one site.

    ``seed`` (or ``config.seed``) seeds the id generator; ``"demo"`` also loads a small org (see
    :func:`scim_bridge.simulator.atlassian.seed.seed_demo`). ``clock`` and ``sleep`` are injectable
    so tests control time.
    """

    def __init__(self, config: AtlassianSimConfig | None = None, **options: Unpack[StateOptions]) -> None:
        super().__init__(config or AtlassianSimConfig(), options.get("clock") or SimClock())
        self.sleep = options.get("sleep", time.sleep)
        self.calls = CallLog(self.config.call_log_max)
        self.faults = FaultQueue()
        self.window = RollingWindow()
        seed = options.get("seed")
        self.reset(seed if seed is not None else self.config.seed)

    def reset(self, seed: str | None = None) -> None:
        """Only the calling account left; call log, faults, rate window and clock cleared; then seed."""
        from scim_bridge.simulator.atlassian.seed import seed_demo  # the seed module builds on this class

        with self._lock:
            self._rng.seed(seed if seed is not None else self.config.seed)
            self._clear()
            self.calls.clear()
            self.faults.clear()
            self.window.reset()
            self.clock.reset()
            if seed == "demo":
                seed_demo(self)

    def dump(self) -> dict[str, Any]:
        """The whole organization in the ``GET /__sim/state`` shape."""
        with self._lock:
            accounts = [
                {
                    "accountId": a.account_id,
                    "email": a.email,
                    "name": a.name,
                    "status": a.status,
                    "productRoles": [{"role": role, "resource": res} for role, res in a.product_roles],
                    "customRole": self._roles[a.custom_role_id].name if a.custom_role_id in self._roles else None,
                }
                for a in self._accounts.values()
            ]
            teams = [
                {
                    "teamId": t.team_id,
                    "displayName": t.display_name,
                    "description": t.description,
                    "opsEnabled": t.ops_enabled,
                    "members": list(t.members),
                    "deleted": t.deleted,
                }
                for t in self._teams.values()
            ]
            roles = [{"id": r.id, "name": r.name, "extendedRole": r.extended_role} for r in self._roles.values()]
            return {"accounts": accounts, "teams": teams, "customRoles": roles}

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {
                "accounts": len(self._accounts),
                "teams": len(self._active_teams()),
                "customRoles": len(self._roles),
            }

    def atomically(self, change: Callable[[], T]) -> T:
        """Run ``change`` under the lock; when it raises, the organization is put back as it was."""
        with self._lock:
            saved = copy.deepcopy((self._accounts, self._teams, self._roles))
            try:
                return change()
            except Exception:
                self._accounts, self._teams, self._roles = saved
                raise

    @property
    def caller_account_id(self) -> str:
        with self._lock:
            return self._caller().account_id

    # ------------------------------------------------------------------ knobs, faults, call log

    def update_config(self, changes: dict[str, Any]) -> dict[str, Any]:
        self.config.apply_changes(changes)
        self.calls.resize(self.config.call_log_max)
        return self.config.to_dict()

    def add_faults(self, rules: list[Any]) -> None:
        """All-or-nothing: ValueError when any rule is malformed."""
        self.faults.add([FaultRule.from_dict(rule) for rule in rules])

    def call_log(self, since: int = 0) -> list[dict[str, Any]]:
        return self.calls.entries(since)
