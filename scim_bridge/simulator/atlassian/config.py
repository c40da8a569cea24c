"""Knobs and fixed identifiers of the Atlassian simulator.

The identifiers and credentials are constants so that tests and the demo can configure the bridge
without asking the simulator: Basic ``sim-admin@example.com`` : ``sim-api-token`` (Teams, JSM
Operations, Jira), Bearer ``sim-admin-key`` (Organizations admin API), org ``sim-org``, cloud
``sim-cloud``, site ``sim-site``.

Every point the contract notes (docs/atlassian-api.md, section 9) leave UNCONFIRMED is a knob with
the name and default given there:

- ``enable_ops_delay_ms`` (0) and ``enable_ops_transient_status`` (404): for that long after a team
  is created, enable-ops answers that status.
- ``duplicate_team_names``: ``"allow"`` or ``"reject"`` (409).
- ``member_add_existing``: ``"error"`` (per-member ``ALREADY_A_MEMBER``) or ``"ok"`` (silent success).
- ``require_site_id`` (false): team create without ``siteId`` is a 400 and the team list shows
  nothing without ``siteId``, as for an org that mandates site-scoped teams.
- ``jira_hide_email`` (false), ``jira_search_includes_suspended`` (false).
- ``invite_returns_account_id`` (true).
- ``enable_ops_requires_member_admin`` (true): enable-ops answers 422 when an admin is not a member.
- ``rate_limit`` (0 = off) requests per rolling ``rate_window_s`` (60) over all API families.

Also: ``role_assign_account_field`` / ``role_assign_role_field`` (``accountId`` / ``roleName``), the
field names of ``POST /v1/roles/assign``; ``caller_ops_admin`` (true): without it the custom-role
calls answer 403; ``jsm_error_shape`` (``"list"``): ``"object"`` gives JSM Operations errors as
``{"errors": {"<title>": "<code>"}}``, the other shape seen; ``latency_ms`` added to every API call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scim_bridge.simulator.knobs import apply_changes

ADMIN_EMAIL = "sim-admin@example.com"
API_TOKEN = "sim-api-token"
ADMIN_API_KEY = "sim-admin-key"
ORG_ID = "sim-org"
CLOUD_ID = "sim-cloud"
SITE_ID = "sim-site"
DIRECTORY_ID = "sim-directory"
CALLER_ACCOUNT_ID = "712020:00000000-0000-4000-8000-00000000a0a0"
"""The account of the Basic user; it exists after every reset."""


def jsm_resource(site_id: str = SITE_ID) -> str:
    """The resource ARI of JSM on the site: product roles for on-call access are granted on it."""
    return f"ari:cloud:jira-servicedesk::site/{site_id}"


_CHOICES: dict[str, tuple[Any, ...]] = {
    "enable_ops_transient_status": (404, 403, 422),
    "duplicate_team_names": ("allow", "reject"),
    "member_add_existing": ("error", "ok"),
    "jsm_error_shape": ("list", "object"),
}
_NON_NEGATIVE = ("enable_ops_delay_ms", "rate_limit", "latency_ms")
_NON_EMPTY = (
    "admin_email",
    "api_token",
    "admin_api_key",
    "org_id",
    "cloud_id",
    "site_id",
    "role_assign_account_field",
    "role_assign_role_field",
)


@dataclass
class AtlassianSimConfig:
    """All knobs; mutable (``PATCH /__sim/config`` changes them on a live server)."""

    seed: str | None = None
    admin_email: str = ADMIN_EMAIL
    api_token: str = API_TOKEN
    admin_api_key: str = ADMIN_API_KEY
    org_id: str = ORG_ID
    cloud_id: str = CLOUD_ID
    site_id: str = SITE_ID

    enable_ops_delay_ms: int = 0
    enable_ops_transient_status: int = 404
    duplicate_team_names: str = "allow"
    member_add_existing: str = "error"
    require_site_id: bool = False
    jira_hide_email: bool = False
    jira_search_includes_suspended: bool = False
    invite_returns_account_id: bool = True
    enable_ops_requires_member_admin: bool = True
    rate_limit: int = 0
    rate_window_s: int = 60

    role_assign_account_field: str = "accountId"
    role_assign_role_field: str = "roleName"
    caller_ops_admin: bool = True
    jsm_error_shape: str = "list"
    latency_ms: int = 0
    call_log_max: int = 100_000

    def __post_init__(self) -> None:
        self.validate()

    @property
    def jsm_resource(self) -> str:
        return jsm_resource(self.site_id)

    def validate(self) -> None:
        """Raise ValueError when a knob holds an unsupported value."""
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {list(allowed)}, got {getattr(self, name)!r}")
        for name in _NON_NEGATIVE:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in _NON_EMPTY:
            value = getattr(self, name)
            if not value or any(ch.isspace() for ch in value):
                raise ValueError(f"{name} must be non-empty without whitespace")
        if self.rate_window_s < 1 or self.call_log_max < 1:
            raise ValueError("rate_window_s and call_log_max must be positive")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view of every knob (``GET /__sim/config``)."""
        return dataclasses.asdict(self)

    def apply_changes(self, changes: Mapping[str, Any]) -> None:
        """Change knobs from a JSON object; all-or-nothing, ValueError on any bad name or value."""
        apply_changes(self, changes)

    def restore_defaults(self) -> None:
        """Every knob back to its default (the object stays the same, so the app keeps reading it)."""
        defaults = AtlassianSimConfig()
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(defaults, f.name))
