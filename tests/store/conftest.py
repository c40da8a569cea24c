"""Fixtures: every store test runs against SQLite (a temp file) and PostgreSQL.

PostgreSQL comes from SCIM_BRIDGE_TEST_POSTGRES_URL or a throw-away server started by
tests/pgserver.py for the test run.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scim_bridge.store import Store  # noqa: E402
from tests.conftest import empty_postgres  # noqa: E402
from tests.conftest import open_store  # noqa: E402
from tests.pgserver import create_database  # noqa: E402
from tests.pgserver import drop_database  # noqa: E402
from tests.pgserver import shared_postgres  # noqa: E402
from tests.store.store_fakes import FakeClock  # noqa: E402

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_server() -> str:
    return shared_postgres()


@pytest.fixture(scope="session")
def pg_store_url(bridge_pg_url: str) -> str:
    """The migrated database of the PostgreSQL runs: the bridge tests' one (each test empties it first)."""
    return bridge_pg_url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of an empty database (no tables) on the backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    url = create_database(request.getfixturevalue("pg_server"), "store_empty")
    yield url
    drop_database(url)


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """URL of a migrated, empty store on the backend: a copy of the session's migrated SQLite file, or the
    shared PostgreSQL database emptied."""
    if backend == "sqlite":
        path = tmp_path / "store.db"
        shutil.copyfile(request.getfixturevalue("template_db"), path)
        return f"sqlite:///{path}"
    return empty_postgres(str(request.getfixturevalue("pg_store_url")))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[Store]:
    store = open_store(store_url, clock)
    yield store
    store.close()
