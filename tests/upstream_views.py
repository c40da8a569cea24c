"""What an upstream simulator holds, seen the same way whichever upstream the bridge writes to.

The IdP replays (tests/idp/) assert after each step on the upstream's state. OpsGenie and Atlassian
keep it in different shapes (an OpsGenie user has a role name, teams and a profile; an Atlassian account
has product roles, a custom Operations role and team memberships, and the bridge keeps the profile). A
view reads one simulator's ``/__sim/state`` and answers in one shape, so one replay asserts against either.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Protocol

import requests


@dataclass(frozen=True)
class SeenUser:
    """One person upstream. ``role``: the on-call role held ("User", "Stakeholder", "Admin", a custom
    role name), None when the upstream gives the person no on-call access. ``profile``: the attributes the
    upstream does not name alike, in ``DirectoryUser.to_json`` names (locale, time_zone, address, contacts)."""

    id: str
    username: str
    full_name: str
    role: str | None
    teams: frozenset[str]
    profile: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SeenTeam:
    id: str
    name: str
    members: frozenset[str]  # usernames
    admins: frozenset[str] | None  # usernames; None where the upstream keeps no team roles


class UpstreamView(Protocol):
    name: str
    base_url: str
    http: requests.Session
    # The role a suspended user holds upstream (None: no on-call access at all).
    suspended_role: str | None
    # A role every upstream lets the bridge grant and take back through a role group.
    grantable_role: str

    def users(self) -> list[SeenUser]: ...

    def user(self, username: str) -> SeenUser | None: ...

    def teams(self) -> list[SeenTeam]: ...

    def team(self, name: str) -> SeenTeam | None: ...

    def calls(self) -> list[dict[str, Any]]: ...

    def clear_calls(self) -> None: ...

    def writes(self) -> list[dict[str, Any]]:
        """The calls that change something upstream."""
        ...

    def delete_team(self, name: str) -> None:
        """Delete a team as someone would in the upstream's own UI."""
        ...

    def fail_next(self, kind: str, action: str, times: int = 1) -> None:
        """Make the next calls of a kind fail with ``action`` (a status such as "503"): "role-change" (the
        call that gives or takes a user's role), "team-members" (adding or removing team members)."""
        ...

    def clear_faults(self) -> None: ...

    def add_bulk(self, users: int, teams: int, members_per_team: int, prefix: str) -> None:
        """Add many users and teams directly (not through the bridge)."""
        ...


class SimulatorControl:
    """A simulator's control surface over HTTP (both simulators share its shape): state, calls, faults."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def state(self) -> dict[str, Any]:
        response = self.http.get(f"{self.base_url}/__sim/state", timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def calls(self) -> list[dict[str, Any]]:
        response = self.http.get(f"{self.base_url}/__sim/calls", timeout=10)
        response.raise_for_status()
        body = response.json()
        return list(body["calls"] if isinstance(body, dict) else body)

    def clear_calls(self) -> None:
        self.http.delete(f"{self.base_url}/__sim/calls", timeout=10).raise_for_status()

    @staticmethod
    def is_write(call: dict[str, Any]) -> bool:
        return call["method"] in ("POST", "PATCH", "PUT", "DELETE")

    def writes(self) -> list[dict[str, Any]]:
        """The calls that change something upstream."""
        return [c for c in self.calls() if self.is_write(c)]

    def reset(self, seed: str | None = None) -> None:
        body = {"seed": seed} if seed else {}
        self.http.post(f"{self.base_url}/__sim/reset", json=body, timeout=10).raise_for_status()

    def configure(self, **changes: Any) -> None:
        self.http.patch(f"{self.base_url}/__sim/config", json=changes, timeout=10).raise_for_status()

    def fault(self, method: str, path: str, action: str, times: int = 1) -> None:
        rule = {"method": method, "path": path, "action": action, "times": times}
        self.http.post(f"{self.base_url}/__sim/faults", json=[rule], timeout=10).raise_for_status()

    def clear_faults(self) -> None:
        self.http.delete(f"{self.base_url}/__sim/faults", timeout=10).raise_for_status()


class SimulatorView(SimulatorControl):
    """The parts of a view that do not depend on the upstream."""

    name = ""

    def users(self) -> list[SeenUser]:
        raise NotImplementedError

    def teams(self) -> list[SeenTeam]:
        raise NotImplementedError

    def user(self, username: str) -> SeenUser | None:
        return next((u for u in self.users() if u.username == username.lower()), None)

    def team(self, name: str) -> SeenTeam | None:
        return next((t for t in self.teams() if t.name == name), None)


class OpsGenieView(SimulatorView):
    name = "opsgenie"
    suspended_role: str | None = "Stakeholder"
    grantable_role = "Admin"

    def users(self) -> list[SeenUser]:
        return [self._user(u) for u in self.state()["users"]]

    @staticmethod
    def _user(raw: dict[str, Any]) -> SeenUser:
        address = raw.get("userAddress") or {}
        profile = {
            "locale": raw.get("locale", ""),
            "time_zone": raw.get("timeZone", ""),
            "address": {"country": address.get("country", ""), "state": address.get("state", ""),
                        "city": address.get("city", ""), "line": address.get("line", ""),
                        "zip_code": address.get("zipCode", "")} if address else None,
            "contacts": [{"method": c["contactMethod"], "to": c["to"]} for c in raw.get("userContacts", [])
                         if c["contactMethod"] != "email"],
            "tags": list(raw.get("tags", [])),
        }
        return SeenUser(raw["id"], raw["username"], raw["fullName"], raw["role"]["name"],
                        frozenset(t["name"] for t in raw.get("teams", [])), profile)

    def teams(self) -> list[SeenTeam]:
        return [
            SeenTeam(t["id"], t["name"], frozenset(m["user"]["username"] for m in t["members"]),
                     frozenset(m["user"]["username"] for m in t["members"] if m["role"] == "admin"))
            for t in self.state()["teams"]
        ]

    def delete_team(self, name: str) -> None:
        team = self.team(name)
        assert team is not None, name
        self.http.delete(f"{self.base_url}/__sim/teams/{team.id}", timeout=10).raise_for_status()

    def fail_next(self, kind: str, action: str, times: int = 1) -> None:
        rules = {"role-change": [("PATCH", "/v2/users/[^/]+")],
                 # one or two members are added one by one; more, with one roster update
                 "team-members": [("POST", "/v2/teams/[^/]+/members"), ("PATCH", "/v2/teams/[^/]+")]}[kind]
        for method, path in rules:
            self.fault(method, path, action, times)

    def add_bulk(self, users: int, teams: int, members_per_team: int, prefix: str) -> None:
        body = {"users": users, "teams": teams, "membersPerTeam": members_per_team, "prefix": prefix}
        self.http.post(f"{self.base_url}/__sim/bulk", json=body, timeout=30).raise_for_status()
