"""List and search requests (RFC 7644, Sections 3.4.2 and 3.4.3): parameters, sorting, paging, ListResponse.

The same rules serve ``GET /Users?...`` query arguments and ``POST /Users/.search`` SearchRequest bodies.
Both index paging (``startIndex``/``count``) and cursor paging (RFC 9865: ``cursor``, ``nextCursor``,
``previousCursor``) are described here; see :class:`CursorCodec` for the cursors.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any
from typing import TypeVar

from itsdangerous import BadData
from itsdangerous import SignatureExpired
from itsdangerous import TimestampSigner
from itsdangerous import URLSafeTimedSerializer

from scim_bridge.scim.errors import InvalidFilter
from scim_bridge.scim.errors import InvalidSyntax
from scim_bridge.scim.errors import InvalidValue
from scim_bridge.scim.errors import ScimError
from scim_bridge.scim.filters import FilterNode
from scim_bridge.scim.filters import attribute_values
from scim_bridge.scim.filters import comparable
from scim_bridge.scim.filters import element_values
from scim_bridge.scim.filters import parse_filter
from scim_bridge.scim.filters import render
from scim_bridge.scim.projection import Projection
from scim_bridge.scim.projection import parse_attribute_list
from scim_bridge.scim.schema import COMPLEX
from scim_bridge.scim.schema import LIST_RESPONSE
from scim_bridge.scim.schema import SEARCH_REQUEST
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.schema import ResourceType

R = TypeVar("R", bound=Mapping[str, Any])

ArgValue = str | int | list[Any] | None

_INTEGER = re.compile(r"[+-]?[0-9]+")

_PARAMETERS = ("attributes", "excludedAttributes", "filter", "sortBy", "sortOrder", "startIndex", "count", "schemas",
               "cursor")


@dataclass(frozen=True, slots=True)
class ListParams:
    """A validated list or search request.

    ``count`` is already clamped to ``[0, max_count]`` and ``start_index`` to ``>= 1``.
    """

    count: int
    start_index: int = 1
    filter: FilterNode | None = None
    sort_by: AttributePath | None = None
    descending: bool = False
    attributes: tuple[AttributePath, ...] = ()
    excluded_attributes: tuple[AttributePath, ...] = ()
    # RFC 9865: None when the request has no ``cursor`` parameter (index paging), "" for the first page of
    # cursor paging, else the client's opaque cursor (checked by ``CursorCodec``, which holds the key).
    cursor: str | None = None

    @property
    def projection(self) -> Projection:
        return Projection(self.attributes, self.excluded_attributes)


def parse_list_params(
    args: Mapping[str, ArgValue],
    *,
    resource_type: ResourceType,
    default_count: int,
    max_count: int,
    search_request: bool = False,
    max_filter_length: int = 4096,
    max_filter_depth: int = 32,
) -> ListParams:
    """Validate list parameters from query arguments or, with ``search_request``, a SearchRequest body.

    - Query parameter names are matched exactly; SearchRequest body keys case-insensitively, as JSON attribute
      names are (RFC 7643, Section 2.1). A body must carry ``schemas: [SearchRequest]`` (RFC 7644, Section
      3.4.3), else 400 ``invalidSyntax``.
    - ``startIndex`` below 1 is 1; ``count`` below 0 is 0, above ``max_count`` is ``max_count``, absent is
      ``default_count`` (RFC 7644, Section 3.4.2.4). A value that is not an integer is 400 ``invalidValue``.
    - ``sortOrder`` is ``ascending`` (default) or ``descending``, in any case; else ``invalidValue``.
      ``sortBy`` naming no attribute of the resource type is also ``invalidValue`` (the request is fine, the
      value is not; ``invalidPath`` is for PATCH paths, RFC 7644, Section 3.12).
    - ``attributes`` and ``excludedAttributes`` may both be given: the first selects, the second then removes.
    - An empty ``filter`` is treated as no filter.

    :raises InvalidValue: bad numbers, sortBy or sortOrder, or attribute lists.
    :raises InvalidFilter: a bad filter.
    :raises InvalidSyntax: a body without the SearchRequest schema.
    """
    values = _body_values(args) if search_request else _query_values(args)
    return ListParams(
        count=_count(values.get("count"), default_count, max_count),
        start_index=max(1, _integer(values.get("startIndex"), "startIndex", 1)),
        filter=_filter(values.get("filter"), resource_type, max_filter_length, max_filter_depth),
        sort_by=_sort_by(values.get("sortBy"), resource_type),
        descending=_descending(values.get("sortOrder")),
        attributes=parse_attribute_list(_list(values.get("attributes")), resource_type),
        excluded_attributes=parse_attribute_list(_list(values.get("excludedAttributes")), resource_type),
        cursor=_cursor(values.get("cursor"), values.get("startIndex")),
    )


def _query_values(args: Mapping[str, ArgValue]) -> dict[str, ArgValue]:
    values: dict[str, ArgValue] = {}
    for name in _PARAMETERS:
        value = args.get(name)
        if isinstance(value, list) and name not in ("attributes", "excludedAttributes"):
            if len(value) > 1:
                raise InvalidValue(f"The query parameter '{name}' is given more than once.")
            value = value[0] if value else None
        values[name] = value
    return values


def _body_values(body: Mapping[str, ArgValue]) -> dict[str, ArgValue]:
    by_lower = {key.lower(): value for key, value in body.items() if isinstance(key, str)}
    values = {name: by_lower.get(name.lower()) for name in _PARAMETERS}
    schemas = values["schemas"]
    listed = [schemas] if isinstance(schemas, str) else schemas if isinstance(schemas, list) else []
    if not any(isinstance(urn, str) and urn.lower() == SEARCH_REQUEST.lower() for urn in listed):
        raise InvalidSyntax(f'A search request must have "schemas": ["{SEARCH_REQUEST}"].')
    return values


_SATURATED = 10**18


def _integer(value: ArgValue, name: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return max(-_SATURATED, min(value, _SATURATED))  # far beyond any page, and within a database integer
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        text = value.strip()
        if len(text.lstrip("+-").lstrip("0")) > 18:  # far beyond any page; saturate
            return -_SATURATED if text.startswith("-") else _SATURATED
        return int(text)
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."
    raise InvalidValue(f"'{name}' must be an integer, not {shown}.")


def _count(value: ArgValue, default_count: int, max_count: int) -> int:
    """RFC 7644, Section 3.4.2.4: negative counts are 0; counts above the maximum are the maximum."""
    count = _integer(value, "count", default_count)
    return min(max(count, 0), max(max_count, 0))


def _filter(value: ArgValue, resource_type: ResourceType, max_length: int, max_depth: int) -> FilterNode | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidFilter("'filter' must be a string.")
    if not value.strip():
        return None
    return parse_filter(value, resource_type, max_length=max_length, max_depth=max_depth)


def _sort_by(value: ArgValue, resource_type: ResourceType) -> AttributePath | None:
    """RFC 7644, Section 3.4.2.3: a complex attribute needs a sub-attribute unless it has a ``value`` one."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidValue("'sortBy' must be an attribute name.")
    path = resource_type.resolve(value.strip())
    if path is None:
        raise InvalidValue(f"'sortBy' names an unknown attribute: {value!r}.")
    attribute = path.attribute
    if path.sub_attribute is None and attribute.type == COMPLEX and attribute.sub("value") is None:
        raise InvalidValue(f"'sortBy' must name a sub-attribute of the complex '{path.dotted()}'.")
    return path


def _descending(value: ArgValue) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, str) and value.strip().lower() in ("ascending", "descending"):
        return value.strip().lower() == "descending"
    raise InvalidValue(f"'sortOrder' must be 'ascending' or 'descending', not {value!r}.")


def _list(value: ArgValue) -> str | list[Any] | None:
    if value is None or isinstance(value, str | list):
        return value
    raise InvalidValue("Attribute lists must be strings or lists of strings.")


# ---------------------------------------------------------------------------------------------------------
# Sorting.


def sort_resources(
    resources: Sequence[R], sort_path: AttributePath | None, descending: bool = False
) -> list[R]:
    """Stable sort by ``sort_path`` (RFC 7644, Section 3.4.2.3).

    Multi-valued attributes sort by their primary value, else their first. Strings follow the attribute's
    ``caseExact``; dateTimes sort chronologically. Resources without a value sort last when ascending and
    first when descending. With no ``sort_path`` the caller's (stable) order is kept.
    """
    if sort_path is None:
        return list(resources)
    return sorted(resources, key=lambda resource: sort_key(resource, sort_path), reverse=descending)


def sort_key(resource: Mapping[str, Any], path: AttributePath) -> tuple[int, Any]:
    value = _sort_value(dict(resource), path)
    key = comparable(path.target if path.sub_attribute else _value_attribute(path), value)
    if isinstance(key, datetime):
        key = key.timestamp()
    if isinstance(key, bool):
        key = int(key)
    return (1, 0) if key is None else (0, key)


def _value_attribute(path: AttributePath) -> Any:
    sub = path.attribute.sub("value") if path.attribute.type == COMPLEX else None
    return sub or path.attribute


def _sort_value(resource: dict[str, Any], path: AttributePath) -> Any:
    whole = AttributePath(path.schema, path.attribute, None, path.extension)
    values = attribute_values(resource, whole)
    if not values:
        return None
    if path.attribute.type != COMPLEX:
        return values[0]
    elements = [value for value in values if isinstance(value, dict)]
    primary = next((element for element in elements if element.get("primary") is True), None)
    chosen = primary or (elements[0] if elements else None)
    if chosen is None:
        return None
    sub_name = path.sub_attribute.name if path.sub_attribute else "value"
    found = element_values([chosen], sub_name)
    return found[0] if found else None


# ---------------------------------------------------------------------------------------------------------
# Paging and the ListResponse.


def paginate(resources: Sequence[R], start_index: int, count: int) -> tuple[list[R], int]:
    """The page starting at 1-based ``start_index`` with at most ``count`` items, and the total."""
    start = max(start_index, 1) - 1
    return list(resources[start : start + max(count, 0)]), len(resources)


def list_response(
    resources_page: Sequence[Mapping[str, Any]], total: int, start_index: int
) -> dict[str, Any]:
    """A ListResponse (RFC 7644, Section 3.4.2): integer counts, ``itemsPerPage`` = items on this page."""
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": int(total),
        "startIndex": max(int(start_index), 1),
        "itemsPerPage": len(resources_page),
        "Resources": [dict(resource) for resource in resources_page],
    }


# ---------------------------------------------------------------------------------------------------------
# Cursor paging (RFC 9865).

_CURSOR_TEXT = re.compile(r"[A-Za-z0-9._~-]*")  # RFC 3986 unreserved characters, as RFC 9865 requires
_CURSOR_SALT = "scim-bridge cursor v3"
_CURSOR_VERSION = 1  # the payload holds an offset
_POSITION_VERSION = 2  # the payload holds a position: the sort keys of a row, and the direction
MAX_CURSOR_LENGTH = 4096


class InvalidCursor(ScimError):
    """400 ``invalidCursor`` (RFC 9865, Section 2.1): not a cursor this service issued for this query."""

    scim_type = "invalidCursor"


class ExpiredCursor(ScimError):
    """400 ``expiredCursor`` (RFC 9865, Section 2.1): a genuine cursor older than the cursor timeout."""

    scim_type = "expiredCursor"


def _cursor(value: ArgValue, start_index: ArgValue) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidCursor("'cursor' must be a string.")
    if start_index is not None and start_index != "":
        raise InvalidValue("Use either 'cursor' or 'startIndex' to page, not both.")
    if len(value) > MAX_CURSOR_LENGTH or not _CURSOR_TEXT.fullmatch(value):
        raise InvalidCursor("The cursor is not one this service issued; start again with an empty cursor.")
    return value


def cursor_scope(resource_type: ResourceType, params: ListParams) -> str:
    """What a cursor is bound to: the endpoint and the parameters that decide the order of results.

    RFC 9865 has the client repeat the query unchanged; a cursor presented with another filter, sort or
    resource type is refused rather than silently paging through a different result set.
    """
    node = "" if params.filter is None else render(params.filter)
    sort = "" if params.sort_by is None else params.sort_by.dotted()
    return json.dumps([resource_type.id, node, sort, params.descending], separators=(",", ":"))


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515, Appendix C), as cursors and signed tokens use it."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class CursorPosition:
    """Where a cursor resumes: the sort keys of a row (``keys``), read onwards, or ``backward`` (the rows
    before it, for ``previousCursor``). The keys are opaque to this layer."""

    keys: tuple[str, ...]
    backward: bool = False


@dataclass(frozen=True)
class CursorCodec:
    """Opaque, tamper-evident cursors holding a position or a result offset (RFC 9865), signed by itsdangerous.

    A cursor is itsdangerous' URL-safe timed serialization (base64url and dots: only RFC 3986 unreserved
    characters) of the position (:class:`CursorPosition`, for queries paged by keyset) or the offset and a
    digest of the query's scope (:func:`cursor_scope`), with its issue time and an HMAC-SHA256 under ``key``,
    so every replica configured with the same key accepts the others' cursors. Cursors older than
    ``timeout_seconds`` are refused with ``expiredCursor``.
    """

    key: bytes
    timeout_seconds: int = 3600
    clock: Callable[[], float] = field(default=time.time)
    serializer: URLSafeTimedSerializer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.key) < 16:
            raise ValueError("the cursor key must have at least 16 bytes")
        if self.timeout_seconds <= 0:
            raise ValueError("the cursor timeout must be positive")
        clock = self.clock

        class Signer(TimestampSigner):
            def get_timestamp(self) -> int:  # issue time and age read from the codec's clock
                return int(clock())

        serializer = URLSafeTimedSerializer(self.key, salt=_CURSOR_SALT, signer=Signer,
                                            signer_kwargs={"digest_method": hashlib.sha256})
        object.__setattr__(self, "serializer", serializer)

    def encode(self, offset: int, scope: str) -> str:
        """A cursor for the page starting at 0-based ``offset`` of the query ``scope``."""
        return self.serializer.dumps([_CURSOR_VERSION, max(int(offset), 0), _digest(scope)])

    def encode_position(self, position: CursorPosition, scope: str) -> str:
        """A cursor for the page after (or before, ``backward``) ``position`` in the query ``scope``."""
        data = [*position.keys, 1 if position.backward else 0]
        return self.serializer.dumps([_POSITION_VERSION, data, _digest(scope)])

    def decode(self, cursor: str, scope: str) -> int:
        """The 0-based offset in ``cursor``.

        :raises InvalidCursor: malformed, forged or altered, issued for another query, or a position.
        :raises ExpiredCursor: genuine but older than the timeout.
        """
        found = self.decode_any(cursor, scope)
        if not isinstance(found, int):
            raise InvalidCursor("The cursor belongs to another query: repeat the query's parameters unchanged.")
        return found

    def decode_any(self, cursor: str, scope: str) -> int | CursorPosition:
        """The offset or the position in ``cursor`` (errors as :meth:`decode`)."""
        invalid = InvalidCursor("The cursor is not one this service issued; start again with an empty cursor.")
        if not _CURSOR_TEXT.fullmatch(cursor):
            raise invalid
        try:
            version, data, digest = self.serializer.loads(cursor, max_age=self.timeout_seconds)
        except SignatureExpired:
            raise ExpiredCursor(
                f"The cursor has expired (cursors last {self.timeout_seconds} seconds); start again with an "
                "empty cursor."
            ) from None
        except (BadData, ValueError, TypeError):
            raise invalid from None
        found = _cursor_data(version, data)
        if found is None or not isinstance(digest, str):
            raise invalid
        if digest != _digest(scope):
            raise InvalidCursor("The cursor belongs to another query: repeat the query's parameters unchanged.")
        return found


def _cursor_data(version: Any, data: Any) -> int | CursorPosition | None:
    if version == _CURSOR_VERSION and isinstance(data, int) and not isinstance(data, bool):
        return max(data, 0)
    if (version == _POSITION_VERSION and isinstance(data, list) and len(data) >= 2
            and all(isinstance(key, str) for key in data[:-1]) and data[-1] in (0, 1)):
        return CursorPosition(tuple(data[:-1]), backward=data[-1] == 1)
    return None


def _digest(scope: str) -> str:
    return hashlib.sha256(scope.encode("utf-8")).hexdigest()[:16]


def page_start(params: ListParams, resource_type: ResourceType, codec: CursorCodec | None) -> int:
    """The 1-based start index of the requested page, from ``startIndex`` or from the cursor.

    :raises InvalidCursor: a cursor was given but cursors are off (``codec`` None), or it is not valid.
    :raises ExpiredCursor: the cursor is too old.
    """
    if params.cursor is None:
        return params.start_index
    if codec is None:
        raise InvalidCursor("Cursor paging is not enabled; page with startIndex.")
    if params.cursor == "":
        return 1
    return codec.decode(params.cursor, cursor_scope(resource_type, params)) + 1


def cursor_links(
    params: ListParams,
    resource_type: ResourceType,
    codec: CursorCodec,
    *,
    start_index: int,
    returned: int,
    total: int,
) -> dict[str, str]:
    """``nextCursor`` (unless this is the last page) and ``previousCursor`` (unless it is the first)."""
    scope = cursor_scope(resource_type, params)
    offset = max(start_index, 1) - 1
    links: dict[str, str] = {}
    following = offset + max(returned, 0)
    if following < total:
        links["nextCursor"] = codec.encode(following, scope)
    if offset > 0:
        links["previousCursor"] = codec.encode(max(offset - params.count, 0), scope)
    return links


def position_links(
    params: ListParams,
    resource_type: ResourceType,
    codec: CursorCodec,
    *,
    requested: CursorPosition | None,
    keys: Sequence[tuple[str, ...]],
    more: bool,
) -> dict[str, str]:
    """``nextCursor`` and ``previousCursor`` of a page read by position.

    ``requested``: the position the page was read from (None: the first page); ``keys``: the sort keys of
    the page's rows, in order; ``more``: rows remain beyond the page in the direction it was read.
    """
    scope = cursor_scope(resource_type, params)
    backward = requested is not None and requested.backward
    links: dict[str, str] = {}
    if not keys:
        return links
    if backward or more:
        links["nextCursor"] = codec.encode_position(CursorPosition(tuple(keys[-1])), scope)
    if more if backward else requested is not None:
        links["previousCursor"] = codec.encode_position(CursorPosition(tuple(keys[0]), backward=True), scope)
    return links


def cursor_list_response(
    resources_page: Sequence[Mapping[str, Any]], total: int, links: Mapping[str, str]
) -> dict[str, Any]:
    """A ListResponse for cursor paging (RFC 9865, Section 2): ``startIndex`` gives way to the cursors."""
    body: dict[str, Any] = {
        "schemas": [LIST_RESPONSE],
        "totalResults": int(total),
        "itemsPerPage": len(resources_page),
    }
    for name in ("previousCursor", "nextCursor"):
        if name in links:
            body[name] = links[name]
    body["Resources"] = [dict(resource) for resource in resources_page]
    return body
