"""Protection of the operator console: its own token, a signed session cookie, CSRF tokens, a login throttle.

The console token is never the SCIM bearer token and never travels in a URL: it is posted once by the
login form and compared in constant time; the browser then holds a signed, HttpOnly, SameSite=Strict
session cookie (Secure when the request came over HTTPS) scoped to ``/console``. The cookie is signed with
SCIM_BRIDGE_CONSOLE_SECRET or, without it, a random key made once per deployment and kept in the database:
never with a key derived from the token, so a cookie (even the anonymous login page's) tells nothing about
the token. A session is also a row in the database: logging out deletes it, so a copied cookie stops working
on every worker and replica. The session carries a fingerprint of the token, so replacing the token ends
every session at once. Failed logins are counted in the database too, per client address and for the
console as a whole.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from flask import has_request_context
from flask import request
from flask import session
from flask.sessions import SecureCookieSessionInterface

from scim_bridge.config import Settings
from scim_bridge.store.console_auth import ConsoleAuthStore
from scim_bridge.store.store import Store

COOKIE_NAME = "scim_bridge_console"
COOKIE_PATH = "/console"
SESSION_LIFETIME = timedelta(hours=8)
# The key of the stored random cookie-signing secret (settings_kv), used when none is configured.
SESSION_KEY_SETTING = "console_session_key"
# Failed logins allowed in LOGIN_WINDOW seconds, before 429: per client address, and for the console's one
# account from all addresses together (a spread-out guessing attempt).
LOGIN_FAILURES = 10
ACCOUNT_FAILURES = 50
LOGIN_WINDOW = 60.0
ACCOUNT_KEY = "account:console"


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked Secure whenever the request itself was HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        configured = bool(app.config.get("SESSION_COOKIE_SECURE"))
        return configured or (has_request_context() and request.is_secure)


def session_secret(settings: Settings, store: Store) -> str:
    """SCIM_BRIDGE_CONSOLE_SECRET, else a random key made once and kept in the database (every replica
    reads the same one, as for the paging cursors)."""
    if settings.console_secret:
        return settings.console_secret
    return str(store.setting_default(SESSION_KEY_SETTING, secrets.token_urlsafe(48)))


@dataclass(frozen=True)
class ConsoleGuard:
    """What the console's login needs: the token, the cookie key and the shared session store."""

    token: str
    secret: str
    sessions: ConsoleAuthStore

    def fingerprint(self) -> str:
        """What a logged-in session holds: identifies the token without revealing it."""
        return hmac.new(self.secret.encode(), b"console-token:" + self.token.encode(),
                        hashlib.sha256).hexdigest()[:32]

    def token_matches(self, given: str) -> bool:
        """Constant-time comparison (of digests, so the lengths always agree)."""
        expected = hashlib.sha256(self.token.encode()).digest()
        return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), expected)

    def logged_in(self) -> bool:
        held, sid = session.get("auth"), session.get("sid")
        return (isinstance(held, str) and isinstance(sid, str) and hmac.compare_digest(held, self.fingerprint())
                and self.sessions.session_valid(sid))

    def log_in(self) -> None:
        session.clear()
        session.permanent = True
        sid = secrets.token_urlsafe(32)
        self.sessions.open_session(sid, SESSION_LIFETIME.total_seconds())
        session["sid"] = sid
        session["auth"] = self.fingerprint()
        session["csrf"] = secrets.token_urlsafe(32)

    def log_out(self) -> None:
        sid = session.get("sid")
        if isinstance(sid, str):
            self.sessions.close_session(sid)
        session.clear()


def configure_sessions(app: Flask, settings: Settings, store: Store) -> ConsoleGuard:
    secret = session_secret(settings, store)
    app.secret_key = secret
    app.session_interface = ConsoleSessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_PATH=COOKIE_PATH,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    return ConsoleGuard(settings.console_token, secret, ConsoleAuthStore(store.engine))


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
    """At most ``failures`` failed logins per client address, and ``account_failures`` from all addresses
    together, per ``window`` seconds; counted in the database, so shared by every worker and replica."""

    def __init__(self, sessions: ConsoleAuthStore, failures: int = LOGIN_FAILURES,
                 account_failures: int = ACCOUNT_FAILURES, window: float = LOGIN_WINDOW) -> None:
        self.sessions = sessions
        self.failures = failures
        self.account_failures = account_failures
        self.window = window

    def _keys(self, client: str) -> list[tuple[int, str]]:
        return [(self.failures, f"address:{client}"), (self.account_failures, ACCOUNT_KEY)]

    def blocked(self, client: str) -> float:
        """Seconds until ``client`` may try again (0: now)."""
        wait = 0.0
        for limit, key in self._keys(client):
            count, oldest = self.sessions.failures(key, self.window)
            if count >= limit:
                wait = max(wait, oldest + self.window - self.sessions.now())
        return wait

    def failed(self, client: str) -> None:
        self.sessions.add_failure([key for _, key in self._keys(client)], self.window)
