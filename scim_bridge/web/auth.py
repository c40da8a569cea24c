"""Authentication for the SCIM endpoints: static bearer tokens and OAuth access tokens, and their scopes."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from scim_bridge.config import BearerToken
from scim_bridge.config import OAuthClient
from scim_bridge.scim import errors
from scim_bridge.web import oauth

REALM = 'Bearer realm="scim-bridge"'
READ_METHODS = frozenset({"GET", "HEAD"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Credential:
    """Who is calling (the token's or OAuth client's name, as the audit log shows it) and what it may do."""

    name: str
    scopes: frozenset[str]


def _invalid(detail: str) -> errors.Unauthorized:
    # RFC 6750, Section 3: a rejected token is answered with error="invalid_token".
    return errors.Unauthorized(detail, headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'})


def authenticate(
    header: str | None,
    tokens: tuple[BearerToken, ...],
    *,
    oauth_clients: tuple[OAuthClient, ...] = (),
    verifier: oauth.Verifier | None = None,
) -> Credential:
    """The token or OAuth client presented in an ``Authorization: Bearer`` header, with its scopes.

    Every configured digest is compared in constant time, so timing tells nothing about which token (or how
    much of one) matched. The credential itself never appears in an error.

    :raises Unauthorized: no header, another scheme, or a token that is unknown, tampered with or expired.
    """
    if not header:
        raise errors.Unauthorized("Authentication required: send 'Authorization: Bearer <token>'",
                                  headers={"WWW-Authenticate": REALM})
    scheme, _, credential = header.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise errors.Unauthorized("Only Bearer authentication is supported", headers={"WWW-Authenticate": REALM})
    digest = hashlib.sha256(credential.encode("utf-8", "surrogateescape")).hexdigest()
    found = None
    for token in tokens:
        if hmac.compare_digest(digest, token.sha256):
            found = Credential(token.name, token.scopes)
    if found is not None:
        return found
    if oauth_clients and verifier is not None and oauth.looks_like_jwt(credential):
        access = verifier.verify(credential, oauth_clients)
        if access is not None:
            return Credential(access.client.name, access.scopes)
        raise _invalid("The access token is invalid or has expired; request a new one")
    raise _invalid("The bearer token is not valid")


def required_scope(method: str, path: str) -> str | None:
    """The scope a SCIM request needs by its method: ``read`` for GET and ``.search``, ``write`` for the
    other changes (a change of role needs ``roles`` as well, which the service layer decides); None for
    methods that touch nothing (OPTIONS)."""
    if method in READ_METHODS or (method == "POST" and path.endswith("/.search")):
        return "read"
    if method in WRITE_METHODS:
        return "write"
    return None
