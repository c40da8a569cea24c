"""The SQL search agrees with the in-memory filter, sort and paging on generated data and filters."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from mirror.engine_index import ScimIndex
from sqlalchemy.engine import Engine

from scim_bridge.scim.filters import And
from scim_bridge.scim.filters import Compare
from scim_bridge.scim.filters import FilterNode
from scim_bridge.scim.filters import Not
from scim_bridge.scim.filters import Or
from scim_bridge.scim.filters import Present
from scim_bridge.scim.filters import ValuePath
from scim_bridge.scim.filters import attribute_values
from scim_bridge.scim.filters import comparable
from scim_bridge.scim.filters import matches
from scim_bridge.scim.filters import parse_datetime
from scim_bridge.scim.filters import render
from scim_bridge.scim.listing import sort_resources
from scim_bridge.scim.schema import BOOLEAN
from scim_bridge.scim.schema import COMPLEX
from scim_bridge.scim.schema import DATETIME
from scim_bridge.scim.schema import DECIMAL
from scim_bridge.scim.schema import INTEGER
from scim_bridge.scim.schema import STRING
from scim_bridge.scim.schema import Attribute
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.schema import ResourceType
from scim_bridge.scim.schema import Schema

# A resource type with every attribute type, multi-valued ones and an extension.
WIDGET_SCHEMA = Schema(
    id="urn:example:params:scim:schemas:core:2.0:Widget",
    name="Widget",
    description="A test resource.",
    attributes=(
        Attribute("id", STRING, case_exact=True),
        Attribute("name", STRING),
        Attribute("code", STRING, case_exact=True),
        Attribute("size", INTEGER),
        Attribute("weight", DECIMAL),
        Attribute("flag", BOOLEAN),
        Attribute("when", DATETIME),
        Attribute("labels", STRING, multi_valued=True),
        Attribute(
            "parts",
            COMPLEX,
            multi_valued=True,
            sub_attributes=(
                Attribute("value", STRING),
                Attribute("kind", STRING, case_exact=True),
                Attribute("qty", INTEGER),
                Attribute("primary", BOOLEAN),
            ),
        ),
        Attribute("meta", COMPLEX, sub_attributes=(Attribute("created", DATETIME),)),
    ),
)
WIDGET_EXTENSION = Schema(
    id="urn:example:params:scim:schemas:extension:2.0:Widget",
    name="WidgetExtension",
    description="An extension.",
    attributes=(Attribute("owner", STRING),),
)
WIDGET = ResourceType(
    id="Widget",
    endpoint="/Widgets",
    description="Widgets",
    schema=WIDGET_SCHEMA,
    extensions=((WIDGET_EXTENSION, False),),
)


def _path(name: str) -> AttributePath:
    path = WIDGET.resolve(name)
    assert path is not None, name
    return path


# Small alphabets so that generated filters often hit generated values; LIKE and GLOB wildcards, a
# backslash, and letters whose case folding is not plain ASCII lower-casing.
COMMON = ["a", "A", "ab", "aB", "b", "*", "%", "_", "?", "[", "\\", "ß", "SS", ""]
TEXT = st.one_of(
    st.sampled_from(COMMON),
    st.sampled_from(COMMON),
    st.sampled_from(COMMON),
    st.text(alphabet="aAbB%_*?[\\ßé", max_size=3),
)
INSTANTS = [
    "2024-01-01T00:00:00Z",
    "2024-01-01T02:00:00+02:00",  # the same instant as the first
    "2024-01-01T00:00:00.500000Z",
    "2023-12-31T23:59:59Z",
    "2024-01-01T00:00:00",  # naive: UTC
    "2024-06-30T12:00:00-05:00",
]
WRONG = st.sampled_from(["x", "3", "true", 7, 1.5, True, "not a date", {"a": 1}])


def _maybe_wrong(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(strategy, strategy, strategy, WRONG)


NUMBERS = st.sampled_from([-2, -1, 0, 1, 2, 3, 0.5, 2.5])
INTEGERS = st.integers(-2, 3)
DATES = st.sampled_from(INSTANTS)

PART = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "value": _maybe_wrong(TEXT),
            "kind": _maybe_wrong(TEXT),
            "Qty": _maybe_wrong(INTEGERS),  # names are matched case-insensitively
            "primary": st.one_of(st.booleans(), st.just("true")),
        },
    ),
    st.sampled_from(["loose", ""]),  # not an object: present, but no sub-attributes
)


@st.composite
def widgets(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 10))
    resources = []
    for i in range(count):
        doc: dict[str, Any] = {"id": f"{draw(st.sampled_from(['a', 'A', 'b', 'ab', 'B']))}-{i}"}
        optional = {
            "name": _maybe_wrong(TEXT),
            "code": _maybe_wrong(TEXT),
            "size": _maybe_wrong(INTEGERS),
            "weight": _maybe_wrong(NUMBERS),
            "flag": _maybe_wrong(st.booleans()),
            "when": _maybe_wrong(DATES),
            "labels": st.one_of(st.lists(TEXT, max_size=3), TEXT, st.lists(st.one_of(TEXT, st.none()), max_size=2)),
            "parts": st.one_of(st.lists(PART, max_size=3), PART),
            "meta": st.fixed_dictionaries({}, optional={"created": DATES}),
            WIDGET_EXTENSION.id: st.fixed_dictionaries({}, optional={"owner": _maybe_wrong(TEXT)}),
        }
        for key, strategy in optional.items():
            if draw(st.booleans()):
                doc[key] = draw(strategy)
        resources.append(doc)
    return resources


RESOURCES = st.shared(widgets(), key="widgets")


SIMPLE_PATHS = [
    "id",
    "name",
    "code",
    "size",
    "weight",
    "flag",
    "when",
    "labels",
    "parts.value",
    "parts.kind",
    "parts.qty",
    "parts.primary",
    "meta.created",
    f"{WIDGET_EXTENSION.id}:owner",
]
MULTI_VALUED = ["labels", "parts.value", "parts.kind", "parts.qty"]
PRESENT_PATHS = [*SIMPLE_PATHS, "parts", "meta"]
SUB_PATHS = ["parts.value", "parts.kind", "parts.qty", "parts.primary"]
SORT_PATHS = [*SIMPLE_PATHS, *MULTI_VALUED, "parts", "parts"]
COMPARE_PATHS = [*SIMPLE_PATHS, *MULTI_VALUED, *MULTI_VALUED]


def _values_for(attribute: Attribute) -> st.SearchStrategy[Any]:
    if attribute.type == STRING:
        return TEXT
    if attribute.type == INTEGER:
        return INTEGERS
    if attribute.type == DECIMAL:
        return NUMBERS
    if attribute.type == BOOLEAN:
        return st.booleans()
    return DATES


def _ops_for(attribute: Attribute) -> list[str]:
    if attribute.type == STRING:
        return ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
    if attribute.type == BOOLEAN:
        return ["eq", "ne"]
    return ["eq", "ne", "gt", "ge", "lt", "le"]


def _pool(resources: list[dict[str, Any]], path: AttributePath) -> list[Any]:
    """Comparison values taken from the resources themselves (and variants), so that filters hit."""
    pool: list[Any] = []
    for resource in resources:
        for value in attribute_values(resource, path):
            if comparable(path.target, value) is None:
                continue
            if isinstance(value, str) and path.target.type == STRING:
                pool.extend({value, value.upper(), value.lower(), value[:1], value[-1:], value[1:]})
            else:
                pool.append(value)
    return pool


@st.composite
def comparisons(draw: st.DrawFn, names: list[str]) -> FilterNode:
    path = _path(draw(st.sampled_from(names)))
    op = draw(st.sampled_from(_ops_for(path.target)))
    pool = _pool(draw(RESOURCES), path)
    values = _values_for(path.target)
    if pool:
        values = st.one_of(st.sampled_from(pool), st.sampled_from(pool), values)
    return Compare(path, op, draw(values))


def _combined(leaves: st.SearchStrategy[FilterNode]) -> st.SearchStrategy[FilterNode]:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.builds(And, children, children),
            st.builds(Or, children, children),
            st.builds(Not, children),
        ),
        max_leaves=4,
    )


def filters() -> st.SearchStrategy[FilterNode]:
    inner = _combined(st.one_of(comparisons(SUB_PATHS), st.builds(Present, st.sampled_from(SUB_PATHS).map(_path))))
    leaves = st.one_of(
        comparisons(COMPARE_PATHS),
        comparisons(COMPARE_PATHS),
        st.builds(Present, st.sampled_from(PRESENT_PATHS).map(_path)),
        st.builds(ValuePath, st.just(_path("parts")), inner),
    )
    return st.one_of(leaves, leaves, _combined(leaves))


# The filters compare with values taken from the example's widgets (RESOURCES is shared within an example).
# Both strategies are built once: a strategy made per example would be validated again each time, which cost
# more than the database work of the example.
FILTERS = filters()


def _default_order(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def key(resource: dict[str, Any]) -> tuple[bool, datetime, str]:
        meta = resource.get("meta")
        created = meta.get("created") if isinstance(meta, dict) else None
        when = parse_datetime(created) if isinstance(created, str) else None
        return (when is None, when or datetime.min.replace(tzinfo=UTC), str(resource["id"]))

    return sorted(resources, key=key)


def _ids(resources: list[dict[str, Any]]) -> list[str]:
    return [str(resource["id"]) for resource in resources]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(resources=RESOURCES, node=FILTERS)
def test_filters_agree_with_matches(engine: Engine, resources: list[dict[str, Any]], node: FilterNode) -> None:
    index = ScimIndex(engine)
    index.replace_all(WIDGET, resources)

    expected = [r for r in _default_order(resources) if matches(node, r)]
    page = index.search(WIDGET, node, count=len(resources) + 1)

    assert page.total == len(expected), render(node)
    assert _ids(page.resources) == _ids(expected), render(node)


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    resources=RESOURCES,
    node=st.one_of(st.none(), FILTERS),
    sort_name=st.one_of(st.none(), st.sampled_from(SORT_PATHS), st.sampled_from(SORT_PATHS)),
    descending=st.booleans(),
    start_index=st.integers(1, 4),
    count=st.one_of(st.integers(1, 5), st.just(0)),
)
def test_sorting_and_paging_agree_with_sort_resources(
    engine: Engine,
    resources: list[dict[str, Any]],
    node: FilterNode | None,
    sort_name: str | None,
    descending: bool,
    start_index: int,
    count: int,
) -> None:
    index = ScimIndex(engine)
    index.replace_all(WIDGET, resources)
    sort_by = None if sort_name is None else _path(sort_name)

    expected = [r for r in _default_order(resources) if node is None or matches(node, r)]
    expected = sort_resources(expected, sort_by, descending)
    page = index.search(
        WIDGET, node, sort_by=sort_by, descending=descending, start_index=start_index, count=count
    )

    shown = "no filter" if node is None else render(node)
    assert page.total == len(expected), shown
    assert _ids(page.resources) == _ids(expected[start_index - 1 : start_index - 1 + count]), shown
