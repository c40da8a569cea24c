"""Reading, writing and guarding one attribute's value inside a resource being patched.

Shared by the targets (:mod:`scim_bridge.scim.patch.targets`): keys are found in any case and written under the
canonical name; readOnly and immutable attributes may only be "set" to the value they already have.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

from scim_bridge.scim.elements import READ_ONLY
from scim_bridge.scim.errors import Mutability
from scim_bridge.scim.paths import fold
from scim_bridge.scim.paths import member
from scim_bridge.scim.payloads import coerce_boolean
from scim_bridge.scim.payloads import is_empty
from scim_bridge.scim.payloads import load_attribute_value
from scim_bridge.scim.payloads import prune
from scim_bridge.scim.schema import BOOLEAN
from scim_bridge.scim.schema import Attribute

IMMUTABLE = "immutable"


def set_value(container: dict[str, Any], name: str, value: Any) -> None:
    """Store under the canonical ``name`` (other spellings dropped, order kept); empty values unset it."""
    folded = fold(name)
    for key in [key for key in container if key != name and fold(key) == folded]:
        del container[key]
    if is_empty(value):
        container.pop(name, None)
    else:
        container[name] = value


def element_attribute(attribute: Attribute) -> Attribute:
    """The attribute describing one element of a multi-valued attribute."""
    return dataclasses.replace(attribute, multi_valued=False, required=False)


def as_list(value: Any) -> list[Any]:
    """Read a lone element as a one-element list (lenient reading of RFC 7644 §3.5.2.1)."""
    return list(value) if isinstance(value, list) else [value]


def same_as_current(attribute: Attribute, value: Any, current: Any) -> bool:
    """Whether ``value`` for a readOnly/immutable attribute merely repeats ``current``."""
    if attribute.type == BOOLEAN and not attribute.multi_valued:
        value = maybe_boolean(value)
    if isinstance(value, str) and isinstance(current, str) and not attribute.case_exact:
        return value.lower() == current.lower()
    return bool(prune(copy.deepcopy(value)) == prune(copy.deepcopy(current)))


def guard_read_only(attribute: Attribute, value: Any, current: Any, path: str) -> bool:
    """True when the write must be skipped (same value); raises ``mutability`` for a different one."""
    if attribute.mutability != READ_ONLY:
        return False
    if same_as_current(attribute, value, current):
        return True
    raise Mutability(f"Attribute '{path}' is readOnly.")


def guard_immutable(attribute: Attribute, value: Any, current: Any, path: str) -> bool:
    """Immutable values may be set once (RFC 7643 §7); True when the write repeats the current value."""
    if attribute.mutability == IMMUTABLE and not is_empty(current):
        if same_as_current(attribute, value, current):
            return True
        raise Mutability(f"Attribute '{path}' is immutable.")
    return guard_read_only(attribute, value, current, path)


def guard_removal(attribute: Attribute, current: Any, path: str) -> None:
    if attribute.required:
        raise Mutability(f"Attribute '{path}' is required and cannot be removed.")
    if attribute.mutability in (READ_ONLY, IMMUTABLE) and not is_empty(current):
        raise Mutability(f"Attribute '{path}' is {attribute.mutability} and cannot be removed.")


def explicit_clears(attribute: Attribute, value: Any) -> set[str]:
    """Canonical names of sub-attributes given as null or "" in a complex value (to be unset)."""
    if not isinstance(value, Mapping):
        return set()
    names: set[str] = set()
    for key, item in value.items():
        sub = attribute.sub(key) if isinstance(key, str) else None
        if sub is not None and is_empty(item) and sub.mutability != READ_ONLY:
            names.add(sub.name)
    return names


def merge_complex(attribute: Attribute, current: Any, value: Any, path: str) -> dict[str, Any]:
    """RFC 7644 §3.5.2.1/§3.5.2.3: given sub-attributes replace, others stay; null/"" ones are unset."""
    base = dict(current) if isinstance(current, Mapping) else {}
    for sub in attribute.sub_attributes:
        raw = member(value, sub.name) if isinstance(value, Mapping) else None
        if sub.mutability == IMMUTABLE and raw is not None:
            guard_immutable(sub, raw, member(base, sub.name), f"{path}.{sub.name}")
    loaded = load_attribute_value(attribute, value, path) or {}
    for name in explicit_clears(attribute, value):
        set_value(base, name, None)
    for name, item in loaded.items():
        set_value(base, name, item)
    return base



def maybe_boolean(value: Any) -> Any:
    try:
        return coerce_boolean(value, ValueError())
    except ValueError:
        return value

