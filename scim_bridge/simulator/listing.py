"""``GET /v2/users`` list parameters: limit/offset paging, sorting, the search ``query``, page links."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any
from urllib.parse import urlencode

from scim_bridge.simulator.errors import SimError
from scim_bridge.simulator.models import User

SortKey = Callable[[User, str], Any]

SORT_FIELDS: dict[str, SortKey] = {
    "username": lambda u, _role: u.username,
    "fullName": lambda u, _role: u.full_name.lower(),
    "fullName.raw": lambda u, _role: u.full_name,
    "createdAt": lambda u, _role: u.seq,
    "insertedAt": lambda u, _role: u.seq,
    "role": lambda u, role: role.lower(),
    "verified": lambda u, _role: u.verified,
    "blocked": lambda u, _role: u.blocked,
}
# The sort fields that read the user alone, as whole sort keys (the field, then the creation order): a key
# computed without a Python call per user, as a 10,000-user directory is sorted for every page.
PLAIN_SORT_KEYS: dict[str, Callable[[User], Any]] = {
    "username": attrgetter("username", "seq"),
    "fullName.raw": attrgetter("full_name", "seq"),
    "createdAt": attrgetter("seq"),
    "insertedAt": attrgetter("seq"),
}

_TERM_RE = re.compile(r'\s*([A-Za-z.]+)\s*:\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))\s*')

_AND_RE = re.compile(r"\s*AND\s+", re.IGNORECASE)

QUERY_FIELDS: dict[str, Callable[[User, str], str]] = {
    "id": lambda u, _role: u.id,
    "username": lambda u, _role: u.username,
    "fullname": lambda u, _role: u.full_name,
    "role": lambda u, role: role,
    "blocked": lambda u, _role: str(u.blocked).lower(),
    "verified": lambda u, _role: str(u.verified).lower(),
    "timezone": lambda u, _role: u.time_zone,
    "locale": lambda u, _role: u.locale,
}


@dataclass(frozen=True)
class ListParams:
    limit: int
    offset: int
    sort: str
    order: str
    query: str
    terms: tuple[tuple[str, str], ...]


def _int_arg(args: Mapping[str, str], name: str, default: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SimError(422, f"{name} must be an integer", {name: "must be an integer"}) from None


def parse_list_params(args: Mapping[str, str], *, max_limit: int, over_max: str) -> ListParams:
    """Read ``limit``, ``offset``, ``sort`` (alias ``sortField``), ``order`` and ``query``.

    ``limit`` defaults to 100 as in the OAS. Above ``max_limit`` it is clamped, or refused with 422
    when ``over_max`` is ``"422"``.
    """
    limit = _int_arg(args, "limit", 100)
    offset = _int_arg(args, "offset", 0)
    if limit < 1:
        raise SimError(422, "limit must be at least 1", {"limit": "must be at least 1"})
    if limit > max_limit:
        if over_max == "422":
            message = f"limit must be at most {max_limit}"
            raise SimError(422, message, {"limit": message})
        limit = max_limit
    if offset < 0:
        raise SimError(422, "offset must not be negative", {"offset": "must not be negative"})
    sort = args.get("sort") or args.get("sortField") or "username"
    if sort not in SORT_FIELDS:
        message = f"sort field [{sort}] is not supported"
        raise SimError(422, message, {"sort": f"one of {sorted(SORT_FIELDS)}"})
    order = (args.get("order") or "asc").lower()
    if order not in ("asc", "desc"):
        raise SimError(422, "order must be asc or desc", {"order": "must be asc or desc"})
    query = args.get("query") or ""
    return ListParams(limit, offset, sort, order, query, parse_query(query))


def parse_query(query: str) -> tuple[tuple[str, str], ...]:
    """Parse ``field:value`` terms joined by whitespace or ``AND``; values may be quoted, ``*`` globs.

    Only this subset of the search syntax is simulated; anything else is a 422.
    """
    terms: list[tuple[str, str]] = []
    text = query.strip()
    position = 0
    while position < len(text):
        if terms:
            joiner = _AND_RE.match(text, position)
            if joiner:
                position = joiner.end()
        match = _TERM_RE.match(text, position)
        if not match or match.group(1).lower() not in QUERY_FIELDS:
            raise SimError(422, f"Invalid query [{query}]", {"query": "use field:value terms joined by AND"})
        value = match.group(2) if match.group(2) is not None else match.group(3)
        terms.append((match.group(1).lower(), value.replace('\\"', '"')))
        position = match.end()
    return tuple(terms)


def user_matches(user: User, role_name: str, terms: tuple[tuple[str, str], ...]) -> bool:
    for field, pattern in terms:
        value = QUERY_FIELDS[field](user, role_name).lower()
        if not fnmatch.fnmatchcase(value, pattern.lower()):
            return False
    return True


def page_links(base_url: str, params: ListParams, total: int) -> dict[str, str]:
    """Full-URL ``paging`` links; ``next``/``prev`` only when such a page exists."""

    def url(offset: int) -> str:
        query: dict[str, str | int] = {"limit": params.limit, "offset": offset, "sort": params.sort}
        query["order"] = params.order
        if params.query:
            query["query"] = params.query
        return f"{base_url}?{urlencode(query)}"

    last = max(0, (total - 1) // params.limit * params.limit)
    links = {"first": url(0)}
    if params.offset + params.limit < total:
        links["next"] = url(params.offset + params.limit)
    if params.offset > 0:
        links["prev"] = url(max(0, min(params.offset - params.limit, last)))
    links["last"] = url(last)
    return links
