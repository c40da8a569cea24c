"""OAuth 2.0 client-credentials grant (RFC 6749, Section 4.4) issuing short-lived signed access tokens.

The access tokens are JWTs (RFC 7519) signed with HMAC-SHA256 under ``SCIM_BRIDGE_OAUTH_SIGNING_KEY``. They carry
the client id as ``sub``; a token is accepted only while that client is still configured, so removing a client
revokes its tokens at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from flask import Blueprint
from flask import Response
from flask import request

from scim_bridge.config import OAuthClient
from scim_bridge.config import Settings
from scim_bridge.scim.listing import b64url_decode
from scim_bridge.scim.listing import b64url_encode
from scim_bridge.web.state import bridge

ISSUER = "scim-bridge"
TOKEN_PATH = "/oauth/token"
_HEADER = {"alg": "HS256", "typ": "JWT"}
# A digest no secret produces: unknown client ids are still compared, so timing does not reveal which exist.
_NO_DIGEST = "0" * 64

bp = Blueprint("oauth", __name__)


class OAuthError(Exception):
    """A token-endpoint error answered per RFC 6749, Section 5.2."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> Response:
        body = {"error": self.error, "error_description": self.description}
        answer = _json(body, self.status)
        if self.status == 401:
            answer.headers["WWW-Authenticate"] = 'Basic realm="scim-bridge"'
        return answer


@dataclass(frozen=True)
class AccessToken:
    client: OAuthClient
    expires_at: int


def _sign(signing_input: str, key: str) -> str:
    return b64url_encode(hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest())


def issue_token(client: OAuthClient, key: str, lifetime: int, *, now: float | None = None) -> str:
    """A signed access token for ``client`` valid ``lifetime`` seconds from ``now``."""
    issued = int(time.time() if now is None else now)
    claims = {"iss": ISSUER, "sub": client.client_id, "iat": issued, "exp": issued + lifetime,
              "jti": uuid.uuid4().hex}
    encoded = [b64url_encode(json.dumps(part, separators=(",", ":")).encode()) for part in (_HEADER, claims)]
    signing_input = ".".join(encoded)
    return f"{signing_input}.{_sign(signing_input, key)}"


def verify_token(token: str, key: str, clients: tuple[OAuthClient, ...], *, now: float | None = None
                 ) -> AccessToken | None:
    """The client and expiry of a valid, unexpired token signed with ``key``; None for anything else."""
    parts = token.split(".")
    if len(parts) != 3 or not key:
        return None
    expected = _sign(f"{parts[0]}.{parts[1]}", key)
    if not hmac.compare_digest(expected.encode(), parts[2].encode("ascii", "replace")):
        return None
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        return None
    expires = claims.get("exp")
    if claims.get("iss") != ISSUER or not isinstance(expires, int) or isinstance(expires, bool):
        return None
    if expires <= (time.time() if now is None else now):
        return None
    client = next((c for c in clients if c.client_id == claims.get("sub")), None)
    return AccessToken(client, expires) if client is not None else None


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


def token_response(settings: Settings) -> Response:
    try:
        form = _form()
        client_id, secret = _client_credentials(form)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is required")
        client = authenticate_client(client_id, secret, settings.oauth_clients)
        if client is None:
            raise OAuthError("invalid_client", "Unknown client or wrong client secret", 401)
        if grant_type != "client_credentials":
            raise OAuthError("unsupported_grant_type", "Only the client_credentials grant is supported")
    except OAuthError as exc:
        return exc.response()
    token = issue_token(client, settings.oauth_signing_key, settings.oauth_token_lifetime)
    return _json({"access_token": token, "token_type": "Bearer", "expires_in": settings.oauth_token_lifetime},
                 200)


@bp.post(TOKEN_PATH)
def token() -> Response:
    return token_response(bridge().settings)
