"""The keyset order of the search index (table ``scim_order``) and the index generations.

Every indexed resource has one order row per sortable path of its kind, plus one for the default order
(path ``""``). A row's position is ``(value_key, tie_key)``:

- ``value_key`` is ``"1"`` followed by the sort value as the index compares it (the case-folded string for
  a case-insensitive attribute, the string itself for a case-exact one, a fixed-width UTC time for a
  dateTime), or ``"2"`` when the resource has no value: byte order of the keys is the SCIM order, missing
  values last when ascending (and first when descending, read backwards). Always ``""`` in the default order.
- ``tie_key`` is the default order: ``"a"`` + the fixed-width creation time, or ``"b"`` without one, then
  ``"|"`` and the id. It breaks ties between equal values, ascending in both directions, as
  :func:`scim_bridge.scim.listing.sort_resources` does.

Both are code-point ordered text (SQLite's BINARY collation, ``"C"`` on PostgreSQL), so one index
``(kind, sort_path, value_key, tie_key)`` serves every page at any depth in O(log n).

``scim_generations`` counts the writes to the index per kind (see :func:`bump`); a page boundary remembered
under one generation is valid until it moves. The generation of Groups also moves when the set of team rosters
the mirror holds changes (:func:`held_rosters_changed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import Connection

from scim_bridge.scim.schema import GROUP
from scim_bridge.store.sqlutil import chunks
from scim_bridge.store.sqlutil import insert_ignoring
from scim_bridge.store.sqlutil import insert_tuples
from scim_bridge.store.tables import scim_generations
from scim_bridge.store.tables import scim_order

DEFAULT_ORDER = ""
# Sortable paths with order rows, per resource kind (canonical dotted paths). Others sort with a query-time join.
ORDERED_PATHS: Mapping[str, tuple[str, ...]] = {
    "User": ("userName", "displayName", "meta.lastModified", "externalId"),
    "Group": ("displayName", "meta.lastModified", "externalId"),
}
_ORDER_COLUMNS = ("kind", "sort_path", "resource_id", "value_key", "tie_key")
PRESENT = "1"
MISSING = "2"


# Where a resource goes in every order of its kind: its creation time and its sort value per sortable path.
Placement = tuple[datetime | None, Mapping[str, str | datetime]]


class Position(NamedTuple):
    """Where a resource stands in one order: the keys of its order row."""

    value_key: str
    tie_key: str


def stamp(moment: datetime) -> str:
    """A UTC time as fixed-width text: lexical order is chronological order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def tie_key(created: datetime | None, resource_id: str) -> str:
    return ("a" + stamp(created) if created is not None else "b") + "|" + resource_id


def value_key(value: str | datetime | None) -> str:
    if value is None:
        return MISSING
    return PRESENT + (stamp(value) if isinstance(value, datetime) else value)


def write(conn: Connection, kind: str, resources: Mapping[str, Placement]) -> None:
    """Replace the order rows of ``resources``: ``{id: (created, {sortable path: sort value})}``."""
    if not resources:
        return
    paths = ORDERED_PATHS.get(kind, ())
    rows: list[tuple[str, str, str, str, str]] = []
    for resource_id, (created, values) in resources.items():
        tie = tie_key(created, resource_id)
        rows.append((kind, DEFAULT_ORDER, resource_id, "", tie))
        rows += [(kind, path, resource_id, value_key(values.get(path)), tie) for path in paths]
    remove(conn, kind, list(resources), bump_generation=False)
    insert_tuples(conn, scim_order, _ORDER_COLUMNS, rows)
    bump(conn, kind)


def remove(conn: Connection, kind: str, ids: Sequence[str], *, bump_generation: bool = True) -> None:
    for part in chunks(list(ids)):
        conn.execute(delete(scim_order).where(scim_order.c.kind == kind, scim_order.c.resource_id.in_(part)))
    if ids and bump_generation:
        bump(conn, kind)


def bump(conn: Connection, kind: str) -> None:
    """Move the generation of ``kind``: the index changed in this transaction."""
    step = update(scim_generations).where(scim_generations.c.kind == kind).values(
        generation=scim_generations.c.generation + 1)
    if conn.execute(step).rowcount == 0:
        conn.execute(insert_ignoring(conn, scim_generations, {"kind": kind, "generation": 0}, "kind"))
        conn.execute(step)


def held_rosters_changed(conn: Connection) -> None:
    """Which team rosters the mirror holds (``groups.members_known``) changed in this transaction: move the
    generation of Groups, under which :class:`scim_bridge.store.rosters.RosterLedger` remembers whether any
    roster is outstanding, even when no indexed document changed."""
    bump(conn, GROUP.id)


def generation(conn: Connection, kind: str) -> int:
    found = conn.execute(select(scim_generations.c.generation).where(scim_generations.c.kind == kind)).scalar()
    return int(found or 0)
