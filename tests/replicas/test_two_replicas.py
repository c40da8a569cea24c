"""Two bridge replicas (two apps on their own ports) over one PostgreSQL database and one OpsGenie.

Concurrent creates and PATCHes spread over both must behave as one bridge: what one replica wrote the other
reads at once, a create sent to both makes one user, concurrent member additions end with the exact
roster, and the upstream rate budget they share in the database keeps them together under a low upstream
limit (no 429 in the simulator's call log).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.server import SimulatorServer
from scim_bridge.store.budget import DatabaseRateBudget
from tests.conftest import Running
from tests.conftest import empty_postgres
from tests.conftest import start_bridge

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# Low enough that two replicas each keeping only their own budget overrun it in the bursts below (with a
# budget per replica the simulator answers several 429s at 12 per second), high enough that the ~55 calls the
# test makes take ~4 s of waiting, not twice that. Eight members (each create a burst of upstream calls) overrun
# it as well as more would.
LIMIT_PER_SECOND = 12


@pytest.fixture()
def replicas(simulator: SimulatorServer, bridge_pg_url: str) -> Iterator[tuple[Running, Running]]:
    simulator.state.update_config(SimulatorConfig().to_dict())
    simulator.state.reset(seed="demo")
    simulator.state.update_config({"rate_limits": {
        "configuration": {"per_second": LIMIT_PER_SECOND, "per_minute": 6000},
        "search": {"per_second": LIMIT_PER_SECOND, "per_minute": 3000},
    }})
    url = empty_postgres(bridge_pg_url)
    started = [start_bridge(simulator, None, None, database_url=url) for _ in range(2)]
    yield started[0][0], started[1][0]
    for _, server, store in started:
        server.shutdown()
        server.server_close()
        store.close()
    simulator.state.update_config(SimulatorConfig().to_dict())
    simulator.state.reset(seed=None)


def new_user(name: str) -> dict[str, Any]:
    return {"schemas": [CORE_USER], "userName": f"{name}@example.com",
            "name": {"givenName": name.capitalize(), "familyName": "Replica"}}


def test_two_replicas_behave_as_one_bridge(replicas: tuple[Running, Running]) -> None:
    a, b = replicas
    for replica in (a, b):
        budget = replica.app.extensions["scim_bridge"].client._http.budget
        assert isinstance(budget, DatabaseRateBudget)
    a.sim.clear_calls()

    # Read-after-write across replicas: a user made through A is listed and filtered through B at once.
    made = a.scim.post("/Users", new_user("ada"))
    assert made.status_code == 201, made.text
    ada = made.json()["id"]
    listed = b.scim.get("/Users", params={"filter": 'name.familyName eq "Replica"'}).json()
    assert [r["id"] for r in listed["Resources"]] == [ada]
    assert b.scim.get(f"/Users/{ada}").json()["userName"] == "ada@example.com"

    # The same create sent to both replicas at once makes one user.
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda r: r.scim.post("/Users", new_user("bo")), (a, b)))
    assert sorted(r.status_code for r in answers) in ([201, 409], [201, 201]), [r.text for r in answers]
    if [r.status_code for r in answers] == [201, 201]:
        assert answers[0].json()["id"] == answers[1].json()["id"]
    assert [u["username"] for u in a.sim.state()["users"]].count("bo@example.com") == 1

    # Users created through both replicas, then added to one team by concurrent PATCHes spread over both.
    with ThreadPoolExecutor(max_workers=6) as pool:
        created = list(pool.map(lambda i: (a, b)[i % 2].scim.post("/Users", new_user(f"member{i}")), range(8)))
    assert all(r.status_code == 201 for r in created), [r.text for r in created if r.status_code != 201]
    member_ids = sorted(r.json()["id"] for r in created)
    team = b.scim.post("/Groups", {"schemas": [CORE_GROUP], "displayName": "Replica Team"})
    assert team.status_code == 201, team.text
    team_id = team.json()["id"]

    def add(i: int) -> int:
        body = {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members",
                                                       "value": [{"value": member_ids[i]}]}]}
        return int((a, b)[i % 2].scim.patch(f"/Groups/{team_id}", body).status_code)

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(add, range(len(member_ids))))
    assert statuses == [204] * len(member_ids)
    upstream = next(t for t in a.sim.state()["teams"] if t["id"] == team_id)
    assert sorted(m["user"]["id"] for m in upstream["members"]) == member_ids
    for replica in (a, b):
        shown = replica.scim.get(f"/Groups/{team_id}").json()
        assert sorted(m["value"] for m in shown["members"]) == member_ids
        by_filter = replica.scim.get("/Users", params={"filter": f'groups.value eq "{team_id}"', "count": 100}).json()
        assert sorted(r["id"] for r in by_filter["Resources"]) == member_ids

    # A paging cursor issued by one replica is good on the other: they share the key kept in the database.
    first = a.scim.get("/Users", params={"cursor": "", "count": 4, "sortBy": "userName"}).json()
    following = b.scim.get("/Users", params={"cursor": first["nextCursor"], "count": 4, "sortBy": "userName"})
    assert following.status_code == 200, following.text
    whole = a.scim.get("/Users", params={"count": 8, "sortBy": "userName"}).json()
    paged = first["Resources"] + following.json()["Resources"]
    assert [r["id"] for r in paged] == [r["id"] for r in whole["Resources"]]

    # The shared budget held: not one upstream 429 in all that.
    calls = a.sim.calls()
    assert len(calls) > 3 * LIMIT_PER_SECOND  # enough traffic to overrun the limit without the shared budget
    assert [c for c in calls if c["status"] == 429] == []
