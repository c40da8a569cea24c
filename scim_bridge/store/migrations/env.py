"""Alembic environment for the bridge's state store.

``Store.upgrade()`` passes an open connection (already in a locked transaction) through
``config.attributes["connection"]``. From the command line, run for example::

    alembic -c scim_bridge/store/migrations/alembic.ini -x url=sqlite:///var/scim-bridge.db upgrade head

(or set SCIM_BRIDGE_DATABASE_URL instead of ``-x url=...``).
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from scim_bridge.store.engine import create_store_engine
from scim_bridge.store.engine import normalize_url
from scim_bridge.store.migrate import migration_transaction
from scim_bridge.store.tables import metadata


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    url = url or os.environ.get("SCIM_BRIDGE_DATABASE_URL")
    url = url or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: pass -x url=... or set SCIM_BRIDGE_DATABASE_URL")
    return url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    if context.is_offline_mode():
        context.configure(
            url=normalize_url(_url()),
            target_metadata=metadata,
            literal_binds=True,
            dialect_opts={"paramstyle": "named"},
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_store_engine(_url())
    try:
        with migration_transaction(engine) as conn:
            _run(conn)
    finally:
        engine.dispose()


main()
