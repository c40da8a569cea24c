"""Read-only, paged queries for the operator console: searching and paging happen in SQL, so a page
costs the same with ten users or ten thousand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import FromClause

from scim_bridge.store.audit import AuditFilter
from scim_bridge.store.audit import NameMatch
from scim_bridge.store.audit import audit_where
from scim_bridge.store.audit import list_audit
from scim_bridge.store.groups import group_from_row
from scim_bridge.store.records import AuditEvent
from scim_bridge.store.records import GroupKind
from scim_bridge.store.records import GroupRecord
from scim_bridge.store.records import UserRecord
from scim_bridge.store.sqlutil import chunks
from scim_bridge.store.store import Store
from scim_bridge.store.tables import audit_events
from scim_bridge.store.tables import groups
from scim_bridge.store.tables import memberships
from scim_bridge.store.tables import suspensions
from scim_bridge.store.tables import users
from scim_bridge.store.users import user_from_row


@dataclass(frozen=True)
class Page:
    """One page of rows and the number of rows on all pages together."""

    rows: list[Any]
    total: int


def _contains(column: ColumnElement[Any], text: str) -> ColumnElement[bool]:
    """Case-insensitive "contains", with LIKE wildcards in ``text`` taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped}%", escape="\\")


def _full_name() -> ColumnElement[Any]:
    column: ColumnElement[Any] = users.c.upstream["full_name"].as_string()
    return column


# Users with their suspension records: a suspended user counts in the role it gets back, as role groups show it.
_USERS_AND_SUSPENSIONS = users.outerjoin(suspensions, suspensions.c.user_id == users.c.id)


def _user_role() -> ColumnElement[Any]:
    return func.lower(func.coalesce(suspensions.c.role, users.c.upstream["role"].as_string()))


def _user_search(text: str) -> ColumnElement[bool]:
    if not text:
        return true()
    return or_(_contains(users.c.username_lower, text), _contains(_full_name(), text))


def _count(conn: Connection, stmt: Select[Any]) -> int:
    return int(conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())


class Browser:
    """Paged reads over one store."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    # --- users -----------------------------------------------------------------------------------
    def users(self, text: str, offset: int, limit: int, *, role: str | None = None) -> Page:
        """Users whose username or display name contains ``text``, by username; optionally only the
        holders of ``role`` (case-insensitive)."""
        where = _user_search(text)
        source: FromClause = users
        if role is not None:
            where = and_(where, _user_role() == role.lower())
            source = _USERS_AND_SUSPENSIONS
        with self.engine.connect() as conn:
            total = _count(conn, select(users.c.id).select_from(source).where(where))
            stmt = select(users).select_from(source).where(where).order_by(users.c.username_lower, users.c.id)
            rows = [user_from_row(r) for r in conn.execute(stmt.offset(offset).limit(limit)).mappings()]
        return Page(rows, total)

    def team_members(self, team_id: str, text: str, offset: int, limit: int) -> Page:
        """(user, team role) of a team's members matching ``text``, by username."""
        where = and_(memberships.c.group_id == team_id, _user_search(text))
        joined = users.join(memberships, memberships.c.user_id == users.c.id)
        with self.engine.connect() as conn:
            total = _count(conn, select(users.c.id).select_from(joined).where(where))
            stmt = (select(users, memberships.c.role.label("team_role")).select_from(joined).where(where)
                    .order_by(users.c.username_lower, users.c.id).offset(offset).limit(limit))
            rows = [(user_from_row(r), r["team_role"]) for r in conn.execute(stmt).mappings()]
        return Page(rows, total)

    def suspended(self, user_ids: Sequence[str]) -> set[str]:
        """Those of ``user_ids`` that have a suspension record."""
        found: set[str] = set()
        with self.engine.connect() as conn:
            for part in chunks(list(user_ids)):
                found.update(conn.execute(select(suspensions.c.user_id).where(suspensions.c.user_id.in_(part)))
                             .scalars())
        return found

    def role_counts(self) -> dict[str, int]:
        """Lower-case role name -> how many users hold it."""
        with self.engine.connect() as conn:
            stmt = (select(_user_role().label("role"), func.count()).select_from(_USERS_AND_SUSPENSIONS)
                    .group_by(_user_role()))
            return {str(role): int(n) for role, n in conn.execute(stmt) if role is not None}

    # --- groups ----------------------------------------------------------------------------------
    def groups(self, kind: GroupKind, text: str, offset: int, limit: int) -> Page:
        """Groups of ``kind`` whose name contains ``text``, by name."""
        where = groups.c.kind == kind
        if text:
            where = and_(where, _contains(groups.c.display_lower, text))
        with self.engine.connect() as conn:
            total = _count(conn, select(groups.c.id).where(where))
            stmt = select(groups).where(where).order_by(groups.c.display_lower, groups.c.id)
            rows = [group_from_row(r) for r in conn.execute(stmt.offset(offset).limit(limit)).mappings()]
        return Page(rows, total)

    def member_counts(self, group_ids: Sequence[str]) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(group_ids, 0)
        with self.engine.connect() as conn:
            for part in chunks(list(group_ids)):
                stmt = (select(memberships.c.group_id, func.count()).where(memberships.c.group_id.in_(part))
                        .group_by(memberships.c.group_id))
                counts.update({str(gid): int(n) for gid, n in conn.execute(stmt)})
        return counts

    def teams(self) -> list[GroupRecord]:
        """Every team (for the drift report), by name."""
        with self.engine.connect() as conn:
            stmt = select(groups).where(groups.c.kind == GroupKind.TEAM).order_by(groups.c.display_lower)
            return [group_from_row(r) for r in conn.execute(stmt).mappings()]

    # --- audit -----------------------------------------------------------------------------------
    def audit(self, flt: AuditFilter, offset: int, limit: int) -> Page:
        """Audit events matching ``flt``, newest first."""
        with self.engine.connect() as conn:
            return Page(list_audit(conn, flt, limit, offset), self._audit_count(conn, flt))

    def audit_count(self, flt: AuditFilter) -> int:
        with self.engine.connect() as conn:
            return self._audit_count(conn, flt)

    @staticmethod
    def _audit_count(conn: Connection, flt: AuditFilter) -> int:
        return _count(conn, select(audit_events.c.id).where(audit_where(flt)))


__all__ = ["AuditEvent", "AuditFilter", "Browser", "NameMatch", "Page", "UserRecord"]
