"""OAuth 2.0 client-credentials grant (RFC 6749, Section 4.4) issuing short-lived signed access tokens.

The access tokens are JWTs (RFC 7519) issued and verified with PyJWT, HMAC-SHA256 under
``SCIM_BRIDGE_OAUTH_SIGNING_KEY`` (the only algorithm accepted). They carry the client id as ``sub``, the
issuer and audience (checked on every token), ``iat``/``nbf``/``exp``, the granted ``scope`` and a
fingerprint of the client's secret. A token is accepted only while its client is still configured with the
same secret: removing a client, or rotating its secret, revokes its tokens at once; narrowing a client's
scopes narrows its tokens too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import jwt
from flask import Blueprint
from flask import Response
from flask import request

from scim_bridge.config import ALL_SCOPES
from scim_bridge.config import MAX_OAUTH_TOKEN_LIFETIME
from scim_bridge.config import SCOPES
from scim_bridge.config import OAuthClient
from scim_bridge.config import Settings
from scim_bridge.web.state import bridge

TOKEN_PATH = "/oauth/token"
ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["iss", "aud", "sub", "iat", "nbf", "exp", "scope", "sfp"]
# A digest no secret produces: unknown client ids are still compared, so timing does not reveal which exist.
_NO_DIGEST = "0" * 64
# The rate-limit key of token requests naming a client id that is not configured.
_UNKNOWN_CLIENT = "oauth-token:?"

bp = Blueprint("oauth", __name__)


class OAuthError(Exception):
    """A token-endpoint error answered per RFC 6749, Section 5.2."""

    def __init__(self, error: str, description: str, status: int = 400, headers: dict[str, str] | None = None
                 ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.headers = dict(headers or {})

    def response(self) -> Response:
        body = {"error": self.error, "error_description": self.description}
        answer = _json(body, self.status)
        if self.status == 401:
            answer.headers["WWW-Authenticate"] = 'Basic realm="scim-bridge"'
        answer.headers.update(self.headers)
        return answer


@dataclass(frozen=True)
class AccessToken:
    client: OAuthClient
    expires_at: int
    scopes: frozenset[str]


def secret_fingerprint(client: OAuthClient, key: str) -> str:
    """Binds a token to the client's current secret without revealing anything about it."""
    message = f"{client.client_id}\0{client.secret_sha256}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()[:32]


def public_urls(root_url: str, settings: Settings) -> tuple[str, str]:
    """(issuer, audience): the configured ones, else the public base URL the request came to."""
    root = root_url.rstrip("/")
    return settings.oauth_issuer or root, settings.oauth_audience or f"{root}/scim/v2"


def issue_token(client: OAuthClient, key: str, lifetime: int, *, issuer: str, audience: str,
                scopes: frozenset[str] | None = None, now: float | None = None) -> str:
    """A signed access token for ``client`` valid ``lifetime`` seconds from ``now``."""
    issued = int(time.time() if now is None else now)
    granted = client.scopes if scopes is None else scopes
    claims = {"iss": issuer, "aud": audience, "sub": client.client_id, "iat": issued, "nbf": issued,
              "exp": issued + min(lifetime, MAX_OAUTH_TOKEN_LIFETIME), "jti": uuid.uuid4().hex,
              "scope": " ".join(name for name in SCOPES if name in granted),
              "sfp": secret_fingerprint(client, key)}
    return jwt.encode(claims, key, algorithm=ALGORITHM)


@dataclass(frozen=True)
class Verifier:
    """Checks access tokens for one issuer and audience."""

    key: str
    issuer: str
    audience: str

    def verify(self, token: str, clients: tuple[OAuthClient, ...]) -> AccessToken | None:
        """The client, expiry and scopes of a valid token; None for anything else (tampered, expired, not
        yet valid, another issuer or audience, a client removed or with a new secret, a lifetime too long)."""
        if not self.key:
            return None
        try:
            claims = jwt.decode(token, self.key, algorithms=[ALGORITHM], issuer=self.issuer,
                                audience=self.audience, options={"require": REQUIRED_CLAIMS})
        except (jwt.PyJWTError, ValueError):
            return None
        issued, expires = claims["iat"], claims["exp"]
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in (issued, expires)) \
                or expires - issued > MAX_OAUTH_TOKEN_LIFETIME or not isinstance(claims["scope"], str):
            return None
        client = next((c for c in clients if c.client_id == claims["sub"]), None)
        fingerprint = secret_fingerprint(client, self.key).encode() if client is not None else b""
        if client is None or not hmac.compare_digest(str(claims["sfp"]).encode(), fingerprint):
            return None
        return AccessToken(client, expires, frozenset(claims["scope"].split()) & client.scopes)


def verifier_for(settings: Settings, root_url: str) -> Verifier:
    issuer, audience = public_urls(root_url, settings)
    return Verifier(settings.oauth_signing_key, issuer, audience)


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2


def _json(body: dict[str, Any], status: int) -> Response:
    answer = Response(json.dumps(body), status=status, mimetype="application/json")
    # RFC 6749, Section 5.1: token responses must not be cached.
    answer.headers["Cache-Control"] = "no-store"
    answer.headers["Pragma"] = "no-cache"
    return answer


def _form() -> dict[str, str]:
    """The form parameters; RFC 6749, Section 3.2: none may be repeated."""
    if (request.mimetype or "").lower() != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "Send the parameters as application/x-www-form-urlencoded")
    form: dict[str, str] = {}
    for name, values in request.form.lists():
        if len(values) > 1:
            raise OAuthError("invalid_request", f"The parameter {name!r} is given more than once")
        form[name] = values[0]
    return form


def _basic_credentials() -> tuple[str, str] | None:
    """client_id and client_secret from HTTP Basic (RFC 6749, Section 2.3.1: each form-urlencoded first)."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError("invalid_client", "Authenticate the client with HTTP Basic or client_secret in the body",
                         401)
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, binascii.Error):
        raise OAuthError("invalid_client", "The Basic credentials are not valid base64", 401) from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "The Basic credentials must be client_id:client_secret", 401)
    return unquote_plus(client_id), unquote_plus(secret)


def _client_credentials(form: dict[str, str]) -> tuple[str, str]:
    basic = _basic_credentials()
    in_body = "client_id" in form or "client_secret" in form
    if basic is not None:
        if "client_secret" in form:
            raise OAuthError("invalid_request", "Use one client authentication method, not Basic and the body")
        if "client_id" in form and form["client_id"] != basic[0]:
            raise OAuthError("invalid_request", "client_id in the body differs from the Basic credentials")
        return basic
    if not in_body:
        raise OAuthError("invalid_client", "Client authentication required (HTTP Basic or client_id and "
                         "client_secret in the body)", 401)
    if not form.get("client_id") or "client_secret" not in form:
        raise OAuthError("invalid_request", "Both client_id and client_secret are required")
    return form["client_id"], form["client_secret"]


def authenticate_client(client_id: str, secret: str, clients: tuple[OAuthClient, ...]) -> OAuthClient | None:
    """The configured client with this id and secret; every digest is compared in constant time."""
    digest = hashlib.sha256(secret.encode()).hexdigest()
    found = None
    for client in clients:
        id_matches = hmac.compare_digest(client.client_id.encode(), client_id.encode())
        if hmac.compare_digest(client.secret_sha256 if id_matches else _NO_DIGEST, digest) and id_matches:
            found = client
    return found


def _granted_scopes(client: OAuthClient, requested: str | None) -> frozenset[str]:
    """RFC 6749, Section 3.3: the scopes asked for that the bridge knows (all the client's when none is);
    names it does not know are ignored, a known scope the client is not given is an error."""
    asked = frozenset((requested or "").split()) & ALL_SCOPES
    if not asked:
        return client.scopes
    refused = [name for name in SCOPES if name in asked - client.scopes]
    if refused:
        raise OAuthError("invalid_scope", f"This client is not given the scope {refused[0]!r}")
    return asked


def _throttle(client_id: str, settings: Settings) -> None:
    """The per-client request rate of SCIM (SCIM_BRIDGE_CLIENT_RATE_LIMIT), for the token requests naming
    each client id (before the secret is checked, so it also slows down guessing)."""
    limiter = bridge().client_limiter
    if limiter is None:
        return
    known = next((c.name for c in settings.oauth_clients if c.client_id == client_id), None)
    wait = limiter.acquire(f"oauth-token:{known}" if known is not None else _UNKNOWN_CLIENT)
    if wait > 0:
        raise OAuthError("temporarily_unavailable", "Too many token requests for this client; retry later", 429,
                         {"Retry-After": str(max(1, math.ceil(wait)))})


def token_response(settings: Settings) -> Response:
    try:
        form = _form()
        client_id, secret = _client_credentials(form)
        _throttle(client_id, settings)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is required")
        client = authenticate_client(client_id, secret, settings.oauth_clients)
        if client is None:
            raise OAuthError("invalid_client", "Unknown client or wrong client secret", 401)
        if grant_type != "client_credentials":
            raise OAuthError("unsupported_grant_type", "Only the client_credentials grant is supported")
        scopes = _granted_scopes(client, form.get("scope"))
    except OAuthError as exc:
        return exc.response()
    issuer, audience = public_urls(request.host_url, settings)
    token = issue_token(client, settings.oauth_signing_key, settings.oauth_token_lifetime, issuer=issuer,
                        audience=audience, scopes=scopes)
    return _json({"access_token": token, "token_type": "Bearer", "expires_in": settings.oauth_token_lifetime,
                  "scope": " ".join(name for name in SCOPES if name in scopes)}, 200)


@bp.post(TOKEN_PATH)
def token() -> Response:
    return token_response(bridge().settings)
