"""Start the real ``scim-bridge serve`` (gunicorn) over a simulator, and stop it gracefully.

The server's standard error goes to a log file through a thread that also tells waiting tests what was logged:
``serve`` waits for gunicorn's "Listening at" line (its socket is bound), then sends one health check, which the
kernel holds in the socket's backlog until a worker has built the app and takes it. Nothing polls.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import IO

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
    lines: list[str] = field(default_factory=list)  # the log so far, as the copying thread saw it
    ended: bool = False  # the server closed its standard error (it has exited)
    logged: threading.Condition = field(default_factory=threading.Condition)

    def log_text(self) -> str:
        return self.log_path.read_text()

    def copy_log(self, stream: IO[str]) -> None:
        """The copying thread: each line of ``stream`` to the log file, then to the waiting tests."""
        with self.log_path.open("a") as log:
            for line in stream:
                log.write(line)
                log.flush()
                with self.logged:
                    self.lines.append(line)
                    self.logged.notify_all()
        with self.logged:
            self.ended = True
            self.logged.notify_all()

    def wait_for_log(self, *texts: str, count: int = 1, timeout: float = 60) -> None:
        """Until ``count`` lines of the log hold each of ``texts``; fails if the server ends (or ``timeout``
        passes) first."""
        def found() -> int:
            return sum(all(text in line for text in texts) for line in self.lines)
        with self.logged:
            self.logged.wait_for(lambda: self.ended or found() >= count, timeout)
            assert found() >= count, "".join(self.lines)

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
    served.log_path.write_text("")
    process = subprocess.Popen(
        [SCIM_BRIDGE, "serve", "--config", str(ROOT / "deploy" / "gunicorn.conf.py"), "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers)],
        env=clean, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    assert process.stderr is not None
    copier = threading.Thread(target=served.copy_log, args=(process.stderr,), daemon=True)
    copier.start()
    try:
        served.wait_for_log("Listening at: ")
        assert requests.get(f"{served.base}/healthz", timeout=30).status_code == 200, served.log_text()
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        served.returncode = process.wait(timeout=40)
        copier.join(timeout=10)  # the rest of the log is in the file
        process.stderr.close()
