"""What an upstream simulator holds, seen the same way whichever upstream the bridge writes to.

The IdP replays (tests/idp/) assert after each step on the upstream's state. OpsGenie and Atlassian
keep it in different shapes (an OpsGenie user has a role name, teams and a profile; an Atlassian account
has product roles, a custom Operations role and team memberships, and the bridge keeps the profile). A
view reads one simulator's ``/__sim/state`` and answers in one shape, so one replay asserts against either.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Protocol

import requests

from scim_bridge.config import AtlassianSettings
from scim_bridge.directory.links import LinkStore
from scim_bridge.directory.links import TeamLink
from scim_bridge.directory.links import UserLink
from scim_bridge.ops.demo import migrated_seed
from scim_bridge.simulator.atlassian import ADMIN_API_KEY
from scim_bridge.simulator.atlassian import ADMIN_EMAIL
from scim_bridge.simulator.atlassian import API_TOKEN
from scim_bridge.simulator.atlassian import CLOUD_ID
from scim_bridge.simulator.atlassian import ORG_ID
from scim_bridge.simulator.atlassian import SITE_ID
from scim_bridge.simulator.atlassian import jsm_resource


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
    # Whether a user's userName (its e-mail) can change upstream.
    renames_users: bool
    # Upstream calls of a look-up: ``userName eq`` of a user the bridge does not know, ``displayName eq`` of a team.
    missing_user_lookup_calls: int
    team_lookup_calls: int

    def users(self) -> list[SeenUser]: ...

    def user(self, username: str) -> SeenUser | None: ...

    def teams(self) -> list[SeenTeam]: ...

    def team(self, name: str) -> SeenTeam | None: ...

    def removed(self, username: str) -> bool:
        """After a SCIM DELETE: the upstream keeps nothing of this person that the bridge manages."""
        ...

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

    def removed(self, username: str) -> bool:
        return self.user(username) is None


class OpsGenieView(SimulatorView):
    name = "opsgenie"
    suspended_role: str | None = "Stakeholder"
    grantable_role = "Admin"
    renames_users = True
    missing_user_lookup_calls = 1  # GET /v2/users/{name}: 404
    team_lookup_calls = 1  # GET /v2/teams/{name}?identifierType=name

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


def atlassian_settings(base_url: str, account_scope: str = "product") -> AtlassianSettings:
    """The bridge's Atlassian settings for one simulator serving all four API families."""
    return AtlassianSettings(api_url=base_url, site_url=base_url, org_id=ORG_ID, cloud_id=CLOUD_ID, site_id=SITE_ID,
                             email=ADMIN_EMAIL, api_token=API_TOKEN, admin_api_key=ADMIN_API_KEY,
                             account_scope=account_scope)


def migrated_from(opsgenie_state: dict[str, Any]) -> dict[str, Any]:
    """A ``/__sim/seed`` body for the Atlassian simulator: the org as Atlassian's OpsGenie-to-JSM migration
    leaves this OpsGenie account (see :func:`scim_bridge.ops.demo.migrated_seed`)."""
    return migrated_seed(opsgenie_state, SITE_ID)


class JsmView(SimulatorView):
    """The Atlassian simulator, as the bridge with ``SCIM_BRIDGE_UPSTREAM=jsm`` sees it: accounts (without the
    bridge's own calling account) with their on-call role, teams (not deleted) with their members. What Atlassian
    does not hold of a person (locale, address, contacts...) is read from the bridge's link store."""

    name = "jsm"
    suspended_role: str | None = None  # a suspended user holds no JSM product role
    grantable_role = "Stakeholder"
    renames_users = False  # an Atlassian account's e-mail is not the bridge's to change
    missing_user_lookup_calls = 0  # only linked users exist for the bridge: the link store answers
    team_lookup_calls = 3  # the team list (no name filter), then the team and its members

    def __init__(self, base_url: str, links: LinkStore) -> None:
        super().__init__(base_url)
        self.links = links

    def _accounts(self, state: dict[str, Any]) -> list[dict[str, Any]]:
        return [a for a in state["accounts"] if a["email"] != ADMIN_EMAIL and a["status"] != "removed"]

    def users(self) -> list[SeenUser]:
        state = self.state()
        teams = [t for t in state["teams"] if not t["deleted"]]
        return [self._user(a, frozenset(t["displayName"] for t in teams if a["accountId"] in t["members"]))
                for a in self._accounts(state)]

    def _user(self, account: dict[str, Any], teams: frozenset[str]) -> SeenUser:
        link = self.links.user_by_account(account["accountId"])
        profile = dict(link.profile) if link is not None else {}
        roles = {r["role"] for r in account["productRoles"] if r["resource"] == jsm_resource()}
        role: str | None = None
        if account["status"] == "suspended":
            role = None
        elif account["customRole"] and "atlassian/user" in roles:
            role = account["customRole"]
        elif "atlassian/user" in roles:
            # Operations global admin is given in Atlassian's admin UI; the bridge only reports it.
            role = profile.get("role") if profile.get("role") in ("Admin", "Owner") else "User"
        elif "atlassian/stakeholder" in roles:
            role = "Stakeholder"
        full_name = str(profile.get("full_name") or account["name"] or "")
        return SeenUser(account["accountId"], account["email"].lower(), full_name, role, teams, profile)

    def removed(self, username: str) -> bool:
        """An Atlassian account outlives the bridge's DELETE (it carries the person's other products): it
        keeps no JSM product role, no team, and no link."""
        user = self.user(username)
        return user is None or (user.role is None and not user.teams and not user.profile)

    def teams(self) -> list[SeenTeam]:
        state = self.state()
        emails = {a["accountId"]: a["email"].lower() for a in state["accounts"]}
        return [SeenTeam(t["teamId"], t["displayName"], frozenset(emails[m] for m in t["members"]), None)
                for t in state["teams"] if not t["deleted"]]

    @staticmethod
    def is_write(call: dict[str, Any]) -> bool:
        reading_members = call["method"] == "POST" and call["path"].endswith("/members")
        return call["method"] in ("POST", "PATCH", "PUT", "DELETE") and not reading_members

    def delete_team(self, name: str) -> None:
        team = self.team(name)
        assert team is not None, name
        path = f"/gateway/api/public/teams/v1/org/{ORG_ID}/teams/{team.id}"
        self.http.delete(self.base_url + path, auth=(ADMIN_EMAIL, API_TOKEN), timeout=10).raise_for_status()

    def fail_next(self, kind: str, action: str, times: int = 1) -> None:
        path = {"role-change": "/admin/v1/orgs/[^/]+/users/[^/]+/roles/(assign|revoke)",
                "team-members": "/gateway/api/public/teams/v1/org/[^/]+/teams/[^/]+/members/(add|remove)"}[kind]
        self.fault("POST", path, action, times)

    def seed(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(f"{self.base_url}/__sim/seed", json=body, timeout=30)
        response.raise_for_status()
        made: dict[str, Any] = response.json()
        return made

    def add_bulk(self, users: int, teams: int, members_per_team: int, prefix: str) -> None:
        """Accounts and ops-enabled teams added in Atlassian, and linked as a migration links them."""
        emails = [f"{prefix}.user{n:03d}@example.com" for n in range(users)]
        made = self.seed({
            "accounts": [{"email": e, "name": f"{prefix.title()} User {n}"} for n, e in enumerate(emails)],
            "teams": [{"displayName": f"{prefix}-team-{n:03d}",
                       "members": [emails[(n + k) % users] for k in range(members_per_team)]} for n in range(teams)],
        })
        for account in made["accounts"]:
            self.links.save_user(UserLink(account["accountId"], account["accountId"], account["email"],
                                          {"full_name": account["name"], "role": "User", "contacts": []}))
        for team in made["teams"]:
            self.links.save_team(TeamLink(uuid.uuid4().hex, team["teamId"], team["displayName"]))
