"""The composition root: what one bridge process is made of, built from Settings in one place.

``build`` makes the store (migrated), the directory of ``SCIM_BRIDGE_UPSTREAM`` with its client, rate budget
and retry policy, calibrates the OpsGenie rate budget, and builds the services on top. The Flask app factory
(``web.app.create_app``), the batch jobs (``ops.batch``), the demo and the command line take their parts from
here; none of them constructs a client or a directory itself.

Upstreams: ``opsgenie`` and ``jsm`` (the settings' choice) and ``memory``, the in-process directory
(:class:`~scim_bridge.directory.memory.MemoryDirectory`: no upstream at all; tests and local experiments).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Literal
from typing import TypedDict
from typing import Unpack

from scim_bridge import logs
from scim_bridge.atlassian.client import AtlassianClient
from scim_bridge.atlassian.retry import RetryPolicy as AtlassianRetry
from scim_bridge.config import ConfigError
from scim_bridge.config import Settings
from scim_bridge.directory.base import Directory
from scim_bridge.directory.jsm import JsmDirectory
from scim_bridge.directory.links import LinkStore
from scim_bridge.directory.memory import MemoryDirectory
from scim_bridge.directory.opsgenie import OpsGenieDirectory
from scim_bridge.opsgenie.calibration import Calibration
from scim_bridge.opsgenie.client import OpsGenieClient
from scim_bridge.opsgenie.ratelimit import CONFIGURATION
from scim_bridge.opsgenie.ratelimit import FALLBACK_LIMITS
from scim_bridge.opsgenie.ratelimit import RateBudget
from scim_bridge.opsgenie.ratelimit import RollingWindowBudget
from scim_bridge.opsgenie.records import CallRecord
from scim_bridge.opsgenie.retry import RetryPolicy
from scim_bridge.service import calls
from scim_bridge.service.sync import SyncService
from scim_bridge.store.budget import DatabaseRateBudget
from scim_bridge.store.links import SqlLinkStore
from scim_bridge.store.store import Store

if TYPE_CHECKING:  # prometheus_client is imported by build() only: `serve` must set its folder first
    from scim_bridge.service.groups import GroupService
    from scim_bridge.service.users import UserService
    from scim_bridge.service.writes import WriteLocks
    from scim_bridge.web.metrics import Metrics

log = logs.get_logger("scim_bridge")

DirectoryKind = Literal["opsgenie", "jsm", "memory"]
DIRECTORY_KINDS: tuple[DirectoryKind, ...] = ("opsgenie", "jsm", "memory")
UpstreamClient = OpsGenieClient | AtlassianClient
CallHook = Callable[[CallRecord], None]
CURSOR_KEY_SETTING = "cursor_key"


@dataclass(frozen=True)
class UpstreamPolicy:
    """How patient upstream calls are: ``wait`` seconds per logical call (retries and rate-budget waits
    included), on the injectable ``clock`` and ``sleep``; ``retry_sleep`` (default ``sleep``) waits out the
    retry back-off alone (tests record it instead of sleeping)."""

    wait: float
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    retry_sleep: Callable[[float], None] | None = None

    @classmethod
    def serving(cls, settings: Settings) -> UpstreamPolicy:
        """A SCIM request's patience: ``SCIM_BRIDGE_UPSTREAM_WAIT``."""
        return cls(settings.upstream_wait_budget)

    @classmethod
    def batch(cls, settings: Settings, *, sleep: Callable[[float], None] = time.sleep,
              clock: Callable[[], float] = time.monotonic) -> UpstreamPolicy:
        """A batch job's patience: ``SCIM_BRIDGE_BATCH_UPSTREAM_WAIT`` per call."""
        return cls(settings.batch_upstream_wait, sleep, clock)

    def opsgenie_retry(self) -> RetryPolicy:
        return RetryPolicy(total_budget=self.wait, sleep=self.retry_sleep or self.sleep)

    def atlassian_retry(self) -> AtlassianRetry:
        return AtlassianRetry(total_budget=self.wait, sleep=self.retry_sleep or self.sleep)


class Sources(TypedDict, total=False):
    """What :func:`build_directory` may be handed (each may be left out, or None for the default)."""

    links: LinkStore | None  # the link store of the jsm upstream (default: jsm_link_store)
    upstream: DirectoryKind | None  # overrides settings.upstream ("memory": the in-process directory)
    policy: UpstreamPolicy | None  # the upstream's patience (default: a SCIM request's, UpstreamPolicy.serving)


class Parts(Sources, total=False):
    """What :func:`build` (and the app factory) may be handed instead of making it: also an injected directory
    and store (tests, the demo)."""

    directory: Directory | None
    store: Store | None


@dataclass
class Services:
    """The domain services of one process, sharing one set of write locks."""

    sync: SyncService
    users: UserService
    groups: GroupService
    locks: WriteLocks


@dataclass
class Components:
    """Everything a bridge app serves with (see :func:`build`)."""

    settings: Settings
    store: Store
    directory: Directory
    services: Services
    metrics: Metrics
    cursor_key: bytes
    # The upstream client (OpsGenie or Atlassian); None for an injected or in-process directory.
    client: UpstreamClient | None = None


def jsm_link_store(settings: Settings, store: Store | None) -> LinkStore:
    """The link store of the jsm upstream: the ``user_links`` and ``team_links`` tables of the bridge's database
    (``store``'s, else ``SCIM_BRIDGE_DATABASE_URL``), shared by every worker and replica."""
    return SqlLinkStore(store if store is not None else Store.from_url(settings.database_url))


def build_directory(settings: Settings, store: Store | None = None, *, on_call: CallHook | None = None,
                    **sources: Unpack[Sources]) -> tuple[Directory, UpstreamClient | None]:
    """The directory of ``upstream`` (default ``settings.upstream``) and its client (None for ``memory``); each
    call of the client is handed to ``on_call``.

    opsgenie: with a PostgreSQL ``store`` (several replicas) the rate budget lives in that database, so all
    replicas together stay under the upstream limits; else a per-process rolling window on ``policy``'s clock.
    jsm: JsmDirectory over ``links`` (by default :func:`jsm_link_store`). ``policy`` defaults to a SCIM request's
    patience (:meth:`UpstreamPolicy.serving`). Nothing is called upstream here.
    """
    kind = sources.get("upstream") or settings.upstream
    policy = sources.get("policy") or UpstreamPolicy.serving(settings)
    links = sources.get("links")
    if kind == "memory":
        return MemoryDirectory(), None
    if kind == "jsm":
        if settings.atlassian is None:
            raise ConfigError("SCIM_BRIDGE_UPSTREAM=jsm needs the ATLASSIAN_* settings")
        jsm_client = AtlassianClient.from_settings(settings.atlassian, on_call=on_call,
                                                   retry=policy.atlassian_retry())
        link_store = links if links is not None else jsm_link_store(settings, store)
        return JsmDirectory(jsm_client, link_store, account_scope=settings.atlassian.account_scope), jsm_client
    if kind != "opsgenie":
        raise ConfigError(f"unknown upstream {kind!r}: one of {', '.join(DIRECTORY_KINDS)}")
    budget: RateBudget
    clock = policy.clock
    if store is not None and store.dialect == "postgresql":
        budget = DatabaseRateBudget(store.engine, FALLBACK_LIMITS, sleep=policy.sleep)
        clock = time.monotonic  # the shared budget's deadlines are on this clock
    else:
        budget = RollingWindowBudget(clock=clock, sleep=policy.sleep)
    client = OpsGenieClient(settings.opsgenie_api_key, base_url=settings.opsgenie_api_url, on_call=on_call,
                            budget=budget, retry=policy.opsgenie_retry(), clock=clock)
    return OpsGenieDirectory(client), client


def calibrate_at_start(client: OpsGenieClient) -> None:
    """Size the rate budget from GET /v2/request-limits/, or learn it from the answers (see Calibration)."""
    try:
        Calibration(client).start()
    except Exception as exc:  # never fail the start on it: the budget keeps its fallback limits, say why
        log.warning("could not read the OpsGenie request limits", error=str(exc))


def build_services(settings: Settings, directory: Directory, store: Store) -> Services:
    # The SCIM write services (and with them SCIM PATCH, filters and payload schemas) are imported here, not at the
    # top: `sync` and `check` use this module's upstream clients without them, and start faster.
    from scim_bridge.service.groups import GroupService
    from scim_bridge.service.parts import ServiceParts
    from scim_bridge.service.users import UserService

    sync = SyncService.for_settings(directory, store, settings)
    # One set of shared parts (write locks, mirror gateway, suspension ledger, role catalogue) for both services.
    parts = ServiceParts.build(directory, store, settings, sync)
    return Services(sync=sync, users=UserService(parts), groups=GroupService(parts), locks=parts.locks)


def open_store(settings: Settings) -> Store:
    """The store of ``SCIM_BRIDGE_DATABASE_URL``, migrated to the current schema."""
    return Store.migrated(settings.database_url)


def build(settings: Settings, **parts: Unpack[Parts]) -> Components:
    """A serving bridge's parts, with those of ``parts`` that are given (see :class:`Parts`). The one upstream
    call made here sizes the OpsGenie rate budget."""
    from scim_bridge.web.metrics import Metrics

    metrics = Metrics()
    store = parts.get("store")
    if store is None:
        store = open_store(settings)
    client: UpstreamClient | None = None
    directory = parts.get("directory")
    if directory is None:
        directory, client = build_directory(settings, store, on_call=upstream_call_recorder(metrics),
                                            links=parts.get("links"), upstream=parts.get("upstream"),
                                            policy=parts.get("policy"))
        if isinstance(client, OpsGenieClient):
            calibrate_at_start(client)
    services = build_services(settings, directory, store)
    if isinstance(client, OpsGenieClient):
        services.sync.room = budget_room(client)
    return Components(settings=settings, store=store, directory=directory, services=services, metrics=metrics,
                      cursor_key=cursor_key(settings, store), client=client)


def budget_room(client: OpsGenieClient) -> Callable[[], bool]:
    """Whether this process's OpsGenie rate budget lets a team read start now without waiting (the sync loop's
    warm-up gives way to the IdP's requests otherwise)."""
    from scim_bridge.web.health import budget_left

    def room() -> bool:
        return budget_left(client).get(CONFIGURATION, 1.0) >= 1.0
    return room


def cursor_key(settings: Settings, store: Store) -> bytes:
    """SCIM_BRIDGE_CURSOR_KEY, else a random key made once per deployment and kept in the database."""
    if settings.cursor_key:
        return settings.cursor_key.encode()
    return str(store.setting_default(CURSOR_KEY_SETTING, secrets.token_urlsafe(32))).encode()


def upstream_call_recorder(metrics: Metrics) -> CallHook:
    """The ``on_call`` hook of either client: the request's call list (audit log) and the upstream metrics."""
    from scim_bridge.web.metrics import method_label
    from scim_bridge.web.metrics import status_label

    def on_call(record: CallRecord) -> None:
        call = {
            "method": record.method,
            "path": record.path,
            "status": record.status,
            "request_id": record.request_id,
            "duration_ms": round(record.duration * 1000, 1),
            "attempt": record.attempt,
            "error": record.error,
            "started": round(time.time() - record.duration, 3),  # epoch seconds: back-off gaps show in the console
        }
        calls.record_call(call)
        method = method_label(record.method)
        metrics.upstream_calls.labels(method=method, domain=record.domain, status=status_label(record.status)).inc()
        metrics.upstream_call_seconds.labels(method=method, domain=record.domain).observe(record.duration)
        if record.attempt > 1:
            metrics.upstream_retries.labels(domain=record.domain).inc()
        if record.status == 429:
            metrics.upstream_throttled.labels(domain=record.domain).inc()

    return on_call
