"""The machinery under every Store method: the engine, the store's clock, transactions (one per call, or shared
inside ``Store.transaction()``) and the search-index marks a write leaves for its commit."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import suppress
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Concatenate
from typing import ParamSpec
from typing import Self
from typing import TypeVar
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import OperationalError

from scim_bridge.store import keyset
from scim_bridge.store import migrate
from scim_bridge.store import mirror
from scim_bridge.store.engine import DEFAULT_BUSY_TIMEOUT_MS
from scim_bridge.store.engine import WRITE_OPTION
from scim_bridge.store.engine import create_store_engine
from scim_bridge.store.locks import DIRECTORY_LOCK
from scim_bridge.store.locks import lock_shared
from scim_bridge.store.sqltypes import utcnow
from scim_bridge.store.sqlutil import translate_integrity_error

Clock = Callable[[], datetime]
P = ParamSpec("P")
R = TypeVar("R")


class StoreBase:
    """Engine, clock and transactions of :class:`scim_bridge.store.store.Store` (its subclasses add the tables)."""

    def __init__(self, engine: Engine, *, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock: Clock = clock or utcnow
        self._current: ContextVar[Connection | None] = ContextVar(f"store-{id(self)}", default=None)
        self._dirty: ContextVar[mirror.Dirty | None] = ContextVar(f"store-dirty-{id(self)}", default=None)
        self._indexer: mirror.Indexer | None = None
        self._marks = keyset.PageMarks()

    @classmethod
    def from_url(
        cls, url: str, *, clock: Clock | None = None, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
    ) -> Self:
        """``sqlite:///var/scim-bridge.db`` or ``postgresql+psycopg://user:pw@host/db``."""
        return cls(create_store_engine(url, busy_timeout_ms=busy_timeout_ms), clock=clock)

    @classmethod
    def migrated(cls, url: str) -> Self:
        """The store at ``url`` (as :meth:`from_url`), migrated to the current schema."""
        store = cls.from_url(url)
        store.upgrade()
        return store

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def dialect(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self._engine.dialect.name

    @property
    def database_file(self) -> Path | None:
        """On SQLite, the database file (None for an in-memory database and on PostgreSQL)."""
        if self.dialect != "sqlite":
            return None
        database = self._engine.url.database or ""
        if self._engine.url.query.get("uri"):
            database = urlsplit(database).path
        if database in ("", ":memory:"):
            return None
        return Path(database).expanduser()

    @property
    def lock_file(self) -> Path | None:
        """On SQLite, the file beside the database whose byte-range locks are the bridge's write locks
        (store/filelocks.py); None on PostgreSQL, where the write locks are lease rows."""
        if self.dialect != "sqlite":
            return None
        path = self.database_file or Path(self._engine.url.database or "")
        return path.with_name(path.name + "-writelocks")

    def now(self) -> datetime:
        """The store's clock: what it writes into ``synced_at`` and ``last_modified``."""
        return self._clock()

    def set_indexer(self, indexer: mirror.Indexer | None) -> None:
        """Keep the SCIM search index in step with every write from now on (see ``mirror.py``)."""
        self._indexer = indexer

    @property
    def indexing(self) -> bool:
        return self._indexer is not None

    def upgrade(self) -> None:
        """Migrate the schema to the newest revision. Idempotent; concurrent callers queue."""
        migrate.upgrade(self._engine)

    def schema_revision(self) -> str | None:
        return migrate.current_revision(self._engine)

    def close(self) -> None:
        """Close the store's connections. On SQLite the write-ahead log is first moved into the database file and
        emptied, so that a stopped bridge's file holds everything (to copy or back up): SQLite leaves that to the
        last connection to close, and processes closing at the same moment (gunicorn's workers at a stop) can
        each take another for the last."""
        database = self.database_file
        if database is not None and database.exists():
            # Refused (e.g. a write still running in another process): the log stays, nothing is lost, and the next
            # open of the database replays it.
            with suppress(OperationalError), self._engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        self._engine.dispose()

    def healthy(self) -> bool:
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    # --- transactions --------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[mirror.Dirty]:
        """Run the store calls made in this block (same thread) in one write transaction. What it yields holds,
        after the outermost transaction committed, the documents rendered for the search index then
        (``Dirty.document``)."""
        with self._write() as conn:
            written = self._dirty.get()
            assert written is not None  # _write set it for this transaction
            if self._current.get() is not None:  # nested: _write made a savepoint
                yield written
                return
            token = self._current.set(conn)
            try:
                yield written
            finally:
                self._current.reset(token)

    @contextmanager
    def connection(self, *, write: bool = False) -> Iterator[Connection]:
        """A connection for the queries of a companion store (the link store): the current ``transaction()``'s,
        else a read transaction, or with ``write`` a write transaction (outside the directory lock)."""
        with self._write(directory=False) if write else self._read() as conn:
            yield conn

    def _reading(self, query: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
        """``query`` run on a read transaction's connection (the current ``transaction()``'s, if any)."""
        with self._read() as conn:
            return query(conn, *args, **kwargs)

    def _writing_aside(
        self, change: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """``change`` run in a write transaction outside the directory lock (the bookkeeping tables)."""
        with self._write(directory=False) as conn:
            return change(conn, *args, **kwargs)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        outer = self._current.get()
        if outer is not None:
            yield outer
            return
        with self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _write(self, *, directory: bool = True) -> Iterator[Connection]:
        """A write transaction (a savepoint inside ``transaction()``).

        ``directory`` writes (users, groups, memberships) hold the directory lock shared on
        PostgreSQL, so the full sync, which holds it exclusively, never interleaves with them.
        """
        try:
            outer = self._current.get()
            if outer is not None:
                with outer.begin_nested():
                    yield outer
                return
            with self._engine.connect() as conn:
                conn.execution_options(**{WRITE_OPTION: True})
                dirty = mirror.Dirty()
                dirty_token = self._dirty.set(dirty)
                try:
                    with conn.begin():
                        if directory:
                            lock_shared(conn, DIRECTORY_LOCK)
                        yield conn
                        self._flush(conn, dirty)
                finally:
                    self._dirty.reset(dirty_token)
        except IntegrityError as exc:
            raise translate_integrity_error(exc) from exc

    # --- search-index marks ---------------------------------------------------------------
    def _mark(self, users: Collection[str] = (), groups: Collection[str] = ()) -> None:
        """Note resources whose indexed documents the current write made stale."""
        dirty = self._dirty.get()
        if dirty is not None and self._indexer is not None:
            dirty.users.update(users)
            dirty.groups.update(groups)

    def _flush(self, conn: Connection, dirty: mirror.Dirty) -> None:
        if dirty and self._indexer is not None:
            dirty.rendered = self._indexer.refresh(conn, set(dirty.users), set(dirty.groups))
        dirty.users.clear()
        dirty.groups.clear()
