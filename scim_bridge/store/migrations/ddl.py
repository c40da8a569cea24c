"""What the revisions in ``versions/`` are written with: a table is described once, as a :func:`table`, and the
revision's ``upgrade`` creates it (then its indexes, in the order given) while ``downgrade`` drops the indexes and
the table again in the reverse order. A revision that only creates tables says just that::

    upgrade, downgrade = creating(table("leases", key("name"), ...), ...)

Alembic does not load this module as a revision (it reads only ``versions/``); the revisions import it. Applied
revisions emit their DDL through these helpers, so what one of them builds must never change.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.sql.schema import SchemaItem

from scim_bridge.store.columns import key
from scim_bridge.store.columns import not_null
from scim_bridge.store.columns import nullable
from scim_bridge.store.columns import optional
from scim_bridge.store.columns import required
from scim_bridge.store.columns import serial_id

__all__ = [
    "IndexSpec", "TableSpec", "create", "creating", "drop", "index", "key", "not_null", "nullable", "optional",
    "required", "serial_id", "table", "ts",
]


def ts(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    """A timezone-aware timestamp column."""
    if nullable:
        return optional(name, sa.DateTime(timezone=True))
    return required(name, sa.DateTime(timezone=True))


@dataclass(frozen=True)
class IndexSpec:
    """An index of a :class:`TableSpec`, named ``ix_<table>_<columns>`` unless ``name`` is given."""

    columns: tuple[str, ...]
    unique: bool = False
    name: str | None = None

    def named(self, table: str) -> str:
        return self.name or f"ix_{table}_{'_'.join(self.columns)}"


@dataclass(frozen=True)
class TableSpec:
    """A table as a revision creates it: its columns and constraints, then its indexes."""

    name: str
    items: Sequence[SchemaItem]
    indexes: Sequence[IndexSpec]


def index(*columns: str, unique: bool = False, name: str | None = None) -> IndexSpec:
    return IndexSpec(columns, unique, name)


def table(name: str, *items: SchemaItem | IndexSpec) -> TableSpec:
    """A table; the :class:`IndexSpec` items are created after it, the others go into its CREATE TABLE. A revision
    module builds its tables when Alembic loads it, and creates each at most once per load."""
    indexes = [item for item in items if isinstance(item, IndexSpec)]
    return TableSpec(name, [item for item in items if not isinstance(item, IndexSpec)], indexes)


def create(*tables: TableSpec) -> None:
    """Create the tables and their indexes, in the order given."""
    for spec in tables:
        op.create_table(spec.name, *spec.items)
        for ix in spec.indexes:
            op.create_index(ix.named(spec.name), spec.name, list(ix.columns), unique=ix.unique)


def drop(*tables: TableSpec) -> None:
    """Undo :func:`create` of the same tables: the last created goes first, each after its indexes."""
    for spec in reversed(tables):
        for ix in reversed(spec.indexes):
            op.drop_index(ix.named(spec.name), table_name=spec.name)
        op.drop_table(spec.name)


def creating(*tables: TableSpec) -> tuple[Callable[[], None], Callable[[], None]]:
    """The ``upgrade`` and ``downgrade`` of a revision that creates these tables and nothing else."""

    def upgrade() -> None:
        create(*tables)

    def downgrade() -> None:
        drop(*tables)

    return upgrade, downgrade
