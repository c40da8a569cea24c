"""Service-level tests run in process: the bridge over the in-process directory, through Flask's test client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from inprocess import InProcessBridge
from inprocess import running_inprocess


@pytest.fixture()
def inprocess_bridge(tmp_path: Path, template_db: Path) -> Iterator[InProcessBridge]:
    """An empty in-process directory behind a bridge with the default settings."""
    yield from running_inprocess(tmp_path, template_db)
