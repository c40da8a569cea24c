"""The filter IR: the immutable tree :func:`~scim_bridge.scim.filters.parse_filter` builds, and helpers over it.

Every attribute path in the tree is resolved against the attribute table (:mod:`scim_bridge.scim.schema`). The
tree holds no evaluation logic, so the same tree can be evaluated in memory
(:mod:`scim_bridge.scim.filters.evaluate`) or translated into another query language (the mirror's index).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TypeAlias

from scim_bridge.scim.schema import AttributePath

Scalar: TypeAlias = str | int | float | bool | None

COMPARE_OPERATORS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
ORDERING_OPERATORS = ("gt", "ge", "lt", "le")
SUBSTRING_OPERATORS = ("co", "sw", "ew")


# ---------------------------------------------------------------------------------------------------------
# The IR.


@dataclass(frozen=True, slots=True)
class Compare:
    """``path op value``; ``op`` is one of :data:`COMPARE_OPERATORS`, in lower case.

    ``attr eq null`` and ``attr ne null`` never appear here: the parser rewrites them to
    ``Not(Present(attr))`` and ``Present(attr)``.
    """

    path: AttributePath
    op: str
    value: Scalar


@dataclass(frozen=True, slots=True)
class Present:
    """``path pr``: the attribute has a non-null, non-empty value (RFC 7644, Section 3.4.2.2)."""

    path: AttributePath


@dataclass(frozen=True, slots=True)
class Junction:
    """Two filters joined by a logical operator: :class:`And` or :class:`Or`."""

    left: FilterNode
    right: FilterNode


@dataclass(frozen=True, slots=True)
class And(Junction):
    """``left and right``."""


@dataclass(frozen=True, slots=True)
class Or(Junction):
    """``left or right``."""


@dataclass(frozen=True, slots=True)
class Not:
    node: FilterNode


@dataclass(frozen=True, slots=True)
class ValuePath:
    """``path[filter]``: one value of the complex attribute ``path`` must satisfy all of ``filter``.

    The paths inside ``filter`` name sub-attributes of ``path`` (their ``attribute`` is ``path.attribute``).
    ``emails[type eq "work"].value eq "x"`` becomes ``ValuePath(emails, And(type eq "work", value eq "x"))``
    so that the same e-mail value must be the work one and equal ``x``.
    """

    path: AttributePath
    filter: FilterNode


FilterNode: TypeAlias = Compare | Present | And | Or | Not | ValuePath


def mentions(node: FilterNode, attribute: str) -> bool:
    """Whether the filter names the (core or extension) attribute called ``attribute`` anywhere."""
    if isinstance(node, Junction):
        return mentions(node.left, attribute) or mentions(node.right, attribute)
    if isinstance(node, Not):
        return mentions(node.node, attribute)
    return node.path.attribute.name.lower() == attribute.lower()


def simple_equality(node: FilterNode) -> tuple[AttributePath, str] | None:
    """``(path, value)`` when the whole filter is one ``attr eq "string"``, else None.

    Lets a caller turn ``userName eq "x"``, ``externalId eq "x"``, ``id eq "x"`` or ``displayName eq "x"``
    into a single lookup. The caller must still honour the attribute's ``caseExact`` (``path.target``).
    """
    if isinstance(node, Compare) and node.op == "eq" and isinstance(node.value, str):
        return node.path, node.value
    return None


def render(node: FilterNode) -> str:
    """Canonical filter text for ``node``, fully parenthesised; for logs, messages and tests."""
    return _render(node, None)


def _render(node: FilterNode, scope: AttributePath | None) -> str:
    if isinstance(node, Compare | Present):
        path = node.path
        name = path.dotted() if scope is None or path.sub_attribute is None else path.sub_attribute.name
        return f"{name} pr" if isinstance(node, Present) else f"{name} {node.op} {json.dumps(node.value)}"
    if isinstance(node, Junction):
        word = "and" if isinstance(node, And) else "or"
        return f"({_render(node.left, scope)} {word} {_render(node.right, scope)})"
    if isinstance(node, Not):
        return f"not ({_render(node.node, scope)})"
    return f"{node.path.dotted()}[{_render(node.filter, node.path)}]"

