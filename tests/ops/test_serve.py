"""``scim-bridge serve --config deploy/gunicorn.conf.py``: real gunicorn, JSON access log, clean stop."""

from __future__ import annotations

import json
from pathlib import Path

import requests
from conftest import SIM_KEY
from conftest import TOKEN

from ops.clirun import serving
from scim_bridge.simulator.server import SimulatorServer


def test_serve_with_the_deploy_config(simulator: SimulatorServer, tmp_path: Path) -> None:
    simulator.state.reset(seed="demo")
    key_file = tmp_path / "opsgenie-api-key"
    key_file.write_text(SIM_KEY + "\n")
    env = {
        "OPSGENIE_API_URL": simulator.base_url, "OPSGENIE_API_KEY_FILE": str(key_file),
        "SCIM_BEARER_TOKEN": TOKEN, "SCIM_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/state/bridge.db",
        "SCIM_BRIDGE_SYNC_INTERVAL": "0",
        "SCIM_BRIDGE_BIND": "127.0.0.1:1",  # overridden by --host/--port
    }
    with serving(env, tmp_path, "--workers", "1") as (base, process, _log):
        response = requests.get(f"{base}/scim/v2/Users", timeout=30,
                                headers={"Authorization": f"Bearer {TOKEN}", "X-Request-Id": "serve-test-1"})
        assert response.status_code == 200
        assert response.json()["totalResults"] == 7
        assert response.headers["X-Request-Id"] == "serve-test-1"
        assert requests.get(f"{base}/readyz", timeout=10).status_code == 200
    assert process.returncode == 0  # graceful shutdown
    lines = [json.loads(line) for line in (tmp_path / "stderr.log").read_text().splitlines()
             if line.startswith("{")]
    served = [line for line in lines if line.get("request_id") == "serve-test-1"]
    assert served and served[0]["status"] == 200 and served[0]["path"] == "/scim/v2/Users"
    text = (tmp_path / "stderr.log").read_text()
    assert "Using worker: scim_bridge.web.worker.BridgeThreadWorker" in text  # the config file's worker class
    assert TOKEN not in text and SIM_KEY not in text
