"""Settings read from the environment. No Flask here: the CLI validates them before anything starts."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path
from typing import Any
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


# --- the JSM Operations upstream (Atlassian) -------------------------------------------------------------
UPSTREAMS = ("opsgenie", "jsm")
ATLASSIAN_API_URL = "https://api.atlassian.com"
JSM_ACCOUNT_SCOPES = ("product", "account")
# The role a suspended user holds under jsm, unless SCIM_BRIDGE_SUSPENDED_ROLE names another: no JSM product
# role at all (JsmDirectory revokes them, or suspends the account with SCIM_BRIDGE_JSM_ACCOUNT_SCOPE=account).
JSM_SUSPENDED_ROLE = "No JSM access"


@dataclass(frozen=True)
class AtlassianSettings:
    """Where the Atlassian APIs are and the two credentials they take (see atlassian-api.md section 1).

    ``api_url``: JSM Operations and Organizations admin; ``site_url``: the Teams gateway and Jira. Both may
    point at one local simulator. ``account_scope``: "product" (revoke and give back the JSM product roles) or
    "account" (directory-wide suspend-access, restore-access and removal).
    """

    api_url: str = ATLASSIAN_API_URL
    site_url: str = ""
    org_id: str = ""
    cloud_id: str = ""
    site_id: str = ""
    email: str = ""
    api_token: str = field(default="", repr=False)
    admin_api_key: str = field(default="", repr=False)
    account_scope: str = "product"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AtlassianSettings:
        """Read and check the ATLASSIAN_* settings; every one but the API URL is required."""
        missing = [name for name in ("ATLASSIAN_SITE_URL", "ATLASSIAN_ORG_ID", "ATLASSIAN_CLOUD_ID",
                                     "ATLASSIAN_SITE_ID", "ATLASSIAN_EMAIL") if not env.get(name, "").strip()]
        api_token = _secret(env, "ATLASSIAN_API_TOKEN")
        admin_key = _secret(env, "ATLASSIAN_ADMIN_API_KEY")
        missing += [f"{name} (or {name}_FILE)" for name, value in
                    (("ATLASSIAN_API_TOKEN", api_token), ("ATLASSIAN_ADMIN_API_KEY", admin_key)) if not value]
        if missing:
            raise ConfigError("SCIM_BRIDGE_UPSTREAM=jsm needs " + ", ".join(missing)
                              + " (the Basic e-mail and API token of an Operations admin, and an organization"
                              " API key)")
        scope = env.get("SCIM_BRIDGE_JSM_ACCOUNT_SCOPE", "product").strip().lower() or "product"
        if scope not in JSM_ACCOUNT_SCOPES:
            raise ConfigError(f"SCIM_BRIDGE_JSM_ACCOUNT_SCOPE must be one of {', '.join(JSM_ACCOUNT_SCOPES)}, "
                              f"got {scope!r}")
        email = env["ATLASSIAN_EMAIL"].strip()
        if "@" not in email:
            raise ConfigError(f"ATLASSIAN_EMAIL must be the e-mail address of the API token's account, got {email!r}")
        return cls(
            api_url=_url(env, "ATLASSIAN_API_URL", ATLASSIAN_API_URL),
            site_url=_url(env, "ATLASSIAN_SITE_URL", ""),
            org_id=env["ATLASSIAN_ORG_ID"].strip(),
            cloud_id=env["ATLASSIAN_CLOUD_ID"].strip(),
            site_id=env["ATLASSIAN_SITE_ID"].strip(),
            email=email,
            api_token=api_token,
            admin_api_key=admin_key,
            account_scope=scope,
        )


def describe_upstream(settings: Settings) -> tuple[str, str]:
    """(API URL, label) of the configured upstream, as the console shows them."""
    if settings.upstream == "jsm" and settings.atlassian is not None:
        site = urlsplit(settings.atlassian.site_url).hostname or settings.atlassian.site_url
        return settings.atlassian.api_url, f"JSM Operations (site {site})"
    return settings.opsgenie_api_url, describe_endpoint(settings.opsgenie_api_url)


def _url(env: Mapping[str, str], name: str, default: str = "") -> str:
    """An http(s) URL without its trailing slash; ``default`` when unset ("" = not configured)."""
    url = (env.get(name, "").strip() or default).rstrip("/")
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http(s) URL, got {url!r}")
    return url


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
    # The "iss" and "aud" of issued access tokens, checked on every token; empty: the public base URL the
    # request came to (issuer https://host, audience https://host/scim/v2).
    oauth_issuer: str = ""
    oauth_audience: str = ""
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
    # Seconds a replica's write lease on a user or team lasts unless renewed (its holder renews it every
    # third of that while the write runs; a crashed replica's lease frees itself after that long).
    write_lease_ttl: float = 120.0
    discovery_requires_auth: bool = True
    # Mirror freshness (README "Freshness"). read_through=True: GET /Users/{id}, GET /Groups/{id} and the
    # userName/displayName look-ups read the upstream, and writes read first (the strict option). False (the
    # default): reads come from the mirror; a single-resource read whose copy the bridge has not confirmed
    # upstream (sync page, read or its own write) for freshness_window seconds reads it again first.
    read_through: bool = False
    freshness_window: float = 60.0
    invitation_disabled_default: bool = False
    # Operator console under /console: enabled when a console token is set; the secret signs its session
    # cookie (when empty, a random key made once and kept in the database).
    console_token: str = field(default="", repr=False)
    console_secret: str = field(default="", repr=False)
    # Key of the RFC 9865 paging cursors (HMAC); when empty, a random key kept in the database is shared by
    # every replica of the deployment.
    cursor_key: str = field(default="", repr=False)
    # Region (ISO 3166 code, e.g. "US") in which phoneNumbers without a country code are read; empty: only
    # international numbers become OpsGenie contacts.
    phone_region: str = ""
    # Which directory the bridge writes to: "opsgenie" or "jsm" (SCIM_BRIDGE_UPSTREAM); the Atlassian
    # settings are set exactly when it is "jsm".
    upstream: str = "opsgenie"
    atlassian: AtlassianSettings | None = None
    # Security limits (README "Security"): request bodies are read with a per-read timeout and an overall
    # deadline (seconds); an http:// upstream other than loopback needs an explicit opt-in; audit rows older
    # than the retention (days, 0: kept forever) are pruned by the sync loop.
    body_read_timeout: float = 5.0
    body_deadline: float = 30.0
    allow_insecure_upstream: bool = False
    audit_retention_days: float = 90.0
    # Batch jobs (sync, export): seconds one upstream call may wait for the rate budget, and the share of each
    # upstream limit they use (the rest stays with the replicas serving meanwhile).
    batch_upstream_wait: float = 3600.0
    batch_budget_share: float = 0.5

    def upstream_url_schemes(self) -> set[str]:
        """The schemes (http, https) of the URLs the configured upstream is reached at."""
        urls = _upstream_urls(self.upstream, self.opsgenie_api_url, self.atlassian)
        return {urlsplit(url).scheme for url in urls.values()}

    def with_token(self, secret: str, name: str = "default") -> Settings:
        return replace(self, tokens=(*self.tokens, BearerToken.from_secret(name, secret)))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, require_key: bool = True) -> Settings:
        env = os.environ if environ is None else environ
        api_url = env.get("OPSGENIE_API_URL", US_API_URL).strip().rstrip("/")
        if not api_url.startswith(("http://", "https://")):
            raise ConfigError(f"OPSGENIE_API_URL must be an http(s) URL, got {api_url!r}")
        api_key = _secret(env, "OPSGENIE_API_KEY")
        upstream = env.get("SCIM_BRIDGE_UPSTREAM", "opsgenie").strip().lower() or "opsgenie"
        if upstream not in UPSTREAMS:
            raise ConfigError(f"SCIM_BRIDGE_UPSTREAM must be one of {', '.join(UPSTREAMS)}, got {upstream!r}")
        atlassian = AtlassianSettings.from_env(env) if upstream == "jsm" and require_key else None
        if upstream == "jsm" and atlassian is None:
            atlassian = _atlassian_unchecked(env)
        if require_key and upstream == "opsgenie" and not api_key:
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
            raise ConfigError(f"SCIM_BRIDGE_CONSOLE_TOKEN must be at least 16 characters long, got "
                              f"{len(console_token)}: a short console token can be guessed through the login form")
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
            oauth_token_lifetime=_lifetime(env),
            oauth_issuer=_url(env, "SCIM_BRIDGE_OAUTH_ISSUER"),
            oauth_audience=_url(env, "SCIM_BRIDGE_OAUTH_AUDIENCE"),
            client_rate_limit=rate,
            client_rate_burst=int(_number(env, "SCIM_BRIDGE_CLIENT_RATE_BURST", 0, minimum=0)),
            database_url=_secret(env, "SCIM_BRIDGE_DATABASE_URL") or DEFAULT_DATABASE_URL,
            deactivation=deactivation,
            suspended_role=_name(env, "SCIM_BRIDGE_SUSPENDED_ROLE",
                                 JSM_SUSPENDED_ROLE if upstream == "jsm" else "Stakeholder"),
            default_role=_name(env, "SCIM_BRIDGE_DEFAULT_ROLE", "User"),
            role_group_aliases=_aliases(env.get("SCIM_BRIDGE_ROLE_GROUPS", "")),
            sync_interval=_number(env, "SCIM_BRIDGE_SYNC_INTERVAL", 600.0, minimum=0.0),
            max_body_bytes=int(_number(env, "SCIM_BRIDGE_MAX_BODY_BYTES", 1_048_576, minimum=1024)),
            max_results=int(_number(env, "SCIM_BRIDGE_MAX_RESULTS", 1000, minimum=1)),
            max_patch_operations=int(_number(env, "SCIM_BRIDGE_MAX_PATCH_OPERATIONS", 1000, minimum=1)),
            max_members_per_patch=int(_number(env, "SCIM_BRIDGE_MAX_MEMBERS_PER_PATCH", 10_000, minimum=1)),
            max_filter_length=int(_number(env, "SCIM_BRIDGE_MAX_FILTER_LENGTH", 4096, minimum=64)),
            upstream_wait_budget=_number(env, "SCIM_BRIDGE_UPSTREAM_WAIT", 20.0, minimum=0.0),
            write_lease_ttl=_number(env, "SCIM_BRIDGE_WRITE_LEASE_TTL", 120.0, minimum=0.1),
            discovery_requires_auth=_flag(env, "SCIM_BRIDGE_DISCOVERY_AUTH", True),
            read_through=_flag(env, "SCIM_BRIDGE_READ_THROUGH", False),
            freshness_window=_number(env, "SCIM_BRIDGE_FRESHNESS_WINDOW", 60.0, minimum=0.0),
            invitation_disabled_default=_flag(env, "SCIM_BRIDGE_INVITATION_DISABLED", False),
            console_token=console_token,
            console_secret=console_secret,
            cursor_key=cursor_key,
            phone_region=_phone_region(env),
            upstream=upstream,
            atlassian=atlassian,
            **_security_limits(env, _upstream_urls(upstream, api_url, atlassian)),
            batch_upstream_wait=_number(env, "SCIM_BRIDGE_BATCH_UPSTREAM_WAIT", 3600.0, minimum=1.0),
            batch_budget_share=_share(env, "SCIM_BRIDGE_BATCH_BUDGET_SHARE", 0.5),
        )


def _upstream_urls(upstream: str, api_url: str, atlassian: AtlassianSettings | None) -> dict[str, str]:
    """The URLs the configured upstream's credentials travel to, by the variable that sets each."""
    if upstream == "jsm" and atlassian is not None:
        return {"ATLASSIAN_API_URL": atlassian.api_url, "ATLASSIAN_SITE_URL": atlassian.site_url}
    return {"OPSGENIE_API_URL": api_url}


def insecure_upstream_urls(settings: Settings) -> dict[str, str]:
    """The upstream URLs of ``settings`` that are plain http to another machine, by variable."""
    urls = _upstream_urls(settings.upstream, settings.opsgenie_api_url, settings.atlassian)
    return {var: url for var, url in urls.items() if urlsplit(url).scheme == "http" and not is_loopback_url(url)}


def _security_limits(env: Mapping[str, str], upstream_urls: Mapping[str, str]) -> dict[str, Any]:
    """The settings of the README's "Security" section."""
    allow_insecure = _flag(env, "SCIM_BRIDGE_ALLOW_INSECURE_UPSTREAM", False)
    for var, url in upstream_urls.items():
        if urlsplit(url).scheme == "http" and not allow_insecure and not is_loopback_url(url):
            raise ConfigError(
                f"{var} {url!r} is plain http: the upstream credentials would travel in clear. Use https, or set "
                "SCIM_BRIDGE_ALLOW_INSECURE_UPSTREAM=true if the path to that host is protected otherwise"
            )
    return {
        "body_read_timeout": _number(env, "SCIM_BRIDGE_BODY_READ_TIMEOUT", 5.0, minimum=0.1),
        "body_deadline": _number(env, "SCIM_BRIDGE_BODY_DEADLINE", 30.0, minimum=0.1),
        "allow_insecure_upstream": allow_insecure,
        "audit_retention_days": _number(env, "SCIM_BRIDGE_AUDIT_RETENTION_DAYS", 90.0, minimum=0.0),
    }


def is_loopback_url(url: str) -> bool:
    """Whether the URL's host is this machine (127.0.0.0/8, ::1 or localhost): traffic never leaves it."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _atlassian_unchecked(env: Mapping[str, str]) -> AtlassianSettings | None:
    """The Atlassian settings as far as they are given, for commands that do not need them all (``check``
    reports what is missing); None when they cannot be read at all."""
    try:
        return AtlassianSettings.from_env(env)
    except ConfigError:
        return None


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
        parts = [part.strip() for part in item.split(":")]
        scopes = ALL_SCOPES
        if len(parts) >= 3 and _is_digest(parts[-2]):
            scopes = parse_scopes(parts.pop(), f"SCIM_BEARER_TOKEN_HASHES entry {parts[0]!r}")
        name, digest = ":".join(parts[:-1]).strip(), parts[-1].lower()
        if len(parts) < 2 or not name or not _is_digest(digest):
            raise ConfigError(
                "SCIM_BEARER_TOKEN_HASHES must be a comma-separated list of NAME:SHA256HEX[:SCOPE+SCOPE] entries"
            )
        tokens.append(BearerToken(name=name, sha256=digest, scopes=scopes))
    return tuple(tokens)


def _is_digest(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text.lower())


def _oauth_clients(text: str) -> tuple[OAuthClient, ...]:
    """SCIM_BRIDGE_OAUTH_CLIENTS: ``name:client_id:sha256(secret)[:scope+scope]`` entries, comma-separated."""
    clients: list[OAuthClient] = []
    for item in text.split(","):
        if not item.strip():
            continue
        parts = [part.strip() for part in item.split(":")]
        if len(parts) not in (3, 4) or not parts[0] or not parts[1] or not _is_digest(parts[2]):
            raise ConfigError("SCIM_BRIDGE_OAUTH_CLIENTS must be a comma-separated list of "
                              "NAME:CLIENT_ID:SHA256HEX[:SCOPE+SCOPE] entries")
        scopes = parse_scopes(parts[3], f"SCIM_BRIDGE_OAUTH_CLIENTS entry {parts[0]!r}") if len(parts) == 4 \
            else ALL_SCOPES
        if any(client.client_id == parts[1] for client in clients):
            raise ConfigError(f"SCIM_BRIDGE_OAUTH_CLIENTS lists the client id {parts[1]!r} twice")
        clients.append(OAuthClient(name=parts[0], client_id=parts[1], secret_sha256=parts[2].lower(), scopes=scopes))
    return tuple(clients)


def _lifetime(env: Mapping[str, str]) -> int:
    lifetime = int(_number(env, "SCIM_BRIDGE_OAUTH_TOKEN_LIFETIME", 3600, minimum=60))
    if lifetime > MAX_OAUTH_TOKEN_LIFETIME:
        raise ConfigError(f"SCIM_BRIDGE_OAUTH_TOKEN_LIFETIME must be at most {MAX_OAUTH_TOKEN_LIFETIME} seconds "
                          f"(24 hours), got {lifetime}")
    return lifetime


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


def _phone_region(env: Mapping[str, str]) -> str:
    import phonenumbers

    region = env.get("SCIM_BRIDGE_PHONE_REGION", "").strip().upper()
    if region and region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"SCIM_BRIDGE_PHONE_REGION must be a two-letter region code such as US or DE, got {region!r}")
    return region


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
