"""Cursor paging of /Groups (RFC 9865) over HTTP: teams read from the index by position and role groups
(not indexed) placed in the same order; a walk neither skips nor repeats a group that exists throughout it
while teams are created and deleted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Running
from tests.mirror.test_mirror_api import ids
from tests.mirror.test_mirror_api import listed as listed_at

CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
SORTS: list[dict[str, str]] = [{}, {"sortBy": "displayName"},
                               {"sortBy": "displayName", "sortOrder": "descending"},
                               {"sortBy": "meta.lastModified", "sortOrder": "descending"}]


def listed(bridge: Running, **params: Any) -> dict[str, Any]:
    return listed_at(bridge, "/Groups", **{"excludedAttributes": "members", **params})


def make_team(bridge: Running, name: str) -> str:
    made = bridge.scim.post("/Groups", {"schemas": [CORE_GROUP], "displayName": name})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


@pytest.mark.parametrize("sort", SORTS, ids=["default", "displayName", "displayName-desc", "lastModified-desc"])
def test_a_group_cursor_walk_matches_the_start_index_order_and_goes_back(bridge: Running,
                                                                        sort: dict[str, str]) -> None:
    for n in range(4):
        make_team(bridge, f"Paging {n}")
    everything = listed(bridge, count=1000, **sort)
    kinds = {r["urn:scim-bridge:params:scim:schemas:extension:opsgenie:2.0:Group"]["kind"]
             for r in everything["Resources"]}
    assert kinds == {"team", "role"}
    pages = [listed(bridge, count=3, cursor="", **sort)]
    assert "previousCursor" not in pages[0] and "startIndex" not in pages[0]
    while "nextCursor" in pages[-1]:
        pages.append(listed(bridge, count=3, cursor=pages[-1]["nextCursor"], **sort))
        assert pages[-1]["totalResults"] == everything["totalResults"]
        assert all("members" not in r for r in pages[-1]["Resources"])
    assert [i for page in pages for i in ids(page)] == ids(everything)
    assert len(pages) >= 3
    back = listed(bridge, count=3, cursor=pages[-1]["previousCursor"], **sort)
    assert ids(back) == ids(pages[-2])
    first = listed(bridge, count=3, cursor=pages[1]["previousCursor"], **sort)
    assert ids(first) == ids(pages[0]) and "previousCursor" not in first
    other = bridge.scim.get("/Groups", params={"sortBy": "externalId", "count": 3, "cursor": pages[1]["nextCursor"]})
    assert other.status_code == 400 and other.json()["scimType"] == "invalidCursor"


@pytest.mark.parametrize("sort", SORTS[:3], ids=["default", "displayName", "displayName-desc"])
def test_a_group_cursor_walk_is_stable_under_concurrent_creates_and_deletes(bridge: Running,
                                                                           sort: dict[str, str]) -> None:
    doomed = [make_team(bridge, f"Doomed {n}") for n in range(6)]
    kept = [make_team(bridge, f"Kept {n}") for n in range(6)]
    survivors = set(ids(listed(bridge, count=1000))) - set(doomed)
    assert set(kept) <= survivors
    seen: list[str] = []
    body = listed(bridge, count=3, cursor="", **sort)
    step = 0
    while True:
        seen += ids(body)
        if "nextCursor" not in body:
            break
        step += 1
        if doomed:
            # Teams land before the position, after it and among the rows still to come; others disappear.
            for prefix in ("AAA", "Kept", "zzz"):
                make_team(bridge, f"{prefix} new {step}")
            assert bridge.scim.delete(f"/Groups/{doomed.pop()}").status_code == 204
        body = listed(bridge, count=3, cursor=body["nextCursor"], **sort)
    assert len(seen) == len(set(seen)), "a group was repeated"
    assert survivors <= set(seen), f"groups skipped: {sorted(survivors - set(seen))}"
    assert step >= 6
