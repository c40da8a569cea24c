"""The Directory protocol: everything the service layer may ask of an upstream.

Implementations translate their own API and errors into the records of ``models`` and the
exceptions of ``errors``. Every method is one upstream call unless its docstring says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple
from typing import Protocol
from typing import runtime_checkable

from scim_bridge.directory.models import Contact
from scim_bridge.directory.models import DirectoryRole
from scim_bridge.directory.models import DirectoryTeam
from scim_bridge.directory.models import DirectoryUser
from scim_bridge.directory.models import TeamChange
from scim_bridge.directory.models import TeamMember
from scim_bridge.directory.models import TeamRef
from scim_bridge.directory.models import UserFields


class TeamUpdates(Protocol):
    """The keyword form of a partial team update, written once: implementations subclass this and write
    :meth:`change_team`."""

    def update_team(
        self,
        team_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        members: list[TeamMember] | None = None,
    ) -> None:
        """Partial update; ``members`` replaces the whole roster when given."""
        self.change_team(team_id, TeamChange(name=name, description=description, members=members))

    def change_team(self, team_id: str, change: TeamChange) -> None:
        """Apply ``change`` (fields left as None keep their value)."""
        ...


class Directory(TeamUpdates, Protocol):
    # --- users ---------------------------------------------------------------------------
    def get_user(self, identifier: str, *, with_contacts: bool = True) -> DirectoryUser:
        """Fetch a user by id or username (case-insensitive). Raises NotFoundError."""
        ...

    def iter_users(self) -> Iterator[DirectoryUser]:
        """Every user, page by page (one call per page of 100). Contacts are not included."""
        ...

    def create_user(self, fields: UserFields) -> str:
        """Create a user and return its id. username, full_name and role are required."""
        ...

    def update_user(self, user_id: str, fields: UserFields) -> None:
        """Partial update: fields left as None keep their value."""
        ...

    def delete_user(self, user_id: str) -> None:
        """Delete a user. Raises ReferencedError while other entities still point at it."""
        ...

    def user_teams(self, user_id: str) -> list[TeamRef]:
        ...

    # --- contacts --------------------------------------------------------------------------
    def create_contact(self, user_id: str, method: str, to: str) -> Contact:
        ...

    def update_contact(self, user_id: str, contact_id: str, to: str) -> None:
        ...

    def delete_contact(self, user_id: str, contact_id: str) -> None:
        ...

    # --- teams -----------------------------------------------------------------------------
    def list_teams(self) -> list[DirectoryTeam]:
        """Every team, without members (one call)."""
        ...

    def get_team(self, team_id: str) -> DirectoryTeam:
        """One team with its members. Raises NotFoundError."""
        ...

    def find_team(self, name: str) -> DirectoryTeam | None:
        """One team, with members, looked up by exact name; None when absent."""
        ...

    def create_team(self, name: str, description: str, members: list[TeamMember]) -> str:
        ...

    def delete_team(self, team_id: str) -> None:
        ...

    def add_team_member(self, team_id: str, user_id: str, role: str = "user") -> None:
        ...

    def remove_team_member(self, team_id: str, user_id: str) -> bool:
        """Idempotent: removing a non-member succeeds. False when the user was not a member."""
        ...

    # --- roles -----------------------------------------------------------------------------
    def list_roles(self) -> list[DirectoryRole]:
        """Built-in and custom roles (one call for the custom ones)."""
        ...


class UserPage(NamedTuple):
    """One page of the upstream's users: ``next_offset`` is None on the last page; ``total`` as the upstream
    reports it (may change while paging)."""

    users: list[DirectoryUser]
    offset: int
    next_offset: int | None
    total: int


@runtime_checkable
class PagedUsers(Protocol):
    """A directory that can list its users from any offset, so a batch job resumes where it stopped."""

    def user_pages(self, offset: int = 0) -> Iterator[UserPage]:
        """Pages of users from ``offset`` on (one call each)."""
        ...
