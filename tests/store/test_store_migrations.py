from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from scim_bridge.store import Store
from scim_bridge.store.migrate import HEAD_REVISION
from scim_bridge.store.migrate import MIGRATIONS_DIR
from scim_bridge.store.migrate import alembic_config
from scim_bridge.store.migrate import head_revision
from scim_bridge.store.migrate import migration_transaction
from scim_bridge.store.tables import metadata
from tests.processes import run_together
from tests.store.workers import migrate

TABLES = {"users", "groups", "memberships", "suspensions", "audit_events", "leases", "settings_kv"}


def test_upgrade_from_empty_creates_every_table(empty_url: str) -> None:
    store = Store.from_url(empty_url)
    try:
        assert store.schema_revision() is None
        store.upgrade()
        assert store.schema_revision() == head_revision() is not None
        assert set(inspect(store.engine).get_table_names()) >= TABLES
        assert store.healthy()
    finally:
        store.close()


def test_the_head_the_store_skips_at_is_alembics_head() -> None:
    # Store.upgrade() runs no migration when the database is at HEAD_REVISION: it must be the newest one.
    assert head_revision() == HEAD_REVISION


def test_a_database_one_revision_behind_is_brought_to_head(empty_url: str) -> None:
    store = Store.from_url(empty_url)
    try:
        with migration_transaction(store.engine) as conn:
            command.upgrade(alembic_config(conn), "head")
            command.downgrade(alembic_config(conn), "-1")
        assert store.schema_revision() not in (None, HEAD_REVISION)
        store.upgrade()
        assert store.schema_revision() == HEAD_REVISION
    finally:
        store.close()


def test_upgrade_is_idempotent(empty_url: str) -> None:
    store = Store.from_url(empty_url)
    try:
        store.upgrade()
        store.upgrade()
        assert store.schema_revision() == head_revision()
    finally:
        store.close()


def test_tables_match_the_migrations(empty_url: str) -> None:
    store = Store.from_url(empty_url)
    try:
        store.upgrade()
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        store.close()


def test_sqlite_pragmas(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'sub' / 'dir' / 'state.db'}")
    try:
        store.upgrade()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        store.close()


def test_processes_starting_together_migrate_once(empty_url: str) -> None:
    run_together(migrate, [(empty_url,)] * 4, preload=["alembic.command"])
    store = Store.from_url(empty_url)
    try:
        assert store.schema_revision() == head_revision()
    finally:
        store.close()


def test_migrations_run_from_any_working_directory(tmp_path: Path) -> None:
    """A fresh interpreter outside the source tree finds the migrations beside the package. Where the files are
    found does not depend on the database: one interpreter on SQLite shows it (the other tests here migrate
    PostgreSQL too)."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    script = "import sys; from scim_bridge.store import Store; Store.from_url(sys.argv[1]).upgrade()"
    subprocess.run([sys.executable, "-c", script, url], cwd=tmp_path, check=True)
    store = Store.from_url(url)
    try:
        assert store.schema_revision() == head_revision()
    finally:
        store.close()


def test_alembic_command_line_with_packaged_ini(empty_url: str, tmp_path: Path) -> None:
    ini = MIGRATIONS_DIR / "alembic.ini"
    alembic = Path(sys.executable).with_name("alembic")
    subprocess.run(
        [str(alembic), "-c", str(ini), "-x", f"url={empty_url}", "upgrade", "head"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    store = Store.from_url(empty_url)
    try:
        assert store.schema_revision() == head_revision()
        store.upgrade()
    finally:
        store.close()


def test_downgrade_to_base_and_up_again(empty_url: str) -> None:
    store = Store.from_url(empty_url)
    try:
        store.upgrade()
        with migration_transaction(store.engine) as conn:
            command.downgrade(alembic_config(conn), "base")
        assert store.schema_revision() is None
        assert not TABLES & set(inspect(store.engine).get_table_names())
        store.upgrade()
        assert store.schema_revision() == head_revision()
    finally:
        store.close()
