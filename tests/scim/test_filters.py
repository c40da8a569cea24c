"""Tests for scim_bridge.scim.filters: parsing to the IR, validation, and in-memory evaluation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from scim_bridge.scim.errors import InvalidFilter
from scim_bridge.scim.errors import ScimError
from scim_bridge.scim.filters import And
from scim_bridge.scim.filters import Compare
from scim_bridge.scim.filters import Not
from scim_bridge.scim.filters import Or
from scim_bridge.scim.filters import Present
from scim_bridge.scim.filters import ValuePath
from scim_bridge.scim.filters import matches
from scim_bridge.scim.filters import parse_filter
from scim_bridge.scim.filters import render
from scim_bridge.scim.filters import simple_equality
from scim_bridge.scim.schema import ENTERPRISE_USER
from scim_bridge.scim.schema import GROUP
from scim_bridge.scim.schema import OPSGENIE_USER
from scim_bridge.scim.schema import USER

ENT = ENTERPRISE_USER
OG = OPSGENIE_USER

USER_RESOURCE: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
    "id": "u-1",
    "externalId": "Ext-1",
    "userName": "Babs@Example.com",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "displayName": "Babs Jensen",
    "title": "",
    "active": True,
    "emails": [
        {"value": "babs@example.com", "type": "work", "primary": True},
        {"value": "babs@home.org", "type": "home"},
    ],
    "phoneNumbers": [{"value": "+15550100", "type": "mobile"}],
    "meta": {"created": "2021-06-01T10:00:00Z", "lastModified": "2024-01-01T00:00:00+02:00"},
    ENT: {"employeeNumber": "701984", "manager": {"value": "u-2"}},
    OG: {"tags": ["oncall", "Ops"], "details": [{"key": "Site", "values": ["AMS", "NYC"]}]},
}

GROUP_RESOURCE: dict[str, Any] = {
    "id": "g-1",
    "displayName": "Platform",
    "members": [{"value": "u-1", "display": "Babs"}, {"value": "u-2"}],
}


# ---------------------------------------------------------------------------------------------------------
# Parsing: shape of the IR.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "bjensen"', 'userName eq "bjensen"'),
        ('USERNAME EQ "x"', 'userName eq "x"'),
        ('userName Eq "x"', 'userName eq "x"'),
        ("title pr", "title pr"),
        ("active eq true", "active eq true"),
        ("active ne FALSE", "active ne false"),
        ('active eq "False"', "active eq false"),
        (
            'a eq "1" or b eq "2"'.replace("a ", "title ").replace("b ", "locale "),
            '(title eq "1" or locale eq "2")',
        ),
        # RFC precedence: and binds tighter than or, whatever the order.
        (
            'title eq "a" or locale eq "b" and nickName eq "c"',
            '(title eq "a" or (locale eq "b" and nickName eq "c"))',
        ),
        (
            'title eq "a" and locale eq "b" or nickName eq "c"',
            '((title eq "a" and locale eq "b") or nickName eq "c")',
        ),
        (
            '(title eq "a" or locale eq "b") and nickName eq "c"',
            '((title eq "a" or locale eq "b") and nickName eq "c")',
        ),
        (
            'title eq "a" or locale eq "b" and nickName eq "c" or userType eq "d"',
            '(title eq "a" or ((locale eq "b" and nickName eq "c") or userType eq "d"))',
        ),
        ('not (title eq "a") and locale pr', '(not (title eq "a") and locale pr)'),
        ('not (title eq "a" or locale pr)', 'not ((title eq "a" or locale pr))'),
        ('emails[type eq "work"]', 'emails[type eq "work"]'),
        (
            'emails[type eq "work" and value co "@x"]',
            'emails[(type eq "work" and value co "@x")]',
        ),
        ('emails[type eq "work"].value eq "x"', 'emails[(type eq "work" and value eq "x")]'),
        ('emails[type eq "work"].value pr', 'emails[(type eq "work" and value pr)]'),
        ('emails[type eq "work"] pr', 'emails[type eq "work"]'),
        ('emails[not (type eq "work")]', 'emails[not (type eq "work")]'),
        ('emails.value ew "@example.com"', 'emails.value ew "@example.com"'),
        ("emails pr", "emails pr"),
        ("name pr", "name pr"),
        ('name.givenName sw "B"', 'name.givenName sw "B"'),
        ('meta.created gt "2020-01-01T00:00:00Z"', 'meta.created gt "2020-01-01T00:00:00Z"'),
        ('meta.lastModified le "2020-01-01"', 'meta.lastModified le "2020-01-01"'),
        (f'{ENT}:employeeNumber eq "1"', f'{ENT}:employeeNumber eq "1"'),
        (f'{ENT.upper()}:EMPLOYEENUMBER eq "1"', f'{ENT}:employeeNumber eq "1"'),
        (f"{ENT}:manager.value pr", f"{ENT}:manager.value pr"),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"', 'userName eq "x"'),
        (f'{OG}:details[key eq "Site"]', f'{OG}:details[key eq "Site"]'),
        (f'{OG}:tags eq "oncall"', f'{OG}:tags eq "oncall"'),
        ('displayName eq "Team \\"A\\" \\u00e9"', 'displayName eq "Team \\"A\\" \\u00e9"'),
        ('displayName eq ""', 'displayName eq ""'),
        ("title eq null", "not (title pr)"),
        ("title ne null", "title pr"),
        ("emails[value eq null]", "emails[not (value pr)]"),
        ('  userName   eq   "x"  ', 'userName eq "x"'),
        ('userName eq"x"', 'userName eq "x"'),
        ('((userName eq "x"))', 'userName eq "x"'),
    ],
)
def test_parse_renders(text: str, expected: str) -> None:
    assert render(parse_filter(text, USER)) == expected


def test_value_path_shape() -> None:
    node = parse_filter('emails[type eq "work"].value eq "x"', USER)
    assert isinstance(node, ValuePath)
    assert node.path.attribute.name == "emails"
    assert node.path.sub_attribute is None
    assert isinstance(node.filter, And)
    left, right = node.filter.left, node.filter.right
    assert isinstance(left, Compare) and isinstance(right, Compare)
    assert left.path.attribute.name == "emails"
    assert left.path.sub_attribute is not None and left.path.sub_attribute.name == "type"
    assert right.path.sub_attribute is not None and right.path.sub_attribute.name == "value"
    assert (right.op, right.value) == ("eq", "x")


def test_ir_is_immutable_and_hashable() -> None:
    node = parse_filter('title eq "a" or not (locale pr)', USER)
    assert isinstance(node, Or)
    assert isinstance(node.right, Not) and isinstance(node.right.node, Present)
    assert node == parse_filter('title eq "a" or not (locale pr)', USER)
    assert hash(node) == hash(parse_filter('title eq "a" or not (locale pr)', USER))
    with pytest.raises(AttributeError):
        node.left = node.right  # type: ignore[misc]


def test_extension_path_is_marked() -> None:
    node = parse_filter(f'{ENT}:employeeNumber eq "1"', USER)
    assert isinstance(node, Compare)
    assert node.path.extension and node.path.schema == ENT


def test_long_flat_chain_is_fine_and_shallow() -> None:
    text = " and ".join(["title pr"] * 300)
    node = parse_filter(text, USER, max_depth=2)

    def depth(n: Any) -> int:
        if isinstance(n, And | Or):
            return 1 + max(depth(n.left), depth(n.right))
        return 1

    assert depth(node) <= 10
    assert matches(node, {"title": "0"}) is True
    assert matches(node, {}) is False


def test_group_filters() -> None:
    assert render(parse_filter('displayName eq "Ops"', GROUP)) == 'displayName eq "Ops"'
    assert render(parse_filter('members[value eq "u-1"]', GROUP)) == 'members[value eq "u-1"]'
    with pytest.raises(InvalidFilter):
        parse_filter('userName eq "x"', GROUP)


# ---------------------------------------------------------------------------------------------------------
# Parsing: rejections.


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("userName", "ends unexpectedly"),
        ("userName eq", "ends unexpectedly"),
        ('userName eq "x" and', "ends unexpectedly"),
        ('userName eq "x" )', "unexpected ')'"),
        ('(userName eq "x"', "ends unexpectedly"),
        ('userName regex "x"', "unexpected"),
        ('userName eq "x', "Unterminated string"),
        ('userName eq "\\q"', "escape"),
        ('userName eq "x" # 1', "Unexpected character '#'"),
        ('not userName eq "x"', "unexpected"),
        ('foo eq "x"', "Unknown attribute 'foo'"),
        ('name.nope eq "x"', "Unknown attribute 'name.nope'"),
        ('urn:example:Other:foo eq "x"', "Unknown attribute"),
        ('emails[nope eq "x"]', "no sub-attribute 'nope'"),
        ('emails[type eq "work"].nope eq "x"', "no sub-attribute 'nope'"),
        ('emails[emails.type eq "work"]', "sub-attributes of 'emails' only"),
        ('emails[type eq "work"][value eq "x"]', "nested"),
        ('emails[members[value eq "x"]]', "nested"),
        ('userName[value eq "x"]', "not complex"),
        ('emails.value[type eq "x"]', "follows the attribute itself"),
        ('emails[type eq "work"].value.x eq "1"', "unexpected"),
        ('active eq "yes"', "boolean"),
        ("active eq 1", "boolean"),
        ("active gt true", "does not apply"),
        ('active co "t"', "boolean"),
        ("userName eq 12", "quoted string"),
        ("userName eq true", "quoted string"),
        ("userName gt null", "null"),
        ('name eq "x"', "complex"),
        ('emails eq "x"', "complex"),
        ('emails[type eq "work"] eq "x"', "complex"),
        ('meta.created gt "yesterday"', "dateTime"),
        ('meta.created co "2020"', "does not apply"),
        ("userName eq 01", "Invalid number"),
        ("userName eq -", "Unexpected character"),
        ('name. eq "x"', "not a valid attribute path"),
        ('urn:x: eq "x"', "not a valid attribute path"),
        ("userName eq 1e99999999999", "quoted string"),
        ('userName eq "\\ud800"', "Invalid string escape"),  # a lone surrogate: no character, no UTF-8
        ('displayName pr and displayName eq "\\ud800(\\udc00"', "Invalid string escape"),
    ],
)
def test_invalid_filters(text: str, detail: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(text, USER)
    assert detail in caught.value.detail
    assert caught.value.status == 400 and caught.value.scim_type == "invalidFilter"


def test_too_long() -> None:
    with pytest.raises(InvalidFilter, match="longer than 20"):
        parse_filter('userName eq "' + "x" * 20 + '"', USER, max_length=20)


def test_too_deep() -> None:
    assert parse_filter("(" * 3 + "title pr" + ")" * 3, USER, max_depth=3)
    with pytest.raises(InvalidFilter, match="deeper than 3"):
        parse_filter("(" * 4 + "title pr" + ")" * 4, USER, max_depth=3)
    with pytest.raises(InvalidFilter, match="deeper"):
        parse_filter("not (" * 200 + "title pr" + ")" * 200, USER)


def test_not_a_string() -> None:
    with pytest.raises(InvalidFilter):
        parse_filter(None, USER)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------
# Evaluation.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # userName is caseExact: false; id and externalId are caseExact: true.
        ('userName eq "babs@example.com"', True),
        ('userName eq "BABS@EXAMPLE.COM"', True),
        ('userName ne "babs@example.com"', False),
        ('externalId eq "Ext-1"', True),
        ('externalId eq "ext-1"', False),
        ('id eq "u-1"', True),
        ('id eq "U-1"', False),
        ('userName co "@EXAMPLE"', True),
        ('userName sw "babs"', True),
        ('userName ew ".COM"', True),
        ('userName ew ".org"', False),
        ('displayName gt "Babs"', True),
        ('displayName lt "babs"', False),
        ('displayName ge "BABS JENSEN"', True),
        ('displayName le "babs jensen"', True),
        # pr: present and not empty.
        ("userName pr", True),
        ("title pr", False),
        ("nickName pr", False),
        ("name pr", True),
        ("emails pr", True),
        ("addresses pr", False),
        ('title eq ""', True),
        # ne on a missing attribute is true; eq null is "not present".
        ('nickName ne "x"', True),
        ('nickName eq "x"', False),
        ("nickName eq null", True),
        ("title eq null", True),
        ("userName eq null", False),
        ("userName ne null", True),
        # booleans
        ("active eq true", True),
        ("active eq false", False),
        ("active ne false", True),
        # multi-valued: any value.
        ('emails.value eq "babs@home.org"', True),
        ('emails.type eq "home"', True),
        ('emails.value co "nothing"', False),
        ('phoneNumbers.value sw "+1555"', True),
        # value paths: the same element must match.
        ('emails[type eq "work" and value co "@example"]', True),
        ('emails[type eq "work" and value co "@home"]', False),
        ('emails[type eq "home"].value eq "babs@home.org"', True),
        ('emails[type eq "work"].value eq "babs@home.org"', False),
        ('emails[type eq "work"].value pr', True),
        ('emails[primary eq true].value ew "example.com"', True),
        ('emails[type eq "other"]', False),
        ('not (emails[type eq "other"])', True),
        ('emails[not (type eq "work")]', True),
        ('addresses[type eq "work"]', False),
        # dateTime compares chronologically, with offsets.
        ('meta.created gt "2020-01-01T00:00:00Z"', True),
        ('meta.created lt "2021-06-01T11:00:00+02:00"', False),
        ('meta.created eq "2021-06-01T12:00:00+02:00"', True),
        ('meta.created eq "2021-06-01T10:00:00"', True),
        ('meta.lastModified lt "2023-12-31T23:00:00Z"', True),
        ('meta.lastModified ge "2024-01-01"', False),
        # extensions
        (f'{ENT}:employeeNumber eq "701984"', True),
        (f'{ENT}:manager.value eq "u-2"', True),
        (f"{ENT}:department pr", False),
        (f'{OG}:tags eq "OPS"', True),
        (f'{OG}:details[key eq "Site" and values eq "NYC"]', True),
        (f'{OG}:details[key eq "site"]', False),  # key is caseExact
        (f'{OG}:details.values eq "ams"', False),  # values are caseExact
        # logic and precedence
        ('userName eq "x" or title pr and active eq true', False),
        ('userName eq "x" or active eq true and id eq "u-1"', True),
        ('(userName eq "x" or active eq true) and id eq "nope"', False),
        ('userName eq "x" or (active eq true and id eq "nope")', False),
        ('not (userName eq "x") and not (title pr)', True),
    ],
)
def test_matches_user(text: str, expected: bool) -> None:
    assert matches(parse_filter(text, USER), USER_RESOURCE) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('members[value eq "u-1"]', True),
        ('members[value eq "U-1"]', False),
        ('members.value eq "u-2"', True),
        ('members[value eq "u-2"].display pr', False),
        ('members[value eq "u-1"].display eq "BABS"', True),
        ('displayName eq "platform"', True),
        ("members pr", True),
    ],
)
def test_matches_group(text: str, expected: bool) -> None:
    assert matches(parse_filter(text, GROUP), GROUP_RESOURCE) is expected


@pytest.mark.parametrize(
    ("resource", "text", "expected"),
    [
        ({"USERNAME": "a"}, 'userName eq "a"', True),  # tolerant of key case
        ({"emails": [{"VALUE": "a", "Type": "work"}]}, 'emails[type eq "work"].value eq "A"', True),
        ({"active": "true"}, "active eq true", False),  # wrong type never equals
        ({"active": "true"}, "active ne true", True),
        ({"meta": {"created": "garbage"}}, 'meta.created gt "2020-01-01T00:00:00Z"', False),
        ({"title": 5}, 'title gt "a"', False),
        ({"title": 5}, 'title co "5"', False),
        ({"emails": "not-a-list"}, 'emails[type eq "work"]', False),
        ({"emails": [None, "x", {"type": "work"}]}, 'emails[type eq "work"]', True),
        ({"name": {}}, "name pr", False),
        ({"name": {"givenName": ""}}, "name pr", False),
        ({"emails": []}, "emails pr", False),
        ({"emails": [{}]}, "emails pr", False),
        ({ENT: "oops"}, f"{ENT}:employeeNumber pr", False),
        ({"title": None}, "title pr", False),
        ({"active": False}, "active pr", True),
        ({}, "active eq false", False),
        ({}, "not (active eq true)", True),
    ],
)
def test_matches_edge_cases(resource: dict[str, Any], text: str, expected: bool) -> None:
    assert matches(parse_filter(text, USER), resource) is expected


# ---------------------------------------------------------------------------------------------------------
# simple_equality


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "bjensen"', ("userName", "bjensen")),
        ('USERNAME EQ "BJensen"', ("userName", "BJensen")),
        ('externalId eq "e-1"', ("externalId", "e-1")),
        ('id eq "u-1"', ("id", "u-1")),
        ('displayName eq "x"', ("displayName", "x")),
        (f'{ENT}:employeeNumber eq "7"', (f"{ENT}:employeeNumber", "7")),
        ('emails.value eq "a@b"', ("emails.value", "a@b")),
        ('userName ne "x"', None),
        ('userName co "x"', None),
        ("active eq true", None),
        ("userName pr", None),
        ('userName eq "x" and active eq true', None),
        ('userName eq "x" or userName eq "y"', None),
        ('not (userName eq "x")', None),
        ('emails[type eq "work"].value eq "x"', None),
        ("userName eq null", None),
    ],
)
def test_simple_equality(text: str, expected: tuple[str, str] | None) -> None:
    found = simple_equality(parse_filter(text, USER))
    assert (None if found is None else (found[0].dotted(), found[1])) == expected


# ---------------------------------------------------------------------------------------------------------
# Properties.

_PIECES = [
    "userName", "emails", "name.givenName", "meta.created", f"{ENT}:manager.value", "active", "value", "type",
    "eq", "NE", "co", "sw", "pr", "gt", "and", "OR", "not", "(", ")", "[", "]", ".value", '"x"',
    '"2020-01-01"', "true", "null", "12", "-1.5", " ", '"\\"', "urn:", ":", ".", "foo",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_parse_never_raises_anything_but_scim_errors_on_text(text: str) -> None:
    try:
        node = parse_filter(text, USER)
    except ScimError:
        return
    matches(node, USER_RESOURCE)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=14), st.booleans())
def test_parse_never_raises_anything_but_scim_errors_on_token_soup(pieces: list[str], spaced: bool) -> None:
    text = (" " if spaced else "").join(pieces)
    try:
        node = parse_filter(text, USER)
    except ScimError as exc:
        assert isinstance(exc, InvalidFilter)
        return
    assert isinstance(matches(node, USER_RESOURCE), bool)


# A brute-force reference: filters as nested tuples, evaluated directly with Python string operations.
_ATTRS = {"userName": False, "externalId": True, "title": False}  # name -> caseExact
_OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"]
_VALUES = st.text(alphabet="aAbB", max_size=3)

_leaf = st.tuples(st.just("cmp"), st.sampled_from(sorted(_ATTRS)), st.sampled_from(_OPS), _VALUES)
_tree = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(["and", "or"]), inner, inner),
        st.tuples(st.just("not"), inner),
        st.tuples(st.just("group"), inner),
    ),
    max_leaves=6,
)
_resources = st.fixed_dictionaries({}, optional=dict.fromkeys(_ATTRS, _VALUES))


def _to_text(node: tuple[Any, ...]) -> str:
    """Render with only the parentheses precedence needs, so the parser's grouping is exercised."""
    kind = node[0]
    if kind == "cmp":
        _, attr, op, value = node
        return f"{attr} pr" if op == "pr" else f'{attr} {op} "{value}"'
    if kind == "not":
        return f"not ({_to_text(node[1])})"
    if kind == "group":
        return f"({_to_text(node[1])})"
    left, right = node[1], node[2]
    left_text, right_text = _to_text(left), _to_text(right)
    if kind == "and":
        # An "or" operand of "and" needs parentheses; so does any right operand (left-to-right reading).
        if left[0] == "or":
            left_text = f"({left_text})"
        if right[0] in ("and", "or"):
            right_text = f"({right_text})"
    elif right[0] == "or":
        right_text = f"({right_text})"
    return f"{left_text} {kind} {right_text}"


def _reference(node: tuple[Any, ...], resource: dict[str, str]) -> bool:
    kind = node[0]
    if kind == "and":
        return _reference(node[1], resource) and _reference(node[2], resource)
    if kind == "or":
        return _reference(node[1], resource) or _reference(node[2], resource)
    if kind == "not":
        return not _reference(node[1], resource)
    if kind == "group":
        return _reference(node[1], resource)
    _, attr, op, value = node
    actual = resource.get(attr)
    if op == "pr":
        return bool(actual)
    if actual is None:
        return bool(op == "ne")
    if not _ATTRS[attr]:
        actual, value = actual.lower(), value.lower()
    outcome: dict[str, bool] = {
        "eq": actual == value,
        "ne": actual != value,
        "co": value in actual,
        "sw": actual.startswith(value),
        "ew": actual.endswith(value),
        "gt": actual > value,
        "ge": actual >= value,
        "lt": actual < value,
        "le": actual <= value,
    }
    return outcome[op]


@settings(max_examples=300, deadline=None)
@given(_tree, _resources)
def test_matches_agrees_with_reference(tree: tuple[Any, ...], resource: dict[str, str]) -> None:
    node = parse_filter(_to_text(tree), USER)
    assert matches(node, resource) is _reference(tree, resource)
