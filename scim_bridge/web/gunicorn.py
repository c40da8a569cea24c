"""Run the bridge under gunicorn with the settings of ``deploy/gunicorn.conf.py``."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from scim_bridge.config import Settings

#: gunicorn's gthread worker with deadlines for request headers and closing off the main loop (web/worker.py).
WORKER_CLASS = "scim_bridge.web.worker.BridgeThreadWorker"


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
        from scim_bridge.web.app import create_app

        # Built in each worker after the fork: every worker owns its pool, engine and sync thread.
        return create_app(self.settings, start_sync=True)


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
        "certfile": certfile,
        "keyfile": keyfile,
    }

