"""Cursor paging (RFC 9865): parameters, opaque tamper-evident cursors, links and the discovery block."""

from __future__ import annotations

import re
from typing import Any

import pytest

from scim_bridge.scim.discovery import pagination_config
from scim_bridge.scim.errors import InvalidValue
from scim_bridge.scim.listing import MAX_CURSOR_LENGTH
from scim_bridge.scim.listing import CursorCodec
from scim_bridge.scim.listing import ExpiredCursor
from scim_bridge.scim.listing import InvalidCursor
from scim_bridge.scim.listing import ListParams
from scim_bridge.scim.listing import cursor_links
from scim_bridge.scim.listing import cursor_list_response
from scim_bridge.scim.listing import cursor_scope
from scim_bridge.scim.listing import page_start
from scim_bridge.scim.listing import parse_list_params
from scim_bridge.scim.schema import GROUP
from scim_bridge.scim.schema import SEARCH_REQUEST
from scim_bridge.scim.schema import USER

KEY = b"cursor-key-0123456789abcdef"
UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def params(args: dict[str, Any], *, body: bool = False) -> ListParams:
    return parse_list_params(args, resource_type=USER, default_count=3, max_count=50, search_request=body)


def walk(codec: CursorCodec, items: list[int], args: dict[str, Any]) -> list[list[int]]:
    """Page through ``items`` with cursors the way a client does, as the lead's views would serve it."""
    pages: list[list[int]] = []
    request = dict(args, cursor="")
    for _ in range(len(items) + 2):
        parsed = params(request)
        start = page_start(parsed, USER, codec)
        page = items[start - 1 : start - 1 + parsed.count]
        body = cursor_list_response(
            [{"n": n} for n in page],
            len(items),
            cursor_links(parsed, USER, codec, start_index=start, returned=len(page), total=len(items)),
        )
        pages.append([r["n"] for r in body["Resources"]])
        assert body["totalResults"] == len(items) and "startIndex" not in body
        if "nextCursor" not in body:
            return pages
        assert UNRESERVED.fullmatch(body["nextCursor"])
        request = dict(args, cursor=body["nextCursor"])
    raise AssertionError("the cursors never reached the last page")


def test_cursor_parameter_is_parsed_from_queries_and_search_bodies() -> None:
    assert params({}).cursor is None
    assert params({"cursor": ""}).cursor == ""
    assert params({"cursor": ["abc.def"]}).cursor == "abc.def"
    assert params({"schemas": [SEARCH_REQUEST], "Cursor": ""}, body=True).cursor == ""


@pytest.mark.parametrize("bad", ["has space", "a/b", "x" * (MAX_CURSOR_LENGTH + 1), "ünïcode"])
def test_cursors_outside_the_unreserved_characters_are_invalid(bad: str) -> None:
    with pytest.raises(InvalidCursor) as caught:
        params({"cursor": bad})
    assert caught.value.status == 400
    assert caught.value.to_body()["scimType"] == "invalidCursor"


def test_cursor_and_start_index_together_are_refused() -> None:
    with pytest.raises(InvalidValue):
        params({"cursor": "", "startIndex": "2"})


def test_walking_the_pages_returns_every_item_once() -> None:
    codec = CursorCodec(KEY)
    items = list(range(10))
    pages = walk(codec, items, {"count": "3", "filter": 'userName sw "a"'})
    assert pages == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert walk(codec, list(range(6)), {"count": "3"}) == [[0, 1, 2], [3, 4, 5]]
    assert walk(codec, [], {"count": "3"}) == [[]]


def test_previous_cursor_goes_back_one_page() -> None:
    codec = CursorCodec(KEY)
    parsed = params({"cursor": "", "count": "4"})
    scope = cursor_scope(USER, parsed)
    third = params({"cursor": codec.encode(8, scope), "count": "4"})
    start = page_start(third, USER, codec)
    links = cursor_links(third, USER, codec, start_index=start, returned=4, total=20)
    assert start == 9
    assert page_start(params({"cursor": links["previousCursor"], "count": "4"}), USER, codec) == 5
    assert page_start(params({"cursor": links["nextCursor"], "count": "4"}), USER, codec) == 13
    first_links = cursor_links(parsed, USER, codec, start_index=1, returned=4, total=20)
    assert "previousCursor" not in first_links and "nextCursor" in first_links


def test_altered_or_foreign_cursors_are_invalid() -> None:
    codec = CursorCodec(KEY)
    scope = cursor_scope(USER, params({"cursor": ""}))
    cursor = codec.encode(5, scope)
    payload, _, mac = cursor.partition(".")
    forged_payload = CursorCodec(b"another-key-0123456789").encode(500, scope).partition(".")[0]
    for bad in (
        f"{forged_payload}.{mac}",  # another offset under the original MAC
        f"{payload}.{mac[:-2]}AA" if not mac.endswith("AA") else f"{payload}.{mac[:-2]}BB",
        CursorCodec(b"another-key-0123456789").encode(5, scope),  # another service's key
        payload,
        "not-a-cursor",
        ".",
    ):
        with pytest.raises(InvalidCursor):
            codec.decode(bad, scope)
    assert codec.decode(cursor, scope) == 5


def test_a_cursor_only_pages_the_query_it_came_from() -> None:
    codec = CursorCodec(KEY)
    original = params({"cursor": "", "filter": 'userName sw "a"', "sortBy": "userName"})
    cursor = codec.encode(3, cursor_scope(USER, original))
    assert page_start(params({"cursor": cursor, "filter": 'userName sw "a"', "sortBy": "userName"}), USER, codec) == 4
    for changed in (
        {"filter": 'userName sw "b"', "sortBy": "userName"},
        {"filter": 'userName sw "a"', "sortBy": "displayName"},
        {"filter": 'userName sw "a"', "sortBy": "userName", "sortOrder": "descending"},
    ):
        with pytest.raises(InvalidCursor):
            page_start(params({"cursor": cursor, **changed}), USER, codec)
    group_params = parse_list_params(
        {"cursor": cursor, "filter": 'displayName sw "a"'}, resource_type=GROUP, default_count=3, max_count=50
    )
    with pytest.raises(InvalidCursor):
        page_start(group_params, GROUP, codec)


def test_cursors_expire_after_the_timeout() -> None:
    clock = Clock()
    codec = CursorCodec(KEY, timeout_seconds=600, clock=clock)
    scope = cursor_scope(USER, params({"cursor": ""}))
    cursor = codec.encode(7, scope)
    clock.now += 600
    assert codec.decode(cursor, scope) == 7
    clock.now += 1
    with pytest.raises(ExpiredCursor) as caught:
        codec.decode(cursor, scope)
    assert caught.value.status == 400
    assert caught.value.to_body()["scimType"] == "expiredCursor"


def test_cursor_paging_needs_a_codec() -> None:
    assert page_start(params({"startIndex": "4"}), USER, None) == 4
    with pytest.raises(InvalidCursor):
        page_start(params({"cursor": ""}), USER, None)


def test_codec_refuses_weak_keys() -> None:
    with pytest.raises(ValueError):
        CursorCodec(b"short")


def test_pagination_block_for_the_service_provider_config() -> None:
    assert pagination_config(default_page_size=100, max_page_size=500, cursor_timeout=3600) == {
        "cursor": True,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": 100,
        "maxPageSize": 500,
        "cursorTimeout": 3600,
    }
    off = pagination_config(default_page_size=100, max_page_size=500, cursor_timeout=3600, cursor=False)
    assert off["cursor"] is False and "cursorTimeout" not in off
    with pytest.raises(ValueError):
        pagination_config(default_page_size=1, max_page_size=1, cursor_timeout=1, default_method="offset")
