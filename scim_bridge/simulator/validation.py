"""Field checks of request bodies, the 422 rules of OpsGenie.

Each ``check_*`` function returns the cleaned values (only keys present in the body) and collects
problems in an ``errors`` map keyed by the OpsGenie field name.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from scim_bridge.simulator.errors import invalid
from scim_bridge.simulator.models import ADDRESS_KEYS
from scim_bridge.simulator.models import CONTACT_METHODS
from scim_bridge.simulator.models import CUSTOM_ROLE_BASES

EMAIL_RE = re.compile(r"^[^@\s\"'<>(),;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
PHONE_RE = re.compile(r"^\d{1,4}-\d{1,20}$")
TEAM_NAME_RE = re.compile(r"^[A-Za-z0-9 _.-]+$")
LOCALE_RE = re.compile(r"^[a-z]{2,3}(?:[_-][A-Z]{2})?$")

BodyCheck = Callable[..., tuple[dict[str, Any], dict[str, str]]]

USERNAME_MAX = 100
FULL_NAME_MAX = 512
TEAM_NAME_MAX = 100
TEAM_DESCRIPTION_MAX = 200
ROLE_NAME_MAX = 100
CONTACT_TO_MAX = 512


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_email(value: str) -> bool:
    return bool(EMAIL_RE.match(value))


def checked(check: BodyCheck, body: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """The values ``check`` cleans from ``body``; a 422 naming every problem when it found any."""
    values, errors = check(body, partial=partial)
    if errors:
        raise invalid(errors)
    return values


def _string(body: Mapping[str, Any], key: str, errors: dict[str, str]) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        errors[key] = f"{key} must be a string"
        return None
    return value


def _required_text(
    body: Mapping[str, Any], key: str, label: str, limit: int, errors: dict[str, str], *, partial: bool
) -> str | None:
    """``key`` as a string that is not blank and at most ``limit`` long, else None with the error noted.

    A PATCH (``partial``) may leave the key out; a create may not, and neither may send it blank.
    """
    value = _string(body, key, errors)
    if value is None or not value.strip():
        if not partial or key in body:
            errors.setdefault(key, f"{label} is required")
        return None
    if len(value) > limit:
        errors[key] = f"{label} must be at most {limit} characters"
        return None
    return value


def _string_set(body: Mapping[str, Any], key: str, out: dict[str, Any], errors: dict[str, str]) -> None:
    """A list of strings under ``key``, if given: into ``out`` without repeats, in its order."""
    if body.get(key) is None:
        return
    values = body[key]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        errors[key] = f"{key} must be a list of strings"
    else:
        out[key] = list(dict.fromkeys(values))


def check_role_ref(value: Any, errors: dict[str, str]) -> dict[str, str] | None:
    """``role`` is an object ``{"name": ...}`` and/or ``{"id": ...}`` (a bare string is refused)."""
    if not isinstance(value, dict) or not (value.get("name") or value.get("id")):
        errors["role"] = "Role should be an object with a name or an id"
        return None
    return {k: str(value[k]) for k in ("id", "name") if value.get(k)}


def check_user_body(body: Mapping[str, Any], *, partial: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate a create (``partial=False``) or PATCH (``partial=True``) user body."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}

    username = _required_text(body, "username", "Username", USERNAME_MAX, errors, partial=partial)
    if username is not None and not is_email(username.strip()):
        errors["username"] = "Username should be a valid email address"
    elif username is not None:
        out["username"] = username.strip().lower()

    full_name = _required_text(body, "fullName", "Full name", FULL_NAME_MAX, errors, partial=partial)
    if full_name is not None:
        out["fullName"] = full_name.strip()

    if body.get("role") is None:
        if not partial or "role" in body:
            errors["role"] = "Role is required"
    else:
        role = check_role_ref(body["role"], errors)
        if role is not None:
            out["role"] = role

    _check_optional_user_fields(body, out, errors)
    return out, errors


def _check_optional_user_fields(body: Mapping[str, Any], out: dict[str, Any], errors: dict[str, str]) -> None:
    skype = _string(body, "skypeUsername", errors)
    if skype is not None:
        out["skypeUsername"] = skype
    time_zone = _string(body, "timeZone", errors)
    if time_zone is not None:
        if time_zone not in _time_zones():
            errors["timeZone"] = f"Time zone [{time_zone}] is not valid"
        else:
            out["timeZone"] = time_zone
    locale = _string(body, "locale", errors)
    if locale is not None:
        if not LOCALE_RE.match(locale):
            errors["locale"] = f"Locale [{locale}] is not valid"
        else:
            out["locale"] = locale
    if body.get("userAddress") is not None:
        address = body["userAddress"]
        if not isinstance(address, dict) or not all(
            isinstance(address.get(k, ""), str) for k in ADDRESS_KEYS
        ):
            errors["userAddress"] = "userAddress must be an object of strings"
        else:
            out["userAddress"] = {k: address.get(k) or "" for k in ADDRESS_KEYS}
    _string_set(body, "tags", out, errors)
    if body.get("details") is not None:
        details = body["details"]
        if not isinstance(details, dict) or not all(
            isinstance(v, list) and all(isinstance(s, str) for s in v) for v in details.values()
        ):
            errors["details"] = "details must be an object of string -> list of strings"
        else:
            out["details"] = {str(k): list(v) for k, v in details.items()}
    if body.get("invitationDisabled") is not None:
        flag = body["invitationDisabled"]
        if isinstance(flag, str) and flag.lower() in ("true", "false"):
            flag = flag.lower() == "true"  # the Go SDK sends this flag as a string
        if not isinstance(flag, bool):
            errors["invitationDisabled"] = "invitationDisabled must be a boolean"
        else:
            out["invitationDisabled"] = flag


def check_member_ref(value: Any) -> dict[str, str] | None:
    """``user`` of a team member: ``{"id"}`` and/or ``{"username"}``."""
    if not isinstance(value, dict):
        return None
    ref = {k: str(value[k]) for k in ("id", "username") if isinstance(value.get(k), str) and value[k]}
    return ref or None


def check_team_body(body: Mapping[str, Any], *, partial: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate a team create or PATCH body. ``members`` come back as ``[(user_ref, role|None)]``."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    name = _required_text(body, "name", "Name", TEAM_NAME_MAX, errors, partial=partial)
    if name is not None and not TEAM_NAME_RE.match(name):
        errors["name"] = "Name may contain only letters, digits, spaces, '_', '.' and '-'"
    elif name is not None:
        out["name"] = name
    description = _string(body, "description", errors)
    if description is not None:
        if len(description) > TEAM_DESCRIPTION_MAX:
            errors["description"] = f"Description must be at most {TEAM_DESCRIPTION_MAX} characters"
        else:
            out["description"] = description
    if body.get("members") is not None:
        members = check_members(body["members"], errors)
        if members is not None:
            out["members"] = members
    return out, errors


def check_members(value: Any, errors: dict[str, str]) -> list[tuple[dict[str, str], str | None]] | None:
    if not isinstance(value, list):
        errors["members"] = "members must be a list"
        return None
    members: list[tuple[dict[str, str], str | None]] = []
    for index, item in enumerate(value):
        ref = check_member_ref(item.get("user")) if isinstance(item, dict) else None
        if ref is None:
            errors[f"members[{index}].user"] = "Member user should have an id or a username"
            continue
        role = check_team_role(item.get("role"), errors, f"members[{index}].role")
        members.append((ref, role))
    return members


def check_team_role(value: Any, errors: dict[str, str], key: str = "role") -> str | None:
    """Team roles are ``user`` or ``admin`` (case-insensitive); None means "not given"."""
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in ("user", "admin"):
        errors[key] = "Team member role must be one of [user, admin]"
        return None
    return value.lower()


def check_role_body(body: Mapping[str, Any], *, partial: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate a custom user role body (create, or PUT update when ``partial``)."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    name = _required_text(body, "name", "Name", ROLE_NAME_MAX, errors, partial=partial)
    if name is not None:
        out["name"] = name.strip()
    extended = _string(body, "extendedRole", errors)
    if extended is not None:
        if extended.lower() not in CUSTOM_ROLE_BASES:
            errors["extendedRole"] = f"extendedRole must be one of {list(CUSTOM_ROLE_BASES)}"
        else:
            out["extendedRole"] = extended.lower()
    for key in ("grantedRights", "disallowedRights"):
        _string_set(body, key, out, errors)
    return out, errors


def check_contact_to(method: str, to: Any, errors: dict[str, str]) -> str | None:
    """``to`` is an e-mail for ``email`` and ``<countryCode>-<number>`` for sms and voice."""
    if not isinstance(to, str) or not to.strip():
        errors["to"] = "To is required"
        return None
    value = to.strip()
    if len(value) > CONTACT_TO_MAX:
        errors["to"] = f"To must be at most {CONTACT_TO_MAX} characters"
    elif method == "email" and not is_email(value):
        errors["to"] = "To should be a valid email address"
    elif method in ("sms", "voice") and not PHONE_RE.match(value):
        errors["to"] = "To should be a phone number like <countryCode>-<number>, e.g. 1-5551234567"
    else:
        return value
    return None


def check_contact_method(method: Any, errors: dict[str, str]) -> str | None:
    if not isinstance(method, str) or not method:
        errors["method"] = "Method is required"
        return None
    if method.lower() == "mobile":
        errors["method"] = "Mobile contacts can only be created from the mobile application"
        return None
    if method.lower() not in CONTACT_METHODS:
        errors["method"] = f"Method must be one of {list(CONTACT_METHODS)}"
        return None
    return method.lower()
