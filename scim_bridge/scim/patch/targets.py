"""The five kinds of PATCH target, each applying ``add``, ``replace`` or ``remove`` to its part of a resource.

:class:`SingleTarget` (``userName``, ``name``), :class:`SubTarget` (``name.givenName``), :class:`MultiTarget`
(``emails``, ``members``), :class:`EverySubTarget` (``emails.type``) and :class:`FilteredTarget`
(``emails[type eq "work"]``, ``members[value eq "id"].display``). See :mod:`scim_bridge.scim.patch` for the
readings of the RFC they implement.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scim_bridge.scim.elements import READ_ONLY
from scim_bridge.scim.elements import ElementMerger
from scim_bridge.scim.errors import InvalidValue
from scim_bridge.scim.errors import Mutability
from scim_bridge.scim.errors import NoTarget
from scim_bridge.scim.patch.path import PatchPath
from scim_bridge.scim.patch.request import OpName
from scim_bridge.scim.patch.values import IMMUTABLE
from scim_bridge.scim.patch.values import as_list
from scim_bridge.scim.patch.values import element_attribute
from scim_bridge.scim.patch.values import guard_immutable
from scim_bridge.scim.patch.values import guard_read_only
from scim_bridge.scim.patch.values import guard_removal
from scim_bridge.scim.patch.values import merge_complex
from scim_bridge.scim.patch.values import same_as_current
from scim_bridge.scim.patch.values import set_value
from scim_bridge.scim.paths import member
from scim_bridge.scim.payloads import is_empty
from scim_bridge.scim.payloads import load_attribute_value
from scim_bridge.scim.schema import COMPLEX
from scim_bridge.scim.schema import Attribute


class Target:
    """What a PATCH path names in a resource: the ``container`` the change goes to, the path's ``attribute``,
    and ``label``, the path as messages show it."""

    def __init__(self, container: dict[str, Any], path: PatchPath) -> None:
        self.container = container
        self.path = path
        self.attribute = path.attribute
        self.label = path.dotted()

    def refuse_read_only(self, label: str | None = None) -> None:
        """Mutability error when the attribute is readOnly: no operation may change it."""
        if self.attribute.mutability == READ_ONLY:
            raise Mutability(f"Attribute '{label or self.label}' is readOnly.")


class SubAttributeTarget(Target):
    """A target whose path names a sub-attribute (``sub``) of its attribute."""

    def __init__(self, container: dict[str, Any], path: PatchPath) -> None:
        super().__init__(container, path)
        assert path.sub_attribute is not None
        self.sub: Attribute = path.sub_attribute


class SingleTarget(Target):
    """A single-valued attribute: ``userName``, ``active``, ``name``, ``urn:...:manager``."""

    def apply(self, op: OpName, value: Any) -> None:
        current = member(self.container, self.attribute.name)
        if op == "remove":
            guard_removal(self.attribute, current, self.label)
            set_value(self.container, self.attribute.name, None)
            return
        if guard_read_only(self.attribute, value, current, self.label):
            return
        if isinstance(value, list):
            raise InvalidValue(f"Attribute '{self.label}' is single-valued: a list is not allowed.")
        if is_empty(value) and not self.attribute.required:
            set_value(self.container, self.attribute.name, None)
        elif self.attribute.type == COMPLEX and isinstance(value, Mapping):
            merged = merge_complex(self.attribute, current, value, self.label)
            set_value(self.container, self.attribute.name, merged)
        else:
            set_value(self.container, self.attribute.name, load_attribute_value(self.attribute, value, self.label))


class SubTarget(SubAttributeTarget):
    """A sub-attribute of a single-valued complex attribute: ``name.givenName``, ``manager.value``."""

    def apply(self, op: OpName, value: Any) -> None:
        parent = member(self.container, self.attribute.name)
        element = dict(parent) if isinstance(parent, Mapping) else {}
        current = member(element, self.sub.name)
        if op == "remove":
            guard_removal(self.sub, current, self.label)
            set_value(element, self.sub.name, None)
        elif self._guarded(value, current):
            return
        elif is_empty(value):
            set_value(element, self.sub.name, None)
        else:
            set_value(element, self.sub.name, load_attribute_value(self.sub, value, self.label))
        set_value(self.container, self.attribute.name, element)

    def _guarded(self, value: Any, current: Any) -> bool:
        """True when the write repeats the current value of a readOnly/immutable sub-attribute."""
        read_only = self.attribute.mutability == READ_ONLY
        if read_only and not same_as_current(self.sub, value, current):
            raise Mutability(f"Attribute '{self.label}' is readOnly.")
        return read_only or guard_immutable(self.sub, value, current, self.label)


class MultiTarget(Target):
    """A whole multi-valued attribute: ``emails``, ``members``, ``urn:...:User:tags``."""

    def apply(self, op: OpName, value: Any, has_value: bool) -> None:
        current = member(self.container, self.attribute.name)
        elements = list(current) if isinstance(current, list) else []
        if op == "remove":
            self._remove(elements, value, has_value)
            return
        if guard_read_only(self.attribute, value, current, self.label):
            return
        if is_empty(value):
            if op == "replace":
                set_value(self.container, self.attribute.name, None)
            return
        loaded = self._load_elements(value)
        if op == "replace":
            elements = []
        merger = ElementMerger(self.attribute, elements)
        touched = [merger.merge(element) for element in loaded]
        _enforce_single_primary(self.attribute, elements, touched)
        set_value(self.container, self.attribute.name, elements)

    def _load_elements(self, value: Any) -> list[Any]:
        loaded = load_attribute_value(self.attribute, as_list(value), self.label)
        return list(loaded) if isinstance(loaded, list) else []

    def _remove(self, elements: list[Any], value: Any, has_value: bool) -> None:
        """Remove all values, or only those listed in ``value`` (Entra's default member removal)."""
        if not has_value or is_empty(value):
            guard_removal(self.attribute, elements, self.label)
            set_value(self.container, self.attribute.name, None)
            return
        self.refuse_read_only()
        doomed = ElementMerger(self.attribute, self._load_elements(value))
        kept = [element for element in elements if not doomed.contains(element)]
        set_value(self.container, self.attribute.name, kept)


class EverySubTarget(SubAttributeTarget):
    """A sub-attribute of every element, without a filter: ``emails.type``."""

    def apply(self, op: OpName, value: Any) -> None:
        current = member(self.container, self.attribute.name)
        self.refuse_read_only()
        elements = [dict(element) for element in current or [] if isinstance(element, Mapping)]
        if op != "remove" and not elements and not is_empty(value):
            elements = [{}]
        indexes = list(range(len(elements)))
        _update_subs(self.attribute, self.sub, elements, indexes, op, value, self.label)
        _enforce_single_primary(self.attribute, elements, indexes)
        set_value(self.container, self.attribute.name, _without_hollow(self.attribute, elements))


class FilteredTarget(Target):
    """Elements selected by a value filter: ``emails[type eq "work"]``, ``members[value eq "id"]``,
    optionally narrowed to a sub-attribute: ``emails[type eq "work"].value``."""

    def __init__(self, container: dict[str, Any], path: PatchPath) -> None:
        super().__init__(container, path)
        assert path.filter is not None
        self.filter = path.filter
        self.sub = path.sub_attribute
        self.label = path.text

    def apply(self, op: OpName, value: Any, has_value: bool) -> None:
        if self.sub is None and isinstance(value, list) and len(value) == 1:
            value = value[0]
        self.refuse_read_only(self.attribute.name)
        current = member(self.container, self.attribute.name)
        elements = [dict(element) for element in current or [] if isinstance(element, Mapping)]
        matched = [index for index, element in enumerate(elements) if self.filter.matches(element)]
        if op == "remove":
            self._remove(elements, matched)
        elif not matched:
            matched = self._create(elements, value)
        elif self.sub is not None:
            _update_subs(self.attribute, self.sub, elements, matched, op, value, self.label)
        else:
            self._update_elements(elements, matched, op, value)
        _enforce_single_primary(self.attribute, elements, matched if op != "remove" else [])
        set_value(self.container, self.attribute.name, _without_hollow(self.attribute, elements))

    def _remove(self, elements: list[dict[str, Any]], matched: list[int]) -> None:
        if self.sub is None:
            elements[:] = [element for index, element in enumerate(elements) if index not in matched]
            return
        _update_subs(self.attribute, self.sub, elements, matched, "remove", None, self.label)

    def _create(self, elements: list[dict[str, Any]], value: Any) -> list[int]:
        """No element matches: build one from the filter's ``eq`` parts (Entra; see module notes)."""
        if is_empty(value):
            return []
        base = self.filter.equalities()
        if not base:
            raise NoTarget(f"No value of '{self.attribute.name}' matches [{self.filter.text}].")
        raw = {self.sub.name: value} if self.sub is not None else value
        if not isinstance(raw, Mapping):
            raise InvalidValue(f"The value for '{self.label}' must be an object.")
        element = load_attribute_value(element_attribute(self.attribute), {**base, **raw}, self.label) or {}
        elements.append(element)
        return [len(elements) - 1]

    def _update_elements(
        self, elements: list[dict[str, Any]], matched: list[int], op: OpName, value: Any
    ) -> None:
        if not isinstance(value, Mapping):
            raise InvalidValue(f"The value for '{self.label}' must be an object.")
        one = element_attribute(self.attribute)
        for index in matched:
            old = elements[index]
            if op == "add":
                elements[index] = merge_complex(one, old, value, self.label)
                continue
            replacement = merge_complex(one, self._kept(old), value, self.label)
            elements[index] = replacement

    def _kept(self, old: Mapping[str, Any]) -> dict[str, Any]:
        """What a replaced element keeps: readOnly and immutable sub-values and the filter's ``eq`` parts."""
        kept = {
            sub.name: member(old, sub.name)
            for sub in self.attribute.sub_attributes
            if sub.mutability in (READ_ONLY, IMMUTABLE) and member(old, sub.name) is not None
        }
        return {**self.filter.equalities(), **kept}


def _update_subs(
    attribute: Attribute,
    sub: Attribute,
    elements: list[dict[str, Any]],
    indexes: list[int],
    op: OpName,
    value: Any,
    label: str,
) -> None:
    """Set, clear or remove ``sub`` on the selected elements, honouring its mutability."""
    loaded = None if op == "remove" or is_empty(value) else load_attribute_value(sub, value, label)
    for index in indexes:
        element = elements[index]
        current = member(element, sub.name)
        if op == "remove":
            guard_removal(sub, current, label)
        elif guard_immutable(sub, value, current, label):
            continue
        set_value(element, sub.name, loaded)


def _without_hollow(attribute: Attribute, elements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop elements left empty, or without ``value`` when the attribute has one (``{"type": "work"}``)."""
    has_value = attribute.sub("value") is not None
    return [
        element for element in elements if element and (not has_value or not is_empty(member(element, "value")))
    ]


def _enforce_single_primary(attribute: Attribute, elements: list[Any], touched: list[int]) -> None:
    """RFC 7643 §2.4: ``primary: true`` at most once; the last element set primary by this op wins."""
    if attribute.sub("primary") is None:
        return
    chosen = [
        index
        for index in touched
        if isinstance(elements[index], Mapping) and elements[index].get("primary") is True
    ]
    if not chosen:
        return
    winner = chosen[-1]
    for index, element in enumerate(elements):
        if index != winner and isinstance(element, Mapping) and element.get("primary") is True:
            elements[index] = {**element, "primary": False}

