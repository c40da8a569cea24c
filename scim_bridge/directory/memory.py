"""MemoryDirectory: the Directory protocol on plain Python state, with no upstream and no HTTP.

It keeps the rules the OpsGenie directory shows through the protocol, so a service or a test sees the same
results and the same errors (``scim_bridge.directory.errors``):

- ids are UUIDs; a user is found by id or by username, case-insensitively; usernames are e-mail addresses,
  stored in lower case and unique (a second one is a ``ConflictError``), team names are unique ignoring case;
- a user's role is a built-in role (Owner, Admin, User, Stakeholder, Observer) or a custom one added with
  :meth:`MemoryDirectory.add_role`; an unknown role is an ``InvalidError`` on ``role``; the account owner (the
  first user given the Owner role) can be neither deleted nor demoted (``ForbiddenError``);
- team members have the team role ``user`` or ``admin``; adding a member twice and removing a non-member
  succeed; a deleted user leaves its teams;
- contacts are ``email``, ``sms`` or ``voice`` (``mobile`` is made by the mobile app only); a new user gets its
  e-mail contact, as in OpsGenie;
- users are listed 100 to a page, sorted by username (:class:`scim_bridge.directory.base.PagedUsers`);
- a user always has an address (empty until set), a time zone and a locale (the account's defaults).

All methods are thread-safe. Nothing is persisted: the state lives as long as the object.
"""

from __future__ import annotations

import re
import threading
import uuid
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from functools import lru_cache

from scim_bridge.directory import errors as d
from scim_bridge.directory.base import TeamUpdates
from scim_bridge.directory.base import UserPage
from scim_bridge.directory.models import BUILTIN_ROLES
from scim_bridge.directory.models import Address
from scim_bridge.directory.models import Contact
from scim_bridge.directory.models import DirectoryRole
from scim_bridge.directory.models import DirectoryTeam
from scim_bridge.directory.models import DirectoryUser
from scim_bridge.directory.models import TeamChange
from scim_bridge.directory.models import TeamMember
from scim_bridge.directory.models import TeamRef
from scim_bridge.directory.models import UserFields

UPSTREAM = "in-process directory"
PAGE_SIZE = 100
CONTACT_METHODS = ("email", "sms", "voice")
TEAM_ROLES = ("user", "admin")
CUSTOM_ROLE_BASES = ("user", "observer", "stakeholder")
EMAIL_RE = re.compile(r"^[^@\s\"'<>(),;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
PHONE_RE = re.compile(r"^\d{1,4}-\d{1,20}$")
TEAM_NAME_RE = re.compile(r"^[A-Za-z0-9 _.-]{1,100}$")
LOCALE_RE = re.compile(r"^[a-z]{2,3}(?:[_-][A-Z]{2})?$")
DEFAULT_TIME_ZONE = "America/New_York"
DEFAULT_LOCALE = "en_US"


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def invalid(field_name: str, message: str) -> d.InvalidError:
    return d.InvalidError(message, status=422, field_errors={field_name: message}, upstream=UPSTREAM)


def not_found(what: str) -> d.NotFoundError:
    return d.NotFoundError(f"{what} does not exist", status=404, upstream=UPSTREAM)


@dataclass
class StoredTeam:
    id: str
    name: str
    description: str = ""
    members: dict[str, str] = field(default_factory=dict)  # user id -> team role, in joining order


class MemoryDirectory(TeamUpdates):
    """An in-process implementation of :class:`scim_bridge.directory.base.Directory` (and ``PagedUsers``)."""

    def __init__(self, *, time_zone: str = DEFAULT_TIME_ZONE, locale: str = DEFAULT_LOCALE) -> None:
        self._lock = threading.RLock()
        self._users: dict[str, DirectoryUser] = {}
        self._usernames: dict[str, str] = {}  # lower-case username -> id
        self._teams: dict[str, StoredTeam] = {}
        self._roles: dict[str, DirectoryRole] = {
            role.id: role for role in (DirectoryRole(new_id(), name, builtin=True) for name in BUILTIN_ROLES)
        }
        self._owner_id: str | None = None
        self._time_zone = time_zone
        self._locale = locale

    # --- users ------------------------------------------------------------------------------
    def get_user(self, identifier: str, *, with_contacts: bool = True) -> DirectoryUser:
        with self._lock:
            user = self._user(identifier)
        return user if with_contacts else replace(user, contacts=None)

    def iter_users(self) -> Iterator[DirectoryUser]:
        for page in self.user_pages():
            yield from page.users

    def user_pages(self, offset: int = 0) -> Iterator[UserPage]:
        """Pages of 100 users sorted by username, from ``offset`` on; each page reads the state anew."""
        next_offset: int | None = max(0, offset)
        while next_offset is not None:
            at = next_offset
            with self._lock:
                ordered = sorted(self._users.values(), key=lambda u: u.username)
            page = [replace(u, contacts=None) for u in ordered[at:at + PAGE_SIZE]]
            next_offset = at + PAGE_SIZE if at + PAGE_SIZE < len(ordered) else None
            yield UserPage(page, at, next_offset, len(ordered))

    def create_user(self, fields: UserFields) -> str:
        if not (fields.username and fields.full_name and fields.role):
            raise d.InvalidError("username, full_name and role are required to create a user", upstream=UPSTREAM)
        check_user_fields(fields)
        username = fields.username.strip().lower()
        with self._lock:
            role = self._role(fields.role)
            if username in self._usernames:
                raise d.ConflictError(f"user {username!r} already exists", status=409, upstream=UPSTREAM)
            user = DirectoryUser(
                id=new_id(), username=username, full_name=fields.full_name.strip(), role=role.name,
                role_id=role.id, time_zone=self._time_zone, locale=self._locale, address=Address(),
                created_at=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                contacts=(Contact(id=new_id(), method="email", to=username),),
            )
            self._users[user.id] = apply_fields(user, replace(fields, username=None, role=None))
            self._usernames[username] = user.id
            if self._owner_id is None and role.name == "Owner":
                self._owner_id = user.id
            return user.id

    def update_user(self, user_id: str, fields: UserFields) -> None:
        if fields.is_empty():
            return
        check_user_fields(fields)
        with self._lock:
            user = self._user(user_id)
            username = fields.username.strip().lower() if fields.username is not None else user.username
            if username != user.username and username in self._usernames:
                raise d.ConflictError(f"user {username!r} already exists", status=409, upstream=UPSTREAM)
            role = self._role(fields.role) if fields.role is not None else None
            if role is not None and role.id != user.role_id and user.id == self._owner_id:
                raise d.ForbiddenError("The account owner's role cannot be changed", status=403, upstream=UPSTREAM)
            updated = apply_fields(user, replace(fields, username=None, role=None))
            if role is not None:
                updated = replace(updated, role=role.name, role_id=role.id)
            if username != user.username:
                del self._usernames[user.username]
                self._usernames[username] = user.id
                updated = replace(updated, username=username)
            self._users[user.id] = updated

    def delete_user(self, user_id: str) -> None:
        with self._lock:
            user = self._user(user_id)
            if user.id == self._owner_id:
                raise d.ForbiddenError("The account owner cannot be deleted", status=403, upstream=UPSTREAM)
            for team in self._teams.values():
                team.members.pop(user.id, None)
            del self._users[user.id]
            del self._usernames[user.username]

    def user_teams(self, user_id: str) -> list[TeamRef]:
        with self._lock:
            user = self._user(user_id)
            return [TeamRef(t.id, t.name) for t in self._teams.values() if user.id in t.members]

    # --- contacts ---------------------------------------------------------------------------
    def create_contact(self, user_id: str, method: str, to: str) -> Contact:
        method = method.lower()
        if method not in CONTACT_METHODS:
            raise invalid("method", f"Method must be one of {list(CONTACT_METHODS)}"
                          + (" (mobile contacts are made by the mobile app)" if method == "mobile" else ""))
        to = check_contact_to(method, to)
        with self._lock:
            user = self._user(user_id)
            contacts = user.contacts or ()
            if any(c.method == method and c.to.lower() == to.lower() for c in contacts):
                raise d.ConflictError(f"{method} contact {to!r} already exists", status=409, upstream=UPSTREAM)
            contact = Contact(id=new_id(), method=method, to=to, enabled=True)
            self._users[user.id] = replace(user, contacts=(*contacts, contact))
            return contact

    def update_contact(self, user_id: str, contact_id: str, to: str) -> None:
        with self._lock:
            user = self._user(user_id)
            contact = self._contact(user, contact_id)
            changed = replace(contact, to=check_contact_to(contact.method, to))
            self._users[user.id] = replace(
                user, contacts=tuple(changed if c.id == contact_id else c for c in user.contacts or ()))

    def delete_contact(self, user_id: str, contact_id: str) -> None:
        with self._lock:
            user = self._user(user_id)
            self._contact(user, contact_id)
            self._users[user.id] = replace(user, contacts=tuple(c for c in user.contacts or () if c.id != contact_id))

    # --- teams ------------------------------------------------------------------------------
    def list_teams(self) -> list[DirectoryTeam]:
        with self._lock:
            return [DirectoryTeam(t.id, t.name, t.description) for t in self._teams.values()]

    def get_team(self, team_id: str) -> DirectoryTeam:
        with self._lock:
            team = self._teams.get(team_id)
            if team is None:
                raise not_found(f"Team {team_id!r}")
            return self._team_record(team)

    def find_team(self, name: str) -> DirectoryTeam | None:
        with self._lock:
            team = self._team_named(name)
            return None if team is None else self._team_record(team)

    def create_team(self, name: str, description: str, members: list[TeamMember]) -> str:
        check_team_name(name)
        with self._lock:
            self._check_name_free(name, None)
            roster = self._roster(members)
            team = StoredTeam(id=new_id(), name=name, description=description, members=roster)
            self._teams[team.id] = team
            return team.id

    def change_team(self, team_id: str, change: TeamChange) -> None:
        if change.is_empty():
            return
        name, description, members = change.name, change.description, change.members
        if name is not None:
            check_team_name(name)
        with self._lock:
            team = self._teams.get(team_id)
            if team is None:
                raise not_found(f"Team {team_id!r}")
            if name is not None:
                self._check_name_free(name, team.id)
            roster = self._roster(members) if members is not None else None
            if name is not None:
                team.name = name
            if description is not None:
                team.description = description
            if roster is not None:
                team.members = roster

    def delete_team(self, team_id: str) -> None:
        with self._lock:
            if self._teams.pop(team_id, None) is None:
                raise not_found(f"Team {team_id!r}")

    def add_team_member(self, team_id: str, user_id: str, role: str = "user") -> None:
        team_role = check_team_role(role)
        with self._lock:
            team = self._teams.get(team_id)
            if team is None:
                raise not_found(f"Team {team_id!r}")
            team.members[self._user(user_id).id] = team_role

    def remove_team_member(self, team_id: str, user_id: str) -> bool:
        with self._lock:
            team = self._teams.get(team_id)
            if team is None:
                raise not_found(f"Team {team_id!r}")
            user_key = self._usernames.get(user_id.strip().lower(), user_id)
            return team.members.pop(user_key, None) is not None

    # --- roles ------------------------------------------------------------------------------
    def list_roles(self) -> list[DirectoryRole]:
        """The built-in roles, then the custom ones (in the order they were added)."""
        with self._lock:
            return list(self._roles.values())

    def add_role(self, name: str, extended_role: str = "user") -> DirectoryRole:
        """A custom role (OpsGenie's Custom User Role API; not part of the protocol): seeds and tests use it."""
        if not name.strip() or len(name) > 100:
            raise invalid("name", "A role name has 1 to 100 characters")
        if extended_role.lower() not in CUSTOM_ROLE_BASES:
            raise invalid("extendedRole", f"extendedRole must be one of {list(CUSTOM_ROLE_BASES)}")
        with self._lock:
            if self._role_named(name) is not None:
                raise d.ConflictError(f"Role with name [{name}] already exists", status=409, upstream=UPSTREAM)
            role = DirectoryRole(new_id(), name.strip(), builtin=False, extended_role=extended_role.lower())
            self._roles[role.id] = role
            return role

    # --- look-ups (the lock is held) ----------------------------------------------------------
    def _user(self, identifier: str) -> DirectoryUser:
        user = self._users.get(identifier)
        if user is None:
            user_id = self._usernames.get(identifier.strip().lower())
            user = self._users.get(user_id) if user_id else None
        if user is None:
            raise not_found(f"User {identifier!r}")
        return user

    def _contact(self, user: DirectoryUser, contact_id: str) -> Contact:
        contact = next((c for c in user.contacts or () if c.id == contact_id), None)
        if contact is None:
            raise not_found(f"Contact {contact_id!r}")
        return contact

    def _role_named(self, name: str) -> DirectoryRole | None:
        wanted = name.strip().lower()
        return next((r for r in self._roles.values() if r.name.lower() == wanted), None)

    def _role(self, name: str) -> DirectoryRole:
        role = self._roles.get(name) or self._role_named(name)
        if role is None:
            raise invalid("role", f"Role [{name}] does not exist")
        return role

    def _team_named(self, name: str) -> StoredTeam | None:
        wanted = name.lower()
        return next((t for t in self._teams.values() if t.name.lower() == wanted), None)

    def _check_name_free(self, name: str, team_id: str | None) -> None:
        other = self._team_named(name)
        if other is not None and other.id != team_id:
            raise d.ConflictError(f"team {name!r} already exists", status=409, upstream=UPSTREAM)

    def _roster(self, members: list[TeamMember]) -> dict[str, str]:
        """Members given by id or username; an unknown user makes the whole roster invalid."""
        roster: dict[str, str] = {}
        for index, member in enumerate(members):
            key = member.user_id or member.username
            try:
                user = self._user(key) if key else None
            except d.NotFoundError:
                user = None
            if user is None:
                raise invalid(f"members[{index}].user", f"User [{key}] does not exist")
            roster[user.id] = check_team_role(member.role or "user")
        return roster

    def _team_record(self, team: StoredTeam) -> DirectoryTeam:
        members = tuple(TeamMember(uid, self._users[uid].username, role) for uid, role in team.members.items())
        return DirectoryTeam(team.id, team.name, team.description, members)


def new_id() -> str:
    return str(uuid.uuid4())


def apply_fields(user: DirectoryUser, fields: UserFields) -> DirectoryUser:
    """``user`` with the optional fields that are set (username and role are handled by the caller)."""
    changes: dict[str, object] = {}
    for name in ("skype_username", "time_zone", "locale", "address"):
        value = getattr(fields, name)
        if value is not None:
            changes[name] = value
    if fields.full_name is not None:
        changes["full_name"] = fields.full_name.strip()
    if fields.tags is not None:
        changes["tags"] = tuple(dict.fromkeys(fields.tags))
    if fields.details is not None:
        changes["details"] = {k: list(v) for k, v in fields.details.items()}
    return replace(user, **changes)  # type: ignore[arg-type]


def check_user_fields(fields: UserFields) -> None:
    """The field rules of OpsGenie's user API; the first broken one is an InvalidError naming the field."""
    if fields.username is not None:
        username = fields.username.strip()
        if not username or len(username) > 100 or not EMAIL_RE.match(username):
            raise invalid("username", "Username should be a valid email address of at most 100 characters")
    if fields.full_name is not None and not (0 < len(fields.full_name.strip()) <= 512):
        raise invalid("fullName", "Full name is required and has at most 512 characters")
    if fields.role is not None and not fields.role.strip():
        raise invalid("role", "Role is required")
    if fields.time_zone is not None and fields.time_zone not in time_zones():
        raise invalid("timeZone", f"Time zone [{fields.time_zone}] is not valid")
    if fields.locale is not None and not LOCALE_RE.match(fields.locale):
        raise invalid("locale", f"Locale [{fields.locale}] is not valid")


def check_team_name(name: str) -> None:
    if not name.strip() or not TEAM_NAME_RE.match(name):
        raise invalid("name", "A team name has 1 to 100 letters, digits, spaces, '_', '.' and '-'")


def check_team_role(role: str) -> str:
    if role.lower() not in TEAM_ROLES:
        raise invalid("role", "Team member role must be one of [user, admin]")
    return role.lower()


def check_contact_to(method: str, to: str) -> str:
    value = to.strip()
    if not value or len(value) > 512:
        raise invalid("to", "To is required and has at most 512 characters")
    if method == "email" and not EMAIL_RE.match(value):
        raise invalid("to", "To should be a valid email address")
    if method in ("sms", "voice") and not PHONE_RE.match(value):
        raise invalid("to", "To should be a phone number like <countryCode>-<number>, e.g. 1-5551234567")
    return value
