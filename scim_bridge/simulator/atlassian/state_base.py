"""Storage and look-ups shared by the account, team and custom-role operations of the simulator state."""

from __future__ import annotations

import random
import threading
import uuid

from scim_bridge.simulator.atlassian.clock import SimClock
from scim_bridge.simulator.atlassian.config import CALLER_ACCOUNT_ID
from scim_bridge.simulator.atlassian.config import AtlassianSimConfig
from scim_bridge.simulator.atlassian.errors import ApiError
from scim_bridge.simulator.atlassian.errors import not_found
from scim_bridge.simulator.atlassian.models import Account
from scim_bridge.simulator.atlassian.models import CustomRole
from scim_bridge.simulator.atlassian.models import Team


class StateBase:
    """The organization's data behind one re-entrant lock. Subclasses add the operations."""

    def __init__(self, config: AtlassianSimConfig, clock: SimClock) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.RLock()
        self._rng = random.Random(config.seed)
        self._accounts: dict[str, Account] = {}
        self._teams: dict[str, Team] = {}
        self._roles: dict[str, CustomRole] = {}

    def _clear(self) -> None:
        self._accounts.clear()
        self._teams.clear()
        self._roles.clear()
        caller = Account(CALLER_ACCOUNT_ID, self.config.admin_email.lower(), "Simulator Admin")
        caller.product_roles = [
            ("atlassian/user", self.config.jsm_resource),
            ("atlassian/admin", self.config.jsm_resource),
        ]
        self._accounts[caller.account_id] = caller

    def new_uuid(self) -> str:
        """A UUID from the state's generator, so a seeded simulator hands out the same ids."""
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def new_account_id(self) -> str:
        return f"712020:{self.new_uuid()}"

    # ------------------------------------------------------------------ look-ups (call with the lock held)

    def _caller(self) -> Account:
        """The account of the Basic user (it exists after every reset)."""
        account = self._by_email(self.config.admin_email)
        return account if account is not None else self._accounts[CALLER_ACCOUNT_ID]

    def _by_email(self, email: str) -> Account | None:
        wanted = email.strip().lower()
        return next((a for a in self._accounts.values() if a.email == wanted), None)

    def _account(self, account_id: str, *, removed_ok: bool = False) -> Account | None:
        account = self._accounts.get(account_id)
        if account is None or (account.status == "removed" and not removed_ok):
            return None
        return account

    def _admin_account(self, account_id: str) -> Account:
        """An account of the org for an admin API call, else 404 (a removed account is gone)."""
        account = self._account(account_id)
        if account is None:
            raise not_found(f"User {account_id} was not found in the organization", code="ADMIN-404")
        return account

    def _team(self, team_id: str) -> Team:
        team = self._teams.get(team_id)
        if team is None or team.deleted:
            raise not_found(f"Team {team_id} not found", code="TEAM_NOT_FOUND")
        return team

    def _role_by_name(self, name: str) -> CustomRole | None:
        wanted = name.strip().lower()
        return next((r for r in self._roles.values() if r.name.lower() == wanted), None)

    def _role(self, identifier: str, identifier_type: str = "id") -> CustomRole:
        if identifier_type not in ("id", "name"):
            raise ApiError(400, "identifierType must be one of [id, name]")
        role = self._roles.get(identifier) if identifier_type == "id" else self._role_by_name(identifier)
        if role is None:
            raise not_found(f"Custom user role {identifier} not found", code="ROLE_NOT_FOUND")
        return role

    def _active_teams(self) -> list[Team]:
        return [team for team in self._teams.values() if not team.deleted]
