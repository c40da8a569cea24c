"""/healthz, /readyz and /metrics at the root (no SCIM token: probes and scrapers call them)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Blueprint
from flask import Response
from prometheus_client.core import GaugeMetricFamily

from scim_bridge import __version__
from scim_bridge.bootstrap import UpstreamClient
from scim_bridge.directory import errors as d
from scim_bridge.service.sync import synced_at
from scim_bridge.web.state import Bridge
from scim_bridge.web.state import bridge

bp = Blueprint("health", __name__)
READY_CACHE_SECONDS = 30.0
_ready_lock = threading.Lock()


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


@bp.get("/healthz")
def healthz() -> Response:
    return _json({"status": "ok", "version": __version__})


def upstream_check(b: Bridge) -> dict[str, Any]:
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
    upstream = upstream_check(b)
    ready = store_ok and bool(upstream.get("ok"))
    body = {"ready": ready, "store": store_ok, "upstream": upstream, "last_sync": b.sync.last()}
    return _json(body, 200 if ready else 503)


@bp.get("/metrics")
def metrics() -> Response:
    body, content_type = bridge().metrics.render()
    return Response(body, content_type=content_type)


class BridgeGauges:
    """Figures read when scraped: the last full sync (from the database, so the same in every worker) and the
    upstream rate budget left (of the answering process: with SQLite every worker holds its own)."""

    def __init__(self, b: Bridge) -> None:
        self.bridge = b

    def describe(self) -> list[GaugeMetricFamily]:
        return self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = self._families()
        age, ok, budget = families
        last = self.bridge.sync.last()
        if last and last.get("at"):
            ended = synced_at(last)  # a failed sync or tick is not one: the age runs from the last that succeeded
            try:
                if ended is not None:  # ISO 8601, a trailing Z included (Python 3.11)
                    age.add_metric([], max(0.0, time.time() - datetime.fromisoformat(ended).timestamp()))
            except ValueError:
                pass
            ok.add_metric([], 1.0 if last.get("ok") else 0.0)
        client = self.bridge.client
        if client is not None:
            for domain, left in budget_left(client).items():
                budget.add_metric([domain], left)
        yield from (family for family in families if family.samples)

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily("scim_bridge_mirror_age_seconds",
                              "Seconds since the last sync or refresh cycle that succeeded"),
            GaugeMetricFamily("scim_bridge_last_sync_ok", "1 when the last full sync succeeded"),
            GaugeMetricFamily("scim_bridge_rate_budget_tokens", "Upstream requests left in the tightest window",
                              labels=["domain"]),
        ]


def budget_left(client: UpstreamClient) -> dict[str, float]:
    """Requests left per domain in the client-side rate budget; none for a client without one (Atlassian's)."""
    remaining = getattr(getattr(client, "budget", None), "remaining", None)
    if callable(remaining):
        value = remaining()
        if isinstance(value, dict):
            return {str(k): float(v) for k, v in value.items()}
    return {}
