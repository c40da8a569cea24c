"""In-memory evaluation of filters (RFC 7644, Section 3.4.2.2) over SCIM JSON resources.

Reading values out of a resource (:func:`attribute_values`), normalising them for comparison
(:func:`comparable`) and testing presence (:func:`is_present`) are shared with the mirror's index, which
translates the same IR into its own query.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from typing import Any

from scim_bridge.scim.filters.nodes import SUBSTRING_OPERATORS
from scim_bridge.scim.filters.nodes import And
from scim_bridge.scim.filters.nodes import Compare
from scim_bridge.scim.filters.nodes import FilterNode
from scim_bridge.scim.filters.nodes import Not
from scim_bridge.scim.filters.nodes import Or
from scim_bridge.scim.filters.nodes import Present
from scim_bridge.scim.paths import member
from scim_bridge.scim.schema import BOOLEAN
from scim_bridge.scim.schema import DATETIME
from scim_bridge.scim.schema import DECIMAL
from scim_bridge.scim.schema import INTEGER
from scim_bridge.scim.schema import Attribute
from scim_bridge.scim.schema import AttributePath


def parse_datetime(text: str) -> datetime | None:
    """Parse an xsd:dateTime (ISO 8601, ``Z`` allowed); naive values are taken as UTC. None if invalid."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def attribute_values(resource: dict[str, Any], path: AttributePath) -> list[Any]:
    """All non-null values at ``path`` in a SCIM JSON resource, multi-valued attributes flattened.

    Extension attributes are read under their schema URN key. Names are matched exactly first, then
    case-insensitively (RFC 7643, Section 2.1).
    """
    container = member(resource, path.schema) if path.extension else resource
    if not isinstance(container, dict):
        return []
    values = _flat([member(container, path.attribute.name)])
    if path.sub_attribute is not None:
        values = element_values(values, path.sub_attribute.name)
    return values


def element_values(elements: list[Any], sub_name: str) -> list[Any]:
    """The non-null values of sub-attribute ``sub_name`` across ``elements`` (dicts), flattened."""
    return _flat([member(element, sub_name) for element in elements if isinstance(element, dict)])



def _flat(values: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for value in values:
        if isinstance(value, list):
            flat.extend(item for item in value if item is not None)
        elif value is not None:
            flat.append(value)
    return flat


# ---------------------------------------------------------------------------------------------------------
# In-memory evaluation.

_Lookup = Callable[[AttributePath], list[Any]]


def matches(node: FilterNode, resource: dict[str, Any]) -> bool:
    """Whether ``resource`` (SCIM JSON) satisfies ``node`` (RFC 7644, Section 3.4.2.2).

    A multi-valued attribute matches when any of its values does. Strings follow the attribute's
    ``caseExact``; dateTimes compare chronologically, numbers numerically, other strings lexicographically.
    ``ne`` is true when the attribute has no value. Values of the wrong type never match (``ne`` is true).
    """
    return _evaluate(node, lambda path: attribute_values(resource, path))


def _evaluate(node: FilterNode, lookup: _Lookup) -> bool:
    if isinstance(node, Compare):
        return _compare_values(node, lookup(node.path))
    if isinstance(node, Present):
        return any(is_present(value) for value in lookup(node.path))
    if isinstance(node, And):
        return _evaluate(node.left, lookup) and _evaluate(node.right, lookup)
    if isinstance(node, Or):
        return _evaluate(node.left, lookup) or _evaluate(node.right, lookup)
    if isinstance(node, Not):
        return not _evaluate(node.node, lookup)
    return any(
        _evaluate(node.filter, _element_lookup(element))
        for element in lookup(node.path)
        if isinstance(element, dict)
    )


def _element_lookup(element: dict[str, Any]) -> _Lookup:
    def lookup(path: AttributePath) -> list[Any]:
        if path.sub_attribute is None:
            return [element]
        return element_values([element], path.sub_attribute.name)

    return lookup


def is_present(value: Any) -> bool:
    """RFC 7644, Section 3.4.2.2 ``pr``: has a value that is not null and not empty."""
    if value is None:
        return False
    if isinstance(value, str | list | dict) and not value:
        return False
    if isinstance(value, list):
        return any(is_present(item) for item in value)
    if isinstance(value, dict):
        return any(is_present(item) for item in value.values())
    return True


def _compare_values(node: Compare, values: list[Any]) -> bool:
    if not values:
        return node.op == "ne"
    target = node.path.target
    expected = comparable(target, node.value)
    return any(_compare_one(node.op, comparable(target, value), expected) for value in values)


def comparable(attribute: Attribute, value: Any) -> Any:
    """``value`` normalised for comparing as ``attribute``'s type, or None when it does not fit the type.

    Strings of non-``caseExact`` attributes are case-folded (RFC 7643, Section 2.2); dateTimes become aware
    datetimes; booleans stay booleans; numbers stay numbers.
    """
    kind = attribute.type
    if kind == BOOLEAN:
        return value if isinstance(value, bool) else None
    if kind in (INTEGER, DECIMAL):
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if not isinstance(value, str):
        return None
    if kind == DATETIME:
        return parse_datetime(value)
    return value if attribute.case_exact else value.casefold()


def _compare_one(op: str, actual: Any, expected: Any) -> bool:
    if actual is None or expected is None:
        return op == "ne"
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if op in SUBSTRING_OPERATORS:
        return isinstance(actual, str) and isinstance(expected, str) and _substring(op, actual, expected)
    try:
        return _order(op, actual, expected)
    except TypeError:
        return False


def _substring(op: str, actual: str, expected: str) -> bool:
    if op == "co":
        return expected in actual
    if op == "sw":
        return actual.startswith(expected)
    return actual.endswith(expected)


def _order(op: str, actual: Any, expected: Any) -> bool:
    if op == "gt":
        return bool(actual > expected)
    if op == "ge":
        return bool(actual >= expected)
    if op == "lt":
        return bool(actual < expected)
    return bool(actual <= expected)
