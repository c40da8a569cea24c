"""Entities of the simulated OpsGenie account and their JSON shapes on the wire."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from dataclasses import field
from typing import Any

BUILTIN_ROLE_NAMES: tuple[str, ...] = ("Owner", "Admin", "User", "Stakeholder", "Observer")
CUSTOM_ROLE_BASES: tuple[str, ...] = ("user", "observer", "stakeholder")
CONTACT_METHODS: tuple[str, ...] = ("email", "sms", "voice")
TEAM_ROLES: tuple[str, ...] = ("user", "admin")
ADDRESS_KEYS: tuple[str, ...] = ("country", "state", "city", "line", "zipCode")

_ROLE_NAMESPACE = uuid.UUID("5b0f3a52-8c57-4c43-9f38-0e6d2a1c7b11")


def builtin_role_id(name: str) -> str:
    """Stable id of a built-in role: the same in every run and every simulator."""
    return str(uuid.uuid5(_ROLE_NAMESPACE, name.lower()))


@dataclass
class Role:
    """A user role: one of the built-ins, or a custom role extending user/observer/stakeholder."""

    id: str
    name: str
    extended_role: str
    granted_rights: list[str] = field(default_factory=list)
    disallowed_rights: list[str] = field(default_factory=list)
    builtin: bool = False

    def ref(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name}

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "extendedRole": self.extended_role,
            "grantedRights": list(self.granted_rights),
            "disallowedRights": list(self.disallowed_rights),
        }


def builtin_roles() -> list[Role]:
    return [
        Role(id=builtin_role_id(name), name=name, extended_role=name.lower(), builtin=True)
        for name in BUILTIN_ROLE_NAMES
    ]


@dataclass
class Contact:
    """A notification contact of a user (method email, sms or voice)."""

    id: str
    method: str
    to: str
    enabled: bool = True
    disabled_reason: str = ""

    def status(self) -> dict[str, Any]:
        """Whether notifications go to this contact, and why not."""
        return {"enabled": self.enabled, "disabledReason": self.disabled_reason}

    def to_api(self, apply_order: int) -> dict[str, Any]:
        """Shape of the Contact API (``method`` plus a ``status`` object)."""
        return {"id": self.id, "method": self.method, "to": self.to, "status": self.status(), "applyOrder": apply_order}

    def to_user_contact(self) -> dict[str, Any]:
        """Shape inside ``userContacts`` of ``GET /v2/users/{id}?expand=contact``: the status fields inline."""
        return {"id": self.id, "to": self.to, "contactMethod": self.method, **self.status()}


def empty_address() -> dict[str, str]:
    return dict.fromkeys(ADDRESS_KEYS, "")


@dataclass
class User:
    """An OpsGenie user. ``seq`` is the creation order, used to break sort ties."""

    id: str
    username: str
    full_name: str
    role_id: str
    created_at: str
    seq: int
    time_zone: str
    locale: str
    skype_username: str = ""
    user_address: dict[str, str] = field(default_factory=empty_address)
    tags: list[str] = field(default_factory=list)
    details: dict[str, list[str]] = field(default_factory=dict)
    blocked: bool = False
    verified: bool = False
    invitation_disabled: bool = False
    contacts: list[Contact] = field(default_factory=list)

    def to_json(self, role: Role, *, with_contacts: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "username": self.username,
            "fullName": self.full_name,
            "role": role.ref(),
            "skypeUsername": self.skype_username,
            "timeZone": self.time_zone,
            "locale": self.locale,
            "userAddress": dict(self.user_address),
            "tags": list(self.tags),
            "details": {k: list(v) for k, v in self.details.items()},
            "blocked": self.blocked,
            "verified": self.verified,
            "createdAt": self.created_at,
        }
        if with_contacts:
            body["userContacts"] = [c.to_user_contact() for c in self.contacts]
        return body


@dataclass
class Team:
    """A team; ``members`` maps user id to team role, in insertion order."""

    id: str
    name: str
    description: str = ""
    members: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "description": self.description}
