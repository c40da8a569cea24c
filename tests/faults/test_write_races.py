"""Races and partial failures of the write path, over real HTTP, in both read modes.

Each test sends writes that used to interleave (released together on a barrier, the simulator slowed down to
widen the windows) or that fail midway (a scripted upstream fault), and checks the end state upstream and
in the bridge: nothing lost, nothing half-applied. The assertions hold whatever the interleaving.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

import pytest
import requests
from conftest import Running
from conftest import ScimClient

from scim_bridge.scim.schema import OPSGENIE_USER
from tests.api.test_groups import group_id
from tests.api.test_groups import patch_body
from tests.api.test_groups import roster
from tests.api.test_groups import uid
from tests.api.test_role_groups import role_of
from tests.faults.test_concurrency import all_at_once

CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"

MODES = pytest.mark.parametrize("read_through", [True, False], ids=["read-through", "mirror-reads"])
# Milliseconds each simulated OpsGenie call takes in the race tests.
SLOW_MS = 40

Job = Callable[[ScimClient], requests.Response]


def slowed_race(bridge: Running, jobs: list[Job]) -> list[requests.Response]:
    """``jobs`` at once (see ``all_at_once``) with every OpsGenie call taking SLOW_MS; the checks after them run at
    full speed (the slowness widens the race windows, nothing else)."""
    bridge.sim.configure(latency_ms=SLOW_MS)
    try:
        return all_at_once(bridge, jobs)
    finally:
        bridge.sim.configure(latency_ms=0)


def make_team(bridge: Running, name: str, members: Sequence[str] = ()) -> str:
    made = bridge.scim.post("/Groups", {"schemas": [CORE_GROUP], "displayName": name,
                                        "members": [{"value": m} for m in members]})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def set_active(client: ScimClient, user_id: str, active: bool) -> requests.Response:
    return client.patch(f"/Users/{user_id}", patch_body({"op": "replace", "path": "active", "value": active}))


def add_member(group: str, user_id: str) -> Job:
    body = patch_body({"op": "add", "path": "members", "value": [{"value": user_id}]})
    return lambda c: c.patch(f"/Groups/{group}", body)


TOM = "tom.becker@example.com"


@MODES
def test_teams_added_at_once_for_a_suspended_user_are_all_restored(bridge_factory: Any, read_through: bool) -> None:
    """Four PATCHes add one suspended user to four teams at once: all answer 204, and reactivation puts the
    user in all four (none of the suspension record's updates is lost)."""
    bridge: Running = bridge_factory(read_through=read_through)
    tom = uid(bridge, TOM)
    teams = [make_team(bridge, f"Night Shift {n}") for n in range(4)]
    assert set_active(bridge.scim, tom, False).status_code == 200

    answers = slowed_race(bridge, [add_member(team, tom) for team in teams])

    assert [a.status_code for a in answers] == [204] * 4, [a.text for a in answers]
    assert all(TOM not in roster(bridge, f"Night Shift {n}") for n in range(4))  # suspended: in no team yet
    assert set_active(bridge.scim, tom, True).status_code == 200
    assert all(TOM in roster(bridge, f"Night Shift {n}") for n in range(4))
    groups = {g["value"] for g in bridge.scim.get(f"/Users/{tom}").json().get("groups", [])}
    assert set(teams) <= groups


@MODES
@pytest.mark.parametrize("resource", ["user", "team"])
def test_two_writes_with_one_if_match_let_exactly_one_through(bridge_factory: Any, read_through: bool,
                                                               resource: str) -> None:
    """Two PATCHes carrying the same If-Match version: one applies, the other gets 412 and changes nothing."""
    bridge: Running = bridge_factory(read_through=read_through)
    path = f"/Users/{uid(bridge, TOM)}" if resource == "user" else f"/Groups/{group_id(bridge, 'Payments')}"
    attribute = "displayName"
    version = bridge.scim.get(path).json()["meta"]["version"]

    def rename(value: str) -> Job:
        return lambda c: c.patch(path, patch_body({"op": "replace", "path": attribute, "value": value}),
                                 headers={"If-Match": version})

    answers = slowed_race(bridge, [rename("Tom One"), rename("Tom Two")] if resource == "user"
                          else [rename("Payments One"), rename("Payments Two")])

    codes = sorted(a.status_code for a in answers)
    assert codes in ([200, 412], [204, 412]), [a.text for a in answers]
    winner = next(a for a in answers if a.status_code != 412)
    shown = bridge.scim.get(path).json()
    if winner.status_code == 200:
        assert shown[attribute] == winner.json()[attribute]
    assert shown["meta"]["version"] != version


@MODES
@pytest.mark.parametrize("adds", [1, 2], ids=["per-member", "roster"])
def test_a_team_write_failing_midway_changes_nothing(bridge_factory: Any, read_through: bool, adds: int) -> None:
    """A PATCH renames Payments, removes one member and adds others; the member removal, the last upstream
    call, fails. Per member: after the rename and the add. As a roster update: after the PATCH that renamed
    the team and merged the roster (an upstream that merges rosters), when the removal is repaired member by
    member. The client gets the error, and OpsGenie keeps the team as it was: name, members and all."""
    bridge: Running = bridge_factory(read_through=read_through)
    gid = group_id(bridge, "Payments")
    before = roster(bridge, "Payments")
    joining = ["tom.becker@example.com", "jordan.lee@example.com"][:adds]
    if adds == 2:
        bridge.sim.configure(team_patch_members="merge")
    bridge.sim.fault("DELETE", f"/v2/teams/{gid}/members/.*", "400")
    answer = bridge.scim.patch(f"/Groups/{gid}", patch_body(
        {"op": "replace", "path": "displayName", "value": "Payments Core"},
        {"op": "remove", "path": f'members[value eq "{uid(bridge, "sara.nilsson@example.com")}"]'},
        {"op": "add", "path": "members", "value": [{"value": uid(bridge, name)} for name in joining]},
    ))
    bridge.sim.clear_faults()

    assert answer.status_code >= 400, answer.text
    assert bridge.sim.team("Payments Core") is None
    assert roster(bridge, "Payments") == before
    shown = bridge.scim.get(f"/Groups/{gid}").json()
    assert shown["displayName"] == "Payments"
    assert sorted(m["display"] for m in shown["members"]) == sorted(before)


@MODES
@pytest.mark.parametrize("strategy", ["per-member", "roster"])
def test_a_rename_with_adds_failing_after_the_rename_is_undone(bridge_factory: Any, read_through: bool,
                                                               strategy: str) -> None:
    """A PATCH renames Payments and adds two users. Per member: the rename and the first add go through, the
    second add fails. As a roster update (one member removed too): the PATCH that renamed the team and
    replaced its roster goes through, the read that checks it fails. Either way the client gets the error, the
    rename is undone, the member taken out is put back and those added are taken out again."""
    bridge: Running = bridge_factory(read_through=read_through)
    gid = group_id(bridge, "Payments")
    before = roster(bridge, "Payments")
    operations = [{"op": "replace", "path": "displayName", "value": "Payments Core"},
                  {"op": "add", "path": "members",
                   "value": [{"value": uid(bridge, name)} for name in (TOM, "jordan.lee@example.com")]}]
    if strategy == "per-member":
        failing = ("POST", f"/v2/teams/{gid}/members")
    else:
        operations.append({"op": "remove", "path": f'members[value eq "{uid(bridge, "sara.nilsson@example.com")}"]'})
        failing = ("GET", f"/v2/teams/{gid}")
    if strategy == "per-member" or read_through:
        bridge.sim.fault(*failing, "delay:0")  # the first such call (an add, or the read before the write) passes
    bridge.sim.fault(*failing, "400")
    bridge.sim.clear_calls()

    answer = bridge.scim.patch(f"/Groups/{gid}", patch_body(*operations))
    bridge.sim.clear_faults()

    assert answer.status_code == 400, answer.text
    assert answer.json()["status"] == "400"
    renames = [c for c in bridge.sim.calls() if c["method"] == "PATCH" and c["path"] == f"/v2/teams/{gid}"]
    assert len(renames) >= 2  # the rename went upstream, and was undone
    assert bridge.sim.team("Payments Core") is None
    assert roster(bridge, "Payments") == before
    shown = bridge.scim.get(f"/Groups/{gid}").json()
    assert shown["displayName"] == "Payments"
    assert sorted(m["display"] for m in shown["members"]) == sorted(before)


@MODES
def test_a_deactivation_racing_team_adds_never_leaves_the_user_in_a_team(bridge_factory: Any,
                                                                         read_through: bool) -> None:
    """A user is deactivated while three PATCHes add it to three teams: whichever runs first, the suspended
    user is in none of them, and reactivation puts it in all three."""
    bridge: Running = bridge_factory(read_through=read_through)
    tom = uid(bridge, TOM)
    teams = [make_team(bridge, f"Rota {n}") for n in range(3)]

    answers = slowed_race(bridge, [lambda c: set_active(c, tom, False), *(add_member(t, tom) for t in teams)])

    assert [a.status_code for a in answers] == [200, 204, 204, 204], [a.text for a in answers]
    assert all(TOM not in roster(bridge, f"Rota {n}") for n in range(3))
    assert set_active(bridge.scim, tom, True).status_code == 200
    assert all(TOM in roster(bridge, f"Rota {n}") for n in range(3))


def role_group(bridge: Running, role: str) -> str:
    found = bridge.scim.get("/Groups", params={"filter": f'displayName eq "role:{role}"'}).json()["Resources"]
    assert len(found) == 1, found
    return str(found[0]["id"])


@MODES
def test_a_role_group_write_failing_midway_changes_no_role(bridge_factory: Any, read_through: bool) -> None:
    """Three users join role:Admin; the second role change fails upstream. The first is given its role
    back: no user's role changed."""
    bridge: Running = bridge_factory(read_through=read_through)
    names = ["tom.becker@example.com", "mei.chen@example.com", "jordan.lee@example.com"]
    before = {name: role_of(bridge, name) for name in names}
    admins = role_group(bridge, "Admin")
    ids = [uid(bridge, name) for name in names]
    second = ids[1]
    bridge.sim.fault("*", f"/v2/users/{second}", "400")

    answer = bridge.scim.patch(f"/Groups/{admins}", patch_body(
        {"op": "add", "path": "members", "value": [{"value": i} for i in ids]}))
    bridge.sim.clear_faults()

    assert answer.status_code >= 400, answer.text
    assert {name: role_of(bridge, name) for name in names} == before
    holders = {m["value"] for m in bridge.scim.get(f"/Groups/{admins}").json()["members"]}
    assert not holders & set(ids)


@MODES
def test_a_role_given_by_a_role_group_shows_its_role_id(bridge_factory: Any, read_through: bool) -> None:
    bridge: Running = bridge_factory(read_through=read_through)
    tom = uid(bridge, TOM)
    answer = bridge.scim.patch(f"/Groups/{role_group(bridge, 'Admin')}", patch_body(
        {"op": "add", "path": "members", "value": [{"value": tom}]}))
    assert answer.status_code in (200, 204), answer.text
    admin_id = uid(bridge, "priya.shah@example.com")  # an Admin from the start: its roleId is the Admin role's
    expected = bridge.scim.get(f"/Users/{admin_id}").json()[OPSGENIE_USER].get("roleId")
    assert expected
    assert bridge.scim.get(f"/Users/{tom}").json()[OPSGENIE_USER].get("roleId") == expected
    assert role_of(bridge, TOM) == "Admin"


# The write lease's lifetime in the lease test on PostgreSQL, and the simulator's latency there: the three
# member removals alone take over 1 s, over twice the lease's lifetime (the holder renews it every third of it).
LEASE_TTL = 0.5
LEASE_TEST_MS = 340


@pytest.mark.parametrize(("db_backend", "read_through"),
                         [("sqlite", True), ("sqlite", False), ("postgresql", False)],
                         ids=["sqlite-read-through", "sqlite-mirror-reads", "postgresql-mirror-reads"],
                         indirect=["db_backend"])
def test_a_write_outlasting_its_lease_keeps_other_replicas_out(bridge_factory: Any, db_backend: str,
                                                                read_through: bool) -> None:
    """Two replicas over one database each take three members out of one team, one call per member, at once:
    the second replica's calls start only after the first one's end (never interleaved), and both apply.
    On PostgreSQL the lock is a lease in the store, and the simulator is so slow that a write lasts over twice
    the lease's lifetime: the lease is renewed while held. On SQLite it is a byte lock of the lock file, which
    needs no renewal (held until given back): a slowed simulator is enough to overlap the two writes."""
    a: Running = bridge_factory(read_through=read_through, write_lease_ttl=LEASE_TTL)
    b: Running = bridge_factory(read_through=read_through, write_lease_ttl=LEASE_TTL,
                                database_url=a.settings.database_url)
    members = []
    for n in range(6):
        made = a.scim.post("/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                      "userName": f"lease{n}@example.com",
                                      "name": {"givenName": "Lease", "familyName": f"Holder{n}"}})
        assert made.status_code == 201, made.text
        members.append(str(made.json()["id"]))
    gid = make_team(a, "Long Writes", members)
    for replica in (a, b):
        replica.app.extensions["scim_bridge"].groups.roster_threshold = 100  # one call per member
    a.sim.configure(latency_ms=LEASE_TEST_MS if db_backend == "postgresql" else SLOW_MS)
    a.sim.clear_calls()

    def remove(client: ScimClient, ids: list[str]) -> requests.Response:
        return client.patch(f"/Groups/{gid}", patch_body(*({"op": "remove", "path": f'members[value eq "{i}"]'}
                                                    for i in ids)))

    first, second = members[:3], members[3:]
    clients = {"a": ScimClient(a.scim.base_url), "b": ScimClient(b.scim.base_url)}
    answers = all_at_once(a, [lambda _: remove(clients["a"], first), lambda _: remove(clients["b"], second)])
    a.sim.configure(latency_ms=0)

    assert [r.status_code for r in answers] == [204, 204], [r.text for r in answers]
    assert roster(a, "Long Writes") == {}
    removed = [c["path"].rsplit("/", 1)[-1] for c in a.sim.calls()
               if c["method"] == "DELETE" and c["path"].startswith(f"/v2/teams/{gid}/members/")]
    owners = ["a" if user in first else "b" for user in removed]
    assert sorted(removed) == sorted(members)
    assert owners in (["a"] * 3 + ["b"] * 3, ["b"] * 3 + ["a"] * 3), owners
