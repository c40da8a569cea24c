"""SimulatorConfig parsing and the server lifecycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import requests

from scim_bridge import simulator
from scim_bridge.simulator.config import RIGHTS
from scim_bridge.simulator.config import RateLimit
from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.server import SimulatorServer


def test_from_cli() -> None:
    config = SimulatorConfig.from_cli("k", 25, ["search=5/100", "configuration=20/600"], 0.1, "demo")
    assert config.api_keys == {"k": RIGHTS}
    assert config.latency_ms == 25 and config.fail_rate == 0.1 and config.seed == "demo"
    assert config.rate_limits == {"configuration": RateLimit(20, 600), "search": RateLimit(5, 100)}
    defaults = SimulatorConfig.from_cli("k", None, [], None, None)
    assert defaults.rate_limits == SimulatorConfig().rate_limits and defaults.latency_ms == 0


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("", 0, [], 0.0, None), "--api-key"),
        (("k", -1, [], 0.0, None), "--latency-ms"),
        (("k", 0, ["search=5"], 0.0, None), "DOMAIN=PER_SEC/PER_MIN"),
        (("k", 0, ["alerts=5/10"], 0.0, None), "unknown"),
        (("k", 0, ["search=0/10"], 0.0, None), "positive"),
        (("k", 0, [], 1.5, None), "--fail-rate"),
    ],
)
def test_from_cli_errors(args: tuple[object, ...], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        SimulatorConfig.from_cli(*args)  # type: ignore[arg-type]


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        SimulatorConfig(delete_referenced_user="maybe")
    with pytest.raises(ValueError):
        SimulatorConfig(api_keys={"k": frozenset({"admin"})})
    with pytest.raises(ValueError):
        SimulatorConfig(rate_limits={"alerts": RateLimit(1, 1)})


def test_server_lifecycle_and_curl_like_request() -> None:
    config = SimulatorConfig.from_cli("k", 0, [], 0.0, "demo")
    with SimulatorServer(config) as sim:
        assert sim.base_url.startswith("http://127.0.0.1:")
        response = requests.get(
            f"{sim.base_url}/v2/users", headers={"Authorization": "GenieKey k"}, timeout=5
        )
        assert response.status_code == 200 and response.json()["totalCount"] == 7
        assert response.headers["Content-Type"] == "application/json"
        url = sim.base_url
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/v2/users", timeout=2)
    stopped = SimulatorServer(seed="owner")
    stopped.stop()  # stopping a server that never started is harmless
    assert stopped.state.dump()["users"][0]["username"] == "owner@example.com"


def test_simulator_imports_nothing_else_from_the_project() -> None:
    package = Path(simulator.__file__).parent
    for source in package.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.startswith("scim_bridge"):
                    assert name.startswith("scim_bridge.simulator"), f"{source.name} imports {name}"
