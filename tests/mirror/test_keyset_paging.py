"""Keyset paging of the search index (SQLite and PostgreSQL): startIndex pages equal the offset semantics
whether reached from a remembered boundary or not, and a walk by position neither skips nor repeats a row
that exists throughout it while others are inserted and deleted."""

from __future__ import annotations

from typing import Any

import pytest
from mirror.engine_index import ScimIndex
from sqlalchemy.engine import Engine

from scim_bridge.scim.filters import FilterNode
from scim_bridge.scim.filters import parse_filter
from scim_bridge.scim.schema import CORE_USER
from scim_bridge.scim.schema import USER
from scim_bridge.scim.schema import AttributePath
from scim_bridge.store import index as index_module
from scim_bridge.store import keyset
from scim_bridge.store.order import Position

SORTS = [None, "userName", "displayName", "meta.lastModified", "externalId"]
FILTERS = [None, 'displayName co "an"', 'userName sw "user1"', 'userName eq "user07@example.com"']


def user(n: int) -> dict[str, Any]:
    """Users with ties and gaps: repeated display names and modification times, some without externalId,
    a few without meta.created, mixed case userNames."""
    document: dict[str, Any] = {
        "schemas": [CORE_USER],
        "id": f"id-{(n * 37) % 101:03d}-{n}",
        "userName": f"User{n:02d}@Example.com" if n % 5 == 0 else f"user{n:02d}@example.com",
        "meta": {"resourceType": "User", "lastModified": f"2025-03-0{1 + n % 3}T08:00:00Z"},
    }
    if n % 11:
        document["meta"]["created"] = f"2024-{1 + n % 12:02d}-01T00:00:00Z"
    if n % 4:
        document["displayName"] = ["Ann", "Brian", "Dana", "anna", "Ivan"][n % 5]
    if n % 3:
        document["externalId"] = f"E{(n * 7) % 13}"
    return document


USERS = [user(n) for n in range(1, 61)]


@pytest.fixture
def index(engine: Engine) -> ScimIndex:
    index = ScimIndex(engine)
    index.index_resources(USER, USERS)
    return index


def sort_path(name: str | None) -> AttributePath | None:
    return None if name is None else USER.resolve(name)


def node_of(text: str | None) -> FilterNode | None:
    return None if text is None else parse_filter(text, USER)


def offset_page(engine: Engine, node: FilterNode | None, sort: str | None, descending: bool, start: int,
                count: int) -> list[str]:
    """The page as OFFSET over the query-time sort reads it: the reference semantics."""
    page = index_module.search_on(engine, USER, node, sort_by=sort_path(sort), descending=descending,
                                  start_index=start, count=count)
    return [r["id"] for r in page.resources]


def keyset_at(engine: Engine, marks: keyset.PageMarks, node: FilterNode | None, sort: str | None, descending: bool,
              start: int, count: int) -> keyset.KeysetPage:
    path = keyset.order_path(USER, sort_path(sort))
    assert path is not None
    with engine.connect() as conn, conn.begin():
        return keyset.page_at(conn, USER, node, path, descending=descending, start_index=start, count=count,
                              marks=marks)


def walk_after(engine: Engine, after: Position | None, count: int, *, sort: str | None = None,
               backward: bool = False) -> keyset.KeysetPage:
    path = keyset.order_path(USER, sort_path(sort))
    assert path is not None
    with engine.connect() as conn, conn.begin():
        return keyset.page_after(conn, USER, None, path, descending=False, after=after, count=count,
                                 backward=backward)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("plan", ["matches sorted", "order index walked"])
def test_start_index_pages_equal_the_offset_semantics(index: ScimIndex, engine: Engine, sort: str | None,
                                                      descending: bool, plan: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    if plan == "order index walked":  # how a filter matching many resources is paged
        monkeypatch.setattr(keyset, "SORT_MATCHES_BELOW", 0)
    for text in FILTERS:
        node = node_of(text)
        marks = keyset.PageMarks()
        total = index_module.search_on(engine, USER, node, count=0).total
        # In sequence (each page from the boundary the previous one left), then jumping about (boundaries
        # found by skipping, or a remembered one a few rows before), then past the end.
        starts = [*range(1, total + 2, 7), 30, 9, 31, 2, 58, total, total + 5]
        for start in starts:
            page = keyset_at(engine, marks, node, sort, descending, start, 7)
            assert [r["id"] for r in page.resources] == offset_page(engine, node, sort, descending, start, 7), (
                text, start)
            assert page.total == total


def test_remembered_boundaries_are_dropped_when_the_index_changes(index: ScimIndex, engine: Engine) -> None:
    marks = keyset.PageMarks()
    first = keyset_at(engine, marks, None, "userName", False, 1, 10)
    assert len(first.resources) == 10
    # A new user sorting first shifts every offset by one: the boundary remembered at 10 is stale now.
    index.index_resources(USER, [{**user(99), "id": "new-first", "userName": "aaa@example.com"}])
    second = keyset_at(engine, marks, None, "userName", False, 11, 10)
    assert [r["id"] for r in second.resources] == offset_page(engine, None, "userName", False, 11, 10)
    assert second.resources[0]["id"] == first.resources[-1]["id"]


@pytest.mark.parametrize("sort", [None, "userName", "displayName"])
def test_a_cursor_walk_is_stable_under_concurrent_inserts_and_deletes(index: ScimIndex, engine: Engine,
                                                                      sort: str | None) -> None:
    doomed = [r["id"] for r in USERS[::4]]  # deleted, a few at a time, while the walk goes on
    survivors = {r["id"] for r in USERS} - set(doomed)
    seen: list[str] = []
    after: Position | None = None
    step = 0
    while True:
        page = walk_after(engine, after, 6, sort=sort)
        seen += [r["id"] for r in page.resources]
        if not page.more:
            break
        after = page.positions[-1]
        step += 1
        # Rows land before the position, after it and among equal sort values; others disappear.
        index.index_resources(USER, [
            {**user(n), "id": f"new-{step}-{n}", "userName": f"{prefix}{step}-{n}@example.com"}
            for n, prefix in ((step, "a"), (step + 20, "user3"), (step + 40, "zz"))
        ])
        index.remove_resources(USER, doomed[(step - 1) * 2: step * 2])
    assert len(seen) == len(set(seen)), "a row was repeated"
    assert survivors <= set(seen), f"rows skipped: {sorted(survivors - set(seen))}"


def test_previous_cursor_positions_read_the_page_before(index: ScimIndex, engine: Engine) -> None:
    pages: list[keyset.KeysetPage] = []
    after: Position | None = None
    for _ in range(4):
        page = walk_after(engine, after, 8, sort="displayName")
        pages.append(page)
        after = page.positions[-1]
    back = walk_after(engine, pages[2].positions[0], 8, sort="displayName", backward=True)
    assert [r["id"] for r in back.resources] == [r["id"] for r in pages[1].resources]
    assert back.more  # page 1 is still before it
    first = walk_after(engine, pages[1].positions[0], 8, sort="displayName", backward=True)
    assert [r["id"] for r in first.resources] == [r["id"] for r in pages[0].resources] and not first.more


def test_a_walk_counts_the_total_once_per_index_generation(index: ScimIndex, engine: Engine,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    counted: list[int] = []
    count_matches = keyset.count_matches

    def counting(*args: Any) -> int:
        counted.append(1)
        return count_matches(*args)

    monkeypatch.setattr(keyset, "count_matches", counting)
    marks = keyset.PageMarks()
    path = keyset.order_path(USER, None)
    assert path is not None

    def page(after: Position | None, node: FilterNode | None = None) -> keyset.KeysetPage:
        with engine.connect() as conn, conn.begin():
            return keyset.page_after(conn, USER, node, path, descending=False, after=after, count=10, marks=marks)

    after: Position | None = None
    for _ in range(4):
        walked = page(after)
        assert walked.total == len(USERS)
        after = walked.positions[-1]
    for start in (1, 11, 41):
        assert keyset_at(engine, marks, None, None, False, start, 10).total == len(USERS)
    assert len(counted) == 1
    # Another filter has a total of its own; a write moves the generation, and the totals are counted again.
    node = node_of('userName sw "user1"')
    assert page(None, node).total == index_module.search_on(engine, USER, node, count=0).total
    assert len(counted) == 2
    index.remove_resources(USER, [USERS[0]["id"]])
    assert page(None).total == len(USERS) - 1
    assert page(None, node).total == index_module.search_on(engine, USER, node, count=0).total
    assert len(counted) == 4
