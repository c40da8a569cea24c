"""The SCIM search index on real SCIM Users and Groups, with filters parsed from text."""

from __future__ import annotations

from typing import Any

import pytest
from mirror.engine_index import ScimIndex
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.engine import Engine

from scim_bridge.scim.filters import matches
from scim_bridge.scim.filters import parse_filter
from scim_bridge.scim.listing import sort_resources
from scim_bridge.scim.schema import CORE_USER
from scim_bridge.scim.schema import ENTERPRISE_USER
from scim_bridge.scim.schema import GROUP
from scim_bridge.scim.schema import USER
from scim_bridge.scim.schema import ResourceType
from scim_bridge.store.tables import scim_resources
from scim_bridge.store.tables import scim_values


def user(n: int, user_name: str, **extra: Any) -> dict[str, Any]:
    return {
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "id": f"u{n:02d}",
        "userName": user_name,
        "meta": {"resourceType": "User", "created": f"2024-01-{n:02d}T10:00:00Z", "version": 'W/"1"'},
        **extra,
    }


USERS = [
    user(
        1,
        "alex.morgan@example.com",
        name={"givenName": "Alex", "familyName": "Morgan"},
        active=True,
        emails=[
            {"value": "alex.morgan@example.com", "type": "work", "primary": True},
            {"value": "alex@home.example", "type": "home"},
        ],
        **{ENTERPRISE_USER: {"department": "Platform"}},
    ),
    user(
        2,
        "priya.shah@example.com",
        name={"givenName": "Priya", "familyName": "Shah"},
        active=False,
        emails=[{"value": "priya@home.example", "type": "work"}, {"value": "priya.shah@example.com", "type": "home"}],
        externalId="EXT-2",
    ),
    user(3, "Mei.Chen@Example.com", displayName="Mei Chen", emails=[], title="50% off_*?[x]\\"),
    user(
        4,
        "straße@example.com",
        displayName="Tom Becker",
        externalId="ext-2",
        **{ENTERPRISE_USER: {"department": "payments"}},
    ),
    user(5, "jordan.lee@example.com", active=True, meta_note="no name"),
]


@pytest.fixture
def index(engine: Engine) -> ScimIndex:
    index = ScimIndex(engine)
    index.index_resources(USER, USERS)
    return index


def ids(resources: list[dict[str, Any]]) -> list[str]:
    return [str(r["id"]) for r in resources]


def expected(text: str, resource_type: ResourceType = USER, resources: list[dict[str, Any]] = USERS) -> list[str]:
    node = parse_filter(text, resource_type)
    return ids([r for r in resources if matches(node, r)])


def found(index: ScimIndex, text: str, resource_type: ResourceType = USER) -> list[str]:
    page = index.search(resource_type, parse_filter(text, resource_type), count=100)
    assert page.total == len(page.resources)
    return ids(page.resources)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ('userName eq "ALEX.MORGAN@example.com"', ["u01"]),
        ('userName sw "mei."', ["u03"]),
        ('userName ew "@EXAMPLE.COM"', ["u01", "u02", "u03", "u04", "u05"]),
        ('userName co "STRASSE"', ["u04"]),  # case folding: ß folds to ss
        ('externalId eq "ext-2"', ["u04"]),  # caseExact
        ('externalId ne "ext-2"', ["u01", "u02", "u03", "u05"]),  # ne holds where it is missing
        ('emails.type ne "work"', ["u01", "u02", "u03", "u04", "u05"]),  # any value differs, or none
        ('emails[type eq "work" and value co "@example.com"]', ["u01"]),  # the same element
        ('emails[type eq "work"] and emails[value co "@example.com"]', ["u01", "u02"]),
        ('emails[type eq "work"].value ew "home.example"', ["u02"]),
        ("emails pr", ["u01", "u02"]),
        ("not (emails pr)", ["u03", "u04", "u05"]),
        ("name.givenName pr or displayName pr", ["u01", "u02", "u03", "u04"]),
        ("active eq true", ["u01", "u05"]),
        ("active ne true", ["u02", "u03", "u04"]),
        ('meta.created gt "2024-01-02T11:00:00+02:00"', ["u02", "u03", "u04", "u05"]),  # 09:00 UTC
        ('meta.created le "2024-01-03T10:00:00Z"', ["u01", "u02", "u03"]),
        (f'{ENTERPRISE_USER}:department eq "PAYMENTS"', ["u04"]),
        ('title co "%"', ["u03"]),
        ('title co "_*?["', ["u03"]),
        ('title ew "]\\\\"', ["u03"]),
        ('title sw "50%"', ["u03"]),
        ('displayName co "%"', []),
        ('displayName co "_"', []),
        ('displayName co "*"', []),
        ('userName gt "m"', ["u02", "u03", "u04"]),
        ('id eq "U01"', []),  # caseExact
        ('userName eq "x" or (active eq false and name.familyName eq "shah")', ["u02"]),
    ],
)
def test_filters_on_users(index: ScimIndex, text: str, want: list[str]) -> None:
    assert expected(text) == want  # the in-memory evaluation is the reference
    assert found(index, text) == want


def test_total_is_exact_and_pages_follow_the_default_order(index: ScimIndex) -> None:
    node = parse_filter('userName co "@"', USER)
    first = index.search(USER, node, start_index=1, count=2)
    second = index.search(USER, node, start_index=3, count=2)
    third = index.search(USER, node, start_index=5, count=2)
    beyond = index.search(USER, node, start_index=9, count=2)
    only_total = index.search(USER, node, count=0)
    assert [p.total for p in (first, second, third, beyond, only_total)] == [5] * 5
    assert ids(first.resources + second.resources + third.resources) == ["u01", "u02", "u03", "u04", "u05"]
    assert beyond.resources == [] and only_total.resources == []


@pytest.mark.parametrize(
    ("sort_by", "descending"),
    [
        ("userName", False),
        ("userName", True),
        ("name.givenName", False),
        ("name.givenName", True),
        ("emails", False),  # the primary (else first) e-mail's value
        ("emails.type", True),
        ("active", False),
        ("meta.created", True),
        (f"{ENTERPRISE_USER}:department", False),
    ],
)
def test_sorting_matches_sort_resources(index: ScimIndex, sort_by: str, descending: bool) -> None:
    path = USER.resolve(sort_by)
    assert path is not None
    want = ids(sort_resources(USERS, path, descending))
    page = index.search(USER, None, sort_by=path, descending=descending, count=10)
    assert ids(page.resources) == want
    page2 = index.search(USER, None, sort_by=path, descending=descending, start_index=2, count=3)
    assert ids(page2.resources) == want[1:4]


def test_reindexing_replaces_values_and_removal_deletes_them(index: ScimIndex, engine: Engine) -> None:
    changed = user(1, "renamed@example.com")
    index.index_resources(USER, [changed])
    assert found(index, 'userName eq "alex.morgan@example.com"') == []
    assert found(index, 'userName eq "renamed@example.com"') == ["u01"]
    assert found(index, "emails pr") == ["u02"]
    assert index.search(USER, None, count=1).resources == [changed]

    index.remove_resources(USER, ["u01", "u02", "nobody"])
    assert ids(index.search(USER, None).resources) == ["u03", "u04", "u05"]
    with engine.connect() as conn:
        left = conn.execute(select(func.count()).select_from(scim_values).where(scim_values.c.resource_id == "u01"))
        assert left.scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(scim_resources)).scalar_one() == 3


def test_users_and_groups_are_kept_apart(index: ScimIndex) -> None:
    groups = [
        {
            "id": "u01",  # the same id as a user: kinds do not mix
            "displayName": "Platform SRE",
            "members": [{"value": "u01", "display": "alex"}, {"value": "u02"}],
            "meta": {"created": "2024-02-01T00:00:00Z"},
        },
        {"id": "g2", "displayName": "role:Admin", "members": [], "meta": {"created": "2024-02-02T00:00:00Z"}},
    ]
    index.index_resources(GROUP, groups)
    assert found(index, 'members[value eq "u02"]', GROUP) == ["u01"]
    assert found(index, 'members.value eq "U02"', GROUP) == []  # members.value is caseExact
    assert found(index, 'displayName sw "ROLE:"', GROUP) == ["g2"]
    assert index.search(GROUP, None).total == 2
    assert index.search(USER, None).total == 5
    index.remove_resources(GROUP, [g["id"] for g in groups[:1]])
    assert ids(index.search(GROUP, None).resources) == ["g2"]
    assert index.search(USER, None).total == 5


def test_documents_come_back_as_indexed(index: ScimIndex) -> None:
    page = index.search(USER, parse_filter('id eq "u04"', USER))
    assert page.resources == [USERS[3]]
