"""Storage and look-ups shared by the user, team and role operations of the simulator state."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from typing import TypeVar

from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.errors import SimError
from scim_bridge.simulator.errors import not_found
from scim_bridge.simulator.models import Role
from scim_bridge.simulator.models import Team
from scim_bridge.simulator.models import User
from scim_bridge.simulator.models import builtin_roles

T = TypeVar("T")


def now_iso() -> str:
    """OpsGenie time stamps: ISO 8601 in UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def identified(
    by_id: Mapping[str, T], by_name: Callable[[str], T | None], identifier: str, identifier_type: str
) -> T:
    """The team or role ``identifier`` names, as an id or (``identifierType=name``) a name; else 404 (422 for
    an ``identifierType`` OpsGenie does not know)."""
    if identifier_type not in ("id", "name"):
        raise SimError(422, "identifierType must be one of [id, name]", {"identifierType": "invalid"})
    found = by_id.get(identifier) if identifier_type == "id" else by_name(identifier)
    if found is None:
        raise not_found()
    return found


class StateBase:
    """The account's data behind one re-entrant lock. Subclasses add the operations."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self._lock = threading.RLock()
        self._rng = random.Random(self.config.seed)
        self._users: dict[str, User] = {}
        self._usernames: dict[str, str] = {}  # lower-case username -> id
        self._teams: dict[str, Team] = {}
        self._roles: dict[str, Role] = {}
        self._user_seq = 0
        self._owner_id: str | None = None
        self._clear_directory()

    def _clear_directory(self) -> None:
        self._users.clear()
        self._usernames.clear()
        self._teams.clear()
        self._roles = {role.id: role for role in builtin_roles()}
        self._user_seq = 0
        self._owner_id = None

    def new_id(self) -> str:
        """A UUID from the state's generator, so a seeded simulator hands out the same ids."""
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    # ------------------------------------------------------------------ look-ups (call with the lock held)

    def _user(self, identifier: str) -> User:
        """Find a user by id or by username (case-insensitive), else 404."""
        user = self._users.get(identifier) or self._user_named(identifier)
        if user is None:
            raise not_found()
        return user

    def _user_named(self, username: str) -> User | None:
        """The user with that username (case-insensitive, surrounding blanks ignored), if any."""
        user_id = self._usernames.get(username.strip().lower())
        return self._users.get(user_id) if user_id else None

    def _team(self, identifier: str, identifier_type: str = "id") -> Team:
        return identified(self._teams, self._team_by_name, identifier, identifier_type)

    def _team_by_name(self, name: str) -> Team | None:
        wanted = name.lower()
        return next((t for t in self._teams.values() if t.name.lower() == wanted), None)

    def _role_by_name(self, name: str) -> Role | None:
        wanted = name.strip().lower()
        if wanted == "default user":
            wanted = "user"
        return next((r for r in self._roles.values() if r.name.lower() == wanted), None)

    def _resolve_role(self, ref: dict[str, str]) -> Role:
        """A role given as ``{"name"}`` (built-in or custom, case-insensitive) or ``{"id"}``; else 422."""
        role = self._roles.get(ref["id"]) if "id" in ref else None
        if role is None and "name" in ref:
            role = self._role_by_name(ref["name"])
        if role is None:
            shown = ref.get("name") or ref.get("id")
            raise SimError(422, f"Role [{shown}] does not exist", {"role": f"Role [{shown}] does not exist"})
        return role

    def _role_of(self, user: User) -> Role:
        return self._roles[user.role_id]

    def _user_json(self, user: User, *, with_contacts: bool = False) -> dict[str, object]:
        return user.to_json(self._role_of(user), with_contacts=with_contacts)

    def _user_teams(self, user_id: str) -> list[Team]:
        return [team for team in self._teams.values() if user_id in team.members]

    def _member_json(self, team: Team) -> list[dict[str, object]]:
        members: list[dict[str, object]] = []
        for user_id, role in team.members.items():
            user = self._users[user_id]
            members.append({"user": {"id": user.id, "username": user.username}, "role": role})
        return members

    def _team_json(self, team: Team) -> dict[str, object]:
        return {**team.summary(), "members": self._member_json(team)}
