"""Atlassian Teams (Teams public API) and enabling operations on them (JSM Operations API)."""

from __future__ import annotations

from typing import Any

from scim_bridge.simulator.atlassian.errors import ApiError
from scim_bridge.simulator.atlassian.errors import bad_request
from scim_bridge.simulator.atlassian.models import Team
from scim_bridge.simulator.atlassian.state_base import StateBase

MEMBER_PAGE_MAX = 50


class TeamsMixin(StateBase):
    def _check_name_free(self, name: str, keep: Team | None = None) -> None:
        if self.config.duplicate_team_names != "reject":
            return
        wanted = name.strip().lower()
        if any(t is not keep and t.display_name.strip().lower() == wanted for t in self._active_teams()):
            raise ApiError(409, f"A team named {name!r} already exists", code="TEAM_NAME_CONFLICT")

    def create_team(
        self,
        display_name: str,
        description: str,
        team_type: str,
        site_id: str | None,
        *,
        team_id: str | None = None,
        creator_id: str | None = None,
        created_at: float | None = None,
    ) -> Team:
        """A new team whose only member is its creator (by default the calling account)."""
        with self._lock:
            self._check_name_free(display_name)
            creator = creator_id or self._caller().account_id
            team_id = team_id or self.new_uuid()
            if team_id in self._teams:
                raise ApiError(409, f"A team with the id {team_id} exists")
            when = self.clock.now() if created_at is None else created_at
            team = Team(team_id, display_name, description, team_type, site_id, creator, when, [creator])
            self._teams[team_id] = team
            return team

    def get_team(self, team_id: str) -> Team:
        with self._lock:
            return self._team(team_id)

    def update_team(self, team_id: str, display_name: str | None, description: str | None) -> Team:
        with self._lock:
            team = self._team(team_id)
            if display_name is not None:
                self._check_name_free(display_name, keep=team)
                team.display_name = display_name
            if description is not None:
                team.description = description
            return team

    def delete_team(self, team_id: str) -> None:
        """A soft delete: the team disappears from the APIs and can be restored."""
        with self._lock:
            self._team(team_id).deleted = True

    def restore_team(self, team_id: str) -> Team:
        with self._lock:
            team = self._teams.get(team_id)
            if team is None:
                raise ApiError(404, f"Team {team_id} not found", code="TEAM_NOT_FOUND")
            if team.deleted:
                self._check_name_free(team.display_name, keep=team)
                team.deleted = False
            return team

    def list_teams(self, site_id: str | None, offset: int, size: int) -> tuple[list[Team], int | None]:
        """A page of the live teams. An org with site-scoped teams lists nothing without ``siteId``."""
        with self._lock:
            if site_id is None and self.config.require_site_id:
                return [], None
            teams = [t for t in self._active_teams() if site_id is None or t.site_id in (site_id, None)]
            more = offset + size < len(teams)
            return teams[offset : offset + size], offset + size if more else None

    # ------------------------------------------------------------------ members

    def list_members(self, team_id: str, offset: int, first: int) -> tuple[list[str], int | None]:
        with self._lock:
            members = list(self._team(team_id).members)
            more = offset + first < len(members)
            return members[offset : offset + first], offset + first if more else None

    def add_members(self, team_id: str, account_ids: list[str]) -> tuple[list[str], list[dict[str, str]]]:
        """Adds what it can; ``(added, errors)`` with one coded error per refused account."""
        with self._lock:
            team = self._team(team_id)
            added: list[str] = []
            errors: list[dict[str, str]] = []
            for account_id in account_ids:
                if self._account(account_id) is None:
                    errors.append(_member_error(account_id, "USER_NOT_FOUND", "User not found"))
                elif account_id in team.members:
                    if self.config.member_add_existing == "error":
                        errors.append(_member_error(account_id, "ALREADY_A_MEMBER", "User is already a member"))
                    else:
                        added.append(account_id)
                else:
                    team.members.append(account_id)
                    added.append(account_id)
            return added, errors

    def remove_members(self, team_id: str, account_ids: list[str]) -> list[dict[str, str]]:
        with self._lock:
            team = self._team(team_id)
            errors: list[dict[str, str]] = []
            for account_id in account_ids:
                if account_id in team.members:
                    team.members.remove(account_id)
                elif self._account(account_id, removed_ok=True) is None:
                    errors.append(_member_error(account_id, "USER_NOT_FOUND", "User not found"))
                else:
                    errors.append(_member_error(account_id, "NOT_A_MEMBER", "User is not a member"))
            return errors

    # ------------------------------------------------------------------ operations (JSM Ops API)

    def enable_ops(self, team_id: str, body: dict[str, Any]) -> None:
        """Enable operations: transient failure right after creation, 409 when already enabled."""
        with self._lock:
            team = self._teams.get(team_id)
            if team is None or team.deleted:
                raise ApiError(404, f"Team {team_id} not found", code="NOT_FOUND")
            age_ms = (self.clock.now() - team.created_at) * 1000
            if age_ms < self.config.enable_ops_delay_ms:
                status = self.config.enable_ops_transient_status
                raise ApiError(status, _TRANSIENT_MESSAGES[status])
            platform_id = body.get("platformTeamId")
            if platform_id is not None and platform_id != team_id:
                raise bad_request("platformTeamId must be the team id of the path")
            admins = body.get("adminAccountIds")
            if not isinstance(admins, list) or not admins or not all(isinstance(a, str) for a in admins):
                raise bad_request("adminAccountIds must be a non-empty list of account ids")
            invites = body.get("inviteUsernames", [])
            if not isinstance(invites, list) or not all(isinstance(i, str) for i in invites):
                raise bad_request("inviteUsernames must be a list of strings")
            unknown = [a for a in admins if self._account(a) is None]
            if unknown:
                raise ApiError(422, f"Unknown admin account {unknown[0]}")
            if self.config.enable_ops_requires_member_admin:
                outside = [a for a in admins if a not in team.members]
                if outside:
                    raise ApiError(422, f"Admin {outside[0]} is not a member of the team")
            if team.ops_enabled:
                raise ApiError(409, "Operations are already enabled for this team")
            team.ops_enabled = True
            team.ops_admins = list(admins)

    def ops_teams(self, offset: int, size: int) -> tuple[list[Team], int | None]:
        with self._lock:
            teams = [t for t in self._active_teams() if t.ops_enabled]
            more = offset + size < len(teams)
            return teams[offset : offset + size], offset + size if more else None


_TRANSIENT_MESSAGES = {
    404: "Team not found",
    403: "You are not allowed to enable operations for this team",
    422: "Team is not ready",
}


def _member_error(account_id: str, code: str, message: str) -> dict[str, str]:
    return {"accountId": account_id, "code": code, "message": message}
