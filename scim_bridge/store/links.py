"""The SQL :class:`~scim_bridge.directory.links.LinkStore`: bridge ids ↔ Atlassian account and team ids.

Two tables (``user_links``, ``team_links``, migration 0006) in the bridge's own database, so every replica
and every worker sees the same links, and a link outlives the mirror (a full sync never touches them).
One account and one team belong to at most one bridge id, and a username (compared case-insensitively)
to at most one link: a ``save_*`` that would break this raises :class:`StoreConflict` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from typing import TypeVar

from sqlalchemy import Table
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.sql.expression import ColumnElement

from scim_bridge.directory.links import TeamLink
from scim_bridge.directory.links import UserLink
from scim_bridge.store.sqlutil import Row
from scim_bridge.store.sqlutil import first_row
from scim_bridge.store.sqlutil import insert_or_replace
from scim_bridge.store.sqlutil import normalize_json
from scim_bridge.store.store import Store
from scim_bridge.store.tables import team_links
from scim_bridge.store.tables import user_links

_Link = TypeVar("_Link", UserLink, TeamLink)


def _user_from_row(row: Row) -> UserLink:
    return UserLink(row["local_id"], row["account_id"], row["username"], dict(row["profile"] or {}))


def _team_from_row(row: Row) -> TeamLink:
    return TeamLink(row["local_id"], row["team_id"], row["name"])


class SqlLinkStore:
    """Thread-safe. Each call is its own transaction, unless made inside ``with store.transaction():`` (same
    thread; ``store`` is the :class:`Store` given here), where the calls share it and commit with it."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the calls made in this block in one write transaction (all or nothing)."""
        with self._store.transaction():
            yield

    def _one(self, table: Table, condition: ColumnElement[bool], build: Callable[[Row], _Link]) -> _Link | None:
        with self._store.connection() as conn:
            return first_row(conn, select(table).where(condition), build)

    def _save(self, table: Table, values: dict[str, Any]) -> None:
        """Insert, or replace the link of ``values["local_id"]``."""
        with self._store.connection(write=True) as conn:
            conn.execute(insert_or_replace(conn, table, values, "local_id"))

    def _forget(self, table: Table, local_id: str) -> None:
        with self._store.connection(write=True) as conn:
            conn.execute(delete(table).where(table.c.local_id == local_id))

    def _every(self, table: Table, build: Callable[[Row], _Link]) -> Iterator[_Link]:
        """Every link of the table, ordered by bridge id (read in one snapshot)."""
        with self._store.connection() as conn:
            rows = list(conn.execute(select(table).order_by(table.c.local_id)).mappings())
        yield from (build(row) for row in rows)

    # --- users ---------------------------------------------------------------------------
    def user_by_local(self, local_id: str) -> UserLink | None:
        return self._one(user_links, user_links.c.local_id == local_id, _user_from_row)

    def user_by_account(self, account_id: str) -> UserLink | None:
        return self._one(user_links, user_links.c.account_id == account_id, _user_from_row)

    def user_by_username(self, username: str) -> UserLink | None:
        """Case-insensitive."""
        return self._one(user_links, user_links.c.username_lower == username.lower(), _user_from_row)

    def save_user(self, link: UserLink) -> None:
        """Insert, or replace the link of ``link.local_id``."""
        self._save(user_links, {
            "local_id": link.local_id,
            "account_id": link.account_id,
            "username": link.username,
            "username_lower": link.username.lower(),
            "profile": normalize_json(dict(link.profile)),
        })

    def forget_user(self, local_id: str) -> None:
        self._forget(user_links, local_id)

    def iter_user_links(self) -> Iterator[UserLink]:
        """Every user link, ordered by bridge id (read in one snapshot)."""
        return self._every(user_links, _user_from_row)

    # --- teams ---------------------------------------------------------------------------
    def team_by_local(self, local_id: str) -> TeamLink | None:
        return self._one(team_links, team_links.c.local_id == local_id, _team_from_row)

    def team_by_upstream(self, team_id: str) -> TeamLink | None:
        return self._one(team_links, team_links.c.team_id == team_id, _team_from_row)

    def save_team(self, link: TeamLink) -> None:
        """Insert, or replace the link of ``link.local_id``."""
        self._save(team_links, {"local_id": link.local_id, "team_id": link.team_id, "name": link.name})

    def forget_team(self, local_id: str) -> None:
        self._forget(team_links, local_id)

    def iter_team_links(self) -> Iterator[TeamLink]:
        """Every team link, ordered by bridge id (read in one snapshot)."""
        return self._every(team_links, _team_from_row)

    # --- both ----------------------------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        """How many user links and team links there are (read in one snapshot)."""
        with self._store.connection() as conn:
            users, teams = (
                int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in (user_links, team_links)
            )
        return users, teams
