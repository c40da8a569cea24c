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

Which column a comparison reads is decided at query time from the attribute definition (type and
``caseExact``), so the semantics are those of :func:`scim_bridge.scim.filters.matches`: any-match over
multi-valued attributes, ``ne`` true on a missing attribute or a value of the wrong type, chronological
dateTimes, and sorting as :func:`scim_bridge.scim.listing.sort_resources` (primary element first, missing values
last when ascending and first when descending, ties in the default order). The default order is
``(created, id)``, resources without ``meta.created`` last.

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
from sqlalchemy import exists
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import literal
from sqlalchemy import not_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.sql.expression import FromClause

from scim_bridge.scim.filters import And
from scim_bridge.scim.filters import Compare
from scim_bridge.scim.filters import FilterNode
from scim_bridge.scim.filters import Not
from scim_bridge.scim.filters import Or
from scim_bridge.scim.filters import Present
from scim_bridge.scim.filters import ValuePath
from scim_bridge.scim.filters import attribute_values
from scim_bridge.scim.filters import comparable
from scim_bridge.scim.filters import element_values
from scim_bridge.scim.filters import is_present
from scim_bridge.scim.filters import parse_datetime
from scim_bridge.scim.schema import BOOLEAN
from scim_bridge.scim.schema import COMPLEX
from scim_bridge.scim.schema import DATETIME
from scim_bridge.scim.schema import DECIMAL
from scim_bridge.scim.schema import INTEGER
from scim_bridge.scim.schema import Attribute
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.schema import ResourceType
from scim_bridge.store import order
from scim_bridge.store.sqlutil import chunks
from scim_bridge.store.sqlutil import normalize_json
from scim_bridge.store.tables import scim_resources
from scim_bridge.store.tables import scim_values

_SUBSTRING = ("co", "sw", "ew")
_ORDERING = ("gt", "ge", "lt", "le")


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
        condition = and_(condition, _Translator(conn.dialect.name, kind).top(node))
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
        column = _typed_column(s, attribute)
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


def sort_target(path: AttributePath) -> tuple[str, Attribute]:
    """The indexed path and attribute sortBy reads: a complex attribute sorts by its ``value``."""
    if path.sub_attribute is None and path.attribute.type == COMPLEX:
        value = path.attribute.sub("value")
        if value is not None:
            return AttributePath(path.schema, path.attribute, value, path.extension).dotted(), value
    return path.dotted(), path.target


def _typed_column(table: FromClause, attribute: Attribute) -> ColumnElement[Any]:
    """The column holding ``comparable(attribute, value)``."""
    if attribute.type == BOOLEAN:
        return table.c.value_bool
    if attribute.type in (INTEGER, DECIMAL):
        return table.c.value_num
    if attribute.type == DATETIME:
        return table.c.value_time
    return table.c.value_text if attribute.case_exact else table.c.value_lower


def filter_condition(conn: Connection, kind: str, node: FilterNode) -> ColumnElement[bool]:
    """The SQL condition on ``scim_resources`` (of ``kind``) that ``node`` stands for."""
    return _Translator(conn.dialect.name, kind).top(node)


class _Translator:
    """Filter IR -> SQL conditions on ``scim_resources`` (top level) or on one element row (in ``[...]``)."""

    def __init__(self, dialect: str, kind: str) -> None:
        self._dialect = dialect
        self._kind = kind
        self._aliases = 0

    def top(self, node: FilterNode) -> ColumnElement[bool]:
        return self._node(node, None)

    def _alias(self) -> FromClause:
        self._aliases += 1
        return scim_values.alias(f"v{self._aliases}")

    def _node(self, node: FilterNode, scope: FromClause | None) -> ColumnElement[bool]:
        if isinstance(node, And):
            return and_(self._node(node.left, scope), self._node(node.right, scope))
        if isinstance(node, Or):
            return or_(self._node(node.left, scope), self._node(node.right, scope))
        if isinstance(node, Not):
            return not_(self._node(node.node, scope))
        if isinstance(node, Present):
            return self._any(node.path, scope, lambda v: v.c.present == true())
        if isinstance(node, Compare):
            return self._compare(node, scope)
        return self._value_path(node, scope)

    def _any(self, path: AttributePath, scope: FromClause | None, predicate: Any) -> ColumnElement[bool]:
        """Some value at ``path`` (within the scope's element) satisfies ``predicate(values_alias)``."""
        v = self._alias()
        where: list[ColumnElement[bool]] = [v.c.path == path.dotted()]
        if predicate is not None:
            where.append(predicate(v))
        if scope is None:
            sub = select(v.c.resource_id).where(v.c.kind == self._kind, *where)
            return scim_resources.c.id.in_(sub)
        return exists(
            select(literal(1)).where(
                v.c.kind == scope.c.kind,
                v.c.resource_id == scope.c.resource_id,
                v.c.element == scope.c.element,
                *where,
            )
        )

    def _compare(self, node: Compare, scope: FromClause | None) -> ColumnElement[bool]:
        target = node.path.target
        expected = comparable(target, node.value)
        if expected is None:  # nothing compares with it: only ``ne`` holds, for any value or none
            return true() if node.op == "ne" else false()
        if node.op == "ne":
            missing = not_(self._any(node.path, scope, None))
            differs = self._any(node.path, scope, lambda v: _differs(_typed_column(v, target), expected))
            return or_(missing, differs)
        if node.op in _SUBSTRING:
            if not isinstance(expected, str) or target.type in (BOOLEAN, INTEGER, DECIMAL, DATETIME):
                return false()
            return self._any(node.path, scope, lambda v: self._substring(node.op, _typed_column(v, target), expected))
        return self._any(node.path, scope, lambda v: _binary(node.op, _typed_column(v, target), expected))

    def _substring(self, op: str, column: ColumnElement[Any], text: str) -> ColumnElement[bool]:
        if self._dialect == "sqlite":
            # SQLite's LIKE ignores ASCII case; GLOB is case-sensitive, with [x] quoting its wildcards.
            quoted = "".join(f"[{c}]" if c in "*?[" else c for c in text)
            pattern = {"co": f"*{quoted}*", "sw": f"{quoted}*", "ew": f"*{quoted}"}[op]
            return column.op("GLOB")(pattern)
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = {"co": f"%{escaped}%", "sw": f"{escaped}%", "ew": f"%{escaped}"}[op]
        return column.like(pattern, escape="\\")

    def _value_path(self, node: ValuePath, scope: FromClause | None) -> ColumnElement[bool]:
        if scope is not None:
            raise ValueError("value filters cannot be nested")
        e = self._alias()
        inner = self._node(node.filter, e)
        sub = select(e.c.resource_id).where(
            e.c.kind == self._kind,
            e.c.path == node.path.dotted(),
            e.c.value_type == "object",
            inner,
        )
        return scim_resources.c.id.in_(sub)


def _differs(column: ColumnElement[Any], expected: Any) -> ColumnElement[bool]:
    """The value does not compare with ``expected`` (null: wrong type) or is not equal to it."""
    return or_(column.is_(None), column != expected)


def _binary(op: str, column: ColumnElement[Any], expected: Any) -> ColumnElement[bool]:
    result: ColumnElement[bool]
    if op == "eq":
        result = column == expected
    elif op == "gt":
        result = column > expected
    elif op == "ge":
        result = column >= expected
    elif op == "lt":
        result = column < expected
    elif op == "le":
        result = column <= expected
    else:
        raise ValueError(f"unsupported operator {op!r}")
    return result


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
