"""Settings read from the environment. No Flask here: the CLI validates them before anything starts."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

US_API_URL = "https://api.opsgenie.com"
EU_API_URL = "https://api.eu.opsgenie.com"
REGION_URLS = {"US": US_API_URL, "EU": EU_API_URL}


def api_region(api_url: str) -> str | None:
    """"US" or "EU" when the URL is one of OpsGenie's two regional API hosts; None for any other endpoint."""
    wanted = api_url.strip().rstrip("/")
    return next((name for name, url in REGION_URLS.items() if url == wanted), None)


def region_label(api_url: str) -> str:
    """"US region", "EU region" or "custom endpoint": how check and the console name the configured upstream."""
    region = api_region(api_url)
    return f"{region} region" if region else "custom endpoint"


def describe_endpoint(api_url: str) -> str:
    """The label with the host: "US region (api.opsgenie.com)" or "custom endpoint (host)"."""
    return f"{region_label(api_url)} ({urlsplit(api_url).hostname or api_url})"


DEFAULT_DATABASE_URL = "sqlite:///var/scim-bridge.db"
DEACTIVATION_MODES = ("suspend", "delete")


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class BearerToken:
    """A named SCIM bearer token, kept only as its SHA-256 digest."""

    name: str
    sha256: str

    @classmethod
    def from_secret(cls, name: str, secret: str) -> BearerToken:
        return cls(name=name, sha256=hashlib.sha256(secret.encode()).hexdigest())


@dataclass(frozen=True)
class OAuthClient:
    """An OAuth 2.0 client allowed the client-credentials grant; its secret is kept only as a SHA-256 digest."""

    name: str
    client_id: str
    secret_sha256: str

    @classmethod
    def from_secret(cls, name: str, client_id: str, secret: str) -> OAuthClient:
        return cls(name=name, client_id=client_id, secret_sha256=hashlib.sha256(secret.encode()).hexdigest())


@dataclass(frozen=True)
class Settings:
    opsgenie_api_url: str = US_API_URL
    opsgenie_api_key: str = field(default="", repr=False)
    tokens: tuple[BearerToken, ...] = ()
    # OAuth 2.0 client credentials (RFC 6749, Section 4.4): clients, the HMAC key signing the access tokens
    # and their lifetime in seconds.
    oauth_clients: tuple[OAuthClient, ...] = ()
    oauth_signing_key: str = field(default="", repr=False)
    oauth_token_lifetime: int = 3600
    # Requests per second allowed to each token or OAuth client (0: no limit), and the burst above that rate.
    client_rate_limit: float = 0.0
    client_rate_burst: int = 0
    database_url: str = DEFAULT_DATABASE_URL
    deactivation: str = "suspend"
    suspended_role: str = "Stakeholder"
    default_role: str = "User"
    # Extra names for role groups: IdP group name -> OpsGenie role name.
    role_group_aliases: dict[str, str] = field(default_factory=dict)
    sync_interval: float = 600.0
    # Sizes and limits advertised in /ServiceProviderConfig and enforced.
    max_body_bytes: int = 1_048_576
    max_results: int = 1000
    default_count: int = 100
    max_patch_operations: int = 1000
    max_members_per_patch: int = 10_000
    max_filter_length: int = 4096
    max_filter_depth: int = 32
    # Seconds a SCIM request may wait for the upstream rate budget before answering 429.
    upstream_wait_budget: float = 20.0
    discovery_requires_auth: bool = True
    # When true, GET /Users/{id} and userName lookups read the upstream so a user deleted there
    # is never reported as present.
    read_through: bool = True
    invitation_disabled_default: bool = False
    # Operator console under /console: enabled when a console token is set; the secret signs its session
    # cookie (derived from the token when empty).
    console_token: str = field(default="", repr=False)
    console_secret: str = field(default="", repr=False)
    # Key of the RFC 9865 paging cursors (HMAC); when empty, a random key kept in the database is shared by
    # every replica of the deployment.
    cursor_key: str = field(default="", repr=False)
    # Batch jobs (sync, export): seconds one upstream call may wait for the rate budget, and the share of each
    # upstream limit they use (the rest stays with the replicas serving meanwhile).
    batch_upstream_wait: float = 3600.0
    batch_budget_share: float = 0.5

    def with_token(self, secret: str, name: str = "default") -> Settings:
        return replace(self, tokens=(*self.tokens, BearerToken.from_secret(name, secret)))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, require_key: bool = True) -> Settings:
        env = os.environ if environ is None else environ
        api_url = env.get("OPSGENIE_API_URL", US_API_URL).strip().rstrip("/")
        if not api_url.startswith(("http://", "https://")):
            raise ConfigError(f"OPSGENIE_API_URL must be an http(s) URL, got {api_url!r}")
        api_key = _secret(env, "OPSGENIE_API_KEY")
        if require_key and not api_key:
            raise ConfigError("OPSGENIE_API_KEY (or OPSGENIE_API_KEY_FILE) is not set")
        deactivation = env.get("SCIM_BRIDGE_DEACTIVATION", "suspend").strip().lower()
        if deactivation not in DEACTIVATION_MODES:
            raise ConfigError(
                f"SCIM_BRIDGE_DEACTIVATION must be one of {', '.join(DEACTIVATION_MODES)}, got {deactivation!r}"
            )
        oauth_clients = _oauth_clients(env.get("SCIM_BRIDGE_OAUTH_CLIENTS", ""))
        tokens = _tokens(env)
        names = [t.name for t in tokens] + [c.name for c in oauth_clients]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ConfigError(
                f"the name {twice[0]!r} is given to more than one token or OAuth client (SCIM_BEARER_TOKEN is "
                "named 'default'): the audit log names each change's token, so every name must be unique"
            )
        signing_key = _secret(env, "SCIM_BRIDGE_OAUTH_SIGNING_KEY")
        if oauth_clients and len(signing_key) < 32:
            raise ConfigError("SCIM_BRIDGE_OAUTH_CLIENTS needs SCIM_BRIDGE_OAUTH_SIGNING_KEY (or _FILE), "
                              "at least 32 characters long")
        rate = _number(env, "SCIM_BRIDGE_CLIENT_RATE_LIMIT", 0.0, minimum=0.0)
        console_token = _secret(env, "SCIM_BRIDGE_CONSOLE_TOKEN")
        if console_token and len(console_token) < 16:
            raise ConfigError("SCIM_BRIDGE_CONSOLE_TOKEN must be at least 16 characters long")
        console_secret = _secret(env, "SCIM_BRIDGE_CONSOLE_SECRET")
        if console_secret and len(console_secret) < 32:
            raise ConfigError("SCIM_BRIDGE_CONSOLE_SECRET must be at least 32 characters long")
        cursor_key = _secret(env, "SCIM_BRIDGE_CURSOR_KEY")
        if cursor_key and len(cursor_key) < 16:
            raise ConfigError("SCIM_BRIDGE_CURSOR_KEY must be at least 16 characters long")
        return cls(
            opsgenie_api_url=api_url,
            opsgenie_api_key=api_key,
            tokens=tokens,
            oauth_clients=oauth_clients,
            oauth_signing_key=signing_key,
            oauth_token_lifetime=int(_number(env, "SCIM_BRIDGE_OAUTH_TOKEN_LIFETIME", 3600, minimum=60)),
            client_rate_limit=rate,
            client_rate_burst=int(_number(env, "SCIM_BRIDGE_CLIENT_RATE_BURST", 0, minimum=0)),
            database_url=_secret(env, "SCIM_BRIDGE_DATABASE_URL") or DEFAULT_DATABASE_URL,
            deactivation=deactivation,
            suspended_role=_name(env, "SCIM_BRIDGE_SUSPENDED_ROLE", "Stakeholder"),
            default_role=_name(env, "SCIM_BRIDGE_DEFAULT_ROLE", "User"),
            role_group_aliases=_aliases(env.get("SCIM_BRIDGE_ROLE_GROUPS", "")),
            sync_interval=_number(env, "SCIM_BRIDGE_SYNC_INTERVAL", 600.0, minimum=0.0),
            max_body_bytes=int(_number(env, "SCIM_BRIDGE_MAX_BODY_BYTES", 1_048_576, minimum=1024)),
            max_results=int(_number(env, "SCIM_BRIDGE_MAX_RESULTS", 1000, minimum=1)),
            max_patch_operations=int(_number(env, "SCIM_BRIDGE_MAX_PATCH_OPERATIONS", 1000, minimum=1)),
            max_members_per_patch=int(_number(env, "SCIM_BRIDGE_MAX_MEMBERS_PER_PATCH", 10_000, minimum=1)),
            max_filter_length=int(_number(env, "SCIM_BRIDGE_MAX_FILTER_LENGTH", 4096, minimum=64)),
            upstream_wait_budget=_number(env, "SCIM_BRIDGE_UPSTREAM_WAIT", 20.0, minimum=0.0),
            discovery_requires_auth=_flag(env, "SCIM_BRIDGE_DISCOVERY_AUTH", True),
            read_through=_flag(env, "SCIM_BRIDGE_READ_THROUGH", True),
            invitation_disabled_default=_flag(env, "SCIM_BRIDGE_INVITATION_DISABLED", False),
            console_token=console_token,
            console_secret=console_secret,
            cursor_key=cursor_key,
            batch_upstream_wait=_number(env, "SCIM_BRIDGE_BATCH_UPSTREAM_WAIT", 3600.0, minimum=1.0),
            batch_budget_share=_share(env, "SCIM_BRIDGE_BATCH_BUDGET_SHARE", 0.5),
        )


def _share(env: Mapping[str, str], name: str, default: float) -> float:
    value = _number(env, name, default, minimum=0.0)
    if not 0.0 < value <= 1.0:
        raise ConfigError(f"{name} must be a fraction above 0 and at most 1, e.g. 0.5")
    return value


def generate_token() -> str:
    return "scb_" + secrets.token_urlsafe(32)


def _secret(env: Mapping[str, str], name: str) -> str:
    """Read NAME, or the file named by NAME_FILE (for container secrets)."""
    value = env.get(name, "").strip()
    file_var = f"{name}_FILE"
    path = env.get(file_var, "").strip()
    if path and not value:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{file_var} points to {path!r}, which cannot be read: {exc.strerror}") from None
    return value


def _tokens(env: Mapping[str, str]) -> tuple[BearerToken, ...]:
    """SCIM_BEARER_TOKEN (a secret) and SCIM_BEARER_TOKEN_HASHES (name:sha256,... for rotation)."""
    tokens: list[BearerToken] = []
    secret = _secret(env, "SCIM_BEARER_TOKEN")
    if secret:
        if len(secret) < 16:
            raise ConfigError("SCIM_BEARER_TOKEN must be at least 16 characters long")
        tokens.append(BearerToken.from_secret("default", secret))
    for item in env.get("SCIM_BEARER_TOKEN_HASHES", "").split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, digest = item.rpartition(":")
        digest = digest.strip().lower()
        if not sep or not name.strip() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ConfigError(
                "SCIM_BEARER_TOKEN_HASHES must be a comma-separated list of NAME:SHA256HEX entries"
            )
        tokens.append(BearerToken(name=name.strip(), sha256=digest))
    return tuple(tokens)


def _oauth_clients(text: str) -> tuple[OAuthClient, ...]:
    """SCIM_BRIDGE_OAUTH_CLIENTS: ``name:client_id:sha256(secret)`` entries, comma-separated."""
    clients: list[OAuthClient] = []
    for item in text.split(","):
        if not item.strip():
            continue
        parts = [part.strip() for part in item.split(":")]
        digest = parts[-1].lower() if len(parts) == 3 else ""
        if len(parts) != 3 or not parts[0] or not parts[1] or len(digest) != 64 or any(
            c not in "0123456789abcdef" for c in digest
        ):
            raise ConfigError(
                "SCIM_BRIDGE_OAUTH_CLIENTS must be a comma-separated list of NAME:CLIENT_ID:SHA256HEX entries"
            )
        if any(client.client_id == parts[1] for client in clients):
            raise ConfigError(f"SCIM_BRIDGE_OAUTH_CLIENTS lists the client id {parts[1]!r} twice")
        clients.append(OAuthClient(name=parts[0], client_id=parts[1], secret_sha256=digest))
    return tuple(clients)


def _aliases(text: str) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        group, sep, role = item.partition("=")
        if not sep or not group.strip() or not role.strip():
            raise ConfigError(
                "SCIM_BRIDGE_ROLE_GROUPS must look like 'IdP Group Name=RoleName,Other Group=Admin'"
            )
        aliases[group.strip()] = role.strip()
    return aliases


def _name(env: Mapping[str, str], var: str, default: str) -> str:
    value = env.get(var, default).strip()
    if not value:
        raise ConfigError(f"{var} must not be empty")
    return value


def _number(env: Mapping[str, str], var: str, default: float, *, minimum: float) -> float:
    raw = env.get(var)
    if raw is None or not raw.strip():
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{var} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{var} must be at least {minimum:g}, got {raw!r}")
    return value


def _flag(env: Mapping[str, str], var: str, default: bool) -> bool:
    raw = env.get(var)
    if raw is None or not raw.strip():
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{var} must be true or false, got {raw!r}")
