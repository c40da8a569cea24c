"""The search index's module functions on an engine, each call a transaction of its own (as the store runs
them): for the index tests and tests/mirror/bench_index.py, which have no store around the index."""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

from scim_bridge.scim.filters import FilterNode
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.schema import ResourceType
from scim_bridge.store import index
from scim_bridge.store.engine import WRITE_OPTION
from scim_bridge.store.tables import scim_order
from scim_bridge.store.tables import scim_resources
from scim_bridge.store.tables import scim_values


class ScimIndex:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn

    def index_resources(self, resource_type: ResourceType, resources: Sequence[dict[str, Any]]) -> None:
        with self._write() as conn:
            index.index_resources(conn, resource_type, resources)

    def remove_resources(self, resource_type: ResourceType, ids: Sequence[str]) -> None:
        with self._write() as conn:
            index.remove_resources(conn, resource_type, ids)

    def replace_all(self, resource_type: ResourceType, resources: Sequence[dict[str, Any]]) -> None:
        """Make the index of ``resource_type`` exactly ``resources``."""
        with self._write() as conn:
            conn.execute(delete(scim_values).where(scim_values.c.kind == resource_type.id))
            conn.execute(delete(scim_resources).where(scim_resources.c.kind == resource_type.id))
            conn.execute(delete(scim_order).where(scim_order.c.kind == resource_type.id))
            index.index_resources(conn, resource_type, resources)

    def search(self, resource_type: ResourceType, node: FilterNode | None, *, sort_by: AttributePath | None = None,
               descending: bool = False, start_index: int = 1, count: int = 100) -> index.SearchPage:
        return index.search_on(self._engine, resource_type, node, sort_by=sort_by, descending=descending,
                               start_index=start_index, count=count)
