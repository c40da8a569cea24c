"""The value rows of one SCIM document in the search index (table ``scim_values``; see ``index.py``).

A document yields one row per value a filter can reach, read as :func:`scim_bridge.scim.filters.attribute_values`
reads it (exact member name first, then any case; multi-valued attributes flattened, nulls dropped). The paths of
a resource type are resolved once into an :class:`Entry` per top-level attribute (with its sub-attributes), so
that a document is walked once, each JSON object's names folded at most once, and rows are built as the tuples
the driver takes (columns in the order of ``VALUE_COLUMNS``).

Rows of a top-level attribute depend only on that attribute's member in the document (the sortBy element is
chosen among its own elements), which is what lets a re-index compare two versions of a document attribute by
attribute (:func:`changed_entries`) and rebuild the rows of the changed ones only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from typing import NamedTuple

from scim_bridge import jsoncodec
from scim_bridge.scim.filters import is_present
from scim_bridge.scim.filters import parse_datetime
from scim_bridge.scim.paths import fold
from scim_bridge.scim.schema import COMPLEX
from scim_bridge.scim.schema import DATETIME
from scim_bridge.scim.schema import Attribute
from scim_bridge.scim.schema import ResourceType
from scim_bridge.store.tables import scim_values

VALUE_COLUMNS = tuple(column.name for column in scim_values.columns)
VALUE_KEY = ("kind", "resource_id", "path", "element", "seq")  # the primary key, first in VALUE_COLUMNS
assert VALUE_COLUMNS[: len(VALUE_KEY)] == VALUE_KEY

# One value row, columns in the order of VALUE_COLUMNS.
Row = tuple[Any, ...]
# How a dateTime value goes into the value_time column (the datetime itself, or text on SQLite).
TimeColumn = Callable[[datetime], Any]


class Sub(NamedTuple):
    """A sub-attribute of a complex attribute: its dotted path and (folded) name."""

    dotted: str
    name: str
    folded: str
    attribute: Attribute


class Entry(NamedTuple):
    """A top-level attribute of a resource type, resolved for reading documents."""

    dotted: str
    name: str
    folded: str
    urn: str | None  # the extension schema it is nested under; None for the core schema
    attribute: Attribute
    subs: tuple[Sub, ...]  # its sub-attributes when complex, else ()


@functools.lru_cache(maxsize=32)
def entries(resource_type: ResourceType) -> tuple[Entry, ...]:
    """Every top-level attribute of ``resource_type`` (core schema, then extensions), in schema order."""
    found: list[Entry] = []
    for schema in resource_type.schemas:
        urn = None if schema is resource_type.schema else schema.id
        for attribute in schema.attributes:
            dotted = attribute.name if urn is None else f"{urn}:{attribute.name}"
            subs = tuple(Sub(f"{dotted}.{sub.name}", sub.name, fold(sub.name), sub)
                         for sub in (attribute.sub_attributes if attribute.type == COMPLEX else ()))
            found.append(Entry(dotted, attribute.name, fold(attribute.name), urn, attribute, subs))
    return tuple(found)


@functools.lru_cache(maxsize=1024)
def folded_names(keys: tuple[Any, ...]) -> dict[str, str]:
    """Folded name -> spelling of an object's names (the first spelling of each), for objects of these names
    in this order: documents of one resource type share a few shapes, so this is computed once per shape."""
    names: dict[str, str] = {}
    for key in keys:
        if isinstance(key, str):
            names.setdefault(fold(key), key)
    return names


class Reader:
    """Members of one document by name, in any case (RFC 7643, Section 2.1), as ``scim.paths.member`` finds
    them; an object's folded names are looked up (:func:`folded_names`) on the first name it lacks in the exact
    spelling."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.folded: dict[int, dict[str, str]] = {}
        self.extensions: dict[str, Any] = {}

    def member(self, container: dict[str, Any], name: str, folded: str) -> Any:
        if name in container:
            return container[name]
        names = self.folded.get(id(container))
        if names is None:
            names = self.folded[id(container)] = folded_names(tuple(container))
        spelling = names.get(folded)
        return None if spelling is None else container[spelling]

    def raw(self, entry: Entry) -> Any:
        """The member ``entry`` names (under its extension's object for an extension attribute), or None."""
        container: Any = self.document
        if entry.urn is not None:
            if entry.urn not in self.extensions:
                self.extensions[entry.urn] = self.member(self.document, entry.urn, fold(entry.urn))
            container = self.extensions[entry.urn]
        return self.member(container, entry.name, entry.folded) if isinstance(container, dict) else None


def flat(value: Any) -> list[Any]:
    """A member's values: the non-null items of a list, or the value itself when not null."""
    if isinstance(value, list):
        return [item for item in value if item is not None]
    return [] if value is None else [value]


def _sort_element(values: list[Any]) -> int | None:
    """The element sortBy reads (``sort_resources``): the first primary one, else the first object."""
    first = None
    for i, value in enumerate(values):
        if isinstance(value, dict):
            if value.get("primary") is True:
                return i
            if first is None:
                first = i
    return first


def entry_rows(
    kind: str, resource_id: str, entry: Entry, raw: Any, reader: Reader, time_column: TimeColumn, out: list[Row],
) -> None:
    """Append to ``out`` the rows of one top-level attribute whose member is ``raw``."""
    values = flat(raw)
    if entry.attribute.type != COMPLEX:
        is_time = entry.attribute.type == DATETIME
        for element, value in enumerate(values):
            out.append(_row(kind, resource_id, entry.dotted, element, 0, value, element == 0, is_time, time_column))
        return
    for element, value in enumerate(values):
        out.append(_row(kind, resource_id, entry.dotted, element, 0, value, False, False, time_column))
    chosen = _sort_element(values)
    for element, parent in enumerate(values):
        if not isinstance(parent, dict):
            continue
        for sub in entry.subs:
            is_time = sub.attribute.type == DATETIME
            for seq, value in enumerate(flat(reader.member(parent, sub.name, sub.folded))):
                out.append(_row(kind, resource_id, sub.dotted, element, seq, value, element == chosen and seq == 0,
                                is_time, time_column))


def document_rows(
    kind: str, resource_id: str, document: dict[str, Any], plan: Iterable[Entry], time_column: TimeColumn,
) -> list[Row]:
    """Every value row of ``document`` for the attributes of ``plan``."""
    reader = Reader(document)
    out: list[Row] = []
    for entry in plan:
        entry_rows(kind, resource_id, entry, reader.raw(entry), reader, time_column, out)
    return out


def changed_entries(plan: Iterable[Entry], old: dict[str, Any], new: dict[str, Any]) -> list[Entry]:
    """The attributes of ``plan`` whose member differs between two versions of a document (so do their rows)."""
    before, after = Reader(old), Reader(new)
    return [entry for entry in plan if not same_json(before.raw(entry), after.raw(entry))]


def same_json(left: Any, right: Any) -> bool:
    """Equal JSON values of equal types (``True`` is not ``1``), objects with their names in the same order.

    Equal values (Python's ``==``, in C) whose encodings are the same bytes: the encoding tells ``1`` from
    ``1.0`` and ``true``, and the order of an object's names. It only errs on the safe side: ``0.0`` and
    ``-0.0`` count as different (their rows are then rebuilt, the same)."""
    return left is right or (bool(left == right) and jsoncodec.dumps(left) == jsoncodec.dumps(right))


def sort_value(row: Row, attribute: Attribute) -> str | datetime | None:
    """The value a sortable path orders by, from its ``sort_key`` row, as the query-time sort compares it: the
    dateTime, the string (case-exact) or its case-folded form."""
    text = row[8]
    if not isinstance(text, str):
        return None
    if attribute.type == DATETIME:
        return parse_datetime(text)
    return text if attribute.case_exact else row[9]


def _row(
    kind: str, resource_id: str, path: str, element: int, seq: int, value: Any, sort_key: bool, is_time: bool,
    time_column: TimeColumn,
) -> Row:
    if isinstance(value, str):
        moment = parse_datetime(value) if is_time else None
        return (kind, resource_id, path, element, seq, "string", value != "", sort_key, value, value.casefold(),
                None, None if moment is None else time_column(moment), None)
    if isinstance(value, bool):
        return (kind, resource_id, path, element, seq, "boolean", True, sort_key, None, None, None, None, value)
    if isinstance(value, int | float):
        return (kind, resource_id, path, element, seq, "number", True, sort_key, None, None, float(value), None,
                None)
    value_type = "object" if isinstance(value, dict) else "array" if isinstance(value, list) else "string"
    return (kind, resource_id, path, element, seq, value_type, is_present(value), sort_key, None, None, None, None,
            None)
