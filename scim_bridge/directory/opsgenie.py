"""OpsGenieDirectory: the Directory protocol on top of the OpsGenie REST client.

This module is the one place that knows both sides: it maps OpsGenie JSON to and from the records of
``scim_bridge.directory.models`` and OpsGenie errors to ``scim_bridge.directory.errors``. It also
makes the writes that OpsGenie cannot make idempotent safe to repeat: a create whose response was
lost is looked up before it is sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from functools import partial
from typing import Any
from typing import NamedTuple
from typing import TypeVar

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
from scim_bridge.opsgenie import errors as og
from scim_bridge.opsgenie.client import OpsGenieClient

T = TypeVar("T")
Json = dict[str, Any]

# A create is sent at most this many times; before each repeat the entity is looked up.
CREATE_ATTEMPTS = 3
# DELETE user, answered 428 (still referenced), is retried after team clean-up this many times.
UPSTREAM = "OpsGenie"
# Address field -> the key of OpsGenie's userAddress.
ADDRESS_KEYS = {"country": "country", "state": "state", "city": "city", "line": "line", "zip_code": "zipCode"}
DELETE_ATTEMPTS = 5


class OpsGenieDirectory(TeamUpdates):
    """The OpsGenie implementation of :class:`scim_bridge.directory.base.Directory`."""

    def __init__(self, client: OpsGenieClient) -> None:
        self.client = client

    # --- users ------------------------------------------------------------------------------
    def get_user(self, identifier: str, *, with_contacts: bool = True) -> DirectoryUser:
        data = _call(lambda: self.client.get_user(_user_key(identifier), expand_contacts=with_contacts))
        return user_from_json(data, with_contacts=with_contacts)

    def iter_users(self) -> Iterator[DirectoryUser]:
        users = self.client.iter_users()
        while True:
            data = _call(lambda: next(users, None))
            if data is None:
                return
            yield user_from_json(data, with_contacts=False)

    def user_pages(self, offset: int = 0) -> Iterator[UserPage]:
        """Pages of 100 users sorted by username, from ``offset`` on (see :class:`PagedUsers`)."""
        next_offset: int | None = offset
        while next_offset is not None:
            at = next_offset
            page = _call(partial(self.client.list_users, offset=at, sort="username", order="asc"))
            next_offset = page.next_offset
            users = [user_from_json(u, with_contacts=False) for u in page.users]
            yield UserPage(users, at, next_offset, page.total_count)

    def create_user(self, fields: UserFields) -> str:
        if not (fields.username and fields.full_name and fields.role):
            raise d.InvalidError("username, full_name and role are required to create a user")
        username = fields.username.lower()
        body = user_body(fields)
        return self._create(
            lambda: self.client.create_user(body).id,
            lambda: self._find_user(username, fields.full_name),
            what=f"user {username!r}",
        )

    def update_user(self, user_id: str, fields: UserFields) -> None:
        if fields.is_empty():
            return
        body = user_body(fields)
        _call(lambda: self.client.update_user(user_id, body))

    def delete_user(self, user_id: str) -> None:
        """Delete; while OpsGenie answers 428, take the user out of its teams and try again."""
        last: og.UpstreamError | None = None
        for _ in range(DELETE_ATTEMPTS):
            try:
                self.client.delete_user(user_id)
                return
            except og.PreconditionRequired as exc:
                last = exc
            except og.OpsGenieError as exc:
                raise translate(exc) from exc
            for team in _call(lambda: self.client.user_teams(user_id)):
                self._remove_member_quietly(str(team.get("id", "")), user_id)
        assert last is not None
        raise translate(last) from last

    def user_teams(self, user_id: str) -> list[TeamRef]:
        teams = _call(lambda: self.client.user_teams(user_id))
        return [TeamRef(id=str(t.get("id", "")), name=str(t.get("name", ""))) for t in teams]

    # --- contacts ---------------------------------------------------------------------------
    def create_contact(self, user_id: str, method: str, to: str) -> Contact:
        contact_id = self._create(
            lambda: self.client.create_contact(user_id, method, to).id,
            lambda: _same(self._find_contact_id(user_id, method, to)),
            what=f"{method} contact {to!r}",
        )
        return Contact(id=contact_id, method=method, to=to, enabled=True)

    def update_contact(self, user_id: str, contact_id: str, to: str) -> None:
        _call(lambda: self.client.update_contact(user_id, contact_id, to))

    def delete_contact(self, user_id: str, contact_id: str) -> None:
        _call(lambda: self.client.delete_contact(user_id, contact_id))

    # --- teams ------------------------------------------------------------------------------
    def list_teams(self) -> list[DirectoryTeam]:
        return [team_from_json(t, with_members=False) for t in _call(self.client.list_teams)]

    def get_team(self, team_id: str) -> DirectoryTeam:
        return team_from_json(_call(lambda: self.client.get_team(team_id)), with_members=True)

    def find_team(self, name: str) -> DirectoryTeam | None:
        try:
            return team_from_json(self.client.get_team(name, identifier_type="name"), with_members=True)
        except og.NotFound:
            return None
        except og.OpsGenieError as exc:
            raise translate(exc) from exc

    def create_team(self, name: str, description: str, members: list[TeamMember]) -> str:
        body: Json = {"name": name, "description": description}
        if members:
            body["members"] = [member_json(m) for m in members]
        return self._create(
            lambda: self.client.create_team(body).id,
            lambda: self._find_team(name, description),
            what=f"team {name!r}",
        )

    def change_team(self, team_id: str, change: TeamChange) -> None:
        body: Json = {}
        if change.name is not None:
            body["name"] = change.name
        if change.description is not None:
            body["description"] = change.description
        if change.members is not None:
            body["members"] = [member_json(m) for m in change.members]
        if body:
            _call(lambda: self.client.update_team(team_id, body))

    def delete_team(self, team_id: str) -> None:
        _call(lambda: self.client.delete_team(team_id))

    def add_team_member(self, team_id: str, user_id: str, role: str = "user") -> None:
        """Add a member; "already a member" (409 or 422 upstream) counts as success."""
        try:
            self.client.add_team_member(team_id, user_id=user_id, role=role)
        except (og.Conflict, og.Unprocessable) as exc:
            if not self._is_member(team_id, user_id):
                raise translate(exc) from exc
        except og.OpsGenieError as exc:
            raise translate(exc) from exc

    def remove_team_member(self, team_id: str, user_id: str) -> bool:
        """Idempotent. A 404 is success when the team exists (the user is just not a member): then False."""
        try:
            self.client.remove_team_member(team_id, user_id)
        except og.NotFound as exc:
            try:
                self.client.get_team(team_id)
            except og.NotFound:
                raise translate(exc) from exc
            except og.OpsGenieError as lookup_exc:
                raise translate(lookup_exc) from lookup_exc
            return False
        except og.OpsGenieError as exc:
            raise translate(exc) from exc
        return True

    # --- roles ------------------------------------------------------------------------------
    def list_roles(self) -> list[DirectoryRole]:
        """The built-in roles, then the custom ones of GET /v2/roles (one call). A built-in role the list leaves
        out has an empty id: OpsGenie shows it only on the users holding the role."""
        upstream = _call(self.client.list_roles)
        by_name = {str(r.get("name", "")).lower(): r for r in upstream}
        roles = []
        for name in BUILTIN_ROLES:
            real = by_name.pop(name.lower(), None)
            role_id = str(real["id"]) if real and real.get("id") else ""
            roles.append(DirectoryRole(id=role_id, name=name, builtin=True))
        roles.extend(role_from_json(r) for r in by_name.values())
        return roles

    # --- helpers ----------------------------------------------------------------------------
    def _create(self, send: Callable[[], str], find: Callable[[], Found | None], *, what: str) -> str:
        """Send a create; look the entity up before repeating it and when upstream refuses it.

        ``find`` returns the id of the entity holding the unique key (username, team name...) and
        whether it has the identity this create gives it. Once an attempt may have been applied
        (its response was lost: timeout, dropped connection, 5xx), an entity found with the same
        identity is that attempt's result: it is returned, never reported as a conflict, and never
        created a second time.
        """
        maybe_applied = False
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                return send()
            except (og.Conflict, og.Unprocessable) as exc:
                found = _call(find)
                if found is None:
                    raise translate(exc) from exc
                if maybe_applied and found.same:
                    return found.id
                raise d.ConflictError(f"{what} already exists", status=409, request_id=exc.request_id) from exc
            except (og.TransportError, og.ServerError) as exc:
                # The create may have been applied before the response was lost.
                if isinstance(exc, og.TransportError) and not exc.maybe_applied:
                    raise translate(exc) from exc
                maybe_applied = True
                found = _call(find)
                if found is not None:
                    if found.same:
                        return found.id
                    raise d.ConflictError(f"{what} already exists", status=409) from exc
                if attempt == CREATE_ATTEMPTS:
                    raise translate(exc) from exc
                self.client.retry.sleep(self.client.retry.backoff(attempt))
            except og.OpsGenieError as exc:
                raise translate(exc) from exc
        raise AssertionError("unreachable")

    def _find_user(self, username: str, full_name: str | None) -> Found | None:
        try:
            user = self.client.get_user(username)
        except og.NotFound:
            return None
        if str(user.get("username", "")).lower() != username or not user.get("id"):
            return None
        same = full_name is None or str(user.get("fullName") or "") == full_name
        return Found(str(user["id"]), same)

    def _find_team(self, name: str, description: str) -> Found | None:
        try:
            team = self.client.get_team(name, identifier_type="name")
        except og.NotFound:
            return None
        if str(team.get("name", "")).lower() != name.lower() or not team.get("id"):
            return None
        same = team.get("name") == name and str(team.get("description") or "") == description
        return Found(str(team["id"]), same)

    def _find_contact_id(self, user_id: str, method: str, to: str) -> str | None:
        for raw in self.client.list_contacts(user_id):
            contact = _contact(raw)
            if (contact.method, contact.to) == (method, to) and contact.id:
                return contact.id
        return None

    def _is_member(self, team_id: str, user_id: str) -> bool:
        team = team_from_json(_call(lambda: self.client.get_team(team_id)), with_members=True)
        return any(m.user_id == user_id for m in team.members or ())

    def _remove_member_quietly(self, team_id: str, user_id: str) -> None:
        try:
            self.client.remove_team_member(team_id, user_id)
        except og.NotFound:
            pass
        except og.OpsGenieError as exc:
            raise translate(exc) from exc


class Found(NamedTuple):
    """An entity found by its unique key, and whether it has the identity a create gives it."""

    id: str
    same: bool


def _same(entity_id: str | None) -> Found | None:
    """A look-up whose key is the whole identity (a contact is its method and address)."""
    return None if entity_id is None else Found(entity_id, True)


# --- errors -----------------------------------------------------------------------------------
def translate(exc: og.UpstreamError) -> d.DirectoryError:
    """The directory error for an error of the OpsGenie client (the context of a create is handled by callers).
    The server's hint: ``Retry-After``, and on 429 ``X-RateLimit-Period-In-Sec``."""
    if isinstance(exc, og.BudgetExhausted):
        return d.ThrottledError(exc.message, retry_after=exc.retry_after, status=exc.status,
                                request_id=exc.request_id, field_errors=exc.errors)
    hint = exc.header_seconds("Retry-After")
    if exc.throttled:
        hint = hint or exc.header_seconds("X-RateLimit-Period-In-Sec")
    return d.from_upstream(exc, upstream=UPSTREAM, retry_after=hint)


def _call(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except og.OpsGenieError as exc:
        raise translate(exc) from exc


def _user_key(identifier: str) -> str:
    """Usernames are e-mail addresses and compared case-insensitively; ids are left alone."""
    return identifier.lower() if "@" in identifier else identifier


# --- mapping ----------------------------------------------------------------------------------
def user_body(fields: UserFields) -> Json:
    """The OpsGenie JSON of the fields that are set (create and PATCH share it)."""
    body: Json = {}
    if fields.username is not None:
        body["username"] = fields.username.lower()
    if fields.full_name is not None:
        body["fullName"] = fields.full_name
    if fields.role is not None:
        body["role"] = {"name": fields.role}
    if fields.skype_username is not None:
        body["skypeUsername"] = fields.skype_username
    if fields.time_zone is not None:
        body["timeZone"] = fields.time_zone
    if fields.locale is not None:
        body["locale"] = fields.locale
    if fields.address is not None:
        body["userAddress"] = fields.address.write(ADDRESS_KEYS)
    if fields.tags is not None:
        body["tags"] = list(fields.tags)
    if fields.details is not None:
        body["details"] = {k: list(v) for k, v in fields.details.items()}
    if fields.invitation_disabled is not None:
        body["invitationDisabled"] = bool(fields.invitation_disabled)
    return body


def user_from_json(data: Json, *, with_contacts: bool) -> DirectoryUser:
    role = _obj(data, "role")
    address = data.get("userAddress")
    details = _obj(data, "details")
    return DirectoryUser(
        id=str(data.get("id", "")),
        username=str(data.get("username", "")),
        full_name=str(data.get("fullName") or ""),
        role=str(role.get("name") or ""),
        role_id=str(role["id"]) if role.get("id") else None,
        skype_username=str(data.get("skypeUsername") or ""),
        time_zone=str(data.get("timeZone") or ""),
        locale=str(data.get("locale") or ""),
        address=Address.read(address, ADDRESS_KEYS) if isinstance(address, dict) else None,
        tags=tuple(str(t) for t in data.get("tags") or ()),
        details={str(k): [str(x) for x in v] for k, v in details.items() if isinstance(v, list)},
        blocked=bool(data.get("blocked", False)),
        verified=bool(data.get("verified", False)),
        created_at=str(data["createdAt"]) if data.get("createdAt") else None,
        contacts=tuple(_contact(c) for c in data.get("userContacts") or ()) if with_contacts else None,
    )


def _obj(data: Json, key: str) -> Json:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _contact(raw: Json) -> Contact:
    """A ``userContacts`` item (``contactMethod``) or a Contact API item (``method``, ``status``)."""
    status = _obj(raw, "status")
    enabled = raw.get("enabled", status.get("enabled", True))
    return Contact(
        id=str(raw.get("id", "")),
        method=str(raw.get("contactMethod") or raw.get("method") or ""),
        to=str(raw.get("to") or ""),
        enabled=bool(enabled),
    )


def member_json(member: TeamMember) -> Json:
    user = {"id": member.user_id} if member.user_id else {"username": member.username.lower()}
    return {"user": user, "role": member.role or "user"}


def team_from_json(data: Json, *, with_members: bool) -> DirectoryTeam:
    """A team; ``members`` stays None unless the call that produced ``data`` includes them."""
    members = None
    if with_members:
        raw_members = data.get("members")
        members = tuple(_member(m) for m in raw_members or () if isinstance(m, dict))
    return DirectoryTeam(
        id=str(data.get("id", "")),
        name=str(data.get("name", "")),
        description=str(data.get("description") or ""),
        members=members,
    )


def _member(raw: Json) -> TeamMember:
    user = _obj(raw, "user")
    return TeamMember(
        user_id=str(user.get("id", "")),
        username=str(user.get("username") or ""),
        role=str(raw.get("role") or "user"),
    )


def role_from_json(data: Json) -> DirectoryRole:
    return DirectoryRole(
        id=str(data.get("id", "")),
        name=str(data.get("name", "")),
        builtin=False,
        extended_role=str(data.get("extendedRole") or ""),
    )
