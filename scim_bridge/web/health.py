"""/healthz, /readyz and /metrics at the root (no SCIM token: probes and scrapers call them)."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from typing import Any

from flask import Blueprint
from flask import Response

from scim_bridge import __version__
from scim_bridge.directory import errors as d
from scim_bridge.web.state import Bridge
from scim_bridge.web.state import UpstreamClient
from scim_bridge.web.state import bridge

bp = Blueprint("health", __name__)
READY_CACHE_SECONDS = 30.0
_ready_lock = threading.Lock()


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


@bp.get("/healthz")
def healthz() -> Response:
    return _json({"status": "ok", "version": __version__})


def _upstream_check(b: Bridge) -> dict[str, Any]:
    """Reach the upstream at most once per READY_CACHE_SECONDS, so probes do not spend the budget."""
    with _ready_lock:
        cached = b.ready_cache
        if cached is not None and time.monotonic() - cached[0] < READY_CACHE_SECONDS:
            result: dict[str, Any] = cached[1]
            return result
        try:
            b.directory.list_roles()
            result = {"ok": True}
        except d.AuthenticationError as exc:
            what = "the API key" if exc.upstream == "OpsGenie" else "the bridge's credentials"
            result = {"ok": False, "error": f"{exc.upstream} rejected {what}: {exc.message}"}
        except d.ForbiddenError as exc:
            result = {"ok": False, "error": f"The {exc.upstream} credentials lack rights: {exc.message}"}
        except d.DirectoryError as exc:
            result = {"ok": False, "error": f"{exc.upstream} unreachable: {exc.message}"}
        b.ready_cache = (time.monotonic(), result)
        return result


@bp.get("/readyz")
def readyz() -> Response:
    b = bridge()
    store_ok = False
    try:
        store_ok = b.store.healthy()
    except Exception:  # any store failure means "not ready", never a 500
        store_ok = False
    upstream = _upstream_check(b)
    ready = store_ok and bool(upstream.get("ok"))
    body = {"ready": ready, "store": store_ok, "upstream": upstream, "last_sync": b.sync.last()}
    return _json(body, 200 if ready else 503)


@bp.get("/metrics")
def metrics() -> Response:
    b = bridge()
    m = b.metrics
    last = b.sync.last()
    if last and last.get("at"):
        try:
            at = datetime.fromisoformat(str(last["at"]).replace("Z", "+00:00"))
            m.set("scim_bridge_mirror_age_seconds", "Seconds since the last full sync",
                  time.time() - at.timestamp())
        except ValueError:
            pass
        m.set("scim_bridge_last_sync_ok", "1 when the last full sync succeeded", 1.0 if last.get("ok") else 0.0)
    client = b.client
    if client is not None:
        for domain, left in _budget_left(client).items():
            m.set("scim_bridge_rate_budget_tokens", "Upstream requests left in the tightest window",
                  left, domain=domain)
    return Response(m.render(), mimetype="text/plain; version=0.0.4")


def _budget_left(client: UpstreamClient) -> dict[str, float]:
    """Requests left per domain in the client-side rate budget; none for a client without one (Atlassian's)."""
    remaining = getattr(getattr(client, "budget", None), "remaining", None)
    if callable(remaining):
        value = remaining()
        if isinstance(value, dict):
            return {str(k): float(v) for k, v in value.items()}
    return {}
