"""At 10,000 users and 500 teams, lists, filters, sorts and pages come from the index: exact totals and no
upstream call at all (checked on the simulator's call log)."""

from __future__ import annotations

import math
from typing import Any

from tests.conftest import Running

USERS = 10_000
TEAMS = 500
DEMO_USERS = 7
DEMO_TEAMS = 3


def listed(bridge: Running, path: str, **params: Any) -> dict[str, Any]:
    response = bridge.scim.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_lists_at_ten_thousand_users_make_no_upstream_call(bridge_factory: Any) -> None:
    bridge: Running = bridge_factory()
    made = bridge.sim.http.post(f"{bridge.sim.base_url}/__sim/bulk",
                                json={"users": USERS, "teams": TEAMS, "membersPerTeam": 3}, timeout=60)
    assert made.status_code == 201, made.text
    bridge.sim.clear_calls()
    result = bridge.app.extensions["scim_bridge"].sync.run()
    assert result is not None and result.users == USERS + DEMO_USERS and result.teams == TEAMS + DEMO_TEAMS
    sync_calls = [(c["method"], c["path"]) for c in bridge.sim.calls()]
    user_pages = [c for c in sync_calls if c == ("GET", "/v2/users")]
    team_reads = [c for c in sync_calls if c[0] == "GET" and c[1].startswith("/v2/teams/")]
    assert len(user_pages) <= math.ceil((USERS + DEMO_USERS) / 100)
    assert len(team_reads) == TEAMS + DEMO_TEAMS  # one call per team, for its members
    assert len(sync_calls) == len(user_pages) + len(team_reads) + 2  # plus the team list and the role list
    bridge.sim.clear_calls()

    first = listed(bridge, "/Users", count=100)
    assert first["totalResults"] == USERS + DEMO_USERS and first["itemsPerPage"] == 100

    prefix = listed(bridge, "/Users", filter='userName sw "user0012"', sortBy="userName",
                    sortOrder="descending", startIndex=3, count=5)
    assert prefix["totalResults"] == 10  # user00120 .. user00129
    assert [r["userName"] for r in prefix["Resources"]] == [f"user0012{n}@example.com" for n in (7, 6, 5, 4, 3)]

    by_display = listed(bridge, "/Users", filter='displayName eq "User 04242"')
    assert [r["userName"] for r in by_display["Resources"]] == ["user04242@example.com"]

    deep = listed(bridge, "/Users", sortBy="userName", startIndex=9001, count=50, attributes="userName")
    assert deep["totalResults"] == USERS + DEMO_USERS and len(deep["Resources"]) == 50
    assert deep["Resources"][0]["userName"] < deep["Resources"][-1]["userName"]

    complex_filter = listed(bridge, "/Users", filter='emails[type eq "work" and value co "user0999"] or '
                                                     'userName eq "nobody@example.com" and active eq true')
    assert complex_filter["totalResults"] == 10  # user09990 .. user09999

    teams = listed(bridge, "/Groups", filter='displayName sw "team-00"', count=10)
    assert teams["totalResults"] == 96 and teams["itemsPerPage"] == 10  # team-0004 .. team-0099 (after the demo)

    member = bridge.scim.get("/Users", params={"filter": 'userName sw "user00008@"'}).json()["Resources"][0]
    in_teams = listed(bridge, "/Groups", filter=f'members.value eq "{member["id"]}"', excludedAttributes="members")
    assert in_teams["totalResults"] >= 2  # at least one team and its role group

    groups = listed(bridge, "/Groups", sortBy="displayName", startIndex=2, count=20, excludedAttributes="members")
    assert groups["totalResults"] >= TEAMS + DEMO_TEAMS + 4
    names = [r["displayName"] for r in groups["Resources"]]
    assert names == sorted(names, key=str.lower) and any(n.startswith("role:") for n in names)
    last = listed(bridge, "/Groups", sortBy="displayName", sortOrder="descending", count=3, attributes="displayName")
    assert [r["displayName"] for r in last["Resources"]] == ["team-0503", "team-0502", "team-0501"]

    cursor = listed(bridge, "/Users", cursor="", count=200)
    second = listed(bridge, "/Users", cursor=cursor["nextCursor"], count=200)
    assert not {r["id"] for r in cursor["Resources"]} & {r["id"] for r in second["Resources"]}

    assert bridge.sim.calls() == []
