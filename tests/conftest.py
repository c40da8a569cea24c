"""Shared fixtures: a real OpsGenie simulator and a real bridge, both over HTTP on loopback."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from scim_bridge.config import Settings
from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.server import SimulatorServer
from scim_bridge.store.store import Store
from scim_bridge.web.app import create_app

TOKEN = "test-token-0123456789abcdef"
SIM_KEY = "sim-key"
SCIM_JSON = "application/scim+json"


class SimControl:
    """The simulator's control surface, over HTTP."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"GenieKey {SIM_KEY}", **kwargs.pop("headers", {})}
        return self.http.request(method, self.base_url + path, headers=headers, timeout=10, **kwargs)

    def state(self) -> dict[str, Any]:
        response = self.http.get(f"{self.base_url}/__sim/state", timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def calls(self) -> list[dict[str, Any]]:
        response = self.http.get(f"{self.base_url}/__sim/calls", timeout=10)
        response.raise_for_status()
        body = response.json()
        return list(body["calls"] if isinstance(body, dict) else body)

    def clear_calls(self) -> None:
        self.http.delete(f"{self.base_url}/__sim/calls", timeout=10).raise_for_status()

    def writes(self) -> list[dict[str, Any]]:
        return [c for c in self.calls() if c["method"] in ("POST", "PATCH", "PUT", "DELETE")]

    def reset(self, seed: str | None = None) -> None:
        body = {"seed": seed} if seed else {}
        self.http.post(f"{self.base_url}/__sim/reset", json=body, timeout=10).raise_for_status()

    def configure(self, **changes: Any) -> None:
        self.http.patch(f"{self.base_url}/__sim/config", json=changes, timeout=10).raise_for_status()

    def fault(self, method: str, path: str, action: str, times: int = 1) -> None:
        rule = {"method": method, "path": path, "action": action, "times": times}
        self.http.post(f"{self.base_url}/__sim/faults", json=[rule], timeout=10).raise_for_status()

    def user(self, username: str) -> dict[str, Any] | None:
        for user in self.state()["users"]:
            if user["username"] == username.lower():
                found: dict[str, Any] = user
                return found
        return None

    def team(self, name: str) -> dict[str, Any] | None:
        for team in self.state()["teams"]:
            if team["name"] == name:
                found: dict[str, Any] = team
                return found
        return None


class ScimClient:
    """A SCIM client for the bridge under test: paths are relative to /scim/v2."""

    def __init__(self, base_url: str, token: str = TOKEN) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if body is not None:
            headers.setdefault("Content-Type", SCIM_JSON)
            kwargs["json"] = body
        return self.http.request(method, self.base_url + path, headers=headers, timeout=60, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


@dataclass
class Running:
    scim: ScimClient
    sim: SimControl
    settings: Settings
    root: str
    app: Any


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorServer]:
    server = SimulatorServer(SimulatorConfig(), seed=None).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    store = Store.from_url(f"sqlite:///{path}")
    store.upgrade()
    store.close()
    return path


def _serve(app: Any) -> tuple[str, Any]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.daemon_threads = True  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.server_port}", server


def start_bridge(
    simulator: SimulatorServer, db_path: Path, template_db: Path, **overrides: Any
) -> tuple[Running, Any, Store]:
    shutil.copyfile(template_db, db_path)
    settings = Settings(
        opsgenie_api_url=simulator.base_url,
        opsgenie_api_key=SIM_KEY,
        database_url=f"sqlite:///{db_path}",
        sync_interval=0,
    ).with_token(TOKEN, "test")
    settings = replace(settings, **overrides)
    store = Store.from_url(settings.database_url)
    store.upgrade()
    app = create_app(settings, store=store)
    app.extensions["scim_bridge"].sync.run()  # as `serve` does at start
    root, server = _serve(app)
    running = Running(
        scim=ScimClient(root + "/scim/v2"), sim=SimControl(simulator.base_url), settings=settings, root=root,
        app=app,
    )
    return running, server, store


@pytest.fixture()
def bridge_factory(
    simulator: SimulatorServer, tmp_path: Path, template_db: Path
) -> Iterator[Any]:
    """Start bridges with settings overrides; all share the session's simulator (reset per test)."""
    started: list[tuple[Any, Store]] = []
    simulator.state.update_config(SimulatorConfig().to_dict())  # knobs back to their defaults
    simulator.state.reset(seed="demo")

    def factory(seed: str | None = "demo", **overrides: Any) -> Running:
        if not started:
            simulator.state.reset(seed=seed)
        running, server, store = start_bridge(
            simulator, tmp_path / f"bridge{len(started)}.db", template_db, **overrides
        )
        started.append((server, store))
        return running

    yield factory
    for server, store in started:
        server.shutdown()
        server.server_close()
        store.close()
    simulator.state.reset(seed=None)


@pytest.fixture()
def bridge(bridge_factory: Any) -> Running:
    """A bridge over a simulator seeded with the demo directory."""
    running: Running = bridge_factory()
    return running


@pytest.fixture()
def empty_bridge(bridge_factory: Any) -> Running:
    """A bridge over an empty simulator (only the account owner, if the simulator keeps one)."""
    running: Running = bridge_factory(seed=None)
    return running
