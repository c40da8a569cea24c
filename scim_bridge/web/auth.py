"""Authentication for the SCIM endpoints: static bearer tokens and OAuth access tokens."""

from __future__ import annotations

import hashlib
import hmac

from scim_bridge.config import BearerToken
from scim_bridge.config import OAuthClient
from scim_bridge.scim import errors
from scim_bridge.web import oauth

REALM = 'Bearer realm="scim-bridge"'


def _invalid(detail: str) -> errors.Unauthorized:
    # RFC 6750, Section 3: a rejected token is answered with error="invalid_token".
    return errors.Unauthorized(detail, headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'})


def authenticate(
    header: str | None,
    tokens: tuple[BearerToken, ...],
    *,
    oauth_clients: tuple[OAuthClient, ...] = (),
    signing_key: str = "",
) -> str:
    """Return the name of the token or OAuth client presented in an ``Authorization: Bearer`` header.

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
    name = None
    for token in tokens:
        if hmac.compare_digest(digest, token.sha256):
            name = token.name
    if name is not None:
        return name
    if oauth_clients and oauth.looks_like_jwt(credential):
        access = oauth.verify_token(credential, signing_key, oauth_clients)
        if access is not None:
            return access.client.name
        raise _invalid("The access token is invalid or has expired; request a new one")
    raise _invalid("The bearer token is not valid")
