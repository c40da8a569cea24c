"""Keeping the SCIM search index (``index.py``) in step with the mirror tables.

The store does not know how a SCIM resource is rendered: the service layer hands it an :class:`Indexer`.
Every write transaction notes which users and groups it touched (:class:`Dirty`); just before the outermost
transaction commits, the store asks the indexer to render those resources again from the same connection
and to write them into the index, so the index changes in the same transaction as the rows it mirrors.

On PostgreSQL, two transactions re-indexing the same resource take turns (a transaction-scoped advisory
lock per resource, taken in one global order so they cannot deadlock): the later one renders after the
earlier one committed, so the index ends with the newest state. SQLite has one writer at a time anyway.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from dataclasses import field
from typing import Protocol

from sqlalchemy import bindparam
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import INTEGER
from sqlalchemy.engine import Connection

from scim_bridge.store.sqlutil import chunks

# First key of the advisory locks that serialise re-indexing of one resource (two-key form, so it
# never meets the single-key locks of locks.py).
INDEX_LOCK_CLASS = 0x5C1B


class Indexer(Protocol):
    """Renders mirror rows as SCIM documents and writes them into the index (service layer)."""

    def refresh(self, conn: Connection, user_ids: Collection[str], group_ids: Collection[str]) -> None:
        """Index these users and groups again as they now are (removing those that are gone)."""
        ...

    def reindex(self, conn: Connection, user_ids: Collection[str], group_ids: Collection[str]) -> None:
        """As ``refresh``, writing only the documents that differ from the indexed ones (a sync page)."""
        ...

    def rebuild(self, conn: Connection) -> None:
        """Make the index match every user and group of the mirror (after a full sync)."""
        ...


@dataclass
class Dirty:
    """Users and groups whose indexed documents a transaction made stale."""

    users: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.users or self.groups)


def _lock_key(kind: str, resource_id: str) -> int:
    digest = hashlib.blake2b(f"{kind}\x00{resource_id}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


_LOCK_MANY = text(
    "SELECT count(pg_advisory_xact_lock(:cls, k)) FROM (SELECT unnest(:keys) AS k ORDER BY 1) AS ordered"
).bindparams(bindparam("keys", type_=ARRAY(INTEGER())))


def lock_resources(conn: Connection, kind: str, ids: Collection[str]) -> None:
    """Take the re-indexing locks of these resources (PostgreSQL; a no-op on SQLite).

    Callers lock users before groups, each in key order, so two transactions never wait on each other in a
    cycle.
    """
    if conn.dialect.name != "postgresql" or not ids:
        return
    keys = sorted({_lock_key(kind, resource_id) for resource_id in ids})
    for part in chunks(keys, 5000):
        conn.execute(_LOCK_MANY, {"cls": INDEX_LOCK_CLASS, "keys": list(part)})
