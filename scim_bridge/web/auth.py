"""Bearer-token authentication for the SCIM endpoints."""

from __future__ import annotations

import hashlib
import hmac

from scim_bridge.config import BearerToken
from scim_bridge.scim import errors


def authenticate(header: str | None, tokens: tuple[BearerToken, ...]) -> str:
    """Return the name of the token presented in an ``Authorization: Bearer`` header.

    Every configured digest is compared in constant time, so timing tells nothing about which
    token (or how much of one) matched.
    """
    challenge = {"WWW-Authenticate": 'Bearer realm="scim-bridge"'}
    if not header:
        raise errors.Unauthorized("Authentication required: send 'Authorization: Bearer <token>'",
                                  headers=challenge)
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise errors.Unauthorized("Only Bearer authentication is supported", headers=challenge)
    digest = hashlib.sha256(credential.strip().encode()).hexdigest()
    name = None
    for token in tokens:
        if hmac.compare_digest(digest, token.sha256):
            name = token.name
    if name is None:
        raise errors.Unauthorized(
            "The bearer token is not valid",
            headers={"WWW-Authenticate": 'Bearer realm="scim-bridge", error="invalid_token"'},
        )
    return name
