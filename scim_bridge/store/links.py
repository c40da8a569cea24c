"""The SQL :class:`~scim_bridge.directory.links.LinkStore`: bridge ids ↔ Atlassian account and team ids.

Two tables (``user_links``, ``team_links``, migration 0006) in the bridge's own database, so every replica
and every worker sees the same links, and a link outlives the mirror (a full sync never touches them).
One account and one team belong to at most one bridge id, and a username (compared case-insensitively)
to at most one link: a ``save_*`` that would break this raises :class:`StoreConflict` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.sql.expression import ColumnElement

from scim_bridge.directory.links import TeamLink
from scim_bridge.directory.links import UserLink
from scim_bridge.store.sqlutil import insert_or_replace
from scim_bridge.store.sqlutil import normalize_json
from scim_bridge.store.store import Store
from scim_bridge.store.tables import team_links
from scim_bridge.store.tables import user_links


def _user_from_row(row: Mapping[Any, Any]) -> UserLink:
    return UserLink(row["local_id"], row["account_id"], row["username"], dict(row["profile"] or {}))


def _team_from_row(row: Mapping[Any, Any]) -> TeamLink:
    return TeamLink(row["local_id"], row["team_id"], row["name"])


class SqlLinkStore:
    """Thread-safe. Each call is its own transaction, unless made inside ``with store.transaction():`` (same
    thread; ``store`` is the :class:`Store` given here), where the calls share it and commit with it."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def transaction(self) -> AbstractContextManager[None]:
        """Run the calls made in this block in one write transaction (all or nothing)."""
        return self._store.transaction()

    def _one_user(self, condition: ColumnElement[bool]) -> UserLink | None:
        with self._store.connection() as conn:
            row = conn.execute(select(user_links).where(condition)).mappings().first()
        return None if row is None else _user_from_row(row)

    def _one_team(self, condition: ColumnElement[bool]) -> TeamLink | None:
        with self._store.connection() as conn:
            row = conn.execute(select(team_links).where(condition)).mappings().first()
        return None if row is None else _team_from_row(row)

    # --- users ---------------------------------------------------------------------------
    def user_by_local(self, local_id: str) -> UserLink | None:
        return self._one_user(user_links.c.local_id == local_id)

    def user_by_account(self, account_id: str) -> UserLink | None:
        return self._one_user(user_links.c.account_id == account_id)

    def user_by_username(self, username: str) -> UserLink | None:
        """Case-insensitive."""
        return self._one_user(user_links.c.username_lower == username.lower())

    def save_user(self, link: UserLink) -> None:
        """Insert, or replace the link of ``link.local_id``."""
        values = {
            "local_id": link.local_id,
            "account_id": link.account_id,
            "username": link.username,
            "username_lower": link.username.lower(),
            "profile": normalize_json(dict(link.profile)),
        }
        with self._store.connection(write=True) as conn:
            conn.execute(insert_or_replace(conn, user_links, values, "local_id"))

    def forget_user(self, local_id: str) -> None:
        with self._store.connection(write=True) as conn:
            conn.execute(delete(user_links).where(user_links.c.local_id == local_id))

    def iter_user_links(self) -> Iterator[UserLink]:
        """Every user link, ordered by bridge id (read in one snapshot)."""
        with self._store.connection() as conn:
            rows = list(conn.execute(select(user_links).order_by(user_links.c.local_id)).mappings())
        yield from (_user_from_row(row) for row in rows)

    def count_user_links(self) -> int:
        with self._store.connection() as conn:
            return int(conn.execute(select(func.count()).select_from(user_links)).scalar_one())

    # --- teams ---------------------------------------------------------------------------
    def team_by_local(self, local_id: str) -> TeamLink | None:
        return self._one_team(team_links.c.local_id == local_id)

    def team_by_upstream(self, team_id: str) -> TeamLink | None:
        return self._one_team(team_links.c.team_id == team_id)

    def save_team(self, link: TeamLink) -> None:
        """Insert, or replace the link of ``link.local_id``."""
        values = {"local_id": link.local_id, "team_id": link.team_id, "name": link.name}
        with self._store.connection(write=True) as conn:
            conn.execute(insert_or_replace(conn, team_links, values, "local_id"))

    def forget_team(self, local_id: str) -> None:
        with self._store.connection(write=True) as conn:
            conn.execute(delete(team_links).where(team_links.c.local_id == local_id))

    def iter_team_links(self) -> Iterator[TeamLink]:
        """Every team link, ordered by bridge id (read in one snapshot)."""
        with self._store.connection() as conn:
            rows = list(conn.execute(select(team_links).order_by(team_links.c.local_id)).mappings())
        yield from (_team_from_row(row) for row in rows)

    def count_team_links(self) -> int:
        with self._store.connection() as conn:
            return int(conn.execute(select(func.count()).select_from(team_links)).scalar_one())
