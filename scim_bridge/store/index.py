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

from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import NamedTuple

from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.sql.expression import FromClause

from scim_bridge.scim.filters import FilterNode
from scim_bridge.scim.filters import attribute_values
from scim_bridge.scim.filters import element_values
from scim_bridge.scim.filters import is_present
from scim_bridge.scim.filters import parse_datetime
from scim_bridge.scim.schema import COMPLEX
from scim_bridge.scim.schema import DATETIME
from scim_bridge.scim.schema import Attribute
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.schema import ResourceType
from scim_bridge.store import order
from scim_bridge.store.filtersql import filter_condition
from scim_bridge.store.filtersql import sort_target
from scim_bridge.store.filtersql import typed_column
from scim_bridge.store.sqlutil import chunks
from scim_bridge.store.sqlutil import normalize_json
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


def index_resources(conn: Connection, resource_type: ResourceType, resources: Sequence[dict[str, Any]], *,
                    in_place: bool = False) -> None:
    """Insert or replace ``resources`` (rendered SCIM JSON, each with an ``id``) of ``resource_type``.

    A few resources (a write request's), or any number with ``in_place`` (indexed ones of which few values
    changed), are updated in place: only the value rows that changed are deleted and inserted, so a
    one-attribute change touches a couple of rows and their indexes instead of dozens. Other larger batches
    (a sync's new resources) are replaced wholesale, which is cheaper per row.
    """
    if not resources:
        return
    kind = resource_type.id
    documents = {str(resource["id"]): normalize_json(resource) for resource in resources}
    paths = searchable_paths(resource_type)
    sqlite = conn.dialect.name == "sqlite"
    ordered = {p.dotted(): p.target for p in paths if p.dotted() in order.ORDERED_PATHS.get(kind, ())}
    wanted: dict[str, list[tuple[Any, ...]]] = {}
    positions: dict[str, tuple[datetime | None, dict[str, str | datetime]]] = {}
    for resource_id, document in documents.items():
        rows = wanted[resource_id] = []
        sort_values: dict[str, str | datetime] = {}
        for row in value_rows(kind, resource_id, document, paths):
            if row["sort_key"] and row["path"] in ordered:
                value = _order_value(row, ordered[row["path"]])
                if value is not None:
                    sort_values[row["path"]] = value
            if sqlite and row["value_time"] is not None:
                row["value_time"] = _sqlite_time(row["value_time"])
            rows.append(tuple(row[name] for name in _VALUE_COLUMNS))
        positions[resource_id] = (created_of(document), sort_values)
    order.write(conn, kind, positions)
    if in_place or len(documents) <= IN_PLACE_LIMIT:
        _update_in_place(conn, kind, documents, wanted)
        return
    remove_resources(conn, resource_type, list(documents), keep_order=True)
    resource_rows = [{"kind": kind, "id": rid, "created": created_of(doc), "document": doc}
                     for rid, doc in documents.items()]
    for resource_chunk in chunks(resource_rows):
        conn.execute(insert(scim_resources), list(resource_chunk))
    _insert_values(conn, [row for rows in wanted.values() for row in rows])


def order_value(resource_type: ResourceType, document: dict[str, Any], path: str) -> str | datetime | None:
    """The value ``document`` has in the keyset order of ``path`` (a sortable dotted path), as its order row
    would hold it; None without one."""
    for searchable in searchable_paths(resource_type):
        if searchable.dotted() != path:
            continue
        top = AttributePath(searchable.schema, searchable.attribute, None, searchable.extension)
        for row in value_rows(resource_type.id, "", document, [top]):
            if row["sort_key"] and row["path"] == path:
                return _order_value(row, searchable.target)
    return None


def _order_value(row: dict[str, Any], attribute: Attribute) -> str | datetime | None:
    """The value a sortable path orders by, as the query-time sort compares it (see ``_typed_column``)."""
    if attribute.type == DATETIME:
        return row["value_time"]  # type: ignore[no-any-return]
    return row["value_text"] if attribute.case_exact else row["value_lower"]  # type: ignore[no-any-return]


# Up to this many resources per call are re-indexed by difference (see index_resources).
IN_PLACE_LIMIT = 20


def _marker(conn: Connection) -> str:
    return "?" if conn.dialect.name == "sqlite" else "%s"


def _insert_values(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    # The value rows (dozens per resource) go to the driver as plain tuples: SQLAlchemy's per-row
    # parameter processing would cost more than the inserts themselves.
    if not rows:
        return
    marker = _marker(conn)
    statement = (
        f"INSERT INTO {scim_values.name} ({', '.join(_VALUE_COLUMNS)}) "
        f"VALUES ({', '.join([marker] * len(_VALUE_COLUMNS))})"
    )
    for value_chunk in chunks(rows, 5000):
        conn.exec_driver_sql(statement, list(value_chunk))


def _update_in_place(
    conn: Connection, kind: str, documents: dict[str, dict[str, Any]], wanted: dict[str, list[tuple[Any, ...]]]
) -> None:
    marker = _marker(conn)
    key_width = len(_VALUE_KEY)
    select_values = (f"SELECT {', '.join(_VALUE_COLUMNS)} FROM {scim_values.name} "
                     f"WHERE kind = {marker} AND resource_id = {marker}")
    delete_value = (f"DELETE FROM {scim_values.name} WHERE "
                    + " AND ".join(f"{name} = {marker}" for name in _VALUE_KEY))
    stale: list[tuple[Any, ...]] = []
    fresh: list[tuple[Any, ...]] = []
    for resource_id, document in documents.items():
        updated = conn.execute(
            scim_resources.update()
            .where(scim_resources.c.kind == kind, scim_resources.c.id == resource_id)
            .values(created=created_of(document), document=document)
        ).rowcount
        if not updated:
            conn.execute(insert(scim_resources).values(kind=kind, id=resource_id, created=created_of(document),
                                                       document=document))
        have = {row[:key_width]: tuple(row) for row in conn.exec_driver_sql(select_values, (kind, resource_id))}
        rows = {row[:key_width]: row for row in wanted[resource_id]}
        for key, row in have.items():
            if rows.get(key) != row:
                stale.append(key)
        fresh += [row for key, row in rows.items() if have.get(key) != row]
    if stale:
        conn.exec_driver_sql(delete_value, stale)
    _insert_values(conn, fresh)


_VALUE_COLUMNS = tuple(column.name for column in scim_values.columns)
_VALUE_KEY = ("kind", "resource_id", "path", "element", "seq")  # the primary key, first in _VALUE_COLUMNS
assert _VALUE_COLUMNS[: len(_VALUE_KEY)] == _VALUE_KEY


def _sqlite_time(moment: datetime) -> str:
    """A dateTime as the store's UTCDateTime column holds it on SQLite (naive UTC, fixed width)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


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


def remove_resources(
    conn: Connection, resource_type: ResourceType, ids: Sequence[str], *, keep_order: bool = False
) -> None:
    """Remove the resources with these ids (absent ones are ignored); ``keep_order`` when they are re-indexed
    at once and their order rows are already written."""
    kind = resource_type.id
    if not keep_order:
        order.remove(conn, kind, ids)
    for chunk in chunks(list(ids)):
        conn.execute(delete(scim_values).where(scim_values.c.kind == kind, scim_values.c.resource_id.in_(chunk)))
        conn.execute(delete(scim_resources).where(scim_resources.c.kind == kind, scim_resources.c.id.in_(chunk)))


def created_of(document: dict[str, Any]) -> datetime | None:
    meta = document.get("meta")
    created = meta.get("created") if isinstance(meta, dict) else None
    return parse_datetime(created) if isinstance(created, str) else None


def value_rows(
    kind: str, resource_id: str, document: dict[str, Any], paths: Iterable[AttributePath]
) -> Iterator[dict[str, Any]]:
    for path in paths:
        if path.sub_attribute is not None:
            continue
        whole = attribute_values(document, path)
        complex_ = path.attribute.type == COMPLEX
        for element, value in enumerate(whole):
            yield _row(kind, resource_id, path, element, 0, value, sort_key=element == 0 and not complex_)
        if not complex_:
            continue
        chosen = _sort_element(whole)
        for sub in path.attribute.sub_attributes:
            sub_path = AttributePath(path.schema, path.attribute, sub, path.extension)
            for element, parent in enumerate(whole):
                if not isinstance(parent, dict):
                    continue
                for seq, value in enumerate(element_values([parent], sub.name)):
                    yield _row(kind, resource_id, sub_path, element, seq, value, element == chosen and seq == 0)


def _sort_element(values: list[Any]) -> int | None:
    """The element sortBy reads (``sort_resources``): the first primary one, else the first one."""
    objects = [(i, value) for i, value in enumerate(values) if isinstance(value, dict)]
    for i, value in objects:
        if value.get("primary") is True:
            return i
    return objects[0][0] if objects else None


def _row(
    kind: str, resource_id: str, path: AttributePath, element: int, seq: int, value: Any, sort_key: bool
) -> dict[str, Any]:
    text = value if isinstance(value, str) else None
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    return {
        "kind": kind,
        "resource_id": resource_id,
        "path": path.dotted(),
        "element": element,
        "seq": seq,
        "value_type": _json_type(value),
        "present": is_present(value),
        "sort_key": sort_key,
        "value_text": text,
        "value_lower": None if text is None else text.casefold(),
        "value_num": None if number is None else float(number),
        "value_time": parse_datetime(text) if text is not None and path.target.type == DATETIME else None,
        "value_bool": value if isinstance(value, bool) else None,
    }


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


# ---------------------------------------------------------------------------------------------------------
# Searching.


def search(
    conn: Connection,
    resource_type: ResourceType,
    node: FilterNode | None,
    *,
    sort_by: AttributePath | None = None,
    descending: bool = False,
    start_index: int = 1,
    count: int = 100,
) -> SearchPage:
    """The page of resources matching ``node`` (all when None), with the exact total.

    ``start_index`` is 1-based (values below 1 count as 1); ``count`` of 0 returns only the total.
    """
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
        s = scim_values.alias("s")
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


def search_on(
    engine: Engine,
    resource_type: ResourceType,
    node: FilterNode | None,
    *,
    sort_by: AttributePath | None = None,
    descending: bool = False,
    start_index: int = 1,
    count: int = 100,
) -> SearchPage:
    """:func:`search` in a read transaction of its own; on PostgreSQL the count and the page come from one
    snapshot (REPEATABLE READ), so ``totalResults`` always matches the page."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            return search(conn, resource_type, node, sort_by=sort_by, descending=descending,
                          start_index=start_index, count=count)
