"""A searchable index of rendered SCIM resources: filters, sorting and paging run in SQL.

Two tables (migration 0002):

- ``scim_resources``: one row per resource — ``kind`` (the resource type id, "User" or "Group"), ``id``,
  ``created`` (from ``meta.created``, for the default order) and the rendered JSON ``document``.
- ``scim_values``: every value a filter can reach, one row each (entity-attribute-value). ``path`` is the
  canonical dotted path of :meth:`AttributePath.dotted` (``userName``, ``emails.value``, ``name.givenName``,
  ``urn:...:enterprise:2.0:User:department``); ``element`` is the position of the value among the attribute's
  values (for a sub-attribute: the position of its parent element, so that ``emails[type eq "work" and
  value co "@x"]`` is checked element by element); ``seq`` numbers values within one element. The typed
  columns hold the value as :func:`scim_bridge.scim.filters.comparable` sees it: ``value_text`` (the string),
  ``value_lower`` (case-folded), ``value_num``, ``value_time`` (an xsd:dateTime, for dateTime attributes),
  ``value_bool``. ``present`` is the ``pr`` test of the value, ``sort_key`` marks the one value sortBy uses.

Filters become SQL conditions in ``filtersql.py`` (which column a comparison reads is decided at query time
from the attribute definition); sorting follows :func:`scim_bridge.scim.listing.sort_resources` (primary
element first, missing values last when ascending and first when descending, ties in the default order).
The default order is ``(created, id)``, resources without ``meta.created`` last.

Use the module functions inside a transaction you own (``conn``); :func:`search_on` reads from an engine.

Limits: numbers are compared as double precision (integers beyond 2**53 lose exactness), and on PostgreSQL a
string longer than about 2,700 bytes cannot go into the value indexes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import NamedTuple
from typing import TypedDict
from typing import Unpack

from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy import update
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.sql.expression import FromClause

from scim_bridge import jsoncodec
from scim_bridge.scim.filters import FilterNode
from scim_bridge.scim.filters import parse_datetime
from scim_bridge.scim.schema import COMPLEX
from scim_bridge.scim.schema import Attribute
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.schema import ResourceType
from scim_bridge.store import index_values
from scim_bridge.store import order
from scim_bridge.store.filtersql import filter_condition
from scim_bridge.store.filtersql import sort_target
from scim_bridge.store.filtersql import typed_column
from scim_bridge.store.filtersql import values_alias
from scim_bridge.store.index_values import Row
from scim_bridge.store.sqlutil import chunks
from scim_bridge.store.sqlutil import insert_tuples
from scim_bridge.store.sqlutil import placeholder
from scim_bridge.store.tables import scim_resources
from scim_bridge.store.tables import scim_values


class SearchPage(NamedTuple):
    """``total``: every match (for ``totalResults``); ``resources``: the requested page, in order."""

    total: int
    resources: list[dict[str, Any]]


# ---------------------------------------------------------------------------------------------------------
# Writing.


def searchable_paths(resource_type: ResourceType) -> list[AttributePath]:
    """Every attribute and sub-attribute path of ``resource_type`` (core schema and extensions)."""
    paths: list[AttributePath] = []
    for schema in resource_type.schemas:
        extension = schema is not resource_type.schema
        for attribute in schema.attributes:
            paths.append(AttributePath(schema.id, attribute, None, extension))
            for sub in attribute.sub_attributes if attribute.type == COMPLEX else ():
                paths.append(AttributePath(schema.id, attribute, sub, extension))
    return paths


def index_resources(
    conn: Connection, resource_type: ResourceType, resources: Sequence[dict[str, Any]], *,
    previous: Mapping[str, dict[str, Any]] | None = None,
) -> None:
    """Insert or replace ``resources`` (rendered SCIM JSON, each with an ``id``) of ``resource_type``.

    A resource new to the index gets all its rows. One already indexed is compared with its indexed document,
    attribute by attribute: only the rows of the attributes that changed are computed (for both versions), and
    of those only the rows that differ are deleted and inserted, so a one-attribute change touches a couple of
    rows and their indexes. ``previous``: the indexed documents of those of ``resources`` already indexed, by
    id (as :func:`documents` reads them), when the caller has read them; otherwise they are read here.
    """
    if not resources:
        return
    kind = resource_type.id
    encoded = {str(resource["id"]): jsoncodec.dumps(resource) for resource in resources}
    if previous is None:
        previous = documents(conn, resource_type, list(encoded))
    plan = index_values.entries(resource_type)
    ordered, ordered_plan = _ordered(resource_type)
    time_column = _sqlite_time if conn.dialect.name == "sqlite" else _as_is
    positions: dict[str, order.Placement] = {}
    added: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    stale: list[Row] = []
    fresh: list[Row] = []
    for resource_id, text in encoded.items():
        before = previous.get(resource_id)
        if before is not None and jsoncodec.dumps(before) == text:
            continue  # unchanged (the same JSON, as the document column would hold it)
        document = jsoncodec.loads(text)
        if before is None:
            rows = index_values.document_rows(kind, resource_id, document, plan, time_column)
            fresh += rows
            positions[resource_id] = (created_of(document), _sort_values(rows, ordered))
            added.append({"kind": kind, "id": resource_id, "created": created_of(document), "document": document})
            continue
        updated.append({"k": kind, "i": resource_id, "c": created_of(document), "d": document})
        changed = index_values.changed_entries(plan, before, document)
        have = _keyed(index_values.document_rows(kind, resource_id, before, changed, time_column))
        want = _keyed(index_values.document_rows(kind, resource_id, document, changed, time_column))
        stale += [key for key, row in have.items() if want.get(key) != row]
        fresh += [row for key, row in want.items() if have.get(key) != row]
        # The rows of the attributes that did not change are the same in both versions: the position moved
        # only if the creation time or a sort value among the changed rows did.
        if created_of(document) != created_of(before) or (
                _sort_values(have.values(), ordered) != _sort_values(want.values(), ordered)):
            positions[resource_id] = _position(kind, resource_id, document, ordered, ordered_plan)
    order.write(conn, kind, positions)
    for part in chunks(added):
        conn.execute(insert(scim_resources), list(part))
    for part in chunks(updated):
        conn.execute(_UPDATE_DOCUMENT, list(part))
    if stale:
        marker = placeholder(conn)
        conn.exec_driver_sql(f"DELETE FROM {scim_values.name} WHERE "
                             + " AND ".join(f"{name} = {marker}" for name in index_values.VALUE_KEY), stale)
    _insert_values(conn, fresh)
    if not positions and (updated or stale or fresh):
        order.bump(conn, kind)


_UPDATE_DOCUMENT = (
    update(scim_resources)
    .where(scim_resources.c.kind == bindparam("k"), scim_resources.c.id == bindparam("i"))
    .values(created=bindparam("c"), document=bindparam("d"))
)


def _keyed(rows: list[Row]) -> dict[tuple[Any, ...], Row]:
    width = len(index_values.VALUE_KEY)
    return {row[:width]: row for row in rows}


@functools.lru_cache(maxsize=32)
def _ordered(resource_type: ResourceType) -> tuple[dict[str, Attribute], tuple[index_values.Entry, ...]]:
    """The sortable paths with order rows of ``resource_type`` and their attributes, and the top-level
    attributes holding them."""
    wanted = order.ORDERED_PATHS.get(resource_type.id, ())
    ordered: dict[str, Attribute] = {}
    holders: list[index_values.Entry] = []
    for entry in index_values.entries(resource_type):
        found = {path: attribute for path, attribute in _targets(entry) if path in wanted}
        if found:
            ordered.update(found)
            holders.append(entry)
    return ordered, tuple(holders)


def _targets(entry: index_values.Entry) -> list[tuple[str, Attribute]]:
    """The dotted paths of a top-level attribute and of its sub-attributes, with their attributes."""
    return [(entry.dotted, entry.attribute), *((sub.dotted, sub.attribute) for sub in entry.subs)]


def _sort_values(rows: Iterable[Row], ordered: Mapping[str, Attribute]) -> dict[str, str | datetime]:
    """The sort value of each ordered path among ``rows`` (those with one)."""
    values: dict[str, str | datetime] = {}
    for row in rows:
        if row[7] and row[2] in ordered:  # sort_key, path
            value = index_values.sort_value(row, ordered[row[2]])
            if value is not None:
                values[row[2]] = value
    return values


def _position(
    kind: str, resource_id: str, document: dict[str, Any], ordered: Mapping[str, Attribute],
    ordered_plan: Iterable[index_values.Entry],
) -> order.Placement:
    rows = index_values.document_rows(kind, resource_id, document, ordered_plan, _as_is)
    return created_of(document), _sort_values(rows, ordered)


def order_value(resource_type: ResourceType, document: dict[str, Any], path: str) -> str | datetime | None:
    """The value ``document`` has in the keyset order of ``path`` (a sortable dotted path), as its order row
    would hold it; None without one."""
    for entry in index_values.entries(resource_type):
        for dotted, attribute in _targets(entry):
            if dotted == path:
                return _sort_values(index_values.document_rows(resource_type.id, "", document, [entry], _as_is),
                                    {path: attribute}).get(path)
    return None


def _insert_values(conn: Connection, rows: list[Row]) -> None:
    insert_tuples(conn, scim_values, index_values.VALUE_COLUMNS, rows)


def _sqlite_time(moment: datetime) -> str:
    """A dateTime as the store's UTCDateTime column holds it on SQLite (naive UTC, fixed width)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _as_is(moment: datetime) -> datetime:
    return moment


def documents(conn: Connection, resource_type: ResourceType, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The indexed documents of these ids (those present), by id."""
    found: dict[str, dict[str, Any]] = {}
    for part in chunks(list(dict.fromkeys(ids))):
        stmt = select(scim_resources.c.id, scim_resources.c.document).where(
            scim_resources.c.kind == resource_type.id, scim_resources.c.id.in_(part)
        )
        for row in conn.execute(stmt):
            found[row.id] = dict(row.document)
    return found


def indexed_ids(conn: Connection, resource_type: ResourceType) -> list[str]:
    """The ids of every indexed resource of this type."""
    stmt = select(scim_resources.c.id).where(scim_resources.c.kind == resource_type.id)
    return list(conn.execute(stmt).scalars())


def missing_ids(conn: Connection, resource_type: ResourceType, id_column: ColumnElement[str]) -> list[str]:
    """The ids of ``id_column`` (a mirror table's) that have no indexed resource of this type, found by the
    database (no id list of either side is read)."""
    indexed = select(scim_resources.c.id).where(scim_resources.c.kind == resource_type.id,
                                                 scim_resources.c.id == id_column).exists()
    return list(conn.execute(select(id_column).where(~indexed)).scalars())


def remove_resources(conn: Connection, resource_type: ResourceType, ids: Sequence[str]) -> None:
    """Remove the resources with these ids (absent ones are ignored)."""
    kind = resource_type.id
    order.remove(conn, kind, ids)
    for chunk in chunks(list(ids)):
        conn.execute(delete(scim_values).where(scim_values.c.kind == kind, scim_values.c.resource_id.in_(chunk)))
        conn.execute(delete(scim_resources).where(scim_resources.c.kind == kind, scim_resources.c.id.in_(chunk)))


def created_of(document: dict[str, Any]) -> datetime | None:
    meta = document.get("meta")
    created = meta.get("created") if isinstance(meta, dict) else None
    return parse_datetime(created) if isinstance(created, str) else None


# ---------------------------------------------------------------------------------------------------------
# Searching.


class PageRequest(TypedDict, total=False):
    """Which page of the matches :func:`search` returns: in the order of ``sort_by`` (None, the default: the
    default order), ``descending`` or not (False), from ``start_index`` (1-based, the default; values below 1
    count as 1), ``count`` resources (100; 0 returns only the total)."""

    sort_by: AttributePath | None
    descending: bool
    start_index: int
    count: int


def search(conn: Connection, resource_type: ResourceType, node: FilterNode | None,
           **page: Unpack[PageRequest]) -> SearchPage:
    """The page of resources matching ``node`` (all when None), with the exact total."""
    sort_by = page.get("sort_by")
    descending = page.get("descending", False)
    start_index = page.get("start_index", 1)
    count = page.get("count", 100)
    kind = resource_type.id
    r = scim_resources
    condition = r.c.kind == kind
    if node is not None:
        condition = and_(condition, filter_condition(conn, kind, node))
    total = int(conn.execute(select(func.count()).select_from(r).where(condition)).scalar_one())
    if count <= 0 or total == 0:
        return SearchPage(total, [])
    source: FromClause = r
    order: list[ColumnElement[Any]] = []
    if sort_by is not None:
        s = values_alias("s")
        sort_path, attribute = sort_target(sort_by)
        source = r.outerjoin(
            s,
            and_(
                s.c.kind == r.c.kind,
                s.c.resource_id == r.c.id,
                s.c.path == sort_path,
                s.c.sort_key == true(),
            ),
        )
        column = typed_column(s, attribute)
        missing = column.is_(None)
        order = [missing.desc(), column.desc()] if descending else [missing.asc(), column.asc()]
    order += [r.c.created.is_(None).asc(), r.c.created.asc(), r.c.id.asc()]
    query = (
        select(r.c.document)
        .select_from(source)
        .where(condition)
        .order_by(*order)
        .offset(max(start_index, 1) - 1)
        .limit(count)
    )
    return SearchPage(total, [dict(row.document) for row in conn.execute(query)])


def search_on(engine: Engine, resource_type: ResourceType, node: FilterNode | None,
              **page: Unpack[PageRequest]) -> SearchPage:
    """:func:`search` in a read transaction of its own; on PostgreSQL the count and the page come from one
    snapshot (REPEATABLE READ), so ``totalResults`` always matches the page."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            return search(conn, resource_type, node, **page)
