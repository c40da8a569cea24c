"""Alembic migrations, run from the installed package (no alembic.ini or cwd needed).

Alembic is imported only when a migration runs or the revisions are read: a process opening a database that
is at :data:`HEAD_REVISION` already (every CLI command after the first, every replica after the first) reads
the stored revision with one query and skips it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from scim_bridge.store.engine import WRITE_OPTION
from scim_bridge.store.locks import MIGRATION_LOCK
from scim_bridge.store.locks import lock_exclusive

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: The newest revision under migrations/versions. tests/store/test_store_migrations.py holds it equal to
#: Alembic's head: a new migration moves it.
HEAD_REVISION = "0010"
# Alembic's table of the applied revision (its default name; env.py keeps it).
VERSION_TABLE = "alembic_version"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config pointing at the packaged migrations.

    When ``connection`` is given, ``env.py`` runs the migrations on it (inside its transaction).
    """
    from alembic.config import Config

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
    if revision == "head" and current_revision(engine) == HEAD_REVISION:
        return  # nothing to apply (a process that finds it older queues for the lock; Alembic checks again)
    from alembic import command

    with migration_transaction(engine) as conn:
        command.upgrade(alembic_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a database never migrated.

    The stored revision is read straight away: a migrated database (every start but the first) answers in one
    query, without the catalogue query of a table check (compiled anew by every engine). Only a failed read
    looks for the table, to tell a database never migrated from one that cannot be read.
    """
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    except DBAPIError:
        with engine.connect() as conn:
            if inspect(conn).has_table(VERSION_TABLE):
                raise
        return None


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
