"""Team and team-member operations of the simulator state (Team API and Team Member API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scim_bridge.simulator.errors import SimError
from scim_bridge.simulator.errors import invalid
from scim_bridge.simulator.errors import not_found
from scim_bridge.simulator.models import Team
from scim_bridge.simulator.models import User
from scim_bridge.simulator.state_base import StateBase
from scim_bridge.simulator.validation import check_member_ref
from scim_bridge.simulator.validation import check_team_body
from scim_bridge.simulator.validation import check_team_role
from scim_bridge.simulator.validation import checked

JsonDict = dict[str, Any]
MemberSpec = tuple[dict[str, str], str | None]


class TeamsMixin(StateBase):
    """Teams are looked up by id, or by name (case-insensitive) with ``identifierType=name``.

    Unknown users in a ``members`` list of a team create or PATCH body answer
    ``config.unknown_team_member_status`` (422 by default: the body is semantically invalid);
    the per-member endpoint answers 404 for an unknown user, as documented.
    """

    def _member_user(self, ref: Mapping[str, str]) -> User | None:
        user = self._users.get(ref["id"]) if "id" in ref else None
        if user is None and "username" in ref:
            user = self._user_named(ref["username"])
        return user

    def _resolve_members(self, specs: list[MemberSpec]) -> dict[str, str]:
        roster: dict[str, str] = {}
        for index, (ref, role) in enumerate(specs):
            user = self._member_user(ref)
            if user is None:
                shown = ref.get("username") or ref.get("id")
                message = f"User [{shown}] does not exist"
                status = self.config.unknown_team_member_status
                field_errors = {f"members[{index}].user": message} if status == 422 else {}
                raise SimError(status, message, field_errors)
            roster[user.id] = role or "user"
        return roster

    def _check_name_free(self, name: str, team_id: str | None = None) -> None:
        other = self._team_by_name(name)
        if other is not None and other.id != team_id:
            message = f"Team with name [{name}] already exists"
            raise SimError(self.config.duplicate_team_status, message, {"name": message})

    def create_team(self, body: Mapping[str, Any]) -> JsonDict:
        """``POST /v2/teams``; returns the team with members."""
        values = checked(check_team_body, body, partial=False)
        with self._lock:
            self._check_name_free(values["name"])
            roster = self._resolve_members(values.get("members", []))
            team = Team(id=self.new_id(), name=values["name"], description=values.get("description", ""))
            team.members = roster
            self._teams[team.id] = team
            return self._team_json(team)

    def get_team(self, identifier: str, identifier_type: str = "id") -> JsonDict:
        with self._lock:
            return self._team_json(self._team(identifier, identifier_type))

    def list_teams(self) -> list[JsonDict]:
        """``GET /v2/teams``: ``[{id, name, description}]`` without members, no paging."""
        with self._lock:
            return [team.summary() for team in self._teams.values()]

    def update_team(self, team_id: str, body: Mapping[str, Any], *, identifier_type: str = "id") -> JsonDict:
        """``PATCH /v2/teams/{id}``: partial; ``members`` replaces (or merges, per knob) the roster."""
        values = checked(check_team_body, body, partial=True)
        with self._lock:
            team = self._team(team_id, identifier_type)
            if "name" in values:
                self._check_name_free(values["name"], team.id)
            roster = self._resolve_members(values["members"]) if "members" in values else None
            if "name" in values:
                team.name = values["name"]
            if "description" in values:
                team.description = values["description"]
            if roster is not None:
                if self.config.team_patch_members == "merge":
                    team.members.update(roster)
                else:
                    team.members = roster
            return self._team_json(team)

    def delete_team(self, identifier: str, identifier_type: str = "id") -> JsonDict:
        with self._lock:
            team = self._team(identifier, identifier_type)
            del self._teams[team.id]
            return team.summary()

    def add_team_member(
        self,
        team_identifier: str,
        body: Mapping[str, Any],
        *,
        identifier_type: str = "id",
        direct: bool = False,
    ) -> JsonDict:
        """``POST /v2/teams/{id}/members``: 404 for unknown team or user.

        An existing member answers 200 and keeps their role unless ``role`` is given
        (``add_existing_member`` "ok"), or 409 (``add_existing_member`` "409").
        """
        errors: dict[str, str] = {}
        ref = check_member_ref(body.get("user"))
        if ref is None:
            errors["user"] = "User should have an id or a username"
        role = check_team_role(body.get("role"), errors)
        with self._lock:
            team = self._team(team_identifier, identifier_type)
            if errors or ref is None:
                raise invalid(errors)
            user = self._member_user(ref)
            if user is None:
                raise not_found()
            if user.id in team.members:
                if self.config.add_existing_member == "409" and not direct:
                    raise SimError(409, f"User [{user.username}] is already a member of team [{team.name}]")
                if role is not None:
                    team.members[user.id] = role
            else:
                team.members[user.id] = role or "user"
            return {"id": user.id, "name": user.username, "teamId": team.id, "role": team.members[user.id]}

    def remove_team_member(
        self,
        team_identifier: str,
        member_identifier: str,
        *,
        identifier_type: str = "id",
        direct: bool = False,
    ) -> JsonDict:
        """``DELETE /v2/teams/{id}/members/{user}``: a non-member is 404, or 200 per knob."""
        with self._lock:
            team = self._team(team_identifier, identifier_type)
            user = self._user(member_identifier)
            if user.id not in team.members:
                if self.config.remove_missing_member == "404" and not direct:
                    raise not_found(f"User [{user.username}] is not a member of team [{team.name}]")
            else:
                del team.members[user.id]
            return {"id": user.id, "name": user.username, "teamId": team.id}
