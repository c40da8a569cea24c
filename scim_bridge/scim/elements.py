"""Elements of multi-valued attributes: when two are the same value, and indexes that find them without a scan.

PATCH applies its operations one by one; an operation on one member of a large group must not cost a pass over
the whole roster, or a request of 1,000 single-member operations on a 2,000-member team compares millions of
elements. :class:`Roster` keeps one attribute's elements indexed by ``value`` for the whole PATCH, so adding or
removing k elements costs O(k) comparisons.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from scim_bridge.scim.schema import COMPLEX
from scim_bridge.scim.schema import STRING
from scim_bridge.scim.schema import Attribute

READ_ONLY = "readOnly"

# Told when a value appears in or vanishes from a roster: (key, value, present).
Watcher = Callable[[str, str, bool], None]


def value_key(value_sub: Attribute, value: str) -> str:
    """How an element's string ``value`` is compared: case-folded unless the sub-attribute is ``caseExact``."""
    return value if value_sub.case_exact else value.casefold()


def same_element(attribute: Attribute, left: Any, right: Any) -> bool:
    """Whether two elements denote the same value: same ``value`` (and ``type`` when both have one)."""
    if attribute.type != COMPLEX or not isinstance(left, Mapping) or not isinstance(right, Mapping):
        return bool(left == right)
    value_sub = attribute.sub("value")
    if value_sub is None or left.get("value") is None or right.get("value") is None:
        return bool(left == right)
    if not equal_scalars(value_sub, left["value"], right["value"]):
        return False
    type_sub = attribute.sub("type")
    if type_sub is None or left.get("type") is None or right.get("type") is None:
        return True
    return equal_scalars(type_sub, left["type"], right["type"])


def equal_scalars(attribute: Attribute, left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str) and not attribute.case_exact:
        return left.lower() == right.lower()
    return bool(left == right)


class ElementMerger:
    """Adds elements unless an equal one exists (then merges into it), in O(1) per element with a
    ``value`` so that adding to or replacing large member lists stays linear."""

    def __init__(self, attribute: Attribute, elements: list[Any]) -> None:
        self.attribute = attribute
        self.elements = elements
        self.value_sub = attribute.sub("value") if attribute.type == COMPLEX else None
        self.by_value: dict[Any, list[int]] = {}
        for index, element in enumerate(elements):
            self._remember(index, element)

    def merge(self, new: Any) -> int:
        """Merge ``new`` into ``elements``; returns the index of the element it became or joined."""
        for index in self._candidates(new):
            element = self.elements[index]
            if same_element(self.attribute, element, new):
                if isinstance(element, Mapping) and isinstance(new, Mapping):
                    self.elements[index] = {**element, **new}
                return index
        self.elements.append(new)
        self._remember(len(self.elements) - 1, new)
        return len(self.elements) - 1

    def contains(self, element: Any) -> bool:
        """Whether an element equal to ``element`` is held."""
        return any(
            same_element(self.attribute, self.elements[index], element)
            for index in self._candidates(element)
        )

    def _key(self, element: Any) -> Any:
        if self.value_sub is None or not isinstance(element, Mapping):
            return None
        value = element.get("value")
        if isinstance(value, str) and not self.value_sub.case_exact:
            return value.lower()
        return value if isinstance(value, str | int | float | bool) else None

    def _remember(self, index: int, element: Any) -> None:
        self.by_value.setdefault(self._key(element), []).append(index)

    def _candidates(self, new: Any) -> list[int]:
        key = self._key(new)
        if key is None:
            return list(range(len(self.elements)))
        return self.by_value.get(key, [])


class Roster:
    """One multi-valued attribute's elements during a PATCH, indexed by their string ``value``.

    Only for attributes whose elements are objects with a ``value`` string and no ``primary`` flag (group
    ``members``), writable, and whose current elements all have a value: then every operation below touches
    only the elements it names. :meth:`of` answers None for anything else, and the caller uses the general
    (scanning) path.
    """

    def __init__(self, attribute: Attribute, value_sub: Attribute, elements: list[Mapping[str, Any]],
                 watch: Watcher | None = None) -> None:
        self.attribute = attribute
        self.value_sub = value_sub
        self._elements: dict[int, Any] = {}
        self._by_key: dict[str, list[int]] = {}
        self._serial = 0
        self._watch: Watcher | None = None
        for element in elements:
            self._append(element)
        self._watch = watch  # told of changes from here on, not of the elements held at the start

    @classmethod
    def of(cls, attribute: Attribute, current: Any, watch: Watcher | None = None) -> Roster | None:
        """The roster of ``current``, or None when the attribute does not qualify; ``watch`` is told of every
        value that appears or vanishes (not of a value that another element still holds)."""
        value_sub = attribute.sub("value") if attribute.type == COMPLEX and attribute.multi_valued else None
        if value_sub is None or value_sub.type != STRING or attribute.sub("primary") is not None:
            return None
        if attribute.mutability == READ_ONLY:
            return None
        elements = current if isinstance(current, list) else []
        if not all(cls._keyed(element) for element in elements):
            return None
        return cls(attribute, value_sub, elements, watch)

    @staticmethod
    def _keyed(element: Any) -> bool:
        return isinstance(element, Mapping) and isinstance(element.get("value"), str) and bool(element["value"])

    def key(self, value: str) -> str:
        """The index key of a value: as compared by filters (case-folded unless ``caseExact``)."""
        return value_key(self.value_sub, value)

    def elements(self) -> list[Any]:
        return list(self._elements.values())

    def add(self, loaded: list[Any]) -> bool:
        """Add (or merge into an equal one) each element; False, with nothing changed, when one has no value."""
        if not all(self._keyed(element) for element in loaded):
            return False
        for new in loaded:
            serials = self._by_key.get(self.key(new["value"]), [])
            same = next((s for s in serials if same_element(self.attribute, self._elements[s], new)), None)
            if same is None:
                self._append(new)
            else:
                self._elements[same] = {**self._elements[same], **new}
        return True

    def remove_equal(self, doomed: list[Any]) -> bool:
        """Remove the elements equal to any of ``doomed``; False, with nothing changed, when one has no value."""
        if not all(self._keyed(element) for element in doomed):
            return False
        for gone in doomed:
            for serial in list(self._by_key.get(self.key(gone["value"]), [])):
                if same_element(self.attribute, self._elements[serial], gone):
                    self._drop(serial)
        return True

    def remove_value(self, value: str) -> None:
        """Remove the elements whose ``value`` equals ``value`` as a filter compares it (``value eq "x"``)."""
        for serial in list(self._by_key.get(self.key(value), [])):
            self._drop(serial)

    def _append(self, element: Any) -> None:
        self._serial += 1
        self._elements[self._serial] = element
        key = self.key(element["value"])
        serials = self._by_key.setdefault(key, [])
        if not serials and self._watch is not None:
            self._watch(key, element["value"], True)
        serials.append(self._serial)

    def _drop(self, serial: int) -> None:
        element = self._elements.pop(serial)
        key = self.key(element["value"])
        serials = self._by_key[key]
        serials.remove(serial)  # one entry per distinct element: a short list
        if not serials and self._watch is not None:
            self._watch(key, element["value"], False)
