"""The upstream settings: OpsGenie's regional API hosts, the JSM Operations (Atlassian) settings, and which URLs
the upstream credentials travel to."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from urllib.parse import urlsplit

from scim_bridge.configuration.env import ConfigError
from scim_bridge.configuration.env import read_secret
from scim_bridge.configuration.env import read_url

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
        api_token = read_secret(env, "ATLASSIAN_API_TOKEN")
        admin_key = read_secret(env, "ATLASSIAN_ADMIN_API_KEY")
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
            api_url=read_url(env, "ATLASSIAN_API_URL", ATLASSIAN_API_URL),
            site_url=read_url(env, "ATLASSIAN_SITE_URL", ""),
            org_id=env["ATLASSIAN_ORG_ID"].strip(),
            cloud_id=env["ATLASSIAN_CLOUD_ID"].strip(),
            site_id=env["ATLASSIAN_SITE_ID"].strip(),
            email=email,
            api_token=api_token,
            admin_api_key=admin_key,
            account_scope=scope,
        )


def atlassian_unchecked(env: Mapping[str, str]) -> AtlassianSettings | None:
    """The Atlassian settings as far as they are given, for commands that do not need them all (``check``
    reports what is missing); None when they cannot be read at all."""
    try:
        return AtlassianSettings.from_env(env)
    except ConfigError:
        return None


def upstream_urls(upstream: str, api_url: str, atlassian: AtlassianSettings | None) -> dict[str, str]:
    """The URLs the configured upstream's credentials travel to, by the variable that sets each."""
    if upstream == "jsm" and atlassian is not None:
        return {"ATLASSIAN_API_URL": atlassian.api_url, "ATLASSIAN_SITE_URL": atlassian.site_url}
    return {"OPSGENIE_API_URL": api_url}


def is_loopback_url(url: str) -> bool:
    """Whether the URL's host is this machine (127.0.0.0/8, ::1 or localhost): traffic never leaves it."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
