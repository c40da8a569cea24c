"""A write request is one unit of work: its upstream calls first, then all of its mirror changes in one store
transaction (one commit, one re-index); when that transaction fails, the upstream calls are undone.

Each test runs in both read modes, on a prompt simulator and on a slow one (every upstream call of the write
under test takes SLOW_MS), which widens the windows between the write's upstream calls and its transaction.

The transactions are counted on the bridge's real database engine (SQLAlchemy events: a committed transaction
that wrote a mirror table counts once). The store failure is a real one: a trigger in the bridge's SQLite
database refuses the write, as a full disk or a broken constraint would.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import Running
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

from tests.api.test_groups import patch_body
from tests.api.test_groups import roster
from tests.api.test_groups import uid
from tests.api.test_role_groups import role_of
from tests.faults.test_write_races import SLOW_MS
from tests.faults.test_write_races import make_team


@dataclass(frozen=True)
class Case:
    """A test's bridge (reading through or from the mirror) and the simulator latency of its write under test."""

    bridge: Running
    latency_ms: int


@pytest.fixture(params=[(True, 0), (True, SLOW_MS), (False, 0), (False, SLOW_MS)],
                ids=["read-through-prompt", "read-through-slow", "mirror-reads-prompt", "mirror-reads-slow"])
def case(bridge_factory: Any, request: pytest.FixtureRequest) -> Case:
    read_through, latency_ms = request.param
    return Case(bridge_factory(read_through=read_through), latency_ms)

# The tables of the mirror and of its search index (coordination tables such as leases and audit are not).
MIRROR_TABLES = {"users", "groups", "memberships", "suspensions", "scim_resources", "scim_values", "scim_order",
                 "scim_generations"}
WRITTEN_TABLE = re.compile(r"^\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)

MEI = "mei.chen@example.com"
SARA = "sara.nilsson@example.com"


class MirrorCommits:
    """Counts the committed transactions of ``engine`` that wrote at least one mirror table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0
        self._guard = threading.Lock()

    def _statement(self, conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        written = WRITTEN_TABLE.match(statement)
        if written is not None and written.group(1).lower() in MIRROR_TABLES:
            conn.info["mirror_written"] = True

    def _commit(self, conn: Connection) -> None:
        if conn.info.pop("mirror_written", False):
            with self._guard:
                self.count += 1

    def _rollback(self, conn: Connection) -> None:
        conn.info.pop("mirror_written", None)

    @contextmanager
    def watching(self) -> Iterator[MirrorCommits]:
        hooks: list[tuple[str, Callable[..., Any]]] = [
            ("before_cursor_execute", self._statement), ("commit", self._commit), ("rollback", self._rollback)]
        for name, hook in hooks:
            event.listen(self.engine, name, hook)
        try:
            yield self
        finally:
            for name, hook in hooks:
                event.remove(self.engine, name, hook)


def store_of(bridge: Running) -> Any:
    return bridge.app.extensions["scim_bridge"].store


def mirror_commits(bridge: Running) -> MirrorCommits:
    return MirrorCommits(store_of(bridge).engine)


@contextmanager
def refused(bridge: Running, table: str, operation: str) -> Iterator[None]:
    """The bridge's database refuses every ``operation`` (INSERT, UPDATE) on ``table`` while the block runs."""
    with store_of(bridge).engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TRIGGER refuse_{table} BEFORE {operation} ON {table} "
                             "BEGIN SELECT RAISE(ABORT, 'the disk refused the write'); END")
    try:
        yield
    finally:
        with store_of(bridge).engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TRIGGER refuse_{table}")


@contextmanager
def slowed(bridge: Running, latency_ms: int) -> Iterator[None]:
    """Every simulated OpsGenie call takes ``latency_ms`` while the block runs."""
    bridge.sim.configure(latency_ms=latency_ms)
    try:
        yield
    finally:
        bridge.sim.configure(latency_ms=0)


def add_member(user_id: str) -> dict[str, Any]:
    return patch_body({"op": "add", "path": "members", "value": [{"value": user_id}]})


def test_a_one_member_team_patch_is_one_store_transaction(case: Case) -> None:
    bridge = case.bridge
    team = make_team(bridge, "Unit Of Work", [uid(bridge, SARA)])
    assert bridge.scim.get(f"/Groups/{team}").status_code == 200

    with slowed(bridge, case.latency_ms), mirror_commits(bridge).watching() as commits:
        answer = bridge.scim.patch(f"/Groups/{team}", add_member(uid(bridge, MEI)))

    assert answer.status_code == 204, answer.text
    assert commits.count == 1
    assert set(roster(bridge, "Unit Of Work")) == {SARA, MEI}
    shown = bridge.scim.get(f"/Groups/{team}").json()
    assert {m["value"] for m in shown["members"]} == {uid(bridge, SARA), uid(bridge, MEI)}
    assert shown["meta"]["version"] == answer.headers["ETag"]


def test_a_user_patch_is_one_store_transaction(case: Case) -> None:
    bridge = case.bridge
    mei = uid(bridge, MEI)
    # Read through, a write stores the upstream snapshot first when it differs from the mirror's (as a GET
    # does; the sync's list carries no phone contacts): read once so that the mirror is current.
    assert bridge.scim.get(f"/Users/{mei}").status_code == 200
    body = patch_body({"op": "replace", "path": "name.givenName", "value": "Meiling"},
                      {"op": "replace", "path": "title", "value": "SRE"})

    with slowed(bridge, case.latency_ms), mirror_commits(bridge).watching() as commits:
        answer = bridge.scim.patch(f"/Users/{mei}", body)

    assert answer.status_code == 200, answer.text
    assert commits.count == 1
    assert answer.json()["name"]["givenName"] == "Meiling"
    assert bridge.scim.get(f"/Users/{mei}").json()["name"]["givenName"] == "Meiling"


def test_a_role_change_is_one_store_transaction(case: Case) -> None:
    bridge = case.bridge
    mei = uid(bridge, MEI)

    with slowed(bridge, case.latency_ms), mirror_commits(bridge).watching() as commits:
        answer = bridge.scim.patch("/Groups/role-admin", add_member(mei))

    assert answer.status_code == 204, answer.text
    assert commits.count == 1
    assert role_of(bridge, MEI) == "Admin"
    assert "role-admin" in [g["value"] for g in bridge.scim.get(f"/Users/{mei}").json()["groups"]]


def test_a_failed_store_write_takes_the_team_change_back_upstream(case: Case) -> None:
    bridge = case.bridge
    team = make_team(bridge, "Unit Of Work", [uid(bridge, SARA)])
    rename = {"op": "replace", "path": "displayName", "value": "Unit Of Work Renamed"}

    with slowed(bridge, case.latency_ms), refused(bridge, "memberships", "INSERT"):
        answer = bridge.scim.patch(f"/Groups/{team}", patch_body(rename, *add_member(uid(bridge, MEI))["Operations"]))

    assert answer.status_code == 500, answer.text
    assert bridge.sim.team("Unit Of Work Renamed") is None
    assert set(roster(bridge, "Unit Of Work")) == {SARA}  # the member added upstream was taken out again
    shown = bridge.scim.get(f"/Groups/{team}").json()
    assert shown["displayName"] == "Unit Of Work"
    assert {m["value"] for m in shown["members"]} == {uid(bridge, SARA)}


def test_a_failed_store_write_takes_the_user_change_back_upstream(case: Case) -> None:
    bridge = case.bridge
    mei = uid(bridge, MEI)
    before = bridge.sim.user(MEI)
    assert before is not None

    with slowed(bridge, case.latency_ms), refused(bridge, "users", "UPDATE"):
        answer = bridge.scim.patch(f"/Users/{mei}", patch_body(
            {"op": "replace", "path": "name.givenName", "value": "Meiling"}))
        role_answer = bridge.scim.patch("/Groups/role-admin", add_member(mei))

    assert answer.status_code == 500, answer.text
    assert role_answer.status_code == 500, role_answer.text
    after = bridge.sim.user(MEI)
    assert after is not None
    assert after["fullName"] == before["fullName"]  # the rename was undone upstream
    assert role_of(bridge, MEI) == before["role"]["name"]  # and so was the role
    shown = bridge.scim.get(f"/Users/{mei}").json()
    assert shown["name"]["givenName"] != "Meiling"
    assert "role-admin" not in [g["value"] for g in shown.get("groups", [])]


def test_a_create_is_one_store_transaction_and_undone_upstream_when_it_fails(case: Case) -> None:
    bridge = case.bridge

    with slowed(bridge, case.latency_ms), mirror_commits(bridge).watching() as commits:
        make_team(bridge, "Unit Of Work", [uid(bridge, SARA), uid(bridge, MEI)])
    assert commits.count == 1
    assert set(roster(bridge, "Unit Of Work")) == {SARA, MEI}

    with slowed(bridge, case.latency_ms), refused(bridge, "groups", "INSERT"):
        answer = bridge.scim.post("/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                              "displayName": "Never Made", "members": [{"value": uid(bridge, MEI)}]})
    assert answer.status_code == 500, answer.text
    assert bridge.sim.team("Never Made") is None  # the team made upstream was deleted again

    with slowed(bridge, case.latency_ms), refused(bridge, "users", "INSERT"):
        answer = bridge.scim.post("/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                             "userName": "never.made@example.com",
                                             "name": {"givenName": "Never", "familyName": "Made"}})
    assert answer.status_code == 500, answer.text
    assert bridge.sim.user("never.made@example.com") is None
