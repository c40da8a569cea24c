"""Run the real ``scim-bridge`` command: as a subprocess, or in this process through click's runner."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests
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
    cleared: dict[str, str | None] = {k: None for k in os.environ if k.startswith(("SCIM_", "OPSGENIE_"))}
    return CliRunner().invoke(main, args, env={**cleared, **env}, catch_exceptions=False)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serving(env: dict[str, str], tmp_path: Path, *args: str) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """``scim-bridge serve --config deploy/gunicorn.conf.py ARGS`` on a free loopback port, up and answering
    /healthz; yields its base URL, the process and its stderr file, and stops it with SIGTERM afterwards."""
    port = free_port()
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
             "SCIM_BRIDGE_WORKER_TMP_DIR": str(tmp_path), **env}
    log_path = tmp_path / "stderr.log"
    with log_path.open("w+") as log:
        process = subprocess.Popen(
            [SCIM_BRIDGE, "serve", "--config", str(ROOT / "deploy" / "gunicorn.conf.py"), "--host", "127.0.0.1",
             "--port", str(port), *args],
            env=clean, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                        break
                except requests.RequestException:  # not listening yet, or the worker still booting
                    pass
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "the bridge did not start"
                time.sleep(0.2)
            yield base, process, log_path
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            process.wait(timeout=40)
