"""Run the real ``scim-bridge`` command: as a subprocess, or in this process through click's runner."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from click.testing import Result

from scim_bridge.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCIM_BRIDGE = str(Path(sys.executable).with_name("scim-bridge"))


def run_cli(
    args: list[str], env: dict[str, str], tmp_path: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``scim-bridge ARGS`` in a clean environment (PATH and the given variables only)."""
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), **env}
    return subprocess.run([SCIM_BRIDGE, *args], env=clean, cwd=tmp_path, capture_output=True, text=True,
                          timeout=timeout, check=False)


def invoke_cli(args: list[str], env: dict[str, str]) -> Result:
    """The same command in this process; every bridge variable not in ``env`` is unset meanwhile."""
    cleared: dict[str, str | None] = {k: None for k in os.environ if k.startswith(("SCIM_", "OPSGENIE_", "ATLASSIAN_"))}
    return CliRunner().invoke(main, args, env={**cleared, **env}, catch_exceptions=False)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
