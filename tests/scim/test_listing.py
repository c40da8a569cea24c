"""Tests for scim_bridge.scim.listing: list parameters, sorting, paging and the ListResponse."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from scim_bridge.scim.errors import InvalidFilter
from scim_bridge.scim.errors import InvalidSyntax
from scim_bridge.scim.errors import InvalidValue
from scim_bridge.scim.filters import render
from scim_bridge.scim.listing import ListParams
from scim_bridge.scim.listing import list_response
from scim_bridge.scim.listing import paginate
from scim_bridge.scim.listing import parse_list_params
from scim_bridge.scim.listing import sort_resources
from scim_bridge.scim.schema import ENTERPRISE_USER
from scim_bridge.scim.schema import GROUP
from scim_bridge.scim.schema import LIST_RESPONSE
from scim_bridge.scim.schema import SEARCH_REQUEST
from scim_bridge.scim.schema import USER

ENT = ENTERPRISE_USER


def _query(**args: Any) -> ListParams:
    return parse_list_params(args, resource_type=USER, default_count=100, max_count=200)


def _search(**body: Any) -> ListParams:
    body.setdefault("schemas", [SEARCH_REQUEST])
    return parse_list_params(body, resource_type=USER, default_count=100, max_count=200, search_request=True)


# ---------------------------------------------------------------------------------------------------------
# parse_list_params


def test_defaults() -> None:
    assert _query() == ListParams(count=100, start_index=1)


@pytest.mark.parametrize(
    ("args", "start_index", "count"),
    [
        ({"startIndex": "1", "count": "10"}, 1, 10),
        ({"startIndex": "11", "count": "5"}, 11, 5),
        ({"startIndex": "0"}, 1, 100),
        ({"startIndex": "-7"}, 1, 100),
        ({"count": "0"}, 1, 0),
        ({"count": "-1"}, 1, 0),
        ({"count": "201"}, 1, 200),
        ({"count": " 12 "}, 1, 12),
        ({"count": "+3"}, 1, 3),
        ({"count": "007"}, 1, 7),
        ({"count": "9" * 5000}, 1, 200),
        ({"startIndex": "9" * 5000}, 10**18, 100),
        ({"startIndex": ["3"], "count": ["4"]}, 3, 4),
        ({"startIndex": 5, "count": 6}, 5, 6),
    ],
)
def test_paging_numbers(args: dict[str, Any], start_index: int, count: int) -> None:
    params = _query(**args)
    assert (params.start_index, params.count) == (start_index, count)


def test_default_count_is_clamped_too() -> None:
    params = parse_list_params({}, resource_type=USER, default_count=500, max_count=200)
    assert params.count == 200


@pytest.mark.parametrize(
    "args",
    [
        {"count": "ten"},
        {"count": "1.5"},
        {"count": ""},
        {"count": "1e3"},
        {"startIndex": "x"},
        {"count": True},
        {"count": 2.0},
        {"count": ["1", "2"]},
        {"sortOrder": "up"},
        {"sortOrder": 1},
        {"sortBy": "nope"},
        {"sortBy": "name"},
        {"sortBy": "name.nope"},
        {"sortBy": 3},
        {"attributes": 'emails[type eq "work"]'},
        {"excludedAttributes": "a b"},
        {"attributes": 5},
    ],
)
def test_invalid_values(args: dict[str, Any]) -> None:
    with pytest.raises(InvalidValue):
        _query(**args)


def test_sort_parameters() -> None:
    params = _query(sortBy="name.familyName", sortOrder="DESCENDING")
    assert params.sort_by is not None and params.sort_by.dotted() == "name.familyName"
    assert params.descending
    assert not _query(sortBy="userName", sortOrder="Ascending").descending
    assert not _query(sortBy="userName").descending
    assert _query(sortBy="emails").sort_by is not None  # multi-valued: primary value
    assert _query(sortBy=f"{ENT}:manager").sort_by is not None  # complex with a value sub-attribute
    assert _query(sortOrder="descending").sort_by is None
    assert _query(sortBy="").sort_by is None


def test_filter_is_parsed() -> None:
    params = _query(filter='userName eq "x"')
    assert params.filter is not None and render(params.filter) == 'userName eq "x"'
    assert _query(filter="").filter is None
    assert _query(filter="  ").filter is None
    with pytest.raises(InvalidFilter):
        _query(filter="userName eq")
    with pytest.raises(InvalidFilter):
        _search(filter=["userName pr"])


def test_attribute_lists_from_query() -> None:
    params = _query(attributes="userName, name.givenName,nope", excludedAttributes="emails")
    assert [path.dotted() for path in params.attributes] == ["userName", "name.givenName"]
    assert [path.dotted() for path in params.excluded_attributes] == ["emails"]
    repeated = _query(attributes=["userName", "title,locale"])
    assert [path.dotted() for path in repeated.attributes] == ["userName", "title", "locale"]


def test_query_names_are_exact() -> None:
    assert _query(COUNT="5", StartIndex="3") == ListParams(count=100, start_index=1)


def test_search_request_body() -> None:
    params = _search(
        startIndex=3,
        count=2,
        filter='userName sw "a"',
        sortBy="userName",
        sortOrder="descending",
        attributes=["userName", "emails.value"],
        excludedAttributes=["title"],
    )
    assert (params.start_index, params.count, params.descending) == (3, 2, True)
    assert params.filter is not None and render(params.filter) == 'userName sw "a"'
    assert [path.dotted() for path in params.attributes] == ["userName", "emails.value"]
    assert [path.dotted() for path in params.excluded_attributes] == ["title"]


def test_search_request_keys_are_case_insensitive() -> None:
    params = _search(COUNT=4, startindex="2")
    assert (params.start_index, params.count) == (2, 4)


@pytest.mark.parametrize(
    "schemas",
    [None, [], ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "nope", [1]],
)
def test_search_request_needs_its_schema(schemas: Any) -> None:
    with pytest.raises(InvalidSyntax):
        parse_list_params(
            {"schemas": schemas}, resource_type=USER, default_count=1, max_count=1, search_request=True
        )


def test_search_request_schema_alone_or_any_case() -> None:
    assert _search(schemas=SEARCH_REQUEST.upper()).count == 100


def test_group_params() -> None:
    params = parse_list_params(
        {"excludedAttributes": "members", "filter": 'displayName eq "Ops"'},
        resource_type=GROUP,
        default_count=10,
        max_count=10,
    )
    assert [path.dotted() for path in params.excluded_attributes] == ["members"]


# ---------------------------------------------------------------------------------------------------------
# sort_resources

PEOPLE: list[dict[str, Any]] = [
    {
        "id": "1",
        "userName": "bob",
        "emails": [{"value": "z@x"}, {"value": "b@x", "primary": True}],
        "meta": {"created": "2021-01-01T00:00:00Z"},
    },
    {
        "id": "2",
        "userName": "Alice",
        "emails": [{"value": "m@x"}],
        "meta": {"created": "2020-06-01T00:00:00+02:00"},
    },
    {"id": "3", "userName": "carol", "meta": {"created": "2020-05-31T23:30:00Z"}},
    {"id": "4", "userName": "alice", "emails": [{"value": "a@x"}]},
    {"id": "5", "externalId": "B"},
    {"id": "6", "externalId": "a", "userName": "Bob"},
]


def _ids(resources: list[dict[str, Any]]) -> list[str]:
    return [resource["id"] for resource in resources]


@pytest.mark.parametrize(
    ("sort_by", "descending", "expected"),
    [
        (None, False, ["1", "2", "3", "4", "5", "6"]),
        (None, True, ["1", "2", "3", "4", "5", "6"]),
        # caseExact false: case-insensitive and stable among equals; missing last.
        ("userName", False, ["2", "4", "1", "6", "3", "5"]),
        # descending: missing first, equal keys keep their order.
        ("userName", True, ["5", "3", "1", "6", "2", "4"]),
        # caseExact true: "B" < "a".
        ("externalId", False, ["5", "6", "1", "2", "3", "4"]),
        # multi-valued: primary value, else first.
        ("emails", False, ["4", "1", "2", "3", "5", "6"]),
        ("emails.value", False, ["4", "1", "2", "3", "5", "6"]),
        # dateTime: chronological, offsets respected (as strings, "3" would come first).
        ("meta.created", False, ["2", "3", "1", "4", "5", "6"]),
    ],
)
def test_sort(sort_by: str | None, descending: bool, expected: list[str]) -> None:
    path = USER.resolve(sort_by) if sort_by else None
    assert _ids(sort_resources(PEOPLE, path, descending)) == expected


def test_sort_tolerates_wrong_types() -> None:
    path = USER.resolve("userName")
    mixed: list[dict[str, Any]] = [{"id": "1", "userName": 5}, {"id": "2", "userName": "a"}, {"id": "3"}]
    assert _ids(sort_resources(mixed, path, False)) == ["2", "1", "3"]
    created = USER.resolve("meta.created")
    bad = [{"id": "1", "meta": {"created": "nonsense"}}, {"id": "2", "meta": {"created": "2020-01-01"}}]
    assert _ids(sort_resources(bad, created, False)) == ["2", "1"]


def test_sort_does_not_mutate() -> None:
    original = list(PEOPLE)
    sort_resources(PEOPLE, USER.resolve("userName"), True)
    assert original == PEOPLE


# ---------------------------------------------------------------------------------------------------------
# paginate and list_response


@pytest.mark.parametrize(
    ("start_index", "count", "expected"),
    [
        (1, 2, [0, 1]),
        (3, 2, [2, 3]),
        (9, 5, [8, 9]),
        (11, 5, []),
        (1, 0, []),
        (0, 3, [0, 1, 2]),
        (1, 100, list(range(10))),
    ],
)
def test_paginate(start_index: int, count: int, expected: list[int]) -> None:
    page, total = paginate(list(range(10)), start_index, count)  # type: ignore[type-var]
    assert (page, total) == (expected, 10)


def test_list_response() -> None:
    body = list_response([{"id": "1"}, {"id": "2"}], 7, 3)
    assert body == {
        "schemas": [LIST_RESPONSE],
        "totalResults": 7,
        "startIndex": 3,
        "itemsPerPage": 2,
        "Resources": [{"id": "1"}, {"id": "2"}],
    }


def test_list_response_count_zero() -> None:
    page, total = paginate([{"id": "1"}, {"id": "2"}], 1, 0)
    body = list_response(page, total, 1)
    assert body["totalResults"] == 2 and body["itemsPerPage"] == 0 and body["Resources"] == []


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 30), st.integers(-5, 40), st.integers(-5, 40))
def test_pages_cover_everything_once(size: int, start: int, count: int) -> None:
    items = [{"id": str(i)} for i in range(size)]
    page, total = paginate(items, start, count)
    assert total == size
    assert len(page) <= max(count, 0)
    assert page == items[max(start, 1) - 1 :][: max(count, 0)]
