"""User and contact operations of the simulator state (the rules of the User and Contact APIs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scim_bridge.simulator.errors import SimError
from scim_bridge.simulator.errors import invalid
from scim_bridge.simulator.errors import not_found
from scim_bridge.simulator.listing import SORT_FIELDS
from scim_bridge.simulator.listing import ListParams
from scim_bridge.simulator.listing import user_matches
from scim_bridge.simulator.models import Contact
from scim_bridge.simulator.models import User
from scim_bridge.simulator.models import empty_address
from scim_bridge.simulator.state_base import StateBase
from scim_bridge.simulator.state_base import now_iso
from scim_bridge.simulator.validation import check_contact_method
from scim_bridge.simulator.validation import check_contact_to
from scim_bridge.simulator.validation import check_user_body

JsonDict = dict[str, Any]

_FIELD_ATTRS = {
    "fullName": "full_name",
    "skypeUsername": "skype_username",
    "timeZone": "time_zone",
    "locale": "locale",
    "userAddress": "user_address",
    "tags": "tags",
    "details": "details",
    "invitationDisabled": "invitation_disabled",
}


class UsersMixin(StateBase):
    """Users API and Contact API.

    The account owner is the first user that was given the Owner role. Deleting that user, or
    changing their role, is refused with ``config.owner_protection_status`` (default 403, code
    40301; 422 is the alternative), because an account must keep its owner. Other Owners can be
    deleted and demoted. ``direct=True`` (changes "made in the OpsGenie UI" through ``/__sim/``)
    skips that guard and the knob-driven refusals, and may set the read-only ``blocked`` and
    ``verified`` flags.
    """

    # ------------------------------------------------------------------ users

    def create_user(self, body: Mapping[str, Any], *, direct: bool = False) -> JsonDict:
        """Create a user and return its full JSON (``POST /v2/users``)."""
        values, errors = check_user_body(body, partial=False)
        with self._lock:
            if "role" in values and not errors:
                values["role_obj"] = self._resolve_role(values["role"])
            if errors:
                raise invalid(errors)
            username = values["username"]
            if username in self._usernames:
                self._duplicate_username(username)
            self._user_seq += 1
            user = User(
                id=self.new_id(),
                username=username,
                full_name=values["fullName"],
                role_id=values["role_obj"].id,
                created_at=now_iso(),
                seq=self._user_seq,
                time_zone=self.config.default_time_zone,
                locale=self.config.default_locale,
            )
            self._apply_user_fields(user, values)
            if direct:
                self._apply_flags(user, body)
            self._users[user.id] = user
            self._usernames[username] = user.id
            if self._owner_id is None and values["role_obj"].name == "Owner":
                self._owner_id = user.id
            if self.config.default_email_contact:
                user.contacts.append(Contact(id=self.new_id(), method="email", to=username))
            return self._user_json(user, with_contacts=True)

    def _duplicate_username(self, username: str) -> None:
        message = f"User with username [{username}] already exists"
        raise SimError(self.config.duplicate_user_status, message, {"username": message})

    def _apply_user_fields(self, user: User, values: Mapping[str, Any]) -> None:
        for key, attr in _FIELD_ATTRS.items():
            if key in values:
                setattr(user, attr, values[key])
        if "role_obj" in values:
            user.role_id = values["role_obj"].id

    @staticmethod
    def _apply_flags(user: User, body: Mapping[str, Any]) -> None:
        for key in ("blocked", "verified"):
            if isinstance(body.get(key), bool):
                setattr(user, key, body[key])

    def get_user(self, identifier: str, *, expand_contacts: bool = False) -> JsonDict:
        with self._lock:
            return self._user_json(self._user(identifier), with_contacts=expand_contacts)

    def update_user(self, identifier: str, body: Mapping[str, Any], *, direct: bool = False) -> JsonDict:
        """Partial update (``PATCH /v2/users/{id}``): tags, details and userAddress replace."""
        values, errors = check_user_body(body, partial=True)
        with self._lock:
            user = self._user(identifier)
            if "role" in values and not errors:
                values["role_obj"] = self._resolve_role(values["role"])
            if errors:
                raise invalid(errors)
            new_name = values.get("username", user.username)
            if new_name != user.username:
                if not self.config.allow_username_change and not direct:
                    raise invalid({"username": "Username cannot be changed"})
                if new_name in self._usernames:
                    self._duplicate_username(new_name)
            role_changes = "role_obj" in values and values["role_obj"].id != user.role_id
            if role_changes and self._protected(user) and not direct:
                self._refuse_owner("An Owner's role cannot be changed here" if user.id != self._owner_id
                                   else "The account owner's role cannot be changed")
            if new_name != user.username:
                del self._usernames[user.username]
                self._usernames[new_name] = user.id
                user.username = new_name
            self._apply_user_fields(user, values)
            if direct:
                self._apply_flags(user, body)
            return self._user_json(user, with_contacts=True)

    def _protected(self, user: User) -> bool:
        """Whether deleting or demoting ``user`` is refused (the account owner; any Owner with
        ``protected_owners="all"``)."""
        if user.id == self._owner_id:
            return True
        return self.config.protected_owners == "all" and self._role_of(user).name == "Owner"

    def _refuse_owner(self, message: str) -> None:
        status = self.config.owner_protection_status
        raise SimError(status, message, {"role": message} if status == 422 else {}, code=40301)

    def delete_user(self, identifier: str, *, direct: bool = False) -> JsonDict:
        """Delete a user; memberships are removed, or 428 when ``delete_referenced_user`` is "428"."""
        with self._lock:
            user = self._user(identifier)
            if not direct and self._protected(user):
                self._refuse_owner("An Owner cannot be deleted here" if user.id != self._owner_id
                                   else "The account owner cannot be deleted")
            teams = self._user_teams(user.id)
            if teams and not direct and self.config.delete_referenced_user == "428":
                names = ", ".join(t.name for t in teams)
                raise SimError(428, f"User [{user.username}] is a member of team(s) [{names}]")
            for team in teams:
                del team.members[user.id]
            del self._users[user.id]
            del self._usernames[user.username]
            if self._owner_id == user.id:
                self._owner_id = None
            return {"id": user.id, "username": user.username}

    def query_users(self, params: ListParams) -> tuple[int, list[JsonDict]]:
        """One page of ``GET /v2/users``: ``(totalCount, users)``; list items carry no contacts."""
        key = SORT_FIELDS[params.sort]
        with self._lock:
            rows = [(u, self._roles[u.role_id].name) for u in self._users.values()]
            if params.terms:
                rows = [(u, r) for u, r in rows if user_matches(u, r, params.terms)]
            rows.sort(key=lambda row: (key(row[0], row[1]), row[0].seq), reverse=params.order == "desc")
            page = rows[params.offset : params.offset + params.limit]
            return len(rows), [self._user_json(u) for u, _role in page]

    def user_teams(self, identifier: str) -> list[JsonDict]:
        """``GET /v2/users/{id}/teams``: ``[{id, name}]``."""
        with self._lock:
            user = self._user(identifier)
            return [{"id": t.id, "name": t.name} for t in self._user_teams(user.id)]

    def owner_id(self) -> str | None:
        """Id of the account owner (the first user given the Owner role), if any."""
        with self._lock:
            return self._owner_id

    # ------------------------------------------------------------------ contacts

    def _contact(self, user: User, contact_id: str) -> Contact:
        contact = next((c for c in user.contacts if c.id == contact_id), None)
        if contact is None:
            raise not_found()
        return contact

    def _contact_json(self, user: User, contact: Contact) -> JsonDict:
        same_method = [c for c in user.contacts if c.method == contact.method]
        return contact.to_api(same_method.index(contact))

    def create_contact(self, user_identifier: str, body: Mapping[str, Any]) -> JsonDict:
        """``POST /v2/users/{id}/contacts``; ``mobile`` is refused; duplicates answer 409."""
        errors: dict[str, str] = {}
        method = check_contact_method(body.get("method"), errors)
        to = check_contact_to(method, body.get("to"), errors) if method else None
        with self._lock:
            user = self._user(user_identifier)
            if errors or method is None or to is None:
                raise invalid(errors)
            if any(c.method == method and c.to.lower() == to.lower() for c in user.contacts):
                raise SimError(409, f"Contact [{method}: {to}] already exists for the user")
            contact = Contact(id=self.new_id(), method=method, to=to)
            user.contacts.append(contact)
            return self._contact_json(user, contact)

    def list_contacts(self, user_identifier: str) -> list[JsonDict]:
        with self._lock:
            user = self._user(user_identifier)
            return [self._contact_json(user, c) for c in user.contacts]

    def get_contact(self, user_identifier: str, contact_id: str) -> JsonDict:
        with self._lock:
            user = self._user(user_identifier)
            return self._contact_json(user, self._contact(user, contact_id))

    def update_contact(self, user_identifier: str, contact_id: str, body: Mapping[str, Any]) -> JsonDict:
        """Only ``to`` can change; the method is fixed."""
        with self._lock:
            user = self._user(user_identifier)
            contact = self._contact(user, contact_id)
            errors: dict[str, str] = {}
            to = check_contact_to(contact.method, body.get("to"), errors)
            if to is None:
                raise invalid(errors)
            contact.to = to
            return self._contact_json(user, contact)

    def delete_contact(self, user_identifier: str, contact_id: str) -> None:
        with self._lock:
            user = self._user(user_identifier)
            user.contacts.remove(self._contact(user, contact_id))

    def set_contact_enabled(self, user_identifier: str, contact_id: str, enabled: bool) -> JsonDict:
        with self._lock:
            user = self._user(user_identifier)
            contact = self._contact(user, contact_id)
            contact.enabled = enabled
            contact.disabled_reason = "" if enabled else "DisabledByUser"
            return self._contact_json(user, contact)

    def _new_bulk_user(self, username: str, full_name: str, role_id: str) -> User:
        """A valid user built without per-field checks (bulk generation); caller holds the lock."""
        self._user_seq += 1
        user = User(
            id=self.new_id(),
            username=username,
            full_name=full_name,
            role_id=role_id,
            created_at=now_iso(),
            seq=self._user_seq,
            time_zone=self.config.default_time_zone,
            locale=self.config.default_locale,
            user_address=empty_address(),
        )
        if self.config.default_email_contact:
            user.contacts.append(Contact(id=self.new_id(), method="email", to=username))
        self._users[user.id] = user
        self._usernames[username] = user.id
        return user
