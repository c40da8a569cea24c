"""Reading mirror rows in bulk, for rendering SCIM documents inside the store's own transaction.

The store hands a :class:`MirrorRows` to the service's renderer (:class:`scim_bridge.store.mirror.Renderer`):
the renderer asks for records by id and never sees the connection or a table.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from scim_bridge.store import coordination
from scim_bridge.store import groups as group_rows
from scim_bridge.store import members as member_rows
from scim_bridge.store import users as user_rows
from scim_bridge.store.records import GroupKind
from scim_bridge.store.records import GroupRecord
from scim_bridge.store.records import Membership
from scim_bridge.store.records import Suspension
from scim_bridge.store.records import UserRecord
from scim_bridge.store.sqlutil import chunks
from scim_bridge.store.tables import groups as groups_table
from scim_bridge.store.tables import users as users_table


@dataclass(frozen=True)
class MirrorRows:
    """The mirror's users, teams and memberships as one connection sees them."""

    conn: Connection

    def users(self, user_ids: Collection[str]) -> dict[str, UserRecord]:
        """The records of those of ``user_ids`` the mirror holds, by id."""
        return user_rows.get_users(self.conn, list(user_ids))

    def memberships_for_users(self, user_ids: Collection[str]) -> dict[str, list[Membership]]:
        """Every requested user id maps to its memberships (possibly none), by group id."""
        return member_rows.memberships_for_users(self.conn, list(user_ids))

    def team_names(self, group_ids: Iterable[str]) -> dict[str, str]:
        """id -> display name of those of ``group_ids`` that are teams."""
        names: dict[str, str] = {}
        for part in chunks(sorted(set(group_ids))):
            stmt = select(groups_table.c.id, groups_table.c.display_name).where(
                groups_table.c.id.in_(part), groups_table.c.kind == GroupKind.TEAM
            )
            names.update({row.id: row.display_name for row in self.conn.execute(stmt)})
        return names

    def role_ids(self) -> dict[str, str]:
        """Role name (lower case) -> upstream id, from the mirrored role groups."""
        stmt = select(groups_table.c.upstream).where(groups_table.c.kind == GroupKind.ROLE)
        return {str(up["name"]).lower(): str(up["id"]) for up in self.conn.execute(stmt).scalars()
                if isinstance(up, dict) and up.get("name") and up.get("id")}

    def suspensions_for_users(self, user_ids: Collection[str]) -> dict[str, Suspension]:
        """The suspension records of those of ``user_ids`` that have one."""
        return coordination.suspensions_for_users(self.conn, list(user_ids))

    def teams(self, group_ids: Collection[str]) -> dict[str, GroupRecord]:
        """The records of those of ``group_ids`` that are mirrored teams, by id."""
        found = group_rows.get_groups(self.conn, list(group_ids))
        return {gid: record for gid, record in found.items() if record.kind == GroupKind.TEAM}

    def members_for_groups(self, group_ids: Collection[str]) -> dict[str, list[Membership]]:
        """Every requested group id maps to its members (possibly none), by user id."""
        return member_rows.members_for_groups(self.conn, list(group_ids))

    def user_names(self, user_ids: Iterable[str]) -> dict[str, str]:
        """id -> user_name of the given users that exist."""
        return user_rows.user_names(self.conn, list(user_ids))

    def all_ids(self, kind: GroupKind | None) -> list[str]:
        """The ids of every user (``kind`` None) or of every group of ``kind``."""
        if kind is None:
            return list(self.conn.execute(select(users_table.c.id)).scalars())
        stmt = select(groups_table.c.id).where(groups_table.c.kind == kind)
        return list(self.conn.execute(stmt).scalars())
