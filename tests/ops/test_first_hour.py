"""The first hour, as the README tells a newcomer: the demo, its console, the CLI against it, and the
messages and progress the CLI shows."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import threading
from pathlib import Path
from typing import IO
from typing import Any

import requests
from conftest import SIM_KEY
from conftest import TOKEN
from conftest import Running
from console.test_console_http import logged_in_session

from ops.clirun import ROOT
from ops.clirun import SCIM_BRIDGE
from ops.clirun import free_port
from ops.clirun import invoke_cli
from ops.clirun import run_cli
from scim_bridge.config import Settings
from scim_bridge.simulator.atlassian.server import AtlassianSimulatorServer
from scim_bridge.simulator.server import SimulatorServer

BIN = str(Path(SCIM_BRIDGE).parent)


def lines_until(stream: IO[str], marker: str) -> list[str]:
    """The lines a process writes, up to the first one holding ``marker`` (or up to its end)."""
    lines: list[str] = []
    for line in stream:
        lines.append(line)
        if marker in line:
            break
    return lines


def test_a_newcomer_runs_the_cli_and_opens_the_console_on_the_demo(tmp_path: Path) -> None:
    port = free_port()
    env = {"PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": str(tmp_path)}
    demo = subprocess.Popen([SCIM_BRIDGE, "demo", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert demo.stdout is not None
        text = "".join(lines_until(demo.stdout, "set -a"))
        assert "set -a; . var/demo.env; set +a" in text, text
        console = re.search(r"console: (http://\S+/console) \(login token: (\S+)\)", text)
        assert console is not None, text
        loaded = dict(line.split("=", 1) for line in (tmp_path / "var" / "demo.env").read_text().splitlines()
                      if line and not line.startswith("#"))
        assert set(loaded) >= {"OPSGENIE_API_URL", "OPSGENIE_API_KEY", "SCIM_BEARER_TOKEN",
                               "SCIM_BRIDGE_DATABASE_URL", "SCIM_BRIDGE_CONSOLE_TOKEN"}
        assert oct((tmp_path / "var" / "demo.env").stat().st_mode & 0o777) == "0o600"
        created = requests.post(f"http://127.0.0.1:{port}/scim/v2/Users", timeout=30, json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "first.hour@example.com"},
            headers={"Authorization": f"Bearer {loaded['SCIM_BEARER_TOKEN']}",
                     "Content-Type": "application/scim+json"})
        assert created.status_code == 201, created.text

        # The README's lines, in a shell, from the folder the demo runs in.
        script = ("set -a; . var/demo.env; set +a; scim-bridge check && scim-bridge audit && "
                  "scim-bridge export --no-sync --format csv && scim-bridge sync")
        shell = subprocess.run(["bash", "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                               timeout=120, check=False)
        assert shell.returncode == 0, shell.stdout + shell.stderr
        assert "all checks passed" in shell.stdout
        assert re.search(r"create\s+/scim/v2/Users -> 201 ok", shell.stdout), shell.stdout
        assert "first.hour@example.com" in shell.stdout  # the export
        assert "synced 8 users" in shell.stdout

        root = console.group(1).removesuffix("/console")
        http, _csrf = logged_in_session(root, console.group(2))
        assert "first.hour@example.com" in http.get(root + "/console/directory/users", timeout=10).text
    finally:
        demo.terminate()
        demo.wait(timeout=30)


def test_export_no_sync_and_audit_need_no_opsgenie_key(bridge: Running, tmp_path: Path) -> None:
    assert bridge.scim.post("/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                       "userName": "keyless@example.com"}).status_code == 201
    # No key, and the simulator as the upstream: its call log shows the export and the audit read nothing there.
    env = {"SCIM_BRIDGE_DATABASE_URL": bridge.settings.database_url, "OPSGENIE_API_URL": bridge.sim.base_url}
    calls_before = len(bridge.sim.calls())
    exported = invoke_cli(["export", "--no-sync", "--format", "csv"], env)
    assert exported.exit_code == 0, exported.output
    assert "keyless@example.com" in exported.output
    audited = invoke_cli(["audit", "--json"], env)
    assert audited.exit_code == 0, audited.output
    assert '"status": 201' in audited.output
    assert len(bridge.sim.calls()) == calls_before
    team = bridge.sim.team("Customer Support")
    assert team is not None
    assert bridge.scim.delete(f"/Groups/{team['id']}").status_code == 204  # one upstream call
    lines = invoke_cli(["audit", "--limit", "2"], env).output.splitlines()
    assert re.search(r"-> 204 ok \(1 upstream call, scopes [^)]*\)$", lines[0]), lines
    assert "(3 upstream calls, scopes" in lines[1], lines
    # A database never synced: a clear reason, not an attempt to reach OpsGenie.
    fresh = invoke_cli(["export", "--no-sync"], {"SCIM_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/new.db"})
    assert fresh.exit_code == 1
    assert "run 'scim-bridge sync' once, or export without --no-sync" in fresh.output


def test_a_wrong_key_is_one_line_with_the_fix(simulator: SimulatorServer, tmp_path: Path) -> None:
    env = {"OPSGENIE_API_URL": simulator.base_url, "OPSGENIE_API_KEY": "not-the-key",
           "SCIM_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/bridge.db"}
    for args in (["sync"], ["export", "--format", "csv"]):
        result = run_cli(args, env, tmp_path)
        assert result.returncode == 1
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "OpsGenie rejected the API key" in result.stderr and "fix: set OPSGENIE_API_KEY" in result.stderr
    # The message after the retries is the same whatever their number: one second of them is enough to show it.
    unreachable = run_cli(["sync"], {**env, "OPSGENIE_API_URL": f"http://127.0.0.1:{free_port()}",
                                     "SCIM_BRIDGE_BATCH_UPSTREAM_WAIT": "1"}, tmp_path)
    assert unreachable.returncode == 1
    assert unreachable.stderr.strip().splitlines() == [
        "scim-bridge: sync failed: cannot reach OpsGenie (could not connect to OpsGenie); fix: check "
        "OPSGENIE_API_URL and that this host can reach it (DNS, proxy, firewall)"]


def test_serve_logs_a_wrong_key_as_one_line_with_the_fix(simulator: SimulatorServer, tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "OPSGENIE_API_URL": simulator.base_url, "OPSGENIE_API_KEY": "not-the-key", "SCIM_BEARER_TOKEN": TOKEN,
           "SCIM_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/bridge.db", "SCIM_BRIDGE_WORKER_TMP_DIR": str(tmp_path)}
    process = subprocess.Popen([SCIM_BRIDGE, "serve", "--host", "127.0.0.1", "--port", str(free_port()),
                                "--workers", "1"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    guard = threading.Timer(90, process.kill)  # ends the read below should the line never come
    guard.start()
    try:
        assert process.stderr is not None
        lines = lines_until(process.stderr, "sync failed")
        assert "fix: set OPSGENIE_API_KEY" in lines[-1], "".join(lines)
        assert not [line for line in lines if "Traceback" in line], "".join(lines)
    finally:
        guard.cancel()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=40)


def test_sync_shows_progress_on_a_terminal_only(simulator: SimulatorServer, tmp_path: Path) -> None:
    simulator.state.reset(seed="demo")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "TERM": "xterm",
           "OPSGENIE_API_URL": simulator.base_url, "OPSGENIE_API_KEY": SIM_KEY,
           "SCIM_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/bridge.db"}
    # Not a terminal (click's runner reads standard error into a buffer): no progress at all. The command decides
    # from its standard error alone, so this run needs no interpreter of its own; the drawing one below does.
    quiet = invoke_cli(["sync"], {k: v for k, v in env.items() if k.startswith(("SCIM_", "OPSGENIE_"))})
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""
    primary, secondary = pty.openpty()
    process = subprocess.Popen([SCIM_BRIDGE, "sync"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=secondary)
    os.close(secondary)
    drawn = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        drawn += chunk
    os.close(primary)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    assert b"synced 7 users, 3 teams" in out
    assert b"reading users" in drawn and b"reading teams" in drawn


def test_token_create_is_described_alike_and_its_entry_works(bridge_factory: Any) -> None:
    """The README and every guide say what `token create` prints: a token for the IdP and its
    NAME:SHA256HEX entry for SCIM_BEARER_TOKEN_HASHES; a bridge so configured accepts the token."""
    printed = invoke_cli(["token", "create", "okta"], {})
    assert printed.exit_code == 0
    token = re.search(r"it is not stored anywhere\): (\S+)", printed.output)
    entry = re.search(r"SCIM_BEARER_TOKEN_HASHES.*\n\s+(okta:[0-9a-f]{64})", printed.output)
    assert token is not None and entry is not None, printed.output
    bridge: Running = bridge_factory(tokens=Settings.from_env({"SCIM_BEARER_TOKEN_HASHES": entry.group(1)},
                                                              require_key=False).tokens)
    answer = requests.get(bridge.scim.base_url + "/Users", headers={"Authorization": f"Bearer {token.group(1)}"},
                          timeout=30)
    assert answer.status_code == 200
    readme = (ROOT / "README.md").read_text()
    assert "Prints a new bearer token (give it to the IdP; it is stored nowhere) and its `SCIM_BEARER_TOKEN_HASHES` " \
           "entry, `name:sha256hex` (plus `:scope+scope` when not all three)" in readme
    assert "`name:sha256hex[:scope+scope],…`" in readme
    for guide, name in (("okta.md", "okta"), ("entra-id.md", "entra"), ("saviynt.md", "saviynt")):
        text = (ROOT / "docs" / guide).read_text()
        assert f"`scim-bridge token create {name} --scopes read+write+roles` prints" in text, guide
        assert f"SCIM_BEARER_TOKEN_HASHES={name}:<sha256 of the token>:read+write+roles" in text, guide
        assert "SCIM_BEARER_TOKEN=<token>" not in text, guide


def test_the_docs_newcomers_read_first() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "set -a; . var/demo.env; set +a" in readme
    assert "`urn:scim-bridge:…:opsgenie:2.0:Group:kind` (read-only)" in readme
    assert "GET /Users?attributes=favouriteColour" in readme
    assert "`SCIM_BRIDGE_PHONE_REGION`" in readme
    # Outside the lines about installing, the README calls the command one way: `.venv/bin/scim-bridge`
    # after the note that says so, or plain `scim-bridge` after it.
    note = readme.index("run `. .venv/bin/activate` once per shell (or type `.venv/bin/scim-bridge`)")
    assert readme.index(".venv/bin/scim-bridge check") < note
    saviynt = (ROOT / "docs" / "saviynt.md").read_text()
    assert '"authType": "Basic"' not in saviynt and '"authType": "oauth2"' in saviynt
    assert '"accessToken": "Bearer <token>"' in saviynt


def test_a_phone_region_opsgenie_cannot_read_is_refused_at_start(tmp_path: Path) -> None:
    env = {"SCIM_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/bridge.db", "SCIM_BRIDGE_PHONE_REGION": "USA"}
    refused = invoke_cli(["db", "upgrade"], env)
    assert refused.exit_code == 2
    assert "SCIM_BRIDGE_PHONE_REGION must be a two-letter region code such as US or DE, got 'USA'" in refused.output
    accepted = invoke_cli(["db", "upgrade"], {**env, "SCIM_BRIDGE_PHONE_REGION": "de"})
    assert accepted.exit_code == 0, accepted.output


def test_wrong_atlassian_credentials_are_one_line_naming_the_atlassian_settings(tmp_path: Path) -> None:
    """Under SCIM_BRIDGE_UPSTREAM=jsm the fix names the Atlassian settings, not OpsGenie's."""
    with AtlassianSimulatorServer() as server:
        env = {"SCIM_BRIDGE_UPSTREAM": "jsm", "ATLASSIAN_API_URL": server.base_url,
               "ATLASSIAN_SITE_URL": server.base_url, "ATLASSIAN_ORG_ID": "sim-org", "ATLASSIAN_CLOUD_ID": "sim-cloud",
               "ATLASSIAN_SITE_ID": "sim-site", "ATLASSIAN_EMAIL": "sim-admin@example.com",
               "ATLASSIAN_API_TOKEN": "not-the-token", "ATLASSIAN_ADMIN_API_KEY": "not-the-key",
               "SCIM_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/bridge.db"}
        result = run_cli(["sync"], env, tmp_path)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "scim-bridge: sync failed: Atlassian rejected the credentials" in result.stderr
    assert "fix: check ATLASSIAN_EMAIL with ATLASSIAN_API_TOKEN" in result.stderr and "OPSGENIE" not in result.stderr
