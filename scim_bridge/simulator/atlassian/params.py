"""Reading query parameters, opaque cursors and JSON bodies; anything malformed is a 400."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from flask import Blueprint
from flask import g

from scim_bridge.simulator.atlassian.errors import ApiError
from scim_bridge.simulator.atlassian.errors import bad_request


def encode_cursor(kind: str, offset: int) -> str:
    """An opaque page cursor (the position, tagged with what it pages, so cursors do not mix)."""
    return base64.urlsafe_b64encode(f"{kind}:{offset}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, raw: str | None, *, name: str = "cursor") -> int:
    """The position a cursor of ``kind`` stands for; no cursor is the start."""
    if raw is None or raw == "":
        return 0
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_request(f"{name} is not a valid cursor") from None
    tag, _, position = text.partition(":")
    if tag != kind or not position.isdigit():
        raise bad_request(f"{name} is not a valid cursor")
    return int(position)


def int_param(args: Mapping[str, Any], name: str, default: int, low: int, high: int | None = None) -> int:
    """An integer query parameter (or body field) between ``low`` and ``high``."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise bad_request(f"{name} must be an integer")
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise bad_request(f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise bad_request(f"{name} must be {bounds}")
    return value


def string_field(body: Mapping[str, Any], name: str, *, required: bool = False, max_len: int = 0) -> str | None:
    """A string field: absent gives None (400 when required), a non-string or too long value is a 400."""
    value = body.get(name)
    if value is None:
        if required:
            raise bad_request(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a string")
    if required and not value.strip():
        raise bad_request(f"{name} must not be blank")
    if max_len and len(value) > max_len:
        raise bad_request(f"{name} must be at most {max_len} characters")
    return value


def string_list(body: Mapping[str, Any], name: str, *, required: bool = False) -> list[str]:
    """A list of non-empty strings (absent is an empty list unless required)."""
    value = body.get(name)
    if value is None:
        if required:
            raise bad_request(f"{name} is required")
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise bad_request(f"{name} must be a list of non-empty strings")
    return list(value)


def member_list(body: Mapping[str, Any]) -> list[str]:
    """``{"members": [{"accountId"}]}`` of members/add and members/remove: 1 to 50 unique items."""
    members = body.get("members")
    if not isinstance(members, list) or not members:
        raise bad_request("members must be a list of 1 to 50 items")
    if len(members) > 50:
        raise bad_request("members must not contain more than 50 items", code="TOO_MANY_MEMBERS")
    ids: list[str] = []
    for item in members:
        if not isinstance(item, dict) or not isinstance(item.get("accountId"), str) or not item["accountId"]:
            raise bad_request('each member must be an object {"accountId": "..."}')
        ids.append(item["accountId"])
    if len(set(ids)) != len(ids):
        raise bad_request("members must be unique")
    return ids


def request_body() -> dict[str, Any]:
    """The JSON object body the pipeline read (``{}`` when there was none)."""
    body = g.get("body")
    return body if isinstance(body, dict) else {}


def guard_path_value(bp: Blueprint, key: str, expected: Callable[[], str], refuse: Callable[[str], ApiError]) -> None:
    """Take ``key`` (an org or cloud id) out of the URL values of ``bp``'s routes, and answer
    ``refuse(value)`` when it is not ``expected()``; the check runs after authentication."""

    @bp.url_value_preprocessor
    def take(endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.path_value = (values or {}).pop(key, None)

    @bp.before_request
    def check() -> None:
        value = g.get("path_value")
        if value is not None and value != expected():
            raise refuse(str(value))


def guard_org(bp: Blueprint, org_id: Callable[[], str], code: str) -> None:
    """The ``org_id`` of ``bp``'s URLs must be the simulated organization's (``org_id()``); another is a 404
    with the error ``code`` of that API family."""
    guard_path_value(bp, "org_id", org_id, lambda org: ApiError(404, f"Organization {org} not found", code=code))
