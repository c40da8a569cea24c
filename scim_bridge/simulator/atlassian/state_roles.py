"""JSM Operations custom user roles: list, get, create, update, delete and assign to an account."""

from __future__ import annotations

from scim_bridge.simulator.atlassian.errors import ApiError
from scim_bridge.simulator.atlassian.errors import bad_request
from scim_bridge.simulator.atlassian.errors import not_found
from scim_bridge.simulator.atlassian.models import EXTENDED_ROLES
from scim_bridge.simulator.atlassian.models import CustomRole
from scim_bridge.simulator.atlassian.state_base import StateBase

BUILTIN_ROLE_NAMES = ("user", "observer", "stakeholder", "admin", "owner")
"""Names a custom role cannot take; assigning ``user`` takes the custom role away."""


class RolesMixin(StateBase):
    def list_roles(self, offset: int, size: int) -> tuple[list[CustomRole], int | None]:
        with self._lock:
            roles = list(self._roles.values())
            more = offset + size < len(roles)
            return roles[offset : offset + size], offset + size if more else None

    def get_role(self, identifier: str, identifier_type: str = "id") -> CustomRole:
        with self._lock:
            return self._role(identifier, identifier_type)

    def _check_role_name(self, name: str, keep: CustomRole | None = None) -> None:
        if name.strip().lower() in BUILTIN_ROLE_NAMES:
            raise bad_request(f"{name!r} is the name of a built-in role")
        other = self._role_by_name(name)
        if other is not None and other is not keep:
            raise ApiError(409, f"A custom user role named {name!r} already exists")

    def create_role(
        self,
        name: str,
        granted: list[str],
        disallowed: list[str],
        extended_role: str = "user",
        *,
        role_id: str | None = None,
    ) -> CustomRole:
        with self._lock:
            self._check_role_name(name)
            _check_rights(granted, disallowed)
            if extended_role not in EXTENDED_ROLES:
                raise bad_request(f"extendedRole must be one of {list(EXTENDED_ROLES)}")
            role_id = role_id or self.new_uuid()
            if role_id in self._roles:
                raise ApiError(409, f"A custom user role with the id {role_id} exists")
            role = CustomRole(role_id, name, extended_role, list(granted), list(disallowed))
            self._roles[role.id] = role
            return role

    def update_role(
        self,
        identifier: str,
        identifier_type: str,
        name: str | None,
        granted: list[str] | None,
        disallowed: list[str] | None,
    ) -> CustomRole:
        with self._lock:
            role = self._role(identifier, identifier_type)
            if name is not None:
                self._check_role_name(name, keep=role)
            new_granted = role.granted_rights if granted is None else granted
            new_disallowed = role.disallowed_rights if disallowed is None else disallowed
            _check_rights(new_granted, new_disallowed)
            role.name = role.name if name is None else name
            role.granted_rights, role.disallowed_rights = list(new_granted), list(new_disallowed)
            return role

    def delete_role(self, identifier: str, identifier_type: str = "id") -> None:
        """The role goes; its holders fall back to the plain ``user`` role."""
        with self._lock:
            role = self._role(identifier, identifier_type)
            del self._roles[role.id]
            for account in self._accounts.values():
                if account.custom_role_id == role.id:
                    account.custom_role_id = None

    def assign_role_to(self, account_id: str, role_ref: str) -> None:
        """Give an account a custom role (by name or id); ``user`` takes its custom role away."""
        with self._lock:
            account = self._account(account_id)
            if account is None:
                raise not_found(f"User {account_id} not found", code="USER_NOT_FOUND")
            if role_ref.strip().lower() == "user":
                account.custom_role_id = None
                return
            role = self._roles.get(role_ref) or self._role_by_name(role_ref)
            if role is None:
                if role_ref.strip().lower() in BUILTIN_ROLE_NAMES:
                    raise bad_request(f"The {role_ref!r} role cannot be assigned through this API")
                raise not_found(f"Custom user role {role_ref} not found", code="ROLE_NOT_FOUND")
            account.custom_role_id = role.id


def _check_rights(granted: list[str], disallowed: list[str]) -> None:
    both = sorted(set(granted) & set(disallowed))
    if both:
        raise bad_request(f"Rights cannot be both granted and disallowed: {', '.join(both)}")
