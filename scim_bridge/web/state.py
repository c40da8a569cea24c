"""The objects one bridge app is made of, reachable from any view."""

from __future__ import annotations

import time
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask import current_app

from scim_bridge.bootstrap import UpstreamClient
from scim_bridge.config import Settings
from scim_bridge.directory.base import Directory
from scim_bridge.scim.listing import CursorCodec
from scim_bridge.service.groups import GroupService
from scim_bridge.service.sync import SyncService
from scim_bridge.service.users import UserService
from scim_bridge.store.store import Store
from scim_bridge.web.metrics import Metrics
from scim_bridge.web.ratelimit import ClientRateLimiter


@dataclass
class Bridge:
    settings: Settings
    store: Store
    directory: Directory
    sync: SyncService
    users: UserService
    groups: GroupService
    metrics: Metrics
    cursor_codec: CursorCodec
    started: float = field(default_factory=time.time)
    # The upstream client (OpsGenie or Atlassian, by SCIM_BRIDGE_UPSTREAM); None when a directory was injected
    # (tests, the demo's own).
    client: UpstreamClient | None = None
    ready_cache: tuple[float, dict[str, Any]] | None = None  # the last upstream readiness check
    extras: dict[str, Any] = field(default_factory=dict)  # state of optional blueprints (the console)
    # The per-client request rate (SCIM_BRIDGE_CLIENT_RATE_LIMIT) of SCIM and /oauth/token; None when off.
    client_limiter: ClientRateLimiter | None = None

    def close(self) -> None:
        """Stop the sync loop and close the database connections: the process is ending (a gunicorn worker
        after its last request), and PostgreSQL should see its sessions end, SQLite checkpoint its log."""
        self.sync.stop_background()
        self.store.close()


def bridge() -> Bridge:
    found = current_app.extensions["scim_bridge"]
    assert isinstance(found, Bridge)
    return found
