"""Batch jobs (``sync``, ``export``): an upstream client that waits for the rate budget instead of failing.

A SCIM request may wait ``SCIM_BRIDGE_UPSTREAM_WAIT`` seconds (20) for the upstream budget: an identity
provider should get an answer soon. A batch job costs the calls it must (one per page of 100 users, one per
team) and waits as long as the budget asks, up to ``SCIM_BRIDGE_BATCH_UPSTREAM_WAIT`` seconds per call.
It sizes its budget from ``GET /v2/request-limits/`` as ``serve`` does, at ``SCIM_BRIDGE_BATCH_BUDGET_SHARE``
of every limit, so that replicas serving meanwhile keep the rest (when the limits cannot be read, it learns them
from the answers like ``serve``). With PostgreSQL the budget is the one
every replica shares through the database. With the jsm upstream (no published limits) the job's calls wait
for the answers' ``Retry-After`` up to the same per-call bound.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from scim_bridge.bootstrap import UpstreamClient
from scim_bridge.bootstrap import UpstreamPolicy
from scim_bridge.bootstrap import build_directory
from scim_bridge.config import ConfigError
from scim_bridge.config import Settings
from scim_bridge.directory.base import Directory
from scim_bridge.opsgenie.client import OpsGenieClient
from scim_bridge.opsgenie.errors import OpsGenieError
from scim_bridge.ratewindow import FALLBACK
from scim_bridge.ratewindow import LEARNING
from scim_bridge.store.store import Store

log = logging.getLogger(__name__)


def batch_directory(
    settings: Settings,
    store: Store | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    reads_upstream: bool = True,
) -> tuple[Directory, UpstreamClient]:
    """The upstream directory for a batch job (:func:`scim_bridge.bootstrap.build_directory` with a batch job's
    patience), its budget calibrated (``clock`` and ``sleep`` for tests; the budget shared through PostgreSQL
    keeps the real monotonic clock). A job that will not read the upstream (``reads_upstream`` False: an export
    of the mirror as last synced) makes no call at all, not even the one that sizes the budget."""
    directory, client = build_directory(settings, store, policy=UpstreamPolicy.batch(settings, sleep=sleep,
                                                                                     clock=clock))
    if client is None:
        raise ConfigError(f"a batch job needs an upstream; SCIM_BRIDGE_UPSTREAM is {settings.upstream!r}")
    if reads_upstream and isinstance(client, OpsGenieClient):
        calibrate(client, settings.batch_budget_share)
    return directory, client


def calibrate(client: OpsGenieClient, share: float) -> str:
    """Size the client's budget at ``share`` of each limit of GET /v2/request-limits/ (at least one call per
    window) and return its mode. When the limits cannot be read (a team key, an older account: refused; the
    upstream unreachable or failing: the job's first call then says why) the budget learns them from the
    answers, starting from the fallback limits, and the share does not apply.
    """
    try:
        return client.calibrate_budget(share)
    except OpsGenieError as exc:
        log.info("could not read the OpsGenie request limits (%s); learning them from the answers", exc)
        learn = getattr(client.budget, "learn", None)
        if callable(learn):
            learn()
            return LEARNING
        return FALLBACK
