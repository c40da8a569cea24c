"""Alembic migrations, run from the installed package (no alembic.ini or cwd needed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from scim_bridge.store.engine import WRITE_OPTION
from scim_bridge.store.locks import MIGRATION_LOCK
from scim_bridge.store.locks import lock_exclusive

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config pointing at the packaged migrations.

    When ``connection`` is given, ``env.py`` runs the migrations on it (inside its transaction).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


@contextmanager
def migration_transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction holding the migration lock.

    SQLite: BEGIN IMMEDIATE takes the database write lock, so a second process waits for the
    first one's commit. PostgreSQL: a transaction-scoped advisory lock does the same, and DDL
    is transactional there, so the second process then finds the schema at head.
    """
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            lock_exclusive(conn, MIGRATION_LOCK)
            yield conn


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to ``revision``. A database already at the head (every start but the first) costs one read:
    Alembic, which loads every migration script, runs only when there is something to do."""
    if revision == "head" and at_head(engine):
        return
    with migration_transaction(engine) as conn:
        command.upgrade(alembic_config(conn), revision)


def at_head(engine: Engine) -> bool:
    """Whether the database's schema is at the newest revision (False when it has none, or cannot be read)."""
    head = head_revision()
    try:
        with engine.connect() as conn:
            versions = conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalars().all()
    except DBAPIError:
        return False
    return head is not None and versions == [head]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@cache
def head_revision() -> str | None:
    """The newest revision of the packaged migrations (read once per process: they ship with the package)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
