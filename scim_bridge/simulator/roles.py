"""Custom user role operations of the simulator state (Custom User Role API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scim_bridge.simulator.errors import SimError
from scim_bridge.simulator.models import Role
from scim_bridge.simulator.state_base import StateBase
from scim_bridge.simulator.state_base import identified
from scim_bridge.simulator.validation import check_role_body
from scim_bridge.simulator.validation import checked

JsonDict = dict[str, Any]


class RolesMixin(StateBase):
    """Built-in roles (Owner, Admin, User, Stakeholder, Observer) are fixed; custom roles are CRUD.

    ``GET /v2/roles`` lists custom roles only unless ``list_builtin_roles`` is on. A custom role still
    given to a user cannot be deleted (428). Built-in roles cannot be changed or deleted (403).
    """

    def _role(self, identifier: str, identifier_type: str = "id") -> Role:
        return identified(self._roles, self._role_by_name, identifier, identifier_type)

    def list_roles(self) -> list[JsonDict]:
        with self._lock:
            show_builtin = self.config.list_builtin_roles
            return [r.to_json() for r in self._roles.values() if show_builtin or not r.builtin]

    def get_role(self, identifier: str, identifier_type: str = "id") -> JsonDict:
        with self._lock:
            return self._role(identifier, identifier_type).to_json()

    def _check_role_name_free(self, name: str, role_id: str | None = None) -> None:
        other = self._role_by_name(name)
        if other is not None and other.id != role_id:
            message = f"Role with name [{name}] already exists"
            raise SimError(409, message, {"name": message})

    def create_role(self, body: Mapping[str, Any]) -> JsonDict:
        """``POST /v2/roles``: ``name`` required, ``extendedRole`` user (default)/observer/stakeholder."""
        values = checked(check_role_body, body, partial=False)
        with self._lock:
            self._check_role_name_free(values["name"])
            role = Role(
                id=self.new_id(),
                name=values["name"],
                extended_role=values.get("extendedRole", "user"),
                granted_rights=values.get("grantedRights", []),
                disallowed_rights=values.get("disallowedRights", []),
            )
            self._roles[role.id] = role
            return role.to_json()

    def update_role(self, identifier: str, body: Mapping[str, Any], identifier_type: str = "id") -> JsonDict:
        """``PUT /v2/roles/{id}``: given fields replace the stored ones."""
        values = checked(check_role_body, body, partial=True)
        with self._lock:
            role = self._role(identifier, identifier_type)
            if role.builtin:
                raise SimError(403, "Built-in roles cannot be changed", code=40301)
            if "name" in values:
                self._check_role_name_free(values["name"], role.id)
                role.name = values["name"]
            if "extendedRole" in values:
                role.extended_role = values["extendedRole"]
            if "grantedRights" in values:
                role.granted_rights = values["grantedRights"]
            if "disallowedRights" in values:
                role.disallowed_rights = values["disallowedRights"]
            return role.to_json()

    def delete_role(self, identifier: str, identifier_type: str = "id") -> JsonDict:
        with self._lock:
            role = self._role(identifier, identifier_type)
            if role.builtin:
                raise SimError(403, "Built-in roles cannot be deleted", code=40301)
            holders = [u.username for u in self._users.values() if u.role_id == role.id]
            if holders:
                raise SimError(428, f"Role [{role.name}] is assigned to {len(holders)} user(s)")
            del self._roles[role.id]
            return role.to_json()
