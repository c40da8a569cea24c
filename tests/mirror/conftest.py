"""Fixtures: every mirror test runs against SQLite (a temp file) and PostgreSQL.

PostgreSQL comes from SCIM_BRIDGE_TEST_POSTGRES_URL or the throw-away server of tests/pgserver.py.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scim_bridge.store import Store  # noqa: E402
from scim_bridge.store.engine import create_store_engine  # noqa: E402
from scim_bridge.store.tables import MIRROR_TABLES  # noqa: E402
from tests.conftest import empty_postgres  # noqa: E402
from tests.conftest import reset_engine  # noqa: E402

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session", params=BACKENDS)
def mirror_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database on each backend, shared by the tests of this folder."""
    if request.param == "postgresql":  # the bridge tests' database (every user empties what it reads first)
        yield str(request.getfixturevalue("bridge_pg_url"))
        return
    url = f"sqlite:///{tmp_path_factory.mktemp('mirror') / 'mirror.db'}"
    store = Store.from_url(url)
    store.upgrade()
    store.close()
    yield url


@pytest.fixture(scope="session")
def mirror_engine(mirror_url: str) -> Iterator[Engine]:
    if mirror_url.startswith("postgresql"):
        yield reset_engine(mirror_url)  # kept for the run
        return
    engine = create_store_engine(mirror_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(mirror_engine: Engine, mirror_url: str) -> Engine:
    """The shared engine, with the index and budget tables emptied (on PostgreSQL every table, by
    :func:`empty_postgres`, which also gives a table's grown file back)."""
    if mirror_url.startswith("postgresql"):
        empty_postgres(mirror_url)
        return mirror_engine
    with mirror_engine.begin() as conn:
        for table in MIRROR_TABLES:
            conn.execute(delete(table))
    return mirror_engine
