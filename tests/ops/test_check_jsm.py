"""``scim-bridge check`` with SCIM_BRIDGE_UPSTREAM=jsm, against the Atlassian simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from ops.clirun import invoke_cli
from scim_bridge.directory.links import UserLink
from scim_bridge.simulator.atlassian import AtlassianSimConfig
from scim_bridge.simulator.atlassian import AtlassianSimulatorServer
from scim_bridge.store import Store
from scim_bridge.store import UserRecord
from scim_bridge.store.links import SqlLinkStore
from tests.ops.test_check import lines_of
from tests.upstream_views import atlassian_settings

TOKEN = "check-token-0123456789abcdef"
JSM_CHECKS = {"configuration", "upstream transport", "secret files", "scim tokens", "database",
              "atlassian admin key", "atlassian api token", "atlassian teams",
              "jsm operations rights", "jsm enable-ops", "jsm links"}


@pytest.fixture(scope="module")
def sim() -> Iterator[AtlassianSimulatorServer]:
    server = AtlassianSimulatorServer(seed="demo").start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh(sim: AtlassianSimulatorServer) -> Iterator[None]:
    sim.state.update_config(AtlassianSimConfig().to_dict())
    requests.delete(f"{sim.base_url}/__sim/faults", timeout=10).raise_for_status()
    yield
    requests.delete(f"{sim.base_url}/__sim/faults", timeout=10).raise_for_status()


def env_for(sim: AtlassianSimulatorServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    s = atlassian_settings(sim.base_url)
    return {"SCIM_BRIDGE_UPSTREAM": "jsm", "SCIM_BEARER_TOKEN": TOKEN,
            "SCIM_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/state/bridge.db",
            "ATLASSIAN_API_URL": s.api_url, "ATLASSIAN_SITE_URL": s.site_url, "ATLASSIAN_ORG_ID": s.org_id,
            "ATLASSIAN_CLOUD_ID": s.cloud_id, "ATLASSIAN_SITE_ID": s.site_id, "ATLASSIAN_EMAIL": s.email,
            "ATLASSIAN_API_TOKEN": s.api_token, "ATLASSIAN_ADMIN_API_KEY": s.admin_api_key, **extra}


def state_of(sim: AtlassianSimulatorServer) -> Any:
    return requests.get(f"{sim.base_url}/__sim/state", timeout=10).json()


def test_check_passes_and_changes_nothing(sim: AtlassianSimulatorServer, tmp_path: Path) -> None:
    before = state_of(sim)
    result = invoke_cli(["check"], env_for(sim, tmp_path))
    assert result.exit_code == 0, result.output
    checks = lines_of(result.output)
    assert set(checks) == JSM_CHECKS
    assert all(line.startswith("OK ") for line in checks.values()), result.output
    assert f"JSM Operations (Atlassian API at {sim.base_url}" in checks["configuration"]
    assert "an account of organization sim-org" in checks["atlassian api token"]
    assert state_of(sim) == before


@pytest.mark.parametrize(("extra", "failed", "skipped"), [
    ({"ATLASSIAN_ADMIN_API_KEY": "not-the-key"}, "atlassian admin key", set()),
    ({"ATLASSIAN_API_TOKEN": "not-the-token"}, "atlassian api token",
     {"atlassian teams", "jsm operations rights", "jsm enable-ops"}),
    ({"ATLASSIAN_CLOUD_ID": "other-cloud"}, "jsm operations rights", set()),
    ({"ATLASSIAN_ORG_ID": "other-org"}, "atlassian admin key", set()),
])
def test_wrong_settings_name_what_to_fix(sim: AtlassianSimulatorServer, tmp_path: Path, extra: dict[str, str],
                                         failed: str, skipped: set[str]) -> None:
    result = invoke_cli(["check"], env_for(sim, tmp_path, **extra))
    assert result.exit_code == 1, result.output
    checks = lines_of(result.output)
    assert checks[failed].startswith("FAIL "), result.output
    assert "Fix:" in checks[failed]
    assert {name for name, line in checks.items() if line.startswith("SKIP ")} == skipped
    assert len([line for line in result.output.splitlines() if "jsm links" in line]) == 1


def test_rights_the_bridge_needs(sim: AtlassianSimulatorServer, tmp_path: Path) -> None:
    sim.state.update_config({"caller_ops_admin": False})
    rule = {"method": "POST", "path": "/jsm/ops/api/[^/]+/v1/teams/[^/]+/enable-ops", "action": "403", "times": 5}
    requests.post(f"{sim.base_url}/__sim/faults", json=[rule], timeout=10).raise_for_status()
    result = invoke_cli(["check"], env_for(sim, tmp_path))
    assert result.exit_code == 1
    checks = lines_of(result.output)
    assert checks["jsm operations rights"].startswith("FAIL ") and "Operations admin" in checks["jsm operations rights"]
    assert checks["jsm enable-ops"].startswith("FAIL ") and "may not enable operations" in checks["jsm enable-ops"]
    assert checks["atlassian teams"].startswith("OK ")


def test_missing_atlassian_settings(tmp_path: Path) -> None:
    env = {"SCIM_BRIDGE_UPSTREAM": "jsm", "SCIM_BEARER_TOKEN": TOKEN,
           "SCIM_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/state/bridge.db"}
    result = invoke_cli(["check"], env)
    assert result.exit_code == 1
    checks = lines_of(result.output)
    assert checks["atlassian settings"].startswith("FAIL ") and "ATLASSIAN_SITE_URL" in checks["atlassian settings"]
    assert checks["jsm enable-ops"].startswith("SKIP ")


def test_a_store_not_yet_migrated_is_pointed_at_migrate(sim: AtlassianSimulatorServer, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path)
    store = Store.from_url(env["SCIM_BRIDGE_DATABASE_URL"])
    store.upgrade()
    store.upsert_user(UserRecord("og-1", "mei.chen@example.com", upstream={"id": "og-1", "role": "User"}))
    warned = lines_of(invoke_cli(["check"], env).output)["jsm links"]
    assert warned.startswith("WARN ") and "1 users and 0 teams" in warned and "migrate --to jsm" in warned
    SqlLinkStore(store).save_user(UserLink("og-1", "acc-1", "mei.chen@example.com"))
    store.close()
    result = invoke_cli(["check"], env)
    assert result.exit_code == 0, result.output
    assert lines_of(result.output)["jsm links"].startswith("OK ")
