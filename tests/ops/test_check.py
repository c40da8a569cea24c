"""``scim-bridge check`` against simulators with limited keys and two regions: once as a subprocess (the command
an operator types), the other cases through click's runner in this process (the same command and output)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from ops.clirun import invoke_cli
from ops.clirun import run_cli
from scim_bridge.simulator.config import RIGHTS
from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.server import SimulatorServer

TOKEN = "check-token-0123456789abcdef"
FULL = "full-key-5b1c7e0f"
WRONG = "wrong-key-7Q9xZp"
EU_KEY = "eu-key-44a0d2c9"


@pytest.fixture(scope="module")
def us_sim() -> Iterator[SimulatorServer]:
    config = SimulatorConfig(
        api_keys={FULL: RIGHTS, EU_KEY: RIGHTS, "ro-key-read-only": frozenset({"read"}),
                  "rc-key-read-config": frozenset({"read", "configuration"})},
        key_regions={EU_KEY: "eu"},
        region="us",
    )
    server = SimulatorServer(config, seed="demo").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def eu_sim() -> Iterator[SimulatorServer]:
    config = SimulatorConfig(api_keys={EU_KEY: RIGHTS}, key_regions={EU_KEY: "eu"}, region="eu")
    server = SimulatorServer(config, seed="demo").start()
    yield server
    server.stop()


def env_for(sim: SimulatorServer, key: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "OPSGENIE_API_URL": sim.base_url,
        "OPSGENIE_API_KEY": key,
        "SCIM_BEARER_TOKEN": TOKEN,
        "SCIM_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/state/bridge.db",
        **extra,
    }


def lines_of(output: str) -> dict[str, str]:
    """{check name: its line} for the OK/WARN/FAIL/SKIP lines."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("OK", "WARN", "FAIL", "SKIP"):
            found[rest.strip().split(":", 1)[0]] = line
    return found


def upstream_snapshot(sim: SimulatorServer) -> Any:
    state = requests.get(f"{sim.base_url}/__sim/state", timeout=10).json()
    return sorted(u["id"] for u in state["users"]), sorted(t["id"] for t in state["teams"])


def test_check_passes_and_changes_nothing_upstream(us_sim: SimulatorServer, tmp_path: Path) -> None:
    before = upstream_snapshot(us_sim)
    result = run_cli(["check"], env_for(us_sim, FULL, tmp_path), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    checks = lines_of(result.stdout)
    assert set(checks) == {"configuration", "upstream transport", "secret files", "scim tokens", "database",
                           "opsgenie key", "opsgenie read", "opsgenie write", "opsgenie delete", "opsgenie roles",
                           "opsgenie rate limits"}
    assert all(line.startswith("OK ") for line in checks.values()), result.stdout
    assert "7 users visible" in checks["opsgenie read"]
    assert f"OpsGenie API at {us_sim.base_url} (custom endpoint)" in checks["configuration"]  # as on the console
    assert "1 bearer token accepted" in checks["scim tokens"]
    assert "migrated" in checks["database"]
    assert result.stdout.rstrip().endswith("all checks passed: the bridge can work.")
    assert FULL not in result.stdout + result.stderr and TOKEN not in result.stdout + result.stderr
    assert upstream_snapshot(us_sim) == before
    # Running it again finds the schema already migrated.
    again = invoke_cli(["check"], env_for(us_sim, FULL, tmp_path))
    assert again.exit_code == 0 and "schema at" in lines_of(again.output)["database"]


def test_wrong_key(us_sim: SimulatorServer, tmp_path: Path) -> None:
    result = invoke_cli(["check"], env_for(us_sim, WRONG, tmp_path))
    assert result.exit_code == 1
    checks = lines_of(result.stdout)
    assert checks["opsgenie key"].startswith("FAIL")
    assert "refused the API key (401" in checks["opsgenie key"]
    assert "check OPSGENIE_API_KEY" in checks["opsgenie key"]
    assert checks["opsgenie write"].startswith("SKIP")
    assert WRONG not in result.output
    assert "1 of 11 checks failed (5 more could not run until then): the bridge cannot work until they are fixed." \
        in result.stdout
    assert ". Fix: check OPSGENIE_API_KEY" in checks["opsgenie key"]


def test_wrong_region_hint(us_sim: SimulatorServer, tmp_path: Path) -> None:
    """A key of the other region gets 401 like a wrong key: the fix names both regions' hosts.

    The simulator's URL is neither official host, so the check cannot say which region it stands for (with
    OPSGENIE_API_URL=https://api.opsgenie.com it would name the EU host alone, after trying it).
    """
    result = invoke_cli(["check"], env_for(us_sim, EU_KEY, tmp_path))
    assert result.exit_code == 1
    line = lines_of(result.stdout)["opsgenie key"]
    assert line.startswith("FAIL")
    assert ("a key works only in the region it was created in: OpsGenie's API hosts are https://api.opsgenie.com "
            "(US) and https://api.eu.opsgenie.com (EU)") in line
    assert f"{us_sim.base_url} is neither" in line


def test_wrong_region_confirmed_by_the_other_host(us_sim: SimulatorServer, eu_sim: SimulatorServer,
                                                  tmp_path: Path) -> None:
    result = invoke_cli(["check", "--other-region-url", eu_sim.base_url], env_for(us_sim, EU_KEY, tmp_path))
    assert result.exit_code == 1
    line = lines_of(result.stdout)["opsgenie key"]
    assert line.startswith("FAIL")
    assert f"but {eu_sim.base_url} accepts it: the key belongs to the region {eu_sim.base_url} serves" in line
    assert f"Fix: set OPSGENIE_API_URL={eu_sim.base_url}" in line
    # With that fix applied, the same key passes.
    fixed = invoke_cli(["check"], env_for(eu_sim, EU_KEY, tmp_path))
    assert fixed.exit_code == 0, fixed.output


def test_wrong_key_refused_by_both_regions(us_sim: SimulatorServer, eu_sim: SimulatorServer,
                                           tmp_path: Path) -> None:
    result = invoke_cli(["check", "--other-region-url", eu_sim.base_url], env_for(us_sim, WRONG, tmp_path))
    assert result.exit_code == 1
    line = lines_of(result.output)["opsgenie key"]
    assert "refused the API key in both regions" in line
    assert "API key management" in line


def test_read_only_key(us_sim: SimulatorServer, tmp_path: Path) -> None:
    requests.delete(f"{us_sim.base_url}/__sim/calls", timeout=10).raise_for_status()
    result = invoke_cli(["check"], env_for(us_sim, "ro-key-read-only", tmp_path))
    assert result.exit_code == 1
    calls = requests.get(f"{us_sim.base_url}/__sim/calls", timeout=10).json()["calls"]
    assert [c["path"] for c in calls].count("/v2/request-limits/") == 1  # asked once, used by two checks
    checks = lines_of(result.stdout)
    assert checks["opsgenie key"].startswith("OK")
    assert checks["opsgenie read"].startswith("FAIL")
    assert "lacks Configuration Access" in checks["opsgenie read"]
    assert checks["opsgenie write"].startswith("FAIL") and "Create and Update" in checks["opsgenie write"]
    assert checks["opsgenie delete"].startswith("FAIL") and "lacks Delete" in checks["opsgenie delete"]


def test_key_without_write_rights(us_sim: SimulatorServer, tmp_path: Path) -> None:
    result = invoke_cli(["check"], env_for(us_sim, "rc-key-read-config", tmp_path))
    assert result.exit_code == 1
    checks = lines_of(result.output)
    assert checks["opsgenie read"].startswith("OK")
    assert checks["opsgenie write"].startswith("FAIL")
    assert "lacks Create and Update" in checks["opsgenie write"]
    assert "tick Create and Update" in checks["opsgenie write"]
    assert checks["opsgenie delete"].startswith("FAIL")
    assert checks["opsgenie roles"].startswith("OK")


def test_missing_token_unknown_role_and_bad_database(us_sim: SimulatorServer, tmp_path: Path) -> None:
    env = env_for(us_sim, FULL, tmp_path, SCIM_BRIDGE_SUSPENDED_ROLE="Suspended",
                  SCIM_BRIDGE_DATABASE_URL="postgresql+psycopg://bridge:s3cret-pw@127.0.0.1:1/none")
    del env["SCIM_BEARER_TOKEN"]
    result = invoke_cli(["check"], env)
    assert result.exit_code == 1
    checks = lines_of(result.output)
    assert checks["scim tokens"].startswith("FAIL") and "scim-bridge token create" in checks["scim tokens"]
    assert checks["opsgenie roles"].startswith("FAIL")
    assert "SCIM_BRIDGE_SUSPENDED_ROLE names 'Suspended'" in checks["opsgenie roles"]
    assert checks["database"].startswith("FAIL") and "postgresql" in checks["database"]
    assert "s3cret-pw" not in result.output


def test_oauth_clients_alone_let_identity_providers_in(us_sim: SimulatorServer, tmp_path: Path) -> None:
    """`serve` accepts OAuth clients without a static token; `check` agrees."""
    env = env_for(us_sim, FULL, tmp_path, SCIM_BRIDGE_OAUTH_CLIENTS="entra:entra-client:" + "0" * 64,
                  SCIM_BRIDGE_OAUTH_SIGNING_KEY="s" * 40)
    del env["SCIM_BEARER_TOKEN"]
    result = invoke_cli(["check"], env)
    assert result.exit_code == 0, result.output
    line = lines_of(result.output)["scim tokens"]
    assert line == "OK   scim tokens: 1 OAuth client may obtain tokens at /oauth/token (entra)."


def test_invalid_configuration_and_unreachable_upstream(us_sim: SimulatorServer, tmp_path: Path) -> None:
    bad = invoke_cli(["check"], env_for(us_sim, FULL, tmp_path, SCIM_BRIDGE_DEACTIVATION="archive"))
    assert bad.exit_code == 1
    assert lines_of(bad.output)["configuration"].startswith("FAIL")
    assert "SCIM_BRIDGE_DEACTIVATION must be one of suspend, delete" in bad.output
    env = env_for(us_sim, FULL, tmp_path, OPSGENIE_API_URL="http://127.0.0.1:9")
    down = invoke_cli(["check"], env)
    assert down.exit_code == 1
    assert "cannot reach OpsGenie at http://127.0.0.1:9" in lines_of(down.output)["opsgenie key"]
