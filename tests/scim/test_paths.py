"""One attribute-path grammar: filters, PATCH paths, attributes/excludedAttributes and sortBy agree on every path."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from scim_bridge.scim.errors import InvalidFilter
from scim_bridge.scim.errors import InvalidPath
from scim_bridge.scim.errors import InvalidValue
from scim_bridge.scim.filters import Present
from scim_bridge.scim.filters import parse_filter
from scim_bridge.scim.listing import parse_list_params
from scim_bridge.scim.patch import UnknownAttribute
from scim_bridge.scim.patch import parse_patch_path
from scim_bridge.scim.paths import PathSyntax
from scim_bridge.scim.paths import PathSyntaxError
from scim_bridge.scim.paths import find_key
from scim_bridge.scim.paths import fold
from scim_bridge.scim.paths import member
from scim_bridge.scim.paths import parse_path
from scim_bridge.scim.projection import parse_attribute_list
from scim_bridge.scim.schema import COMPLEX
from scim_bridge.scim.schema import ENTERPRISE_USER
from scim_bridge.scim.schema import GROUP
from scim_bridge.scim.schema import USER
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.schema import ResourceType

KELVIN = "\u212a"  # "K".lower() is "k": a Unicode case mapping must not make 'blocKed' an attribute name


# ---------------------------------------------------------------------------------------------------------
# The grammar itself.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("userName", PathSyntax("userName", "userName")),
        ("name.givenName", PathSyntax("name.givenName", "name", sub_attribute="givenName")),
        ("members.$ref", PathSyntax("members.$ref", "members", sub_attribute="$ref")),
        ("x-y_1", PathSyntax("x-y_1", "x-y_1")),
        (f"{ENTERPRISE_USER}:manager.value",
         PathSyntax(f"{ENTERPRISE_USER}:manager.value", "manager", ENTERPRISE_USER, sub_attribute="value")),
        ("urn:a:b:c", PathSyntax("urn:a:b:c", "c", "urn:a:b")),
    ],
)
def test_paths_split_into_schema_attribute_and_sub_attribute(text: str, expected: PathSyntax) -> None:
    assert parse_path(text) == expected
    assert parse_path(text).spelled() == text


def test_value_paths_split_only_where_allowed() -> None:
    text = 'emails[type eq "w]ork"].value'
    assert parse_path(text, value_filter=True) == PathSyntax(
        text, "emails", value_filter='type eq "w]ork"', sub_attribute="value"
    )
    with pytest.raises(PathSyntaxError):
        parse_path(text)


@pytest.mark.parametrize(
    "text",
    [
        "", "1abc", "_name", "-name", "na me", "namé", f"bloc{KELVIN}ed", "name..x", "name.", ".name",
        "name.given.x", "a:b", ":userName", "urn:x:", "a$b", "$foo", "name.$foo", "emails[type eq \"w\"]x",
        "emails.type[value eq \"x\"]", "emails[type eq \"w\"", "user\u0131d", "\u0130d", "name\u00b2",
    ],
)
def test_malformed_paths_are_refused(text: str) -> None:
    with pytest.raises(PathSyntaxError):
        parse_path(text, value_filter=True)


def test_names_fold_in_ascii_only() -> None:
    assert fold("UserName") == "username"
    assert fold(f"bloc{KELVIN}ed") != "blocked"
    assert find_key({"USERNAME": 1, "userName": 2}, "userName") == "userName"
    assert find_key({"USERNAME": 1}, "userName") == "USERNAME"
    assert find_key({f"bloc{KELVIN}ed": 1}, "blocked") is None
    assert member({"Active": False}, "active") is False
    assert member(["active"], "active") is None


# ---------------------------------------------------------------------------------------------------------
# Every consumer accepts, ignores or refuses a path alike.


@dataclass(frozen=True)
class Verdicts:
    grammar: bool  # well formed
    resolved: AttributePath | None  # what the attribute table makes of it
    filter: AttributePath | None  # "<path> pr": the path it compares, or None when refused
    patch: AttributePath | str  # the path, or "unknown" (ignored) or "malformed" (invalidPath)
    projection: AttributePath | str  # the path, or "unknown" (ignored) or "malformed" (invalidValue)
    sort: AttributePath | None  # the sortBy path, or None when refused


def verdicts(text: str, resource_type: ResourceType) -> Verdicts:
    try:
        parse_path(text)
        grammar = True
    except PathSyntaxError:
        grammar = False
    try:
        node = parse_filter(f"{text} pr", resource_type)
        filtered = node.path if isinstance(node, Present) else None
    except InvalidFilter:
        filtered = None
    patch: AttributePath | str
    try:
        found = parse_patch_path(text, resource_type)
        patch = AttributePath(found.schema, found.attribute, found.sub_attribute, found.extension)
    except UnknownAttribute:
        patch = "unknown"
    except InvalidPath:
        patch = "malformed"
    projection: AttributePath | str
    try:
        paths = parse_attribute_list(text, resource_type)
        projection = paths[0] if paths else "unknown"
    except InvalidValue:
        projection = "malformed"
    try:
        sort = parse_list_params({"sortBy": text}, resource_type=resource_type, default_count=10,
                                 max_count=10).sort_by
    except InvalidValue:
        sort = None
    return Verdicts(grammar, resource_type.resolve(text), filtered, patch, projection, sort)


def assert_agree(text: str, resource_type: ResourceType) -> None:
    seen = verdicts(text, resource_type)
    resolved = seen.resolved
    if not seen.grammar:
        assert resolved is None
        assert (seen.filter, seen.patch, seen.projection, seen.sort) == (None, "malformed", "malformed", None)
    elif resolved is None:
        assert (seen.filter, seen.patch, seen.projection, seen.sort) == (None, "unknown", "unknown", None)
    else:
        assert (seen.filter, seen.patch, seen.projection) == (resolved, resolved, resolved)
        sortable = resolved.sub_attribute is not None or resolved.attribute.type != COMPLEX \
            or resolved.attribute.sub("value") is not None
        assert seen.sort == (resolved if sortable else None)


def _known_names(resource_type: ResourceType) -> list[str]:
    names: list[str] = []
    for schema in resource_type.schemas:
        prefix = "" if schema is resource_type.schema else f"{schema.id}:"
        for attribute in schema.attributes:
            names.append(prefix + attribute.name)
            names.extend(f"{prefix}{attribute.name}.{sub.name}" for sub in attribute.sub_attributes)
    return names


_ODD = ["é", KELVIN, "ß", "\u0131", "\u0130", "\u00b2", "٣", "$", "-", "_", ".", ":", "+", "%", "~", "0"]
_ALPHABET = st.sampled_from([*"abcdefghijklmnopqrstuvwxyzKNU", *_ODD])


@st.composite
def spelled_paths(draw: st.DrawFn, resource_type: ResourceType) -> str:
    """Known names with their case shuffled and sometimes a character changed, or text from a mixed alphabet."""
    if draw(st.booleans()):
        return "".join(draw(st.lists(_ALPHABET, min_size=1, max_size=12)))
    text = draw(st.sampled_from(_known_names(resource_type)))
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    text = "".join(c.swapcase() if flip and c.isascii() else c for c, flip in zip(text, flips, strict=True))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(_ODD)) + text[at + draw(st.integers(0, 1)):]
    return text


def _not_a_schema(text: str, resource_type: ResourceType) -> bool:
    # An extension's URN alone is a whole-extension PATCH path and selects the whole extension in
    # attributes=; it is no attribute path (see test_a_schema_urn_alone_is_no_attribute_path).
    return resource_type.schema_by_urn(text) is None and fold(text) not in ("and", "or", "not", "pr")


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_every_consumer_treats_a_user_path_alike(data: st.DataObject) -> None:
    text = data.draw(spelled_paths(USER))
    if _not_a_schema(text, USER):
        assert_agree(text, USER)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_every_consumer_treats_a_group_path_alike(data: st.DataObject) -> None:
    text = data.draw(spelled_paths(GROUP))
    if _not_a_schema(text, GROUP):
        assert_agree(text, GROUP)


@pytest.mark.parametrize(
    "text",
    [
        "userName", "USERNAME", "name.FAMILYNAME", "emails.value", "groups.$REF", f"{ENTERPRISE_USER}:manager.value",
        f"{ENTERPRISE_USER.upper()}:Department", "urn:ietf:params:scim:schemas:core:2.0:User:userName",
        f"bloc{KELVIN}ed", "blocKed", "namé", "nickName\u00b2", "a$b", "$ref", "urn:x:y:userName", "x:y:userName",
        "name.given.name", "name.", "meta.created",
    ],
)
def test_known_spellings_agree(text: str) -> None:
    assert_agree(text, USER)


def test_a_unicode_case_mapping_is_not_an_attribute_name() -> None:
    """The PATCH path grammar once allowed any Unicode letter and sortBy resolved any text: both found
    'blocked' behind a Kelvin sign, which filters and attributes= refused."""
    seen = verdicts(f"bloc{KELVIN}ed", USER)
    assert (seen.resolved, seen.patch, seen.projection, seen.sort) == (None, "malformed", "malformed", None)


def test_a_schema_urn_alone_is_no_attribute_path() -> None:
    assert USER.resolve(ENTERPRISE_USER) is None
    assert len(parse_attribute_list(ENTERPRISE_USER, USER)) > 1  # the whole extension
    with pytest.raises(InvalidFilter):
        parse_filter(f"{ENTERPRISE_USER} pr", USER)
