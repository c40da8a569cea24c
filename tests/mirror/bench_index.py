"""Measure the SCIM search index at 10,000 users: ``python tests/mirror/bench_index.py [DATABASE_URL]``.

Without a URL it uses a temporary SQLite file. Prints the time to index and the time of a few searches
(each the COUNT and one page), best of five runs.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scim_bridge.scim.filters import parse_filter
from scim_bridge.scim.schema import CORE_USER
from scim_bridge.scim.schema import ENTERPRISE_USER
from scim_bridge.scim.schema import USER
from scim_bridge.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the tests folder is not on the path
from mirror.engine_index import ScimIndex  # noqa: E402

USERS = 10_000
DEPARTMENTS = ["Platform", "Payments", "Support", "Sales", "Finance"]


def user(n: int) -> dict[str, Any]:
    return {
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "id": f"{n:08x}-0000-4000-8000-{n:012x}",
        "externalId": f"ext-{n}",
        "userName": f"user{n}@example.com",
        "name": {"givenName": f"Given{n % 500}", "familyName": f"Family{n % 977}", "formatted": f"Person {n}"},
        "displayName": f"Person {n}",
        "active": n % 10 != 0,
        "locale": "en_US",
        "timezone": "Europe/Berlin",
        "emails": [
            {"value": f"user{n}@example.com", "type": "work", "primary": True},
            {"value": f"user{n}@home.example", "type": "home"},
        ],
        "phoneNumbers": [{"value": f"+4930{n:07d}", "type": "mobile"}],
        "groups": [
            {"value": f"team-{n % 40}", "display": f"Team {n % 40}", "type": "direct"},
            {"value": "role-user", "display": "role:User", "type": "direct"},
        ],
        "roles": [{"value": "User", "primary": True}],
        ENTERPRISE_USER: {"department": DEPARTMENTS[n % 5], "employeeNumber": str(n)},
        "meta": {
            "resourceType": "User",
            "created": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
            "lastModified": "2024-12-01T00:00:00Z",
            "version": 'W/"1"',
        },
    }


SEARCHES = [
    ("userName eq (one of 10k)", 'userName eq "USER4242@example.com"', None, 1),
    ("userName sw, page 1", 'userName sw "user42"', None, 1),
    ("emails[work and co] page 1", 'emails[type eq "work" and value co "@example.com"]', None, 1),
    ("dept eq and active, sorted", f'{ENTERPRISE_USER}:department eq "payments" and active eq true', "userName", 1),
    ("no filter, sort userName, page at 5000", None, "userName", 5000),
    ("meta.created gt", 'meta.created gt "2024-06-01T00:00:00Z"', None, 1),
    ("ne on name.givenName", 'name.givenName ne "Given7"', None, 1),
]


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    store = Store.from_url(url)
    store.upgrade()
    index = ScimIndex(store.engine)
    users = [user(n) for n in range(USERS)]
    started = time.perf_counter()
    index.replace_all(USER, users)
    print(f"index {USERS} users: {time.perf_counter() - started:.2f}s")
    for label, text, sort_name, start in SEARCHES:
        node = None if text is None else parse_filter(text, USER)
        sort_by = None if sort_name is None else USER.resolve(sort_name)
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            page = index.search(USER, node, sort_by=sort_by, start_index=start, count=100)
            best = min(best, time.perf_counter() - t0)
        print(f"{label:45s} total={page.total:6d} page={len(page.resources):3d}  {best * 1000:7.1f} ms")
    store.close()


if __name__ == "__main__":
    main()
