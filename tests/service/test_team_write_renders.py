"""A team write renders the team's document once: the store's indexer renders it from the rows the write
committed, and the write answers with that same document. Renders are counted by wrapping the one function
that makes a team's document; in process, over the in-process directory."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inprocess import InProcessBridge
from inprocess import body
from inprocess import running_inprocess

from scim_bridge.directory.models import UserFields
from scim_bridge.scim.schema import GROUP as GROUP_TYPE
from scim_bridge.service import documents
from scim_bridge.service import teams
from scim_bridge.store.records import GroupRecord

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture()
def renders(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often each team's document is rendered, by team id (from now on)."""
    counted: Counter[str] = Counter()
    render = documents.team_document

    def counting(record: GroupRecord, members: Any) -> dict[str, Any]:
        counted[record.id] += 1
        return render(record, members)

    # The indexer's renderer and the team service each call it by the name they imported.
    monkeypatch.setattr(documents, "team_document", counting)
    monkeypatch.setattr(teams, "team_document", counting)
    return counted


@pytest.fixture()
def read_through_bridge(tmp_path: Path, template_db: Path) -> Iterator[InProcessBridge]:
    yield from running_inprocess(tmp_path, template_db, read_through=True)


def create_user(bridge: InProcessBridge, name: str) -> str:
    made = bridge.scim.post("/Users", {"schemas": [USER], "userName": f"{name}@example.com",
                                       "name": {"givenName": name.title(), "familyName": "Test"}})
    assert made.status_code == 201, made.get_data(as_text=True)
    return str(body(made)["id"])


def indexed(bridge: InProcessBridge, team_id: str) -> dict[str, Any]:
    """The team's document as the search index holds it (URLs relative to the SCIM base)."""
    found = bridge.store.indexed_documents(GROUP_TYPE, [team_id])
    assert team_id in found
    return found[team_id]


def relative(resource: dict[str, Any]) -> dict[str, Any]:
    """An answer's document with the URLs the index keeps (relative to the SCIM base)."""
    base = "http://localhost/scim/v2"
    out = {**resource, "meta": {**resource["meta"], "location": resource["meta"]["location"].removeprefix(base)}}
    out["members"] = [{**m, "$ref": m["$ref"].removeprefix(base)} for m in resource["members"]]
    return out


def test_creating_and_changing_a_team_renders_its_document_once_per_write(
        inprocess_bridge: InProcessBridge, renders: Counter[str]) -> None:
    bridge = inprocess_bridge
    ada, alan, grace = (create_user(bridge, name) for name in ("ada", "alan", "grace"))
    assert renders == Counter()

    made = bridge.scim.post("/Groups", {"schemas": [GROUP], "displayName": "SRE", "members": [{"value": ada}]})
    assert made.status_code == 201, made.get_data(as_text=True)
    team_id = str(body(made)["id"])
    assert renders == Counter({team_id: 1})
    assert relative(body(made)) == indexed(bridge, team_id)

    renders.clear()
    added = bridge.scim.patch(f"/Groups/{team_id}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": alan}]}]})
    assert added.status_code in (200, 204), added.get_data(as_text=True)
    # Once for the team as it was (the base the operations apply to, and If-Match), once as written.
    assert renders == Counter({team_id: 2})
    assert {m["value"] for m in indexed(bridge, team_id)["members"]} == {ada, alan}

    renders.clear()
    replaced = bridge.scim.put(f"/Groups/{team_id}", {"schemas": [GROUP], "displayName": "SRE on call",
                                                      "members": [{"value": grace}]})
    assert replaced.status_code == 200, replaced.get_data(as_text=True)
    assert renders == Counter({team_id: 2})
    assert relative(body(replaced)) == indexed(bridge, team_id)
    assert body(replaced)["members"][0]["value"] == grace and body(replaced)["displayName"] == "SRE on call"
    again = bridge.scim.get(f"/Groups/{team_id}")
    assert again.headers["ETag"] == replaced.headers["ETag"]


def test_a_member_the_mirror_does_not_know_is_still_in_the_answer(
        read_through_bridge: InProcessBridge, renders: Counter[str]) -> None:
    """A user made upstream behind the bridge's back is not in the mirror: the index leaves it out of the
    team, the answer (rendered by the service then) shows it."""
    bridge = read_through_bridge
    ada = create_user(bridge, "ada")
    outsider = bridge.directory.create_user(UserFields(username="outsider@example.com", full_name="Out Sider",
                                                      role="User"))
    made = bridge.scim.post("/Groups", {"schemas": [GROUP], "displayName": "SRE", "members": [{"value": ada}]})
    team_id = str(body(made)["id"])
    renders.clear()
    replaced = bridge.scim.put(f"/Groups/{team_id}", {"schemas": [GROUP], "displayName": "SRE",
                                                      "members": [{"value": ada}, {"value": outsider}]})
    assert replaced.status_code == 200, replaced.get_data(as_text=True)
    assert {m["value"] for m in body(replaced)["members"]} == {ada, outsider}
    assert [m["value"] for m in indexed(bridge, team_id)["members"]] == [ada]
    assert renders[team_id] == 3  # the base, the index's document, and the answer with the outsider
