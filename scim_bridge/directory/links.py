"""Links between the bridge's own ids and the ids of an upstream that does not keep them.

OpsGenie ids are the bridge's ids (SCIM ``id`` = OpsGenie id). Jira Service Management Operations
identifies people by Atlassian ``accountId`` and teams by Atlassian ``teamId``, and a bridge migrated from
OpsGenie must keep answering under the ids its identity provider already holds. A directory for such an
upstream speaks the bridge's ids to the service layer and translates them through a :class:`LinkStore`.

A link also keeps what the upstream cannot hold for a person (time zone, locale, address, tags, details,
phone contacts, the role the bridge gave): ``profile`` is a :meth:`DirectoryUser.to_json` subset, and the
directory merges it with what the upstream answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Protocol


@dataclass(frozen=True)
class UserLink:
    """One person: the bridge's id, the upstream account, and what only the bridge keeps of it."""

    local_id: str
    account_id: str
    username: str
    profile: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TeamLink:
    """One team: the bridge's id and the upstream team id."""

    local_id: str
    team_id: str
    name: str


class LinkStore(Protocol):
    """Persistent, transactional per call. Look-ups by either side; ``save_*`` inserts or replaces."""

    def user_by_local(self, local_id: str) -> UserLink | None: ...

    def user_by_account(self, account_id: str) -> UserLink | None: ...

    def user_by_username(self, username: str) -> UserLink | None:
        """Case-insensitive."""
        ...

    def save_user(self, link: UserLink) -> None: ...

    def forget_user(self, local_id: str) -> None: ...

    def iter_user_links(self) -> Iterator[UserLink]: ...

    def team_by_local(self, local_id: str) -> TeamLink | None: ...

    def team_by_upstream(self, team_id: str) -> TeamLink | None: ...

    def save_team(self, link: TeamLink) -> None: ...

    def forget_team(self, local_id: str) -> None: ...

    def iter_team_links(self) -> Iterator[TeamLink]: ...


class MemoryLinkStore:
    """A :class:`LinkStore` in memory, for the in-process directory tests and dry runs."""

    def __init__(self) -> None:
        self._users: dict[str, UserLink] = {}
        self._teams: dict[str, TeamLink] = {}

    def user_by_local(self, local_id: str) -> UserLink | None:
        return self._users.get(local_id)

    def user_by_account(self, account_id: str) -> UserLink | None:
        return next((u for u in self._users.values() if u.account_id == account_id), None)

    def user_by_username(self, username: str) -> UserLink | None:
        wanted = username.lower()
        return next((u for u in self._users.values() if u.username.lower() == wanted), None)

    def save_user(self, link: UserLink) -> None:
        self._users[link.local_id] = link

    def forget_user(self, local_id: str) -> None:
        self._users.pop(local_id, None)

    def iter_user_links(self) -> Iterator[UserLink]:
        yield from list(self._users.values())

    def team_by_local(self, local_id: str) -> TeamLink | None:
        return self._teams.get(local_id)

    def team_by_upstream(self, team_id: str) -> TeamLink | None:
        return next((t for t in self._teams.values() if t.team_id == team_id), None)

    def save_team(self, link: TeamLink) -> None:
        self._teams[link.local_id] = link

    def forget_team(self, local_id: str) -> None:
        self._teams.pop(local_id, None)

    def iter_team_links(self) -> Iterator[TeamLink]:
        yield from list(self._teams.values())
