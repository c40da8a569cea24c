"""PATCH paths (RFC 7644 §3.5.2: ``PATH = attrPath / valuePath [subAttr]``) resolved against the attribute table.

The spelling is checked by the shared grammar (:mod:`scim_bridge.scim.paths`), so a path is well formed here
exactly when a filter, ``attributes`` or ``sortBy`` would accept it. A value filter (``members[value eq "x"]``)
is parsed and evaluated by :mod:`scim_bridge.scim.filters`, one element at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scim_bridge.scim.errors import InvalidPath
from scim_bridge.scim.filters import And
from scim_bridge.scim.filters import Compare
from scim_bridge.scim.filters import FilterNode
from scim_bridge.scim.filters import ValuePath
from scim_bridge.scim.filters import comparable
from scim_bridge.scim.filters import matches
from scim_bridge.scim.filters import parse_filter
from scim_bridge.scim.paths import PathSyntaxError
from scim_bridge.scim.paths import member
from scim_bridge.scim.paths import parse_path
from scim_bridge.scim.schema import COMPLEX
from scim_bridge.scim.schema import Attribute
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.schema import ResourceType


@dataclass(frozen=True)
class ElementFilter:
    """The value filter of a PATCH path, over the elements of one multi-valued complex attribute.

    Parsing and evaluation are those of :mod:`scim_bridge.scim.filters`: ``attr[filter]`` is parsed as
    a value-path filter of the resource type, and one element is tested by evaluating it against a
    resource holding only that element.
    """

    text: str
    path: AttributePath
    node: ValuePath

    def matches(self, element: Any) -> bool:
        """Whether ``element`` (one JSON object of the attribute) satisfies the filter."""
        if not isinstance(element, Mapping):
            return False
        quick = self._simple_equality(element)
        if quick is not None:
            return quick
        holder: dict[str, Any] = {self.path.attribute.name: [dict(element)]}
        if self.path.extension:
            holder = {self.path.schema: holder}
        return matches(self.node, holder)

    def _simple_equality(self, element: Mapping[str, Any]) -> bool | None:
        """Fast path for the common ``sub eq "x"`` (member lookups on large groups); None otherwise."""
        node = self.node.filter
        if not isinstance(node, Compare) or node.op != "eq" or node.path.sub_attribute is None:
            return None
        target = node.path.sub_attribute
        actual = member(element, target.name)
        if actual is None or isinstance(actual, list | dict):
            return None
        return bool(comparable(target, actual) == comparable(target, node.value))

    def value_equality(self) -> str | None:
        """``x`` when the filter is exactly ``value eq "x"`` (how IdPs name one member); None otherwise."""
        node = self.node.filter
        if isinstance(node, Compare) and node.op == "eq" and node.path.sub_attribute is not None \
                and node.path.sub_attribute.name == "value" and isinstance(node.value, str):
            return node.value
        return None

    def equalities(self) -> dict[str, Any]:
        """The ``eq`` comparisons joined by ``and`` at the top: the attributes of a created element."""
        found: dict[str, Any] = {}
        _collect_equalities(self.node.filter, found)
        return found


def parse_element_filter(text: str, path: AttributePath, resource_type: ResourceType) -> ElementFilter:
    """Parse the bracketed filter of ``path[text]``; names inside are sub-attributes of ``path``.

    Errors in the filter itself are ``invalidFilter`` (RFC 7644 §3.12 lists it for PATCH path filters).
    """
    node = parse_filter(f"{path.dotted()}[{text}]", resource_type)
    if not isinstance(node, ValuePath) or node.path.attribute != path.attribute:
        raise InvalidPath(f"Malformed value filter '[{text}]'.")
    return ElementFilter(text=text, path=path, node=node)


def _collect_equalities(node: FilterNode, found: dict[str, Any]) -> None:
    if isinstance(node, And):
        _collect_equalities(node.left, found)
        _collect_equalities(node.right, found)
    elif isinstance(node, Compare) and node.op == "eq" and node.path.sub_attribute is not None:
        found[node.path.sub_attribute.name] = node.value


class UnknownAttribute(InvalidPath):
    """The path is well formed but names an attribute, sub-attribute or schema the resource type lacks."""


@dataclass(frozen=True)
class PatchPath:
    """A resolved PATCH path: ``attr``, ``attr.sub``, ``attr[filter]`` or ``attr[filter].sub``."""

    text: str
    schema: str
    extension: bool
    attribute: Attribute
    filter: ElementFilter | None = None
    sub_attribute: Attribute | None = None

    @property
    def target(self) -> Attribute:
        return self.sub_attribute or self.attribute

    def dotted(self) -> str:
        """The canonical spelling of the attribute part, e.g. ``emails.value`` or ``urn:...:manager``."""
        return AttributePath(self.schema, self.attribute, self.sub_attribute, self.extension).dotted()


def parse_patch_path(text: str, resource_type: ResourceType) -> PatchPath:
    """Parse and resolve a PATCH path against the attribute table.

    A path the grammar refuses is ``invalidPath``; a well-formed one naming an attribute, sub-attribute or
    schema the resource type lacks raises :class:`UnknownAttribute` (the caller ignores it); a bad filter
    inside ``[...]`` is ``invalidFilter``.
    """
    try:
        syntax = parse_path(text.strip(), value_filter=True)
    except PathSyntaxError as exc:
        raise InvalidPath(str(exc)) from None
    schema = resource_type.schema if syntax.schema is None else resource_type.schema_by_urn(syntax.schema)
    if schema is None:
        raise UnknownAttribute(f"Path '{text}' names a schema that {resource_type.id} does not have.")
    attribute = schema.attribute(syntax.attribute)
    if attribute is None:
        raise UnknownAttribute(f"Unknown attribute '{syntax.attribute}' in path '{text}'.")
    extension = schema is not resource_type.schema
    element_filter = None
    if syntax.value_filter is not None:
        if attribute.type != COMPLEX or not attribute.multi_valued:
            raise InvalidPath(f"'{attribute.name}' is not multi-valued and complex: no filter allowed.")
        attribute_path = AttributePath(schema.id, attribute, None, extension)
        element_filter = parse_element_filter(syntax.value_filter, attribute_path, resource_type)
    sub = None
    if syntax.sub_attribute is not None:
        sub = attribute.sub(syntax.sub_attribute) if attribute.type == COMPLEX else None
        if sub is None:
            raise UnknownAttribute(f"Unknown sub-attribute '{syntax.sub_attribute}' in path '{text}'.")
    return PatchPath(text=text, schema=schema.id, extension=extension, attribute=attribute,
                     filter=element_filter, sub_attribute=sub)
