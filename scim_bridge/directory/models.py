"""Upstream-neutral records that the service layer maps to and from SCIM resources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from typing import Any

BUILTIN_ROLES = ("Owner", "Admin", "User", "Stakeholder", "Observer")


@dataclass(frozen=True)
class Address:
    country: str = ""
    state: str = ""
    city: str = ""
    line: str = ""
    zip_code: str = ""

    def is_empty(self) -> bool:
        return not any((self.country, self.state, self.city, self.line, self.zip_code))

    @classmethod
    def read(cls, raw: Mapping[str, Any] | None, keys: Mapping[str, str]) -> Address:
        """The address in the JSON object ``raw`` whose key for each field ``keys`` gives (field -> key); a value
        that is missing or empty reads as ""."""
        return cls(**{name: str((raw or {}).get(key) or "") for name, key in keys.items()})

    def write(self, keys: Mapping[str, str]) -> dict[str, str]:
        """This address as a JSON object with the key ``keys`` gives for each field, in that order."""
        return {key: getattr(self, name) for name, key in keys.items()}


@dataclass(frozen=True)
class Contact:
    """A notification contact: method is "email", "sms", "voice" or "mobile"."""

    id: str
    method: str
    to: str
    enabled: bool = True


def _plain(record: Any) -> dict[str, Any]:
    """The fields of a dataclass instance by name, in order, their values as they are (not copied)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


@dataclass(frozen=True)
class DirectoryUser:
    id: str
    username: str
    full_name: str
    role: str
    role_id: str | None = None
    skype_username: str = ""
    time_zone: str = ""
    locale: str = ""
    address: Address | None = None
    tags: tuple[str, ...] = ()
    details: dict[str, list[str]] = field(default_factory=dict)
    blocked: bool = False
    verified: bool = False
    created_at: str | None = None
    # None when the upstream call that produced this record did not include contacts.
    contacts: tuple[Contact, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        """Every field, the address and contacts as objects, the sequences as lists (the JSON the store keeps)."""
        data = _plain(self)  # as dataclasses.asdict gives it, without its deep copy of every value
        data["address"] = None if self.address is None else _plain(self.address)
        data["tags"] = list(self.tags)
        data["details"] = {k: list(v) for k, v in self.details.items()}
        data["contacts"] = None if self.contacts is None else [_plain(contact) for contact in self.contacts]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DirectoryUser:
        address = data.get("address")
        contacts = data.get("contacts")
        return cls(
            id=data["id"],
            username=data["username"],
            full_name=data.get("full_name", ""),
            role=data.get("role", "User"),
            role_id=data.get("role_id"),
            skype_username=data.get("skype_username", ""),
            time_zone=data.get("time_zone", ""),
            locale=data.get("locale", ""),
            address=None if address is None else Address(**address),
            tags=tuple(data.get("tags", ())),
            details={k: list(v) for k, v in (data.get("details") or {}).items()},
            blocked=bool(data.get("blocked", False)),
            verified=bool(data.get("verified", False)),
            created_at=data.get("created_at"),
            contacts=None if contacts is None else tuple(Contact(**c) for c in contacts),
        )


@dataclass(frozen=True)
class UserFields:
    """Writable user fields. On update, a field left as None is not sent (it keeps its value)."""

    username: str | None = None
    full_name: str | None = None
    role: str | None = None
    skype_username: str | None = None
    time_zone: str | None = None
    locale: str | None = None
    address: Address | None = None
    tags: tuple[str, ...] | None = None
    details: dict[str, list[str]] | None = None
    invitation_disabled: bool | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in self.__dataclass_fields__)


@dataclass(frozen=True)
class TeamMember:
    user_id: str
    username: str = ""
    role: str = "user"


@dataclass(frozen=True)
class TeamChange:
    """A partial team update: a field left as None keeps its value; ``members`` replaces the whole roster."""

    name: str | None = None
    description: str | None = None
    members: list[TeamMember] | None = None

    def is_empty(self) -> bool:
        return self.name is None and self.description is None and self.members is None


@dataclass(frozen=True)
class DirectoryTeam:
    id: str
    name: str
    description: str = ""
    # None when the upstream call that produced this record did not include members.
    members: tuple[TeamMember, ...] | None = None


@dataclass(frozen=True)
class DirectoryRole:
    id: str
    name: str
    builtin: bool = False
    extended_role: str = ""


@dataclass(frozen=True)
class TeamRef:
    id: str
    name: str
