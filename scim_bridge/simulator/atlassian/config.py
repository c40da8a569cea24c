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
from scim_bridge.simulator.knobs import at_least
from scim_bridge.simulator.knobs import check_knobs
from scim_bridge.simulator.knobs import choice
from scim_bridge.simulator.knobs import token

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


@dataclass
class AtlassianSimConfig:
    """All knobs; mutable (``PATCH /__sim/config`` changes them on a live server)."""

    seed: str | None = None
    admin_email: str = token(ADMIN_EMAIL)
    api_token: str = token(API_TOKEN)
    admin_api_key: str = token(ADMIN_API_KEY)
    org_id: str = token(ORG_ID)
    cloud_id: str = token(CLOUD_ID)
    site_id: str = token(SITE_ID)

    enable_ops_delay_ms: int = at_least(0)
    enable_ops_transient_status: int = choice(404, 403, 422)
    duplicate_team_names: str = choice("allow", "reject")
    member_add_existing: str = choice("error", "ok")
    require_site_id: bool = False
    jira_hide_email: bool = False
    jira_search_includes_suspended: bool = False
    invite_returns_account_id: bool = True
    enable_ops_requires_member_admin: bool = True
    rate_limit: int = at_least(0)
    rate_window_s: int = at_least(1, 60)

    role_assign_account_field: str = token("accountId")
    role_assign_role_field: str = token("roleName")
    caller_ops_admin: bool = True
    jsm_error_shape: str = choice("list", "object")
    latency_ms: int = at_least(0)
    call_log_max: int = at_least(1, 100_000)

    def __post_init__(self) -> None:
        self.validate()

    @property
    def jsm_resource(self) -> str:
        return jsm_resource(self.site_id)

    def validate(self) -> None:
        """Raise ValueError when a knob holds an unsupported value."""
        check_knobs(self)

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
