"""Keeping the SCIM search index (``index.py``) in step with the mirror tables.

The store does not know how a SCIM resource is rendered: the service layer hands it a :class:`Renderer`,
which turns mirror rows (read through :class:`scim_bridge.store.mirror_rows.MirrorRows`) into SCIM documents,
wrapped in a :class:`DocumentIndexer`, the store's :class:`Indexer`. Every write transaction notes which users
and groups it touched (:class:`Dirty`); just before the outermost transaction commits, the store asks the
indexer to render those resources again from the same connection and to write them into the index, so the
index changes in the same transaction as the rows it mirrors.

On PostgreSQL, two transactions re-indexing the same resource take turns (a transaction-scoped advisory
lock per resource, taken in one global order so they cannot deadlock): the later one renders after the
earlier one committed, so the index ends with the newest state. SQLite has one writer at a time anyway.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Protocol

from sqlalchemy import bindparam
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import INTEGER
from sqlalchemy.engine import Connection

from scim_bridge.scim.schema import GROUP
from scim_bridge.scim.schema import USER
from scim_bridge.scim.schema import ResourceType
from scim_bridge.store import index
from scim_bridge.store.mirror_rows import MirrorRows
from scim_bridge.store.records import GroupKind
from scim_bridge.store.sqlutil import chunks
from scim_bridge.store.tables import users as users_table

# First key of the advisory locks that serialise re-indexing of one resource (two-key form, so it
# never meets the single-key locks of locks.py).
INDEX_LOCK_CLASS = 0x5C1B
# Resources rendered and compared per step of a full re-index.
REBUILD_BATCH = 500
# A rendered SCIM document of each of a set of resources, by id.
Documents = dict[str, dict[str, Any]]
# The documents rendered for the index, by resource type id ("User", "Group").
Rendered = dict[str, Documents]


class Renderer(Protocol):
    """How mirrored users and teams render as SCIM documents (service layer)."""

    def users(self, rows: MirrorRows, user_ids: Collection[str]) -> Documents:
        """Documents of those of ``user_ids`` the mirror holds, by id."""
        ...

    def teams(self, rows: MirrorRows, group_ids: Collection[str]) -> Documents:
        """Documents of those of ``group_ids`` that are mirrored teams, by id."""
        ...


class Indexer(Protocol):
    """Renders mirror rows as SCIM documents and writes them into the index."""

    def refresh(self, conn: Connection, user_ids: Collection[str], group_ids: Collection[str]) -> Rendered:
        """Index these users and groups again as they now are (removing those that are gone); returns the
        documents rendered for them."""
        ...

    def reindex(self, conn: Connection, user_ids: Collection[str], group_ids: Collection[str]) -> None:
        """As ``refresh``, writing only the documents that differ from the indexed ones (a sync page)."""
        ...

    def rebuild(self, conn: Connection) -> None:
        """Make the index match every user and group of the mirror (after a full sync)."""
        ...

    def index_missing(self, conn: Connection) -> None:
        """Index the mirrored users the index lacks (a sync page may leave new users to a later write)."""
        ...


@dataclass
class Dirty:
    """Users and groups whose indexed documents a transaction made stale; once it committed, the documents
    rendered for them then (``Store.transaction()`` yields it: a writer answers with the document rendered for
    the index instead of rendering it again)."""

    users: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    rendered: Rendered = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.users or self.groups)

    def document(self, resource_type: ResourceType, resource_id: str) -> dict[str, Any] | None:
        """The document of ``resource_id`` as the committed transaction indexed it; None when it indexed none
        (not written, gone, or no index kept)."""
        return self.rendered.get(resource_type.id, {}).get(resource_id)


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


# One of the Renderer's methods.
RenderStep = Callable[[MirrorRows, Collection[str]], Documents]


class DocumentIndexer:
    """The :class:`Indexer` that renders with a :class:`Renderer`: users, then teams; role groups are not
    indexed."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer

    def _start(
        self, conn: Connection, user_ids: Collection[str], group_ids: Collection[str]
    ) -> tuple[MirrorRows, tuple[tuple[ResourceType, Collection[str], RenderStep], ...]]:
        """Lock the resources (users before groups) and pair each type with its ids and its renderer."""
        lock_resources(conn, USER.id, user_ids)
        lock_resources(conn, GROUP.id, group_ids)
        return MirrorRows(conn), ((USER, user_ids, self.renderer.users), (GROUP, group_ids, self.renderer.teams))

    def refresh(self, conn: Connection, user_ids: Collection[str], group_ids: Collection[str]) -> Rendered:
        rows, steps = self._start(conn, user_ids, group_ids)
        rendered: Rendered = {}
        for resource_type, ids, render in steps:
            if not ids:
                continue
            documents = rendered[resource_type.id] = render(rows, ids)
            index.remove_resources(conn, resource_type, [rid for rid in ids if rid not in documents])
            index.index_resources(conn, resource_type, list(documents.values()))
        return rendered

    def reindex(self, conn: Connection, user_ids: Collection[str], group_ids: Collection[str]) -> None:
        rows, steps = self._start(conn, user_ids, group_ids)
        for resource_type, ids, render in steps:
            for part in chunks(sorted(ids), REBUILD_BATCH):
                documents = render(rows, part)
                index.remove_resources(conn, resource_type, [rid for rid in part if rid not in documents])
                index_changed(conn, resource_type, part, documents)

    def index_missing(self, conn: Connection) -> None:
        missing = index.missing_ids(conn, USER, users_table.c.id)
        if missing:
            self.reindex(conn, missing, ())

    def rebuild(self, conn: Connection) -> None:
        """Re-index only what changed (documents equal to the indexed ones are left alone), a batch of
        resources at a time so that memory stays flat whatever the size of the directory."""
        rows = MirrorRows(conn)
        for resource_type, kind, render in (
            (USER, None, self.renderer.users), (GROUP, GroupKind.TEAM, self.renderer.teams),
        ):
            wanted = rows.all_ids(kind)
            present = set(wanted)
            indexed = index.indexed_ids(conn, resource_type)
            index.remove_resources(conn, resource_type, [rid for rid in indexed if rid not in present])
            for part in chunks(wanted, REBUILD_BATCH):
                index_changed(conn, resource_type, part, render(rows, part))


def index_changed(conn: Connection, resource_type: ResourceType, ids: Sequence[str], documents: Documents) -> None:
    """Index the documents that differ from the indexed ones (of ``ids``): a new one whole, an indexed one by the
    rows of the attributes that changed (a write or a roster load changing a few attributes of many, e.g. the
    ``groups`` of a roster's members)."""
    index.index_resources(conn, resource_type, list(documents.values()),
                          previous=index.documents(conn, resource_type, ids))
