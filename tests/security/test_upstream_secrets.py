"""The GenieKey never travels in clear unless the operator says so, and ``check`` warns about secret files
other users can read."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SIM_KEY
from conftest import TOKEN
from ops.clirun import invoke_cli
from ops.clirun import run_cli

from scim_bridge.config import ConfigError
from scim_bridge.config import Settings
from scim_bridge.simulator.server import SimulatorServer

REMOTE = "http://opsgenie-proxy.example.com"


def test_plain_http_to_another_host_is_refused_unless_allowed(tmp_path: Path) -> None:
    env = {"OPSGENIE_API_URL": REMOTE, "OPSGENIE_API_KEY": SIM_KEY, "SCIM_BEARER_TOKEN": TOKEN,
           "SCIM_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/bridge.db"}
    # A process with a timeout: were the URL accepted, `serve` would go on serving instead of ending.
    served = run_cli(["serve", "--port", "1"], env, tmp_path)
    assert served.returncode == 2
    assert "OPSGENIE_API_URL" in served.stderr and "SCIM_BRIDGE_ALLOW_INSECURE_UPSTREAM=true" in served.stderr
    checked = invoke_cli(["check", "--no-migrate"], env)
    assert checked.exit_code == 1
    assert checked.stdout.startswith("FAIL configuration: OPSGENIE_API_URL 'http://opsgenie-proxy.example.com' is "
                                     "plain http")
    assert SIM_KEY not in served.stderr + checked.output

    allowed = Settings.from_env({**env, "SCIM_BRIDGE_ALLOW_INSECURE_UPSTREAM": "true"})
    assert allowed.opsgenie_api_url == REMOTE and allowed.allow_insecure_upstream
    for url in ("http://127.0.0.1:9000", "http://localhost:9000", "http://[::1]:9000", "https://api.opsgenie.com"):
        assert Settings.from_env({**env, "OPSGENIE_API_URL": url}).opsgenie_api_url == url
    with pytest.raises(ConfigError, match="plain http"):
        Settings.from_env({**env, "OPSGENIE_API_URL": "http://127.0.0.1.example.com"})


def test_check_warns_about_secret_files_others_can_read(simulator: SimulatorServer, tmp_path: Path) -> None:
    key_file = tmp_path / "opsgenie-api-key"
    key_file.write_text(SIM_KEY + "\n")
    token_file = tmp_path / "scim-bearer-token"
    token_file.write_text(TOKEN + "\n")
    env = {"OPSGENIE_API_URL": simulator.base_url, "OPSGENIE_API_KEY_FILE": str(key_file),
           "SCIM_BEARER_TOKEN_FILE": str(token_file), "SCIM_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/bridge.db"}

    key_file.chmod(0o644)
    token_file.chmod(0o640)
    loose = invoke_cli(["check"], env)
    assert loose.exit_code == 0, loose.output  # a warning: the bridge can work
    line = next(text for text in loose.stdout.splitlines() if text.startswith("WARN secret files:"))
    assert f"OPSGENIE_API_KEY_FILE ({key_file}, mode 0644)" in line
    assert f"SCIM_BEARER_TOKEN_FILE ({token_file}, mode 0640)" in line
    assert "chmod 600" in line
    assert "OK   upstream transport: plain http to a server on this machine (loopback)" in loose.stdout

    key_file.chmod(0o600)
    token_file.chmod(0o400)
    tight = invoke_cli(["check"], env)
    assert tight.exit_code == 0, tight.output
    assert "OK   secret files: 2 secret files, readable by their owner only." in tight.stdout
    assert SIM_KEY not in loose.output + tight.output and TOKEN not in loose.output + tight.output
