"""Whether some team roster is outstanding is asked before every answer that shows members or groups; the
answer is remembered per generation of Groups, so a list costs no query over the groups while nothing changed,
and stays right when another process (a replica, another worker on the same SQLite file) changes rosters.

Two bridges share one upstream (an in-process directory) and one database, each with its own store and
services, as two processes have; statements are counted on the first bridge's engine."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from inprocess import TOKEN
from inprocess import ScimTestClient
from inprocess import body
from sqlalchemy import event

from scim_bridge import bootstrap
from scim_bridge.config import Settings
from scim_bridge.directory.memory import MemoryDirectory
from scim_bridge.directory.models import TeamMember
from scim_bridge.directory.models import UserFields
from scim_bridge.store.store import Store
from scim_bridge.web.app import create_app
from tests.conftest import empty_postgres

# The check for an outstanding roster, as either database is sent it.
OUTSTANDING_CHECK = re.compile(r"members_known IS (0|false)", re.IGNORECASE)


@dataclass
class Process:
    """One bridge process: its own store (engine) and services over the shared database and upstream."""

    scim: ScimTestClient
    parts: bootstrap.Components
    statements: list[str]

    def checks(self) -> int:
        """Outstanding-roster queries sent since the last call."""
        found = sum(1 for statement in self.statements if OUTSTANDING_CHECK.search(statement))
        self.statements.clear()
        return found

    def outstanding(self) -> bool:
        return self.parts.services.sync.rosters.ledger.any_outstanding()

    def close(self) -> None:
        self.parts.store.close()


def start(url: str, upstream: MemoryDirectory) -> Process:
    # No roster read at the import: every team's is outstanding until an answer or a sync loads it.
    settings = Settings(database_url=url, sync_interval=0, sync_import_rosters=0).with_token(TOKEN, "test")
    parts = bootstrap.build(settings, store=Store.from_url(url), directory=upstream)
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(parts.store.engine, "before_cursor_execute", note)
    app = create_app(settings, components=parts)
    return Process(ScimTestClient(app.test_client()), parts, statements)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path, template_db: Path) -> str:
    if request.param == "postgresql":
        return empty_postgres(request.getfixturevalue("bridge_pg_url"))
    shutil.copyfile(template_db, tmp_path / "shared.db")
    return f"sqlite:///{tmp_path / 'shared.db'}"


@pytest.fixture()
def upstream() -> MemoryDirectory:
    return MemoryDirectory()


@pytest.fixture()
def processes(database: str, upstream: MemoryDirectory) -> Iterator[tuple[Process, Process]]:
    first, second = start(database, upstream), start(database, upstream)
    yield first, second
    first.close()
    second.close()


def user(upstream: MemoryDirectory, name: str) -> str:
    return upstream.create_user(UserFields(username=f"{name}@example.com", full_name=name.title(), role="User"))


def listed(process: Process) -> dict[str, set[str]]:
    """displayName -> member ids of every team, as a list with members answers."""
    page = process.scim.get("/Groups", query_string={"filter": 'displayName sw "team-"'})
    assert page.status_code == 200, page.get_data(as_text=True)
    return {g["displayName"]: {m["value"] for m in g.get("members", [])} for g in body(page)["Resources"]}


def test_a_list_asks_again_only_when_another_process_changed_the_rosters(
        processes: tuple[Process, Process], upstream: MemoryDirectory) -> None:
    first, second = processes
    ada, alan = user(upstream, "ada"), user(upstream, "alan")
    upstream.create_team("team-sre", "", [TeamMember(ada)])

    assert listed(first) == {"team-sre": {ada}}  # the import, then the roster loaded before the answer
    listed(first)
    first.checks()
    # Nothing changed: the remembered answer stands, no query over the groups.
    assert listed(first) == {"team-sre": {ada}}
    assert listed(first) == {"team-sre": {ada}}
    assert first.checks() == 0

    # Another process writes the team list: a new team, its roster outstanding.
    upstream.create_team("team-oncall", "", [TeamMember(alan)])
    second.parts.services.sync.write_team_list()
    assert listed(first) == {"team-sre": {ada}, "team-oncall": {alan}}
    assert first.checks() >= 1
    listed(first)
    first.checks()
    assert listed(first) == {"team-sre": {ada}, "team-oncall": {alan}}
    assert first.checks() == 0


def test_a_roster_held_by_another_process_is_seen_though_no_document_changed(
        processes: tuple[Process, Process], upstream: MemoryDirectory) -> None:
    """An empty team's roster loaded elsewhere changes no indexed document; the answer follows all the same."""
    first, second = processes
    ada = user(upstream, "ada")
    upstream.create_team("team-sre", "", [TeamMember(ada)])
    quiet = upstream.create_team("team-quiet", "", [])
    second.parts.services.sync.ensure_initial()
    assert first.outstanding() and first.outstanding()
    first.checks()
    assert first.outstanding()
    assert first.checks() == 0  # remembered

    assert second.parts.services.sync.rosters.for_groups([quiet]) == 1
    assert second.outstanding()  # team-sre's is still outstanding
    assert first.outstanding()
    assert first.checks() == 1  # asked again: the generation moved
    assert second.parts.services.sync.rosters.everything() == 1
    assert not first.outstanding()
    assert first.checks() == 1
    assert not first.outstanding()
    assert first.checks() == 0
    assert listed(first) == {"team-sre": {ada}, "team-quiet": set()}
