"""A bridge shared by a whole module, for tests that only probe the HTTP surface."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Running
from conftest import start_bridge


@pytest.fixture(scope="module")
def shared_bridge(simulator: Any, template_db: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One bridge for the module; tests using it must not depend on the upstream's data."""
    simulator.state.reset(seed="demo")
    running, server, store = start_bridge(simulator, tmp_path_factory.mktemp("shared") / "bridge.db", template_db)
    yield running
    server.shutdown()
    server.server_close()
    store.close()
