"""The records of the simulated organization: accounts, Atlassian Teams and JSM Operations custom roles."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from scim_bridge.simulator.models import Role

ACCOUNT_STATUSES = ("active", "suspended", "removed")

PRODUCT_ROLES = (
    "atlassian/org-admin",
    "atlassian/site-admin",
    "atlassian/user-access-admin",
    "atlassian/user",
    "atlassian/admin",
    "atlassian/guest",
    "atlassian/customer",
    "atlassian/contributor",
    "atlassian/basic",
    "atlassian/stakeholder",
)
"""Roles ``roles/assign`` and invite permission rules accept (contract notes 4.5)."""

TEAM_TYPES = ("OPEN", "MEMBER_INVITE", "EXTERNAL", "ORG_ADMIN_MANAGED")
EXTENDED_ROLES = ("user", "observer")


@dataclass
class Account:
    account_id: str
    email: str
    name: str
    status: str = "active"
    product_roles: list[tuple[str, str]] = field(default_factory=list)  # (role, resource), in grant order
    custom_role_id: str | None = None
    time_zone: str = "Etc/UTC"
    locale: str = "en_US"

    @property
    def nickname(self) -> str:
        return self.email.split("@", 1)[0]

    def avatar(self) -> str:
        return f"https://avatar.example.com/{self.account_id}.png"

    def directory_json(self) -> dict[str, Any]:
        """An item of the org directory search (contract notes 4.1) plus the ``status`` field."""
        return {
            "accountId": self.account_id,
            "accountType": "atlassian",
            "accountStatus": "active",
            "status": self.status,
            "name": self.name,
            "nickname": self.nickname,
            "email": self.email,
            "picture": self.avatar(),
            "avatar": self.avatar(),
        }

    def jira_json(self, base_url: str, *, hide_email: bool) -> dict[str, Any]:
        """A Jira user (``/rest/api/3/user/search`` item and ``/rest/api/3/user``)."""
        body: dict[str, Any] = {
            "self": f"{base_url}/rest/api/3/user?accountId={self.account_id}",
            "accountId": self.account_id,
            "accountType": "atlassian",
        }
        if not hide_email:
            body["emailAddress"] = self.email
        body.update(
            {
                "displayName": self.name,
                "active": self.status == "active",
                "timeZone": self.time_zone,
                "locale": self.locale,
                "avatarUrls": {size: self.avatar() for size in ("48x48", "24x24", "16x16", "32x32")},
            }
        )
        return body


@dataclass
class Team:
    team_id: str
    display_name: str
    description: str
    team_type: str
    site_id: str | None
    creator_id: str
    created_at: float  # on the simulator's clock
    members: list[str] = field(default_factory=list)
    ops_enabled: bool = False
    ops_admins: list[str] = field(default_factory=list)
    deleted: bool = False

    def to_json(self, org_id: str, *, with_members: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "teamId": self.team_id,
            "displayName": self.display_name,
            "description": self.description,
            "organizationId": org_id,
            "teamType": self.team_type,
            "state": "ACTIVE",
            "creatorId": self.creator_id,
        }
        if self.site_id is not None:
            body["siteId"] = self.site_id
        if with_members:
            body["members"] = [{"accountId": member} for member in self.members]
        body["userPermissions"] = {
            "ADD_MEMBERS": True,
            "REMOVE_MEMBERS": True,
            "UPDATE_TEAM": True,
            "DELETE_TEAM": True,
        }
        return body


@dataclass
class CustomRole(Role):
    """A JSM Operations custom role: the OpsGenie user-role record and JSON shape, extending ``user`` unless
    told otherwise."""

    extended_role: str = "user"
