"""Protection of the operator console: its own token, a signed session cookie, CSRF tokens, a login throttle.

The console token is never the SCIM bearer token and never travels in a URL: it is posted once by the
login form and compared in constant time; the browser then holds a signed, HttpOnly, SameSite=Strict
session cookie (Secure when the request came over HTTPS) scoped to ``/console``. The session carries a
fingerprint of the token, so replacing the token ends every session at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from datetime import timedelta

from flask import Flask
from flask import has_request_context
from flask import request
from flask import session
from flask.sessions import SecureCookieSessionInterface

from scim_bridge.config import Settings

COOKIE_NAME = "scim_bridge_console"
COOKIE_PATH = "/console"
SESSION_LIFETIME = timedelta(hours=8)
# Failed logins allowed per client address in LOGIN_WINDOW seconds, before 429.
LOGIN_FAILURES = 10
LOGIN_WINDOW = 60.0


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked Secure whenever the request itself was HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        configured = bool(app.config.get("SESSION_COOKIE_SECURE"))
        return configured or (has_request_context() and request.is_secure)


def session_secret(settings: Settings) -> str:
    """SCIM_BRIDGE_CONSOLE_SECRET, or a key derived from the console token (HMAC with a fixed label), so
    that every replica given the same token signs the same way without another secret to distribute."""
    if settings.console_secret:
        return settings.console_secret
    return hmac.new(settings.console_token.encode(), b"scim-bridge console session key v1",
                    hashlib.sha256).hexdigest()


def configure_sessions(app: Flask, settings: Settings) -> None:
    app.secret_key = session_secret(settings)
    app.session_interface = ConsoleSessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_PATH=COOKIE_PATH,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )


def token_fingerprint(settings: Settings) -> str:
    """What a logged-in session holds: identifies the token without revealing it."""
    return hmac.new(session_secret(settings).encode(), b"console-token:" + settings.console_token.encode(),
                    hashlib.sha256).hexdigest()[:32]


def token_matches(settings: Settings, given: str) -> bool:
    """Constant-time comparison (of digests, so the lengths always agree)."""
    expected = hashlib.sha256(settings.console_token.encode()).digest()
    return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), expected)


def logged_in(settings: Settings) -> bool:
    held = session.get("auth")
    return isinstance(held, str) and hmac.compare_digest(held, token_fingerprint(settings))


def log_in(settings: Settings) -> None:
    session.clear()
    session.permanent = True
    session["auth"] = token_fingerprint(settings)
    session["csrf"] = secrets.token_urlsafe(32)


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_valid(given: str | None) -> bool:
    held = session.get("csrf")
    return isinstance(held, str) and bool(held) and isinstance(given, str) and hmac.compare_digest(
        held.encode(), given.encode()
    )


class LoginThrottle:
    """At most LOGIN_FAILURES failed logins per client address per LOGIN_WINDOW seconds (this process)."""

    def __init__(self, failures: int = LOGIN_FAILURES, window: float = LOGIN_WINDOW) -> None:
        self.failures = failures
        self.window = window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._seen.setdefault(client, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked(self, client: str) -> float:
        """Seconds until ``client`` may try again (0: now)."""
        with self._lock:
            now = time.monotonic()
            times = self._recent(client, now)
            if len(times) < self.failures:
                return 0.0
            return max(0.0, times[0] + self.window - now)

    def failed(self, client: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(client, now).append(now)
            if len(self._seen) > 10_000:  # forget idle addresses
                for key in [k for k, v in self._seen.items() if not v]:
                    del self._seen[key]
