"""``scim-bridge demo`` as a newcomer runs it: a real process, its state file in the working folder."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ops.clirun import SCIM_BRIDGE
from ops.clirun import free_port
from ops.clirun import run_cli

TOKEN = "demo-test-token-0123456789abcdef"


@pytest.fixture()
def running_demo(tmp_path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "SCIM_BEARER_TOKEN": TOKEN}
    demo = subprocess.Popen([SCIM_BRIDGE, "demo", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert demo.stdout is not None
        first = demo.stdout.readline()
        assert "SCIM at" in first, first + (demo.stdout.read() if demo.poll() is not None else "")
        yield port, env
    finally:
        demo.terminate()
        demo.wait(timeout=30)


def users(port: int) -> list[str]:
    answer = requests.get(f"http://127.0.0.1:{port}/scim/v2/Users", headers={"Authorization": f"Bearer {TOKEN}"},
                          timeout=30)
    assert answer.status_code == 200, answer.text
    return sorted(u["userName"] for u in answer.json()["Resources"])


def test_a_second_demo_leaves_the_first_one_alone(running_demo: tuple[int, dict[str, str]], tmp_path: Path) -> None:
    port, env = running_demo
    before = users(port)
    assert len(before) == 7
    created = requests.post(f"http://127.0.0.1:{port}/scim/v2/Users", timeout=30,
                            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"},
                            json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                  "userName": "ada.park@example.com", "displayName": "Ada Park"})
    assert created.status_code == 201, created.text

    same_port = run_cli(["demo", "--port", str(port)], env, tmp_path)
    assert same_port.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in same_port.stderr
    same_state = run_cli(["demo", "--port", str(free_port())], env, tmp_path)
    assert same_state.returncode == 2
    assert "another demo is running on var/demo.db" in same_state.stderr

    assert users(port) == sorted([*before, "ada.park@example.com"])  # nothing was reset under it
