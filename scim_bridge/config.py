"""Settings read from the environment. No Flask here: the CLI validates them before anything starts.

``Settings`` and what builds it live here; the settings groups are in ``scim_bridge.configuration``
(``env``: the readers and ConfigError, ``credentials``: tokens, OAuth clients and scopes, ``upstream``: OpsGenie
regions and the Atlassian settings). Their names are importable from this module as well.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from scim_bridge.configuration.credentials import ALL_SCOPES
from scim_bridge.configuration.credentials import MAX_OAUTH_TOKEN_LIFETIME
from scim_bridge.configuration.credentials import SCOPES
from scim_bridge.configuration.credentials import BearerToken
from scim_bridge.configuration.credentials import OAuthClient
from scim_bridge.configuration.credentials import format_scopes
from scim_bridge.configuration.credentials import generate_token
from scim_bridge.configuration.credentials import parse_scopes
from scim_bridge.configuration.credentials import read_oauth_clients as _oauth_clients
from scim_bridge.configuration.credentials import read_token_lifetime as _lifetime
from scim_bridge.configuration.credentials import read_tokens as _tokens
from scim_bridge.configuration.env import ConfigError
from scim_bridge.configuration.env import read_flag as _flag
from scim_bridge.configuration.env import read_name as _name
from scim_bridge.configuration.env import read_number as _number
from scim_bridge.configuration.env import read_secret as _secret
from scim_bridge.configuration.env import read_share as _share
from scim_bridge.configuration.env import read_url as _url
from scim_bridge.configuration.upstream import ATLASSIAN_API_URL
from scim_bridge.configuration.upstream import EU_API_URL
from scim_bridge.configuration.upstream import JSM_ACCOUNT_SCOPES
from scim_bridge.configuration.upstream import JSM_SUSPENDED_ROLE
from scim_bridge.configuration.upstream import REGION_URLS
from scim_bridge.configuration.upstream import UPSTREAMS
from scim_bridge.configuration.upstream import US_API_URL
from scim_bridge.configuration.upstream import AtlassianSettings
from scim_bridge.configuration.upstream import api_region
from scim_bridge.configuration.upstream import atlassian_unchecked as _atlassian_unchecked
from scim_bridge.configuration.upstream import describe_endpoint
from scim_bridge.configuration.upstream import is_loopback_url
from scim_bridge.configuration.upstream import region_label
from scim_bridge.configuration.upstream import upstream_urls as _upstream_urls

# The readers keep the short names (_number, _flag, _secret...) that Settings.from_env uses.
__all__ = [
    "ALL_SCOPES", "ATLASSIAN_API_URL", "DEACTIVATION_MODES", "DEFAULT_DATABASE_URL", "EU_API_URL",
    "JSM_ACCOUNT_SCOPES", "JSM_SUSPENDED_ROLE", "MAX_OAUTH_TOKEN_LIFETIME", "REGION_URLS", "SCOPES", "UPSTREAMS",
    "US_API_URL", "AtlassianSettings", "BearerToken", "ConfigError", "OAuthClient", "Settings", "api_region",
    "describe_endpoint", "describe_upstream", "format_scopes", "generate_token", "insecure_upstream_urls",
    "is_loopback_url", "parse_scopes", "region_label",
]

DEFAULT_DATABASE_URL = "sqlite:///var/scim-bridge.db"
DEACTIVATION_MODES = ("suspend", "delete")


def describe_upstream(settings: Settings) -> tuple[str, str]:
    """(API URL, label) of the configured upstream, as the console shows them."""
    if settings.upstream == "jsm" and settings.atlassian is not None:
        site = urlsplit(settings.atlassian.site_url).hostname or settings.atlassian.site_url
        return settings.atlassian.api_url, f"JSM Operations (site {site})"
    return settings.opsgenie_api_url, describe_endpoint(settings.opsgenie_api_url)


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
    # Sync loop and rosters (README "Sync loop and rosters"): a tick every ``sync_interval`` seconds (0: no
    # loop) reads a slice of the directory, sized so that one full refresh (user pages, team list, every team's
    # roster oldest first, roles) takes ``sync_cycle`` seconds; the initial import reads at most
    # ``sync_import_rosters`` rosters, the others are loaded on demand or by the loop's warm-up, at most
    # ``sync_warmup_rosters`` a tick (0: no warm-up).
    sync_interval: float = 60.0
    sync_cycle: float = 7200.0
    sync_import_rosters: int = 50
    sync_warmup_rosters: int = 60
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
    # PostgreSQL: seconds a replica's write lease on a user or team lasts unless renewed (its holder renews it
    # every third of that while the write runs; a crashed replica's lease frees itself after that long). SQLite
    # takes no lease: its write locks are byte-range locks on a file beside the database (store/filelocks.py).
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
            sync_interval=_number(env, "SCIM_BRIDGE_SYNC_INTERVAL", 60.0, minimum=0.0),
            sync_cycle=_number(env, "SCIM_BRIDGE_SYNC_CYCLE", 7200.0, minimum=60.0),
            sync_import_rosters=int(_number(env, "SCIM_BRIDGE_SYNC_IMPORT_ROSTERS", 50, minimum=0)),
            sync_warmup_rosters=int(_number(env, "SCIM_BRIDGE_SYNC_WARMUP_ROSTERS", 60, minimum=0)),
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
    region = env.get("SCIM_BRIDGE_PHONE_REGION", "").strip().upper()
    if not region:
        return region
    import phonenumbers  # loaded only when a region is set (service/user_mapping.py imports it when it maps one)

    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"SCIM_BRIDGE_PHONE_REGION must be a two-letter region code such as US or DE, got {region!r}")
    return region
