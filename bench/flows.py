"""Replays of what Okta, Entra ID and Saviynt send, with the upstream calls each request costs.

The request shapes follow docs/scim-clients.md (Okta's create/update/deactivate, Entra's capitalised ops,
string booleans, ``excludedAttributes=members`` and multi-member group PATCH; Saviynt as a plain
RFC 7644 client). For every request the bench counts the calls the bridge made to the simulator and
compares them with the minimum a correct bridge needs, assuming:

- reads (by id, by filter, lists) can be answered from a mirror kept fresh by the sync: 0 calls;
- a user create is one ``POST /v2/users`` (plus one call per phone contact; these flows send none);
- a user update is one ``PATCH /v2/users/{id}``;
- a deactivation in the default ``suspend`` mode is one role change plus one removal per team;
- a group create is one ``POST /v2/teams`` carrying its members;
- a membership change of one or two members is one Team Member API call per member; a larger one is
  ``PATCH /v2/teams/{id}`` with the new roster plus one ``GET`` that checks it: OpsGenie does not document
  whether ``members`` in a team PATCH replaces or merges the roster (docs/groups-strategy.md), so a correct
  bridge verifies the result (an earlier table counted the PATCH alone, 1, which only an upstream known to
  replace would allow);
- a rename is one ``PATCH /v2/teams/{id}``; a user delete is one ``DELETE /v2/users/{id}``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from bench.servers import Simulator

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

Ctx = dict[str, Any]


@dataclass(frozen=True)
class Step:
    name: str
    request: Callable[[Ctx], tuple[str, str, dict[str, Any]]]  # method, path, requests kwargs
    minimum: Callable[[Ctx], int]
    capture: str | None = None  # store the response's id in ctx under this key


def _fixed(n: int) -> Callable[[Ctx], int]:
    return lambda _ctx: n


def _patch(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"json": {"schemas": [PATCH], "Operations": list(ops)}}


def _filter(expr: str, **extra: Any) -> dict[str, Any]:
    return {"params": {"filter": expr, **extra}}


def okta(prefix: str) -> list[Step]:
    """Okta's scheduled import pages users and groups (count=100), the create flow looks the user up first,
    a profile change reads the user before its PUT, and Group Push creates, fills and renames a group."""
    user = f"{prefix}.okta@example.com"
    body = {"schemas": [CORE], "userName": user, "name": {"givenName": "Olive", "familyName": "Kta"},
            "emails": [{"primary": True, "value": user, "type": "work"}], "displayName": "Olive Kta",
            "active": True}
    updated = {**body, "name": {"givenName": "Olivia", "familyName": "Kta"}, "displayName": "Olivia Kta"}
    return [
        Step("import users (page 1)", lambda c: ("GET", "/Users", {"params": {"startIndex": 1, "count": 100}}),
             _fixed(0)),
        Step("import groups (page 1)", lambda c: ("GET", "/Groups", {"params": {"startIndex": 1, "count": 100}}),
             _fixed(0)),
        Step("lookup userName (miss)", lambda c: ("GET", "/Users", _filter(f'userName eq "{user}"', startIndex=1,
                                                                           count=100)), _fixed(0)),
        Step("create user", lambda c: ("POST", "/Users", {"json": body}), _fixed(1), capture="user"),
        Step("get user", lambda c: ("GET", f"/Users/{c['user']}", {}), _fixed(0)),
        Step("update profile (PUT)", lambda c: ("PUT", f"/Users/{c['user']}", {"json": updated}), _fixed(1)),
        Step("push group (POST, 1 member)", lambda c: ("POST", "/Groups", {"json": {
            "schemas": [GROUP], "displayName": f"{prefix} okta push",
            "members": [{"value": c["user"]}]}}), _fixed(1), capture="group"),
        Step("group add member", lambda c: ("PATCH", f"/Groups/{c['group']}", _patch(
            {"op": "add", "path": "members", "value": [{"value": c["other"]}]})), _fixed(1)),
        Step("group remove member", lambda c: ("PATCH", f"/Groups/{c['group']}", _patch(
            {"op": "remove", "path": f'members[value eq "{c["other"]}"]'})), _fixed(1)),
        Step("group rename", lambda c: ("PATCH", f"/Groups/{c['group']}", _patch(
            {"op": "replace", "value": {"id": c["group"], "displayName": f"{prefix} okta pushed"}})), _fixed(1)),
        Step("deactivate (pathless PATCH)", lambda c: ("PATCH", f"/Users/{c['user']}", _patch(
            {"op": "replace", "value": {"active": False}})), _fixed(2)),  # role change + 1 team
        Step("reactivate", lambda c: ("PATCH", f"/Users/{c['user']}", _patch(
            {"op": "replace", "value": {"active": True}})), _fixed(2)),  # role back + team back
    ]


def entra(prefix: str) -> list[Step]:
    """Four provisioning cycles: the initial one (create the user and the group, add members), an update, a
    disable after unassignment, and the delete (after the soft-delete period). Every cycle starts by querying
    a random user and group that do not exist; an object is matched by userName or displayName the first time
    only, then read by its id before each change (Microsoft's documentation of the provisioning service)."""
    user = f"{prefix}.entra@example.com"
    body = {"schemas": [CORE, ENTERPRISE], "externalId": f"{prefix}-entra", "userName": user, "active": True,
            "emails": [{"primary": True, "type": "work", "value": user}],
            "name": {"formatted": "Eve Ntra", "familyName": "Ntra", "givenName": "Eve"},
            "meta": {"resourceType": "User"}, "roles": []}

    def probes(cycle: int) -> list[Step]:
        return [
            Step(f"cycle {cycle}: probe random user", lambda c: ("GET", "/Users", _filter(
                f'userName eq "{prefix}-none{cycle}@example.com"')), _fixed(0)),
            Step(f"cycle {cycle}: probe random group", lambda c: ("GET", "/Groups", _filter(
                f'displayName eq "{prefix} none {cycle}"', excludedAttributes="members")), _fixed(0)),
        ]

    read_user = Step("read user by id", lambda c: ("GET", f"/Users/{c['user']}", {}), _fixed(0))
    read_group = Step("read group by id", lambda c: ("GET", f"/Groups/{c['group']}",
                                                     {"params": {"excludedAttributes": "members"}}), _fixed(0))
    return [
        *probes(1),
        Step("lookup userName (miss)", lambda c: ("GET", "/Users", _filter(f'userName eq "{user}"')), _fixed(0)),
        Step("create user", lambda c: ("POST", "/Users", {"json": body}), _fixed(1), capture="user"),
        Step("lookup group (miss)", lambda c: ("GET", "/Groups", _filter(
            f'displayName eq "{prefix} entra"', excludedAttributes="members")), _fixed(0)),
        Step("create group (no members)", lambda c: ("POST", "/Groups", {"json": {
            "schemas": [GROUP], "displayName": f"{prefix} entra", "members": []}}), _fixed(1), capture="group"),
        read_group,
        Step("add 3 members (one op)", lambda c: ("PATCH", f"/Groups/{c['group']}", _patch(
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": v} for v in c["trio"]]})),
             _fixed(2)),  # roster PATCH + the GET that checks it
        *probes(2),
        read_user,
        Step("update (Replace x2)", lambda c: ("PATCH", f"/Users/{c['user']}", _patch(
            {"op": "Replace", "path": "name.familyName", "value": "Ntra-Lee"},
            {"op": "Replace", "path": "name.formatted", "value": "Eve Ntra-Lee"})), _fixed(1)),
        read_group,
        Step("remove 1 member", lambda c: ("PATCH", f"/Groups/{c['group']}", _patch(
            {"op": "Remove", "path": "members", "value": [{"value": c["trio"][0]}]})), _fixed(1)),
        *probes(3),
        read_user,
        Step("disable (\"False\")", lambda c: ("PATCH", f"/Users/{c['user']}", _patch(
            {"op": "Replace", "path": "active", "value": "False"})), _fixed(1)),  # role change, no team
        *probes(4),
        read_user,
        Step("delete user", lambda c: ("DELETE", f"/Users/{c['user']}", {}), _fixed(1)),
    ]


def saviynt(prefix: str) -> list[Step]:
    user = f"{prefix}.saviynt@example.com"
    body = {"schemas": [CORE], "userName": user, "name": {"givenName": "Sam", "familyName": "Viynt"},
            "displayName": "Sam Viynt", "emails": [{"value": user, "type": "work", "primary": True}],
            "active": True}
    return [
        Step("lookup userName (miss)", lambda c: ("GET", "/Users", _filter(f'userName eq "{user}"')), _fixed(0)),
        Step("create user", lambda c: ("POST", "/Users", {"json": body}), _fixed(1), capture="user"),
        Step("replace user (PUT)", lambda c: ("PUT", f"/Users/{c['user']}", {"json": {
            **body, "displayName": "Samuel Viynt"}}), _fixed(1)),
        Step("lookup group", lambda c: ("GET", "/Groups", _filter(f'displayName eq "{c["team_name"]}"')),
             _fixed(0)),
        Step("add to group", lambda c: ("PATCH", f"/Groups/{c['team']}", _patch(
            {"op": "add", "path": "members", "value": [{"value": c["user"]}]})), _fixed(1)),
        Step("read user", lambda c: ("GET", f"/Users/{c['user']}", {}), _fixed(0)),
        Step("deactivate", lambda c: ("PATCH", f"/Users/{c['user']}", _patch(
            {"op": "replace", "path": "active", "value": False})), _fixed(2)),  # role change + 1 team
        Step("delete user", lambda c: ("DELETE", f"/Users/{c['user']}", {}), _fixed(1)),
    ]


def replay(flow: list[Step], ctx: Ctx, session: requests.Session, base_url: str,
           sim: Simulator) -> list[dict[str, Any]]:
    """Send each step; return, per step, the status, the upstream calls made and the minimum."""
    out: list[dict[str, Any]] = []
    seq = sim.last_seq()
    for step in flow:
        try:
            method, path, kwargs = step.request(ctx)
        except KeyError as missing:  # an earlier step failed to create what this one needs
            out.append({"step": step.name, "request": "-", "status": 0, "calls": 0, "upstream": [],
                        "minimum": step.minimum(ctx), "skipped": f"no {missing} from an earlier step"})
            continue
        response = session.request(method, base_url + path, timeout=120, **kwargs)
        calls = sim.calls(seq)
        if calls:
            seq = int(calls[-1]["seq"])
        if step.capture and response.status_code == 201:
            ctx[step.capture] = response.json()["id"]
        template = "/".join("{id}" if len(part) >= 20 else part for part in path.split("/"))
        out.append({"step": step.name, "request": f"{method} {template}",
                    "status": response.status_code, "calls": len(calls),
                    "upstream": [f"{c['method']} {c['path']}" for c in calls],
                    "minimum": step.minimum(ctx)})
    return out
