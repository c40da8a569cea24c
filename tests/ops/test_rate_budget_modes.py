"""The server's rate budget on PostgreSQL: calibrated from GET /v2/request-limits/ even when a batch job has
filled the shared window (issue 20), learning when the key may not read the limits, and `scim-bridge check`
saying which mode the budget is in, with its figures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SIM_KEY
from conftest import TOKEN
from conftest import empty_postgres
from sim_http import SimControl

from ops.clirun import invoke_cli
from scim_bridge.config import Settings
from scim_bridge.ops.batch import batch_directory
from scim_bridge.opsgenie.ratelimit import CONFIGURATION
from scim_bridge.opsgenie.ratelimit import FALLBACK_LIMITS
from scim_bridge.opsgenie.ratelimit import SEARCH
from scim_bridge.ratewindow import CALIBRATED
from scim_bridge.ratewindow import LEARNING
from scim_bridge.ratewindow import RateLimit
from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.server import SimulatorServer
from scim_bridge.store.budget import DatabaseRateBudget
from scim_bridge.store.store import Store
from scim_bridge.web.app import create_app

LIMITS_PATH = "/v2/request-limits/"
SIM_LIMITS = {CONFIGURATION: (RateLimit(6000, 60.0), RateLimit(100, 1.0)),
              SEARCH: (RateLimit(3000, 60.0), RateLimit(50, 1.0))}


@pytest.fixture()
def sim(simulator: SimulatorServer) -> Iterator[SimControl]:
    control = SimControl(simulator.base_url)
    control.reset(SimulatorConfig().to_dict())
    yield control
    control.reset(SimulatorConfig().to_dict())
    control.http.close()


@pytest.fixture()
def pg_store(bridge_pg_url: str) -> Iterator[Store]:
    store = Store.from_url(empty_postgres(bridge_pg_url))
    yield store
    store.close()


def settings_for(sim: SimControl, store: Store) -> Settings:
    url = store.engine.url.render_as_string(hide_password=False)
    return Settings(opsgenie_api_url=sim.base_url, opsgenie_api_key=SIM_KEY, database_url=url,
                    sync_interval=0).with_token(TOKEN, "test")


def server_budget(app: Any) -> Any:
    return app.extensions["scim_bridge"].client.budget


def test_a_server_started_after_a_batch_job_filled_the_window_is_still_calibrated(
    sim: SimControl, pg_store: Store
) -> None:
    settings = settings_for(sim, pg_store)
    slept: list[float] = []
    _, batch = batch_directory(settings, pg_store, sleep=slept.append)  # its waits are recorded, not slept
    for _ in range(FALLBACK_LIMITS[CONFIGURATION][1].limit):  # the batch job's calls of the last minute
        batch.budget.acquire(CONFIGURATION, float("inf"))
    # The shared window now holds 300 configuration slots: a budget on the fallback limits has none for a minute.
    fallback = DatabaseRateBudget(pg_store.engine, FALLBACK_LIMITS)
    assert fallback.remaining()[CONFIGURATION] == 0.0

    app = create_app(settings, store=pg_store)

    budget = server_budget(app)
    assert budget.state().mode == CALIBRATED
    assert budget.limits() == SIM_LIMITS
    limits_calls = [c for c in sim.calls() if c["path"] == LIMITS_PATH]
    assert [c["status"] for c in limits_calls] == [200, 200]  # the batch job's, then the server's, at once
    assert len(sim.calls()) == 2


def test_a_team_key_server_learns_and_check_says_so(sim: SimControl, pg_store: Store, tmp_path: Path) -> None:
    sim.configure(request_limits_status=403)
    settings = settings_for(sim, pg_store)
    env = {"OPSGENIE_API_URL": sim.base_url, "OPSGENIE_API_KEY": SIM_KEY, "SCIM_BEARER_TOKEN": TOKEN,
           "SCIM_BRIDGE_DATABASE_URL": settings.database_url}
    before = invoke_cli(["check"], env)
    line = next(x for x in before.output.splitlines() if "opsgenie rate limits" in x)
    assert line.startswith("OK ") and "learning: GET /v2/request-limits/ answered 403" in line
    assert "starting from configuration 10/1s, 300/60s; search 5/1s, 100/60s; nothing learned yet" in line

    app = create_app(settings, store=pg_store)
    budget = server_budget(app)
    assert budget.state().mode == LEARNING and budget.limits() == dict(FALLBACK_LIMITS)
    budget.throttled(CONFIGURATION, 0.0, 60.0)  # a 429 naming the minute window, as OpsGenie sends it

    after = invoke_cli(["check"], env)
    line = next(x for x in after.output.splitlines() if "opsgenie rate limits" in x)
    assert "learned so far, shared by the replicas: configuration 10/1s, 150/60s" in line
    assert after.exit_code == 0, after.output


def test_check_says_calibrated_with_the_published_figures(sim: SimControl, tmp_path: Path) -> None:
    env = {"OPSGENIE_API_URL": sim.base_url, "OPSGENIE_API_KEY": SIM_KEY, "SCIM_BEARER_TOKEN": TOKEN,
           "SCIM_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/bridge.db"}
    result = invoke_cli(["check"], env)
    line = next(x for x in result.output.splitlines() if "opsgenie rate limits" in x)
    assert line.startswith("OK ") and "calibrated" in line
    assert "configuration 6000/60s, 100/1s; search 3000/60s, 50/1s" in line

    sim.configure(request_limits_status=404)  # SQLite: each process learns on its own
    result = invoke_cli(["check"], env)
    line = next(x for x in result.output.splitlines() if "opsgenie rate limits" in x)
    assert "answered 404" in line and "each process learns on its own" in line
