"""Start the real ``scim-bridge serve`` (gunicorn) over a simulator, and stop it gracefully."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from conftest import TOKEN

from ops.clirun import ROOT
from ops.clirun import SCIM_BRIDGE
from ops.clirun import free_port
from scim_bridge.simulator.server import SimulatorServer


@dataclass
class Served:
    base: str
    log_path: Path
    returncode: int | None = None

    def log_text(self) -> str:
        return self.log_path.read_text()

    def scim_get(self, path: str, **headers: str) -> requests.Response:
        return requests.get(f"{self.base}/scim/v2{path}", timeout=30,
                            headers={"Authorization": f"Bearer {TOKEN}", **headers})


@contextmanager
def serve(simulator: SimulatorServer, tmp_path: Path, key: str, *, workers: int,
          env: dict[str, str] | None = None) -> Iterator[Served]:
    """``scim-bridge serve --config deploy/gunicorn.conf.py`` on a free port; SIGTERM when the block ends.

    The returncode (0 after a graceful stop) and the stderr log are on the yielded object afterwards.
    """
    port = free_port()
    key_file = tmp_path / "opsgenie-api-key"
    key_file.write_text(key + "\n")
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
        "OPSGENIE_API_URL": simulator.base_url, "OPSGENIE_API_KEY_FILE": str(key_file),
        "SCIM_BEARER_TOKEN": TOKEN, "SCIM_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/state/bridge.db",
        "SCIM_BRIDGE_SYNC_INTERVAL": "0", "SCIM_BRIDGE_WORKER_TMP_DIR": str(tmp_path),
        "SCIM_BRIDGE_BIND": "127.0.0.1:1",  # overridden by --host/--port below
        **(env or {}),
    }
    served = Served(base=f"http://127.0.0.1:{port}", log_path=tmp_path / "stderr.log")
    log = served.log_path.open("w+")
    process = subprocess.Popen(
        [SCIM_BRIDGE, "serve", "--config", str(ROOT / "deploy" / "gunicorn.conf.py"), "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers)],
        env=clean, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=log,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{served.base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or the worker still booting
                pass
            assert process.poll() is None, served.log_text()
            assert time.monotonic() < deadline, "the bridge did not start"
            time.sleep(0.2)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        served.returncode = process.wait(timeout=40)
        log.close()
