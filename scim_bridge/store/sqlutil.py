"""Small helpers shared by the query modules."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from typing import TypeVar

from sqlalchemy import Column
from sqlalchemy import Table
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.expression import Executable
from sqlalchemy.sql.expression import Select

from scim_bridge import jsoncodec
from scim_bridge.store.errors import StoreConflict
from scim_bridge.store.errors import StoreError
from scim_bridge.store.errors import StoreNotFound

T = TypeVar("T")

# Ids per IN (...) list: well below SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 500


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


Row = Mapping[Any, Any]


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def record_from_row(cls: type[T], row: Row, **computed: Any) -> T:
    """The dataclass ``cls`` from the row's columns of the same names; ``computed`` gives the fields whose
    value is not the column's as read (an enum, a default for NULL)."""
    values = {name: row[name] for name in _field_names(cls) if name not in computed}
    return cls(**values, **computed)


def first_row(conn: Connection, stmt: Select[Any], build: Callable[[Row], T]) -> T | None:
    """``build`` of the statement's first row, or None when it has none."""
    row = conn.execute(stmt).mappings().first()
    return None if row is None else build(row)


def rows_by_key(
    conn: Connection, table: Table, column: Column[Any], keys: Sequence[str], build: Callable[[Row], T]
) -> dict[str, T]:
    """``build`` of the rows whose ``column`` is one of ``keys``, by that column (one query per 500 keys)."""
    found: dict[str, T] = {}
    for part in chunks(list(dict.fromkeys(keys))):
        for row in conn.execute(select(table).where(column.in_(part))).mappings():
            found[row[column.key]] = build(row)
    return found


def normalize_json(value: Any) -> Any:
    """The value as it reads back from a JSON column (tuples become lists, keys strings)."""
    return jsoncodec.loads(jsoncodec.dumps(value))


def insert_ignoring(conn: Connection, table: Table, values: dict[str, Any], key: str) -> Executable:
    """INSERT ... ON CONFLICT (key) DO NOTHING for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).values(values).on_conflict_do_nothing(index_elements=[key])
    return sqlite.insert(table).values(values).on_conflict_do_nothing(index_elements=[key])


def insert_or_replace(
    conn: Connection,
    table: Table,
    values: dict[str, Any],
    key: str,
    where: Callable[[Any], ColumnElement[bool]] | None = None,
) -> Executable:
    """INSERT ... ON CONFLICT (key) DO UPDATE SET every other column.

    ``where``, given the ``excluded`` pseudo-table, limits which existing rows are replaced.
    """
    updates = [name for name in values if name != key]
    if conn.dialect.name == "postgresql":
        pg_stmt = postgresql.insert(table).values(values)
        return pg_stmt.on_conflict_do_update(
            index_elements=[key],
            set_={name: pg_stmt.excluded[name] for name in updates},
            where=None if where is None else where(pg_stmt.excluded),
        )
    lite_stmt = sqlite.insert(table).values(values)
    return lite_stmt.on_conflict_do_update(
        index_elements=[key],
        set_={name: lite_stmt.excluded[name] for name in updates},
        where=None if where is None else where(lite_stmt.excluded),
    )


def placeholder(conn: Connection) -> str:
    """The driver's parameter marker (sqlite3: ``?``, psycopg: ``%s``)."""
    return "?" if conn.dialect.name == "sqlite" else "%s"


def insert_tuples(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]],
                  size: int = 5000) -> None:
    """Insert ``rows`` (plain tuples, in the order of ``columns``) through the driver's executemany: for the
    many small rows of the search index, SQLAlchemy's per-row parameter processing would cost more than the
    inserts themselves. The values must be as the driver takes them (no column type processing happens)."""
    if not rows:
        return
    marker = placeholder(conn)
    statement = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})"
    for part in chunks(rows, size):
        conn.exec_driver_sql(statement, list(part))


def translate_integrity_error(exc: IntegrityError) -> StoreError:
    """Map a driver's constraint violation to StoreConflict or StoreNotFound."""
    orig = exc.orig
    message = str(orig) if orig is not None else str(exc)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate == "23503" or "FOREIGN KEY constraint failed" in message:
        return StoreNotFound("the user or group referred to does not exist")
    if "user_links" in message and "account_id" in message:
        return StoreConflict("that Atlassian account is already linked to another SCIM id")
    if "user_links" in message:
        return StoreConflict("that username is already linked to another SCIM id")
    if "team_links" in message:
        return StoreConflict("that Atlassian team is already linked to another SCIM id")
    if "username_lower" in message:
        return StoreConflict("a user with that userName already exists")
    if "display_lower" in message:
        return StoreConflict("a group of that kind with that displayName already exists")
    return StoreConflict(f"constraint violated: {message.splitlines()[0] if message else exc}")
