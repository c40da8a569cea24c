"""Names and ids of role groups, which must never collide with OpsGenie teams."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

ROLE_PREFIX = "role:"
ROLE_ID_PREFIX = "role-"
ALIAS_ID_PREFIX = ROLE_ID_PREFIX + "alias-"


def role_group_id(role_name: str) -> str:
    """A stable id for a role group; team ids are UUIDs, so the prefix keeps them apart."""
    slug = re.sub(r"[^a-z0-9]+", "-", role_name.lower()).strip("-")
    return ROLE_ID_PREFIX + (slug or "role")


def role_group_name(role_name: str) -> str:
    return ROLE_PREFIX + role_name


def is_role_group_id(group_id: str) -> bool:
    return group_id.startswith(ROLE_ID_PREFIX)


def alias_group_id(alias: str) -> str:
    """The id of the role group alias named ``alias`` (SCIM_BRIDGE_ROLE_GROUPS)."""
    return ALIAS_ID_PREFIX + re.sub(r"[^a-z0-9]+", "-", alias.lower()).strip("-")


def with_role_aliases(user: dict[str, Any], aliases: Mapping[str, str]) -> dict[str, Any]:
    """``user`` whose ``groups`` also list the aliases of its role group: a user holding a role is a member
    of each alias of that role (the alias's ``members`` list it), which may be the group its IdP manages."""
    groups = user.get("groups")
    if not aliases or not isinstance(groups, list):
        return user
    extra: list[dict[str, Any]] = []
    for group in groups:
        display = group.get("display") if isinstance(group, dict) else None
        if not isinstance(display, str) or not display.startswith(ROLE_PREFIX):
            continue
        role = display[len(ROLE_PREFIX):].lower()
        for alias, target in sorted(aliases.items()):
            if target.lower() == role:
                ref = str(group.get("$ref", ""))
                extra.append({**group, "value": alias_group_id(alias), "display": alias,
                              "$ref": ref[: ref.rfind("/") + 1] + alias_group_id(alias) if ref else ref})
    return {**user, "groups": [*groups, *extra]} if extra else user
