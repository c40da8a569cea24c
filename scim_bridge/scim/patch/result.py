"""What a PATCH did: the patched resource, the paths that changed, and the values added and removed.

:class:`PatchResult` is how the service layer learns what to write upstream.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scim_bridge.scim.paths import member
from scim_bridge.scim.schema import COMPLEX
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.schema import ResourceType


@dataclass(frozen=True)
class PatchResult:
    """The patched resource and the canonical paths whose values changed (``name.givenName``,
    ``emails``, ``members``, ``urn:...:User:manager``); empty when the PATCH changed nothing."""

    resource: dict[str, Any]
    changed: tuple[str, ...]
    original: dict[str, Any] = dataclasses.field(repr=False, compare=False, default_factory=dict)
    # Paths and keys naming attributes the resource type does not have: ignored (see the module notes).
    ignored: tuple[str, ...] = ()

    @property
    def modified(self) -> bool:
        return bool(self.changed)

    def values_added(self, attribute: str = "members") -> list[str]:
        """``value`` of the elements of a multi-valued attribute present now but not before."""
        before = set(_element_values(self.original, attribute))
        return [value for value in _element_values(self.resource, attribute) if value not in before]

    def values_removed(self, attribute: str = "members") -> list[str]:
        """``value`` of the elements of a multi-valued attribute present before but not now."""
        after = set(_element_values(self.resource, attribute))
        return [value for value in _element_values(self.original, attribute) if value not in after]


def _element_values(resource: Mapping[str, Any], attribute: str) -> list[str]:
    elements = resource.get(attribute) or []
    return [
        element["value"]
        for element in elements
        if isinstance(element, Mapping) and isinstance(element.get("value"), str)
    ]




def sync_schemas(before: Mapping[str, Any], resource: dict[str, Any], resource_type: ResourceType) -> None:
    """``schemas`` lists an extension the PATCH filled and drops one it emptied (RFC 7643 §3)."""
    schemas = resource.get("schemas")
    if not isinstance(schemas, list):
        return
    for urn in resource_type.extension_urns():
        if member(before, urn) == resource.get(urn):
            continue
        listed = [entry for entry in schemas if isinstance(entry, str) and entry.lower() == urn.lower()]
        if resource.get(urn) and not listed:
            schemas.append(urn)
        elif not resource.get(urn):
            for entry in listed:
                schemas.remove(entry)


def changed_paths(
    before: Mapping[str, Any], after: Mapping[str, Any], resource_type: ResourceType
) -> tuple[str, ...]:
    changed: list[str] = []
    for schema in resource_type.schemas:
        extension = schema is not resource_type.schema
        old_scope = _scope(before, schema.id) if extension else before
        new_scope = _scope(after, schema.id) if extension else after
        for attribute in schema.attributes:
            old = member(old_scope, attribute.name)
            new = member(new_scope, attribute.name)
            if old == new:
                continue
            path = AttributePath(schema.id, attribute, None, extension)
            if attribute.type == COMPLEX and not attribute.multi_valued:
                changed.extend(_changed_subs(path, old, new))
            else:
                changed.append(path.dotted())
    return tuple(changed)


def _scope(resource: Mapping[str, Any], urn: str) -> Mapping[str, Any]:
    value = member(resource, urn)
    return value if isinstance(value, Mapping) else {}


def _changed_subs(path: AttributePath, old: Any, new: Any) -> list[str]:
    old_map = old if isinstance(old, Mapping) else {}
    new_map = new if isinstance(new, Mapping) else {}
    return [
        dataclasses.replace(path, sub_attribute=sub).dotted()
        for sub in path.attribute.sub_attributes
        if member(old_map, sub.name) != member(new_map, sub.name)
    ]

