"""Data loaded directly into the organization: the ``demo`` org and ``POST /__sim/seed`` bodies.

A seed body leaves the org as Atlassian's own OpsGenie-to-JSM migration would: accounts with JSM
access, teams with operations enabled and their members, custom roles::

    {"customRoles": [{"id"?, "name", "extendedRole"?, "grantedRights"?, "disallowedRights"?}],
     "accounts": [{"accountId"?, "email", "name"?, "status"?, "productRoles"?: [{"role", "resource"}],
                   "customRole"?: name}],
     "teams": [{"teamId"?, "displayName", "description"?, "teamType"?, "siteId"?, "opsEnabled"?,
                "members"?: [accountId or e-mail], "deleted"?}]}

An account without ``productRoles`` gets ``atlassian/user`` on the JSM resource; a team is ops-enabled
unless ``"opsEnabled": false``, its members are exactly those listed, and enable-ops has no waiting
window for it. The whole body is applied or, on any error, nothing.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING
from typing import Any

from scim_bridge.simulator.atlassian.errors import bad_request
from scim_bridge.simulator.atlassian.models import ACCOUNT_STATUSES
from scim_bridge.simulator.atlassian.models import TEAM_TYPES
from scim_bridge.simulator.atlassian.params import string_field
from scim_bridge.simulator.atlassian.params import string_list

if TYPE_CHECKING:
    from scim_bridge.simulator.atlassian.state import AtlassianState

LONG_AGO = float("-inf")

DEMO: dict[str, Any] = {
    "customRoles": [
        {
            "name": "Incident Commander",
            "grantedRights": ["manage-incidents", "edit-schedules", "send-stakeholder-updates"],
            "disallowedRights": ["delete-teams"],
        }
    ],
    "accounts": [
        {"email": "alex.morgan@example.com", "name": "Alex Morgan"},
        {"email": "priya.shah@example.com", "name": "Priya Shah"},
        {"email": "mei.chen@example.com", "name": "Mei Chen"},
        {"email": "sara.nilsson@example.com", "name": "Sara Nilsson", "customRole": "Incident Commander"},
        {"email": "jonas.berg@example.com", "name": "Jonas Berg", "productRoles": "stakeholder"},
    ],
    "teams": [
        {
            "displayName": "Platform SRE",
            "description": "Keeps the platform up",
            "members": ["alex.morgan@example.com", "mei.chen@example.com", "priya.shah@example.com"],
        },
        {
            "displayName": "Payments",
            "description": "Payment services on-call",
            "members": ["mei.chen@example.com", "sara.nilsson@example.com"],
        },
    ],
}


def seed_demo(state: AtlassianState) -> None:
    """Five accounts with JSM access (one a stakeholder, one an Incident Commander), two ops-enabled
    teams and one custom role, besides the calling account."""
    body = copy.deepcopy(DEMO)
    stakeholder = body["accounts"][4]
    stakeholder["productRoles"] = [{"role": "atlassian/stakeholder", "resource": state.config.jsm_resource}]
    apply_seed(state, body)


def apply_seed(state: AtlassianState, body: dict[str, Any]) -> dict[str, Any]:
    """Load ``body`` (see the module doc); returns what was made, in the ``/__sim/state`` shape."""
    made = state.atomically(lambda: _load(state, body))
    dump = state.dump()
    return {key: [item for item in dump[key] if _id(item) in made[key]] for key in dump}


def _id(item: dict[str, Any]) -> str:
    return str(item.get("accountId") or item.get("teamId") or item.get("id"))


def _items(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    items = body.get(name, [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise bad_request(f"{name} must be a list of objects")
    return items


def _load(state: AtlassianState, body: dict[str, Any]) -> dict[str, set[str]]:
    unknown = set(body) - {"accounts", "teams", "customRoles"}
    if unknown:
        raise bad_request(f"unknown seed keys {sorted(unknown)}")
    made: dict[str, set[str]] = {"accounts": set(), "teams": set(), "customRoles": set()}
    for item in _items(body, "customRoles"):
        role = state.create_role(
            str(string_field(item, "name", required=True)),
            string_list(item, "grantedRights"),
            string_list(item, "disallowedRights"),
            str(string_field(item, "extendedRole") or "user"),
            role_id=string_field(item, "id"),
        )
        made["customRoles"].add(role.id)
    for item in _items(body, "accounts"):
        made["accounts"].add(_load_account(state, item))
    for item in _items(body, "teams"):
        made["teams"].add(_load_team(state, item))
    return made


def _load_account(state: AtlassianState, item: dict[str, Any]) -> str:
    email = str(string_field(item, "email", required=True))
    status = string_field(item, "status") or "active"
    if status not in ACCOUNT_STATUSES:
        raise bad_request(f"status must be one of {list(ACCOUNT_STATUSES)}")
    raw_roles = item.get("productRoles")
    if raw_roles is None:
        rules = [("atlassian/user", state.config.jsm_resource)]
    elif isinstance(raw_roles, list) and all(isinstance(r, dict) for r in raw_roles):
        rules = [state.check_permission_rule(r.get("role"), r.get("resource")) for r in raw_roles]
    else:
        raise bad_request("productRoles must be a list of {role, resource} objects")
    role_name = string_field(item, "customRole")
    role_id = state.get_role(role_name, "name").id if role_name else None
    account = state.add_account(
        email,
        string_field(item, "name"),
        product_roles=list(dict.fromkeys(rules)),
        account_id=string_field(item, "accountId"),
        status=status,
        custom_role_id=role_id,
    )
    return account.account_id


def _load_team(state: AtlassianState, item: dict[str, Any]) -> str:
    team_type = string_field(item, "teamType") or "MEMBER_INVITE"
    if team_type not in TEAM_TYPES:
        raise bad_request(f"teamType must be one of {list(TEAM_TYPES)}")
    members: list[str] = []
    for ref in string_list(item, "members"):
        account = state.find_account(ref)
        if account is None:
            raise bad_request(f"team member {ref!r} is not an account")
        if account.account_id not in members:
            members.append(account.account_id)
    for flag in ("opsEnabled", "deleted"):
        if not isinstance(item.get(flag, False), bool):
            raise bad_request(f"{flag} must be a boolean")
    team = state.create_team(
        str(string_field(item, "displayName", required=True, max_len=250)),
        string_field(item, "description", max_len=360) or "",
        team_type,
        string_field(item, "siteId") or state.config.site_id,
        team_id=string_field(item, "teamId"),
        created_at=LONG_AGO,
    )
    team.members = members
    team.ops_enabled = item.get("opsEnabled", True)
    team.ops_admins = members[:1] if team.ops_enabled else []
    team.deleted = item.get("deleted", False)
    return team.team_id
