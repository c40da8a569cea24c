"""The credentials settings: SCIM bearer tokens, OAuth clients and the scopes they grant."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from scim_bridge.configuration.env import ConfigError
from scim_bridge.configuration.env import read_number
from scim_bridge.configuration.env import read_secret

# What a credential may do: ``read`` (GET, .search), ``write`` (create, replace, patch, delete users and
# teams) and ``roles`` (any change of a user's OpsGenie role, on top of ``write``).
SCOPES = ("read", "write", "roles")
ALL_SCOPES = frozenset(SCOPES)
# The longest lifetime of an issued OAuth access token, in seconds.
MAX_OAUTH_TOKEN_LIFETIME = 86_400


def parse_scopes(text: str, where: str) -> frozenset[str]:
    """``read+write`` -> {"read", "write"}; ConfigError naming ``where`` for an empty list or an unknown scope."""
    names = [part.strip().lower() for part in text.split("+")]
    unknown = sorted({name for name in names if name not in ALL_SCOPES})
    if not text.strip() or unknown:
        what = f"unknown scope {unknown[0]!r}" if unknown and unknown[0] else "an empty scope"
        raise ConfigError(f"{where}: {what}; scopes are {'+'.join(SCOPES)} (any of them, joined with '+')")
    return frozenset(names)


def format_scopes(scopes: frozenset[str] | set[str]) -> str:
    """The scopes in their fixed order, joined with '+' ("read+write")."""
    return "+".join(name for name in SCOPES if name in scopes)


@dataclass(frozen=True)
class BearerToken:
    """A named SCIM bearer token, kept only as its SHA-256 digest, and the scopes it grants."""

    name: str
    sha256: str
    scopes: frozenset[str] = ALL_SCOPES

    @classmethod
    def from_secret(cls, name: str, secret: str, scopes: frozenset[str] = ALL_SCOPES) -> BearerToken:
        return cls(name=name, sha256=hashlib.sha256(secret.encode()).hexdigest(), scopes=scopes)

    def entry(self) -> str:
        """The SCIM_BEARER_TOKEN_HASHES entry configuring this token (no scope list when it has all three)."""
        suffix = "" if self.scopes == ALL_SCOPES else ":" + format_scopes(self.scopes)
        return f"{self.name}:{self.sha256}{suffix}"


@dataclass(frozen=True)
class OAuthClient:
    """An OAuth 2.0 client allowed the client-credentials grant; its secret is kept only as a SHA-256 digest."""

    name: str
    client_id: str
    secret_sha256: str
    scopes: frozenset[str] = ALL_SCOPES

    @classmethod
    def from_secret(cls, name: str, client_id: str, secret: str, scopes: frozenset[str] = ALL_SCOPES
                    ) -> OAuthClient:
        return cls(name=name, client_id=client_id, secret_sha256=hashlib.sha256(secret.encode()).hexdigest(),
                   scopes=scopes)


def generate_token() -> str:
    return "scb_" + secrets.token_urlsafe(32)


def read_tokens(env: Mapping[str, str]) -> tuple[BearerToken, ...]:
    """SCIM_BEARER_TOKEN (a secret) and SCIM_BEARER_TOKEN_HASHES (name:sha256,... for rotation)."""
    tokens: list[BearerToken] = []
    secret = read_secret(env, "SCIM_BEARER_TOKEN")
    if secret:
        if len(secret) < 16:
            raise ConfigError("SCIM_BEARER_TOKEN must be at least 16 characters long")
        tokens.append(BearerToken.from_secret("default", secret))
    for item in env.get("SCIM_BEARER_TOKEN_HASHES", "").split(","):
        item = item.strip()
        if not item:
            continue
        parts = [part.strip() for part in item.split(":")]
        scopes = ALL_SCOPES
        if len(parts) >= 3 and is_digest(parts[-2]):
            scopes = parse_scopes(parts.pop(), f"SCIM_BEARER_TOKEN_HASHES entry {parts[0]!r}")
        name, digest = ":".join(parts[:-1]).strip(), parts[-1].lower()
        if len(parts) < 2 or not name or not is_digest(digest):
            raise ConfigError(
                "SCIM_BEARER_TOKEN_HASHES must be a comma-separated list of NAME:SHA256HEX[:SCOPE+SCOPE] entries"
            )
        tokens.append(BearerToken(name=name, sha256=digest, scopes=scopes))
    return tuple(tokens)


def is_digest(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text.lower())


def read_oauth_clients(text: str) -> tuple[OAuthClient, ...]:
    """SCIM_BRIDGE_OAUTH_CLIENTS: ``name:client_id:sha256(secret)[:scope+scope]`` entries, comma-separated."""
    clients: list[OAuthClient] = []
    for item in text.split(","):
        if not item.strip():
            continue
        parts = [part.strip() for part in item.split(":")]
        if len(parts) not in (3, 4) or not parts[0] or not parts[1] or not is_digest(parts[2]):
            raise ConfigError("SCIM_BRIDGE_OAUTH_CLIENTS must be a comma-separated list of "
                              "NAME:CLIENT_ID:SHA256HEX[:SCOPE+SCOPE] entries")
        scopes = parse_scopes(parts[3], f"SCIM_BRIDGE_OAUTH_CLIENTS entry {parts[0]!r}") if len(parts) == 4 \
            else ALL_SCOPES
        if any(client.client_id == parts[1] for client in clients):
            raise ConfigError(f"SCIM_BRIDGE_OAUTH_CLIENTS lists the client id {parts[1]!r} twice")
        clients.append(OAuthClient(name=parts[0], client_id=parts[1], secret_sha256=parts[2].lower(), scopes=scopes))
    return tuple(clients)


def read_token_lifetime(env: Mapping[str, str]) -> int:
    lifetime = int(read_number(env, "SCIM_BRIDGE_OAUTH_TOKEN_LIFETIME", 3600, minimum=60))
    if lifetime > MAX_OAUTH_TOKEN_LIFETIME:
        raise ConfigError(f"SCIM_BRIDGE_OAUTH_TOKEN_LIFETIME must be at most {MAX_OAUTH_TOKEN_LIFETIME} seconds "
                          f"(24 hours), got {lifetime}")
    return lifetime
