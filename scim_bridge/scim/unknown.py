"""Attributes a request names that the resource type does not have.

The bridge ignores them in every verb alike: RFC 7643 lets a service provider ignore attributes it does not
support, and the bridge reads a PATCH path naming one the same way rather than answering ``invalidPath``, so
that one attribute an IdP maps to nothing behaves the same whichever verb carries it. A POST or PUT drops
them, a PATCH operation whose path names one changes nothing. The request succeeds and the names are
reported (audit log, console), so an identity-provider mapping that goes nowhere can be found.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scim_bridge.scim.schema import COMPLEX
from scim_bridge.scim.schema import Attribute
from scim_bridge.scim.schema import ResourceType
from scim_bridge.scim.schema import Schema


def unknown_attributes(body: Any, resource_type: ResourceType) -> list[str]:
    """Names in a POST or PUT body (top level, extension objects, sub-attributes of complex values) that
    the attribute table does not have, in the order they appear."""
    if not isinstance(body, Mapping):
        return []
    found: list[str] = []
    for key, value in body.items():
        if not isinstance(key, str) or key.lower() == "schemas":
            continue
        schema = resource_type.schema_by_urn(key)
        if schema is not None and schema is not resource_type.schema:
            if isinstance(value, Mapping):
                found.extend(_in_object(value, schema, prefix=f"{schema.id}:"))
            continue
        if key.lower().startswith("urn:"):
            resolved = resource_type.resolve(key)
            if resolved is None:
                found.append(key)
            elif resolved.sub_attribute is None:
                found.extend(unknown_in_value(resolved.attribute, value, key))
            continue
        attribute = resource_type.schema.attribute(key)
        if attribute is None:
            found.append(key)
        else:
            found.extend(unknown_in_value(attribute, value, attribute.name))
    return found


def _in_object(value: Mapping[str, Any], schema: Schema, *, prefix: str) -> list[str]:
    found: list[str] = []
    for key, item in value.items():
        if not isinstance(key, str) or key.lower() == "schemas":
            continue
        attribute = schema.attribute(key)
        if attribute is None:
            found.append(prefix + key)
        else:
            found.extend(unknown_in_value(attribute, item, prefix + attribute.name))
    return found


def unknown_in_value(attribute: Attribute, value: Any, name: str) -> list[str]:
    """Unknown sub-attributes in the value of a complex attribute (each element of a multi-valued one)."""
    if attribute.type != COMPLEX:
        return []
    elements = value if isinstance(value, list) else [value]
    found: list[str] = []
    for element in elements:
        if not isinstance(element, Mapping):
            continue
        for key in element:
            if isinstance(key, str) and attribute.sub(key) is None and f"{name}.{key}" not in found:
                found.append(f"{name}.{key}")
    return found


def ignored_message(names: list[str]) -> str:
    """The warning recorded for a request that named ``names``."""
    listed = ", ".join(repr(name) for name in names)
    return f"ignored attributes this resource type does not have: {listed}"
