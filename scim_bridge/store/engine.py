"""Engine construction: SQLite pragmas and transaction control, PostgreSQL driver choice."""

from __future__ import annotations

import functools
import os
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url

from scim_bridge import jsoncodec

# Execution option set on connections that will write: on SQLite their transaction starts with
# BEGIN IMMEDIATE, taking the database write lock up front. A deferred transaction that reads
# first and writes later can fail with SQLITE_BUSY without waiting when another connection
# commits in between; an immediate one simply waits (busy_timeout) for its turn.
WRITE_OPTION = "scim_bridge_write"

DEFAULT_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str) -> URL:
    """Parse a database URL; plain ``postgresql://`` and ``postgres://`` use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_store_engine(url: str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Engine:
    """Create the engine for a ``sqlite:///path`` or ``postgresql+psycopg://...`` URL."""
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = _sqlite_engine(parsed, busy_timeout_ms)
    elif backend == "postgresql":
        engine = _postgresql_engine(parsed)
    else:
        raise ValueError(f"unsupported database URL scheme: {parsed.drivername!r}")
    _dispose_in_forked_children(engine)
    return engine


def _sqlite_engine(url: URL, busy_timeout_ms: int) -> Engine:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        raise ValueError("the store needs an SQLite file (sqlite:///path/to/file.db), not a memory database")
    if not url.query.get("uri"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
        json_serializer=jsoncodec.dumps_text,
        json_deserializer=jsoncodec.loads,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Turn off the driver's own transaction handling: the "begin" hook below emits BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


def _postgresql_engine(url: URL) -> Engine:
    connect_args: dict[str, Any] = {}
    if "application_name" not in url.query:
        connect_args["application_name"] = "scim-bridge"
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, json_serializer=jsoncodec.dumps_text,
                         json_deserializer=jsoncodec.loads)


def _dispose_in_forked_children(engine: Engine) -> None:
    """Forked workers must not reuse pooled connections opened by their parent."""
    os.register_at_fork(after_in_child=functools.partial(_dispose_after_fork, weakref.ref(engine)))


def _dispose_after_fork(ref: weakref.ref[Engine]) -> None:
    engine = ref()
    if engine is not None:
        engine.dispose(close=False)
