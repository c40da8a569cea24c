"""What the JSM Operations directory's user and team halves share: error translation and the role table."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from scim_bridge.atlassian import errors as at
from scim_bridge.config import JSM_SUSPENDED_ROLE
from scim_bridge.directory import errors as d

T = TypeVar("T")
UPSTREAM = "Atlassian"

USER_ROLE = "atlassian/user"
STAKEHOLDER_ROLE = "atlassian/stakeholder"
# Bridge role name (lower case) -> the JSM product role that carries it; custom roles ride on atlassian/user.
PRODUCT_ROLES = {"user": USER_ROLE, "stakeholder": STAKEHOLDER_ROLE, "admin": USER_ROLE, "owner": USER_ROLE}
# Roles no API grants or takes away: the Operations global admin and the account owner.
READ_ONLY_ROLES = ("owner", "admin")
NO_ACCESS = JSM_SUSPENDED_ROLE
READ_ONLY_REASON = ("JSM Operations has no API to grant or take away the {role} role (Operations global admin "
                    "is given in Atlassian's admin UI only)")


def product_role(role: str) -> str | None:
    """The JSM product role a bridge role needs; None for the no-access role of a suspended user."""
    if role.lower() == NO_ACCESS.lower():
        return None
    return PRODUCT_ROLES.get(role.lower(), USER_ROLE)


def is_custom(role: str) -> bool:
    return role.lower() not in PRODUCT_ROLES and role.lower() != NO_ACCESS.lower()


def read_only(role: str) -> d.ReadOnlyError:
    return d.ReadOnlyError(READ_ONLY_REASON.format(role=role), status=400, upstream=UPSTREAM)


def translate(exc: at.UpstreamError) -> d.DirectoryError:
    """The directory error for an error of the Atlassian client (the server's hint: ``Retry-After``)."""
    return d.from_upstream(exc, upstream=UPSTREAM, retry_after=exc.header_seconds("Retry-After"))


def call(fn: Callable[[], T]) -> T:
    """Run one client call, its Atlassian errors turned into directory errors."""
    try:
        return fn()
    except at.AtlassianError as exc:
        raise translate(exc) from exc
