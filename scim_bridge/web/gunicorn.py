"""Run the bridge under gunicorn with the settings of ``deploy/gunicorn.conf.py``.

The server hooks here (``on_starting``, ``child_exit``, ``on_exit``) are those of ``scim-bridge serve`` and of
deploy/gunicorn.conf.py: they give the workers one folder for their metrics (prometheus_client's multiprocess
mode, PROMETHEUS_MULTIPROC_DIR), so ``/metrics`` counts the requests of every worker, and JSON logs.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from scim_bridge import logs
from scim_bridge.config import Settings

#: gunicorn's gthread worker with deadlines for request headers and closing off the main loop (web/worker.py).
WORKER_CLASS = "scim_bridge.web.worker.BridgeThreadWorker"

# prometheus_client reads this variable once, when first imported: it must be set in the master before any
# worker imports it, so this module does not import prometheus_client at its top.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The metrics folder this server made itself (PROMETHEUS_MULTIPROC_DIR unset), removed when it stops.
_made: list[Path] = []


def prepare_metrics_dir() -> Path:
    """Make PROMETHEUS_MULTIPROC_DIR ready before any worker starts, and set it for the workers.

    A configured folder is created if missing and emptied of the last run's files (one folder per
    deployment: two servers must never share one). Unset, a private folder is made under TMPDIR.
    """
    configured = os.environ.get(MULTIPROC_ENV, "").strip()
    if configured:
        folder = Path(configured)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
    else:
        folder = Path(tempfile.mkdtemp(prefix="scim-bridge-metrics-"))
        _made.append(folder)
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def on_starting(_server: Any) -> None:
    """Once, in gunicorn's master, before the workers: the metrics folder, the JSON log handler, and the
    application's modules."""
    prepare_metrics_dir()
    logs.configure(os.environ.get("SCIM_BRIDGE_LOG_LEVEL", "info"))
    import_application()


def import_application() -> None:
    """Import the application's modules in the master (after the metrics folder is set: they import
    prometheus_client), so that every worker forked from it starts with them instead of importing them
    again. The application itself (engine, pools, sync thread) is still built in each worker after the fork
    (:meth:`BridgeApplication.load`): importing them starts no thread and opens no connection."""
    import scim_bridge.bootstrap
    import scim_bridge.web.app  # noqa: F401

    # What the master holds now lives as long as the workers: moved out of the collector's generations, it is
    # never traversed by a worker's collections (nor copied into the worker by them), which also makes a
    # worker's exit cheap (its last collections otherwise touch every object inherited from the master).
    gc.freeze()


def child_exit(_server: Any, worker: Any) -> None:
    """A worker ended: its counters stay in the folder (they never go down); its live gauges are dropped."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(_server: Any) -> None:
    while _made:
        shutil.rmtree(_made.pop(), ignore_errors=True)


class BridgeApplication(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if value is not None and key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self) -> Any:
        from scim_bridge import bootstrap
        from scim_bridge.web.app import create_app

        # Built in each worker after the fork: every worker owns its pool, engine and sync thread.
        return create_app(self.settings, components=bootstrap.build(self.settings), start_sync=True)


def gunicorn_options(*, host: str, port: int, workers: int, threads: int, certfile: str | None = None,
                     keyfile: str | None = None) -> dict[str, Any]:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        # Threads carry the concurrency; enough of them that bodies stalled until their read deadline
        # (README, "Security") leave room for other requests.
        "worker_class": WORKER_CLASS,
        "threads": threads,
        # A large group PATCH waits on the upstream rate limit: allow it time to finish.
        "timeout": 300,
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "forwarded_allow_ips": "127.0.0.1",
        "logconfig_dict": logs.gunicorn_logconfig(),  # gunicorn's own lines as JSON too
        "certfile": certfile,
        "keyfile": keyfile,
        "on_starting": on_starting,
        "child_exit": child_exit,
        "on_exit": on_exit,
    }
