"""Warnings of requests that succeeded: what a client asked that the bridge did not do (a phone number no
contact could be made of, attributes it ignored). Each goes to the log, the metric
``scim_bridge_warnings_total{kind}`` and the request's audit event, which the console and ``scim-bridge audit``
show."""

from __future__ import annotations

from scim_bridge import logs
from scim_bridge.service.context import RequestContext
from scim_bridge.web.metrics import Metrics

log = logs.get_logger("scim_bridge.warnings")


def record_warnings(ctx: RequestContext, metrics: Metrics) -> str:
    """Log and count the request's warnings; returns them as the audit event's detail ("" when none)."""
    for kind, message in ctx.warnings:
        metrics.warnings.labels(kind=kind).inc()
        log.warning("request succeeded with a warning", kind=kind, warning=message)
    return "; ".join(message for _, message in ctx.warnings)
