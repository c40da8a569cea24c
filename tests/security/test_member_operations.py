"""CPU amplification: a PATCH of 1,000 single-member operations (the most a PATCH may carry) on a
1,000-member team compares only the members it names, not the whole roster once per operation.

The bridge runs in this process (over HTTP on loopback), so the test counts the element comparisons the
PATCH makes: before, every ``members[value eq "…"]`` tested each of the team's members (half a million tests
for the request); now each operation finds its member through an index. The count does not depend on the
team's size, so the team is only as large as the PATCH.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import Running

from scim_bridge.scim import elements
from scim_bridge.scim.patch import ElementFilter

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
TEAM_SIZE = 1000
CHANGES = 500  # removed, and as many added: 1,000 operations


def counting(function: Callable[..., Any], counter: list[int]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        counter[0] += 1
        return function(*args, **kwargs)
    return counted


def test_member_operations_cost_what_they_change(bridge: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    made = bridge.sim.http.post(f"{bridge.sim.base_url}/__sim/bulk",
                                json={"users": TEAM_SIZE + CHANGES, "prefix": "amp"}, timeout=60)
    made.raise_for_status()
    ids = sorted(u["id"] for u in bridge.sim.state()["users"] if u["username"].startswith("amp"))
    members, outsiders = ids[:TEAM_SIZE], ids[TEAM_SIZE:]
    team = bridge.sim.http.post(f"{bridge.sim.base_url}/__sim/teams", timeout=60, json={
        "name": "Everyone", "members": [{"user": {"id": uid}, "role": "user"} for uid in members]})
    team.raise_for_status()
    bridge.app.extensions["scim_bridge"].sync.run()  # the mirror learns the new users and team

    comparisons = [0]
    monkeypatch.setattr(ElementFilter, "matches", counting(ElementFilter.matches, comparisons))
    monkeypatch.setattr(elements, "same_element", counting(elements.same_element, comparisons))
    removed = members[::TEAM_SIZE // CHANGES]
    operations: list[dict[str, Any]] = []
    for gone, new in zip(removed, outsiders, strict=True):
        operations.append({"op": "remove", "path": f'members[value eq "{gone}"]'})
        operations.append({"op": "add", "path": "members", "value": [{"value": new}]})
    assert len(operations) == 1000
    response = bridge.scim.patch(f"/Groups/{team.json()['id']}", {"schemas": [PATCH], "Operations": operations})
    assert response.status_code == 204, response.text

    # At most one comparison per operation (an added member equal to one already there), not 1,000 x 1,000.
    assert comparisons[0] <= len(operations)
    upstream = next(t for t in bridge.sim.state()["teams"] if t["id"] == team.json()["id"])
    assert {m["user"]["id"] for m in upstream["members"]} == (set(members) - set(removed)) | set(outsiders)

    # The same on a second PATCH naming members already removed or already there: no-ops, still cheap.
    comparisons[0] = 0
    again = bridge.scim.patch(f"/Groups/{team.json()['id']}", {"schemas": [PATCH], "Operations": operations})
    assert again.status_code == 204, again.text
    assert comparisons[0] <= len(operations)
