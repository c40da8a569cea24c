"""``scim-bridge demo --upstream jsm`` (what ``make run UPSTREAM=jsm`` runs) and ``simulator --upstream jsm``,
as real processes."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ops.clirun import SCIM_BRIDGE
from ops.clirun import free_port
from scim_bridge.simulator.atlassian import ADMIN_EMAIL
from scim_bridge.simulator.atlassian import API_TOKEN

TOKEN = "demo-test-token-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[2]


def start(args: list[str], tmp_path: Path, until: str) -> tuple[subprocess.Popen[str], list[str]]:
    """The command, running, and its output lines up to the first one containing ``until``."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "SCIM_BEARER_TOKEN": TOKEN}
    process = subprocess.Popen([SCIM_BRIDGE, *args], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    lines: list[str] = []
    while not lines or until not in lines[-1]:
        line = process.stdout.readline()
        assert line, "".join(lines) + f"\n(exited with {process.poll()})"
        lines.append(line)
    return process, lines


@pytest.fixture()
def jsm_demo(tmp_path: Path) -> Iterator[tuple[int, str]]:
    port = free_port()
    process, lines = start(["demo", "--port", str(port), "--upstream", "jsm"], tmp_path, "try:")
    try:
        output = "".join(lines)
        assert "7 users and 3 teams keep their SCIM ids" in output, output
        found = re.search(r"Atlassian simulator at (http://\S+) ", output)
        assert found is not None, output
        yield port, found.group(1)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_demo_serves_the_migrated_directory_from_atlassian(jsm_demo: tuple[int, str]) -> None:
    port, sim_url = jsm_demo
    scim = requests.Session()
    scim.headers.update({"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"})
    users = scim.get(f"http://127.0.0.1:{port}/scim/v2/Users", timeout=30).json()["Resources"]
    assert len(users) == 7
    created = scim.post(f"http://127.0.0.1:{port}/scim/v2/Users", timeout=30, json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada.park@example.com",
        "displayName": "Ada Park"})
    assert created.status_code == 201, created.text
    accounts = requests.get(f"{sim_url}/__sim/state", timeout=30).json()["accounts"]
    assert "ada.park@example.com" in {a["email"] for a in accounts}


def test_the_atlassian_simulator_alone(tmp_path: Path) -> None:
    port = free_port()
    process, lines = start(["simulator", "--upstream", "jsm", "--port", str(port)], tmp_path, "Atlassian simulator")
    try:
        assert f"http://127.0.0.1:{port}" in lines[-1]
        me = requests.get(f"http://127.0.0.1:{port}/rest/api/3/myself", auth=(ADMIN_EMAIL, API_TOKEN), timeout=30)
        assert me.status_code == 200, me.text
        state = requests.get(f"http://127.0.0.1:{port}/__sim/state", timeout=30).json()
        assert len(state["teams"]) == 2  # the demo organization
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_make_run_passes_the_upstream() -> None:
    dry = subprocess.run(["make", "-n", "run", "UPSTREAM=jsm", "PORT=9999"], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert "scim-bridge demo --port 9999 --upstream jsm" in dry.stdout
