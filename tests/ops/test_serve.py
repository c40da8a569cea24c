"""``scim-bridge serve --config deploy/gunicorn.conf.py``: real gunicorn, JSON access log, clean stop."""

from __future__ import annotations

import json
from pathlib import Path

import requests
from conftest import SIM_KEY
from conftest import TOKEN

from ops.serving import serve
from scim_bridge.simulator.server import SimulatorServer


def test_serve_with_the_deploy_config(simulator: SimulatorServer, tmp_path: Path) -> None:
    simulator.state.reset(seed="demo")
    with serve(simulator, tmp_path, SIM_KEY, workers=1) as served:
        response = served.scim_get("/Users", **{"X-Request-Id": "serve-test-1"})
        assert response.status_code == 200
        assert response.json()["totalResults"] == 7
        assert response.headers["X-Request-Id"] == "serve-test-1"
        assert requests.get(f"{served.base}/readyz", timeout=10).status_code == 200
    assert served.returncode == 0  # graceful shutdown
    # The worker closed its database connections as it ended: the last one checkpointed SQLite's log away.
    assert (tmp_path / "state" / "bridge.db").exists()
    assert not (tmp_path / "state" / "bridge.db-wal").exists()
    text = served.log_text()
    lines = [json.loads(line) for line in text.splitlines()]  # one JSON object per line, gunicorn's too
    found = [line for line in lines if line.get("request_id") == "serve-test-1"
             and line.get("logger") == "scim_bridge.access"]  # other lines of the request carry its id too
    assert found and found[0]["status"] == 200 and found[0]["path"] == "/scim/v2/Users"
    assert "BridgeThreadWorker" in text  # the config file's worker class (gthread with deadlines, web/worker.py)
    assert TOKEN not in text and SIM_KEY not in text
