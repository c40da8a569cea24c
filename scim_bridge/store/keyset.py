"""Pages of the search index by position (keyset paging), at the same cost at any depth.

A page is read from the order index ``(kind, sort_path, value_key, tie_key)`` (see ``order.py``) starting
just after a :class:`Position`, so an RFC 9865 cursor is a position and not an offset: rows inserted or
deleted elsewhere never make a walk skip or repeat a row that existed throughout it.

``startIndex`` pages reach their first row from a remembered boundary (:class:`PageMarks`: where the
previous page of the same query ended, valid for one generation of the index); without one, the
boundary is found by skipping rows of the order index alone (no document is read), and remembered.
The exact ``totalResults`` of a filter is counted once per generation of the index and remembered with the
boundaries, so a walk of many pages counts once.

Descending order reads value keys downwards but ties (equal values) still upwards, so a page is read in two
index ranges: the rest of the rows sharing the boundary's value, then the rows beyond that value.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from scim_bridge.scim.filters import FilterNode
from scim_bridge.scim.filters import render
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.schema import ResourceType
from scim_bridge.store import filtersql
from scim_bridge.store import index
from scim_bridge.store import order
from scim_bridge.store.order import Position
from scim_bridge.store.tables import scim_order
from scim_bridge.store.tables import scim_resources

# A remembered boundary this many rows before a requested startIndex is still worth walking from.
MARK_REACH = 1000
# Up to this many matches of a filter are sorted for each page; more are found walking the order index.
SORT_MATCHES_BELOW = 5000


@dataclass(frozen=True)
class KeysetPage:
    """``resources`` in order with their ``positions``; ``more``: rows remain beyond the page, in the
    direction it was read."""

    total: int
    resources: list[dict[str, Any]]
    positions: list[Position]
    more: bool


def order_path(resource_type: ResourceType, sort_by: AttributePath | None) -> str | None:
    """The order rows serving ``sort_by`` (``""``: the default order), or None when it has none."""
    if sort_by is None:
        return order.DEFAULT_ORDER
    path = filtersql.sort_target(sort_by)[0]
    return path if path in order.ORDERED_PATHS.get(resource_type.id, ()) else None


def count_matches(conn: Connection, resource_type: ResourceType, node: FilterNode | None) -> int:
    """The number of indexed resources of ``resource_type`` matching ``node`` (all when None)."""
    r = scim_resources
    condition = r.c.kind == resource_type.id
    if node is not None:
        condition = and_(condition, filtersql.filter_condition(conn, resource_type.id, node))
    return int(conn.execute(select(func.count()).select_from(r).where(condition)).scalar_one())


class _Walk:
    """The rows of one query in one order and direction."""

    def __init__(self, conn: Connection, resource_type: ResourceType, node: FilterNode | None, path: str,
                 *, descending: bool, backward: bool, matches: int) -> None:
        o, r = scim_order, scim_resources
        self.conn = conn
        self.value_down = descending != backward
        self.tie_down = backward
        self.where: list[ColumnElement[bool]] = [o.c.kind == resource_type.id, o.c.sort_path == path]
        self.source: Any = o
        self.value_column: ColumnElement[str] = o.c.value_key
        self.tie_column: ColumnElement[str] = o.c.tie_key
        if node is None:
            return
        condition = filtersql.filter_condition(conn, resource_type.id, node)
        if matches <= SORT_MATCHES_BELOW:
            # Few matches: read them through the filter's indexes and sort them, rather than walk the whole
            # order index testing each row. Sorting on an expression keeps the planner off that walk.
            self.where.append(o.c.resource_id.in_(select(r.c.id).where(r.c.kind == resource_type.id, condition)))
            self.value_column, self.tie_column = o.c.value_key.concat(""), o.c.tie_key.concat("")
        else:
            self.source = o.join(r, and_(r.c.kind == o.c.kind, r.c.id == o.c.resource_id))
            self.where.append(condition)

    def _ordered(self, stmt: Select[Any], *, by_value: bool) -> Select[Any]:
        tie = self.tie_column.desc() if self.tie_down else self.tie_column.asc()
        if not by_value:
            return stmt.order_by(tie)
        value = self.value_column.desc() if self.value_down else self.value_column.asc()
        return stmt.order_by(value, tie)

    def positions(self, after: Position | None, limit: int, skip: int = 0) -> list[Position]:
        """Up to ``limit`` positions following ``after`` (from the start when None), ``skip`` rows on."""
        o = scim_order
        found: list[Position] = []
        if after is not None:
            tie = o.c.tie_key < after.tie_key if self.tie_down else o.c.tie_key > after.tie_key
            same = (select(o.c.value_key, o.c.tie_key).select_from(self.source)
                    .where(*self.where, o.c.value_key == after.value_key, tie))
            found = self._run(self._ordered(same, by_value=False).limit(skip + limit))
        skipped = min(skip, len(found))
        found = found[skipped:]
        if len(found) < limit:
            beyond = select(o.c.value_key, o.c.tie_key).select_from(self.source).where(*self.where)
            if after is not None:
                beyond = beyond.where(o.c.value_key < after.value_key if self.value_down
                                      else o.c.value_key > after.value_key)
            stmt = self._ordered(beyond, by_value=True).limit(limit - len(found))
            found += self._run(stmt.offset(skip - skipped) if skip > skipped else stmt)
        return found

    def _run(self, stmt: Select[Any]) -> list[Position]:
        return [Position(row[0], row[1]) for row in self.conn.execute(stmt)]


def _documents(conn: Connection, resource_type: ResourceType, positions: Sequence[Position]) -> list[dict[str, Any]]:
    ids = [p.tie_key.partition("|")[2] for p in positions]
    found = index.documents(conn, resource_type, ids)
    return [found[i] for i in ids if i in found]


def page_after(
    conn: Connection, resource_type: ResourceType, node: FilterNode | None, path: str, *, descending: bool,
    after: Position | None, count: int, backward: bool = False, marks: PageMarks | None = None,
) -> KeysetPage:
    """The ``count`` resources following ``after`` (or, ``backward``, preceding it), in the query's order.

    With ``marks`` the total is counted once per index generation (see :meth:`PageMarks.total`)."""
    total = _total(conn, resource_type, node, marks)
    return _page(conn, resource_type, node, path, descending=descending, after=after, count=count,
                 backward=backward, total=total)[0]


def _total(conn: Connection, resource_type: ResourceType, node: FilterNode | None, marks: PageMarks | None,
           generation: int | None = None) -> int:
    if marks is None:
        return count_matches(conn, resource_type, node)
    if generation is None:
        generation = order.generation(conn, resource_type.id)
    key = (resource_type.id, render(node) if node is not None else "", generation)
    found = marks.total(key)
    if found is None:
        found = count_matches(conn, resource_type, node)
        marks.remember_total(key, found)
    return found


def _page(
    conn: Connection, resource_type: ResourceType, node: FilterNode | None, path: str, *, descending: bool,
    after: Position | None, count: int, total: int, backward: bool = False, skip: int = 0,
) -> tuple[KeysetPage, Position | None]:
    """The page ``skip`` rows after ``after``, and (when ``skip``) the position of the row just before it."""
    if count <= 0 or total == 0:
        return KeysetPage(total, [], [], False), None
    walk = _Walk(conn, resource_type, node, path, descending=descending, backward=backward, matches=total)
    positions = walk.positions(after, count + 1 + min(skip, 1), max(skip - 1, 0))
    before = positions.pop(0) if skip and positions else None
    more = len(positions) > count
    positions = positions[:count]
    if backward:
        positions.reverse()
    return KeysetPage(total, _documents(conn, resource_type, positions), positions, more), before


class PageMarks:
    """Remembered page boundaries, per query and index generation: where the row at a 0-based offset stands;
    and the totals of filters, per index generation.

    Process-local and bounded (least recently used queries are forgotten); a boundary or a total is only
    ever used under the generation it was seen in (every write to the index moves it, in the writing
    transaction), so it is exact, not a guess.
    """

    def __init__(self, max_queries: int = 256, max_marks: int = 2048) -> None:
        self._max_queries = max_queries
        self._max_marks = max_marks
        self._lock = threading.Lock()
        self._queries: OrderedDict[tuple[Any, ...], dict[int, Position]] = OrderedDict()
        self._totals: OrderedDict[tuple[Any, ...], int] = OrderedDict()

    def total(self, key: tuple[Any, ...]) -> int | None:
        """The remembered total of ``key`` (resource type, rendered filter, generation), if any."""
        with self._lock:
            found = self._totals.get(key)
            if found is not None:
                self._totals.move_to_end(key)
            return found

    def remember_total(self, key: tuple[Any, ...], total: int) -> None:
        with self._lock:
            self._totals[key] = total
            self._totals.move_to_end(key)
            while len(self._totals) > self._max_queries:
                self._totals.popitem(last=False)

    def nearest(self, query: tuple[Any, ...], offset: int) -> tuple[int, Position] | None:
        """The remembered boundary at ``offset`` or the closest one before it (within MARK_REACH rows)."""
        with self._lock:
            marks = self._queries.get(query)
            if not marks:
                return None
            self._queries.move_to_end(query)
            offsets = sorted(marks)
            at = bisect.bisect_right(offsets, offset) - 1
            if at < 0 or offset - offsets[at] > MARK_REACH:
                return None
            return offsets[at], marks[offsets[at]]

    def remember(self, query: tuple[Any, ...], offset: int, position: Position) -> None:
        with self._lock:
            marks = self._queries.setdefault(query, {})
            self._queries.move_to_end(query)
            if len(marks) >= self._max_marks:
                marks.pop(next(iter(marks)))
            marks[offset] = position
            while len(self._queries) > self._max_queries:
                self._queries.popitem(last=False)


def page_at(
    conn: Connection, resource_type: ResourceType, node: FilterNode | None, path: str, *, descending: bool,
    start_index: int, count: int, marks: PageMarks,
) -> KeysetPage:
    """The page at 1-based ``start_index`` (``startIndex`` paging), with offset semantics.

    The row before the page is the boundary: remembered (see :class:`PageMarks`), else found by skipping
    order rows. The boundary after the page is remembered for the next one.
    """
    offset = max(start_index, 1) - 1
    generation = order.generation(conn, resource_type.id)
    query = (resource_type.id, path, descending, render(node) if node is not None else "", generation)
    after: Position | None = None
    skip = offset
    if offset > 0:
        mark = marks.nearest(query, offset)
        if mark is not None:
            after, skip = mark[1], offset - mark[0]
    total = _total(conn, resource_type, node, marks, generation)
    page, before = _page(conn, resource_type, node, path, descending=descending, after=after, count=count,
                         total=total, skip=skip)
    if before is not None:
        marks.remember(query, offset, before)
    if page.positions:
        marks.remember(query, offset + len(page.positions), page.positions[-1])
    return page


def merge_rows(
    page: KeysetPage, extra: Sequence[tuple[Position, dict[str, Any]]], *, after: Position | None,
    descending: bool, backward: bool, count: int,
) -> KeysetPage:
    """``page`` (read by :func:`page_after` from ``after``) merged with ``extra``: resources kept outside the
    index (few), each at a position in the same order. The total counts them all; the page holds the
    ``count`` rows that follow ``after`` among both, in the query's order."""
    value_down, tie_down = descending != backward, backward

    def beyond(position: Position) -> bool:
        if after is None:
            return True
        if position.value_key != after.value_key:
            return position.value_key < after.value_key if value_down else position.value_key > after.value_key
        return position.tie_key < after.tie_key if tie_down else position.tie_key > after.tie_key

    by_id = {str(document["id"]): document for document in page.resources}
    rows = [(p, by_id[p.tie_key.partition("|")[2]]) for p in page.positions if p.tie_key.partition("|")[2] in by_id]
    rows += [row for row in extra if beyond(row[0])]
    rows.sort(key=lambda row: row[0].tie_key, reverse=tie_down)  # stable: then by value, in reading order
    rows.sort(key=lambda row: row[0].value_key, reverse=value_down)
    more = page.more or len(rows) > count
    rows = rows[: max(count, 0)]
    if backward:
        rows.reverse()
    return KeysetPage(page.total + len(extra), [row[1] for row in rows], [row[0] for row in rows], more)
