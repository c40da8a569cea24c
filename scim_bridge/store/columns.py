"""Column builders shared by the table definitions (``tables.py``) and the migrations (``migrations/ddl.py``).

The migrations emit their DDL through these, so what one of them builds must never change: a new kind of
column gets a new builder.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.sql.schema import SchemaItem
from sqlalchemy.types import TypeEngine

ColumnType = TypeEngine[Any] | type[TypeEngine[Any]]

# Text that is compared or sorted uses the "C" collation on PostgreSQL, so that ordering is by code point (as in
# Python and in SQLite's BINARY collation) whatever the database's default locale.
SortableText = Text().with_variant(Text(collation="C"), "postgresql")


def key(name: str, type_: ColumnType = String, *args: SchemaItem) -> Column[Any]:
    """A primary-key column (a string unless ``type_`` says otherwise)."""
    return Column(name, type_, *args, primary_key=True)


def required(name: str, type_: ColumnType, *args: SchemaItem, **kw: Any) -> Column[Any]:
    """A NOT NULL column."""
    return Column(name, type_, *args, nullable=False, **kw)


def optional(name: str, type_: ColumnType) -> Column[Any]:
    """A nullable column."""
    return Column(name, type_, nullable=True)


def not_null(**types: ColumnType) -> list[Column[Any]]:
    """NOT NULL columns, by name, in the order given."""
    return [required(name, type_) for name, type_ in types.items()]


def nullable(**types: ColumnType) -> list[Column[Any]]:
    """Nullable columns, by name, in the order given."""
    return [optional(name, type_) for name, type_ in types.items()]


def serial_id() -> Column[int]:
    """The ``id`` primary key the database numbers (BIGINT; INTEGER on SQLite, whose rowid alias it becomes)."""
    return Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
