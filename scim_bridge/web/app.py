"""The Flask application factory."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable
from typing import Unpack

from flask import Flask
from flask import Response
from flask import g
from flask import request
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import RequestEntityTooLarge

from scim_bridge import __version__
from scim_bridge import bootstrap
from scim_bridge import logs
from scim_bridge.bootstrap import Components
from scim_bridge.config import Settings
from scim_bridge.config import format_scopes
from scim_bridge.scim import errors
from scim_bridge.scim.listing import CursorCodec
from scim_bridge.service import calls
from scim_bridge.service.context import RequestContext
from scim_bridge.store.records import AuditEvent
from scim_bridge.store.store import Store
from scim_bridge.web import body
from scim_bridge.web import console
from scim_bridge.web import discovery
from scim_bridge.web import health
from scim_bridge.web import oauth
from scim_bridge.web import resources
from scim_bridge.web import routes
from scim_bridge.web.auth import authenticate
from scim_bridge.web.auth import required_scope
from scim_bridge.web.http import scim_response
from scim_bridge.web.metrics import UNMATCHED
from scim_bridge.web.metrics import Metrics
from scim_bridge.web.metrics import method_label
from scim_bridge.web.metrics import status_label
from scim_bridge.web.ratelimit import ClientRateLimiter
from scim_bridge.web.request_warnings import record_warnings
from scim_bridge.web.state import Bridge

access = logs.get_logger("scim_bridge.access")  # one line per request
log = logs.get_logger("scim_bridge")
SCIM_PREFIX = "/scim/v2"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BridgeApp(Flask):
    """The bridge's Flask app: its routes end in a URL map shared by the apps of the same routes
    (:mod:`scim_bridge.web.routes`)."""

    url_map_class = routes.PendingRoutes


def create_app(
    settings: Settings,
    *,
    components: Components | None = None,
    start_sync: bool = False,
    retry_sleep: Callable[[float], None] = time.sleep,
    **parts: Unpack[bootstrap.Parts],
) -> Flask:
    """A bridge app over ``components`` (by default :func:`scim_bridge.bootstrap.build` of ``settings`` and the
    ``parts`` given, if any: an injected directory or store, the jsm link store...). Wires blueprints and hooks;
    the upstream is called by the components only (``start_sync`` starts the sync loop). ``retry_sleep``: how
    the upstream client waits out its retry back-off, unless ``parts`` has a policy (tests pass one that
    records the wait and returns at once)."""
    if components is None:
        if parts.get("policy") is None:
            parts["policy"] = bootstrap.UpstreamPolicy(settings.upstream_wait_budget, retry_sleep=retry_sleep)
        components = bootstrap.build(settings, **parts)
    app = BridgeApp("scim_bridge", static_folder=None)  # no /static/<path> route: the bridge serves no files there
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    services, metrics = components.services, components.metrics
    app.extensions["scim_bridge"] = b = Bridge(
        settings=settings,
        store=components.store,
        directory=components.directory,
        sync=services.sync,
        users=services.users,
        groups=services.groups,
        metrics=metrics,
        cursor_codec=CursorCodec(components.cursor_key),
        client=components.client,
        client_limiter=ClientRateLimiter(settings.client_rate_limit, settings.client_rate_burst)
        if settings.client_rate_limit > 0 else None,
    )
    metrics.add_collector(health.BridgeGauges(b))
    app.register_blueprint(discovery.bp, url_prefix=SCIM_PREFIX)
    app.register_blueprint(resources.bp, url_prefix=SCIM_PREFIX)
    app.register_blueprint(health.bp)
    if settings.oauth_clients:
        app.register_blueprint(oauth.bp)
    if settings.console_token:
        console.init_app(app, scim_prefix=SCIM_PREFIX)
    _install_hooks(app, settings, components.store, metrics, b.client_limiter)
    routes.seal(app)  # every route is registered: the process's URL map of these routes
    if start_sync:
        services.sync.start_background()
    return app


def _install_hooks(app: Flask, settings: Settings, store: Store, metrics: Metrics,
                  limiter: ClientRateLimiter | None) -> None:

    @app.before_request
    def start() -> None:
        g.started = time.perf_counter()
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else uuid.uuid4().hex
        logs.bind_request(g.request_id)
        # Nothing reads the body yet: the SCIM views after authentication, the console and OAuth forms when
        # they need it, each read bounded in time.
        g.body = body.install(request.environ, per_read=settings.body_read_timeout,
                              deadline=settings.body_deadline)
        if not request.path.startswith(SCIM_PREFIX):
            return
        ctx = RequestContext(base_url=request.host_url.rstrip("/") + SCIM_PREFIX, request_id=g.request_id)
        request.scim_context = ctx  # type: ignore[attr-defined]
        g.calls_token = calls.collect_into(ctx.upstream_calls)
        if request.endpoint not in discovery.DISCOVERY_ENDPOINTS or settings.discovery_requires_auth:
            credential = authenticate(request.headers.get("Authorization"), settings.tokens,
                                      oauth_clients=settings.oauth_clients,
                                      verifier=oauth.verifier_for(settings, request.host_url))
            ctx.actor, ctx.scopes = credential.name, credential.scopes
            g.authenticated = True  # only authenticated requests reach the audit log
            wait = limiter.acquire(ctx.actor) if limiter is not None else 0.0
            if wait > 0:
                raise errors.RateLimited(f"Too many requests from this client; at most "
                                         f"{settings.client_rate_limit:g} per second are accepted",
                                         retry_after=math.ceil(wait))
            scope = required_scope(request.method, request.path)
            if scope is not None and request.endpoint not in discovery.DISCOVERY_ENDPOINTS:
                ctx.require(scope, "reading" if scope == "read" else "this change")
        body.buffer_streamed(request.environ, settings.max_body_bytes)

    @app.after_request
    def finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        bounded = g.get("body")
        if isinstance(bounded, body.BoundedInput):
            bounded.discard_unread(settings.max_body_bytes)
        if request.method == "OPTIONS" and not response.content_length:
            response.headers.pop("Content-Type", None)  # Flask's automatic OPTIONS answer has no body
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        ctx = getattr(request, "scim_context", None)
        # Labels only from the known routes and methods: nothing a client sends can add series.
        endpoint = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        method = method_label(request.method)
        metrics.requests.labels(endpoint=endpoint, method=method, status=status_label(response.status_code)).inc()
        metrics.request_seconds.labels(endpoint=endpoint, method=method).observe(elapsed)
        if response.status_code == 429:
            metrics.throttled_responses.inc()
        if isinstance(ctx, RequestContext) and g.get("authenticated"):
            _audit(store, ctx, response, metrics)
        access.info("request", method=request.method, path=request.path, status=response.status_code,
                    duration_ms=round(elapsed * 1000, 1),
                    upstream_calls=len(ctx.upstream_calls) if isinstance(ctx, RequestContext) else 0,
                    actor=ctx.actor if isinstance(ctx, RequestContext) else None)
        return response

    @app.teardown_request
    def cleanup(_exc: BaseException | None) -> None:
        token = g.pop("calls_token", None)
        if token is not None:
            calls.reset(token)
        logs.end_request()

    @app.errorhandler(errors.ScimError)
    def scim_error(exc: errors.ScimError) -> Response:
        return scim_response(exc.to_body(), exc.status, headers=exc.headers)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_exc: RequestEntityTooLarge) -> Response:
        err = errors.PayloadTooLarge(f"The request body exceeds {settings.max_body_bytes} bytes")
        return scim_response(err.to_body(), err.status)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        detail = {404: "No such endpoint", 405: "Method not allowed on this endpoint"}.get(
            status, exc.description or exc.name
        )
        err = errors.ScimError(detail, status=status)
        allowed = getattr(exc, "valid_methods", None)
        headers = {"Allow": ", ".join(allowed)} if allowed else {}
        return scim_response(err.to_body(), status, headers=headers)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error", method=request.method, path=request.path)
        err = errors.InternalError(
            f"Internal error; quote request id {g.get('request_id', '')} when reporting it"
        )
        return scim_response(err.to_body(), 500)


def _audit(store: Store, ctx: RequestContext, response: Response, metrics: Metrics) -> None:
    if request.method not in WRITE_METHODS or request.path.endswith("/.search"):
        return
    parts = request.path[len(SCIM_PREFIX):].strip("/").split("/")
    resource_type = parts[0] if parts else ""
    resource_id = parts[1] if len(parts) > 1 else None
    if resource_id is None and response.status_code == 201:
        location = response.headers.get("Location", "")
        resource_id = location.rsplit("/", 1)[-1] or None
    outcome = "ok" if response.status_code < 400 else "error"
    detail = ""
    if outcome == "error":
        try:
            detail = str(json.loads(response.get_data(as_text=True)).get("detail", ""))
        except ValueError:
            detail = ""
    else:
        detail = record_warnings(ctx, metrics)
    operation = {"POST": "create", "PUT": "replace", "PATCH": "patch", "DELETE": "delete"}[request.method]
    try:
        store.add_audit(AuditEvent(
            actor=ctx.actor, request_id=ctx.request_id, method=request.method, path=request.path,
            resource_type=resource_type, resource_id=resource_id, operation=operation,
            status=response.status_code, outcome=outcome, detail=detail[:2000],
            upstream_calls=list(ctx.upstream_calls), scopes=format_scopes(ctx.used_scopes),
        ))
        metrics.audit_events.labels(outcome=outcome).inc()
    except Exception:  # the audit must never turn a completed change into an error
        log.exception("could not write the audit event")


__all__ = ["create_app", "__version__"]
