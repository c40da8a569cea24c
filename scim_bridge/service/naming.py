"""Names and ids of role groups, which must never collide with OpsGenie teams."""

from __future__ import annotations

import re

ROLE_PREFIX = "role:"
ROLE_ID_PREFIX = "role-"


def role_group_id(role_name: str) -> str:
    """A stable id for a role group; team ids are UUIDs, so the prefix keeps them apart."""
    slug = re.sub(r"[^a-z0-9]+", "-", role_name.lower()).strip("-")
    return ROLE_ID_PREFIX + (slug or "role")


def role_group_name(role_name: str) -> str:
    return ROLE_PREFIX + role_name


def is_role_group_id(group_id: str) -> bool:
    return group_id.startswith(ROLE_ID_PREFIX)
