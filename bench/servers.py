"""The processes a benchmark runs against, each started as shipped, on loopback.

- :class:`Simulator`: ``scim-bridge simulator`` (the OpsGenie stand-in), controlled over ``/__sim/``.
- :class:`Bridge`: ``scim-bridge serve`` (gunicorn, gthread workers) on a fresh SQLite state file.
- :class:`Reference`: the in-memory SCIM reference server ``scim2-server``.

Every process is started by this module and stopped by its own pid (its process group), never by name.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import suppress
from pathlib import Path
from typing import Any

import requests

BIN = Path(sys.executable).parent
TOKEN = "bench-token-0123456789abcdef"
SIM_KEY = "bench-key"
SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
# Generous upstream limits for the throughput runs, so that only the bridge itself is measured.
UNTHROTTLED = ("configuration=100000/6000000", "search=100000/6000000")


# A source tree whose ``scim_bridge`` the bridge and simulator processes import instead of the
# installed one (``python -m bench --source DIR``), e.g. an export of an older commit.
SOURCE: Path | None = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {proc.returncode}; see {log}:\n"
                               + log.read_text(errors="replace")[-2000:])
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s; see {log}")


class _Process:
    """A child process in its own process group, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.log = workdir / f"{name}.log"
        if SOURCE is not None:
            env = {**env, "PYTHONPATH": os.pathsep.join(p for p in (str(SOURCE), env.get("PYTHONPATH")) if p)}
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(argv, env=env, stdout=self._log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True, cwd=workdir)

    def _ready(self, url: str, timeout: float) -> None:
        try:
            _wait_http(url, timeout, self.proc, self.log)
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    def pids(self) -> list[int]:
        """This process and its children (gunicorn's workers), whose CPU time a load run reads."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            return [self.pid, *(int(p) for p in children.read_text().split())]
        except OSError:
            return [self.pid]

    def stop(self) -> None:
        if self.proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._log_file.close()


class Simulator(_Process):
    def __init__(self, workdir: Path, *, latency_ms: int = 0, rate_limits: tuple[str, ...] = UNTHROTTLED) -> None:
        self.port = free_port()
        argv = [str(BIN / "scim-bridge"), "simulator", "--port", str(self.port), "--api-key", SIM_KEY,
                "--seed", "empty", "--latency-ms", str(latency_ms)]
        for limit in rate_limits:
            argv += ["--rate-limit", limit]
        super().__init__("simulator", argv, dict(os.environ), workdir)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.http = requests.Session()
        self._ready(f"{self.base_url}/__sim/config", 30)

    def configure(self, **changes: Any) -> None:
        self.http.patch(f"{self.base_url}/__sim/config", json=changes, timeout=30).raise_for_status()

    def bulk(self, users: int, teams: int = 0, members_per_team: int = 0) -> None:
        body = {"users": users, "teams": teams, "membersPerTeam": members_per_team}
        self.http.post(f"{self.base_url}/__sim/bulk", json=body, timeout=120).raise_for_status()

    def calls(self, since: int = 0) -> list[dict[str, Any]]:
        response = self.http.get(f"{self.base_url}/__sim/calls", params={"since": since}, timeout=60)
        response.raise_for_status()
        return list(response.json()["calls"])

    def last_seq(self) -> int:
        calls = self.calls()
        return int(calls[-1]["seq"]) if calls else 0

    def clear_calls(self) -> None:
        self.http.delete(f"{self.base_url}/__sim/calls", timeout=30).raise_for_status()

    def state(self) -> dict[str, Any]:
        response = self.http.get(f"{self.base_url}/__sim/state", timeout=120)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result


class Bridge(_Process):
    """``scim-bridge serve`` with its default worker count (2 gthread workers of 32 threads)."""

    def __init__(self, workdir: Path, simulator: Simulator, *, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.database = workdir / f"bridge-{self.port}.db"
        env = dict(os.environ)
        env.update({
            "OPSGENIE_API_URL": simulator.base_url,
            "OPSGENIE_API_KEY": SIM_KEY,
            "SCIM_BEARER_TOKEN": TOKEN,
            "SCIM_BRIDGE_DATABASE_URL": f"sqlite:///{self.database}",
        })
        env.update(extra_env or {})
        argv = [str(BIN / "scim-bridge"), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        super().__init__("bridge", argv, env, workdir)
        self.base_url = f"http://127.0.0.1:{self.port}/scim/v2"
        self.root_url = f"http://127.0.0.1:{self.port}"
        self._ready(f"{self.root_url}/healthz", 60)

    def wait_synced(self, timeout: float = 300) -> dict[str, Any]:
        """Wait until the first full sync of the mirror has finished; return its summary."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                body = requests.get(f"{self.root_url}/readyz", timeout=30).json()
                last = body.get("last_sync")
                if isinstance(last, dict) and last.get("ok"):
                    return last
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the bridge did not finish its first sync within {timeout:.0f}s; see {self.log}")

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the children of the master process."""
        return self.pids()[1:]


class Reference(_Process):
    """``scim2-server``: SCIM in memory, one threaded WSGI process (as its command ships)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        argv = [str(BIN / "scim2-server"), "--port", str(self.port), "--bearer-token", TOKEN]
        super().__init__("scim2-server", argv, dict(os.environ), workdir)
        self.base_url = f"http://127.0.0.1:{self.port}/v2"
        self._ready(f"{self.base_url}/ServiceProviderConfig", 30)


def memory_kib(pid: int) -> dict[str, int]:
    """VmHWM (peak resident set) and VmRSS of a process, in KiB."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            found[key] = int(value.split()[0])
    return found


def scim_session() -> requests.Session:
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {TOKEN}", "Content-Type": SCIM_JSON,
                            "Accept": SCIM_JSON})
    return session


@contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="scim-bridge-bench-") as path:
        yield Path(path)
